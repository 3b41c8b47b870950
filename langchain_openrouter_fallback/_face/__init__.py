"""The LangChain face: the drivers behind ``ChatOpenRouterFallback``, and telemetry.

LangChain messages and chunks, structured output, the model profile, live attempts on
streams, and OpenTelemetry.
"""
