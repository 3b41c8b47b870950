"""``openrouter-fallback litellm``: write a LiteLLM proxy config and lint what it cannot carry."""

from __future__ import annotations

import sys
import warnings as warnings_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_openrouter_fallback.definition import http_url

if TYPE_CHECKING:
    import argparse

__all__ = ["register"]


def _cmd_litellm(args: argparse.Namespace) -> int:
    # Imported when the command runs: `openrouter-fallback --help` stays light.
    from litellm_config._inputs import collect_chains  # noqa: PLC0415
    from litellm_config._lint import lint_chains  # noqa: PLC0415
    from litellm_config._mapping import OPEN_PROXY_WARNING, proxy_yaml  # noqa: PLC0415

    chains = collect_chains([Path(path) for path in args.files])
    secured = not args.no_master_key
    with warnings_module.catch_warnings():
        warnings_module.simplefilter("ignore")  # reported below, once, like the lint
        text = proxy_yaml(chains, api_base=args.api_base, require_master_key=secured)
    warnings = lint_chains(chains, notes=False)
    if not secured:
        warnings.insert(0, f"--no-master-key: {OPEN_PROXY_WARNING}")
    for note in lint_chains(chains, notes=True):
        print(f"note: {note}", file=sys.stderr)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output} ({len(chains)} chains)", file=sys.stderr)
    return 1 if warnings and args.strict else 0


def register(subparsers: Any) -> None:
    """Add the ``litellm`` subcommand to the main CLI's subparsers."""
    parser = subparsers.add_parser(
        "litellm",
        help="write a LiteLLM proxy config.yaml that fails over like the chains",
        description=(
            "Generate a `litellm --config` file from chain files. Warnings about behaviour "
            "LiteLLM cannot reproduce go to stderr."
        ),
    )
    parser.add_argument("files", nargs="+", metavar="CHAIN_FILE")
    parser.add_argument("-o", "--output", help="config file to write (default: stdout)")
    parser.add_argument(
        "--api-base", type=http_url, help="override every chain's base_url (e.g. an emulator)"
    )
    parser.add_argument(
        "--no-master-key",
        action="store_true",
        help="do not require LITELLM_MASTER_KEY from clients (an open proxy; warned about)",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when there are warnings (notes do not count)"
    )
    parser.set_defaults(func=_cmd_litellm)
