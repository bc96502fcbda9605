"""The Starlette apps of the HTTP benchmark called as ASGI in this process, with no server around them.

What a request costs each session layer without the server's share, which
is the same for every subject and narrows the gaps over HTTP, and how much
of jamsession's cost is the store's ``load`` (timed alone on the same store
and sessions) rather than the web layer around it. The same load as
:mod:`benchmarks.web_http`: each request carries a random one of the live
sessions' cookies and reads its session; one in ten changes a key. Each
figure is the best of several batches.

Run with ``python -m benchmarks.web_asgi [--smoke]``; it prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from benchmarks._web_apps import build

SUBJECTS = (
    "none",
    "starlette-signed",
    "starsessions-memory",
    "jamsession-memory",
    "jamsession-sqlite",
    "jamsession-sqlite-crypt",
    "sqlite-floor",
)
#: Live sessions, requests per batch, batches: (full, smoke).
SIZES = {"full": (10_000, 20_000, 7), "smoke": (50, 100, 2)}

Message = MutableMapping[str, Any]


async def _request(app: Any, path: str, cookie: bytes | None) -> list[Message]:
    target, _, query = path.partition("?")
    headers = [(b"host", b"bench")] + ([(b"cookie", cookie)] if cookie else [])
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": target,
        "raw_path": target.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def _cookie(sent: list[Message]) -> bytes | None:
    for name, value in sent[0].get("headers", ()):
        if name == b"set-cookie":
            return bytes(value).split(b";", 1)[0]
    return None


async def _best(batch: Callable[[], Awaitable[int]], batches: int) -> float:
    """Microseconds per call of the best batch."""
    best = float("inf")
    for _ in range(batches):
        started = time.perf_counter()
        calls = await batch()
        best = min(best, (time.perf_counter() - started) / calls)
    return best * 1e6


async def measure(subject: str, workdir: Path, size: str) -> tuple[float, float | None]:
    """µs per request of ``subject``, and µs per ``load`` of its store (jamsession subjects)."""
    live, requests, batches = SIZES[size]
    app = build(subject, workdir, None)
    cookies = [_cookie(await _request(app, f"/new?n={n}", None)) for n in range(live)]
    rng = random.Random(7)  # noqa: S311 - which cookie a request carries, not a secret
    load = [(rng.choice(cookies), rng.random() < 0.1) for _ in range(requests)]

    async def serve() -> int:
        for cookie, writes in load:
            await _request(app, "/write" if writes else "/read", cookie)
        return len(load)

    per_request = await _best(serve, batches)
    store = _store_of(app)
    if store is None:
        return per_request, None
    tokens = [cookie.split(b"=", 1)[1].decode() for cookie, _ in load if cookie]

    async def loads() -> int:
        for token in tokens:
            await store.load(token)
        return len(tokens)

    per_load = await _best(loads, batches)
    await store.aclose()
    return per_request, per_load


def _store_of(app: Any) -> Any:
    for middleware in app.user_middleware:
        config = middleware.kwargs.get("config")
        if config is not None:
            return config.store
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.web_asgi", description=__doc__)
    parser.add_argument("--smoke", action="store_const", dest="size", const="smoke", default="full")
    args = parser.parse_args(argv)
    lines = [
        "| subject | µs/request | over no sessions | of which the store's load |",
        "|---|---:|---:|---:|",
    ]
    baseline = None
    with tempfile.TemporaryDirectory(prefix="jamsession-web-asgi-") as workdir:
        for subject in SUBJECTS:
            per_request, per_load = asyncio.run(measure(subject, Path(workdir), args.size))
            baseline = per_request if baseline is None else baseline
            load = "" if per_load is None else f"{per_load:.1f}"
            lines.append(f"| {subject} | {per_request:.1f} | {per_request - baseline:.1f} | {load} |")
            print(lines[-1], file=sys.stderr, flush=True)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
