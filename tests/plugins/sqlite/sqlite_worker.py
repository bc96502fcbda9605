"""A child process for the multi-process tests: ``python sqlite_worker.py MODE PATH [ARG]``.

``share NAME CONTESTED``  a mixed load on a file other processes use at the same
                          time, plus one rework of each ID in the JSON list
                          CONTESTED; prints a JSON report and exits.
``acks``                  writes until killed, printing one line per operation
                          that has returned: ``<id> <version>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
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
    elif mode == "acks":
        asyncio.run(acks(path))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
