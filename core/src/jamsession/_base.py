"""``BaseAsyncSessionModule``: the contract every session backend implements."""

from __future__ import annotations

import abc
import logging
from collections import OrderedDict
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self, TypeVar

from jamsession._crypto import (
    PURPOSE_DATA,
    PURPOSE_ID,
    KeyRing,
    SecretInput,
    b64decode,
    b64encode,
)
from jamsession._errors import (
    ConfigError,
    InvalidSessionToken,
    JamSessionEmptyAESKey,
    JamSessionNotFound,
    SerializationError,
    UnsupportedTypeError,
)
from jamsession._ids import FreshIds, default_id_factory
from jamsession._options import BASE_OPTIONS, Option
from jamsession._serializer import BaseEncoder
from jamsession_json._encoder import JsonEncoder

#: Longest token accepted; anything longer is refused before any decoding work.
MAX_TOKEN_LENGTH = 512

_Key = TypeVar("_Key")
_Value = TypeVar("_Value")


class BaseLogger(Protocol):
    """What jamsession needs of a logger; a :class:`logging.Logger` is one."""

    def debug(self, msg: str, /, *args: Any) -> Any: ...
    def info(self, msg: str, /, *args: Any) -> Any: ...
    def warning(self, msg: str, /, *args: Any) -> Any: ...
    def error(self, msg: str, /, *args: Any) -> Any: ...


