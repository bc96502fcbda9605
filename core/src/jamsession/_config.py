"""Building a store from a backend name, a mapping, a TOML file and the environment.

Precedence, highest first: explicit arguments, environment variables, the
file, the backend's defaults. What a backend takes is its declared options
(:func:`~jamsession.options_of`); every mistake is reported when the store
is built, naming the option, where it came from and what would fix it.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from jamsession._base import BaseAsyncSessionModule
from jamsession._crypto import parse_key
from jamsession._errors import ConfigError, InvalidKeyError, PluginError
from jamsession._hooks import configurable_plugins, configure_plugin
from jamsession._options import ENV_PREFIX, Option, options_of
from jamsession._registry import load_backend, load_serializer

#: Environment variables that are not named after an option.
ENV_ALIASES = {
    "JAMSESSION_BACKEND": "backend",
    "JAMSESSION_SERIALIZER": "serializer",
    "JAMSESSION_AES_SECRET": "session_aes_secret",
    "JAMSESSION_CRYPT": "is_session_crypt",
}
#: Read by the command line or by a plugin (jamsession-telemetry), not by the loader.
ENV_IGNORED = frozenset({"JAMSESSION_CONFIG", "JAMSESSION_TELEMETRY"})
#: Variables under these prefixes belong to the test suites and the benchmarks, never to a store.
ENV_TEST_PREFIXES = ("JAMSESSION_TEST_", "JAMSESSION_BENCH_")

#: The table of a configuration file that holds the options.
TABLE = "jamsession"

_ARGUMENTS = "the arguments"

_Loaded = TypeVar("_Loaded")


def open(backend: str | type | None = None, /, **options: Any) -> BaseAsyncSessionModule:  # noqa: A001 - public name, like io.open
    """Build a store by backend name (or ``'package.module:Class'``, or a class).

    Options the call leaves out are taken from ``JAMSESSION_*`` environment
    variables, then from the backend's defaults::

        store = jamsession.open("sqlite", path="sessions.db", is_session_crypt=True,
                                session_aes_secret=os.environ["SESSION_KEY"])

    Without a name, ``JAMSESSION_BACKEND`` names the backend; with neither,
    it is a :class:`ConfigError`: no store is picked silently.

    Raises:
        ConfigError: an unknown or mistyped option, or no backend named.
        PluginNotFoundError: no backend of that name is installed.
        PluginLoadError: the backend failed to import.

    .. versionadded:: 0.1
    """
    explicit = dict(options)
    if backend is not None:
        explicit["backend"] = backend
    return plan({}, explicit, origin="").build()


def from_config(
    source: Mapping[str, Any] | str | os.PathLike[str], /, **overrides: Any
) -> BaseAsyncSessionModule:
    """Build a store from a mapping or a TOML file, under the environment and ``overrides``.

    The file holds ``backend``, ``serializer`` and the backend's options,
    at its top level or in a ``[jamsession]`` table; a relative ``path`` in
    it is relative to the file. A table under it holds the settings of the
    installed hook plugin of that name (see ``jamsession_configure``), handed
    to the plugin before the store is built::

        [jamsession]
        backend = "sqlite"
        path = "sessions.db"
        is_session_crypt = true
        default_ttl = 86400
        # session_aes_secret comes from JAMSESSION_AES_SECRET, not from the file

        [jamsession.telemetry]      # with jamsession-telemetry installed
        exporters = "otel,prometheus"

    .. versionadded:: 0.1
    """
    return plan_config(source, overrides).build()


@dataclass
class Plan:
    """A store about to be built: its class, its arguments and where each came from."""

    cls: type[BaseAsyncSessionModule]
    backend: str
    arguments: dict[str, Any]
    sources: dict[str, str]
    #: Logged by the store once built: settings that are allowed but deserve a second look.
    warnings: list[str] = field(default_factory=list)

    def build(self) -> BaseAsyncSessionModule:
        """Make the store, naming where an option the backend refuses came from."""
        try:
            store = self.cls(**self.arguments)
        except ConfigError as exc:
            if type(exc) is not ConfigError:
                raise
            named = [
                name
                for name in self.sources
                if name != "backend" and re.search(rf"\b{re.escape(name)}\b", str(exc))
            ]
            if not named:
                raise
            origins = "; ".join(f"{name} from {self.sources[name]}" for name in named)
            raise ConfigError(f"{exc} ({origins})") from exc
        for warning in self.warnings:
            store.logger.warning(warning)
        return store

    def paths(self) -> dict[str, str]:
        """The file paths the store will use, resolved, by option name."""
        options = options_of(self.cls)
        return {
            name: os.path.abspath(os.path.expanduser(os.fspath(value)))
            for name, value in self.arguments.items()
            if name in options and options[name].path and isinstance(value, (str, os.PathLike))
        }


def plan_config(source: Mapping[str, Any] | str | os.PathLike[str], overrides: Mapping[str, Any]) -> Plan:
    """The :class:`Plan` of :func:`from_config`, for commands that report what they build."""
    if isinstance(source, Mapping):
        return plan(dict(source), overrides, origin="the mapping")
    path = Path(source)
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file {str(path)!r} does not exist") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"configuration file {str(path)!r} is not valid TOML (UTF-8 text): {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"configuration file {str(path)!r} cannot be read: {exc.strerror}") from exc
    if TABLE in document:
        table = document[TABLE]
        if not isinstance(table, dict):
            raise ConfigError(f"[{TABLE}] in {str(path)!r} must be a table")
    else:
        table = document
        for name, value in document.items():
            if isinstance(value, dict) and difflib.get_close_matches(name, [TABLE], cutoff=0.7):
                raise ConfigError(
                    f"unknown table [{name}] in {str(path)!r}; did you mean [{TABLE}]? "
                    f"The options go in a [{TABLE}] table, or at the top level"
                )
    return plan(
        table,
        overrides,
        origin=f"file {str(path)!r}",
        directory=Path(os.path.abspath(path)).parent,
        tables=f"{TABLE}." if TABLE in document else "",
    )


def plan(
    file: Mapping[str, Any],
    explicit: Mapping[str, Any],
    *,
    origin: str,
    directory: Path | None = None,
    tables: str = "",
) -> Plan:
    """Resolve the backend and every option of a store, with their sources, without building it.

    ``file`` is what a file or mapping gave (``origin`` names it; empty for
    :func:`open`), ``explicit`` the caller's arguments; ``directory`` is the
    file's, against which relative paths in it resolve. Its tables are the
    settings of hook plugins, handed to them once everything else is checked;
    ``tables`` is how the file spells their names' prefix (``"jamsession."``).
    """
    backend, backend_source = _backend(file, explicit, origin)
    cls = backend if isinstance(backend, type) else _from_source(load_backend, str(backend), backend_source)
    options = options_of(cls)
    name = backend if isinstance(backend, str) else f"{backend.__module__}:{backend.__qualname__}"
    arguments: dict[str, Any] = {}
    sources: dict[str, str] = {}

    plugin_tables: dict[str, dict[str, Any]] = {}
    for key, value in file.items():
        if key == "backend":
            continue
        if isinstance(value, dict) and key not in options:
            plugin_tables[key] = value
            continue
        option = _known(key, value, options, origin, name)
        if option.code_only:
            raise ConfigError(
                f"option {key!r} (from {origin}) takes a Python object ({option.type_text()}): "
                f"only code can give it, as in jamsession.open(..., {key}=...)"
            )
        value = _resolve_path(option, value, directory)  # noqa: PLW2901 - the same value, made absolute
        option.check(value, source=origin)
        arguments[key], sources[key] = value, origin
    environment = _environment(options, name)
    for key, (variable, text) in environment.items():
        arguments[key], sources[key] = (
            options[key].from_text(text, source=variable),
            f"environment variable {variable}",
        )
    for key, value in explicit.items():
        if key == "backend":
            continue
        option = _known(key, value, options, _ARGUMENTS, name)
        option.check(value, source=_ARGUMENTS)
        arguments[key], sources[key] = value, _ARGUMENTS
    sources.setdefault("backend", backend_source)

    warnings = _check_crypt(arguments, sources, file, origin)
    if isinstance(arguments.get("serializer"), str):
        arguments["serializer"] = _from_source(
            load_serializer, arguments["serializer"], sources["serializer"]
        )
    _configure_plugins(plugin_tables, origin, tables, options)
    return Plan(cls, name, arguments, sources, warnings)


def _configure_plugins(
    plugin_tables: Mapping[str, dict[str, Any]], origin: str, prefix: str, options: Mapping[str, Option]
) -> None:
    """Hand each plugin its table; every table must be an installed plugin's, checked before any is."""
    if not plugin_tables:
        return
    installed = configurable_plugins()
    for key in plugin_tables:
        if key in installed:
            continue
        hint = difflib.get_close_matches(key, installed, n=1) or difflib.get_close_matches(key, options, n=1)
        if hint and hint[0] in options:
            suggestion = f"did you mean the option {hint[0]!r}? "
        else:
            suggestion = f"did you mean [{prefix}{hint[0]}]? " if hint else ""
        raise ConfigError(
            f"unknown table [{prefix}{key}] in {origin}; {suggestion}A table there holds the settings "
            f"of the installed jamsession plugin of its name (those that take settings: "
            f"{', '.join(installed) or 'none'}); install the plugin, or remove the table"
        )
    for key, settings in plugin_tables.items():
        configure_plugin(key, settings, f"[{prefix}{key}] in {origin}")


