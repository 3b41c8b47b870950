"""The ``openrouter-fallback`` command.

Subcommands: ``validate``, ``payloads``, ``schema``, ``catalog refresh``, ``drill``, ``litellm``,
``notebooks``, plus ``emulate`` when the emulator extra is installed. Every error is one line
on stderr and exit code 2; a reader that closes the pipe early (``| head``) ends the command
quietly (exit 141). Modules are imported by the command that needs them, so ``--help`` and
``validate`` never load LangChain or httpx.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from langchain_openrouter_fallback._definition.catalog import default_cache_path
from langchain_openrouter_fallback._definition.endpoint import http_url, url_problem
from langchain_openrouter_fallback._errors import OpenRouterFallbackError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
_SIGPIPE_EXIT = 141
"""Exit code after the reader closed stdout: 128 + SIGPIPE, what a shell reports for
``yes | head -1``'s writer."""
# Subcommands that live with their feature, and the module each needs installed.
_PLUGINS = (
    ("langchain_openrouter_fallback.emulator._cli", "uvicorn"),
    ("litellm_config._cli", None),
    ("langchain_openrouter_fallback._cli.drill", None),
    ("langchain_openrouter_fallback._cli.notebooks", None),
)


class _CatalogRefreshError(OpenRouterFallbackError):
    """``catalog refresh`` could not fetch or parse ``/models``."""


def _cmd_validate(args: argparse.Namespace) -> int:
    from langchain_openrouter_fallback._cli.report import (  # noqa: PLC0415
        check_chain,
        format_chain_report,
    )
    from langchain_openrouter_fallback._decisions.adapt_report import adaptation_lines  # noqa: PLC0415
    from langchain_openrouter_fallback._definition.catalog import load_catalog  # noqa: PLC0415
    from langchain_openrouter_fallback._definition.loader import load_chains  # noqa: PLC0415

    catalog = load_catalog()
    clean, failed = True, 0
    for path in args.files:
        try:
            chains = load_chains(path)
        except OpenRouterFallbackError as exc:  # say so, and check the other files too
            _error(exc)
            failed += 1
            continue
        for chain in chains.values():
            report = check_chain(chain, catalog)
            print(format_chain_report(report))
            print("\n".join(adaptation_lines(chain, catalog)))
            clean = clean and report.ok
    if failed:
        if len(args.files) > 1:
            print(f"{failed} of {len(args.files)} files failed", file=sys.stderr)
        return 2
    return 0 if clean or not args.strict else 1


def _cmd_payloads(args: argparse.Namespace) -> int:
    from langchain_openrouter_fallback._definition.loader import load_chains  # noqa: PLC0415

    messages = [{"role": "user", "content": args.message}]
    documents = [
        {"chain": chain.name, "payloads": chain.openrouter_payloads(messages)}
        for path in args.files
        for chain in load_chains(path).values()
    ]
    if args.jsonl:
        for document in documents:
            print(json.dumps(document))
    else:  # one JSON document: the chain's object, or a list when there are several
        print(json.dumps(documents[0] if len(documents) == 1 else documents, indent=2))
    return 0


def _cmd_schema(_args: argparse.Namespace) -> int:
    from langchain_openrouter_fallback._definition.schema import document_schema  # noqa: PLC0415

    print(json.dumps(document_schema(), indent=2))
    return 0


def _fetch_models(url: str, timeout: float) -> tuple[bytes, dict[str, Any]]:
    # The standard library, not httpx: one GET does not justify httpx's import time.
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    problem = url_problem(url)
    if problem:
        msg = f"catalog refresh: {problem}"
        raise _CatalogRefreshError(msg)
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    key = os.environ.get("OPENROUTER_API_KEY")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read()
        data = json.loads(raw)
    except urllib.error.HTTPError as exc:
        msg = f"catalog refresh: GET {url} answered HTTP {exc.code} {exc.reason}"
        raise _CatalogRefreshError(msg) from None
    except urllib.error.URLError as exc:
        msg = f"catalog refresh: GET {url} failed: {exc.reason}"
        raise _CatalogRefreshError(msg) from None
    except (OSError, ValueError) as exc:  # timeouts, resets, a body that is not JSON
        msg = f"catalog refresh: GET {url} failed: {type(exc).__name__}: {exc}"
        raise _CatalogRefreshError(msg) from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        msg = f"catalog refresh: GET {url} did not return a /models document ({{'data': [...]}})"
        raise _CatalogRefreshError(msg)
    return raw, data


