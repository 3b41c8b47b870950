r"""An independent OpenRouter stand-in: plain ``http.server``, sharing no code with our emulator.

Our emulator shares the client's assumptions; this server shares none of its code. It answers
``POST /api/v1/chat/completions`` with replies a test scripts per model, in the shapes of the real
recordings (``tests/data/recordings``): whitespace padding before JSON bodies, ``: OPENROUTER
PROCESSING`` keep-alives, paced chunks, reasoning deltas, in-band errors, and the three ways a
real HTTP/1.1 server ends a body (chunked, ``Content-Length``, closing the connection).

Usage::

    from tests.standin import StandIn, stream, completion, error, hang, reset

    with StandIn() as server:
        server.script("openai/gpt-4o-mini", error(503), stream(["Hel", "lo"], gap=0.1))
        server.default = auto("fallback text")  # for models without a scripted reply left
        ...  # point a client at server.base_url (any bearer key)
        server.models_seen()  # ["openai/gpt-4o-mini", ...] in arrival order

A reply is a :class:`Reply` (or a function of the request body returning one). Scripted replies
for a model are used once each, in order; then ``server.default`` answers.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Self

__all__ = [
    "FRAMINGS",
    "KEEPALIVE",
    "PADDING",
    "Reply",
    "Seen",
    "StandIn",
    "auto",
    "completion",
    "error",
    "hang",
    "keepalive_only",
    "reset",
    "stream",
]

Framing = Literal["chunked", "length", "close"]
KEEPALIVE = b": OPENROUTER PROCESSING\n\n"
PADDING = b"\n         \n"
"""What OpenRouter sends before a JSON body while the model works (see the recordings)."""
PROVIDER = "Stand-In Cloud"


@dataclass(frozen=True)
class Reply:
    """One scripted answer: status, headers, then timed pieces of body in one framing."""

    status: int = 200
    content_type: str = "application/json"
    events: tuple[tuple[float, bytes], ...] = ()
    """(seconds to wait before, bytes to send) in order."""
    framing: Framing = "length"
    headers: tuple[tuple[str, str], ...] = ()
    abort: Literal["", "reset", "cut"] = ""
    """After the events: ``reset`` (RST, also before any byte when there are no events and
    ``status`` is 0) or ``cut`` (close without finishing the body)."""
    hold: float = 0.0
    """Seconds to wait after the events before ending (a hang when there are no events)."""


ReplyLike = Reply | Callable[[dict[str, Any]], Reply]


@dataclass
class Seen:
    """One request as the server received it (the bearer key is never kept)."""

    model: str
    stream: bool
    body: dict[str, Any]
    had_key: bool


def _gen_id() -> str:
    return f"gen-{int(time.time())}-standin{threading.get_ident() % 10**13:013d}"


def _chunk(
    model: str, gen_id: str, delta: dict[str, Any], finish: str | None = None, **extra: Any
) -> bytes:
    body = {
        "id": gen_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "provider": PROVIDER,
        "choices": [
            {"index": 0, "delta": delta, "finish_reason": finish, "native_finish_reason": finish}
        ],
        **extra,
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def _usage(prompt: int = 12, completion: int = 8, reasoning: int = 0) -> dict[str, Any]:
    cost = round(prompt * 1e-6 + completion * 4e-6, 8)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "cost": cost,
        "is_byok": False,
        "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning, "image_tokens": 0},
    }


def completion(
    text: str | None = "Hello from the stand-in.",
    *,
    model: str = "openai/gpt-4o-mini",
    padding: int = 0,
    padding_gap: float = 0.0,
    framing: Framing = "length",
    reasoning: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str | None = None,
    delay: float = 0.0,
    refusal: str | None = None,
) -> Reply:
    """A non-stream ``chat.completion``; ``padding`` whitespace blocks first, one per ``padding_gap``."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text,
        "refusal": refusal,
        "reasoning": reasoning,
    }
    if reasoning is not None:
        message["reasoning_details"] = [
            {
                "type": "reasoning.text",
                "text": reasoning,
                "format": "anthropic-claude-v1",
                "index": 0,
            }
        ]
    if tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{i}",
                "type": "function",
                "index": i,
                "function": {"name": c["name"], "arguments": json.dumps(c.get("arguments", {}))},
            }
            for i, c in enumerate(tool_calls)
        ]
    finish = finish_reason or ("tool_calls" if tool_calls else "stop")
    body = {
        "id": _gen_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "provider": PROVIDER,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "logprobs": None,
                "finish_reason": finish,
                "native_finish_reason": finish,
                "message": message,
            }
        ],
        "usage": _usage(reasoning=len((reasoning or "").split())),
    }
    events = [(delay if i == 0 else padding_gap, PADDING) for i in range(padding)]
    events.append((padding_gap if padding else delay, json.dumps(body).encode()))
    return Reply(events=tuple(events), framing=framing)


