"""Jam's public contract of BaseAsyncSessionModule."""

import inspect
import logging
import subprocess
import sys
import uuid
from typing import Any

import pytest

import jamsession
from jamsession import (
    BaseAsyncSessionModule,
    InvalidSessionToken,
    JamSessionEmptyAESKey,
    JamSessionNotFound,
    JsonEncoder,
    SerializationError,
    UnsupportedTypeError,
)
from jamsession_memory import MemorySessions

KEY = jamsession.generate_key()


def test_constructor_matches_jams_api() -> None:
    parameters = inspect.signature(BaseAsyncSessionModule).parameters
    assert ["id_factory", "is_session_crypt", "session_aes_secret", "serializer", "logger"] == list(
        parameters
    )
    # The seed's default serializer, JsonEncoder, is named rather than imported: the core imports no plugin.
    assert (False, None, "json", None) == tuple(
        parameters[name].default
        for name in ("is_session_crypt", "session_aes_secret", "serializer", "logger")
    )


def test_the_default_serializer_is_json_encoder() -> None:
    assert JsonEncoder is MemorySessions().serializer


def test_calling_the_class_looks_a_serializer_name_up_when_the_store_is_built() -> None:
    assert jamsession.load_serializer("cbor") is MemorySessions(serializer="cbor").serializer
    with pytest.raises(jamsession.PluginNotFoundError) as caught:
        MemorySessions(serializer="jsno")
    assert ("serializer", "jsno") == (caught.value.kind, caught.value.name)


def test_the_six_methods_are_abstract() -> None:
    assert {
        "create",
        "get",
        "update",
        "delete",
        "rework",
        "clear",
    } == BaseAsyncSessionModule.__abstractmethods__
    for name in BaseAsyncSessionModule.__abstractmethods__:
        assert inspect.iscoroutinefunction(getattr(BaseAsyncSessionModule, name))


def test_default_ids_are_uuid4_text() -> None:
    ids = {MemorySessions().id for _ in range(1000)}
    assert 1000 == len(ids)
    for raw in ids:
        parsed = uuid.UUID(raw)
        assert (raw, 4, uuid.RFC_4122) == (str(parsed), parsed.version, parsed.variant)


def test_id_factory_is_used() -> None:
    assert "fixed" == MemorySessions(id_factory=lambda: "fixed").id


def test_id_encoding_round_trips_and_is_url_safe() -> None:
    store = MemorySessions(is_session_crypt=True, session_aes_secret=KEY)
    token = store.__encode_session_id__("raw-id")
    assert "raw-id" == store.__decode_session_id__(token)
    assert token != store.__encode_session_id_if_needed__("raw-id")  # a fresh nonce each time
    assert "raw-id" == store.__decode_session_id_if_needed__(store.__encode_session_id_if_needed__("raw-id"))
    uuid_token = store.__encode_session_id__(store.id)
    assert len(uuid_token) <= 90
    with pytest.raises(InvalidSessionToken):
        store.__decode_session_id__(token[:-1])


def test_without_crypt_ids_pass_through() -> None:
    store = MemorySessions()
    assert "abc" == store.__encode_session_id_if_needed__("abc")
    assert "abc" == store.__decode_session_id_if_needed__("abc")
    with pytest.raises(JamSessionEmptyAESKey):
        store.__encode_session_id__("abc")


@pytest.mark.parametrize("crypt", [False, True])
def test_data_encoding_round_trips(crypt: bool) -> None:
    store = MemorySessions(is_session_crypt=crypt, session_aes_secret=KEY if crypt else None)
    text = store.__encode_session_data__({"a": [1, "é"]})
    assert isinstance(text, str)
    assert {"a": [1, "é"]} == store.__decode_session_data__(text)
    if crypt:
        assert "é" not in text
        with pytest.raises(SerializationError):
            store.__decode_session_data__(text[:-2])
    else:
        assert '{"a":[1,"é"]}' == text


def test_data_that_is_not_a_dict_is_refused() -> None:
    with pytest.raises(UnsupportedTypeError):
        MemorySessions().__encode_session_data__(["not", "a", "dict"])  # type: ignore[arg-type]


def test_errors_subclass_the_builtins_that_describe_them() -> None:
    assert issubclass(JamSessionNotFound, LookupError)
    assert issubclass(jamsession.PluginNotFoundError, LookupError)
    assert issubclass(jamsession.PluginLoadError, ImportError)
    assert issubclass(UnsupportedTypeError, TypeError)
    assert issubclass(SerializationError, ValueError)
    assert issubclass(jamsession.BackendUnavailableError, ConnectionError)
    assert issubclass(jamsession.ConfigError, ValueError)


def test_repr_shows_no_key_material() -> None:
    store = MemorySessions(is_session_crypt=True, session_aes_secret=KEY)
    assert (
        "<MemorySessions serializer=JsonEncoder crypt=on "
        "sessions=this process only, not shared with other workers>"
    ) == repr(store)


def test_default_logger_is_jamsession() -> None:
    assert logging.getLogger("jamsession") is MemorySessions().logger


