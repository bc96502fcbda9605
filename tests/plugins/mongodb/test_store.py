"""What the MongoDB backend does beyond the shared contract: documents, indexes, options, clients."""

import asyncio
import math
import time
import traceback
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any, ClassVar

import pytest
import pytest_asyncio
from pymongo import ReadPreference, monitoring
from pymongo.uri_parser import parse_uri
from pymongo.write_concern import WriteConcern

import jamsession
from jamsession import BackendUnavailableError, ConfigError, JamSessionError, SerializationError
from jamsession.testing import FakeClock
from jamsession_mongodb import MongoSessions
from jamsession_mongodb._client import redact

INDEX_NAMES = ["_id_", "jamsession_expires", "jamsession_key", "jamsession_sid"]


@pytest_asyncio.fixture
async def store(pymongo_client: Any, database: str, collection_name: str) -> AsyncIterator[MongoSessions]:
    async with MongoSessions(client=pymongo_client, database=database, collection=collection_name) as store:
        yield store


@pytest.fixture
def raw(pymongo_client: Any, database: str, collection_name: str) -> Any:
    """The test's collection as the app's client sees it, default codec options."""
    return pymongo_client[database][collection_name]


# -- the documents ------------------------------------------------------------------


async def test_a_session_is_one_document_with_binary_data_and_a_date_expiry(
    store: MongoSessions, raw: Any
) -> None:
    store.default_ttl = 3600
    session_id = await store.create("alice", {"n": 1})
    [document] = await raw.find().to_list(None)
    assert ["_id", "created", "data", "expires", "fmt", "key", "sid"] == sorted(document)
    assert "jamsession_json.JsonEncoder" == document["fmt"] == store.data_format
    assert session_id == document["sid"]
    assert "alice" == document["key"]
    assert isinstance(document["data"], bytes)  # BSON binary; a BSON string would decode to str
    assert isinstance(document["expires"], datetime)
    assert 3600 == round((document["expires"] - document["created"]).total_seconds())


async def test_a_session_without_ttl_has_no_expiry_field(store: MongoSessions, raw: Any) -> None:
    await store.create("alice", {})
    [document] = await raw.find().to_list(None)
    assert "expires" not in document


async def test_data_is_encrypted_at_rest_when_crypt_is_on(
    pymongo_client: Any, database: str, collection_name: str, raw: Any
) -> None:
    store = MongoSessions(
        client=pymongo_client,
        database=database,
        collection=collection_name,
        is_session_crypt=True,
        session_aes_secret=jamsession.generate_key(),
    )
    session_id = await store.create("alice", {"secret": "hunter2"})
    [document] = await raw.find().to_list(None)
    assert b"hunter2" not in document["data"]
    assert document["sid"] != session_id  # the token is the encrypted form of the stored ID
    assert {"secret": "hunter2"} == await store.get(session_id)


async def test_session_keys_that_are_not_utf8_round_trip(store: MongoSessions) -> None:
    odd = "user\ud800"
    session_id = await store.create(odd, {"n": 1})
    kept = await store.create("user", {"n": 2})
    assert [odd] == [info.session_key for info in await store.list_sessions(odd)]
    await store.clear(odd)
    assert await store.get(session_id) is None
    assert {"n": 2} == await store.get(kept)


async def test_operator_shaped_keys_match_only_themselves(store: MongoSessions) -> None:
    others = [await store.create(key, {}) for key in ["alice", "bob", "$where", "a.b"]]
    for key in ['{"$ne": null}', "$ne", "$where", "{'$gt': ''}"]:
        await store.clear(key)
    assert [{}, {}, None, {}] == [await store.get(session_id) for session_id in others]


async def test_a_very_long_ttl_does_not_overflow_the_date(store: MongoSessions) -> None:
    store.default_ttl = 1e300
    session_id = await store.create("alice", {"n": 1})
    assert {"n": 1} == await store.get(session_id)


async def test_data_too_large_for_a_document_is_a_serialization_error(store: MongoSessions) -> None:
    too_large = {"blob": "x" * (17 * 1024 * 1024)}
    with pytest.raises(SerializationError):
        await store.create("alice", too_large)
    assert [] == await store.list_sessions("alice")
    session_id = await store.create("alice", {"n": 1})
    with pytest.raises(SerializationError):
        await store.update(session_id, too_large)
    assert {"n": 1} == await store.get(session_id)