def _backend(file: Mapping[str, Any], explicit: Mapping[str, Any], origin: str) -> tuple[str | type, str]:
    variable = os.environ.get("JAMSESSION_BACKEND", "").strip()
    for value, source in (
        (explicit.get("backend"), _ARGUMENTS),
        (variable, "environment variable JAMSESSION_BACKEND"),
        (file.get("backend"), origin),
    ):
        if value:
            if not isinstance(value, (str, type)):
                raise ConfigError(
                    f"backend (from {source}) must be a backend's name or a class, not {value!r}"
                )
            return value, source
    if origin:
        raise ConfigError(
            f'{origin} names no backend: add `backend = "sqlite"` (or another installed backend) '
            f'to its [{TABLE}] table, or set JAMSESSION_BACKEND; `backend = "memory"` keeps '
            "sessions in each process's memory"
        )
    raise ConfigError(
        'no backend named: pass one, as in jamsession.open("sqlite", path=...), or set '
        'JAMSESSION_BACKEND; jamsession.open("memory") keeps sessions in this process\'s memory'
    )


def _from_source(load: Callable[[str], _Loaded], name: str, source: str) -> _Loaded:
    """``load(name)``; a plugin that cannot be found or loaded says where its name came from."""
    try:
        return load(name)
    except PluginError as exc:
        if source != _ARGUMENTS and exc.args and isinstance(exc.args[0], str):
            exc.args = (f"{exc.args[0]} (the name {name!r} is from {source})", *exc.args[1:])
        raise


