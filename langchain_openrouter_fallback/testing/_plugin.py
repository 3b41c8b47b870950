"""The pytest plugin (entry point ``pytest11``): fixtures that run the emulator and a proxy.

Loaded by pytest whenever the package is installed, and inert until a test asks for a
fixture: importing this module imports pytest and nothing else of weight (no server stack,
no LangChain, no httpx, no litellm), and no fixture starts anything before a test uses it.

Fixtures:

- ``openrouter_emulator``: a running emulator for one test (stopped after it).
- ``openrouter_emulator_session``: one running emulator for the whole session.
- ``openrouter_litellm_proxy``: a function ``(chains) -> LiteLLMProxy`` that starts (once
  per session and config) ``litellm --config`` from the chains' generated config, pointed at
  the session emulator (reset for the calling test); skips the test when LiteLLM is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from langchain_openrouter_fallback.emulator import Emulator
    from langchain_openrouter_fallback.testing._matrix import ChainsInput
    from langchain_openrouter_fallback.testing._proxy import LiteLLMProxy

__all__ = [
    "openrouter_emulator",
    "openrouter_emulator_session",
    "openrouter_litellm_proxy",
]


def _running() -> Iterator[Emulator]:
    from langchain_openrouter_fallback.emulator import Emulator  # noqa: PLC0415

    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def openrouter_emulator() -> Iterator[Emulator]:
    """A running OpenRouter emulator on 127.0.0.1 for this test, stopped after it.

    ``.base_url``, ``.log``, ``.set_scenario``; no faults until the test scripts some.
    """
    yield from _running()


@pytest.fixture(scope="session")
def openrouter_emulator_session() -> Iterator[Emulator]:
    """One running emulator for the whole session.

    Reset it yourself between tests (``set_scenario(None)``, ``clear_log()``).
    """
    yield from _running()


class _ProxyPool:
    """Proxies started in this session, one per generated config, stopped at its end."""

    def __init__(self, emulator: Emulator, factory: pytest.TempPathFactory) -> None:
        self.emulator = emulator
        self.factory = factory
        self.proxies: dict[str, LiteLLMProxy] = {}
        self.failures: dict[str, str] = {}
        """Configs whose proxy did not start: later tests fail at once with the same reason."""

    def get(self, chains: ChainsInput) -> LiteLLMProxy:
        from langchain_openrouter_fallback.testing._matrix import load_chains  # noqa: PLC0415
        from langchain_openrouter_fallback.testing._proxy import (  # noqa: PLC0415
            LiteLLMProxy,
            drill_config,
        )

        loaded = load_chains(chains)
        key = drill_config(loaded, self.emulator)
        if key in self.failures:
            pytest.fail(self.failures[key], pytrace=False)
        if key not in self.proxies:
            workdir = self.factory.mktemp("litellm-proxy")
            try:
                self.proxies[key] = LiteLLMProxy(loaded, self.emulator, workdir=workdir).start()
            except RuntimeError as exc:
                self.failures[key] = f"the LiteLLM proxy did not start: {exc}"
                raise
        return self.proxies[key]

    def close(self) -> None:
        for proxy in self.proxies.values():
            proxy.stop()


@pytest.fixture(scope="session")
def _openrouter_proxy_pool(
    openrouter_emulator_session: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[_ProxyPool]:
    from langchain_openrouter_fallback.testing._proxy import litellm_missing  # noqa: PLC0415

    missing = litellm_missing()
    if missing is not None:
        pytest.skip(missing)
    pool = _ProxyPool(openrouter_emulator_session, tmp_path_factory)
    yield pool
    pool.close()


@pytest.fixture
def openrouter_litellm_proxy(
    _openrouter_proxy_pool: _ProxyPool,
) -> Callable[..., LiteLLMProxy]:
    """``openrouter_litellm_proxy(chains)``: a running LiteLLM proxy serving ``chains``.

    ``chains``: a chain file, a chain, or a list of either. The proxy's upstream is the
    session emulator, reset for this test. Skips the test when LiteLLM is not installed.
    """

    def proxy_for(chains: ChainsInput) -> LiteLLMProxy:
        proxy = _openrouter_proxy_pool.get(chains)
        proxy.emulator.set_scenario(None)
        proxy.emulator.clear_log()
        return proxy

    return proxy_for
