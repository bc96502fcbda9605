"""``SessionEntry``: one session as read by ``load``, with what a web layer needs to know of it."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


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


_SETTERS = tuple(getattr(SessionEntry, each.name).__set__ for each in fields(SessionEntry))


def new_entry(  # noqa: PLR0917 - SessionEntry's fields, in order, as its own constructor takes them
    data: dict[str, Any],
    session_key: str,
    handle: str,
    created_at: float,
    expires_at: float | None,
    needs_reissue: bool,
    blob: bytes,
) -> SessionEntry:
    """``SessionEntry(...)``, built for every ``load`` at a fraction of the cost.

    A frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``; the slots' own descriptors do the same work directly.
    """
    entry: SessionEntry = object.__new__(SessionEntry)
    set_data, set_key, set_handle, set_created, set_expires, set_reissue, set_blob = _SETTERS
    set_data(entry, data)
    set_key(entry, session_key)
    set_handle(entry, handle)
    set_created(entry, created_at)
    set_expires(entry, expires_at)
    set_reissue(entry, needs_reissue)
    set_blob(entry, blob)
    return entry