async def test_a_duplicate_id_from_the_id_factory_is_a_typed_error(
    pymongo_client: Any, database: str, collection_name: str
) -> None:
    store = MongoSessions(
        client=pymongo_client, database=database, collection=collection_name, id_factory=lambda: "same-id"
    )
    await store.create("alice", {"n": 1})
    with pytest.raises(JamSessionError, match="unique") as caught:
        await store.create("bob", {"n": 2})
    assert {"n": 1} == await store.get("same-id")
    # The driver's message quotes the ID, which is the cookie when crypt is off.
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ is True
    assert "same-id" not in "".join(traceback.format_exception(caught.value))
    assert "same-id" not in repr(caught.value)


# -- expiry -------------------------------------------------------------------------


async def test_reads_filter_expired_documents_the_server_still_holds(store: MongoSessions, raw: Any) -> None:
    clock = FakeClock()
    store.clock, store.default_ttl = clock, 60
    session_id = await store.create("alice", {})
    clock.advance(61)
    assert await store.get(session_id) is None
    assert [] == await store.list_sessions("alice")
    assert 1 == await raw.count_documents({})


async def test_the_server_removes_expired_documents_itself(store: MongoSessions, raw: Any) -> None:
    store.default_ttl = 0.5
    await store.create("alice", {})
    # SecantusDB sweeps every second here; mongod's TTL monitor runs every 60 s.
    deadline = time.monotonic() + 150
    while await raw.count_documents({}) and time.monotonic() < deadline:  # noqa: ASYNC110 - polls the server
        await asyncio.sleep(0.25)
    assert 0 == await raw.count_documents({})


async def test_sliding_expiry_moves_the_stored_date(store: MongoSessions, raw: Any) -> None:
    clock = FakeClock()
    store.clock, store.default_ttl, store.sliding_expiry = clock, 60, True
    session_id = await store.create("alice", {})
    before = (await raw.find_one())["expires"]
    clock.advance(30)
    await store.get(session_id)
    assert 30 == round(((await raw.find_one())["expires"] - before).total_seconds())


class SmallBatches(MongoSessions):
    purge_batch_size: ClassVar[int] = 3


async def test_purge_works_in_batches_and_spares_live_sessions(
    pymongo_client: Any, database: str, collection_name: str, raw: Any
) -> None:
    clock = FakeClock()
    store = SmallBatches(
        client=pymongo_client, database=database, collection=collection_name, default_ttl=60, clock=clock
    )
    for i in range(10):
        await store.create("alice", {"i": i})
    clock.advance(61)
    live = await store.create("alice", {"live": True})
    assert 10 == await store.purge_expired()
    entry = await store.load(live)
    assert entry is not None
    assert [entry.handle] == [info.handle for info in await store.list_sessions("alice")]
    assert 1 == await raw.count_documents({})


# -- indexes ------------------------------------------------------------------------


async def test_indexes_are_made_on_first_use(store: MongoSessions, raw: Any) -> None:
    await store.get("no-such-session")
    indexes = await raw.index_information()
    assert INDEX_NAMES == sorted(indexes)
    assert indexes["jamsession_sid"]["unique"] is True
    assert [("sid", 1)] == indexes["jamsession_sid"]["key"]
    assert [("key", 1)] == indexes["jamsession_key"]["key"]
    assert 0 == indexes["jamsession_expires"]["expireAfterSeconds"]


async def test_ensuring_indexes_is_idempotent(
    pymongo_client: Any, database: str, collection_name: str, raw: Any
) -> None:
    stores = [MongoSessions(client=pymongo_client, database=database, collection=collection_name)]
    stores.append(MongoSessions(client=pymongo_client, database=database, collection=collection_name))
    await asyncio.gather(*(store.create("alice", {}) for store in stores for _ in range(5)))
    assert INDEX_NAMES[1:] == sorted(await stores[0].ensure_indexes())
    assert INDEX_NAMES == sorted(await raw.index_information())


async def test_no_indexes_are_made_when_create_indexes_is_off(
    pymongo_client: Any, database: str, collection_name: str, raw: Any
) -> None:
    store = MongoSessions(
        client=pymongo_client, database=database, collection=collection_name, create_indexes=False
    )
    await store.create("alice", {})
    assert ["_id_"] == sorted(await raw.index_information())


