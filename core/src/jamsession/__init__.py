"""jamsession: an async, server-side session store with pluggable backends and serializers."""

from jamsession import _assembly  # noqa: F401 - installs how stores being built reach plugins
from jamsession._base import BaseAsyncSessionModule, BaseLogger
from jamsession._config import from_config, open  # noqa: A004 - the public name, like io.open
from jamsession._crypto import SecretInput, generate_key
from jamsession._entry import SessionEntry
from jamsession._errors import (
    BackendUnavailableError,
    ConfigError,
    DuplicatePluginError,
    DuplicateSessionIdError,
    IncompatiblePluginError,
    InvalidKeyError,
    InvalidSessionKeyError,
    InvalidSessionToken,
    JamSessionEmptyAESKey,
    JamSessionError,
    JamSessionNotFound,
    MigrationConflictError,
    PluginError,
    PluginLoadError,
    PluginNotFoundError,
    PluginTypeError,
    SerializationError,
    SessionConflictError,
    UnknownKeyError,
    UnreadableSessionError,
    UnsupportedOperationError,
    UnsupportedTypeError,
)
from jamsession._handles import session_handle
from jamsession._hooks import hook_caller, hookimpl, register_plugin
from jamsession._ids import default_id_factory
from jamsession._options import Option, options_of
from jamsession._record import RecordBatch, RecordOptions, RecordSessionModule, SessionInfo, StoredSession
from jamsession._registry import (
    PluginInfo,
    backend_name,
    installed_plugins,
    load_backend,
    load_serializer,
    register_backend,
    register_serializer,
)
from jamsession._serializer import BaseEncoder
from jamsession._slices import build_in_slices
from jamsession._version import __version__

__all__ = [
    "BackendUnavailableError",
    "BaseAsyncSessionModule",
    "BaseEncoder",
    "BaseLogger",
    "ConfigError",
    "DuplicatePluginError",
    "DuplicateSessionIdError",
    "IncompatiblePluginError",
    "InvalidKeyError",
    "InvalidSessionKeyError",
    "InvalidSessionToken",
    "JamSessionEmptyAESKey",
    "JamSessionError",
    "JamSessionNotFound",
    "JsonEncoder",
    "MigrationConflictError",
    "Option",
    "PluginError",
    "PluginInfo",
    "PluginLoadError",
    "PluginNotFoundError",
    "PluginTypeError",
    "RecordBatch",
    "RecordOptions",
    "RecordSessionModule",
    "SecretInput",
    "SerializationError",
    "SessionConflictError",
    "SessionEntry",
    "SessionInfo",
    "StoredSession",
    "UnknownKeyError",
    "UnreadableSessionError",
    "UnsupportedOperationError",
    "UnsupportedTypeError",
    "__version__",
    "backend_name",
    "build_in_slices",
    "default_id_factory",
    "from_config",
    "generate_key",
    "hook_caller",
    "hookimpl",
    "installed_plugins",
    "load_backend",
    "load_serializer",
    "open",
    "options_of",
    "register_backend",
    "register_plugin",
    "register_serializer",
    "session_handle",
]


def __getattr__(name: str) -> type[BaseEncoder] | BaseEncoder:
    # The seed's default serializer belongs to the JSON plugin: it is looked up
    # by name when first asked for, so that importing jamsession imports no plugin.
    if name == "JsonEncoder":
        return load_serializer("json")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
