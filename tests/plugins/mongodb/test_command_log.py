"""PyMongo's command log at DEBUG: a store's commands appear without their documents."""

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from jamsession_mongodb import MongoSessions
from jamsession_mongodb._command_log import COMMAND_LOGGER, WITHHELD, SessionCommandFilter


@pytest_asyncio.fixture
async def store(pymongo_client: Any, database: str, collection_name: str) -> AsyncIterator[MongoSessions]:
    async with MongoSessions(client=pymongo_client, database=database, collection=collection_name) as store:
        yield store


@pytest.fixture
def command_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger=COMMAND_LOGGER)
    return caplog


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == COMMAND_LOGGER]


async def test_a_stores_commands_are_logged_without_ids_or_data(
    store: MongoSessions, collection_name: str, command_log: pytest.LogCaptureFixture
) -> None:
    session_id = await store.create("alice", {"secret": "hunter2"})
    assert {"secret": "hunter2"} == await store.get(session_id)
    await store.update(session_id, {"secret": "swordfish"})
    new_id = await store.rework(session_id)
    await store.delete(new_id)

    messages = _messages(command_log)
    # Commands name their collection; replies do not, but are withheld too.
    assert [] == [message for message in messages if collection_name in message and WITHHELD not in message]
    assert len([message for message in messages if WITHHELD in message]) >= 10  # 5 commands, 5 replies
    for secret in (session_id, new_id, "alice", "hunter2", "swordfish"):
        assert [] == [message for message in messages if secret in message]


async def test_other_collections_commands_are_logged_in_full(
    store: MongoSessions, pymongo_client: Any, database: str, command_log: pytest.LogCaptureFixture
) -> None:
    await store.create("alice", {})
    other = pymongo_client[database]["not_sessions"]
    await other.insert_one({"_id": "visible-marker"})
    assert {"_id": "visible-marker"} == await other.find_one({"_id": "visible-marker"})
    await other.drop()

    marked = [message for message in _messages(command_log) if "visible-marker" in message]
    # insert and find started, find's reply.
    assert len(marked) >= 3
    assert [] == [message for message in marked if WITHHELD in message]


class _Message:
    """A log message shaped as PyMongo's: fields kept unformatted until ``str``."""

    def __init__(self, **fields: Any) -> None:
        self._kwargs = fields

    def __str__(self) -> str:
        return repr(self._kwargs)


def _record(message: object) -> logging.LogRecord:
    return logging.LogRecord(COMMAND_LOGGER, logging.DEBUG, __file__, 1, message, (), None)


def _watching() -> SessionCommandFilter:
    log_filter = SessionCommandFilter()
    log_filter.watch("db", "sessions")
    return log_filter


def _event(name: str, request_id: int, database: str = "db", **document: Any) -> _Message:
    """A command, reply or failure event of request ``request_id`` on one connection."""
    return _Message(
        commandName=name, databaseName=database, requestId=request_id, driverConnectionId=1, **document
    )


def test_the_reply_and_failure_of_a_watched_command_are_withheld_and_others_kept() -> None:
    log_filter = _watching()
    started = _event("find", 7, command={"find": "sessions", "filter": {"sid": "token"}})
    reply = _event("find", 7, reply={"cursor": "data"})
    insert = _event("insert", 8, command={"insert": "sessions"})
    failure = _event("insert", 8, failure={"code": 11000, "errmsg": "dup key: token"})
    unrelated = _event("find", 9, reply={"cursor": "data"})
    for message in (started, reply, insert, failure, unrelated):
        assert log_filter.filter(_record(message))

    assert {"find": "sessions", "withheld": WITHHELD} == started._kwargs["command"]
    assert {"withheld": WITHHELD} == reply._kwargs["reply"]
    assert {"code": 11000, "withheld": WITHHELD} == failure._kwargs["failure"]
    assert {"cursor": "data"} == unrelated._kwargs["reply"]


def test_commands_that_name_no_collection_pass_unchanged() -> None:
    log_filter = _watching()
    commands: list[dict[str, Any]] = [{"endSessions": [{"id": 1}]}, {"hello": 1}, {"find": "sessions"}]
    messages = [
        _event(next(iter(command)), 1, database, command=command)
        for command, database in zip(commands, ["db", "admin", "other_db"], strict=True)
    ]
    for message in messages:
        assert log_filter.filter(_record(message))
    assert commands == [message._kwargs["command"] for message in messages]


def test_a_get_more_on_a_watched_collection_is_withheld() -> None:
    log_filter = _watching()
    message = _event("getMore", 1, command={"getMore": 5, "collection": "sessions"})
    assert log_filter.filter(_record(message))
    assert {"getMore": 5, "withheld": WITHHELD} == message._kwargs["command"]


def test_a_record_not_shaped_as_pymongos_is_withheld_whole() -> None:
    record = _record("find on sessions: token")
    assert _watching().filter(record)
    assert WITHHELD in record.getMessage()
    assert "token" not in record.getMessage()


class _Unreadable(dict[str, Any]):
    def get(self, key: str, default: Any = None) -> Any:
        raise KeyError(key)


def test_a_record_that_fails_to_read_is_withheld_whole_instead_of_raising() -> None:
    record = _record(_Message(commandName="find", command=_Unreadable(find="sessions")))
    assert _watching().filter(record)
    assert WITHHELD in record.getMessage()
