"""``BaseAsyncSessionModule``: the contract every session backend implements."""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self, TypedDict

from jamsession import _codec
from jamsession._crypto import KeyRing, SecretInput
from jamsession._errors import (
    ConfigError,
    InvalidSessionToken,
    JamSessionEmptyAESKey,
    JamSessionNotFound,
    PluginTypeError,
)
from jamsession._ids import MAX_TOKEN_LENGTH, checked_raw_id, default_id_factory, is_raw_id
from jamsession._options import BASE_OPTIONS, Option
from jamsession._serializer import BaseEncoder


class BaseLogger(Protocol):
    """What jamsession needs of a logger; a :class:`logging.Logger` is one."""

    def debug(self, msg: str, /, *args: Any) -> Any: ...
    def info(self, msg: str, /, *args: Any) -> Any: ...
    def warning(self, msg: str, /, *args: Any) -> Any: ...
    def error(self, msg: str, /, *args: Any) -> Any: ...


class Assembly(Protocol):
    """What building a store needs of the installed plugins.

    The one implementation, in ``jamsession._assembly``, is installed when
    :mod:`jamsession` is imported (as it is before any of its modules), so the
    contract below depends on no plugin machinery.
    """

    def serializer(self, name: str, /) -> type[BaseEncoder] | BaseEncoder:
        """The serializer installed (or registered) under ``name``."""

    def attach(self, store: BaseAsyncSessionModule, /) -> None:
        """Let the plugins that observe the lifecycle see ``store``'s operations."""


class BaseOptions(TypedDict, total=False):
    """The options of :class:`BaseAsyncSessionModule` (:data:`BASE_OPTIONS`) as keyword arguments."""

    id_factory: Callable[[], str]
    is_session_crypt: bool
    session_aes_secret: SecretInput | None
    serializer: type[BaseEncoder] | BaseEncoder | str
    logger: BaseLogger | None


class BaseAsyncSessionModule(abc.ABC):
    """Abstract base class for async session management modules.

    A backend subclasses it and implements the six abstract methods; the base
    class holds everything else: ID generation, encryption of IDs and data,
    serialization and logging.

    Calling the class builds a store, whether an application calls it or
    :func:`jamsession.open` does: a serializer given by name (the default is
    ``"json"``, the seed's ``JsonEncoder``) is looked up among the installed
    serializers, and the lifecycle hooks of installed plugins are attached.

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
            installed serializer plugin; ``"json"`` (the seed's ``JsonEncoder``)
            by default.
        logger: Anything with ``debug``/``info``/``warning``/``error``;
            ``None`` means ``logging.getLogger("jamsession")``.

    Raises:
        JamSessionEmptyAESKey: ``is_session_crypt`` is on without a key.
        InvalidKeyError: a key is not 32 bytes.
        PluginNotFoundError: no serializer of that name is installed.

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

    # How a store being built reaches the installed plugins; see Assembly.
    _assembly: ClassVar[Assembly]

    def __init__(
        self,
        id_factory: Callable[[], str] = default_id_factory,
        is_session_crypt: bool = False,
        session_aes_secret: SecretInput | None = None,
        serializer: type[BaseEncoder] | BaseEncoder | str = "json",
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
        self.serializer = self._serializer(serializer)
        self.logger: BaseLogger = logger if logger is not None else logging.getLogger("jamsession")
        self._keyring: KeyRing | None = None
        if is_session_crypt or session_aes_secret:
            self._keyring = KeyRing(session_aes_secret)
        # Text forms of data must be base64 when the bytes are not UTF-8 text.
        self._data_is_binary = self.is_session_crypt or self.serializer.binary
        self._assembly.attach(self)

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
        raw_id = checked_raw_id(self.id)
        if not self.is_session_crypt:
            return raw_id, raw_id
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
        return _codec.seal_id(self._require_keyring(), data)

    def __decode_session_id__(self, data: str) -> str:
        """Decode the session using AES decryption.

        Raises:
            InvalidSessionToken: the token is malformed, tampered with or from a foreign key.
        """
        return _codec.open_token(self._require_keyring(), data)

    def __encode_session_id_if_needed__(self, data: str) -> str:
        """Encode the session ID if it is not already encoded."""
        return self.__encode_session_id__(data) if self.is_session_crypt else data

    def __decode_session_id_if_needed__(self, data: str) -> str:
        """Decode the session ID if it is encoded."""
        return self.__decode_session_id__(data) if self.is_session_crypt else data

    def __encode_session_data__(self, data: dict[str, Any]) -> str:
        """Encode session data."""
        return _codec.data_to_text(self._dump_data(data), binary=self._data_is_binary)

    def __decode_session_data__(self, data: str) -> dict[str, Any]:
        """Decode session data.

        Raises:
            SerializationError: the text is not session data this store wrote.
        """
        return self._load_data(_codec.data_from_text(data, binary=self._data_is_binary))

    # -- encoding (bytes, for backends that store BLOBs) --------------------------

    def _dump_data(self, data: dict[str, Any]) -> bytes:
        """Serialize (and encrypt, when crypt is on) ``data`` for storage."""
        return _codec.dump_data(self.serializer, self._data_keyring(), data)

    def _load_data(self, blob: bytes) -> dict[str, Any]:
        """Inverse of :meth:`_dump_data`; :class:`SerializationError` for anything else."""
        return _codec.load_data(self.serializer, self._data_keyring(), blob)

    def _resolve_session_id(self, session_id: object) -> str | None:
        """The raw ID behind a client's token, or ``None`` if it cannot be one of ours."""
        if not isinstance(session_id, str) or not 0 < len(session_id) <= MAX_TOKEN_LENGTH:
            return None
        if not self.is_session_crypt:
            return session_id if is_raw_id(session_id) else None
        try:
            return self.__decode_session_id__(session_id)
        except InvalidSessionToken:
            return None

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

    def _data_keyring(self) -> KeyRing | None:
        return self._require_keyring() if self.is_session_crypt else None

    def _serializer(self, serializer: object) -> type[BaseEncoder] | BaseEncoder:
        if isinstance(serializer, str):
            return self._assembly.serializer(serializer)
        if isinstance(serializer, BaseEncoder) or (
            isinstance(serializer, type) and issubclass(serializer, BaseEncoder)
        ):
            return serializer
        raise PluginTypeError(
            f"serializer must be a BaseEncoder subclass, an instance of one, or a plugin name; "
            f"got {serializer!r}",
            obj=serializer,
        )

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
