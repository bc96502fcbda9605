"""Building a store from a backend name, a mapping, a TOML file and the environment.

Precedence, highest first: explicit arguments, environment variables, the
file, the backend's defaults. Every mistake is reported when the store is
built, naming the option and what would fix it.
"""

from __future__ import annotations

import difflib
import inspect
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jamsession._base import BaseAsyncSessionModule
from jamsession._errors import ConfigError
from jamsession._registry import load_backend, load_serializer

ENV_PREFIX = "JAMSESSION_"
DEFAULT_BACKEND = "memory"

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

#: Options whose values are used as given: names, classes, keys.
_TAKEN_AS_GIVEN = frozenset({"backend", "serializer", "session_aes_secret"})

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def open(backend: str | type | None = None, /, **options: Any) -> BaseAsyncSessionModule:  # noqa: A001 - public name, like io.open
    """Build a store by backend name (or ``'package.module:Class'``, or a class).

    Options the call leaves out are taken from ``JAMSESSION_*`` environment
    variables, then from the backend's defaults::

        store = jamsession.open("sqlite", path="sessions.db", is_session_crypt=True,
                                session_aes_secret=os.environ["SESSION_KEY"])

    Raises:
        ConfigError: an unknown or mistyped option.
        PluginNotFoundError: no backend of that name is installed.
        PluginLoadError: the backend failed to import.

    .. versionadded:: 0.1
    """
    explicit = dict(options)
    if backend is not None:
        explicit["backend"] = backend
    return _build({}, explicit, origin="arguments")


def from_config(
    source: Mapping[str, Any] | str | os.PathLike[str], /, **overrides: Any
) -> BaseAsyncSessionModule:
    """Build a store from a mapping or a TOML file, under the environment and ``overrides``.

    The file holds ``backend``, ``serializer`` and the backend's options,
    at its top level or in a ``[jamsession]`` table::

        [jamsession]
        backend = "sqlite"
        path = "sessions.db"
        is_session_crypt = true
        default_ttl = 86400
        # session_aes_secret comes from JAMSESSION_AES_SECRET, not from the file

    .. versionadded:: 0.1
    """
    if isinstance(source, Mapping):
        settings, origin = dict(source), "the mapping"
    else:
        path = Path(source)
        try:
            with path.open("rb") as file:
                document = tomllib.load(file)
        except FileNotFoundError as exc:
            raise ConfigError(f"configuration file {str(path)!r} does not exist") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"configuration file {str(path)!r} is not valid TOML (UTF-8 text): {exc}"
            ) from exc
        except OSError as exc:
            raise ConfigError(f"configuration file {str(path)!r} cannot be read: {exc.strerror}") from exc
        table = document.get("jamsession", document)
        if not isinstance(table, dict):
            raise ConfigError(f"[jamsession] in {str(path)!r} must be a table")
        settings, origin = table, str(path)
    return _build(settings, overrides, origin=origin)


def _build(file: Mapping[str, Any], explicit: Mapping[str, Any], *, origin: str) -> BaseAsyncSessionModule:
    environment = _environment()
    settings = {**file, **environment, **explicit}
    backend = settings.pop("backend", None) or DEFAULT_BACKEND
    cls = backend if isinstance(backend, type) else load_backend(str(backend))
    parameters = _parameters(cls)
    accepts_anything = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    kwargs: dict[str, Any] = {}
    for name, value in settings.items():
        parameter = parameters.get(name)
        if parameter is None and not accepts_anything:
            source = f"environment variable {_env_name(name)}" if name in environment else origin
            raise ConfigError(_unknown_option(name, source, backend, parameters))
        if name in environment and name not in explicit:
            kwargs[name] = _normalise(name, _from_text(name, value, parameter))
        else:
            _check_kind(name, value, parameter, "the arguments" if name in explicit else origin)
            kwargs[name] = _normalise(name, value)
    store: BaseAsyncSessionModule = cls(**kwargs)
    return store


