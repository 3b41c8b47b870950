"""Start-up budget: the CLI and the chat model against the imports they cannot avoid.

Run: ``make bench`` (or ``.venv/bin/python -m benchmarks.startup [--runs N]``).

Each figure is the wall time of a fresh interpreter (start-up included), median of
``--runs``; the commands run interleaved, round-robin, so a busy machine slows them alike.
The CPU time (user + system) of the same runs is printed too: it varies less on a shared
machine. Budget verdicts use the wall time.
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
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Installed packages come with compiled bytecode; an environment that forbids writing it
# (PYTHONDONTWRITEBYTECODE) would time the compiler instead. The warm-up run writes it.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
EXAMPLE = "examples/chains/default.yaml"
CLI = [sys.executable, "-m", "langchain_openrouter_fallback._cli.main"]


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
    ("base_chat_httpx", "core_httpx", None),
    ("ours", "base_chat_httpx", 0.2),
]

NOTES = {
    ("base_chat_httpx", "core_httpx"): "BaseChatModel itself: every chat model subclass loads it",
}


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one fresh interpreter."""
    start, cpu = time.perf_counter(), _child_cpu()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=ENV)
    return time.perf_counter() - start, _child_cpu() - cpu


def measure(runs: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) per command."""
    samples: dict[str, list[tuple[float, float]]] = {key: [] for key in COMMANDS}
    for _, argv in COMMANDS.values():  # warm the file cache once
        run_once(argv)
    for _ in range(runs):
        for key, (_, argv) in COMMANDS.items():
            samples[key].append(run_once(argv))
    return {
        key: (statistics.median(w for w, _ in got), statistics.median(c for _, c in got))
        for key, got in samples.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    print(f"[startup] fresh interpreters, median of {args.runs} interleaved runs (wall / CPU)")
    medians = measure(args.runs)
    for key, (wall, cpu) in medians.items():
        print(f"  {COMMANDS[key][0]:84} {wall * 1000:6.0f} / {cpu * 1000:4.0f} ms")
    print("  over the baseline of the same run (wall / CPU):")
    figures = {}
    for key, base, budget in BUDGETS:
        over_wall = medians[key][0] - medians[base][0]
        over_cpu = medians[key][1] - medians[base][1]
        verdict = NOTES.get((key, base), "")
        if budget is not None:
            verdict = f"budget {budget * 1000:.0f} ms: " + ("ok" if over_wall <= budget else "OVER")
        print(
            f"  {key:>15} - {base:<16} {over_wall * 1000:+6.0f} / {over_cpu * 1000:+5.0f} ms  {verdict}"
        )
        figures[f"{key}-{base}"] = {"wall": round(over_wall, 3), "cpu": round(over_cpu, 3)}
    print(json.dumps({"startup_over_baseline_s": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
