"""Every exception jamsession raises.

Each class also subclasses the builtin that describes it, so callers that
already catch ``LookupError`` or ``ConnectionError`` keep working::

    JamSessionError
    ├── JamSessionNotFound ............ LookupError   update/rework of a dead or invalid ID
    ├── SessionConflictError .......... RuntimeError  a patch kept losing to concurrent writers
    ├── JamSessionEmptyAESKey ......... ValueError    crypt on, no key given
    ├── InvalidKeyError ............... ValueError    a key that is not 32 bytes
    ├── InvalidSessionToken ........... ValueError    a token that fails to decrypt (internal;
    │   │                                             ``get`` turns it into ``None``)
    │   └── UnknownKeyError                           sealed under a key the store does not hold
    ├── InvalidSessionKeyError ........ TypeError     a session key that is not a str
    ├── SerializationError ............ ValueError    data that cannot be encoded or decoded
    │   ├── UnsupportedTypeError ...... TypeError     a value of a type the serializer refuses
    │   └── UnreadableSessionError                    a stored session an operation cannot read
    ├── MigrationConflictError ........ RuntimeError  the target holds another session under the ID
    ├── UnsupportedOperationError ..... TypeError     the store lacks what an operation needs
    ├── ConfigError ................... ValueError    an unknown, mistyped or missing option
    │   └── DuplicateSessionIdError                   id_factory made an ID already in use
    ├── BackendUnavailableError ....... ConnectionError
    └── PluginError
        ├── PluginNotFoundError ....... LookupError   no plugin of that name
        ├── DuplicatePluginError ...... LookupError   two distributions claim one name
        ├── PluginLoadError ........... ImportError   the plugin failed to import
        │   └── IncompatiblePluginError               built for another core version
        └── PluginTypeError ........... TypeError     the entry point is not the right kind
"""

from __future__ import annotations

from collections.abc import Sequence


class JamSessionError(Exception):
    """Base class of every error raised by jamsession."""


class JamSessionNotFound(JamSessionError, LookupError):  # noqa: N818 - public name from Jam's API
    """The session does not exist, has expired, or its ID is malformed or tampered with."""


class SessionConflictError(JamSessionError, RuntimeError):
    """A :meth:`~jamsession.RecordSessionModule.patch` lost the race to other writers every time.

    Each attempt re-reads the session and applies the changes again; this is
    raised only after ``attempts`` of them, when the session was changed by
    others between every read and write. Nothing of the patch was written.

    .. versionadded:: 0.2
    """

    def __init__(self, attempts: int) -> None:
        super().__init__(f"the session changed under every one of {attempts} attempts to patch it")
        self.attempts = attempts


class JamSessionEmptyAESKey(JamSessionError, ValueError):  # noqa: N818 - public name from Jam's API
    """``is_session_crypt`` is on but ``session_aes_secret`` is empty."""

    def __init__(self) -> None:
        super().__init__(
            "is_session_crypt=True needs session_aes_secret: generate one with "
            "`jamsession keygen` and pass it (or set JAMSESSION_AES_SECRET)"
        )


class InvalidKeyError(JamSessionError, ValueError):
    """An AES key that is not 32 raw bytes or their URL-safe base64 text."""


class InvalidSessionToken(JamSessionError, ValueError):  # noqa: N818 - a token, not an error kind
    """A session token that is malformed, truncated, tampered with or from a foreign key."""


class UnknownKeyError(InvalidSessionToken):
    """A ciphertext whose key id names none of the store's keys: sealed under a key it does not hold.

    Another deployment's key, or one removed from ``session_aes_secret`` too
    early; or a token altered in its first byte, which carries the key id.
    The message names no key and quotes no token.

    .. versionadded:: 0.3
    """


class InvalidSessionKeyError(JamSessionError, TypeError):
    """A session key (the user or account a session belongs to) that is not a ``str``.

    .. versionadded:: 0.1
    """


class SerializationError(JamSessionError, ValueError):
    """Session data could not be encoded, or stored bytes could not be decoded."""


class UnsupportedTypeError(SerializationError, TypeError):
    """Session data holds a value of a type the serializer does not support."""


