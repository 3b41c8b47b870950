"""Emulator throughput: small non-streaming completions/s and 500 concurrent streams.

Run: ``LITELLM_LOCAL_MODEL_COST_MAP=True .venv/bin/python benchmarks/emulator_throughput.py``

The emulator runs in this process (its uvicorn thread, uvloop + httptools); the load
generator runs in a separate process (asyncio + httpx, ~50 keep-alive connections) so the
two do not share a GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import queue as queue_module
import re
import time

import httpx

from langchain_openrouter_fallback.emulator import Emulator

BODY = {"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
AUTH = {"Authorization": "Bearer bench"}


async def _completions(base_url: str, seconds: float, connections: int) -> tuple[int, int, float]:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    ok = errors = 0
    async with httpx.AsyncClient(
        base_url=base_url, headers=AUTH, limits=limits, timeout=30
    ) as client:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal ok, errors
            while time.perf_counter() < deadline:
                r = await client.post("/chat/completions", json=BODY)
                if r.status_code == 200:
                    ok += 1
                else:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(5)))  # warm-up connections
        ok = errors = 0
        deadline = time.perf_counter() + seconds
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return ok, errors, time.perf_counter() - start


async def _read_body(reader: asyncio.StreamReader, head: bytes) -> None:
    """Read one body off a keep-alive connection (``Content-Length`` or chunked framing)."""
    length = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
    if length is not None:
        await reader.readexactly(int(length.group(1)))
        return
    if not re.search(rb"transfer-encoding: chunked", head, re.IGNORECASE):
        msg = f"a body that ends with the connection cannot be kept alive: {head!r}"
        raise ValueError(msg)
    while True:  # OpenRouter (and the emulator) send JSON chunked while padding it
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        await reader.readexactly(size + 2)  # the chunk and its CRLF (the last: the end)
        if size == 0:
            return


async def _raw_completions(
    base_url: str, seconds: float, connections: int
) -> tuple[int, int, float]:
    """Same load from a minimal HTTP/1.1 keep-alive client (measures the server, not httpx)."""
    url = httpx.URL(base_url)
    payload = json.dumps(BODY).encode()
    request = (
        f"POST {url.path}/chat/completions HTTP/1.1\r\nHost: {url.host}\r\n"
        f"Authorization: Bearer bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    ok = errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal ok, errors
        reader, writer = await asyncio.open_connection(url.host, url.port)
        while time.perf_counter() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            await _read_body(reader, head)
            if head.startswith(b"HTTP/1.1 200"):
                ok += 1
            else:
                errors += 1
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return ok, errors, time.perf_counter() - start


async def _streams(base_url: str, count: int) -> tuple[int, float]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(
        base_url=base_url, headers=AUTH, limits=limits, timeout=60
    ) as client:
        opened = asyncio.Event()
        open_now = 0

        async def one() -> bool:
            nonlocal open_now
            async with client.stream(
                "POST", "/chat/completions", json={**BODY, "stream": True}
            ) as r:
                lines = r.aiter_lines()
                await anext(lines)  # first keep-alive: the stream is open
                open_now += 1
                if open_now == count:
                    opened.set()
                await opened.wait()  # hold every stream open at once
                rest = [line async for line in lines]
            return "data: [DONE]" in rest

        start = time.perf_counter()
        done = await asyncio.gather(*(one() for _ in range(count)))
        return sum(done), time.perf_counter() - start


def _load(
    base_url: str, mode: str, arg: float, connections: int, queue: multiprocessing.Queue
) -> None:
    if mode == "completions":
        queue.put(asyncio.run(_completions(base_url, arg, connections)))
    elif mode == "raw":
        queue.put(asyncio.run(_raw_completions(base_url, arg, connections)))
    else:
        queue.put(asyncio.run(_streams(base_url, int(arg))))


def _in_child(base_url: str, mode: str, arg: float, connections: int = 50) -> tuple:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_load, args=(base_url, mode, arg, connections, queue))
    proc.start()
    while True:  # a load generator that died must not leave the benchmark waiting forever
        try:
            result = queue.get(timeout=1)
        except queue_module.Empty:
            if not proc.is_alive():
                msg = f"the {mode} load generator exited with code {proc.exitcode}"
                raise RuntimeError(msg) from None
            continue
        proc.join()
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--streams", type=int, default=500)
    args = parser.parse_args()
    with Emulator(log_limit=1000) as emu:
        ok, errors, elapsed = _in_child(emu.base_url, "completions", args.seconds, args.connections)
        print(
            f"(a) non-streaming: {ok / elapsed:,.0f} completions/s "
            f"({ok} ok, {errors} errors, {args.connections} keep-alive connections, {elapsed:.1f}s)"
        )
        emu.clear_log()
        ok, errors, elapsed = _in_child(emu.base_url, "raw", args.seconds, args.connections)
        assert emu.wait_for_requests(ok, timeout=1), "server saw fewer requests than the client"
        print(
            f"(a') non-streaming, minimal raw HTTP/1.1 client: {ok / elapsed:,.0f} completions/s "
            f"({ok} ok, {errors} errors)"
        )
        completed, elapsed = _in_child(emu.base_url, "streams", args.streams)
        print(
            f"(b) streams: {completed}/{args.streams} concurrent streams completed with [DONE] in {elapsed:.2f}s"
        )


if __name__ == "__main__":
    main()
