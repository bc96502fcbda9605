"""Secrets hygiene: a full workload with logging at DEBUG, and nothing secret in what it leaves behind."""

from __future__ import annotations

import base64
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from typing import Any

from jamsession._base import BaseAsyncSessionModule
from jamsession._crypto import SecretInput, parse_secret
from jamsession.testing._clock import FakeClock


@dataclass
class LogReport:
    """What :func:`check_logs_hold_no_secrets` ran and captured, and every secret found in it.

    ``records`` counts the log records captured from every logger;
    ``errors`` the exceptions the workload raised on purpose, whose messages
    are checked too.

    .. versionadded:: 0.1
    """

    operations: int = 0
    records: int = 0
    errors: int = 0
    problems: list[str] = field(default_factory=list)


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def _debug_logging() -> Iterator[_Capture]:
    """Every logger at DEBUG, each record kept; the previous levels come back afterwards."""
    capture = _Capture()
    root, library = logging.getLogger(), logging.getLogger("jamsession")
    saved = root.level, library.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    library.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(saved[0])
        library.setLevel(saved[1])


def _record_text(record: logging.LogRecord) -> str:
    parts = [record.name, record.getMessage(), record.stack_info or ""]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


def _error_text(error: BaseException) -> str:
    parts = []
    seen: BaseException | None = error
    while seen is not None:
        parts += [str(seen), repr(seen), repr(seen.args)]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


def _key_forms(secret: SecretInput | None) -> list[tuple[str, str]]:
    forms = []
    for raw in parse_secret(secret):
        forms += [
            ("key (base64)", base64.urlsafe_b64encode(raw).decode().rstrip("=")),
            ("key (standard base64)", base64.standard_b64encode(raw).decode().rstrip("=")),
            ("key (hex)", raw.hex()),
            ("key (bytes)", repr(raw)[2:-1]),
        ]
    return forms


class _Workload:
    """Every operation of the contract, the failing ones included, remembering what is secret."""

    def __init__(self, store: BaseAsyncSessionModule, report: LogReport) -> None:
        self.store = store
        self.report = report
        self.errors: list[BaseException] = []
        self.secrets: list[tuple[str, str]] = []

    def marker(self) -> str:
        value = f"private-{secrets.token_hex(8)}"
        self.secrets.append(("session data", value))
        return value

    def remember(self, token: str) -> str:
        # With crypt off the raw ID is the token. With crypt on the raw ID alone
        # cannot be replayed (a client must present it encrypted), so it is not a secret.
        self.secrets.append(("session token", token))
        return token

    async def call(self, operation: Awaitable[Any]) -> Any:
        self.report.operations += 1
        try:
            return await operation
        except Exception as exc:  # noqa: BLE001 - the failures are part of the workload; their text is checked
            self.errors.append(exc)
            return None

    async def run(self) -> None:
        store = self.store
        tokens = [self.remember(await store.create("alice", {"note": self.marker()})) for _ in range(6)]
        for token in tokens:
            await self.call(store.get(token))
            await self.call(store.update(token, {"note": self.marker(), "list": [self.marker()]}))
        reworked = self.remember(await store.rework(tokens[0]))
        await self.call(store.get(reworked))
        await self.call(store.delete(tokens[1]))
        for dead in (tokens[0], tokens[1]):
            await self.call(store.get(dead))
            await self.call(store.update(dead, {"note": self.marker()}))
            await self.call(store.rework(dead))
        await self.call(store.update(tokens[2], {"note": self.marker(), "handle": object()}))
        await self.call(store.create("alice", {"note": self.marker(), "handle": object()}))
        for hostile in (tokens[3][:-2], tokens[3] + "x", tokens[3].swapcase(), tokens[3][::-1]):
            await self.call(store.get(hostile))
            await self.call(store.update(hostile, {"note": self.marker()}))
            await self.call(store.rework(hostile))
            await self.call(store.delete(hostile))
        if store.supports_listing:
            await self.call(store.list_sessions("alice"))  # type: ignore[attr-defined]
        if getattr(store, "supports_entries", False):
            await self.entries(tokens[4], tokens[0])
        await self.expire()
        await self.call(store.clear("alice"))
        for token in tokens:
            await self.call(store.get(token))

    async def entries(self, live: str, dead: str) -> None:
        store: Any = self.store
        entry = await self.call(store.load(live))
        await self.call(store.patch(live, {"note": self.marker()}, ["list"], expected=entry))
        await self.call(store.patch(live, {"handle": object()}))
        await self.call(store.patch(dead, {"note": self.marker()}))
        await self.call(store.load(dead))
        moved = await self.call(store.rework(live, session_key="bob", data={"note": self.marker()}))
        if moved is not None:
            self.remember(moved)
        await self.call(store.rework(dead, session_key="bob", data={"note": self.marker()}))
        for info in await self.call(store.list_sessions("bob")) or ():
            await self.call(store.revoke("bob", info.handle))

    async def expire(self) -> None:
        if not self.store.supports_ttl:
            return
        settings: Any = self.store
        saved = settings.clock, settings.default_ttl
        clock = settings.clock = FakeClock()
        settings.default_ttl = 60
        try:
            token = self.remember(await self.store.create("alice", {"note": self.marker()}))
            clock.advance(61)
            await self.call(self.store.get(token))
            await self.call(self.store.update(token, {"note": self.marker()}))
            if self.store.supports_purge:
                await self.call(self.store.purge_expired())  # type: ignore[attr-defined]
        finally:
            settings.clock, settings.default_ttl = saved


async def check_logs_hold_no_secrets(
    store: BaseAsyncSessionModule, *, secret: SecretInput | None = None
) -> LogReport:
    """Run every operation on ``store`` with all logging at DEBUG; look for secrets in the records.

    Tokens, session data and key material (``secret``, the
    key the store was built with, in every common spelling) must appear
    neither in any log record, from any logger, nor in the text of any
    exception the workload raises (failed updates, unstorable data, hostile
    IDs). Records from every logger count: a driver logging its queries at
    DEBUG would put session IDs in an application's logs.

    .. versionadded:: 0.1
    """
    report = LogReport()
    workload = _Workload(store, report)
    with _debug_logging() as capture:
        await workload.run()
    texts = [(f"log record of {r.name!r} at {r.levelname}", _record_text(r)) for r in capture.records]
    texts += [(f"{type(e).__name__} raised to the caller", _error_text(e)) for e in workload.errors]
    report.records, report.errors = len(capture.records), len(workload.errors)
    for kind, value in workload.secrets + _key_forms(secret):
        for where, text in texts:
            if value in text:
                found = f"{kind} found in a {where}"
                if found not in report.problems:
                    report.problems.append(found)
    return report
