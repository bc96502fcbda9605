"""Checks on tokens themselves: bit flips, the randomness of IDs, key rotation."""

from __future__ import annotations

import math
import string
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from jamsession._base import BaseAsyncSessionModule
from jamsession._crypto import PURPOSE_ID, KeyRing, SecretInput, b64decode, b64encode, generate_key
from jamsession._errors import InvalidSessionToken

#: Opens a crypt-on store with the given secret, over the same storage every time.
RotatingStoreFactory = Callable[[SecretInput], AbstractAsyncContextManager[BaseAsyncSessionModule]]


@dataclass
class BitFlipReport:
    """Single-bit flips of a valid token, tried exhaustively, and those a store accepted.

    .. versionadded:: 0.1
    """

    tried_bytes: int = 0
    accepted_bytes: list[int] = field(default_factory=list)
    tried_text: int = 0
    accepted_text: list[str] = field(default_factory=list)


async def check_bit_flips(store: BaseAsyncSessionModule, *, tokens: int = 16) -> BitFlipReport:
    """Flip every bit of fresh tokens, one at a time; every flip must read as "no such session".

    Flips are tried on each token's characters (what a client could send),
    and, when crypt is on, on the decoded ciphertext too. ``accepted_*``
    name the flips that ``get`` answered with data. Several tokens are tried
    because whether a flip of the last character can go unnoticed depends on
    that character.

    .. versionadded:: 0.1
    """
    report = BitFlipReport()
    for n in range(tokens):
        token = await store.create("alice", {"n": n})
        if store.is_session_crypt:
            raw = bytearray(b64decode(token))
            for bit in range(len(raw) * 8):
                raw[bit // 8] ^= 1 << (bit % 8)
                report.tried_bytes += 1
                if await store.get(b64encode(bytes(raw))) is not None:
                    report.accepted_bytes.append(bit)
                raw[bit // 8] ^= 1 << (bit % 8)
        for position, char in enumerate(token):
            for bit in range(8):
                flipped = chr(ord(char) ^ (1 << bit))
                report.tried_text += 1
                if await store.get(token[:position] + flipped + token[position + 1 :]) is not None:
                    report.accepted_text.append(f"character {position}: {char!r} -> {flipped!r}")
        assert {"n": n} == await store.get(token), "the unflipped token must still work"
    return report


async def find_other_spellings(store: BaseAsyncSessionModule) -> list[str]:
    """Spellings of a fresh token, other than itself, that ``get`` accepts; a token should have one.

    Tried: every other last character, and the token padded or in the
    standard base64 alphabet.

    .. versionadded:: 0.1
    """
    token = await store.create("alice", {"n": 1})
    alphabet = string.ascii_letters + string.digits + "-_"
    candidates = [token[:-1] + char for char in alphabet if char != token[-1]]
    candidates += [token + "=" * (-len(token) % 4), token.replace("-", "+").replace("_", "/")]
    return [repr(c[-3:]) for c in candidates if c != token and await store.get(c) is not None]


@dataclass
class IdEntropyReport:
    """How random a store's raw session IDs look.

    For IDs that are UUIDs, ``random_bits`` counts the bit positions that take
    both values, each within six standard deviations of half the time (a
    uuid4 has 122); ``fixed_bits`` are the version and variant bits. For other
    IDs it is the sum over character positions of log2 of the symbols seen
    there: an upper bound.

    .. versionadded:: 0.1
    """

    samples: int
    distinct: int
    random_bits: float
    fixed_bits: int
    biased_bits: list[int] = field(default_factory=list)


def check_id_entropy(id_factory: Callable[[], str], *, samples: int = 20_000) -> IdEntropyReport:
    """Draw ``samples`` IDs from ``id_factory`` and measure how many of their bits vary.

    .. versionadded:: 0.1
    """
    ids = [id_factory() for _ in range(samples)]
    try:
        numbers = [uuid.UUID(value).int for value in ids]
    except ValueError:
        return _symbol_entropy(ids)
    ones = [sum((number >> bit) & 1 for number in numbers) for bit in range(128)]
    tolerance = 6 * math.sqrt(samples) / 2  # six standard deviations of a fair coin's count
    varying = [bit for bit in range(128) if 0 < ones[bit] < samples]
    biased = [bit for bit in varying if abs(ones[bit] - samples / 2) > tolerance]
    return IdEntropyReport(samples, len(set(ids)), len(varying) - len(biased), 128 - len(varying), biased)


def _symbol_entropy(ids: list[str]) -> IdEntropyReport:
    length = max(len(value) for value in ids)
    bits = 0.0
    fixed = 0
    for position in range(length):
        symbols = Counter(value[position] for value in ids if len(value) > position)
        if len(symbols) == 1:
            fixed += 1
        bits += math.log2(len(symbols))
    return IdEntropyReport(len(ids), len(set(ids)), bits, fixed)


@dataclass
class RotationReport:
    """What :func:`check_key_rotation` checked, and what did not hold.

    .. versionadded:: 0.1
    """

    checks: int = 0
    problems: list[str] = field(default_factory=list)

    def expect(self, condition: bool, problem: str) -> None:
        self.checks += 1
        if not condition:
            self.problems.append(problem)


async def check_key_rotation(open_store: RotatingStoreFactory, *, sessions: int = 20) -> RotationReport:
    """Rotate keys on one storage: old tokens keep working, new tokens use the newest key.

    ``open_store(secret)`` opens a crypt-on store with that secret over the
    same storage each time it is called. Keys are listed oldest first. Where
    the store supports entries, ``load`` must also tell the tokens made
    before rotation (``needs_reissue``) from those made after, and a token
    re-issued with ``rework(token, data=entry.data)`` must outlive the old key.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
       ``needs_reissue`` and re-issue, where the store supports entries.
    """
    old_key, new_key = generate_key(), generate_key()
    old_ring, new_ring = KeyRing(old_key), KeyRing(new_key)
    report = RotationReport()
    async with open_store(old_key) as before:
        old_tokens = [await before.create("alice", {"i": i}) for i in range(sessions)]
    async with open_store([old_key, new_key]) as rotated:
        for i, token in enumerate(old_tokens):
            report.expect(
                {"i": i} == await rotated.get(token), "a token made before rotation stopped working"
            )
        new_tokens = [await rotated.create("bob", {"j": j}) for j in range(sessions)]
        new_tokens.append(await rotated.rework(old_tokens[0]))
        for token in new_tokens:
            report.expect(_opens(new_ring, token), "a token made after rotation is not under the newest key")
            report.expect(not _opens(old_ring, token), "a token made after rotation opens with the old key")
        # Data written since rotation is under the newest key too, so it outlives the old one.
        await rotated.update(new_tokens[-1], {"i": "updated"})
        reissued = await _check_reissue(rotated, old_tokens[1], new_tokens[0], report)
    async with open_store(new_key) as retired:
        if reissued is not None:
            report.expect({"i": 1} == await retired.get(reissued), "a re-issued token stopped working")
            old_tokens.remove(old_tokens[1])
        for token in old_tokens[1:]:
            report.expect(await retired.get(token) is None, "a token still works after its key was dropped")
        for j, token in enumerate(new_tokens[:-1]):
            report.expect({"j": j} == await retired.get(token), "a new token stopped working")
        report.expect(
            {"i": "updated"} == await retired.get(new_tokens[-1]), "data written after rotation was lost"
        )
    return report


async def _check_reissue(
    store: BaseAsyncSessionModule, old: str, new: str, report: RotationReport
) -> str | None:
    """Re-issue ``old`` as a web layer would; the new token, or ``None`` without entries."""
    if not getattr(store, "supports_entries", False):
        return None
    entries: Any = store
    before, after = await entries.load(old), await entries.load(new)
    report.expect(
        before is not None and before.needs_reissue, "a token from before rotation is not due for re-issue"
    )
    report.expect(
        after is not None and not after.needs_reissue, "a token from after rotation is due for re-issue"
    )
    if before is None:
        return None
    reissued: str = await entries.rework(old, data=before.data)
    entry = await entries.load(reissued)
    report.expect(
        entry is not None and not entry.needs_reissue, "a re-issued token is due for re-issue again"
    )
    return reissued


def _opens(keyring: KeyRing, token: str) -> bool:
    try:
        keyring.decrypt(b64decode(token), PURPOSE_ID)
    except InvalidSessionToken:
        return False
    return True
