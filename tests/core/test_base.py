"""The seed's public contract of BaseAsyncSessionModule."""

import inspect
import logging
import subprocess
import sys
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


def test_constructor_matches_the_seed() -> None:
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
    ids = {MemorySessions().id for _ in range(100)}
    assert 100 == len(ids)
    for raw in ids:
        assert (36, "4") == (len(raw), raw[14])


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
    assert "<MemorySessions serializer=JsonEncoder crypt=on>" == repr(store)


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
