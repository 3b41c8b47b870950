"""What to do, free of I/O: the run engine and every decision it takes.

The run engine (a state machine its drivers drive), the plan and per-link adaptation, answer
checks, the cost budget, circuit health, and the attempt clock.
"""
