"""``make bench`` runs to the end: each benchmark at a small size exits 0 with its figures.

Only that it runs and prints what docs/benchmarks.md quotes; speed is never judged here. ``compare``
(fixed workloads of a few minutes) is left to ``make bench``, which runs it in ``.venv-bench``:
one of its peers, langchain-openrouter, cannot be installed beside the dev tools, so this suite
never runs it. What is checked here is that the bench lock holds every peer ``compare`` needs
(and ``compare`` itself refuses to run with one missing rather than leave it out).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from benchmarks.compare import PEERS
from tests.conftest import ROOT

SMALL = {
    "startup": ["--runs", "1"],
    "overhead": ["--rounds", "2", "-n", "3"],
    "telemetry": ["--rounds", "2", "-n", "3"],
    "emulator_throughput": ["--seconds", "0.3", "--connections", "4", "--streams", "10"],
    "streams": ["--runs", "1", "--latency", "0.01", "--interval", "0.001"],
    "health": ["--runs", "2", "--down", "0.3", "--up", "0.2"],
    # Every wait and limit at 1/20; too few requests for anything to be learned.
    "learned_limits": [
        "--time-scale", "0.05", "--warmup", "3", "--requests", "8", "--silent", "2",
        "--healthy", "2", "--reasoning-seconds", "0.3", "--hedge-requests", "10",
    ],
}  # fmt: skip


def _run(name: str) -> str:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", *SMALL[name]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _figures(out: str) -> dict:
    """The JSON line a benchmark ends with."""
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.timeout(300)
def test_startup_prints_every_budget():
    figures = _figures(_run("startup"))["startup_over_baseline_s"]
    assert {"help-pydantic_yaml", "validate-pydantic_yaml", "ours-base_chat_httpx"} <= set(figures)


@pytest.mark.timeout(300)
def test_overhead_prints_the_decomposition():
    out = _run("overhead")
    figures = _figures(out)["per_call_ms"]
    assert {"floor", "raw", "pool", "both", "ours", "over"} <= set(figures["median"])
    assert "over_pool" in figures["paired_wall"]
    assert "goal <= 0.3 ms" in out


@pytest.mark.timeout(300)
def test_telemetry_prints_every_mode():
    out = _run("telemetry")
    figures = _figures(out)["telemetry_per_call_ms"]
    assert {"absent", "api", "sdk"} == set(figures["median"])
    assert "goal <= 0.02 ms" in out


@pytest.mark.timeout(300)
def test_emulator_throughput_reads_every_framing_the_emulator_sends():
    """Its raw keep-alive client once assumed ``Content-Length`` and hung on chunked JSON."""
    out = _run("emulator_throughput")
    assert "0 errors" in out
    assert "10/10 concurrent streams completed" in out


@pytest.mark.timeout(300)
def test_streams_table_has_every_recovery():
    out = _run("streams")
    for recovery in ("raise", "buffer", "continue"):
        assert f"| {recovery}" in out


@pytest.mark.timeout(300)
def test_health_prints_both_tables():
    out = _run("health")
    assert "Hedged time to first token" in out
    assert "litellm.Router, router_kwargs(chain)" in out


@pytest.mark.timeout(300)
def test_learned_limits_prints_every_table():
    figures = _figures(_run("learned_limits"))["learned_limits"]
    assert set(figures) == {"silent", "healthy", "tail", "hedge"}
    assert set(figures["tail"]) == {"fixed 15 s", "fixed 2 s", "auto"}


def test_the_bench_lock_holds_every_peer_compare_runs_side_by_side():
    """`make bench` installs requirements-bench.lock: each peer of `compare` is pinned there."""
    lock = (ROOT / "requirements-bench.lock").read_text().splitlines()
    pinned = {line.split("==")[0] for line in lock if "==" in line and not line.startswith("#")}
    assert set(PEERS.values()) <= pinned
