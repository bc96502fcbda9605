"""The codec: raw session IDs to tokens, session data to stored bytes, and back.

Functions of what they are given (a serializer, and the key ring when crypt
is on), so every store encodes alike. Errors are typed: a token that cannot
be ours is :class:`InvalidSessionToken`, data that cannot be written is
:class:`UnsupportedTypeError` (nothing is written), stored bytes that cannot
be read are :class:`SerializationError`. No exception of a serializer or of
the cipher escapes.
"""

from __future__ import annotations

from typing import Any

from jamsession._crypto import PURPOSE_DATA, PURPOSE_ID, KeyRing, b64decode, b64encode
from jamsession._errors import InvalidSessionToken, SerializationError, UnsupportedTypeError
from jamsession._ids import MAX_TOKEN_LENGTH
from jamsession._serializer import BaseEncoder

Serializer = type[BaseEncoder] | BaseEncoder


def seal_id(keyring: KeyRing, raw_id: str) -> str:
    """The token handed out for ``raw_id``: encrypted, URL-safe base64."""
    return b64encode(keyring.encrypt(raw_id.encode("utf-8"), PURPOSE_ID))


def open_token(keyring: KeyRing, token: object) -> str:
    """The raw ID inside ``token``; :class:`InvalidSessionToken` if it is not one of ours."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidSessionToken("not a session token")
    try:
        return keyring.decrypt(b64decode(token), PURPOSE_ID).decode("utf-8")
    except UnicodeDecodeError as exc:  # pragma: no cover - authenticated, so ours
        raise InvalidSessionToken("not a session token") from exc


def dump_data(serializer: Serializer, keyring: KeyRing | None, data: dict[str, Any]) -> bytes:
    """Serialize ``data`` for storage, and encrypt it when a key ring is given."""
    if not isinstance(data, dict):
        raise UnsupportedTypeError(f"session data must be a dict, not {type(data).__name__}")
    try:
        blob = serializer.dumps(data)
    except SerializationError:
        raise
    except Exception as exc:
        # A third-party serializer leaking its library's error: typed, and nothing is written.
        raise UnsupportedTypeError(
            f"session data cannot be serialized ({type(exc).__name__}: {exc})"
        ) from exc
    return blob if keyring is None else keyring.encrypt(blob, PURPOSE_DATA)


def load_data(serializer: Serializer, keyring: KeyRing | None, blob: bytes) -> dict[str, Any]:
    """Inverse of :func:`dump_data`; :class:`SerializationError` for anything else."""
    if keyring is not None:
        try:
            blob = keyring.decrypt(blob, PURPOSE_DATA)
        except InvalidSessionToken as exc:
            raise SerializationError("stored session data fails authentication") from exc
    try:
        data = serializer.loads(blob)
    except SerializationError:
        raise
    except Exception as exc:
        raise SerializationError(f"stored session data cannot be decoded ({type(exc).__name__})") from exc
    if not isinstance(data, dict):
        raise SerializationError("stored session data is not a mapping")
    return data


def data_to_text(blob: bytes, *, binary: bool) -> str:
    """Stored bytes as text: URL-safe base64 when they need not be UTF-8 text."""
    return b64encode(blob) if binary else blob.decode("utf-8")


def data_from_text(text: object, *, binary: bool) -> bytes:
    """Inverse of :func:`data_to_text`; :class:`SerializationError` for anything else."""
    if not isinstance(text, str):
        raise SerializationError(f"encoded session data is text, not {type(text).__name__}")
    if not binary:
        return text.encode("utf-8", "surrogatepass")
    try:
        return b64decode(text)
    except InvalidSessionToken as exc:
        raise SerializationError("session data is not URL-safe base64") from exc
