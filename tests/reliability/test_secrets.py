"""Secrets hygiene: nothing secret in logs or errors, key rotation, random IDs."""

from __future__ import annotations

import os
import uuid
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from tests.reliability.support import Figures, Opener

from jamsession import default_id_factory, generate_key, load_backend, options_of
from jamsession.testing import (
    StoreVariant,
    check_id_entropy,
    check_key_rotation,
    check_logs_hold_no_secrets,
)


async def test_logs_and_errors_hold_no_secrets(
    *,
    backend: str,
    opener: Opener,
    variant: StoreVariant,
    figures: Figures,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    caplog.set_level("DEBUG", logger="jamsession")
    async with opener(f"logs_{uuid.uuid4().hex}", **variant.options) as store:
        report = await check_logs_hold_no_secrets(store, secret=variant.options.get("session_aes_secret"))
    figures.record(
        request,
        "secrets in logs (every logger at DEBUG) and in error messages",
        f"{report.operations} calls (failing ones included), {report.records} log records, "
        f"{report.errors} errors raised",
        "no token, session data or key",
        records=report.records,
        errors=report.errors,
        problems=len(report.problems),
    )
    assert [] == report.problems


async def test_keys_rotate_on_shared_storage(
    opener: Opener, variant: StoreVariant, figures: Figures, request: pytest.FixtureRequest
) -> None:
    if not variant.is_session_crypt:
        pytest.skip("key rotation is a crypt-on feature; the crypt variant of this serializer runs it")
    storage = f"rotation_{uuid.uuid4().hex}"

    def open_with(secret: Any) -> AbstractAsyncContextManager[Any]:
        return opener(
            storage, serializer=variant.serializer, is_session_crypt=True, session_aes_secret=secret
        )

    report = await check_key_rotation(open_with)
    figures.record(
        request,
        "key rotation on one storage (old key → [old, new] → new)",
        f"{report.checks} checks",
        "old tokens valid after adding a key; new tokens under the newest key; dropped key refused",
        checks=report.checks,
        problems=len(report.problems),
    )
    assert [] == report.problems


def test_default_ids_come_from_the_os_csprng(monkeypatch: pytest.MonkeyPatch) -> None:
    # The ID is uuid4 text made of os.urandom bytes; pinning those pins the ID: nothing else feeds it.
    monkeypatch.setattr(os, "urandom", lambda size: bytes(range(size)))
    assert str(uuid.UUID(bytes=bytes(range(16)), version=4)) == default_id_factory()


async def test_every_backend_uses_the_default_id_factory(backend: str, opener: Opener) -> None:
    assert default_id_factory is options_of(load_backend(backend))["id_factory"].default
    async with opener(f"ids_{uuid.uuid4().hex}") as store:
        assert default_id_factory is store.id_factory


def test_ids_carry_at_least_122_random_bits(figures: Figures, request: pytest.FixtureRequest) -> None:
    report = check_id_entropy(default_id_factory, samples=20_000)
    measured = (report.distinct, report.random_bits, report.fixed_bits, report.biased_bits)
    figures.record(
        request,
        "randomness of raw session IDs (uuid4 from os.urandom)",
        f"{report.samples:,} IDs, per-bit frequencies",
        f"{report.random_bits} bits vary, each within 6 standard deviations of 1/2; "
        f"{report.fixed_bits} fixed (version, variant); no duplicate",
        random_bits=report.random_bits,
        problems=int((20_000, 122, 6, []) != measured),
    )
    assert (20_000, 122, 6, []) == measured


def test_encrypted_tokens_of_one_id_differ() -> None:
    # A fresh nonce per encryption: equal raw IDs never give equal tokens.
    from jamsession_memory import MemorySessions

    store = MemorySessions(is_session_crypt=True, session_aes_secret=generate_key())
    raw = default_id_factory()
    tokens = {store.__encode_session_id__(raw) for _ in range(1000)}
    assert 1000 == len(tokens)
    assert {raw} == {store.__decode_session_id__(token) for token in tokens}


def test_entropy_check_can_fail() -> None:
    report = check_id_entropy(
        lambda: str(uuid.UUID(int=int.from_bytes(os.urandom(8)), version=4)), samples=2000
    )
    assert report.random_bits < 122
