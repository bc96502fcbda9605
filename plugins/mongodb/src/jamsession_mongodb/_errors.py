"""Turning driver errors into jamsession's typed errors.

Every operation runs inside :func:`guarded`: a deadline bounds it (server
selection, connection and retries included), and whatever PyMongo raises
leaves as a jamsession error. Messages name the operation and the kind of
failure only; the driver's own exception stays chained as the cause for
debugging. Neither ever holds a connection string.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Final

import pymongo
from bson.errors import InvalidDocument
from pymongo.errors import DuplicateKeyError, InvalidOperation, OperationFailure, PyMongoError

from jamsession import BackendUnavailableError, ConfigError, JamSessionError, SerializationError

#: Server codes for a document over the 16 MiB limit.
_TOO_LARGE: Final = frozenset({10334, 17419, 17420})
#: Server codes for an index of the same name or keys with other options.
_INDEX_CONFLICT: Final = frozenset({85, 86})


@contextlib.contextmanager
def guarded(operation: str, timeout: float | None) -> Iterator[None]:
    """Run a block of driver calls under ``timeout`` seconds, translating its errors."""
    try:
        if timeout is None:
            yield
        else:
            with pymongo.timeout(timeout):
                yield
    except InvalidDocument as exc:
        # DocumentTooLarge among them; nothing was written.
        raise SerializationError(f"{operation}: session too large for one MongoDB document") from exc
    except DuplicateKeyError as exc:
        raise JamSessionError(
            f"{operation}: a session with this ID already exists; id_factory must return unique IDs"
        ) from exc
    except OperationFailure as exc:
        if exc.code in _TOO_LARGE:
            raise SerializationError(f"{operation}: session too large for one MongoDB document") from exc
        if exc.code in _INDEX_CONFLICT:
            raise ConfigError(
                f"{operation}: the collection already has a jamsession index with other options "
                f"({exc.details.get('codeName', exc.code) if exc.details else exc.code}); drop it and retry"
            ) from exc
        raise BackendUnavailableError(_describe(operation, exc)) from exc
    except InvalidOperation as exc:
        raise BackendUnavailableError(f"MongoDB {operation} failed: the client is closed") from exc
    except PyMongoError as exc:
        raise BackendUnavailableError(_describe(operation, exc)) from exc


def _describe(operation: str, exc: PyMongoError) -> str:
    reason = "timed out" if exc.timeout else type(exc).__name__
    code = getattr(exc, "code", None)
    if code is not None:
        reason = f"{reason}, code {code}"
    return f"MongoDB {operation} failed: {reason}"
