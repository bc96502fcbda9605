"""A child process for the multi-process tests: ``python sqlite_worker.py MODE PATH [ARG]``.

``share NAME CONTESTED``  a mixed load on a file other processes use at the same
                          time, plus one rework of each ID in the JSON list
                          CONTESTED; prints a JSON report and exits.
``patch NAME TOKENS``     patches each session of the JSON list TOKENS ten times,
                          one new top-level key each, while other processes do the
                          same, then moves each to session key NAME; prints the
                          patches that returned and the moves it won as JSON.
                          Makes PATH.ready-NAME, then starts once PATH.go exists.
``acks``                  writes until killed, printing one line per operation
                          that has returned: ``<id> <version>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from typing import Any

from jamsession import JamSessionNotFound
from jamsession_sqlite import SqliteSessions


async def share(path: str, name: str, contested: list[str]) -> dict[str, Any]:
    errors: list[str] = []
    live: dict[str, Any] = {}
    wins: dict[str, str] = {}

    async def session_life(worker: int) -> None:
        for i in range(12):
            key = f"{name}-{worker}"
            data = {"name": name, "worker": worker, "i": i}
            session_id = await store.create(key, data)
            if await store.get(session_id) != data:
                errors.append(f"read back other data for {key} #{i}")
            data = {**data, "updated": True}
            await store.update(session_id, data)
            session_id = await store.rework(session_id)
            if i % 3 == 0:
                await store.delete(session_id)
            else:
                live[session_id] = data

    async def contest(session_id: str) -> None:
        with contextlib.suppress(JamSessionNotFound):
            wins[session_id] = await store.rework(session_id)

    async def guarded(coroutine: Any) -> None:
        try:
            await coroutine
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the test
            errors.append(f"{type(exc).__name__}: {exc}")

    async with SqliteSessions(path=path) as store:
        await asyncio.gather(
            *(guarded(session_life(worker)) for worker in range(20)),
            *(guarded(contest(session_id)) for session_id in contested),
        )
    return {"errors": errors, "live": live, "wins": wins}


def start_together(path: str, name: str) -> None:
    """Say this process is up, and wait for the parent's word that all are."""
    with open(f"{path}.ready-{name}", "w"):
        pass
    while not os.path.exists(f"{path}.go"):
        time.sleep(0.005)


async def patch(path: str, name: str, tokens: list[str]) -> dict[str, Any]:
    errors: list[str] = []
    patched: dict[str, list[str]] = {token: [] for token in tokens}
    wins: dict[str, str] = {}

    async def patch_one(token: str) -> None:
        entry = await store.load(token)
        for i in range(10):
            key = f"{name}-{i}"
            try:
                entry = await store.patch(token, {key: i}, expected=entry)
            except JamSessionNotFound:
                return  # moved away by another process: refused, and so not written
            except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the test
                errors.append(f"{type(exc).__name__}: {exc}")
                return
            patched[token].append(key)

    async def move(token: str) -> None:
        with contextlib.suppress(JamSessionNotFound):
            wins[token] = await store.rework(token, session_key=name)

    async with SqliteSessions(path=path) as store:
        await asyncio.to_thread(start_together, path, name)
        await asyncio.gather(*(patch_one(token) for token in tokens))
        await asyncio.gather(*(move(token) for token in tokens))
    return {"errors": errors, "patched": patched, "wins": wins}


async def acks(path: str) -> None:
    async def writer(worker: int) -> None:
        while True:
            session_id = await store.create(f"w{worker}", {"version": 0})
            os.write(1, f"{session_id} 0\n".encode())
            for version in range(1, 6):
                await store.update(session_id, {"version": version})
                # One write() per line: a kill never leaves half of one.
                os.write(1, f"{session_id} {version}\n".encode())

    async with SqliteSessions(path=path) as store:
        await asyncio.gather(*(writer(worker) for worker in range(20)))


def main() -> None:
    mode, path, *rest = sys.argv[1:]
    if mode == "share":
        name, contested = rest
        report = asyncio.run(share(path, name, json.loads(contested)))
        print(json.dumps(report))
    elif mode == "patch":
        name, tokens = rest
        print(json.dumps(asyncio.run(patch(path, name, json.loads(tokens)))))
    elif mode == "acks":
        asyncio.run(acks(path))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
