"""Each check of the suite fails on a store with the fault it looks for."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from hypothesis import Phase

from jamsession import generate_key
from jamsession.testing import (
    check_concurrent_operations,
    check_hostile_session_ids,
    check_logs_hold_no_secrets,
    check_shared_storage,
    run_store_state_machine,
)
from jamsession_memory import MemorySessions


class DeleteKeepsTheLastOfAKey(MemorySessions):
    async def remove_key_records(self, session_key: str) -> None:
        for raw_id in list(self._by_key.get(session_key, ()))[:-1]:
            self._drop(raw_id)


class ReworkRestartsTheExpiry(MemorySessions):
    async def move_record(
        self,
        raw_id: str,
        new_raw_id: str,
        now: float,
        *,
        session_key: str | None = None,
        blob: bytes | None = None,
    ) -> bool:
        record = self._live(raw_id, now)
        if record is None:
            return False
        self._drop(raw_id)
        moved = dataclasses.replace(record, raw_id=new_raw_id, expires_at=self._expiry(now))
        moved.session_key = record.session_key if session_key is None else session_key
        moved.blob = record.blob if blob is None else blob
        self._add(moved)
        return True


class PatchOverwrites(MemorySessions):
    """Swaps whatever the stored bytes are: a patch that lost a race overwrites the winner."""

    async def swap_record(
        self, raw_id: str, expected: bytes, blob: bytes, now: float, extend_to: float | None
    ) -> bool | None:
        return True if await self.replace_record(raw_id, blob, now, extend_to) else None


class WildcardLookup(MemorySessions):
    """Reads an ID with ``%`` in it as a LIKE pattern, as a careless SQL backend would."""

    async def fetch_record(self, raw_id: str, now: float, extend_to: float | None) -> bytes | None:
        if "%" in raw_id:
            prefix = raw_id.split("%", maxsplit=1)[0]
            for candidate in self._records:
                if candidate.startswith(prefix):
                    return await super().fetch_record(candidate, now, extend_to)
        return await super().fetch_record(raw_id, now, extend_to)


class ChokesOnNul(MemorySessions):
    async def remove_record(self, raw_id: str) -> None:
        if "\x00" in raw_id or len(raw_id) > 100:
            raise ValueError("the driver refused the value")
        await super().remove_record(raw_id)


class CheckThenMove(MemorySessions):
    """Checks, yields to the loop, then moves: two reworks can both pass the check."""

    async def move_record(
        self,
        raw_id: str,
        new_raw_id: str,
        now: float,
        *,
        session_key: str | None = None,
        blob: bytes | None = None,
    ) -> bool:
        record = self._live(raw_id, now)
        if record is None:
            return False
        await asyncio.sleep(0)
        self._records.pop(raw_id, None)
        self._add(
            dataclasses.replace(
                record,
                raw_id=new_raw_id,
                session_key=record.session_key if session_key is None else session_key,
                blob=record.blob if blob is None else blob,
            )
        )
        return True


class OverwritesWhatItCannotRead(MemorySessions):
    """Claims to check the data format, but ``update`` replaces whatever is stored."""

    async def replace_record(self, raw_id: str, blob: bytes, now: float, extend_to: float | None) -> bool:
        record = self._records.get(self._slot(raw_id))
        if record is None or record.raw_id != raw_id:
            return False
        record.blob = blob
        return True


class LogsTheToken(MemorySessions):
    async def get(self, session_id: str) -> dict[str, object] | None:
        self.logger.debug("looking up session %s", session_id)
        return await super().get(session_id)


def _opener(cls: type[MemorySessions]) -> contextlib.AbstractAsyncContextManager[MemorySessions]:
    @contextlib.asynccontextmanager
    async def open_store() -> AsyncIterator[MemorySessions]:
        async with cls() as store:
            yield store

    return open_store  # type: ignore[return-value]


@pytest.mark.parametrize("faulty", [DeleteKeepsTheLastOfAKey, ReworkRestartsTheExpiry])
def test_the_model_finds_a_divergence(faulty: type[MemorySessions]) -> None:
    with pytest.raises(AssertionError):
        run_store_state_machine(
            _opener(faulty),  # type: ignore[arg-type]
            max_examples=300,
            steps=30,
            derandomize=True,  # the same sequences every run: this test passes or fails for good
            phases=[Phase.generate],  # finding the divergence is what counts here, not shrinking it
        )


async def test_hostile_ids_find_a_wildcard_lookup() -> None:
    report = await check_hostile_session_ids(WildcardLookup(), count=2000)
    assert any("get returned session" in problem for problem in report.problems)


async def test_hostile_ids_find_a_raw_driver_error() -> None:
    report = await check_hostile_session_ids(ChokesOnNul(), count=2000)
    assert any("delete raised ValueError" in problem for problem in report.problems)


async def test_concurrency_finds_a_rework_with_two_winners() -> None:
    report = await check_concurrent_operations(CheckThenMove(), operations=200)
    assert any("concurrent reworks of one session won" in problem for problem in report.problems)


async def test_concurrency_finds_a_patch_that_overwrites() -> None:
    report = await check_concurrent_operations(PatchOverwrites(), operations=200)
    assert any("a patch was lost" in problem for problem in report.problems)


@pytest.mark.parametrize("crypt", [False, True])
async def test_logs_find_a_logged_token(crypt: bool) -> None:
    key = generate_key() if crypt else None
    store = LogsTheToken(is_session_crypt=crypt, session_aes_secret=key)
    report = await check_logs_hold_no_secrets(store, secret=key)
    assert ["session token found in a log record of 'jamsession' at DEBUG"] == report.problems
    assert report.records > 0


class PatchKeepsTheOldFormat(MemorySessions):
    """Writes a patch's data in its own format but leaves the record tagged as before."""

    async def swap_record(
        self, raw_id: str, expected: bytes, blob: bytes, now: float, extend_to: float | None
    ) -> bool | None:
        record = self._live(raw_id, now)
        data_format = None if record is None else record.data_format
        swapped = await super().swap_record(raw_id, expected, blob, now, extend_to)
        if swapped and record is not None:
            record.data_format = data_format
        return swapped


