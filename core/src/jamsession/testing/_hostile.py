"""Hostile session IDs: thousands of generated tokens a client might send, and what a store does with them.

A session ID comes from a cookie or a header, so anyone can send anything.
:func:`check_hostile_session_ids` feeds a store generated IDs of every kind
below and records each one that is not treated as "no such session"; the
store's real sessions must come through untouched.
"""

from __future__ import annotations

import asyncio
import base64
import random
import string
import unicodedata
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from jamsession._base import BaseAsyncSessionModule
from jamsession._crypto import PURPOSE_DATA, PURPOSE_ID, KeyRing, b64encode, generate_key
from jamsession._errors import JamSessionNotFound

#: Strings that mean something to a query language, a shell, a template or a path.
OPERATOR_LIKE = [
    '{"$ne": null}',
    "{'$gt': ''}",
    '{"$regex": ".*"}',
    '{"$where": "1"}',
    "$ne",
    "' OR 1=1 --",
    "' OR '1'='1",
    '" OR ""="',
    "'; DROP TABLE sessions; --",
    "1; SELECT * FROM sessions",
    "%",
    "_",
    "*",
    ".*",
    "^.*$",
    "?",
    "\\",
    "%00",
    "null",
    "None",
    "undefined",
    "NaN",
    "true",
    "0",
    "-1",
    "[]",
    "{}",
    "${jndi:ldap://example.invalid/a}",
    "{{7*7}}",
    "../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "file:///etc/passwd",
    "$(id)",
    "`id`",
    "\r\nSet-Cookie: x=y",
]

#: Code points that break naive handling: NUL, surrogates, BOM, zero-width and direction marks.
ODD_CHARACTERS = ["\x00", "\ud800", "\udfff", "\ufeff", "\u200b", "\u202e", "\n", " ", "\x7f", "\uffff"]

#: Categories whose IDs are changed spellings of one real token: reaching that very session is an alias.
_DERIVED = {
    "truncated tokens",
    "extended tokens",
    "bit-flipped token text",
    "bit-flipped token bytes",
    "re-encoded tokens",
    "NUL, surrogates and odd characters",
}

_B64 = string.ascii_letters + string.digits + "-_"
_FULLWIDTH = {code: code + 0xFEE0 for code in range(0x21, 0x7F)}


@dataclass
class HostileReport:
    """What :func:`check_hostile_session_ids` tried, and every ID that was not turned away.

    ``problems`` are failures of the contract: an exception other than
    :class:`~jamsession.JamSessionNotFound`, an ID that reached another
    session, a write through an ID that ``get`` refused, or a real session
    changed or lost afterwards. ``aliases`` are other spellings of a session's
    own token that reached that same session: no one gains access they did not
    have, but a token should have one spelling only.

    .. versionadded:: 0.1
    """

    tried: int = 0
    operations: int = 0
    by_category: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Session:
    token: str
    data: dict[str, Any]


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters)"