def stream(
    pieces: list[str] | None = None,
    *,
    model: str = "openai/gpt-4o-mini",
    keepalives: int = 1,
    keepalive_gap: float = 0.0,
    first_delay: float = 0.0,
    gap: float = 0.0,
    reasoning: list[str] | None = None,
    reasoning_gap: float | None = None,
    framing: Framing = "chunked",
    cut_after: int | None = None,
    inband_error: dict[str, Any] | None = None,
    error_after: int = 1,
    finish: bool = True,
    done: bool = True,
    finish_reason: str = "stop",
    refusal: str | None = None,
) -> Reply:
    """An SSE stream: keep-alives, reasoning deltas, content ``pieces`` paced by ``gap``.

    ``cut_after=n`` closes the connection after n content chunks without ending the body;
    ``inband_error`` sends ``{"error": ...}`` after ``error_after`` content chunks and ends
    (HTTP 200 kept, ``finish_reason`` null, as on the wire); ``finish=False`` ends cleanly with
    no ``finish_reason``; ``refusal`` is sent as a ``delta.refusal`` chunk before any content.
    """
    pieces = ["Hello", " from", " the", " stand-in."] if pieces is None else pieces
    gen_id = _gen_id()
    events: list[tuple[float, bytes]] = []
    events += [(first_delay if i == 0 else keepalive_gap, KEEPALIVE) for i in range(keepalives)]
    for text in reasoning or []:
        delta = {
            "content": "",
            "role": "assistant",
            "reasoning": text,
            "reasoning_details": [
                {
                    "type": "reasoning.text",
                    "text": text,
                    "format": "anthropic-claude-v1",
                    "index": 0,
                }
            ],
        }
        events.append(
            (gap if reasoning_gap is None else reasoning_gap, _chunk(model, gen_id, delta))
        )
    if refusal is not None:
        delta = {"content": None, "role": "assistant", "refusal": refusal}
        events.append((first_delay if not events else gap, _chunk(model, gen_id, delta)))
    for i, text in enumerate(pieces):
        if inband_error is not None and i == error_after:
            err = _chunk(model, gen_id, {"content": ""}, None, error=inband_error)
            events.append((gap, err))
            return Reply(content_type="text/event-stream", events=tuple(events), framing=framing)
        if cut_after is not None and i == cut_after:
            return Reply(
                content_type="text/event-stream", events=tuple(events), framing=framing, abort="cut"
            )
        wait = first_delay if not events else gap
        events.append((wait, _chunk(model, gen_id, {"content": text, "role": "assistant"})))
    if finish:
        end = {"content": "", "role": "assistant"}
        events.append((0.0, _chunk(model, gen_id, end, finish_reason)))
        events.append(
            (
                0.0,
                _chunk(
                    model,
                    gen_id,
                    {"content": "", "role": "assistant"},
                    finish_reason,
                    usage=_usage(completion=len(pieces)),
                ),
            )
        )
    if done:
        events.append((0.0, b"data: [DONE]\n\n"))
    return Reply(content_type="text/event-stream", events=tuple(events), framing=framing)


def error(
    status: int,
    message: str = "Provider returned error",
    *,
    code: int | None = None,
    retry_after: float | None = None,
    metadata: dict[str, Any] | None = None,
    framing: Framing = "length",
) -> Reply:
    """OpenRouter's error body; ``status=200`` with ``code`` gives a 200 JSON error body."""
    err: dict[str, Any] = {"message": message, "code": code or status}
    if metadata is not None:
        err["metadata"] = metadata
    headers = (("Retry-After", f"{retry_after:g}"),) if retry_after is not None else ()
    body = json.dumps({"error": err, "user_id": "user_standin"}).encode()
    return Reply(status=status, events=((0.0, body),), framing=framing, headers=headers)


def hang(seconds: float = 30.0) -> Reply:
    """Accept the request and send nothing for ``seconds`` (or until the server stops)."""
    return Reply(status=0, hold=seconds)


