"""No secret leaves through telemetry: everything emitted during a hostile-input run, searched for them."""

from __future__ import annotations

import base64
import secrets
from typing import Any

import pytest
from tests.plugins.telemetry.conftest import Telemetry

import jamsession
from jamsession import BaseAsyncSessionModule
from jamsession._crypto import parse_key
from jamsession.testing import check_hostile_session_ids


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

        async def recording_rework(session_id: str) -> str:
            token = await rework(session_id)
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


@pytest.mark.parametrize("crypt", [False, True], ids=["crypt off", "crypt on"])
async def test_nothing_secret_is_emitted_during_a_hostile_run(telemetry: Telemetry, crypt: bool) -> None:
    key = jamsession.generate_key()
    store = jamsession.open("memory", is_session_crypt=crypt, session_aes_secret=key, default_ttl=3600)
    recorded = Recorded(store)
    report = await check_hostile_session_ids(store, count=2000, seed=24)
    assert [] == report.problems
    # Beyond the hostile run: user keys and data of our own, a log-out-everywhere, a listing.
    user_key = f"user-{secrets.token_hex(8)}"
    marker = f"private-{secrets.token_hex(8)}"
    token = await store.create(user_key, {"note": marker})
    await store.update(token, {"note": marker, "more": f"{marker}-2"})
    await store.list_sessions(user_key)  # type: ignore[attr-defined]
    await store.clear(user_key)

    exported = telemetry.exported()
    secrets_used = [("token", t) for t in recorded.tokens]
    if crypt:
        # Behind an encrypted token, the raw ID cannot be replayed; it is not emitted all the same.
        secrets_used += [("raw session ID", store.__decode_session_id__(t)) for t in recorded.tokens]
    secrets_used += [("session key", k) for k in {*recorded.session_keys, user_key}]
    # The hostile run's data are small numbers and plain words: our own data stand for it.
    secrets_used += [("session data", value) for value in (marker, f"{marker}-2")]
    secrets_used += [("key material", form) for form in key_forms(key)]
    assert [] == [f"{kind} {value!r}" for kind, value in secrets_used if value in exported]

    # What was searched is what was emitted: every call is in it, the rejections with their reasons.
    assert report.operations + 4 <= len(telemetry.spans())
    rejected = telemetry.samples("jamsession_tokens_rejected_total", "reason")
    expected = {("malformed",), ("tampered",)} if crypt else {("malformed",)}
    assert expected == set(rejected)
    assert 100 < sum(rejected.values())
    # The hostile run: 8 sessions, 1 deleted, 1 reworked and its new token; then ours.
    assert 8 + 1 + 2 + 1 == len(recorded.tokens)
