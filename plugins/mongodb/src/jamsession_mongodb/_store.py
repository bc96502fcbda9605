"""``MongoSessions``: sessions in a MongoDB collection, on a replica set or a sharded cluster."""

from __future__ import annotations

import asyncio
from typing import Any, Unpack

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ASCENDING, ReturnDocument

from jamsession import (
    BackendUnavailableError,
    ConfigError,
    Option,
    RecordBatch,
    RecordOptions,
    RecordSessionModule,
    StoredSession,
)
from jamsession_mongodb import _documents as doc
from jamsession_mongodb._client import (
    DEFAULT_COLLECTION,
    Connection,
    WriteConcernInput,
    connect,
    parse_write_concern,
)
from jamsession_mongodb._errors import deadline, guarded

#: Seconds one operation may take by default, server selection and retries included.
DEFAULT_TIMEOUT = 10.0
#: The longest ``timeout``: MongoDB's maxTimeMS is a signed 32-bit count of milliseconds.
MAX_TIMEOUT = (2**31 - 1) // 1000


class MongoSessions(RecordSessionModule):
    """Sessions in a MongoDB collection: shared by every app process, replicated, shardable.

    Each operation is one round trip (the first one of a store also ensures the
    indexes): ``update`` is one conditional update that never matches an
    expired or deleted session, ``rework`` one atomic update of the session ID
    field of a single document, ``clear`` one ``delete_many`` over the key index.
    Every read and write goes to the primary, whatever read preference the
    client has. The server's TTL monitor removes expired documents; reads
    filter them out too, as the monitor only runs about once a minute.

    Args:
        url: A connection string (``mongodb://`` or ``mongodb+srv://``). The
            store creates the client and closes it in :meth:`aclose`.
        client: An open PyMongo ``AsyncMongoClient`` or Motor client the app
            already has; :meth:`aclose` leaves it open. Pass ``url`` or ``client``.
        database: The database name; ``None`` takes the one in the connection
            string, else ``"jamsession"``.
        collection: The collection name.
        write_concern: A ``pymongo.WriteConcern``, a mapping of its arguments
            (``{"w": "majority", "j": True}``), or a ``w`` value; must be
            acknowledged. Defaults to ``w="majority"``, so an acknowledged
            session survives a failover.
        timeout: Seconds one operation may take, server selection, reconnects
            and retries included, before :class:`~jamsession.BackendUnavailableError`
            (at most 2,147,483, MongoDB's limit); ``None`` leaves it to the
            client's own settings.
        create_indexes: Ensure the indexes on first use. Turn off where the
            app's user may not create indexes and they are made at deployment
            (``jamsession mongodb-ensure-indexes CONFIG``).

    The other arguments are :class:`~jamsession.RecordSessionModule`'s.

    Raises:
        BackendUnavailableError: from any operation, when the server cannot be
            reached or fails it; the store works again once the server is back.

    .. versionadded:: 0.1
    """

    supports_entries = True
    supports_scan = True
    options = (
        Option("url", str | None, None, "a mongodb:// or mongodb+srv:// connection string"),
        Option("client", "AsyncMongoClient | None", None, "a client the application has", code_only=True),
        Option("database", str | None, None, "the database; None: the URL's, else 'jamsession'"),
        Option("collection", str, DEFAULT_COLLECTION, "the collection"),
        Option("write_concern", WriteConcernInput | None, None, "must be acknowledged; default w=majority"),
        Option("timeout", float | None, DEFAULT_TIMEOUT, "seconds one operation may take, retries included"),
        Option("create_indexes", bool, True, "ensure the indexes on first use"),
    )

    def __init__(
        self,
        *,
        url: str | None = None,
        client: Any = None,
        database: str | None = None,
        collection: str = DEFAULT_COLLECTION,
        write_concern: WriteConcernInput | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        create_indexes: bool = True,
        **options: Unpack[RecordOptions],
    ) -> None:
        if timeout is not None and (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not 0 < timeout <= MAX_TIMEOUT  # NaN fails this too
        ):
            raise ConfigError(
                f"timeout must be None or a number of seconds > 0 and <= {MAX_TIMEOUT} "
                f"(MongoDB's maxTimeMS limit), not {timeout!r}"
            )
        super().__init__(**options)
        self.timeout = timeout
        self.create_indexes = bool(create_indexes)
        self._connection: Connection = connect(
            url=url,
            client=client,
            database=database,
            collection=collection,
            write_concern=parse_write_concern(write_concern),
        )
        self._collection: Any = self._connection.collection
        self._indexes_ensured = False
        self._index_task: asyncio.Future[list[str]] | None = None

    @property
    def collection(self) -> Any:
        """The collection handle this store uses (primary reads, the store's write concern).

        .. versionadded:: 0.1
        """
        return self._collection

    async def ensure_indexes(self) -> list[str]:
        """Create the store's indexes where missing; return their names. Idempotent.

        .. versionadded:: 0.1
        """
        return await self._join_index_creation("index creation")

    async def _ready(self, operation: str) -> Any:
        if self._indexes_ensured or not self.create_indexes:
            return self._collection
        await self._join_index_creation(f"{operation} (index creation)")
        return self._collection

    async def _join_index_creation(self, operation: str) -> list[str]:
        # One createIndexes at a time, shared by every operation that waits
        # for it; each waits at most the store's timeout, however many came
        # first. A failed attempt is not reused: the next caller starts anew.
        task = self._index_task
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            task = asyncio.ensure_future(self._create_indexes())
            task.add_done_callback(_consume_outcome)
            self._index_task = task
        with guarded(operation, None, creating_indexes=True):
            try:
                return await asyncio.wait_for(asyncio.shield(task), self.timeout)
            except TimeoutError:
                raise BackendUnavailableError(f"MongoDB {operation} failed: timed out") from None

    async def _create_indexes(self) -> list[str]:
        with deadline(self.timeout):
            names: list[str] = await self._collection.create_indexes(list(doc.INDEXES))
        self._indexes_ensured = True
        return names

    async def aclose(self) -> None:
        """Close the client if this store created it; a client passed in is left open."""
        await self._connection.close()

    # -- the storage primitives, one round trip each -------------------------------

    async def insert_record(self, record: StoredSession) -> None:
        collection = await self._ready("create")
        with guarded("create", self.timeout):
            await collection.insert_one(doc.to_document(record))

    async def fetch_record(self, raw_id: str, now: float, extend_to: float | None) -> bytes | None:
        collection = await self._ready("get")
        query = {doc.SESSION_ID: raw_id, **doc.live(now)}
        with guarded("get", self.timeout):
            if extend_to is None:
                found = await collection.find_one(query, doc.DATA_ONLY)
            else:
                found = await collection.find_one_and_update(
                    query,
                    {"$set": {doc.EXPIRES: doc.to_date(extend_to)}},
                    projection=doc.DATA_ONLY,
                    return_document=ReturnDocument.BEFORE,
                )
        return None if found is None else bytes(found[doc.DATA])

    async def fetch_full_record(
        self, raw_id: str, now: float, extend_to: float | None
    ) -> StoredSession | None:
        collection = await self._ready("load")
        query = {doc.SESSION_ID: raw_id, **doc.live(now)}
        with guarded("load", self.timeout):
            if extend_to is None:
                found = await collection.find_one(query, doc.RECORD_FIELDS)
            else:
                found = await collection.find_one_and_update(
                    query,
                    {"$set": {doc.EXPIRES: doc.to_date(extend_to)}},
                    projection=doc.RECORD_FIELDS,
                    return_document=ReturnDocument.AFTER,
                )
        return None if found is None else doc.to_record(found)

    async def swap_record(
        self, raw_id: str, expected: bytes, blob: bytes, now: float, extend_to: float | None
    ) -> bool | None:
        # One conditional update does the swap. Only when it matches nothing is
        # a second look needed, to tell "changed" from "gone": a session still
        # live then was live at the update too (an ID never comes back), so its
        # data was not the expected bytes; one not live then is gone.
        collection = await self._ready("patch")
        changes: dict[str, Any] = {doc.DATA: blob}
        if extend_to is not None:
            changes[doc.EXPIRES] = doc.to_date(extend_to)
        query = {doc.SESSION_ID: raw_id, **doc.live(now)}
        with guarded("patch", self.timeout):
            result = await collection.update_one({**query, doc.DATA: expected}, {"$set": changes})
            if result.matched_count:
                return True
            found = await collection.find_one(query, {"_id": True})
        return None if found is None else False

    async def replace_record(self, raw_id: str, blob: bytes, now: float, extend_to: float | None) -> bool:
        collection = await self._ready("update")
        changes: dict[str, Any] = {doc.DATA: blob}
        if extend_to is not None:
            changes[doc.EXPIRES] = doc.to_date(extend_to)
        with guarded("update", self.timeout):
            result = await collection.update_one({doc.SESSION_ID: raw_id, **doc.live(now)}, {"$set": changes})
        return bool(result.matched_count)

    async def move_record(
        self,
        raw_id: str,
        new_raw_id: str,
        now: float,
        *,
        session_key: str | None = None,
        blob: bytes | None = None,
    ) -> bool:
        # One single-document update: the old ID stops matching at the very
        # moment the new one starts to, and of concurrent moves only the first
        # still finds the old ID. The expiry is left untouched. On a cluster
        # sharded on the ID this is a shard key change, which mongos runs as
        # an internal transaction (retryable writes, the driver's default).
        # A new session key or data go in the same update, so a login's move is as atomic.
        changes: dict[str, Any] = {doc.SESSION_ID: new_raw_id}
        if session_key is not None:
            changes[doc.SESSION_KEY] = doc.key_value(session_key)
        if blob is not None:
            changes[doc.DATA] = blob
        collection = await self._ready("rework")
        with guarded("rework", self.timeout):
            result = await collection.update_one({doc.SESSION_ID: raw_id, **doc.live(now)}, {"$set": changes})
        return bool(result.matched_count)

    async def remove_record(self, raw_id: str) -> None:
        collection = await self._ready("delete")
        with guarded("delete", self.timeout):
            await collection.delete_one({doc.SESSION_ID: raw_id})

    async def remove_key_records(self, session_key: str) -> None:
        collection = await self._ready("clear")
        with guarded("clear", self.timeout):
            await collection.delete_many({doc.SESSION_KEY: doc.key_value(session_key)})

    async def list_key_records(self, session_key: str, now: float) -> list[StoredSession]:
        collection = await self._ready("list")
        query = {doc.SESSION_KEY: doc.key_value(session_key), **doc.live(now)}
        with guarded("list", self.timeout):
            cursor = collection.find(query, doc.RECORD_FIELDS).sort(doc.CREATION_ORDER)
            documents = await cursor.to_list(None)
        return [doc.to_record(document) for document in documents]

    async def purge_records(self, now: float, limit: int) -> int:
        # delete_many takes no limit: pick a batch over the expiry index, then
        # delete exactly those, unless one was extended meanwhile.
        collection = await self._ready("purge")
        with guarded("purge", self.timeout):
            batch = await collection.find(doc.expired(now), {"_id": True}).limit(limit).to_list(None)
            if not batch:
                return 0
            result = await collection.delete_many(
                {"_id": {"$in": [document["_id"] for document in batch]}, **doc.expired(now)}
            )
        return int(result.deleted_count)

    async def scan_records(self, after: str | None, limit: int) -> RecordBatch:
        """The next ``limit`` documents in ``_id`` order: one query, the cursor the last ``_id``.

        ``_id`` never changes (``rework`` changes ``sid``), so a reworked
        session keeps its place in the scan.
        """
        query: dict[str, Any] = {}
        if after is not None:
            try:
                query["_id"] = {"$gt": ObjectId(after)}
            except (InvalidId, TypeError):
                raise ValueError(f"not a cursor of this store: {after!r}") from None
        collection = await self._ready("scan")
        with guarded("scan", self.timeout):
            found = collection.find(query, doc.RECORD_FIELDS).sort("_id", ASCENDING).limit(limit)
            documents = await found.to_list(None)
        records = [doc.to_record(document) for document in documents]
        return RecordBatch(records, str(documents[-1]["_id"]) if len(documents) == limit else None)

    async def estimate_record_count(self) -> int:
        collection = await self._ready("count")
        with guarded("count", self.timeout):
            return int(await collection.estimated_document_count())


def _consume_outcome(task: asyncio.Future[list[str]]) -> None:
    # An attempt every waiter gave up on must not log "exception never retrieved".
    if not task.cancelled():
        task.exception()
