"""Session IDs: the default factory, and, with crypt on, new IDs and their tokens made a batch at a time.

With crypt on, every ``create`` and ``rework`` needs a new ID and its
token. Made one at a time, right after the store has waited for I/O, a
token costs several times what it costs in a run of them: the OS random
source, AES and base64 all start cold then. So IDs of
:func:`default_id_factory` and their tokens are made :data:`BATCH` at a
time, from one call to the OS CSPRNG for the IDs, and handed out one by
one. (With crypt off there is no token, and a batch of IDs alone measured
slower than making each ID when it is needed.)

Two rules keep this safe:

* a process hands out only IDs it made itself: a forked child starts with
  a copy of its parent's batch, which the parent hands out too. The
  process ID is checked on every call rather than trusting fork hooks,
  which a server that forks from C need not run;
* a token is handed out only under the key ring it was made with: a store
  given a new key ring makes a new batch.
"""

from __future__ import annotations

import os

from jamsession._crypto import PURPOSE_ID, KeyRing, b64encode

#: IDs (and tokens) made at a time: amortizes the cold start over the batch,
#: while the call that makes one stays a few tens of microseconds.
BATCH = 16

_UUID_BYTES = 16

# A UUID's variant digit, from any hex digit: keeps its two low bits, sets "10" above them.
_VARIANT_DIGIT = {digit: format(int(digit, 16) & 0b11 | 0b1000, "x") for digit in "0123456789abcdef"}


def default_id_factory() -> str:
    """A random (version 4) UUID as text: 122 bits from the OS CSPRNG.

    The same text as ``str(uuid.uuid4())`` for the same 16 random bytes, built
    without the ``UUID`` object, which costs more than the rest of the ID.

    .. versionadded:: 0.1
    """
    return _uuid4_text(os.urandom(_UUID_BYTES).hex())


def _uuid4_text(hexed: str) -> str:
    # The version digit is 4; the variant digit keeps two random bits: 8, 9, a or b.
    return f"{hexed[:8]}-{hexed[8:12]}-4{hexed[13:16]}-{_VARIANT_DIGIT[hexed[16]]}{hexed[17:20]}-{hexed[20:]}"


class FreshIds:
    """IDs of :func:`default_id_factory`, with their tokens, ready to hand out.

    Thread-safe: a batch is replaced whole, and ``list.pop`` hands each ID out once.
    """

    __slots__ = ("_batch",)

    def __init__(self) -> None:
        # (key ring, process ID, ready pairs), read and replaced as one object.
        self._batch: tuple[KeyRing | None, int, list[tuple[str, str]]] = (None, -1, [])

    def take(self, keyring: KeyRing) -> tuple[str, str]:
        """A new raw ID and its token, encrypted under ``keyring``."""
        made_under, made_by, ready = self._batch
        pid = os.getpid()
        if made_under is keyring and made_by == pid:
            try:
                return ready.pop()
            except IndexError:
                pass  # handed out: make the next batch
        ready = _make(keyring)
        fresh = ready.pop()
        self._batch = (keyring, pid, ready)
        return fresh


def _make(keyring: KeyRing) -> list[tuple[str, str]]:
    hexed = os.urandom(_UUID_BYTES * BATCH).hex()
    step = 2 * _UUID_BYTES
    raw_ids = [_uuid4_text(hexed[start : start + step]) for start in range(0, len(hexed), step)]
    encrypt = keyring.encrypt
    return [(raw_id, b64encode(encrypt(raw_id.encode("utf-8"), PURPOSE_ID))) for raw_id in raw_ids]
