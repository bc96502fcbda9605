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
from jamsession._crypto import PURPOSE_DATA, KeyRing
from jamsession_memory import MemorySessions

KEY = jamsession.generate_key()


def test_constructor_matches_jams_api() -> None:
    parameters = inspect.signature(BaseAsyncSessionModule).parameters
    assert ["id_factory", "is_session_crypt", "session_aes_secret", "serializer", "logger"] == list(
        parameters
    )
    assert (False, None, JsonEncoder, None) == tuple(
        parameters[name].default
        for name in ("is_session_crypt", "session_aes_secret", "serializer", "logger")
    )


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


class CountingDecrypts(MemorySessions):
    token_cache_size = 3

    def __init__(self) -> None:
        super().__init__(is_session_crypt=True, session_aes_secret=KEY)
        self.decrypts = 0
        decode = self.__decode_session_id__

        def counted(token: str) -> str:
            self.decrypts += 1
            return decode(token)

        self.__decode_session_id__ = counted  # type: ignore[method-assign]


async def test_tokens_handed_out_lately_are_not_decrypted_again() -> None:
    store = CountingDecrypts()
    token = await store.create("alice", {"n": 1})
    assert {"n": 1} == await store.get(token)
    await store.update(token, {"n": 2})
    assert 0 == store.decrypts


async def test_the_token_cache_is_bounded_and_forgets_the_oldest_first() -> None:
    store = CountingDecrypts()
    tokens = [await store.create("alice", {"i": i}) for i in range(5)]
    assert [{"i": 2}, {"i": 3}, {"i": 4}] == [await store.get(token) for token in tokens[2:]]
    assert 0 == store.decrypts
    assert {"i": 0} == await store.get(tokens[0])
    assert (1, 3) == (store.decrypts, len(store._raw_ids))


async def test_tokens_that_fail_to_decrypt_are_never_remembered() -> None:
    store = CountingDecrypts()
    token = await store.create("alice", {})
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BA")
    assert [None, None] == [await store.get(tampered), await store.get(tampered)]
    assert 2 == store.decrypts
    assert tampered not in store._raw_ids


async def test_a_token_cache_of_size_zero_remembers_nothing() -> None:
    store = CountingDecrypts()
    store.token_cache_size = 0
    token = await store.create("alice", {"n": 1})
    assert {"n": 1} == await store.get(token)
    assert (1, 0) == (store.decrypts, len(store._raw_ids))


async def test_a_smaller_token_cache_shrinks_at_the_next_token() -> None:
    store = CountingDecrypts()
    tokens = [await store.create("alice", {}) for _ in range(3)]
    store.token_cache_size = 1
    newest = await store.create("alice", {})
    assert [newest] == list(store._raw_ids)
    assert {} == await store.get(tokens[0])
    assert 1 == store.decrypts


class CountingKeyRing(KeyRing):
    __slots__ = ("data_decrypts",)
    data_decrypts: int

    def decrypt(self, blob: bytes, purpose: bytes) -> bytes:
        self.data_decrypts += purpose == PURPOSE_DATA
        return super().decrypt(blob, purpose)


class CountingDataDecrypts(MemorySessions):
    data_cache_size = 3

    def __init__(self) -> None:
        super().__init__(is_session_crypt=True, session_aes_secret=KEY)
        self._keyring = self.keyring = CountingKeyRing(KEY)
        self.keyring.data_decrypts = 0


async def test_data_written_lately_is_not_decrypted_again() -> None:
    store = CountingDataDecrypts()
    token = await store.create("alice", {"n": 1})
    assert {"n": 1} == await store.get(token)
    await store.update(token, {"n": 2})
    assert [{"n": 2}, {"n": 2}] == [await store.get(token), await store.get(token)]
    assert 0 == store.keyring.data_decrypts


async def test_the_data_cache_is_bounded_and_forgets_the_oldest_first() -> None:
    store = CountingDataDecrypts()
    tokens = [await store.create("alice", {"i": i}) for i in range(5)]
    assert [{"i": 2}, {"i": 3}, {"i": 4}] == [await store.get(token) for token in tokens[2:]]
    assert 0 == store.keyring.data_decrypts
    assert [{"i": 0}, {"i": 0}] == [await store.get(tokens[0]), await store.get(tokens[0])]
    assert (1, 3) == (store.keyring.data_decrypts, len(store._plain_data))


def test_stored_data_differing_in_one_byte_is_decrypted_and_refused() -> None:
    store = CountingDataDecrypts()
    sealed = store._dump_data({"n": 1})
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    for _ in range(2):
        with pytest.raises(SerializationError, match="fails authentication"):
            store._load_data(tampered)
    assert (2, False) == (store.keyring.data_decrypts, tampered in store._plain_data)
    assert {"n": 1} == store._load_data(sealed)


def test_stored_data_in_another_buffer_type_is_decrypted_every_time() -> None:
    store = CountingDataDecrypts()
    sealed = store._dump_data({"n": 1})
    assert [{"n": 1}, {"n": 1}] == [store._load_data(bytearray(sealed)) for _ in range(2)]  # type: ignore[arg-type] # a backend's buffer
    assert 2 == store.keyring.data_decrypts


async def test_a_data_cache_of_size_zero_remembers_nothing() -> None:
    store = CountingDataDecrypts()
    store.data_cache_size = 0
    token = await store.create("alice", {"n": 1})
    assert [{"n": 1}, {"n": 1}] == [await store.get(token), await store.get(token)]
    assert (2, 0) == (store.keyring.data_decrypts, len(store._plain_data))


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
    assert listed.session_id not in shown
    assert "SECRET-CSRF-VALUE" not in shown
    assert record.raw_id not in shown


async def test_any_error_of_a_third_party_serializer_is_typed_and_writes_nothing() -> None:
    class Leaky(JsonEncoder):
        @classmethod
        def dumps(cls, data: dict[str, Any], /) -> bytes:
            raise KeyError("lookup inside the serializer")

    store = MemorySessions(serializer=Leaky)
    with pytest.raises(UnsupportedTypeError, match="KeyError"):
        await store.create("alice", {"a": 1})
    assert 0 == len(store)
