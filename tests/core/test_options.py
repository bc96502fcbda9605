"""Options declared once per store class, read by configuration whatever the annotation's spelling."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Literal, Optional

import pytest

import jamsession
from jamsession import ConfigError, Option, RecordOptions, options_of
from jamsession._options import BASE_OPTIONS, RECORD_OPTIONS
from jamsession._registry import _registered
from jamsession_memory import MemorySessions
from jamsession_mongodb import MongoSessions
from jamsession_sqlite import SqliteSessions

# Written the pre-3.10 way on purpose: configuration must read it as `float | None`.
OLD_STYLE_TTL = Optional[float]  # noqa: UP045 - the spelling under test


class DeclaredSessions(jamsession.RecordSessionModule):
    """A backend declaring an option with ``Optional[...]``; storage is never used here."""

    options = (Option("shards", Optional[int], None, "how many shards"),)  # noqa: UP045 - the spelling under test

    def __init__(self, *, shards: int | None = None, **options: typing.Unpack[RecordOptions]) -> None:
        super().__init__(**options)
        self.shards = shards

    insert_record = fetch_record = replace_record = move_record = None  # type: ignore[assignment]
    remove_record = remove_key_records = list_key_records = purge_records = None  # type: ignore[assignment]


SOURCE_UNDECLARED = """
from __future__ import annotations

from typing import Optional

from jamsession import BaseAsyncSessionModule


class OldStyleSessions(BaseAsyncSessionModule):
    def __init__(self, *, default_ttl: Optional[float] = None, verbose: Optional[bool] = None, **kw) -> None:
        super().__init__(**kw)
        self.default_ttl = default_ttl
        self.verbose = verbose

    async def create(self, session_key, data): ...
    async def get(self, session_id): ...
    async def update(self, session_id, data): ...
    async def delete(self, session_id): ...
    async def clear(self, session_key): ...
    async def rework(self, session_id): ...
"""


@pytest.fixture
def registered() -> typing.Iterator[None]:
    yield
    _registered["backend"].clear()


@pytest.mark.parametrize("text", ["60", "60.0"])
def test_an_undeclared_optional_float_is_read_from_the_environment(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registered: None
) -> None:
    # Its annotation is the text "Optional[float]", not "float | None".
    (tmp_path / "old_style_sessions.py").write_text(SOURCE_UNDECLARED)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("JAMSESSION_DEFAULT_TTL", text)
    monkeypatch.setenv("JAMSESSION_VERBOSE", "yes")
    store = jamsession.open("old_style_sessions:OldStyleSessions")
    assert (60.0, True) == (store.default_ttl, store.verbose)  # type: ignore[attr-defined]


def test_a_declared_optional_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, registered: None
) -> None:
    jamsession.register_backend("declared", DeclaredSessions)
    monkeypatch.setenv("JAMSESSION_DEFAULT_TTL", "60")
    monkeypatch.setenv("JAMSESSION_SHARDS", "4")
    store = jamsession.open("declared")
    assert (60, 4) == (store.default_ttl, store.shards)  # type: ignore[attr-defined]
    monkeypatch.setenv("JAMSESSION_SHARDS", "none")
    assert jamsession.open("declared").shards is None  # type: ignore[attr-defined]
    monkeypatch.setenv("JAMSESSION_SHARDS", "2.5")
    with pytest.raises(ConfigError, match=r"JAMSESSION_SHARDS='2\.5' is not a whole number"):
        jamsession.open("declared")


def test_a_backend_declares_only_its_own_options() -> None:
    assert ("max_sessions",) == tuple(option.name for option in MemorySessions.options)
    everything = options_of(MemorySessions)
    assert [*(o.name for o in BASE_OPTIONS), *(o.name for o in RECORD_OPTIONS), "max_sessions"] == list(
        everything
    )


@pytest.mark.parametrize("cls", [MemorySessions, SqliteSessions, MongoSessions])
def test_every_constructor_argument_of_a_built_in_backend_is_declared(cls: type) -> None:
    import inspect

    declared = {name for klass in cls.__mro__ for name in (o.name for o in vars(klass).get("options", ()))}
    parameters = {
        name
        for name, parameter in inspect.signature(cls).parameters.items()
        if parameter.kind is not parameter.VAR_KEYWORD
    }
    assert parameters <= declared
    assert set(RecordOptions.__annotations__) == {o.name for o in (*BASE_OPTIONS, *RECORD_OPTIONS)}


def test_options_read_text_by_their_declared_type() -> None:
    synchronous = options_of(SqliteSessions)["synchronous"]
    assert "full" == synchronous.from_text("full", source="X")
    assert "'off' | 'normal' | 'full' | 'extra'" == synchronous.type_text()
    path = options_of(SqliteSessions)["path"]
    assert (True, Option.REQUIRED, "required") == (path.path, path.default, path.default_text())
    assert ["a", "b"] == options_of(MemorySessions)["session_aes_secret"].from_text("a, b", source="X")
    assert () == options_of(MemorySessions)["clock"].variables
    assert ("JAMSESSION_IS_SESSION_CRYPT", "JAMSESSION_CRYPT") == options_of(MemorySessions)[
        "is_session_crypt"
    ].variables
    assert "float | None" == Option("x", OLD_STYLE_TTL).type_text()
    assert "'a' | 'b'" == Option("x", Literal["a", "b"]).type_text()


def test_a_write_concern_from_text_is_a_number_or_a_tag() -> None:
    write_concern = options_of(MongoSessions)["write_concern"]
    assert (1, "majority", None) == tuple(
        write_concern.from_text(text, source="JAMSESSION_WRITE_CONCERN") for text in ("1", "majority", "none")
    )
