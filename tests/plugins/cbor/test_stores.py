"""The CBOR serializer behind real stores, and what it saves on disk."""

import datetime as dt
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

import jamsession
from jamsession import BaseAsyncSessionModule
from jamsession_cbor import CborEncoder

KEY = jamsession.generate_key()

RICH_SESSION = {
    "user_id": uuid.UUID("0b5e1a52-8e0f-4a39-9d4e-2f6c1b7a9e30"),
    "logged_in_at": dt.datetime(2026, 11, 27, 9, 15, 30, 250000, tzinfo=dt.UTC),
    "avatar": b"\x89PNG\r\n\x1a\n\x00\xff",
    "roles": {"customer", "beta"},
}


def typical_session() -> dict[str, Any]:
    """IDs, roles, a CSRF token, preferences and a cart of ten small items: ~700 bytes of JSON."""
    return {
        "user_id": 48213,
        "session_key": "user:48213",
        "roles": ["customer", "beta-tester"],
        "csrf_token": "q7Xo2m9VwT4yZb8LrN1sKd6FhJ3gP0cA5eUiYtRz",
        "login_at": 1795771530,
        "prefs": {"lang": "en-GB", "theme": "dark", "currency": "EUR"},
        "cart": [
            {"sku": f"SKU-{1000 + i}", "qty": 1 + i % 3, "price": 499 + 250 * i, "gift": i == 3}
            for i in range(10)
        ],
    }


def memory(tmp_path: Path, **options: Any) -> BaseAsyncSessionModule:
    return jamsession.open("memory", **options)


def sqlite(tmp_path: Path, **options: Any) -> BaseAsyncSessionModule:
    return jamsession.open("sqlite", path=tmp_path / "s.db", **options)


@pytest_asyncio.fixture(
    params=[(memory, False), (memory, True), (sqlite, False), (sqlite, True)],
    ids=["memory-plain", "memory-crypt", "sqlite-plain", "sqlite-crypt"],
)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BaseAsyncSessionModule]:
    opener, crypt = request.param
    crypt_options = {"is_session_crypt": True, "session_aes_secret": KEY} if crypt else {}
    async with opener(tmp_path, serializer="cbor", **crypt_options) as opened:
        yield opened


async def test_a_session_of_rich_types_round_trips(store: BaseAsyncSessionModule) -> None:
    session_id = await store.create("alice", RICH_SESSION)
    assert RICH_SESSION == await store.get(session_id)
    changed = {**RICH_SESSION, "logged_in_at": dt.datetime(2026, 11, 28, tzinfo=dt.UTC)}
    await store.update(session_id, changed)
    new_id = await store.rework(session_id)
    assert changed == await store.get(new_id)


async def test_jams_text_api_carries_binary_data_as_base64() -> None:
    store = jamsession.open("memory", serializer="cbor")
    text = store.__encode_session_data__(RICH_SESSION)
    assert text.isascii()
    assert RICH_SESSION == store.__decode_session_data__(text)


async def test_unsupported_data_is_refused_and_nothing_is_stored(store: BaseAsyncSessionModule) -> None:
    session_id = await store.create("alice", {"n": 1})
    with pytest.raises(jamsession.UnsupportedTypeError):
        await store.update(session_id, {"naive": dt.datetime(2026, 11, 27, 12, 0)})
    with pytest.raises(jamsession.UnsupportedTypeError):
        await store.create("alice", {"thing": object()})
    assert {"n": 1} == await store.get(session_id)


async def stored_size(tmp_path: Path, serializer: str) -> int:
    """Bytes in the SQLite ``data`` column for the typical session."""
    path = tmp_path / f"{serializer}.db"
    async with jamsession.open("sqlite", path=path, serializer=serializer) as store:
        await store.create("user:48213", typical_session())
    with sqlite3.connect(path) as connection:
        (size,) = connection.execute("SELECT length(data) FROM sessions").fetchone()
    connection.close()
    return int(size)


async def test_a_typical_session_is_smaller_in_cbor_than_in_json(tmp_path: Path) -> None:
    data = typical_session()
    json_size = len(jamsession.JsonEncoder.dumps(data))
    cbor_size = len(CborEncoder.dumps(data))
    json_stored, cbor_stored = await stored_size(tmp_path, "json"), await stored_size(tmp_path, "cbor")
    print(
        f"typical session: JSON {json_size} B, CBOR {cbor_size} B "
        f"({100 * (json_size - cbor_size) / json_size:.0f}% smaller); "
        f"stored by SQLite: JSON {json_stored} B, CBOR {cbor_stored} B"
    )
    assert cbor_size < json_size
    # The BLOB column keeps the CBOR bytes as they are: no base64 on the way.
    assert (json_size, cbor_size) == (json_stored, cbor_stored)
