"""``rekey``: re-encrypt every stored session's data under the newest key, while the app serves."""

from __future__ import annotations

from dataclasses import dataclass

from jamsession._base import BaseAsyncSessionModule
from jamsession._crypto import PURPOSE_DATA
from jamsession._errors import InvalidSessionToken, UnreadableSessionError, UnsupportedOperationError
from jamsession._record import StoredSession
from jamsession._scanning import NoProgress, Progress, batches, run_bounded, scanning_store


@dataclass(slots=True)
class RekeyReport:
    """What :func:`rekey` did. Holds no ID, token or data.

    Attributes:
        keys: How many keys the store holds (``session_aes_secret``).
        scanned: Records read, expired ones included.
        expired: Expired records, left as they are.
        rekeyed: Sessions whose data was under an older key, now under the newest.
        current: Sessions already under the newest key.
        ended: Sessions that ended (deleted, expired) while being re-encrypted.
        retried: Sessions the app changed between the read and the write, read again.
        left: Sessions still under an older key: the app changed them between every
            read and write (:attr:`~jamsession.RecordSessionModule.patch_attempts` times).

    .. versionadded:: 0.3
    """

    keys: int
    scanned: int = 0
    expired: int = 0
    rekeyed: int = 0
    current: int = 0
    ended: int = 0
    retried: int = 0
    left: int = 0

    @property
    def older_keys_needed_by_data(self) -> bool:
        """``False`` once no stored session's data needs a key older than the newest.

        The older keys may then leave ``session_aes_secret`` as far as the
        data goes; tokens made under them still need them (see the operations guide).
        """
        return self.left > 0


async def rekey(
    store: BaseAsyncSessionModule,
    *,
    progress: Progress | None = None,
    batch_size: int | None = None,
    concurrency: int = 64,
) -> RekeyReport:
    """Re-encrypt, in place, the data of every live session not under the store's newest key.

    Safe while the app keeps serving: each session is rewritten with a
    compare-and-swap (:meth:`~jamsession.RecordSessionModule.swap_record`)
    against the bytes read, so a concurrent update is never lost (the
    session is read again, and its new bytes are under the newest key
    already). IDs, expiry and tokens are untouched. Interrupted, it leaves
    every session whole, and running it again goes on::

        async with jamsession.from_config("sessions.toml") as store:
            report = await rekey(store)

    Raises:
        UnsupportedOperationError: crypt is off (nothing is encrypted), or the
            store lacks ``supports_scan`` or ``supports_entries``.
        UnreadableSessionError: a session's data fails under every key; names
            its session key.

    .. versionadded:: 0.3
    """
    scanning = scanning_store(store, "rekey")
    if not scanning.is_session_crypt:
        raise UnsupportedOperationError(
            "rekey re-encrypts session data, but crypt is off for this store (is_session_crypt = false)"
        )
    if not scanning.supports_entries:
        raise UnsupportedOperationError(
            f"rekey needs a store that declares supports_entries; {type(store).__name__} does not"
        )
    keyring = scanning._require_keyring()
    report = RekeyReport(keys=keyring.key_count)
    progress = progress or NoProgress()

    async def renew(record: StoredSession) -> str:
        blob = record.blob
        for _ in range(scanning.patch_attempts):
            try:
                plain, stale = keyring.decrypt_noting_age(blob, PURPOSE_DATA)
            except InvalidSessionToken as exc:
                raise UnreadableSessionError(record.session_key, str(exc)) from None
            if not stale:
                return "current"
            swapped = await scanning.swap_record(
                record.raw_id, blob, keyring.encrypt(plain, PURPOSE_DATA), scanning.clock(), None
            )
            if swapped is None:
                return "ended"
            if swapped:
                return "rekeyed"
            report.retried += 1
            # The app wrote it meanwhile: read what it holds now.
            fresh = await scanning.fetch_full_record(record.raw_id, scanning.clock(), None)
            if fresh is None:
                return "ended"
            blob = fresh.blob
        return "left"

    async for batch in batches(scanning, progress, "rekey", batch_size):
        now = scanning.clock()
        live = [r for r in batch if r.expires_at is None or r.expires_at > now]
        report.scanned += len(batch)
        report.expired += len(batch) - len(live)
        for outcome in await run_bounded(renew, live, concurrency):
            setattr(report, outcome, getattr(report, outcome) + 1)
    return report
