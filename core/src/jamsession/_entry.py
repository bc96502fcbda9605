"""``SessionEntry``: one session as read by ``load``, with what a web layer needs to know of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jamsession._handles import session_handle


@dataclass(frozen=True, slots=True)
class SessionEntry:
    """A live session with its metadata, as :meth:`~jamsession.RecordSessionModule.load` reads it.

    Attributes:
        data: The session's data; a fresh dict the caller may change.
        session_key: The key (usually the user) the session belongs to.
        handle: The session's stable, non-secret name: the one
            :meth:`~jamsession.RecordSessionModule.list_sessions` gives it,
            so ``entry.handle == info.handle`` picks the caller's own session
            out of a listing. It logs no one in.
        created_at: When the session was created (Unix seconds).
        expires_at: When it expires (Unix seconds), sliding expiry applied;
            ``None`` when it never does. A cookie's ``Max-Age`` follows from it.
        needs_reissue: The token was encrypted under an older key than the
            newest: hand the client a token made under the newest before that
            key is retired, with ``rework(token, data=entry.data)``, which
            also re-encrypts the stored data under the newest key.

    An entry also holds, privately, the stored bytes it was read from: passed
    as ``expected`` to :meth:`~jamsession.RecordSessionModule.patch`, they are
    what the patch compares the stored session against. Its repr leaves out
    the data.

    .. versionadded:: 0.2
    """

    data: dict[str, Any] = field(repr=False)
    session_key: str
    handle: str
    created_at: float
    expires_at: float | None
    needs_reissue: bool = False
    _blob: bytes = field(default=b"", repr=False, compare=False)
    # The raw ID an entry made by load or patch names, its handle worked out
    # from it when first read: most requests that load a session never ask.
    _raw_id: str = field(default="", repr=False, compare=False)


# The slots' own descriptors, by name: SessionEntry.handle is replaced below.
_SLOTS: dict[str, Any] = dict(vars(SessionEntry))
_HANDLE_SLOT = _SLOTS["handle"]
_RAW_ID_SLOT = _SLOTS["_raw_id"]


def _read_handle(entry: SessionEntry) -> str:
    handle: str | None = _HANDLE_SLOT.__get__(entry, SessionEntry)
    if handle is None:  # left to be worked out by new_entry: hashed now, once
        handle = session_handle(_RAW_ID_SLOT.__get__(entry, SessionEntry))
        _HANDLE_SLOT.__set__(entry, handle)
    return handle


# ``handle`` stays a dataclass field (the constructor, equality, repr and
# ``dataclasses.fields`` take it as before), read through a property that
# hashes the raw ID on first use. The constructor sets it through the same
# property; ``entry.handle = ...`` is still refused by the frozen class.
setattr(SessionEntry, "handle", property(_read_handle, _HANDLE_SLOT.__set__, doc="The session's handle."))  # noqa: B010 - mypy would refuse the plain assignment to a field

_SETTERS = tuple(
    _SLOTS[name].__set__
    for name in (
        "data",
        "session_key",
        "handle",
        "created_at",
        "expires_at",
        "needs_reissue",
        "_blob",
        "_raw_id",
    )
)


def new_entry(  # noqa: PLR0917 - SessionEntry's fields, in order, as its own constructor takes them
    data: dict[str, Any],
    session_key: str,
    raw_id: str,
    created_at: float,
    expires_at: float | None,
    needs_reissue: bool,
    blob: bytes,
) -> SessionEntry:
    """``SessionEntry(...)`` for the session whose raw ID is ``raw_id``, built for every ``load``.

    A frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``; the slots' own descriptors do the same work
    directly. The handle is left to be worked out from ``raw_id`` when read,
    marked by ``None`` rather than an unset slot, whose first read would
    raise and catch an exception on every request that asks.
    """
    entry: SessionEntry = object.__new__(SessionEntry)
    set_data, set_key, set_handle, set_created, set_expires, set_reissue, set_blob, set_raw_id = _SETTERS
    set_data(entry, data)
    set_key(entry, session_key)
    set_handle(entry, None)  # not a handle: _read_handle hashes raw_id when first asked
    set_created(entry, created_at)
    set_expires(entry, expires_at)
    set_reissue(entry, needs_reissue)
    set_blob(entry, blob)
    set_raw_id(entry, raw_id)
    return entry


def names_raw_id(entry: SessionEntry, raw_id: str) -> bool:
    """Whether ``entry`` is of the session whose raw ID is ``raw_id``."""
    own = _RAW_ID_SLOT.__get__(entry, SessionEntry)
    return own == raw_id if own else entry.handle == session_handle(raw_id)