class CreateIndexesCounter(monitoring.CommandListener):
    def __init__(self) -> None:
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.count += event.command_name == "createIndexes"

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_concurrent_first_operations_create_the_indexes_once(
    make_client: Callable[..., Any], mongodb_url: str, database: str, collection_name: str, raw: Any
) -> None:
    counter = CreateIndexesCounter()
    client = make_client("pymongo", mongodb_url, event_listeners=[counter])
    store = MongoSessions(client=client, database=database, collection=collection_name)
    assert [None] * 50 == await asyncio.gather(*(store.get(f"id-{i}") for i in range(50)))
    assert 1 == counter.count
    assert INDEX_NAMES == sorted(await raw.index_information())
    await store.get("id-0")
    assert 1 == counter.count


async def test_duplicate_ids_blocking_the_unique_index_are_a_config_error(
    store: MongoSessions, raw: Any
) -> None:
    await raw.insert_many([{"sid": "same-id", "key": "alice"}, {"sid": "same-id", "key": "bob"}])
    with pytest.raises(ConfigError, match="same session ID") as caught:
        await store.get("other-id")
    assert str(caught.value).startswith("get (index creation): ")
    assert caught.value.__cause__ is None
    assert "same-id" not in "".join(traceback.format_exception(caught.value))


async def test_an_index_of_our_name_with_other_options_is_a_config_error(
    store: MongoSessions, raw: Any
) -> None:
    await raw.create_index("expires", name="jamsession_expires", expireAfterSeconds=3600)
    with pytest.raises(ConfigError, match="index"):
        await store.create("alice", {})


# -- the client and the primary -------------------------------------------------------


async def test_a_secondary_preferring_client_still_reads_its_own_writes(
    make_client: Callable[..., Any], mongodb_url: str, database: str, collection_name: str
) -> None:
    for kind in ("pymongo", "motor"):
        client = make_client(kind, mongodb_url, readPreference="secondaryPreferred")
        store = MongoSessions(client=client, database=database, collection=f"{collection_name}_{kind}")
        assert ReadPreference.PRIMARY == store.collection.read_preference
        old = await store.create("alice", {"n": 1})
        new = await store.rework(old)
        assert (None, {"n": 1}) == (await store.get(old), await store.get(new))
        await store.update(new, {"n": 2})
        assert {"n": 2} == await store.get(new)
        await store.clear("alice")
        assert await store.get(new) is None
        await client[database].drop_collection(f"{collection_name}_{kind}")


async def test_a_url_with_a_secondary_read_preference_still_reads_from_the_primary(
    mongodb_url: str, database: str, collection_name: str
) -> None:
    separator = "&" if "?" in mongodb_url else "?"
    url = f"{mongodb_url}{separator}readPreference=secondaryPreferred"
    async with MongoSessions(url=url, database=database, collection=collection_name) as store:
        assert ReadPreference.PRIMARY == store.collection.read_preference
        session_id = await store.create("alice", {"n": 1})
        await store.delete(session_id)
        assert await store.get(session_id) is None
        await store.collection.drop()


async def test_without_a_database_the_clients_default_is_used(client: Any, mongodb_url: str) -> None:
    expected = parse_uri(mongodb_url)["database"] or "jamsession"
    store = MongoSessions(client=client, collection="c")
    assert expected == store.collection.database.name


async def test_a_client_passed_in_stays_open(client: Any, database: str, collection_name: str) -> None:
    store = MongoSessions(client=client, database=database, collection=collection_name)
    await store.create("alice", {})
    await store.aclose()
    assert 1.0 == (await client.admin.command("ping"))["ok"]


async def test_a_client_made_from_the_url_is_closed(
    mongodb_url: str, database: str, collection_name: str
) -> None:
    store = MongoSessions(url=mongodb_url, database=database, collection=collection_name)
    session_id = await store.create("alice", {})
    await store.collection.drop()
    await store.aclose()
    with pytest.raises(BackendUnavailableError, match="closed"):
        await store.get(session_id)


async def test_the_store_is_found_by_name_with_its_options(
    mongodb_url: str, database: str, collection_name: str
) -> None:
    settings = {
        "backend": "mongodb",
        "url": mongodb_url,
        "database": database,
        "collection": collection_name,
        "write_concern": {"w": 1, "j": True},
        "default_ttl": 60,
    }
    async with jamsession.from_config(settings) as store:
        assert isinstance(store, MongoSessions)
        assert WriteConcern(w=1, j=True) == store.collection.write_concern
        assert {"n": 1} == await store.get(await store.create("alice", {"n": 1}))
        await store.collection.drop()


