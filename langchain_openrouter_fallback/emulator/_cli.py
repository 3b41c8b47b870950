"""The ``emulate`` subcommand: ``openrouter-fallback emulate [--host] [--port] [--scenario]``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from langchain_openrouter_fallback._errors import ChainValidationError

__all__ = ["register", "run"]

DEFAULT_PORT = 8080
_MAX_PORT = 65535
_LOOPBACK = "127.0.0.1"


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > _MAX_PORT:
        msg = f"expected a TCP port 0-{_MAX_PORT}, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return int(text)


def register(subparsers: Any) -> None:
    """Add ``emulate`` to an ``argparse`` subparsers object (from ``add_subparsers()``)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "emulate",
        help="run a local OpenRouter-compatible server with scripted faults",
        description="Serve /api/v1/chat/completions and /api/v1/models like OpenRouter, with "
        "faults from a scenario file; control it under /_emulator/.",
    )
    parser.add_argument("--host", default=_LOOPBACK, help="interface (default: %(default)s)")
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help="port, 0 = any (default: %(default)s)"
    )
    parser.add_argument("--scenario", metavar="FILE", help="scenario YAML/JSON file")
    parser.add_argument(
        "--catalog",
        metavar="FILE",
        help="a saved /models response to serve as given (default: the catalog in effect)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; return the exit status."""
    # The server stack is imported here: `--help` and the other commands don't need it.
    from langchain_openrouter_fallback.emulator._server import Emulator  # noqa: PLC0415

    try:
        emulator = Emulator(args.scenario, host=args.host, port=args.port, catalog=args.catalog)
    except ChainValidationError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except (OSError, ValueError) as exc:  # an unreadable or malformed --catalog file
        sys.stderr.write(f"error: --catalog {args.catalog}: {exc}\n")
        return 2
    try:
        emulator.start()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        sys.stderr.write(f"error: cannot listen on {args.host}:{args.port}: {reason}\n")
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        sys.stdout.write(f"OpenRouter emulator listening on {emulator.base_url}\n")
        sys.stdout.flush()
        stop.wait()
    finally:
        emulator.stop()
    return 0
