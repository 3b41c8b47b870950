"""The ``emulate`` subcommand: ``openrouter-fallback emulate [--host] [--port] [--scenario]``."""

from __future__ import annotations

import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

from langchain_openrouter_fallback._errors import ChainValidationError
from langchain_openrouter_fallback.emulator._server import DEFAULT_HOST, Emulator

if TYPE_CHECKING:
    import argparse

__all__ = ["register", "run"]

DEFAULT_PORT = 8080


def register(subparsers: Any) -> None:
    """Add ``emulate`` to an ``argparse`` subparsers object (from ``add_subparsers()``)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "emulate",
        help="run a local OpenRouter-compatible server with scripted faults",
        description="Serve /api/v1/chat/completions and /api/v1/models like OpenRouter, with "
        "faults from a scenario file; control it under /_emulator/.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="interface (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port, 0 = any (default: %(default)s)"
    )
    parser.add_argument("--scenario", metavar="FILE", help="scenario YAML/JSON file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; return the exit status."""
    try:
        emulator = Emulator(args.scenario, host=args.host, port=args.port)
    except ChainValidationError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with emulator:
        sys.stdout.write(f"OpenRouter emulator listening on {emulator.base_url}\n")
        sys.stdout.flush()
        stop.wait()
    return 0