# -- options ------------------------------------------------------------------------


async def test_the_write_concern_defaults_to_majority() -> None:
    async with MongoSessions(url="mongodb://127.0.0.1:1/") as store:
        assert WriteConcern(w="majority") == store.collection.write_concern


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("majority", WriteConcern(w="majority")),
        (1, WriteConcern(w=1)),
        ({"w": 2, "wtimeout": 500}, WriteConcern(w=2, wtimeout=500)),
        (WriteConcern(w=1, j=True), WriteConcern(w=1, j=True)),
    ],
)
async def test_the_write_concern_option(given: Any, expected: WriteConcern) -> None:
    async with MongoSessions(url="mongodb://127.0.0.1:1/", write_concern=given) as store:
        assert expected == store.collection.write_concern


@pytest.mark.parametrize(
    ("url", "database", "expected"),
    [
        ("mongodb://127.0.0.1:1/", None, "jamsession"),
        ("mongodb://127.0.0.1:1/app", None, "app"),
        ("mongodb://127.0.0.1:1/app", "other", "other"),
    ],
)
async def test_the_database_comes_from_the_option_then_the_url(
    url: str, database: str | None, expected: str
) -> None:
    async with MongoSessions(url=url, database=database, collection="c") as store:
        assert (expected, "c") == (store.collection.database.name, store.collection.name)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "exactly one of url"),
        ({"url": "mongodb://127.0.0.1:1/", "client": object()}, "exactly one of url"),
        ({"client": object()}, "AsyncMongoClient or a Motor client"),
        ({"url": "http://127.0.0.1/"}, "not a valid MongoDB connection string"),
        ({"url": 27017}, "connection string"),
        ({"url": "mongodb://127.0.0.1:1/", "collection": ""}, "collection"),
        ({"url": "mongodb://127.0.0.1:1/", "collection": "a$b"}, "collection name"),
        ({"url": "mongodb://127.0.0.1:1/", "database": "a b/c"}, "database"),
        ({"url": "mongodb://127.0.0.1:1/", "write_concern": 0}, "acknowledged"),
        ({"url": "mongodb://127.0.0.1:1/", "write_concern": {"w": 0}}, "acknowledged"),
        ({"url": "mongodb://127.0.0.1:1/", "write_concern": {"x": 1}}, "write_concern"),
        ({"url": "mongodb://127.0.0.1:1/", "write_concern": 1.5}, "write_concern"),
        ({"url": "mongodb://127.0.0.1:1/", "timeout": 0}, "timeout"),
        ({"url": "mongodb://127.0.0.1:1/", "timeout": True}, "timeout"),
        ({"url": "mongodb://127.0.0.1:1/", "timeout": -1}, "timeout"),
        ({"url": "mongodb://127.0.0.1:1/", "timeout": math.nan}, "timeout .*<= 2147483"),
        ({"url": "mongodb://127.0.0.1:1/", "timeout": math.inf}, "timeout .*<= 2147483"),
        ({"url": "mongodb://127.0.0.1:1/", "timeout": 2_147_484}, "timeout .*<= 2147483"),
        ({"url": "mongodb://127.0.0.1:1/", "timeout": 1e12}, "timeout .*<= 2147483"),
        ({"url": "mongodb://127.0.0.1:1/", "timeout": "10"}, "timeout"),
    ],
)
def test_bad_options_are_config_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        MongoSessions(**options)


def test_a_sync_client_is_refused(mongodb_url: str) -> None:
    from pymongo import MongoClient

    client: Any = MongoClient(mongodb_url, connect=False)
    try:
        with pytest.raises(ConfigError, match="AsyncMongoClient"):
            MongoSessions(client=client)
    finally:
        client.close()


def test_a_bad_url_error_never_shows_the_password() -> None:
    with pytest.raises(ConfigError) as caught:
        MongoSessions(url="mongodb://admin:pa55word@127.0.0.1:notaport/")
    assert "pa55word" not in str(caught.value)
    assert caught.value.__cause__ is None


async def test_the_longest_timeout_mongodb_allows_works(
    pymongo_client: Any, database: str, collection_name: str
) -> None:
    store = MongoSessions(
        client=pymongo_client, database=database, collection=collection_name, timeout=2_147_483
    )
    session_id = await store.create("alice", {"n": 1})
    assert {"n": 1} == await store.get(session_id)


