"""A real ``litellm --config`` proxy generated from chains, with an emulator as its upstream.

The config is ``litellm_config.proxy_yaml(chains, api_base=emulator.base_url)`` for copies of
the chains with the breaker off and no ``shared_state``, so every drill starts with every
link in service and no drill touches a shared Redis (in process, drills get the same from
``private_breakers``). The proxy gets a random ``LITELLM_MASTER_KEY`` (the generated config
requires one), a placeholder ``OPENROUTER_API_KEY`` (the emulator accepts any) and
``LITELLM_LOCAL_MODEL_COST_MAP=True``; ``DATABASE_URL`` is not passed on.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from langchain_openrouter_fallback._cli.drill import (
    PROMPT,
    DrillReport,
    DrillResult,
    link_stats,
)
from langchain_openrouter_fallback.testing._matrix import observe

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import TracebackType

    import httpx

    from langchain_openrouter_fallback._definition.chain import FallbackChain
    from langchain_openrouter_fallback.emulator import Emulator, LogEntry
    from langchain_openrouter_fallback.testing._matrix import FaultCase, Observed

__all__ = ["LiteLLMProxy", "drill_chains", "drill_config", "litellm_missing"]

STARTUP_TIMEOUT = 600.0
"""Seconds the proxy may take to answer its health check. Importing the proxy takes seconds
on a quiet machine and minutes on a busy one; a proxy that fails exits, and that is reported
at once."""
REQUEST_TIMEOUT = 300.0
"""Seconds one drilled request may take (a safety net; the chain's limits end it first)."""
_UPSTREAM_KEY = "drill-key-not-secret"
_NOT_PASSED = ("DATABASE_URL",)
"""Variables of the test run the proxy must not see (a database the app uses)."""
_OK = 200


def _executable() -> str | None:
    beside = Path(sys.executable).with_name("litellm")
    return str(beside) if beside.exists() else shutil.which("litellm")


def litellm_missing() -> str | None:
    """Why no proxy can start here (``None``: LiteLLM's proxy is installed)."""
    hint = "install it with: pip install 'langchain-openrouter-fallback[litellm]'"
    if importlib.util.find_spec("litellm") is None:
        return f"the LiteLLM proxy drills need the litellm extra; {hint}"
    if _executable() is None:
        return f"no `litellm` command next to {sys.executable} or on PATH; {hint}"
    return None


def drill_chains(chains: Iterable[FallbackChain]) -> list[FallbackChain]:
    """The chains as the drill proxy serves them: breakers off, no ``shared_state``."""
    from langchain_openrouter_fallback._definition.chain import BreakerPolicy  # noqa: PLC0415

    off = BreakerPolicy(enabled=False)
    return [
        chain.model_copy(
            update={
                "breaker": off,
                "shared_state": None,
                "models": [link.model_copy(update={"breaker": None}) for link in chain.models],
            }
        )
        for chain in chains
    ]


def drill_config(chains: Iterable[FallbackChain], emulator: Emulator) -> str:
    """The proxy config for :func:`drill_chains`, its upstream ``emulator``."""
    import litellm_config  # noqa: PLC0415 - generating the config imports no litellm

    return litellm_config.proxy_yaml(drill_chains(chains), api_base=emulator.base_url)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class _Reply:
    """What a client of the proxy got."""

    answered: bool = False
    link: str | None = None
    """The link that served, from ``x-litellm-model-id`` (``<chain>/<label>``)."""
    error: str | None = None
    loud: bool = True
    """The client was told about the error (``False``: a stream that just stopped)."""


class LiteLLMProxy:
    """``litellm --config`` from the chains' generated config, on 127.0.0.1.

    Args:
        chains: the chains to serve (each under its name, as the generated config does).
        emulator: a running emulator, the proxy's OpenRouter.
        workdir: where the config and the proxy's log are written.
        startup_timeout: seconds to wait for the proxy to answer its health check.
    """

    def __init__(
        self,
        chains: Iterable[FallbackChain],
        emulator: Emulator,
        *,
        workdir: Path,
        startup_timeout: float = STARTUP_TIMEOUT,
    ) -> None:
        """Generate the config; nothing runs until :meth:`start` (or ``with``)."""
        self.chains = {chain.name: chain for chain in chains}
        self.emulator = emulator
        self.workdir = workdir
        self.api_key = secrets.token_urlsafe(24)
        """The proxy's master key: clients send it as their bearer token."""
        self.config_text = drill_config(self.chains.values(), emulator)
        self.startup_timeout = startup_timeout
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"LiteLLMProxy({self.url}, chains={list(self.chains)})"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL (``.../v1``) a client points at."""
        return f"{self.url}/v1"

    @property
    def log_path(self) -> Path:
        """The proxy's combined stdout and stderr."""
        return self.workdir / "proxy.log"

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _NOT_PASSED}
        env |= {
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "OPENROUTER_API_KEY": _UPSTREAM_KEY,
            "LITELLM_MASTER_KEY": self.api_key,
        }
        return env

    def start(self) -> Self:
        """Start the proxy and wait until it is live.

        Raises:
            RuntimeError: LiteLLM is missing, or the proxy exited or did not become live
                (the message ends with its log).
        """
        missing = litellm_missing()
        if missing is not None:
            raise RuntimeError(missing)
        config = self.workdir / "config.yaml"
        config.write_text(self.config_text, encoding="utf-8")
        command = [str(_executable()), "--config", str(config)]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        with self.log_path.open("wb") as out:
            self._process = subprocess.Popen(  # noqa: S603 - our own command line
                command, env=self._environment(), stdout=out, stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )  # fmt: skip
        try:
            self._wait_live()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_live(self) -> None:
        import httpx  # noqa: PLC0415

        assert self._process is not None  # noqa: S101 - set by start()
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._fail(f"litellm exited with {self._process.returncode}")
            with contextlib.suppress(httpx.TransportError):
                response = httpx.get(f"{self.url}/health/liveliness", timeout=1)
                if response.status_code == _OK:
                    return
            time.sleep(0.1)  # polling a process we do not control; no event to wait on
        self._fail(f"litellm did not become live within {self.startup_timeout:.0f} s")

    def _fail(self, reason: str) -> None:
        tail = self.log_path.read_text(errors="replace")[-3000:]
        msg = f"{reason}; its log ({self.log_path}) ends:\n{tail}"
        raise RuntimeError(msg)

    def stop(self) -> None:
        """Terminate the proxy (kill it if it does not exit within 10 s)."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> Self:
        """Start; see :meth:`start`."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop; see :meth:`stop`."""
        self.stop()

    def ask(self, chain: str, *, stream: bool = False) -> _Reply:
        """One request to ``chain`` through the proxy, as an OpenAI client would send it."""
        import httpx  # noqa: PLC0415

        body: dict[str, Any] = {"model": chain, "messages": [{"role": "user", "content": PROMPT}]}
        headers = {"Authorization": f"Bearer {self.api_key}"}
        url = f"{self.base_url}/chat/completions"
        if not stream:
            response = httpx.post(url, json=body, headers=headers, timeout=REQUEST_TIMEOUT)
            link = response.headers.get("x-litellm-model-id")
            if response.status_code != _OK:
                return _Reply(
                    link=link, error=f"HTTP {response.status_code}: {response.text[:300]}"
                )
            choices = response.json().get("choices") or []
            if not choices:
                return _Reply(link=link, error="an answer without choices")
            return _Reply(answered=True, link=link)
        body["stream"] = True
        with httpx.stream("POST", url, json=body, headers=headers, timeout=REQUEST_TIMEOUT) as r:
            link = r.headers.get("x-litellm-model-id")
            if r.status_code != _OK:
                return _Reply(link=link, error=f"HTTP {r.status_code}: {r.read()[:300]!r}")
            return _read_stream(r, link)

    def drill(self, case: FaultCase) -> Observed:
        """One request of ``case`` through the proxy; see :meth:`FaultCase.drill`."""
        if case.chain.name not in self.chains:
            msg = f"chain {case.chain.name!r} is not served by {self!r}"
            raise ValueError(msg)
        self.emulator.set_scenario(case.scenario)
        self.emulator.clear_log()
        stream = case.method == "stream"
        started = time.monotonic()
        reply = self.ask(case.chain.name, stream=stream)
        elapsed = round((time.monotonic() - started) * 1000, 1)
        log = self.emulator.log
        served = reply.link.partition("/")[2] if reply.answered and reply.link else None
        result = DrillResult(reply.answered, served, elapsed, _attempts(case.chain, log))
        result.error = reply.error
        chain = case.chain
        target = "litellm proxy; attempts as the emulator saw them"
        report = DrillReport(chain.name, chain.mode, target, stream, [f"{case.label}={case.fault}"],
                             [result])  # fmt: skip
        report.links = link_stats(chain, [result])
        detail = f"  the proxy answered: {reply.error}" if reply.error else ""
        return observe(report, log, interrupted=reply.loud and not reply.answered,
                       detail=detail)  # fmt: skip


