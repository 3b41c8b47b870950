"""``make demo``: validate the example chains and show what each one sends to OpenRouter."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from langchain_openrouter_fallback._catalog import load_catalog
from langchain_openrouter_fallback._cli import _print_report
from langchain_openrouter_fallback._loader import load_chains
from langchain_openrouter_fallback._report import check_chain

EXAMPLES = Path("examples") / "chains"


def main() -> int:
    """Run the demo from the repository root."""
    catalog = load_catalog()
    for path in sorted(EXAMPLES.glob("*.*")):
        print(f"== {path}")
        for chain in load_chains(path).values():
            _print_report(check_chain(chain, catalog))
            bodies = chain.openrouter_payloads([{"role": "user", "content": "Hello!"}])
            for body in bodies:
                shown = {k: v for k, v in body.items() if k != "messages"}
                print(f"  payload: {json.dumps(shown)}")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