def _seconds(text: str) -> float:
    """``argparse`` type of a time limit: finite, more than 0, at most ``MAX_SECONDS``."""
    from langchain_openrouter_fallback._definition.chain import MAX_SECONDS  # noqa: PLC0415

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= MAX_SECONDS:  # NaN fails every comparison
        msg = f"{text}: expected seconds, more than 0 and at most {MAX_SECONDS:g}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _cmd_catalog_refresh(args: argparse.Namespace) -> int:
    from langchain_openrouter_fallback._definition.catalog import Catalog  # noqa: PLC0415

    base_url = args.base_url or os.environ.get("OPENROUTER_BASE_URL") or DEFAULT_BASE_URL
    url = f"{base_url.rstrip('/')}/models"
    raw, data = _fetch_models(url, args.timeout)
    try:
        catalog = Catalog(data["data"], source=url)  # proves the response parses
    except (KeyError, TypeError, ValueError) as exc:
        msg = f"catalog refresh: GET {url} returned a model entry without {exc}"
        raise _CatalogRefreshError(msg) from None
    out = Path(args.output) if args.output else default_cache_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(raw)  # verbatim: no field added, dropped or reshaped
    print(f"wrote {len(catalog)} models from {url} to {out}")
    return 0


class _Parser(argparse.ArgumentParser):
    """Usage mistakes are one line too (subcommand parsers inherit this class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class _VersionAction(argparse.Action):
    """``--version``, reading the installed metadata only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.update(nargs=0, default=argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_args: object) -> None:
        from importlib.metadata import version  # noqa: PLC0415

        print(f"{parser.prog} {version('langchain-openrouter-fallback')}")
        parser.exit()


def _add_core_commands(sub: Any) -> None:
    validate = sub.add_parser("validate", help="check chain files against the model catalog")
    validate.add_argument("files", nargs="+")
    validate.add_argument("--strict", action="store_true", help="exit 1 when there are warnings")
    validate.set_defaults(func=_cmd_validate)

    payloads = sub.add_parser("payloads", help="print the server-side request bodies")
    payloads.add_argument("files", nargs="+")
    payloads.add_argument("--message", default="Hello!")
    payloads.add_argument(
        "--jsonl", action="store_true",
        help="one compact JSON object per chain and line (default: one JSON document)",
    )  # fmt: skip
    payloads.set_defaults(func=_cmd_payloads)

    schema = sub.add_parser("schema", help="print the chain-file JSON Schema (for editors)")
    schema.set_defaults(func=_cmd_schema)

    catalog = sub.add_parser("catalog", help="the model catalog")
    catalog_sub = catalog.add_subparsers(dest="catalog_command", required=True)
    refresh = catalog_sub.add_parser("refresh", help="fetch /models into the user cache")
    refresh.add_argument(
        "--base-url", type=http_url, help=f"default: $OPENROUTER_BASE_URL or {DEFAULT_BASE_URL}"
    )
    refresh.add_argument("--output", help=f"default: {default_cache_path()}")
    refresh.add_argument("--timeout", type=_seconds, default=30.0, help="seconds (default: 30)")
    refresh.set_defaults(func=_cmd_catalog_refresh)


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="openrouter-fallback",
        description="One fallback chain for OpenRouter, LangChain and LiteLLM.",
    )
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_core_commands(sub)
    for module_name, needs in _PLUGINS:
        if needs is not None and importlib.util.find_spec(needs) is None:
            continue  # its optional extra is not installed
        module: Any = importlib.import_module(module_name)
        module.register(sub)
    return parser


def _error(exc: Exception) -> None:
    if isinstance(exc, OSError):  # e.g. an output file that cannot be written
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
    else:
        print(f"error: {exc}", file=sys.stderr)


def _stdout_closed() -> int:
    """The reader went away (``... | head``): stop quietly, as SIGPIPE would have."""
    # Python would report the failed flush of stdout again at exit: point it at /dev/null.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return _SIGPIPE_EXIT


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _build_parser().parse_args(argv)
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # here, where a closed pipe can still be caught
    except BrokenPipeError:
        return _stdout_closed()
    except (OpenRouterFallbackError, OSError) as exc:
        _error(exc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    else:
        return code
    return 2


if __name__ == "__main__":
    sys.exit(main())