class BaseAsyncSessionModule(abc.ABC):
    """Abstract base class for async session management modules.

    A backend subclasses it and implements the six abstract methods; the base
    class holds everything else: ID generation, encryption of IDs and data,
    serialization, logging and lifecycle hooks.

    Args:
        id_factory: Makes a new raw session ID; the default is a uuid4 (122
            bits from the OS CSPRNG). Raw IDs must be printable ASCII of at
            most 512 characters (355 with crypt on, so that their tokens fit
            in 512); an ID that is not raises :class:`ConfigError` from
            ``create``, and any other client-supplied ID is foreign.
        is_session_crypt: Encrypt session IDs (and the data at rest) with
            AES-256-GCM.
        session_aes_secret: The key: 32 raw bytes, their URL-safe base64 text,
            or a list of such keys for rotation, **oldest first**: the last one
            encrypts, all of them decrypt.
        serializer: A :class:`BaseEncoder` class or instance, or the name of an
            installed serializer plugin.
        logger: Anything with ``debug``/``info``/``warning``/``error``;
            ``None`` means ``logging.getLogger("jamsession")``.

    Raises:
        JamSessionEmptyAESKey: ``is_session_crypt`` is on without a key.
        InvalidKeyError: a key is not 32 bytes.

    Capability flags tell callers and the conformance suite which optional
    features a backend offers beyond the six methods.
    """

    #: ``default_ttl``, ``clock``: expired sessions are never returned.
    supports_ttl: ClassVar[bool] = False
    #: ``sliding_expiry``: reading or updating a session pushes its expiry back.
    supports_sliding_expiry: ClassVar[bool] = False
    #: ``list_sessions(session_key)``.
    supports_listing: ClassVar[bool] = False
    #: ``purge_expired()``.
    supports_purge: ClassVar[bool] = False
    #: Sessions live in this process's memory: other processes (other web workers) never see them.
    process_local: ClassVar[bool] = False

    #: The options this class adds to its bases' (see :func:`jamsession.options_of`).
    options: ClassVar[tuple[Option, ...]] = BASE_OPTIONS

    #: With crypt on, how many tokens a store remembers the raw IDs of, so that
    #: a token it handed out or read lately is not decrypted again. Decrypting
    #: is a pure function of the token and the keys, so remembering changes
    #: nothing but the cost; the oldest entry makes room for a new one.
    #:
    #: .. versionadded:: 0.1
    token_cache_size: int = 4096

    #: With crypt on, how many sessions' decrypted data a store remembers, each
    #: under the exact ciphertext it came from (one it wrote or read lately), so
    #: that reading a session that has not changed since does not decrypt it
    #: again. Like the token cache, it changes nothing but the cost: a
    #: ciphertext that differs in any byte is decrypted, and authenticated, as
    #: ever. ``0`` keeps no decrypted data between calls.
    #:
    #: .. versionadded:: 0.1
    data_cache_size: int = 1024

    def __init__(
        self,
        id_factory: Callable[[], str] = default_id_factory,
        is_session_crypt: bool = False,
        session_aes_secret: SecretInput | None = None,
        serializer: type[BaseEncoder] | BaseEncoder | str = JsonEncoder,
        logger: BaseLogger | None = None,
    ) -> None:
        if not callable(id_factory):
            raise ConfigError(f"id_factory must be a callable returning a new ID, not {id_factory!r}")
        if logger is not None and not all(
            callable(getattr(logger, level, None)) for level in ("debug", "info", "warning", "error")
        ):
            raise ConfigError(f"logger must be a logging.Logger or alike, not {logger!r}")
        self.id_factory = id_factory
        self.is_session_crypt = bool(is_session_crypt)
        self.serializer = _resolve_serializer(serializer)
        self.logger: BaseLogger = logger if logger is not None else logging.getLogger("jamsession")
        self._keyring: KeyRing | None = None
        # Ordered: dropping a plain dict's first entry over and over leaves a
        # growing run of dead slots that every later lookup of "the first" walks.
        self._raw_ids: OrderedDict[str, str] = OrderedDict()
        self._plain_data: OrderedDict[bytes, bytes] = OrderedDict()
        self._fresh_ids = FreshIds()
        if is_session_crypt or session_aes_secret:
            self._keyring = KeyRing(session_aes_secret)
        # Text forms of data must be base64 when the bytes are not UTF-8 text.
        self._data_is_binary = self.is_session_crypt or self.serializer.binary
        from jamsession._hooks import observe_lifecycle

        observe_lifecycle(self)

    def __repr__(self) -> str:
        # Never show key material or data.
        crypt = "on" if self.is_session_crypt else "off"
        serializer = self.serializer if isinstance(self.serializer, type) else type(self.serializer)
        return f"<{type(self).__name__} serializer={serializer.__name__} crypt={crypt}>"

    @property
    def id(self) -> str:
        """Return the unique ID use id_factory."""
        return self.id_factory()

    def _new_session_id(self) -> tuple[str, str]:
        """A new raw ID and the token handed out for it (the raw ID itself when crypt is off)."""
        cls = type(self)
        if not self.is_session_crypt:
            if self.id_factory is default_id_factory and cls.id is BaseAsyncSessionModule.id:
                raw_id = default_id_factory()  # a uuid4's text: nothing to check
            else:
                raw_id = _checked_raw_id(self.id)
            return raw_id, raw_id
        if (
            self.id_factory is default_id_factory
            and cls.id is BaseAsyncSessionModule.id
            and cls.__encode_session_id__ is BaseAsyncSessionModule.__encode_session_id__
        ):
            # What ``id`` and ``__encode_session_id__`` would give, made a batch at a time.
            raw_id, token = self._fresh_ids.take(self._require_keyring())
            _remember(self._raw_ids, self.token_cache_size, token, raw_id)
            return raw_id, token
        raw_id = _checked_raw_id(self.id)
        token = self.__encode_session_id__(raw_id)
        if len(token) > MAX_TOKEN_LENGTH:
            raise ConfigError(
                f"id_factory made an ID of {len(raw_id)} characters, whose token is longer than "
                f"{MAX_TOKEN_LENGTH}: with crypt on, IDs must be at most 355 characters"
            )
        return raw_id, token

    # -- encoding (Jam's text API) -------------------------------------------

    def __encode_session_id__(self, data: str) -> str:
        """Encode the session using AES encryption."""
        token = b64encode(self._require_keyring().encrypt(data.encode("utf-8"), PURPOSE_ID))
        _remember(self._raw_ids, self.token_cache_size, token, data)
        return token

    def __decode_session_id__(self, data: str) -> str:
        """Decode the session using AES decryption.

        Raises:
            InvalidSessionToken: the token is malformed, tampered with or from a foreign key.
        """
        keyring = self._require_keyring()
        if not isinstance(data, str) or len(data) > MAX_TOKEN_LENGTH:
            raise InvalidSessionToken("not a session token")
        try:
            return keyring.decrypt(b64decode(data), PURPOSE_ID).decode("utf-8")
        except UnicodeDecodeError as exc:  # pragma: no cover - authenticated, so ours
            raise InvalidSessionToken("not a session token") from exc

    def __encode_session_id_if_needed__(self, data: str) -> str:
        """Encode the session ID if it is not already encoded."""
        return self.__encode_session_id__(data) if self.is_session_crypt else data

    def __decode_session_id_if_needed__(self, data: str) -> str:
        """Decode the session ID if it is encoded."""
        return self.__decode_session_id__(data) if self.is_session_crypt else data

    def __encode_session_data__(self, data: dict[str, Any]) -> str:
        """Encode session data."""
        blob = self._dump_data(data)
        return b64encode(blob) if self._data_is_binary else blob.decode("utf-8")

    def __decode_session_data__(self, data: str) -> dict[str, Any]:
        """Decode session data.

        Raises:
            SerializationError: the text is not session data this store wrote.
        """
        if not isinstance(data, str):
            raise SerializationError(f"encoded session data is text, not {type(data).__name__}")
        if not self._data_is_binary:
            return self._load_data(data.encode("utf-8", "surrogatepass"))
        try:
            blob = b64decode(data)
        except InvalidSessionToken as exc:
            raise SerializationError("session data is not URL-safe base64") from exc
        return self._load_data(blob)

    # -- encoding (bytes, for backends that store BLOBs) --------------------------

    def _dump_data(self, data: dict[str, Any]) -> bytes:
        """Serialize (and encrypt, when crypt is on) ``data`` for storage."""
        if not isinstance(data, dict):
            raise UnsupportedTypeError(f"session data must be a dict, not {type(data).__name__}")
        try:
            blob = self.serializer.dumps(data)
        except SerializationError:
            raise
        except Exception as exc:
            # A third-party serializer leaking its library's error: typed, and nothing is written.
            raise UnsupportedTypeError(
                f"session data cannot be serialized ({type(exc).__name__}: {exc})"
            ) from exc
        if self.is_session_crypt:
            sealed = self._require_keyring().encrypt(blob, PURPOSE_DATA)
            _remember(self._plain_data, self.data_cache_size, sealed, blob)
            return sealed
        return blob

    def _load_data(self, blob: bytes) -> dict[str, Any]:
        """Inverse of :meth:`_dump_data`; :class:`SerializationError` for anything else."""
        if self.is_session_crypt:
            # Only bytes are hashable as they are: other buffers are decrypted every time.
            cacheable = type(blob) is bytes
            plain = self._plain_data.get(blob) if cacheable else None
            if plain is None:
                try:
                    plain = self._require_keyring().decrypt(blob, PURPOSE_DATA)
                except InvalidSessionToken as exc:
                    raise SerializationError("stored session data fails authentication") from exc
                if cacheable:
                    _remember(self._plain_data, self.data_cache_size, blob, plain)
            blob = plain
        try:
            data = self.serializer.loads(blob)
        except SerializationError:
            raise
        except Exception as exc:
            raise SerializationError(f"stored session data cannot be decoded ({type(exc).__name__})") from exc
        if not isinstance(data, dict):
            raise SerializationError("stored session data is not a mapping")
        return data

    def _resolve_session_id(self, session_id: object) -> str | None:
        """The raw ID behind a client's token, or ``None`` if it cannot be one of ours."""
        if not isinstance(session_id, str) or not 0 < len(session_id) <= MAX_TOKEN_LENGTH:
            return None
        if not self.is_session_crypt:
            # Raw IDs are printable ASCII; anything else (NUL, surrogates) is foreign.
            # The same test as _checked_raw_id's, written out: this runs on every get.
            return session_id if session_id.isascii() and session_id.isprintable() else None
        raw_id = self._raw_ids.get(session_id)
        if raw_id is None:
            try:
                raw_id = self.__decode_session_id__(session_id)
            except InvalidSessionToken:
                return None
            _remember(self._raw_ids, self.token_cache_size, session_id, raw_id)
        return raw_id

    def _require_session_id(self, session_id: object) -> str:
        """Like :meth:`_resolve_session_id`, raising :class:`JamSessionNotFound` instead of ``None``."""
        raw = self._resolve_session_id(session_id)
        if raw is None:
            raise JamSessionNotFound("no such session")
        return raw

    def _require_keyring(self) -> KeyRing:
        if self._keyring is None:
            raise JamSessionEmptyAESKey()
        return self._keyring

    # -- lifecycle ----------------------------------------------------------------

    async def aclose(self) -> None:  # noqa: B027 - optional: stores holding nothing need not close
        """Release connections and files. Safe to call twice."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- the contract -------------------------------------------------------------

    @abc.abstractmethod
    async def create(self, session_key: str, data: dict[str, Any]) -> str:
        """Create a new session with the given session key and data.

        Args:
            session_key: The key for the session.
            data: The data to be stored in the session.

        Returns:
            str: The session ID.
        """

    @abc.abstractmethod
    async def get(self, session_id: str) -> dict[str, Any] | None:
        """Retrieve a session by its key or ID.

        Args:
            session_id: The ID of the session.

        Returns:
            dict[str, Any] | None: The session data if found, otherwise None.
        """

    @abc.abstractmethod
    async def delete(self, session_id: str) -> None:
        """Delete a session by its key or ID.

        Args:
            session_id: The ID of the session.
        """

    @abc.abstractmethod
    async def update(self, session_id: str, data: dict[str, Any]) -> None:
        """Update an existing session with new data.

        Args:
            session_id: The ID of the session to update.
            data: The new data to be stored in the session.

        Raises:
            JamSessionNotFound: If the session with the given ID does not exist.
        """

    @abc.abstractmethod
    async def clear(self, session_key: str) -> None:
        """Clear all sessions by key.

        Args:
            session_key: The key for the sessions to clear.
        """

    @abc.abstractmethod
    async def rework(self, session_id: str) -> str:
        """Rework a session and return its new ID.

        Args:
            session_id: The ID of the session to rework.

        Raises:
            JamSessionNotFound: If the session with the given ID does not exist.

        Returns:
            str: The new session ID.
        """


def _remember(cache: OrderedDict[_Key, _Value], limit: int, key: _Key, value: _Value) -> None:
    """Add ``key`` to a cache of at most ``limit`` entries, dropping the oldest to make room."""
    if limit <= 0:
        cache.clear()
        return
    while len(cache) >= limit:
        cache.popitem(last=False)
    cache[key] = value


def _checked_raw_id(raw_id: object) -> str:
    """``raw_id``, if ``get`` would accept it back; :class:`ConfigError` naming the fix otherwise."""
    if (
        isinstance(raw_id, str)
        and 0 < len(raw_id) <= MAX_TOKEN_LENGTH
        and raw_id.isascii()
        and raw_id.isprintable()
    ):
        return raw_id
    raise ConfigError(
        f"id_factory must return printable ASCII text of 1 to {MAX_TOKEN_LENGTH} characters, "
        f"not a {type(raw_id).__name__}"
        + (f" of {len(raw_id)} characters" if isinstance(raw_id, str) else "")
    )


def _resolve_serializer(serializer: object) -> type[BaseEncoder] | BaseEncoder:
    if isinstance(serializer, str):
        from jamsession._registry import load_serializer

        return load_serializer(serializer)
    if isinstance(serializer, BaseEncoder) or (
        isinstance(serializer, type) and issubclass(serializer, BaseEncoder)
    ):
        return serializer
    from jamsession._errors import PluginTypeError

    raise PluginTypeError(
        f"serializer must be a BaseEncoder subclass, an instance of one, or a plugin name; "
        f"got {serializer!r}",
        obj=serializer,
    )