class ReworkWithDataKeepsTheOldFormat(MemorySessions):
    """Moves with new data but leaves the record tagged as before."""

    async def move_record(
        self,
        raw_id: str,
        new_raw_id: str,
        now: float,
        *,
        session_key: str | None = None,
        blob: bytes | None = None,
    ) -> bool:
        record = self._live(raw_id, now)
        data_format = None if record is None else record.data_format
        moved = await super().move_record(raw_id, new_raw_id, now, session_key=session_key, blob=blob)
        if moved:
            self._records[self._slot(new_raw_id)].data_format = data_format
        return moved


class MovesToAKeyWhatItCannotRead(MemorySessions):
    """Checks the data format, except in a move to another session key."""

    async def move_record(
        self,
        raw_id: str,
        new_raw_id: str,
        now: float,
        *,
        session_key: str | None = None,
        blob: bytes | None = None,
    ) -> bool:
        if session_key is None:
            return await super().move_record(raw_id, new_raw_id, now, blob=blob)
        readable = self.readable_formats
        record = self._records.get(self._slot(raw_id))
        if record is not None and record.data_format is not None:
            self.readable_formats = readable | {record.data_format}
        try:
            return await super().move_record(raw_id, new_raw_id, now, session_key=session_key, blob=blob)
        finally:
            self.readable_formats = readable


def _sharing(kind: type[MemorySessions]) -> Callable[..., AbstractAsyncContextManager[MemorySessions]]:
    """Opens stores of ``kind`` over the tables of the first one."""
    first = kind()

    @contextlib.asynccontextmanager
    async def open_shared(**options: Any) -> AsyncIterator[MemorySessions]:
        async with kind(**options) as store:
            store._records, store._slots, store._by_key = first._records, first._slots, first._by_key
            yield store

    return open_shared


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        (OverwritesWhatItCannotRead, "get returned None but update overwrote the session"),
        (
            PatchKeepsTheOldFormat,
            "patched under keys A and B, read under key A: "
            "get returned None but update overwrote the session",
        ),
        (
            ReworkWithDataKeepsTheOldFormat,
            "reworked with data under keys A and B, read under key B: get found nothing, "
            "although the data is under key B",
        ),
        (MovesToAKeyWhatItCannotRead, "get returned None but rework to another key moved the session"),
    ],
)
async def test_shared_storage_finds_a_store_that_mistakes_what_it_can_read(
    kind: type[MemorySessions], problem: str
) -> None:
    report = await check_shared_storage(_sharing(kind))
    assert [] != [found for found in report.problems if problem in found], report.problems[:5]
