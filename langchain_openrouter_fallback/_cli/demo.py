"""``make demo``: validate the example chains, show their payloads, then drill the default chain.

The drill fails the primary on purpose: against the local emulator (503s) when
``OPENROUTER_API_KEY`` is unset, or with two live requests (an invalid primary model id)
when it is set. Needs only the runtime + emulator dependencies.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING

from langchain_openrouter_fallback._cli.drill import (
    DrillOptions,
    FaultSpec,
    format_report,
    run_drill,
)
from langchain_openrouter_fallback._cli.report import check_chain, format_chain_report
from langchain_openrouter_fallback._definition.catalog import load_catalog
from langchain_openrouter_fallback._definition.examples import example_path
from langchain_openrouter_fallback._definition.loader import load_chains

if TYPE_CHECKING:
    from pathlib import Path

DRILL_CHAIN = example_path("chains/default.yaml")
EXAMPLES = DRILL_CHAIN.parent
"""The shipped example chains (package data), so the demo runs from any directory."""
DRILL_REQUESTS = 10
LIVE_REQUESTS = 2


def _shown(path: Path) -> str:
    return f"examples/chains/{path.name}"


def drill() -> int:
    """Fail the default chain's primary and show who answered; 1 if a request went unanswered."""
    key = os.environ.get("OPENROUTER_API_KEY")
    where = "live OpenRouter" if key else "the local emulator"
    print(f"== drill: {_shown(DRILL_CHAIN)}, primary failing (503), against {where}")
    options = DrillOptions(
        requests=LIVE_REQUESTS if key else DRILL_REQUESTS,
        faults=(FaultSpec("primary", "503"),),
        live=bool(key),
        api_key=key,
        progress=sys.stderr,
    )
    reports = [run_drill(chain, options) for chain in load_chains(DRILL_CHAIN).values()]
    for report in reports:
        print(format_report(report))
    return 1 if any(r.unanswered for r in reports) else 0


def main() -> int:
    """Run the demo from the repository root."""
    catalog = load_catalog()
    for path in sorted(EXAMPLES.glob("*.*")):
        print(f"== {_shown(path)}")
        for chain in load_chains(path).values():
            print(format_chain_report(check_chain(chain, catalog)))
            bodies = chain.openrouter_payloads([{"role": "user", "content": "Hello!"}])
            for body in bodies:
                shown = {k: v for k, v in body.items() if k != "messages"}
                print(f"  payload: {json.dumps(shown)}")
        print()
    return drill()


if __name__ == "__main__":
    sys.exit(main())
