"""The options a store takes, declared once: what configuration, the CLI and the docs read.

Each store class lists the options it adds in its ``options`` class
attribute; :func:`options_of` merges them along the class's bases, so a
backend declares only its own and never restates the base class's. An
option's ``type`` is a typing object (``float | None``, ``Optional[float]``,
``Literal["normal", "full"]``): it decides how an environment variable's
text is read and which values a file may hold.
"""

from __future__ import annotations

import inspect
import os
import time
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, ClassVar, Literal

from jamsession._errors import ConfigError
from jamsession._ids import default_id_factory

#: What every ``JAMSESSION_*`` variable that names an option starts with.
ENV_PREFIX = "JAMSESSION_"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_NONE = frozenset({"", "none", "null"})


class _Required:
    """The default of an option that must be given."""

    _instance: _Required | None = None

    def __new__(cls) -> _Required:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "REQUIRED"


#: The default of an option that has none: it must be given.
REQUIRED: Any = _Required()


@dataclass(frozen=True, slots=True)
class Option:
    """One option a store takes: its name, the kind of value, its default and what it means.

    A backend declares the options it adds to its base class's, and only
    those, in its ``options`` class attribute::

        class RedisSessions(jamsession.RecordSessionModule):
            options = (
                jamsession.Option("url", str, "redis://127.0.0.1:6379/0", "the server's URL"),
                jamsession.Option("timeout", float | None, 5.0, "seconds to wait for a reply"),
                jamsession.Option("client", "redis.asyncio.Redis | None", None,
                                  "a client the application has", code_only=True),
            )

    ``jamsession.open``, ``from_config``, the ``JAMSESSION_*`` variables, the
    ``jamsession options`` command and the configuration reference read these.

    Args:
        name: The constructor's keyword argument.
        type: A typing object: ``bool``, ``int``, ``float``, ``str``, a
            ``Literal`` of strings, an ``os.PathLike``, and unions of them
            with ``None`` are read from text (a variable, a command line);
            a string describing the type is shown as it is, and text is
            passed on as given.
        default: The value when the option is not given; ``Option.REQUIRED``
            when it must be.
        help: One line on what it does, for ``jamsession options`` and the docs.
        code_only: Only Python code can give it (a callable, a client object).
        path: A file path: a relative one in a configuration file is taken
            relative to that file, not to the working directory.
        secret: Key material: never shown, and ``JAMSESSION_*`` text holds a
            comma-separated list, oldest first.
        aliases: More environment variable names for it, besides
            ``JAMSESSION_<NAME>``.

    .. versionadded:: 0.1
    """

    #: The default of an option that must be given.
    REQUIRED: ClassVar[Any] = REQUIRED

    name: str
    type: Any
    default: Any = REQUIRED
    help: str = ""
    code_only: bool = False
    path: bool = False
    secret: bool = False
    aliases: tuple[str, ...] = ()

    @property
    def variables(self) -> tuple[str, ...]:
        """The environment variables that set it (none for a code-only option)."""
        if self.code_only:
            return ()
        return (ENV_PREFIX + self.name.upper(), *self.aliases)

    @property
    def nullable(self) -> bool:
        """Whether ``None`` is one of its values."""
        return type(None) in _members(self.type) or self.default is None

    def type_text(self) -> str:
        """The type as the docs and ``jamsession options`` show it."""
        return _type_text(self.type)

    def default_text(self) -> str:
        """The default as the docs and ``jamsession options`` show it."""
        if self.default is REQUIRED:
            return "required"
        if callable(self.default):
            module = getattr(self.default, "__module__", "")
            # Shown under its public home: jamsession.default_id_factory, not jamsession._ids.
            module = "jamsession" if module.startswith("jamsession._") else module
            return f"{module}.{getattr(self.default, '__qualname__', '')}"
        return repr(self.default)

    def from_text(self, text: str, *, source: str) -> Any:
        """Read ``text`` (an environment variable's, a command line's) as this option's value.

        Raises:
            ConfigError: the text is not a value of this option, naming ``source``.
        """
        if self.secret:
            # A rotation list in one variable: oldest first, comma-separated.
            keys = [key.strip() for key in text.split(",") if key.strip()]
            return keys[0] if len(keys) == 1 else keys
        members = _members(self.type)
        if self.nullable and text.strip().lower() in _NONE:
            return None
        if _choices(members) or bool in members or int in members or float in members:
            return _typed_from_text(members, text, source)
        if self.code_only or not (isinstance(self.type, str) or _takes_text(members) or members == (Any,)):
            raise ConfigError(
                f"{source}: option {self.name!r} takes a Python object ({self.type_text()}), "
                "so only code can give it"
            )
        return text

    def check(self, value: Any, *, source: str) -> None:
        """Refuse a value of the wrong kind from a file or a mapping (``"false"`` is not false).

        Raises:
            ConfigError: naming the option, ``source`` and what it takes.
        """
        members = _members(self.type)
        if value is None and self.nullable:
            return
        kinds = {kind for kind in members if kind is not type(None)}
        choices = _choices(members)
        if choices and all(typing.get_origin(kind) is Literal for kind in kinds):
            if value not in choices:
                raise ConfigError(
                    f"option {self.name!r} (from {source}) must be one of "
                    f"{', '.join(map(repr, choices))}, not {value!r}"
                )
        elif kinds == {bool}:
            if not isinstance(value, bool):
                raise ConfigError(
                    f"option {self.name!r} (from {source}) must be true or false, not {value!r}"
                )
        elif (
            kinds
            and kinds <= {int, float}
            and (isinstance(value, bool) or not isinstance(value, (int, float)))
        ):
            raise ConfigError(f"option {self.name!r} (from {source}) must be a number, not {value!r}")


