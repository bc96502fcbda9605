"""Turning driver errors into jamsession's typed errors.

Every operation runs inside :func:`guarded`: a deadline bounds it (server
selection, connection and retries included), and whatever PyMongo raises
leaves as a jamsession error. Messages name the operation and the kind of
failure only; the driver's own exception stays chained as the cause for
debugging. Neither ever holds a connection string. A duplicate session ID is
the exception: the driver's message quotes the ID (the cookie value when
crypt is off), so that error is raised without its cause.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Final

import pymongo
from bson.errors import InvalidDocument
from pymongo.errors import DuplicateKeyError, InvalidOperation, OperationFailure, PyMongoError

from jamsession import (
    BackendUnavailableError,
    ConfigError,
    DuplicateSessionIdError,
    JamSessionError,
    SerializationError,
)

#: Server codes for a document over the 16 MiB limit.
_TOO_LARGE: Final = frozenset({10334, 17419, 17420})
#: Server codes for an index of the same name or keys with other options.
_INDEX_CONFLICT: Final = frozenset({85, 86})
#: Server code for a write concern tag the replica set does not define.
_UNKNOWN_WRITE_CONCERN: Final = 79


def deadline(timeout: float | None) -> contextlib.AbstractContextManager[object]:
    """PyMongo's deadline of ``timeout`` seconds for the driver calls in the block; none for ``None``."""
    return contextlib.nullcontext() if timeout is None else pymongo.timeout(timeout)


@contextlib.contextmanager
def guarded(operation: str, timeout: float | None, *, creating_indexes: bool = False) -> Iterator[None]:
    """Run a block of driver calls under ``timeout`` seconds, translating its errors."""
    try:
        with deadline(timeout):
            yield
    except InvalidDocument as exc:
        # DocumentTooLarge among them; nothing was written.
        raise SerializationError(f"{operation}: session too large for one MongoDB document") from exc
    except DuplicateKeyError as exc:
        # Not chained: the driver's message quotes the session ID.
        raise _duplicate(operation, creating_indexes=creating_indexes, code=exc.code) from None
    except OperationFailure as exc:
        if exc.code in _TOO_LARGE:
            raise SerializationError(f"{operation}: session too large for one MongoDB document") from exc
        if exc.code in _INDEX_CONFLICT:
            raise ConfigError(
                f"{operation}: the collection already has a jamsession index with other options "
                f"({exc.details.get('codeName', exc.code) if exc.details else exc.code}); drop it and retry"
            ) from exc
        if exc.code == _UNKNOWN_WRITE_CONCERN:
            raise ConfigError(
                f"{operation}: the replica set does not define the write_concern's w tag (code {exc.code})"
            ) from exc
        raise BackendUnavailableError(_describe(operation, exc)) from exc
    except InvalidOperation as exc:
        raise BackendUnavailableError(f"MongoDB {operation} failed: the client is closed") from exc
    except PyMongoError as exc:
        raise BackendUnavailableError(_describe(operation, exc)) from exc


def _duplicate(operation: str, *, creating_indexes: bool, code: int | None) -> JamSessionError:
    if creating_indexes:
        return ConfigError(
            f"{operation}: the collection holds several documents with the same session ID, so the "
            f"unique index on it cannot be built (code {code}); remove the duplicates and retry"
        )
    return DuplicateSessionIdError(
        f"{operation}: a session with this ID already exists (code {code}); id_factory must return unique IDs"
    )


def _describe(operation: str, exc: PyMongoError) -> str:
    reason = "timed out" if exc.timeout else type(exc).__name__
    code = getattr(exc, "code", None)
    if code is not None:
        reason = f"{reason}, code {code}"
    return f"MongoDB {operation} failed: {reason}"