class UnreadableSessionError(SerializationError):
    """A stored session that ``migrate`` or ``rekey`` cannot read, so cannot carry.

    Its data fails authentication under every key the store holds, or its
    serializer cannot decode it. The operation stops there, never skipping
    it silently; what it did before is kept, and running it again goes on.
    ``session_key`` names whose session it is (never its ID or data).

    .. versionadded:: 0.3
    """

    def __init__(self, session_key: str, reason: str) -> None:
        super().__init__(
            f"a stored session of session key {session_key!r} cannot be read ({reason}); "
            "add the key it was encrypted under to session_aes_secret, or end it with "
            "store.clear(session_key)"
        )
        self.session_key = session_key


class MigrationConflictError(JamSessionError, RuntimeError):
    """The target of ``migrate`` already holds a different session under a copied session's ID.

    Nothing of that session was written. ``session_key`` names the source's
    session; ``same_session`` tells whether the target's record is that very
    session (same key and creation time) changed since an earlier run, which
    ``migrate(..., update=True)`` (``jamsession migrate --update``) overwrites.

    .. versionadded:: 0.3
    """

    def __init__(self, session_key: str, *, same_session: bool) -> None:
        if same_session:
            detail = (
                "a copy made by an earlier run, changed since in one of the two stores; "
                "run with --update to copy the source's version over it"
            )
        else:
            detail = "another session: the two stores' ID factories collide"
        super().__init__(
            f"the target already holds a different session under the ID of a session of "
            f"session key {session_key!r}: {detail}"
        )
        self.session_key = session_key
        self.same_session = same_session


class UnsupportedOperationError(JamSessionError, TypeError):
    """The store lacks a capability an operation needs (``supports_scan``, crypt for ``rekey``).

    .. versionadded:: 0.3
    """


class ConfigError(JamSessionError, ValueError):
    """A configuration mistake: unknown option, wrong type or missing value."""


class DuplicateSessionIdError(ConfigError):
    """``id_factory`` returned a raw ID that a stored session already has; nothing was written.

    Every backend raises this one error for that one failure: the storage
    primitives :meth:`~jamsession.RecordSessionModule.insert_record` and
    :meth:`~jamsession.RecordSessionModule.move_record` raise it, and the
    conformance suite checks it. The message never holds the ID, which with
    crypt off is a working token::

        async def insert_record(self, record: StoredSession) -> None:
            if record.raw_id in self._records:
                raise DuplicateSessionIdError()
            self._records[record.raw_id] = record

    .. versionadded:: 0.1
    """

    def __init__(
        self, message: str = "id_factory returned an ID already in use; it must return unique IDs"
    ) -> None:
        super().__init__(message)


class BackendUnavailableError(JamSessionError, ConnectionError):
    """The storage behind a backend cannot be reached."""


class PluginError(JamSessionError):
    """Base class of errors about finding and loading plugins."""


class PluginNotFoundError(PluginError, LookupError):
    """No installed or registered plugin has this name.

    ``advice`` is the fix the message ends with; without it, the message
    says to pick an installed name or a ``'package.module:Class'`` path.
    """

    def __init__(self, kind: str, name: str, installed: Sequence[str], *, advice: str | None = None) -> None:
        self.kind = kind
        self.name = name
        self.installed = tuple(installed)
        listing = ", ".join(self.installed) or "none"
        if ":" in name:
            module, _, attribute = name.partition(":")
            super().__init__(
                f"module {module!r} has no {attribute!r} to use as a {kind}; check the name "
                f"after the colon, or pick an installed {kind} by name (installed: {listing})"
            )
            return
        if advice is None:
            advice = f"pick an installed {kind}, or pass 'package.module:Class'"
        super().__init__(f"no {kind} named {name!r} is installed (installed: {listing}); {advice}")


class DuplicatePluginError(PluginError, LookupError):
    """Two distributions register the same plugin name."""

    def __init__(self, kind: str, name: str, distributions: Sequence[str]) -> None:
        self.kind = kind
        self.name = name
        self.distributions = tuple(distributions)
        super().__init__(
            f"{kind} name {name!r} is claimed by several distributions: "
            f"{', '.join(self.distributions)}; uninstall all but one"
        )


class PluginLoadError(PluginError, ImportError):
    """A plugin was found but importing it failed; the cause is chained."""

    def __init__(self, message: str, *, plugin: str, distribution: str | None) -> None:
        super().__init__(message)
        self.plugin = plugin
        self.distribution = distribution


class IncompatiblePluginError(PluginLoadError):
    """A plugin requires a jamsession core version other than the one installed."""


class PluginTypeError(PluginError, TypeError):
    """An entry point or path resolves to an object of the wrong kind."""

    def __init__(self, message: str, *, obj: object) -> None:
        super().__init__(message)
        self.obj = obj