@pytest.mark.parametrize(
    ("message", "url", "expected"),
    [
        (
            "Port must be an integer between 0 and 65535",
            "mongodb://u:S3CR3T@host:99999/",
            "Port must be an integer between 0 and 65535",
        ),
        ("bad S3CR3T and S3C:R3T", "mongodb://u:S3CR3T@h/", "bad *** and S3C:R3T"),
        ("bad pa:ss and pa%3Ass", "mongodb://user:pa%3Ass@h/", "bad *** and ***"),
        ("bad u:S3CR3T", "mongodb://u%3AS3CR3T@h/", "bad ***"),
        ("no user info here", "mongodb://h/", "no user info here"),
    ],
)
def test_redact_masks_the_password_and_nothing_else(message: str, url: str, expected: str) -> None:
    assert expected == redact(message, url)


def test_a_bad_port_error_is_not_garbled_by_masking() -> None:
    with pytest.raises(ConfigError) as caught:
        MongoSessions(url="mongodb://u:S3CR3T@host:99999/")
    assert "url is not a valid MongoDB connection string: Port must be an integer between 0 and 65535" == str(
        caught.value
    )


class CommandRecorder(monitoring.CommandListener):
    """The names of the commands sent to one collection, in order."""

    def __init__(self, collection: str) -> None:
        self.collection = collection
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command.get(event.command_name) == self.collection:
            self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_a_login_and_a_patch_are_one_write_each(
    make_client: Callable[..., Any], mongodb_url: str, database: str, collection_name: str, raw: Any
) -> None:
    recorder = CommandRecorder(collection_name)
    client = make_client("pymongo", mongodb_url, event_listeners=[recorder])
    store = MongoSessions(client=client, database=database, collection=collection_name)
    token = await store.create("anonymous", {"cart": [1]})
    entry = await store.load(token)
    recorder.names.clear()
    token = await store.rework(token, session_key="alice", data={"cart": [1]})
    entry = await store.load(token)
    assert ["update", "find"] == recorder.names
    recorder.names.clear()
    # From the entry: no read before the write, and no lookup after a swap that happened.
    entry = await store.patch(token, {"theme": "dark"}, expected=entry)
    assert ["update"] == recorder.names
    # From a stale entry: the swap misses, a lookup finds the session changed, then read and swap again.
    stale = entry
    await store.patch(token, {"n": 1}, expected=stale)
    recorder.names.clear()
    patched = await store.patch(token, {"m": 2}, expected=stale)
    assert ["update", "find", "find", "update"] == recorder.names
    assert {"cart": [1], "theme": "dark", "n": 1, "m": 2} == patched.data
    document = await raw.find_one({"key": "alice"})
    assert "alice" == document["key"]


async def test_a_session_stored_before_formats_were_recorded_is_still_read_and_updated(
    store: MongoSessions, raw: Any
) -> None:
    session_id = await store.create("alice", {"n": 1})
    await raw.update_one({"sid": session_id}, {"$unset": {"fmt": ""}})
    assert {"n": 1} == await store.get(session_id)
    await store.update(session_id, {"n": 2})
    assert {"n": 2} == await store.get(session_id)
    assert store.data_format == (await raw.find_one({"sid": session_id}))["fmt"]


@pytest.mark.parametrize("bad", [0, -1, True, math.inf, math.nan, "60"])
def test_index_check_interval_must_be_a_positive_number_or_none(bad: object) -> None:
    with pytest.raises(ConfigError, match="index_check_interval"):
        MongoSessions(url="mongodb://127.0.0.1:1/", index_check_interval=bad)  # type: ignore[arg-type]


def test_index_check_interval_is_a_declared_option_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    option = jamsession.options_of(MongoSessions)["index_check_interval"]
    assert (60.0, ("JAMSESSION_INDEX_CHECK_INTERVAL",)) == (option.default, option.variables)
    monkeypatch.setenv("JAMSESSION_INDEX_CHECK_INTERVAL", "15")
    store: Any = jamsession.from_config({"backend": "mongodb", "url": "mongodb://127.0.0.1:1/"})
    assert 15.0 == store.index_check_interval
    monkeypatch.setenv("JAMSESSION_INDEX_CHECK_INTERVAL", "soon")
    with pytest.raises(ConfigError, match="JAMSESSION_INDEX_CHECK_INTERVAL"):
        jamsession.from_config({"backend": "mongodb", "url": "mongodb://127.0.0.1:1/"})