def _known(key: str, value: object, options: Mapping[str, Option], source: str, backend: str) -> Option:
    option = options.get(key)
    if option is not None:
        return option
    valid = sorted(options)
    hint = difflib.get_close_matches(key, valid, n=1)
    suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
    what = f"table [{key}]" if isinstance(value, dict) else f"option {key!r}"
    if isinstance(value, dict) and not hint:
        suggestion = f"; a file holds its options at the top level or in a [{TABLE}] table"
    raise ConfigError(
        f"unknown {what} (from {source}) for backend {backend!r}{suggestion}; "
        f"valid options: backend, {', '.join(valid)}"
    )


def _resolve_path(option: Option, value: Any, directory: Path | None) -> Any:
    """A relative path from a file, made relative to the file rather than the working directory."""
    if directory is None or not option.path or not isinstance(value, str) or not value.strip():
        return value
    expanded = Path(value).expanduser()
    return value if expanded.is_absolute() else str(directory / expanded)


def _environment(options: Mapping[str, Option], backend: str) -> dict[str, tuple[str, str]]:
    """The options set by known ``JAMSESSION_*`` variables: option name → (variable, text).

    Other variables under the prefix are left alone (they may be the
    application's own), unless one looks like a misspelling of a known one.
    """
    variables = {variable: option.name for option in options.values() for variable in option.variables}
    found: dict[str, tuple[str, str]] = {}
    for variable, value in sorted(os.environ.items()):
        if not variable.startswith(ENV_PREFIX) or variable in ENV_IGNORED or variable == "JAMSESSION_BACKEND":
            continue
        name = variables.get(variable)
        if name is None:
            if not variable.startswith(ENV_TEST_PREFIXES):
                _refuse_near_miss(variable, variables, backend)
            continue
        if name in found:
            # Two spellings of one option: which wins would depend on the environment's order.
            raise ConfigError(f"{found[name][0]} and {variable} both set option {name!r}; unset one of them")
        found[name] = (variable, value)
    return found


