"""No secret leaves through telemetry: all it emits in the reliability suite's hostile-input run, searched.

The run is the reliability suite's own (``tests/reliability``): its fixtures open
every shipped backend (memory, SQLite on a file, MongoDB on the test server) in
every variant (each serializer, crypt off and on), and the same checks run at the
same quick scale: hostile IDs through every operation, every bit flip of tokens,
other spellings of a token. The telemetry plugin is on, with both exporters,
throughout; then everything it exported is searched for every token, raw ID,
session key, data value and spelling of the key used.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from tests.plugins.telemetry.conftest import Telemetry
from tests.reliability import conftest as reliability
from tests.reliability.support import QUICK, OpenStore

from jamsession import BaseAsyncSessionModule
from jamsession._crypto import parse_key
from jamsession.testing import StoreVariant, check_bit_flips, check_hostile_session_ids, find_other_spellings


def used(
    tokens: list[str], raw_ids: list[str], session_keys: set[str], data: list[str], key: str | None
) -> list[tuple[str, str]]:
    """Every secret a run used, named by its kind."""
    found = [("token", t) for t in tokens] + [("raw session ID", r) for r in raw_ids]
    found += [("session key", k) for k in session_keys] + [("session data", d) for d in data]
    return found + [("key material", form) for form in (key_forms(key) if key else [])]


# The reliability suite's fixtures: every shipped backend, every variant, opened on fresh storage.
backend = reliability.backend
opener = reliability.opener
variant = reliability.variant
open_store = reliability.open_store


class Recorded:
    """Every token ``store`` hands out, and every session key given to it."""

    def __init__(self, store: BaseAsyncSessionModule) -> None:
        self.tokens: list[str] = []
        self.session_keys: list[str] = []
        create, rework = store.create, store.rework

        async def recording_create(session_key: str, data: dict[str, Any]) -> str:
            self.session_keys.append(session_key)
            token = await create(session_key, data)
            self.tokens.append(token)
            return token

        async def recording_rework(session_id: str, **changes: Any) -> str:
            token = await rework(session_id, **changes)
            self.tokens.append(token)
            return token

        store.create = recording_create  # type: ignore[method-assign]
        store.rework = recording_rework  # type: ignore[method-assign]


def key_forms(key: str) -> list[str]:
    raw = parse_key(key)
    return [
        key,
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        base64.standard_b64encode(raw).decode().rstrip("="),
        raw.hex(),
        repr(raw)[2:-1],
    ]


async def test_nothing_secret_is_emitted_during_the_reliability_hostile_run(
    telemetry: Telemetry, open_store: OpenStore, variant: StoreVariant
) -> None:
    crypt = variant.is_session_crypt
    user_key = f"user-{secrets.token_hex(8)}"
    marker = f"private-{secrets.token_hex(8)}"
    tokens: list[str] = []
    raw_ids: list[str] = []
    session_keys: set[str] = {user_key}
    operations = 0

    async def run(check: Any) -> None:
        async with open_store() as store:
            recorded = Recorded(store)
            await check(store)
            tokens.extend(recorded.tokens)
            session_keys.update(recorded.session_keys)
            if crypt:
                # Behind an encrypted token the raw ID cannot be replayed; it is not emitted all the same.
                raw_ids.extend(store.__decode_session_id__(t) for t in recorded.tokens)

    async def hostile(store: Any) -> None:
        nonlocal operations
        report = await check_hostile_session_ids(store, count=QUICK.hostile_ids_per_variant)
        assert [] == report.problems[:20]
        assert QUICK.hostile_ids_per_variant == report.tried
        operations += report.operations

    async def flips_and_spellings(store: Any) -> None:
        report = await check_bit_flips(store, tokens=4)
        assert ([], []) == (report.accepted_bytes, report.accepted_text)
        assert [] == await find_other_spellings(store)

    async def web_like(store: Any) -> None:
        # Beyond the reliability checks: what a web app does with a user's data and key.
        token = await store.create("anonymous", {"note": marker})
        entry = await store.load(token)
        await store.patch(token, {"more": f"{marker}-2"}, expected=entry)
        user_token = await store.rework(token, session_key=user_key, data={"note": marker})
        await store.update(user_token, {"note": marker, "more": f"{marker}-2"})
        [info] = await store.list_sessions(user_key)
        await store.revoke(user_key, info.handle)
        await store.create(user_key, {"note": marker})
        await store.clear(user_key)

    await run(hostile)
    made = [len(tokens)]
    await run(flips_and_spellings)
    made.append(len(tokens) - sum(made))
    await run(web_like)
    made.append(len(tokens) - sum(made))

    exported = telemetry.exported()
    # The hostile run's data are small numbers and plain words: our own data stand for it.
    data = [marker, f"{marker}-2"]
    keys = variant.options["session_aes_secret"] if crypt else None
    assert [] == [
        f"{kind} {value!r}"
        for kind, value in used(tokens, raw_ids, session_keys, data, keys)
        if value in exported
    ]

    # What was searched is what was emitted: every call is in it, the rejections with their reasons.
    assert operations < len(telemetry.spans())
    rejected = telemetry.samples("jamsession_tokens_rejected_total", "reason")
    assert ({("malformed",), ("unknown key",), ("tampered",)} if crypt else {("malformed",)}) == set(rejected)
    assert 100 < sum(rejected.values())
    # Tokens recorded: the hostile run's sessions and reworks; 4 flipped, 1 respelled; ours 2 and a login.
    assert [11, 4 + 1, 3] == made
