"""Two stores on one storage, with other serializers or keys: one contract for both."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from jamsession._base import BaseAsyncSessionModule
from jamsession._crypto import generate_key
from jamsession._errors import JamSessionNotFound
from jamsession._registry import available_names

#: Opens a store with the given options over the same storage every time.
SharedStoreFactory = Callable[..., AbstractAsyncContextManager[BaseAsyncSessionModule]]


@dataclass
class SharedStorageReport:
    """What :func:`check_shared_storage` tried, and what did not hold.

    .. versionadded:: 0.1
    """

    pairs: int = 0
    checks: int = 0
    problems: list[str] = field(default_factory=list)

    def expect(self, condition: bool, problem: str) -> None:
        self.checks += 1
        if not condition:
            self.problems.append(problem)


def _setups(key_a: str, key_b: str) -> list[tuple[str, dict[str, Any]]]:
    """Store options that write data the others cannot all read, named for reports."""
    setups: list[tuple[str, dict[str, Any]]] = []
    for serializer in available_names("serializer"):
        setups.append((f"{serializer}, crypt off", {"serializer": serializer}))
        for label, secret in (("key A", key_a), ("keys A and B", [key_a, key_b]), ("key B", key_b)):
            crypt = {"serializer": serializer, "is_session_crypt": True, "session_aes_secret": secret}
            setups.append((f"{serializer}, crypt on, {label}", crypt))
    return setups


async def check_shared_storage(open_store: SharedStoreFactory) -> SharedStorageReport:
    """Stores sharing one storage: ``update`` and ``rework`` fail exactly when ``get`` finds nothing.

    ``open_store(**options)`` opens a store with the given serializer and
    crypt options over the same storage each time it is called. For every
    ordered pair of setups (every installed serializer; crypt off, and on
    under a key A, keys A and B, and key B alone), one store writes a session
    and another is handed its token: whenever that ``get`` returns ``None``,
    its ``update`` and ``rework`` must raise :class:`JamSessionNotFound` and
    leave the session as it was; whenever ``get`` returns the data, ``update``
    must work. A session reworked under keys A and B keeps its data under key
    A with a token under key B, so a store with key B alone can open the token
    but not the data: that case is tried too.

    It needs no capability beyond Jam's six methods. Where the stores declare
    ``supports_entries``, the same holds for the store features: ``load``
    returns ``None`` exactly when ``get`` does, and then ``patch`` and
    ``rework`` to another key or with new data raise
    :class:`JamSessionNotFound` and change nothing. Data rewritten by
    ``patch`` or ``rework(data=...)`` under keys A and B is under key B, and
    stores tell so: one with key A alone, which still opens a patched
    session's token, must refuse to overwrite it; one with key B alone reads
    a session reworked with new data.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
       The store features, where the stores declare ``supports_entries``.
    """
    report = SharedStorageReport()
    key_a, key_b = generate_key(), generate_key()
    setups = _setups(key_a, key_b)
    for writer in setups:
        for reader in setups:
            if reader[0] != writer[0]:
                await _check_pair(open_store, report, writer, reader)
    for serializer in available_names("serializer"):
        crypt = {"serializer": serializer, "is_session_crypt": True}
        await _check_pair(
            open_store,
            report,
            (f"{serializer}, crypt on, key A", dict(crypt, session_aes_secret=key_a)),
            (f"{serializer}, crypt on, key B", dict(crypt, session_aes_secret=key_b)),
            rework_with=dict(crypt, session_aes_secret=[key_a, key_b]),
        )
        await _check_rewrites(open_store, report, serializer, key_a, key_b)
    return report


async def _check_pair(
    open_store: SharedStoreFactory,
    report: SharedStorageReport,
    writer: tuple[str, dict[str, Any]],
    reader: tuple[str, dict[str, Any]],
    rework_with: dict[str, Any] | None = None,
) -> None:
    (writer_name, writer_options), (reader_name, reader_options) = writer, reader
    report.pairs += 1
    reworked = ", reworked under keys A and B" if rework_with else ""
    pair = f"written by ({writer_name}{reworked}), read by ({reader_name})"
    written = {"by": writer_name}
    async with open_store(**writer_options) as store:
        token = await store.create("alice", written)
    if rework_with is not None:
        async with open_store(**rework_with) as store:
            token = await store.rework(token)
    async with open_store(**reader_options) as store:
        seen = await store.get(token)
        report.expect(seen in (None, written), f"{pair}: get returned other data")
        updated = await _succeeds(store.update(token, {"by": reader_name}))
        report.expect(
            updated == (seen is not None),
            f"{pair}: get returned {'None' if seen is None else 'the data'} but update "
            f"{'overwrote the session' if updated else 'raised JamSessionNotFound'}",
        )
        if getattr(store, "supports_entries", False):
            await _check_entries(store, report, pair, token, seen=seen, reader_name=reader_name)
        if seen is None:
            report.expect(
                not await _succeeds(store.rework(token)),
                f"{pair}: get returned None but rework moved the session",
            )
    if seen is None:
        async with open_store(**(rework_with or writer_options)) as store:
            report.expect(written == await store.get(token), f"{pair}: the session changed or was lost")


async def _check_entries(
    store: Any, report: SharedStorageReport, pair: str, token: str, *, seen: object, reader_name: str
) -> None:
    """``load``, ``patch`` and ``rework`` with a key or data agree with what ``get`` found."""
    entry = await store.load(token)
    report.expect(
        (entry is None) == (seen is None),
        f"{pair}: get returned {'None' if seen is None else 'the data'} but load "
        f"returned {'None' if entry is None else 'an entry'}",
    )
    if seen is None:
        report.expect(
            not await _succeeds(store.patch(token, {"patched by": reader_name})),
            f"{pair}: get returned None but patch changed the session",
        )
        report.expect(
            not await _succeeds(store.rework(token, data={"by": reader_name})),
            f"{pair}: get returned None but rework with new data moved the session",
        )
        report.expect(
            not await _succeeds(store.rework(token, session_key="mallory")),
            f"{pair}: get returned None but rework to another key moved the session",
        )
    else:
        report.expect(
            await _succeeds(store.patch(token, {"patched by": reader_name})),
            f"{pair}: get returned the data but patch raised JamSessionNotFound",
        )


async def _check_rewrites(
    open_store: SharedStoreFactory, report: SharedStorageReport, serializer: str, key_a: str, key_b: str
) -> None:
    """Data rewritten under keys A and B by ``patch`` or ``rework(data=...)`` is known to be under key B."""
    crypt = {"serializer": serializer, "is_session_crypt": True}
    only_a, only_b = dict(crypt, session_aes_secret=key_a), dict(crypt, session_aes_secret=key_b)
    both = dict(crypt, session_aes_secret=[key_a, key_b])
    async with open_store(**only_a) as store:
        if not getattr(store, "supports_entries", False):
            return
        token = await store.create("alice", {"by": "key A"})
        moved = await store.create("alice", {"by": "key A"})
    # A patch keeps the token (under key A) and writes the data under key B.
    report.pairs += 1
    pair = f"{serializer}, written under key A, patched under keys A and B, read under key A"
    patched = {"by": "key A", "patched": True}
    async with open_store(**both) as store:
        await _entries(store).patch(token, {"patched": True})
    async with open_store(**only_a) as store:
        seen = await store.get(token)
        report.expect(seen is None, f"{pair}: get read data under a key it does not hold")
        report.expect(
            not await _succeeds(store.update(token, {"by": "key A again"})),
            f"{pair}: get returned None but update overwrote the session",
        )
        report.expect(
            not await _succeeds(_entries(store).patch(token, {"by": "key A again"})),
            f"{pair}: get returned None but patch changed the session",
        )
    async with open_store(**both) as store:
        report.expect(patched == await store.get(token), f"{pair}: the session changed or was lost")
    # A rework with new data makes a token and data under key B.
    report.pairs += 1
    pair = f"{serializer}, written under key A, reworked with data under keys A and B, read under key B"
    async with open_store(**both) as store:
        moved = await _entries(store).rework(moved, data={"by": "keys A and B"})
    async with open_store(**only_b) as store:
        report.expect(
            {"by": "keys A and B"} == await store.get(moved),
            f"{pair}: get found nothing, although the data is under key B",
        )


def _entries(store: BaseAsyncSessionModule) -> Any:
    """A store that declares ``supports_entries``, typed loosely: its class adds those methods."""
    return store


async def _succeeds(call: Awaitable[Any]) -> bool:
    try:
        await call
    except JamSessionNotFound:
        return False
    return True