async def test_any_logger_like_object_works() -> None:
    class ListLogger:
        def __init__(self) -> None:
            self.lines: list[str] = []

        def _log(self, msg: str, *args: Any) -> None:
            self.lines.append(msg % args)

        debug = info = warning = error = _log

    logger = ListLogger()
    store = MemorySessions(logger=logger)
    session_id = await store.create("alice", {"secret": "hunter2"})
    store._records[session_id] = store._records[session_id].__class__(
        session_id, "alice", b"\xff corrupted", 0.0, None
    )
    assert await store.get(session_id) is None
    assert 1 == len(logger.lines)
    assert "hunter2" not in logger.lines[0]
    assert session_id not in logger.lines[0]


def test_public_names_are_sorted() -> None:
    assert sorted(jamsession.__all__) == jamsession.__all__
    for name in jamsession.__all__:
        assert hasattr(jamsession, name)


@pytest.mark.parametrize(
    "first", ["jamsession", "jamsession_json", "jamsession_memory", "jamsession.testing", "jamsession._base"]
)
def test_core_and_preinstalled_plugins_import_in_any_order(first: str) -> None:
    code = f"import {first}; import jamsession; print(jamsession.JsonEncoder.__module__)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "jamsession_json._encoder\n" == result.stdout


def test_stored_data_differing_in_one_byte_is_refused() -> None:
    store = MemorySessions(is_session_crypt=True, session_aes_secret=KEY)
    sealed = store._dump_data({"n": 1})
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SerializationError, match="fails authentication"):
        store._load_data(tampered)
    assert {"n": 1} == store._load_data(sealed)


@pytest.mark.parametrize("session_key", [None, 42, b"alice"])
async def test_a_session_key_that_is_not_text_gets_a_typed_error(session_key: Any) -> None:
    store = MemorySessions()
    for call in (lambda: store.create(session_key, {}), lambda: store.clear(session_key)):
        with pytest.raises(jamsession.InvalidSessionKeyError, match="session_key must be a str"):
            await call()


@pytest.mark.parametrize("crypt", [False, True])
def test_encoded_data_that_is_not_text_gets_a_typed_error(crypt: bool) -> None:
    store = MemorySessions(is_session_crypt=crypt, session_aes_secret=KEY if crypt else None)
    with pytest.raises(SerializationError, match="not bytes"):
        store.__decode_session_data__(b"{}")  # type: ignore[arg-type] # the wrong type on purpose


@pytest.mark.parametrize(
    ("crypt", "made", "expected"),
    [
        (False, 42, "not a int"),
        (False, "caf\u00e9", "not a str of 4 characters"),
        (False, "x" * 513, "not a str of 513 characters"),
        (True, "x" * 400, "IDs must be at most 355 characters"),
    ],
)
async def test_an_id_factory_making_ids_get_would_refuse_fails_create(
    crypt: bool, made: Any, expected: str
) -> None:
    store = MemorySessions(
        id_factory=lambda: made, is_session_crypt=crypt, session_aes_secret=KEY if crypt else None
    )
    with pytest.raises(jamsession.ConfigError, match=expected):
        await store.create("alice", {})
    assert [] == await store.list_sessions("alice")


async def test_listed_sessions_log_without_their_tokens_or_data() -> None:
    store = MemorySessions(is_session_crypt=True, session_aes_secret=KEY)
    token = await store.create("alice", {"csrf": "SECRET-CSRF-VALUE"})
    (listed,) = await store.list_sessions("alice")
    (record,) = store._records.values()
    shown = repr([listed, record])
    assert "alice" in shown
    assert token not in shown
    assert "SECRET-CSRF-VALUE" not in shown
    assert record.raw_id not in shown
    # The handle names the session without being a token: it may be shown.
    assert listed.handle in shown


async def test_listed_sessions_hand_out_no_working_token() -> None:
    store = MemorySessions(is_session_crypt=True, session_aes_secret=KEY)
    token = await store.create("alice", {"n": 1})
    (listed,) = await store.list_sessions("alice")
    assert not hasattr(listed, "session_id")
    assert await store.get(listed.handle) is None
    await store.delete(listed.handle)
    assert {"n": 1} == await store.get(token)


async def test_any_error_of_a_third_party_serializer_is_typed_and_writes_nothing() -> None:
    class Leaky(JsonEncoder):
        @classmethod
        def dumps(cls, data: dict[str, Any], /) -> bytes:
            raise KeyError("lookup inside the serializer")

    store = MemorySessions(serializer=Leaky)
    with pytest.raises(UnsupportedTypeError, match="KeyError"):
        await store.create("alice", {"a": 1})
    assert 0 == len(store)


async def test_session_handle_is_the_handle_listings_give_and_the_hooks_fingerprint() -> None:
    from jamsession._hooks import fingerprint

    store = MemorySessions(is_session_crypt=True, session_aes_secret=KEY)
    token = await store.create("alice", {})
    raw_id = store.__decode_session_id__(token)
    (listed,) = await store.list_sessions("alice")
    assert listed.handle == jamsession.session_handle(raw_id) == fingerprint(raw_id)
    assert 16 == len(listed.handle)
    assert raw_id not in listed.handle
