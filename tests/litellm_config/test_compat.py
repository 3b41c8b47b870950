"""The proxy plugin refuses a LiteLLM older than the oldest tested one, at a real proxy start.

No older LiteLLM is installed here (tests never download), so the older release is what
LiteLLM's metadata says: a ``litellm-1.80.0.dist-info`` placed first on ``PYTHONPATH`` is the
distribution ``importlib.metadata`` finds, while the code that runs is the installed LiteLLM.
The proxy start, the plugin's loading and the exit are real. That the installed LiteLLM passes
the check, every other proxy test of the lane shows (their proxies load the plugin).
"""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

import litellm_config
from litellm_config._compat import OLDEST_TESTED_LITELLM
from tests.litellm_config.conftest import STARTUP_TIMEOUT, chain, start_refused

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.litellm

OLDER = "1.80.0"


def _reporting_litellm(version: str, where: Path) -> str:
    """A directory whose dist-info says LiteLLM ``version`` (for ``PYTHONPATH``)."""
    info = where / f"litellm-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: litellm\nVersion: {version}\n")
    return str(where)


def _import_plugin(pythonpath: str) -> subprocess.CompletedProcess[str]:
    env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "PATH": "", "PYTHONPATH": pythonpath}
    return subprocess.run(
        [sys.executable, "-c", "import litellm_config.proxy_plugin"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=STARTUP_TIMEOUT,
    )


@pytest.mark.timeout(300)
def test_a_proxy_on_an_older_litellm_exits_at_start_up_with_one_line(running, tmp_path):
    """`litellm --config` (generated, plugin in its callbacks) on LiteLLM 1.80.0: the proxy
    exits before serving, and the reason is one line naming both versions and the fix."""
    text = litellm_config.proxy_yaml(chain(), api_base=running.base_url)
    older = _reporting_litellm(OLDER, tmp_path / "older")
    output = start_refused(text, tmp_path, PYTHONPATH=older)
    line = (
        f"RuntimeError: litellm_config.proxy_plugin is tested on LiteLLM {OLDEST_TESTED_LITELLM}"
        f" and newer, not on the installed LiteLLM {OLDER}: upgrade it"
        f" (pip install 'litellm[proxy]>={OLDEST_TESTED_LITELLM}')"
    )
    assert line in output.splitlines(), output[-3000:]  # under uvicorn's startup traceback
    assert "Application startup failed" in output
    assert "Uvicorn running" not in output


def test_importing_the_plugin_on_an_older_litellm_raises_before_litellm_loads(tmp_path):
    """In-process use (`litellm.callbacks.append(...)`) gets the same line as a RuntimeError."""
    done = _import_plugin(_reporting_litellm(OLDER, tmp_path))
    assert 1 == done.returncode
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: litellm_config.proxy_plugin is tested on LiteLLM ")
    assert f"not on the installed LiteLLM {OLDER}:" in last
