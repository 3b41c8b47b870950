"""The emulator in its own process (``openrouter-fallback emulate --port 0``), for load tests.

A load test that runs the emulator in its own process measures the client, not a contest for
one GIL: under load the in-process emulator read requests late and the accounting flaked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from tests.processes import stop

if TYPE_CHECKING:
    from collections.abc import Iterator

READY = "OpenRouter emulator listening on "
CLI = Path(sys.executable).with_name("openrouter-fallback")


@dataclass
class EmulatorProcess:
    """A running ``emulate`` subprocess and its base URL."""

    process: subprocess.Popen[str]
    base_url: str

    def log(self) -> list[dict[str, Any]]:
        """The request log, from ``GET /_emulator/log``."""
        url = self.base_url.removesuffix("/api/v1") + "/_emulator/log"
        response = httpx.get(url, timeout=60)
        response.raise_for_status()
        entries: list[dict[str, Any]] = response.json()
        return entries

    def models_read(self) -> Counter[str]:
        """Completion requests the emulator read in full, per requested model.

        A client that hangs up before the emulator reads its body is logged with an empty body
        (uvicorn reports the disconnect instead of the buffered bytes): not counted here.
        """
        return Counter(e["body"]["model"] for e in self.log() if isinstance(e["body"], dict))


def run_emulator(scenario: dict[str, Any], workdir: Path) -> Iterator[EmulatorProcess]:
    """Start the emulator on a free port and wait for its ready line; stop it afterwards."""
    path = workdir / "scenario.json"
    path.write_text(json.dumps(scenario))
    errors = workdir / "emulator.stderr"
    with errors.open("w") as sink:
        # stdout carries only the ready line; stderr goes to a file (a full pipe would block).
        process = subprocess.Popen(
            [str(CLI), "emulate", "--port", "0", "--scenario", str(path)],
            stdout=subprocess.PIPE,
            stderr=sink,
            text=True,
        )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until ready, or '' if the process died
        if not line.startswith(READY):
            process.kill()
            process.communicate(timeout=30)
            msg = f"emulator did not start (exit {process.returncode}): {line}"
            raise RuntimeError(msg + errors.read_text()[-2000:])
        yield EmulatorProcess(process, line.removeprefix(READY).strip())
    finally:
        stop(process)