def _environment() -> dict[str, str]:
    found = {}
    for variable, value in os.environ.items():
        if (
            not variable.startswith(ENV_PREFIX)
            or variable.startswith(ENV_TEST_PREFIXES)
            or variable in ENV_IGNORED
        ):
            continue
        name = ENV_ALIASES.get(variable, variable[len(ENV_PREFIX) :].lower())
        if name in found:
            # Two spellings of one option: which wins would depend on the environment's order.
            raise ConfigError(f"{variable} and {_env_name(name)} both set option {name!r}; unset one of them")
        found[name] = value
    return found


def _env_name(option: str) -> str:
    for variable, name in ENV_ALIASES.items():
        if name == option:
            return variable
    return ENV_PREFIX + option.upper()


def _parameters(cls: type) -> dict[str, inspect.Parameter]:
    signature = inspect.signature(cls)
    parameters = {
        name: parameter
        for name, parameter in signature.parameters.items()
        if parameter.kind is not parameter.VAR_POSITIONAL
    }
    return parameters


def _unknown_option(
    name: str, source: str, backend: object, parameters: Mapping[str, inspect.Parameter]
) -> str:
    valid = sorted(n for n, p in parameters.items() if p.kind is not p.VAR_KEYWORD)
    hint = difflib.get_close_matches(name, valid, n=1)
    suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
    return (
        f"unknown option {name!r} (from {source}) for backend {backend!r}{suggestion}; "
        f"valid options: backend, {', '.join(valid)}"
    )


def _from_text(name: str, text: str, parameter: inspect.Parameter | None) -> Any:
    """Turn an environment variable's text into the kind of value the option takes.

    The option's annotation says which kind: ``bool``, a number, or text
    (``none`` stands for ``None`` where the annotation allows it).
    """
    if name in _TAKEN_AS_GIVEN or parameter is None:
        return text
    kinds = _kinds(parameter)
    lowered = text.strip().lower()
    if "None" in kinds and lowered in {"", "none", "null"}:
        return None
    if "bool" in kinds or isinstance(parameter.default, bool):
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigError(f"{_env_name(name)}={text!r} is not a boolean: use true or false")
    numbers = [kind for kind in (int, float) if kind.__name__ in kinds]
    for number in numbers:
        try:
            return number(text)
        except ValueError:
            continue
    if numbers and "str" not in kinds:
        raise ConfigError(f"{_env_name(name)}={text!r} is not a number")
    return text


def _kinds(parameter: inspect.Parameter) -> set[str]:
    """The names in a parameter's annotation, ``float | None`` giving ``{"float", "None"}``."""
    annotation = parameter.annotation
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    return {part.strip() for part in text.split("|")}


def _check_kind(name: str, value: Any, parameter: inspect.Parameter | None, source: str) -> None:
    """Refuse a file's or a caller's value of the wrong kind for a boolean or numeric option.

    Only environment variables are text to be read: ``"false"`` in a file is
    a string, which Python would take as true.
    """
    if parameter is None or name in _TAKEN_AS_GIVEN:
        return
    kinds = _kinds(parameter)
    if value is None and "None" in kinds:
        return
    kinds.discard("None")
    if kinds == {"bool"}:
        if not isinstance(value, bool):
            raise ConfigError(f"option {name!r} (from {source}) must be true or false, not {value!r}")
    elif (
        kinds
        and kinds <= {"int", "float"}
        and (isinstance(value, bool) or not isinstance(value, (int, float)))
    ):
        raise ConfigError(f"option {name!r} (from {source}) must be a number, not {value!r}")


def _normalise(name: str, value: Any) -> Any:
    if name == "serializer" and isinstance(value, str):
        return load_serializer(value)
    if name == "session_aes_secret" and isinstance(value, str) and "," in value:
        # A rotation list in one variable: oldest first, comma-separated.
        return [key.strip() for key in value.split(",") if key.strip()]
    return value
