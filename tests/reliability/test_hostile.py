"""Hostile session IDs and bit flips: nothing a client sends reaches a session it does not hold."""

from __future__ import annotations

import pytest
from tests.reliability.support import Figures, OpenStore, Scale

from jamsession.testing import (
    StoreVariant,
    check_bit_flips,
    check_hostile_session_ids,
    find_other_spellings,
)


async def test_hostile_ids_read_as_no_session(
    open_store: OpenStore,
    scale: Scale,
    figures: Figures,
    request: pytest.FixtureRequest,
) -> None:
    async with open_store() as store:
        report = await check_hostile_session_ids(store, count=scale.hostile_ids_per_variant)
    figures.record(
        request,
        "hostile session IDs through get, update, rework and delete",
        f"{report.tried:,} IDs of {len(report.by_category)} kinds, {report.operations:,} calls",
        "get None, update/rework JamSessionNotFound, delete no-op; no other exception; "
        "no ID reached another session; real sessions intact",
        ids=report.tried,
        operations=report.operations,
        aliases=len(report.aliases),
        problems=len(report.problems),
    )
    assert [] == report.problems[:20]
    assert scale.hostile_ids_per_variant == report.tried
    assert 16 == len(report.by_category)


async def test_every_bit_flip_of_an_encrypted_token_is_rejected(
    open_store: OpenStore,
    variant: StoreVariant,
    figures: Figures,
    request: pytest.FixtureRequest,
) -> None:
    if not variant.is_session_crypt:
        pytest.skip("crypt is off: no ciphertext to flip (text flips are checked below)")
    async with open_store() as store:
        report = await check_bit_flips(store, tokens=4)
    figures.record(
        request,
        "every single-bit flip of an encrypted token's bytes",
        f"{report.tried_bytes:,} flips (4 tokens)",
        "all rejected",
        flips=report.tried_bytes,
        problems=len(report.accepted_bytes),
    )
    assert [] == report.accepted_bytes
    assert 4 * 520 == report.tried_bytes  # 4 tokens of 65 bytes: version, nonce, uuid4 text, tag


async def test_every_bit_flip_of_a_token_text_is_rejected(
    open_store: OpenStore,
    variant: StoreVariant,
    figures: Figures,
    request: pytest.FixtureRequest,
) -> None:
    tokens = 2
    if variant.is_session_crypt:
        # Whether a flip of the last character slips through depends on that character:
        # with 16 tokens, the odds that none shows it are below one in a million.
        tokens = 16
    async with open_store() as store:
        report = await check_bit_flips(store, tokens=tokens)
    figures.record(
        request,
        "every single-bit flip of a token's characters",
        f"{report.tried_text:,} flips ({tokens} tokens)",
        "all rejected",
        flips=report.tried_text,
        problems=len(report.accepted_text),
    )
    assert [] == report.accepted_text


async def test_a_token_has_one_spelling(
    open_store: OpenStore,
    variant: StoreVariant,
    figures: Figures,
    request: pytest.FixtureRequest,
) -> None:
    async with open_store() as store:
        accepted = await find_other_spellings(store)
    figures.record(
        request,
        "other spellings of a token (every other last character, padding, standard alphabet)",
        "65 spellings",
        "none accepted",
        problems=len(accepted),
    )
    assert [] == accepted
