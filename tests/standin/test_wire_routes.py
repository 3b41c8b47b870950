"""How requests leave: the bytes httpx.Client would send, its log line, and env proxies.

The transport sends through httpx's connection pool directly (it skips ``httpx.Client``'s
per-request layers), unless a proxy is set in the environment, when an ``httpx.Client``
routes it. Each test runs a real server on 127.0.0.1 that shares no code with the package.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from langchain_core.messages import AIMessageChunk

from langchain_openrouter_fallback import ChatOpenRouterFallback
from tests.standin import StandIn

KEY = "wire-routes-key-0123456789"
CHAIN = {
    "name": "routes",
    "models": [{"model": "openai/gpt-4o-mini"}, {"model": "anthropic/claude-haiku-4.5"}],
    "breaker": {"enabled": False},
}
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def no_environment_proxies(monkeypatch):
    """Each test starts with no proxy variable, in either case."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def make_model(base_url: str) -> ChatOpenRouterFallback:
    return ChatOpenRouterFallback(
        chain=CHAIN, api_key=KEY, base_url=base_url, app_name="Routes test"
    )


class _Recorder(BaseHTTPRequestHandler):
    """Keeps each request's headers and body, answers one completion."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[dict[str, str], bytes]]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append(({k.lower(): v for k, v in self.headers.items()}, body))
        answer = json.dumps({
            "id": "gen-1", "object": "chat.completion", "model": "openai/gpt-4o-mini",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "recorded"}}],
        }).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


def test_a_request_carries_what_httpx_client_would_send():
    """Same headers (httpx's defaults, the key, attribution) and same body bytes as
    ``httpx.Client(headers=...).post(url, json=body)``."""
    seen: list[tuple[dict[str, str], bytes]] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base_url = f"http://127.0.0.1:{server.server_address[1]}/api/v1"
        assert make_model(base_url).invoke("Grüße").content == "recorded"
        ours_headers, ours_body = seen.pop()
        sent = json.loads(ours_body)
        assert sent["messages"] == [{"role": "user", "content": "Grüße"}]
        with httpx.Client(headers={
            "User-Agent": "langchain-openrouter-fallback",
            "Authorization": f"Bearer {KEY}",
            "X-OpenRouter-Title": "Routes test",
        }) as client:  # fmt: skip
            client.post(f"{base_url}/chat/completions", json=sent).raise_for_status()
        theirs_headers, theirs_body = seen.pop()
    finally:
        server.shutdown()
        server.server_close()
    assert theirs_body == ours_body
    assert theirs_headers == ours_headers
    assert ours_headers["authorization"] == f"Bearer {KEY}"
    assert "gzip" in ours_headers["accept-encoding"]


def test_each_request_is_logged_as_httpx_logs_it(caplog):
    """The ``httpx`` logger's INFO line, for sync and async calls; the key is not in it."""
    with StandIn() as server:
        llm = make_model(server.base_url)
        with caplog.at_level(logging.INFO, logger="httpx"):
            llm.invoke("hi")
            asyncio.run(llm.ainvoke("hi"))
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    expected = f'HTTP Request: POST {server.base_url}/chat/completions "HTTP/1.1 200 OK"'
    assert [expected, expected] == lines
    assert KEY not in caplog.text


class _ForwardProxy(BaseHTTPRequestHandler):
    """A plain HTTP forward proxy: absolute-form requests are passed on and counted."""

    protocol_version = "HTTP/1.1"
    targets: list[str]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet."""

    def do_POST(self) -> None:
        self.targets.append(self.path)
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-connection"}
        upstream = http.client.HTTPConnection(url.netloc, timeout=30)
        try:
            upstream.request("POST", url.path, body=body, headers=headers)
            response = upstream.getresponse()
            answer = response.read()
        finally:
            upstream.close()
        self.send_response(response.status)
        self.send_header("Content-Type", response.getheader("Content-Type", ""))
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


@pytest.fixture
def forward_proxy():
    targets: list[str] = []
    handler = type("ForwardProxy", (_ForwardProxy,), {"targets": targets})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", targets
    server.shutdown()
    server.server_close()


async def _all_four(llm: ChatOpenRouterFallback) -> list[str]:
    texts = [str(llm.invoke("hi").content), str((await llm.ainvoke("hi")).content)]
    for chunks in (list(llm.stream("hi")), [c async for c in llm.astream("hi")]):
        whole = sum(chunks[1:], chunks[0])
        assert isinstance(whole, AIMessageChunk)
        texts.append(str(whole.content))
    return texts


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "all_proxy"])
def test_a_proxy_in_the_environment_carries_every_request(monkeypatch, forward_proxy, variable):
    """``HTTP_PROXY`` / ``ALL_PROXY`` route invoke, ainvoke, stream and astream via the proxy."""
    proxy, targets = forward_proxy
    monkeypatch.setenv(variable, proxy)
    with StandIn() as server:
        texts = asyncio.run(_all_four(make_model(server.base_url)))
        assert 4 == len(server.requests)
    assert ["Hello from the stand-in."] * 4 == texts
    assert [f"{server.base_url}/chat/completions"] * 4 == targets


def test_no_proxy_keeps_requests_direct(monkeypatch, forward_proxy):
    """``NO_PROXY`` naming the host wins over ``HTTP_PROXY``, as in httpx."""
    proxy, targets = forward_proxy
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with StandIn() as server:
        texts = asyncio.run(_all_four(make_model(server.base_url)))
        assert 4 == len(server.requests)
    assert ["Hello from the stand-in."] * 4 == texts
    assert [] == targets
