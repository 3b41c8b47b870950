"""The proxy guard meets the core at its public wire seam, and loads no LangChain."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Private core imports anywhere in litellm_config: tests/litellm_config/test_public_imports.py.


@pytest.mark.timeout(300)  # importing litellm in a fresh interpreter is slow on a loaded core
def test_loading_the_proxy_plugin_does_not_load_langchain():
    """A fresh interpreter imports the plugin: ``langchain_core`` stays unloaded."""
    code = (
        "import sys, json\nimport litellm_config.proxy_plugin\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'langchain_core')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert 0 == result.returncode, result.stderr
    assert [] == json.loads(result.stdout.splitlines()[-1])
