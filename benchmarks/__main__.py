"""``make bench``: every benchmark, one after the other, each in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUITES = [
    "startup", "overhead", "telemetry", "emulator_throughput", "compare", "health", "streams",
    "learned_limits",
]  # fmt: skip


def main() -> int:
    status = 0
    for name in SUITES:
        if not (HERE / f"{name}.py").exists():
            continue
        print(f"\n===== benchmarks/{name}.py =====", flush=True)
        status |= subprocess.call([sys.executable, "-m", f"benchmarks.{name}"])
    return status


if __name__ == "__main__":
    sys.exit(main())
