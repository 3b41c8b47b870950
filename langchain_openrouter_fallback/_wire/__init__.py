"""Bytes on the wire: transport, the response reader, the lanes. Decides nothing.

The HTTP transport, the SSE/JSON response reader both runtimes share, and the lanes attempts
run on.
"""