def _refuse_near_miss(variable: str, variables: Mapping[str, str], backend: str) -> None:
    suffix = variable[len(ENV_PREFIX) :]
    known = {name[len(ENV_PREFIX) :]: name for name in variables}
    close = difflib.get_close_matches(suffix, known, n=1, cutoff=0.85)
    if close:
        raise ConfigError(
            f"environment variable {variable} is not an option of backend {backend!r}; "
            f"did you mean {known[close[0]]}? Rename it, or unset it"
        )


def _check_crypt(
    arguments: dict[str, Any], sources: Mapping[str, str], file: Mapping[str, Any], origin: str
) -> list[str]:
    """A key without crypt is a mistake; crypt turned off by a variable deserves a warning."""
    warnings = []
    crypt = arguments.get("is_session_crypt", False)
    secret = arguments.get("session_aes_secret")
    crypt_source = sources.get("is_session_crypt")
    if secret and not crypt:
        key_source = sources["session_aes_secret"]
        if crypt_source is None and not key_source.startswith("environment variable"):
            # A key and no word on crypt: whoever wrote it believes sessions are encrypted.
            raise ConfigError(
                f"session_aes_secret is given (from {sources['session_aes_secret']}) but "
                "is_session_crypt is not turned on, so session IDs and data would not be encrypted; "
                "set is_session_crypt = true (or JAMSESSION_CRYPT=true), or remove the key"
            )
        # One variable may serve several stores; the one without crypt is told, not refused.
        warnings.append(
            f"session_aes_secret (from {key_source}) is not used: is_session_crypt "
            f"is off (from {crypt_source or 'the default'}), so session IDs and data are not encrypted"
        )
    if secret is not None:
        _check_keys(secret, sources["session_aes_secret"])
    if (
        not crypt
        and crypt_source is not None
        and crypt_source.startswith("environment variable")
        and file.get("is_session_crypt") is True
    ):
        variable = crypt_source.removeprefix("environment variable ")
        warnings.append(
            f"{variable} turns off is_session_crypt = true of {origin}: session IDs are handed out, "
            "and data stored, unencrypted"
        )
    return warnings


def _check_keys(secret: object, source: str) -> None:
    """Refuse a bad key naming where it came from and which of a list it is (never the key itself)."""
    keys = list(secret) if isinstance(secret, (list, tuple)) else [secret]
    for index, key in enumerate(keys, start=1):
        try:
            parse_key(key)
        except InvalidKeyError as exc:
            which = f"key {index} of {len(keys)} (oldest first) " if len(keys) > 1 else ""
            problem = str(exc).removeprefix("session_aes_secret ")
            raise InvalidKeyError(f"session_aes_secret {which}(from {source}) {problem}") from exc
