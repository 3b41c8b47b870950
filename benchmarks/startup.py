"""Start-up budget: the CLI and the chat model against the imports they cannot avoid.

Run: ``make bench`` (or ``.venv/bin/python -m benchmarks.startup [--runs N]``).

Each figure is the wall time of a fresh interpreter (start-up included), median of
``--runs``; the commands run interleaved, round-robin, so a busy machine slows them alike.
Budgets (issue 16), each against a baseline measured in the same run:

- ``openrouter-fallback --help``: within 0.3 s of ``import pydantic, yaml``
- ``openrouter-fallback validate examples/chains/default.yaml``: within 0.5 s of it
- ``import langchain_openrouter_fallback; ChatOpenRouterFallback``: within 0.2 s of
  ``import langchain_core.language_models, httpx``. That package imports ``BaseChatModel``
  lazily, so the line does not load it while any chat model subclass must; the figure is
  also given against ``from langchain_core.language_models import BaseChatModel; import httpx``,
  the floor a subclass can reach.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = "examples/chains/default.yaml"
CLI = [sys.executable, "-m", "langchain_openrouter_fallback._cli"]


def _py(code: str) -> tuple[str, list[str]]:
    return f"python -c '{code}'", [sys.executable, "-c", code]


# key -> (what is shown, argv)
COMMANDS: dict[str, tuple[str, list[str]]] = {
    "pydantic_yaml": _py("import pydantic, yaml"),
    "help": ("openrouter-fallback --help", [*CLI, "--help"]),
    "validate": (f"openrouter-fallback validate {EXAMPLE}", [*CLI, "validate", EXAMPLE]),
    "chain": _py("from langchain_openrouter_fallback import FallbackChain"),
    "core_httpx": _py("import langchain_core.language_models, httpx"),
    "base_chat_httpx": _py(
        "from langchain_core.language_models import BaseChatModel; import httpx"
    ),
    "ours": _py("import langchain_openrouter_fallback as p; p.ChatOpenRouterFallback"),
}
# (measured, baseline, budget in seconds over the baseline)
BUDGETS = [
    ("help", "pydantic_yaml", 0.3),
    ("validate", "pydantic_yaml", 0.5),
    ("chain", "pydantic_yaml", None),
    ("ours", "core_httpx", 0.2),
    ("ours", "base_chat_httpx", 0.2),
]


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def measure(runs: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {key: [] for key in COMMANDS}
    for _, argv in COMMANDS.values():  # warm the file cache once
        wall(argv)
    for _ in range(runs):
        for key, (_, argv) in COMMANDS.items():
            samples[key].append(wall(argv))
    return {key: statistics.median(times) for key, times in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    print(f"[startup] fresh interpreters, median of {args.runs} interleaved runs")
    medians = measure(args.runs)
    for key, seconds in medians.items():
        print(f"  {COMMANDS[key][0]:84} {seconds * 1000:6.0f} ms")
    print("  over the baseline of the same run:")
    figures = {}
    for key, base, budget in BUDGETS:
        over = medians[key] - medians[base]
        verdict = "" if budget is None else f"budget {budget * 1000:.0f} ms: "
        verdict += "" if budget is None else ("ok" if over <= budget else "OVER")
        print(f"  {key:>8} - {base:<16} {over * 1000:+6.0f} ms  {verdict}")
        figures[f"{key}-{base}"] = round(over, 3)
    print(json.dumps({"startup_over_baseline_s": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