def _read_stream(response: httpx.Response, link: str | None) -> _Reply:
    """Read an SSE answer: finished, cut (no ``finish_reason``) or an error event."""
    import httpx  # noqa: PLC0415

    finished = False
    try:
        for line in response.iter_lines():
            data = line.removeprefix("data:").strip()
            if not line.startswith("data:") or data == "[DONE]":
                continue
            with contextlib.suppress(ValueError):  # a malformed event is not the answer's end
                event = json.loads(data)
                if isinstance(event, dict) and event.get("error"):
                    return _Reply(
                        link=link, error=f"error event: {json.dumps(event['error'])[:300]}"
                    )
                choices = (event.get("choices") if isinstance(event, dict) else None) or []
                finished = finished or any(c.get("finish_reason") for c in choices)
    except httpx.HTTPError as exc:
        return _Reply(link=link, error=f"{type(exc).__name__}: {exc}")
    if not finished:
        # Ended quietly without a finish_reason: a truncated answer passed off as whole.
        return _Reply(link=link, error="the stream stopped without finish_reason", loud=False)
    return _Reply(answered=True, link=link)


def _attempts(chain: FallbackChain, log: list[LogEntry]) -> list[dict[str, Any]]:
    """The emulator's provider attempts as drill attempt rows (labels from ``chain``)."""
    labels: dict[str, str] = {}
    for link in chain.models:
        labels.setdefault(link.model, link.label)
    rows = []
    for entry in log:
        for attempt in entry.attempts:
            model, fault = attempt["model"], attempt.get("fault")
            kind = f"status {attempt['status']}" if fault == "error" else fault
            rows.append({
                "label": labels.get(model, model), "model": model,
                "outcome": "error" if fault else "ok", "error_kind": kind,
                "status_code": attempt.get("status"), "elapsed_ms": 0.0,
            })  # fmt: skip
    return rows