class _Generator:
    """Makes hostile IDs of every category, round robin, from a seeded random source."""

    def __init__(self, store: BaseAsyncSessionModule, tokens: list[str], dead: list[str], seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - replayable test inputs, not secrets
        self.store = store
        self.tokens = tokens
        self.dead = dead
        self.crypt = store.is_session_crypt
        self.foreign = KeyRing(generate_key())
        self.categories: list[tuple[str, Callable[[], object]]] = [
            ("random text", self.random_text),
            ("random printable ASCII", self.random_ascii),
            ("random bytes, base64", self.random_base64),
            ("random bytes and other non-str values", self.non_str),
            ("random well-formed UUIDs", self.random_uuid),
            ("truncated tokens", self.truncated),
            ("extended tokens", self.extended),
            ("bit-flipped token text", self.flipped_text),
            ("bit-flipped token bytes", self.flipped_bytes),
            ("re-encoded tokens", self.reencoded),
            ("tokens from another key", self.foreign_key),
            ("tokens for another purpose", self.other_purpose),
            ("huge strings", self.huge),
            ("NUL, surrogates and odd characters", self.odd_characters),
            ("operator-like strings", self.operator_like),
            ("dead tokens", self.dead_token),
        ]

    def __iter__(self) -> Iterator[tuple[str, int | None, object]]:
        while True:
            for category, make in self.categories:
                source = self.rng.randrange(len(self.tokens))
                self.source = source
                value = make()
                if isinstance(value, str) and value in self.tokens:
                    continue  # an unchanged token is not hostile
                yield category, source if category in _DERIVED else None, value

    @property
    def token(self) -> str:
        return self.tokens[self.source]

    def _raw_id(self) -> str:
        return self.store.__decode_session_id__(self.token) if self.crypt else self.token

    # -- made from nothing ----------------------------------------------------------

    def random_text(self) -> str:
        rng = self.rng
        return "".join(
            chr(rng.choice((rng.randrange(0x80), rng.randrange(0x110000)))) for _ in range(rng.randrange(90))
        )

    def random_ascii(self) -> str:
        return "".join(self.rng.choice(string.printable) for _ in range(self.rng.randrange(1, 120)))

    def random_base64(self) -> str:
        size = self.rng.choice((self.rng.randrange(1, 130), 65, 64, 66, 36))
        return b64encode(self.rng.randbytes(size))

    def non_str(self) -> object:
        blob = self.rng.randbytes(self.rng.randrange(90))
        return self.rng.choice(
            [
                blob,
                blob.decode("latin-1").encode("utf-8"),
                None,
                0,
                -1,
                2**70,
                1.5,
                [self.token],
                {"$ne": None},
                self.token.encode(),
                bytearray(blob),
            ]
        )

    def random_uuid(self) -> str:
        value = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        return self.store.__encode_session_id_if_needed__(value) if self.rng.random() < 0.5 else value

    def huge(self) -> str:
        size = self.rng.choice((513, 4096, 65_536, 1_000_000))
        return self.rng.choice(("A" * size, (self.token * (size // len(self.token) + 1))[:size]))

    def operator_like(self) -> str:
        value = self.rng.choice(OPERATOR_LIKE)
        return self.rng.choice((value, value + self.token, self.token + value))

    # -- made from a real token -----------------------------------------------------

    def truncated(self) -> str:
        token, cut = self.token, self.rng.randrange(len(self.token))
        return token[:cut] if self.rng.random() < 0.5 else token[cut + 1 :]

    def extended(self) -> str:
        token, extra = self.token, "".join(self.rng.choice(_B64) for _ in range(self.rng.randrange(1, 6)))
        return self.rng.choice((token + extra, extra + token, token + token, token + "=", token + "=="))

    def flipped_text(self) -> str:
        position, bit = self.rng.randrange(len(self.token)), self.rng.randrange(8)
        token = self.token
        return token[:position] + chr(ord(token[position]) ^ (1 << bit)) + token[position + 1 :]

    def flipped_bytes(self) -> str:
        raw = bytearray(_token_bytes(self.token))
        for _ in range(self.rng.choice((1, 1, 1, 2, 8))):
            bit = self.rng.randrange(len(raw) * 8)
            raw[bit // 8] ^= 1 << (bit % 8)
        return b64encode(bytes(raw)) if self.crypt else raw.decode("latin-1")

    def reencoded(self) -> str:
        token = self.token
        choices = [
            base64.standard_b64encode(_token_bytes(token)).decode("ascii"),
            base64.urlsafe_b64encode(_token_bytes(token)).decode("ascii"),
            token.upper(),
            token.lower(),
            token.swapcase(),
            "".join(f"%{ord(char):02X}" for char in token),
            urllib.parse.quote(token + "="),
            token.translate(_FULLWIDTH),
            unicodedata.normalize("NFKD", token.translate(_FULLWIDTH)),
            f'"{token}"',
            f" {token} ",
            token.encode().hex(),
            b64encode(token.encode()),
            token[:-1] + "%",
            token[:-1] + "_",
            token[:-2] + ".*",
            token.replace("-", "+").replace("_", "/"),
            _other_last_character(token, self.rng),
        ]
        return self.rng.choice(choices)

    def foreign_key(self) -> str:
        return b64encode(self.foreign.encrypt(self._raw_id().encode(), PURPOSE_ID))

    def other_purpose(self) -> str:
        # The right key, but sealed as session data: the purpose binding must refuse it.
        keyring = self.store._keyring
        if keyring is None:
            return b64encode(self.foreign.encrypt(self._raw_id().encode(), PURPOSE_DATA))
        return b64encode(keyring.encrypt(self._raw_id().encode(), PURPOSE_DATA))

    def odd_characters(self) -> str:
        token, position = self.token, self.rng.randrange(len(self.token) + 1)
        return token[:position] + self.rng.choice(ODD_CHARACTERS) + token[position:]

    def dead_token(self) -> str:
        # In crypt mode, the raw ID behind a live token is as foreign as a dead token.
        if self.crypt and self.rng.random() < 0.5:
            return self._raw_id()
        return self.rng.choice(self.dead)


def _token_bytes(token: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        return token.encode()


def _other_last_character(token: str, rng: random.Random) -> str:
    """The token with its last base64 digit changed in the bits that padding leaves unused."""
    last = _B64.find(token[-1])
    if last < 0:
        return token + "A"
    unused = {2: 0b1111, 3: 0b11}.get(len(token) % 4, 0)
    if not unused:
        return token[:-1] + rng.choice(_B64.replace(token[-1], ""))
    return (
        token[:-1] + _B64[(last & ~unused) | rng.choice([v for v in range(unused + 1) if v != last & unused])]
    )


async def check_hostile_session_ids(
    store: BaseAsyncSessionModule, *, count: int = 10_000, seed: int = 0, concurrency: int = 4
) -> HostileReport:
    """Send ``count`` generated hostile IDs through ``get``, ``update``, ``rework`` and ``delete``.

    ``store`` must be empty; a few real sessions are created first, and the
    IDs are derived from their tokens among others. Each ID must read as "no
    such session": ``get`` gives ``None``, ``update`` and ``rework`` raise
    :class:`~jamsession.JamSessionNotFound`, ``delete`` does nothing.

    Args:
        store: An empty store.
        count: How many IDs to try.
        seed: Seeds the generator, so a run can be replayed.
        concurrency: How many IDs are in flight at once.

    .. versionadded:: 0.1
    """
    sessions = [_Session(await store.create(f"user{i % 3}", {"owner": i}), {"owner": i}) for i in range(8)]
    deleted = await store.create("user0", {"owner": "deleted"})
    await store.delete(deleted)
    reworked = await store.create("user1", {"owner": "reworked"})
    sessions.append(_Session(await store.rework(reworked), {"owner": "reworked"}))
    tokens = [session.token for session in sessions]
    report = HostileReport()
    generated = iter(_Generator(store, tokens, [deleted, reworked], seed))
    pending: set[asyncio.Task[None]] = set()
    for _ in range(count):
        category, source, value = next(generated)
        report.tried += 1
        report.by_category[category] += 1
        if len(pending) >= concurrency:
            _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        pending.add(asyncio.create_task(_probe(store, sessions, report, (category, source, value))))
    if pending:
        await asyncio.wait(pending)
    for session in sessions:
        if session.data != await store.get(session.token):
            report.problems.append(f"session {session.data} changed or lost after the hostile IDs")
        report.operations += 1
    return report


async def _probe(
    store: BaseAsyncSessionModule,
    sessions: list[_Session],
    report: HostileReport,
    probe: tuple[str, int | None, Any],
) -> None:
    category, source, value = probe
    where = f"{category}: {_describe(value)}"
    try:
        found = await store.get(value)
    except Exception as exc:  # noqa: BLE001 - any exception from get is what is being looked for
        report.problems.append(f"get raised {type(exc).__name__} for {where}")
        found = None
    report.operations += 1
    if found is not None:
        owners = [i for i, session in enumerate(sessions) if session.data == found]
        if source is not None and owners == [source]:
            report.aliases.append(f"{where} reached its own session")
        else:
            report.problems.append(f"get returned session {found} for {where}")
        return  # writing through an alias would change the real session under test
    for name, call in (
        ("update", lambda: store.update(value, {"hijacked": True})),
        ("rework", lambda: store.rework(value)),
    ):
        report.operations += 1
        try:
            await call()
        except JamSessionNotFound:
            continue
        except Exception as exc:  # noqa: BLE001 - any other exception is a finding
            report.problems.append(f"{name} raised {type(exc).__name__} for {where}")
            continue
        report.problems.append(f"{name} accepted {where}")
    report.operations += 1
    try:
        await store.delete(value)
    except Exception as exc:  # noqa: BLE001 - delete must be a no-op, never an error
        report.problems.append(f"delete raised {type(exc).__name__} for {where}")
