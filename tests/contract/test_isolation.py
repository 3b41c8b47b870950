"""The SDK is a test-time judge only: the package never imports it."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import json, sys
import langchain_openrouter_fallback as pkg
from langchain_openrouter_fallback import ChatOpenRouterFallback, FallbackChain
from langchain_openrouter_fallback.emulator import Emulator

chain = FallbackChain.model_validate({"name": "c", "models": ["openai/gpt-4o-mini"]})
chain.openrouter_payloads(["hi"])
with Emulator() as emu:
    llm = ChatOpenRouterFallback(chain=chain, api_key="emulator-test-key-0000", base_url=emu.base_url)
    answer = llm.invoke("hi").content
    streamed = "".join(str(c.content) for c in llm.stream("hi"))
print(json.dumps({
    "answered": bool(answer and streamed),
    "sdk": sorted(m for m in sys.modules if m == "openrouter" or m.startswith("openrouter.")),
}))
"""


def test_using_the_package_never_imports_the_sdk():
    """Payloads, the chat model (invoke and stream) and the emulator run without ``openrouter``."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"answered": True, "sdk": []} == report
