"""The ``openrouter-fallback`` command.

Subcommands: ``validate``, ``payloads``, ``schema``, ``catalog refresh``, plus ``emulate``
and ``litellm`` when their optional parts are installed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from langchain_openrouter_fallback._catalog import Catalog, default_cache_path, load_catalog
from langchain_openrouter_fallback._chain import FallbackChain
from langchain_openrouter_fallback._errors import OpenRouterFallbackError
from langchain_openrouter_fallback._loader import load_chains
from langchain_openrouter_fallback._report import ChainReport, check_chain

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
# Subcommands that live with their optional feature; skipped when it is not installed.
_PLUGINS = (
    "langchain_openrouter_fallback.emulator._cli",
    "litellm_config._cli",
    "langchain_openrouter_fallback._drill",
)


def _print_report(report: ChainReport) -> None:
    print(f"chain {report.chain} ({report.mode}, {len(report.rows)} links)")
    header = f"  {'label':<24} {'model':<44} {'context':>9} {'$/M in':>7}  capabilities"
    print(header)
    for row in report.rows:
        ctx = f"{row.context_length:,}" if row.context_length else "?"
        price = f"{row.prompt_price_per_m:.2f}" if row.prompt_price_per_m is not None else "?"
        caps = ", ".join(sorted(row.capabilities)) if row.known else "(unknown model)"
        print(f"  {row.label:<24} {row.model:<44} {ctx:>9} {price:>7}  {caps}")
    for warning in report.warnings:
        print(f"  warning: {warning}")


def _cmd_validate(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    clean = True
    for path in args.files:
        for chain in load_chains(path).values():
            report = check_chain(chain, catalog)
            _print_report(report)
            clean = clean and report.ok
    return 0 if clean or not args.strict else 1


def _cmd_payloads(args: argparse.Namespace) -> int:
    messages = [{"role": "user", "content": args.message}]
    for path in args.files:
        for chain in load_chains(path).values():
            payloads = chain.openrouter_payloads(messages)
            print(json.dumps({"chain": chain.name, "payloads": payloads}, indent=2))
    return 0


def _cmd_schema(_args: argparse.Namespace) -> int:
    print(json.dumps(FallbackChain.model_json_schema(), indent=2))
    return 0


def _cmd_catalog_refresh(args: argparse.Namespace) -> int:
    base_url = (args.base_url or os.environ.get("OPENROUTER_BASE_URL") or DEFAULT_BASE_URL).rstrip(
        "/"
    )
    headers = {}
    key = os.environ.get("OPENROUTER_API_KEY")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    response = httpx.get(f"{base_url}/models", headers=headers, timeout=args.timeout)
    response.raise_for_status()
    data = response.json()
    catalog = Catalog(data["data"], source=base_url)  # proves the response parses
    out = Path(args.output) if args.output else default_cache_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data), encoding="utf-8")
    print(f"wrote {len(catalog)} models from {base_url}/models to {out}")
    return 0


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="openrouter-fallback",
        description="One fallback chain for OpenRouter, LangChain and LiteLLM.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    validate = sub.add_parser("validate", help="check chain files against the model catalog")
    validate.add_argument("files", nargs="+")
    validate.add_argument("--strict", action="store_true", help="exit 1 when there are warnings")
    validate.set_defaults(func=_cmd_validate)

    payloads = sub.add_parser("payloads", help="print the server-side request bodies")
    payloads.add_argument("files", nargs="+")
    payloads.add_argument("--message", default="Hello!")
    payloads.set_defaults(func=_cmd_payloads)

    schema = sub.add_parser("schema", help="print the chain JSON Schema (for editors)")
    schema.set_defaults(func=_cmd_schema)

    catalog = sub.add_parser("catalog", help="the model catalog")
    catalog_sub = catalog.add_subparsers(dest="catalog_command", required=True)
    refresh = catalog_sub.add_parser("refresh", help="fetch /models into the user cache")
    refresh.add_argument("--base-url", help=f"default: $OPENROUTER_BASE_URL or {DEFAULT_BASE_URL}")
    refresh.add_argument("--output", help=f"default: {default_cache_path()}")
    refresh.add_argument("--timeout", type=float, default=30.0)
    refresh.set_defaults(func=_cmd_catalog_refresh)

    for module_name in _PLUGINS:
        try:
            module: Any = importlib.import_module(module_name)
        except ImportError:
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except OpenRouterFallbackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except httpx.HTTPError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
