"""jamsession: an async, server-side session store with pluggable backends and serializers."""

from jamsession._base import BaseAsyncSessionModule, BaseLogger
from jamsession._config import from_config, open  # noqa: A004 - the public name, like io.open
from jamsession._crypto import SecretInput, generate_key
from jamsession._errors import (
    BackendUnavailableError,
    ConfigError,
    DuplicatePluginError,
    IncompatiblePluginError,
    InvalidKeyError,
    InvalidSessionKeyError,
    InvalidSessionToken,
    JamSessionEmptyAESKey,
    JamSessionError,
    JamSessionNotFound,
    PluginError,
    PluginLoadError,
    PluginNotFoundError,
    PluginTypeError,
    SerializationError,
    UnsupportedTypeError,
)
from jamsession._hooks import hookimpl, register_plugin
from jamsession._ids import default_id_factory
from jamsession._options import Option, RecordOptions, options_of
from jamsession._record import RecordSessionModule, SessionInfo, StoredSession
from jamsession._registry import (
    PluginInfo,
    installed_plugins,
    load_backend,
    load_serializer,
    register_backend,
    register_serializer,
)
from jamsession._serializer import BaseEncoder
from jamsession._version import __version__
from jamsession_json._encoder import JsonEncoder

__all__ = [
    "BackendUnavailableError",
    "BaseAsyncSessionModule",
    "BaseEncoder",
    "BaseLogger",
    "ConfigError",
    "DuplicatePluginError",
    "IncompatiblePluginError",
    "InvalidKeyError",
    "InvalidSessionKeyError",
    "InvalidSessionToken",
    "JamSessionEmptyAESKey",
    "JamSessionError",
    "JamSessionNotFound",
    "JsonEncoder",
    "Option",
    "PluginError",
    "PluginInfo",
    "PluginLoadError",
    "PluginNotFoundError",
    "PluginTypeError",
    "RecordOptions",
    "RecordSessionModule",
    "SecretInput",
    "SerializationError",
    "SessionInfo",
    "StoredSession",
    "UnsupportedTypeError",
    "__version__",
    "default_id_factory",
    "from_config",
    "generate_key",
    "hookimpl",
    "installed_plugins",
    "load_backend",
    "load_serializer",
    "open",
    "options_of",
    "register_backend",
    "register_plugin",
    "register_serializer",
]
