"""The document shape of a session, its indexes, and the filters over it.

One session is one document::

    {
        "_id": ObjectId(...),          # the server's own; never shown to anyone
        "sid": "<raw session ID>",     # unique index; the shard key, hashed, on a cluster
        "key": "<session key>",        # indexed: clear and list by key
        "data": BinData(0, ...),       # serialized (and, with crypt on, encrypted) data
        "created": Date(...),
        "expires": Date(...),          # TTL index; absent when the session never expires
        "fmt": "<data format>",        # the serializer (and key ID) that wrote "data"
    }

The session ID lives in its own field, not in ``_id``, because ``rework``
changes it in place and ``_id`` is immutable. Dates are BSON dates with
millisecond precision, compared as whole milliseconds on both sides.
"""

from __future__ import annotations

from typing import Any, Final

from bson.codec_options import CodecOptions, DatetimeConversion
from bson.datetime_ms import DatetimeMS
from pymongo import ASCENDING, IndexModel

from jamsession import StoredSession

SESSION_ID: Final = "sid"
SESSION_KEY: Final = "key"
DATA: Final = "data"
CREATED: Final = "created"
EXPIRES: Final = "expires"
FORMAT: Final = "fmt"

#: Ensured idempotently; the names let ``create_indexes`` recognise them on every later call.
INDEXES: Final = (
    IndexModel([(SESSION_ID, ASCENDING)], name="jamsession_sid", unique=True),
    IndexModel([(SESSION_KEY, ASCENDING)], name="jamsession_key"),
    # expireAfterSeconds=0: the server removes a document once its own date has passed.
    IndexModel([(EXPIRES, ASCENDING)], name="jamsession_expires", expireAfterSeconds=0),
)
INDEX_NAMES: Final = frozenset(index.document["name"] for index in INDEXES)

#: Whatever the app's client decodes to, this collection reads plain dicts and
#: dates as whole milliseconds (no datetime range limits, no time zones).
CODEC_OPTIONS: Final[CodecOptions[dict[str, Any]]] = CodecOptions(
    document_class=dict, datetime_conversion=DatetimeConversion.DATETIME_MS
)

#: Projections: only what the caller needs travels back.
DATA_ONLY: Final = {DATA: True, "_id": False}
RECORD_FIELDS: Final = {
    SESSION_ID: True,
    SESSION_KEY: True,
    DATA: True,
    CREATED: True,
    EXPIRES: True,
    FORMAT: True,
}

#: Sessions created in the same millisecond keep their insertion order (ObjectIds grow).
CREATION_ORDER: Final = [(CREATED, ASCENDING), ("_id", ASCENDING)]

#: 9999-12-31T23:59:59.999Z: the latest date every server and driver can represent
#: as a calendar date; an expiry beyond it is "never" in practice.
_LATEST_MS: Final = 253_402_300_799_999


def to_date(seconds: float) -> DatetimeMS:
    """Unix seconds as a BSON date, floored to the millisecond, alike for stored and compared times."""
    milliseconds = int(seconds * 1000)
    # A very long default_ttl must not overflow what servers can decode.
    return DatetimeMS(max(0, min(milliseconds, _LATEST_MS)))


def from_date(value: DatetimeMS) -> float:
    return int(value) / 1000


def key_value(session_key: str) -> str | bytes:
    """The stored form of a session key: itself, or its bytes if it is not valid UTF-8.

    BSON strings are UTF-8, and session keys may hold any character, lone
    surrogates included; those go in as binary, which never equals a string.
    """
    if session_key.isascii():
        return session_key
    try:
        session_key.encode("utf-8")
    except UnicodeEncodeError:
        return session_key.encode("utf-8", "surrogatepass")
    return session_key


def key_from_value(value: str | bytes) -> str:
    return value.decode("utf-8", "surrogatepass") if isinstance(value, bytes) else value


def live(now: float) -> dict[str, Any]:
    """Matches documents that have not expired at ``now`` (no ``expires`` field: never expires)."""
    return {EXPIRES: {"$not": {"$lte": to_date(now)}}}


def readable(formats: frozenset[str]) -> dict[str, Any]:
    """Matches documents written in one of ``formats``, or with no format (stored before there was one)."""
    return {FORMAT: {"$in": [*sorted(formats), None]}}


def expired(now: float) -> dict[str, Any]:
    return {EXPIRES: {"$lte": to_date(now)}}


def to_document(record: StoredSession) -> dict[str, Any]:
    document: dict[str, Any] = {
        SESSION_ID: record.raw_id,
        SESSION_KEY: key_value(record.session_key),
        DATA: record.blob,
        CREATED: to_date(record.created_at),
    }
    if record.expires_at is not None:
        document[EXPIRES] = to_date(record.expires_at)
    if record.data_format is not None:
        document[FORMAT] = record.data_format
    return document


def to_record(document: dict[str, Any]) -> StoredSession:
    expires = document.get(EXPIRES)
    return StoredSession(
        raw_id=document[SESSION_ID],
        session_key=key_from_value(document[SESSION_KEY]),
        blob=document[DATA],
        created_at=from_date(document[CREATED]),
        expires_at=None if expires is None else from_date(expires),
        data_format=document.get(FORMAT),
    )