def keepalive_only(
    seconds: float = 30.0,
    *,
    every: float = 0.2,
    framing: Framing = "chunked",
    whitespace: bool = False,
) -> Reply:
    """Headers, then only keep-alives (SSE comments, or JSON whitespace) for ``seconds``."""
    piece = PADDING if whitespace else KEEPALIVE
    count = max(1, int(seconds / every))
    events = tuple((0.0 if i == 0 else every, piece) for i in range(count))
    ctype = "application/json" if whitespace else "text/event-stream"
    return Reply(content_type=ctype, events=events, framing=framing, abort="cut")


def reset() -> Reply:
    """A TCP reset before any response byte."""
    return Reply(status=0, abort="reset")


def auto(text: str = "Hello from the stand-in.", *, framing: Framing | None = None) -> ReplyLike:
    """Answer as the request asks: a stream for ``stream: true``, else a completion."""

    def reply(body: dict[str, Any]) -> Reply:
        model = str(body.get("model", "unknown"))
        if body.get("stream"):
            words = text.split(" ")
            pieces = [w + " " for w in words[:-1]] + words[-1:]
            return stream(pieces, model=model, framing=framing or "chunked")
        return completion(text, model=model, framing=framing or "length")

    return reply


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 drops connects beyond it: a 1 s SYN retry
    owner: StandIn

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet about clients that went away (a client that gave up resets its connection)."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet: tests read ``StandIn.requests`` instead."""

    def do_GET(self) -> None:
        owner = self.server.owner
        body = json.dumps(owner.models_body).encode()
        self._send(Reply(events=((0.0, body),)))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        owner = self.server.owner
        had_key = (self.headers.get("Authorization") or "").strip() not in ("", "Bearer")
        seen = Seen(str(body.get("model", "")), bool(body.get("stream")), body, had_key)
        reply = owner.next_reply(seen)
        resolved = reply(body) if callable(reply) else reply
        self._send(resolved)

    def _send(self, reply: Reply) -> None:
        closing = self.server.owner.closing
        if reply.status == 0:
            if reply.abort == "reset":
                self._rst()
            else:
                closing.wait(reply.hold)
                self.close_connection = True
            return
        self._head(reply)
        try:
            for wait, data in reply.events:
                if wait and closing.wait(wait):
                    self.close_connection = True
                    return
                chunked = reply.framing == "chunked"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
                self.wfile.flush()
            if reply.hold:
                closing.wait(reply.hold)
            self._end(reply)
        except OSError:  # the client went away first
            self.close_connection = True

    def _head(self, reply: Reply) -> None:
        # A cut body declares more than it sends, as a real server that died mid-body would.
        total = sum(len(b) for _, b in reply.events) + (4096 if reply.abort == "cut" else 0)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers:
            self.send_header(name, value)
        if reply.framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        elif reply.framing == "length":
            self.send_header("Content-Length", str(total))
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.flush()

    def _end(self, reply: Reply) -> None:
        if reply.abort == "reset":
            self._rst()
        elif reply.abort == "cut":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif reply.framing == "chunked":
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def _rst(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


@dataclass
class StandIn:
    """A threaded stand-in server on 127.0.0.1; a context manager."""

    default: ReplyLike = field(default_factory=auto)
    models_body: dict[str, Any] = field(default_factory=lambda: {"data": []})
    requests: list[Seen] = field(default_factory=list)
    _scripts: dict[str, list[ReplyLike]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    closing: threading.Event = field(default_factory=threading.Event)
    _server: _Server | None = None
    _thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/api/v1``."""
        assert self._server is not None, "start the stand-in first (use it as a context manager)"
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/v1"

    def script(self, model: str, *replies: ReplyLike) -> None:
        """Queue ``replies`` for ``model`` (each used once, in order)."""
        with self._lock:
            self._scripts.setdefault(model, []).extend(replies)

    def clear(self) -> None:
        """Forget scripts and seen requests."""
        with self._lock:
            self._scripts.clear()
            self.requests.clear()

    def models_seen(self) -> list[str]:
        """Requested ``model`` of every request so far, in arrival order."""
        with self._lock:
            return [s.model for s in self.requests]

    def next_reply(self, seen: Seen) -> ReplyLike:
        """Record ``seen`` and pick its reply (the server's side)."""
        with self._lock:
            self.requests.append(seen)
            queue = self._scripts.get(seen.model)
            return queue.pop(0) if queue else self.default

    def __enter__(self) -> Self:
        self.closing.clear()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing.set()
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


FRAMINGS: tuple[Framing, ...] = ("chunked", "length", "close")
"""The three ways a real HTTP/1.1 server ends a body."""