def _typed_from_text(members: Sequence[Any], text: str, source: str) -> Any:
    """``text`` as a choice, a boolean or a number, whichever the option takes."""
    choices = _choices(members)
    if choices:
        if text.strip() in choices:
            return text.strip()
        raise ConfigError(f"{source}={text!r} is not one of {', '.join(map(repr, choices))}")
    lowered = text.strip().lower()
    if bool in members:
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise ConfigError(f"{source}={text!r} is not a boolean: use true or false")
    for number in (int, float):
        if number in members:
            try:
                return number(text)
            except ValueError:
                continue
    if not _takes_text(members):
        raise ConfigError(f"{source}={text!r} is not {'a number' if float in members else 'a whole number'}")
    return text


def _members(annotation: Any) -> tuple[Any, ...]:
    """The types an annotation allows, unions flattened: ``Optional[float]`` gives ``(float, NoneType)``."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if annotation is None:
        return (type(None),)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(member for arg in typing.get_args(annotation) for member in _members(arg))
    return (annotation,)


def _choices(members: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(
        choice
        for member in members
        if typing.get_origin(member) is Literal
        for choice in typing.get_args(member)
    )


def _takes_text(members: Sequence[Any]) -> bool:
    return any(
        member is str or (isinstance(member, type) and issubclass(member, (PurePath, os.PathLike)))
        for member in members
    )


def _type_text(annotation: Any) -> str:
    members = () if isinstance(annotation, str) else _members(annotation)
    if len(members) > 1:
        return " | ".join(_type_text(member) for member in members)
    if not members:
        text = str(annotation)
    elif members[0] is type(None):
        text = "None"
    elif typing.get_origin(members[0]) is Literal:
        text = " | ".join(repr(choice) for choice in typing.get_args(members[0]))
    elif isinstance(members[0], type) and not typing.get_args(members[0]):
        text = "os.PathLike[str]" if members[0] is os.PathLike else members[0].__name__
    else:
        text = str(members[0]).replace("typing.", "").replace("collections.abc.", "")
    return text


def options_of(cls: type) -> dict[str, Option]:
    """Every option of the store class ``cls``, its bases' first, by name.

    A class's own ``options`` declare what it adds. A keyword argument of its
    constructor that no class declares (an older third-party backend) is
    described from the constructor's evaluated annotation, so
    ``Optional[float]`` and ``float | None`` read alike.

    .. versionadded:: 0.1
    """
    declared: dict[str, Option] = {}
    for klass in reversed(cls.__mro__):
        for option in vars(klass).get("options", ()):
            declared[option.name] = option
    for name, option in _undeclared(cls, declared).items():
        declared[name] = option
    return declared


def _undeclared(cls: type, declared: Mapping[str, Option]) -> dict[str, Option]:
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):  # pragma: no cover - a class without a signature
        return {}
    found = {}
    hints = _hints(cls)
    for name, parameter in signature.parameters.items():
        if name in declared or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        default = REQUIRED if parameter.default is parameter.empty else parameter.default
        annotation = hints.get(name, Any)
        found[name] = Option(name, annotation, default, code_only=not _text_allowed(annotation))
    return found


def _hints(cls: type) -> dict[str, Any]:
    init = cls.__init__  # type: ignore[misc] # read, not called
    try:
        resolved: dict[str, Any] = typing.get_type_hints(init)
    except Exception:  # noqa: BLE001 - annotations naming what only type checkers import
        resolved = {}
    else:
        return resolved
    hints = {}
    namespace = getattr(init, "__globals__", {})
    for name, annotation in getattr(init, "__annotations__", {}).items():
        try:
            hints[name] = (
                eval(annotation, namespace) if isinstance(annotation, str) else annotation  # noqa: S307 - the class's own annotation, as typing.get_type_hints does
            )
        except Exception:  # noqa: BLE001 - one unresolvable annotation leaves that option untyped
            hints[name] = Any
    return hints


def _text_allowed(annotation: Any) -> bool:
    members = [member for member in _members(annotation) if member is not type(None)]
    return annotation is Any or all(
        member in (bool, int, float) or _takes_text([member]) or typing.get_origin(member) is Literal
        for member in members
    )


#: The options of every store: :class:`~jamsession.BaseAsyncSessionModule`'s five.
BASE_OPTIONS: tuple[Option, ...] = (
    Option(
        "id_factory",
        Callable[[], str],
        default_id_factory,
        "makes each new raw session ID: at least 122 random bits, printable ASCII",
        code_only=True,
    ),
    Option(
        "is_session_crypt",
        bool,
        False,
        "hand out AES-256-GCM encrypted IDs and encrypt the data at rest",
        aliases=("JAMSESSION_CRYPT",),
    ),
    Option(
        "session_aes_secret",
        "bytes | str | list of them",
        None,
        "the key (`jamsession keygen`); a list, oldest first, rotates keys",
        secret=True,
        aliases=("JAMSESSION_AES_SECRET",),
    ),
    Option(
        "serializer",
        "str | BaseEncoder",
        "json",
        "how data becomes bytes: an installed serializer's name, or a BaseEncoder",
    ),
    Option(
        "logger",
        "BaseLogger | None",
        None,
        'where the store logs; None: logging.getLogger("jamsession")',
        code_only=True,
    ),
)

#: The options :class:`~jamsession.RecordSessionModule` adds: expiry.
RECORD_OPTIONS: tuple[Option, ...] = (
    Option("default_ttl", float | None, None, "seconds a session lives; None: no expiry"),
    Option(
        "sliding_expiry",
        bool,
        False,
        "each get or update moves the expiry to now + default_ttl; needs default_ttl",
    ),
    Option(
        "clock",
        Callable[[], float],
        time.time,
        "the current Unix time (tests pass a fake one)",
        code_only=True,
    ),
)
