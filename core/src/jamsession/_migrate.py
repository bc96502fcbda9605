"""``migrate``: copy every live session of one store into another, resumably."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from jamsession import _codec
from jamsession._base import BaseAsyncSessionModule
from jamsession._crypto import PURPOSE_DATA, PURPOSE_ID
from jamsession._errors import (
    DuplicateSessionIdError,
    InvalidSessionToken,
    MigrationConflictError,
    SerializationError,
    UnreadableSessionError,
    UnsupportedOperationError,
)
from jamsession._record import RecordSessionModule, StoredSession
from jamsession._scanning import NoProgress, Progress, batches, run_bounded, scanning_store

#: Stored times may be rounded to the millisecond (MongoDB's dates): closer than this is equal.
_TIME_TOLERANCE = 0.0015
#: How many copied sessions the verification reads back from both stores.
SPOT_CHECKS = 64
_PROBE = "jamsession-migrate-probe"


@dataclass(frozen=True, slots=True)
class Verification:
    """The final check of a migration: both stores counted, a sample read back from both.

    ``ok`` when the target holds at least as many live sessions as the
    source, and every sampled session reads the same on both sides.

    .. versionadded:: 0.3
    """

    source_live: int
    target_live: int
    checked: int
    mismatched: int

    @property
    def ok(self) -> bool:
        return self.target_live >= self.source_live and self.mismatched == 0


@dataclass(slots=True)
class MigrationReport:
    """What :func:`migrate` did (or, with ``dry_run``, would do). Holds no ID, token or data.

    Attributes:
        scanned: Records read from the source, expired ones included.
        expired: Expired records of the source, left behind.
        copied: Sessions written to the target. A backend whose insert takes an identical
            resend as done (Redis) counts an earlier run's copies here, not in ``present``.
        present: Sessions the target already held, identical (an earlier run's copies).
        updated: Sessions an earlier run copied and the source changed since, copied again
            (``update=True``).
        new_ids: Copied sessions the target keeps under an ID of its own form: their
            clients' tokens do not work on the target (see :meth:`RecordSessionModule.adopt_raw_id`).
        tokens_kept: Whether the target reads the tokens the source handed out (crypt on or off
            alike, and the target holds every key of the source). When ``False``, ``token_note``
            says why, and every client logs in again.
        verification: The final check, unless turned off.

    .. versionadded:: 0.3
    """

    dry_run: bool
    tokens_kept: bool
    token_note: str
    scanned: int = 0
    expired: int = 0
    copied: int = 0
    present: int = 0
    updated: int = 0
    new_ids: int = 0
    verification: Verification | None = None

    @property
    def carried(self) -> int:
        """Live sessions of the source now in the target (copied, present or updated)."""
        return self.copied + self.present + self.updated


async def migrate(
    source: BaseAsyncSessionModule,
    target: BaseAsyncSessionModule,
    *,
    dry_run: bool = False,
    update: bool = False,
    verify: bool = True,
    progress: Progress | None = None,
    batch_size: int | None = None,
    concurrency: int = 64,
) -> MigrationReport:
    """Copy every live session of ``source`` into ``target``, keeping its key, data and times.

    Each session keeps its raw ID where the target's form of IDs allows
    (:meth:`~jamsession.RecordSessionModule.adopt_raw_id`), so the tokens
    clients hold stay valid when both stores also share crypt and keys
    (:attr:`MigrationReport.tokens_kept`). The data is re-encoded for the
    target's serializer and encrypted under its newest key when needed.

    Idempotent and resumable: a session the target already holds identical
    is skipped, so a run interrupted at any point (Ctrl-C) is finished by
    running it again. The source is read in batches (constant memory) and
    never written::

        async with jamsession.open("sqlite", path="old.db") as old, jamsession.open(
            "redis", url="redis://cache:6379/0"
        ) as new:
            report = await migrate(old, new)
            assert report.verification.ok

    Args:
        dry_run: Read both stores and count what would be copied; write nothing.
        update: Copy over a target's session that an earlier run copied and
            the source changed since (same session key and creation time);
            without it, that is a :class:`MigrationConflictError`.
        verify: After copying, count the live sessions of both stores and
            read a sample of the copied ones back from both.
        progress: Told of each batch (a progress bar).
        batch_size: Records read from the source at a time (default: its
            :attr:`~jamsession.RecordSessionModule.scan_batch_size`).
        concurrency: Writes to the target in flight at a time.

    Raises:
        UnsupportedOperationError: a store without ``supports_scan`` (source)
            or ``supports_entries`` (target).
        UnreadableSessionError: a source session its own keys or serializer
            cannot read; names its session key. Nothing of it was written.
        MigrationConflictError: the target holds a different session under
            a copied session's ID; names the session key.

    .. versionadded:: 0.3
    """
    reading = scanning_store(source, "migrate (its source)")
    writing = _target(target)
    if verify and not dry_run:
        scanning_store(writing, "migrate's verification (its target)")
    progress = progress or NoProgress()
    reason = _token_incompatibility(reading, writing)
    report = MigrationReport(dry_run=dry_run, tokens_kept=reason is None, token_note=reason or "")
    transcode = _transcoder(reading, writing)
    # Raw IDs (tokens, with crypt off) of the sessions to read back: kept here, never in the report.
    sample: list[tuple[str, str]] = []
    rng = random.Random()  # noqa: S311 - picks which copies to check, guards nothing

    async def carry(record: StoredSession) -> str:
        new_id = writing.adopt_raw_id(record.raw_id, record.session_key)
        blob = transcode(record)
        copy = StoredSession(new_id, record.session_key, blob, record.created_at, record.expires_at)
        now = writing.clock()
        if dry_run:
            existing = await writing.fetch_full_record(new_id, now, None)
            if existing is None:
                return "copied"
            return _settle(reading, writing, record, existing, update)
        try:
            await writing.insert_record(copy)
        except DuplicateSessionIdError:
            existing = await writing.fetch_full_record(new_id, now, None)
            if existing is None:
                # An expired record of the target's, not yet removed, holds the ID.
                raise MigrationConflictError(record.session_key, same_session=False) from None
            outcome = _settle(reading, writing, record, existing, update)
            if outcome == "updated":
                extend_to = record.expires_at
                if not await writing.replace_record(new_id, blob, now, extend_to):
                    raise MigrationConflictError(record.session_key, same_session=True) from None
            return outcome
        return "copied"

    async for batch in batches(reading, progress, "migrate", batch_size):
        now = reading.clock()
        live = [r for r in batch if r.expires_at is None or r.expires_at > now]
        report.scanned += len(batch)
        report.expired += len(batch) - len(live)
        outcomes = await run_bounded(carry, live, concurrency)
        for record, outcome in zip(live, outcomes, strict=True):
            setattr(report, outcome, getattr(report, outcome) + 1)
            new_id = writing.adopt_raw_id(record.raw_id, record.session_key)
            if new_id != record.raw_id:
                report.new_ids += 1
            # Reservoir sampling: a uniform sample of the carried sessions, in constant memory.
            seen = report.carried
            if len(sample) < SPOT_CHECKS:
                sample.append((record.raw_id, new_id))
            elif (slot := rng.randrange(seen)) < SPOT_CHECKS:
                sample[slot] = (record.raw_id, new_id)
    if verify and not dry_run:
        report.verification = await _verify(reading, writing, sample, progress, batch_size)
    return report


def _target(store: BaseAsyncSessionModule) -> RecordSessionModule:
    if not isinstance(store, RecordSessionModule) or not store.supports_entries:
        raise UnsupportedOperationError(
            f"migrate needs a target that declares supports_entries; {type(store).__name__} does not"
        )
    return store


def _token_incompatibility(source: RecordSessionModule, target: RecordSessionModule) -> str | None:
    """Why the target would not read the source's tokens, or ``None`` when it does."""
    if source.is_session_crypt != target.is_session_crypt:
        return "crypt is on in one store and off in the other, so tokens differ in form"
    if not source.is_session_crypt:
        return None
    target_ring = target._require_keyring()
    for sealed in source._require_keyring().encrypt_under_each(_PROBE.encode(), PURPOSE_ID):
        try:
            target_ring.decrypt(sealed, PURPOSE_ID)
        except InvalidSessionToken:
            return "the target's session_aes_secret lacks a key of the source's"
    return None


def _same_serializer(source: RecordSessionModule, target: RecordSessionModule) -> bool:
    # Two instances of one class may be set up differently: only one object, or one class, is sure.
    return source.serializer is target.serializer


def _transcoder(source: RecordSessionModule, target: RecordSessionModule) -> Callable[[StoredSession], bytes]:
    """Source blob to target blob: as it is when both encode alike, else decoded and encoded again."""
    same = _same_serializer(source, target)
    if same and not source.is_session_crypt and not target.is_session_crypt:
        return lambda record: record.blob
    source_ring = source._require_keyring() if source.is_session_crypt else None
    target_ring = target._require_keyring() if target.is_session_crypt else None

    def transcode(record: StoredSession) -> bytes:
        try:
            if not same:
                data = _codec.load_data(source.serializer, source_ring, record.blob)
                return _codec.dump_data(target.serializer, target_ring, data)
            plain = record.blob if source_ring is None else source_ring.decrypt(record.blob, PURPOSE_DATA)
        except (InvalidSessionToken, SerializationError) as exc:
            raise UnreadableSessionError(record.session_key, str(exc)) from None
        # Encrypted afresh under the target's newest key.
        return plain if target_ring is None else target_ring.encrypt(plain, PURPOSE_DATA)

    return transcode


def _settle(
    source: RecordSessionModule,
    target: RecordSessionModule,
    record: StoredSession,
    existing: StoredSession,
    update: bool,
) -> str:
    """What to do about a record the target already holds under the copied ID."""
    same_session = existing.session_key == record.session_key and _close(
        existing.created_at, record.created_at
    )
    if same_session and _same_content(source, target, record, existing):
        return "present"
    if same_session and update:
        return "updated"
    raise MigrationConflictError(record.session_key, same_session=same_session)


def _same_content(
    source: RecordSessionModule, target: RecordSessionModule, record: StoredSession, existing: StoredSession
) -> bool:
    if existing.expires_at is None or record.expires_at is None:
        if existing.expires_at != record.expires_at:
            return False
    elif not _close(existing.expires_at, record.expires_at):
        return False
    if existing.blob == record.blob:
        return True
    try:
        return source._load_data(record.blob) == target._load_data(existing.blob)
    except SerializationError:
        return False


def _close(first: float, second: float) -> bool:
    return abs(first - second) <= _TIME_TOLERANCE


async def _verify(
    source: RecordSessionModule,
    target: RecordSessionModule,
    sample: list[tuple[str, str]],
    progress: Progress,
    batch_size: int | None,
) -> Verification:
    source_live = await _count_live(source, progress, "verify source", batch_size)
    target_live = await _count_live(target, progress, "verify target", batch_size)
    mismatched = 0
    # A source without whole-record reads is counted, not sampled.
    if not source.supports_entries:
        sample = []
    for raw_id, new_id in sample:
        original = await source.fetch_full_record(raw_id, source.clock(), None)
        copy = await target.fetch_full_record(new_id, target.clock(), None)
        if original is None:
            continue  # ended in the source since: nothing to compare
        if (
            copy is None
            or copy.session_key != original.session_key
            or not _close(copy.created_at, original.created_at)
            or not _same_content(source, target, original, copy)
        ):
            mismatched += 1
    return Verification(source_live, target_live, len(sample), mismatched)


async def _count_live(
    store: RecordSessionModule, progress: Progress, label: str, batch_size: int | None
) -> int:
    live = 0
    async for batch in batches(store, progress, label, batch_size):
        now = store.clock()
        live += sum(1 for r in batch if r.expires_at is None or r.expires_at > now)
    return live
