"""Finding, listing and loading backends and serializers.

Listing reads entry-point metadata only. Loading a name imports that one
plugin and nothing else, checks it against this core's version and its kind,
and lets its module take part in hooks.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from dataclasses import dataclass
from importlib.metadata import Distribution, EntryPoints, entry_points
from types import ModuleType
from typing import cast

from jamsession._base import BaseAsyncSessionModule
from jamsession._entry_points import Kind, published
from jamsession._entry_points import distribution as _distribution
from jamsession._errors import (
    DuplicatePluginError,
    IncompatiblePluginError,
    PluginLoadError,
    PluginNotFoundError,
    PluginTypeError,
)
from jamsession._hooks import register_plugin
from jamsession._serializer import BaseEncoder
from jamsession._version import __version__

#: This project's own plugins, by kind: the only names an install hint is given for.
#: Any other name could be anyone's package on the index, a typo's included.
PROJECT_PLUGINS: dict[Kind, frozenset[str]] = {
    "backend": frozenset({"memory", "sqlite", "mongodb", "redis"}),
    "serializer": frozenset({"json", "cbor"}),
    "plugin": frozenset({"telemetry"}),
}

# Classes registered in-process with register_backend / register_serializer.
_registered: dict[Kind, dict[str, object]] = {"backend": {}, "serializer": {}}


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """One installed plugin, as its metadata describes it.

    .. versionadded:: 0.1
    """

    kind: Kind
    name: str
    distribution: str | None
    version: str | None
    target: str


def installed_plugins(kind: Kind | None = None) -> list[PluginInfo]:
    """Every installed plugin (or those of one kind), from metadata alone: nothing is imported.

    .. versionadded:: 0.1
    """
    kinds: tuple[Kind, ...] = (kind,) if kind else ("backend", "serializer", "plugin")
    # Reading every distribution's metadata is the cost; do it once for all kinds.
    installed = entry_points()

    def select(group: str) -> EntryPoints:
        return installed.select(group=group)

    found = []
    for each in kinds:
        for entry_point in published(each, select):
            dist = _distribution(entry_point)
            found.append(
                PluginInfo(
                    each,
                    entry_point.name,
                    dist.name if dist else None,
                    dist.version if dist else None,
                    entry_point.value,
                )
            )
        for name, obj in _registered.get(each, {}).items():
            found.append(PluginInfo(each, name, None, None, _qualified_name(obj)))
    return sorted(found, key=lambda info: (info.kind, info.name))


def available_names(kind: Kind) -> list[str]:
    """The names a user can select for ``kind``."""
    return sorted({info.name for info in installed_plugins(kind)})


def register_backend(name: str, cls: type) -> None:
    """Make ``cls`` selectable as ``backend=name`` in this process, without packaging it.

    .. versionadded:: 0.1
    """
    _registered["backend"][name] = _check_class(name, cls, BaseAsyncSessionModule, "backend")


def register_serializer(name: str, serializer: object) -> None:
    """Make ``serializer`` selectable as ``serializer=name`` in this process.

    .. versionadded:: 0.1
    """
    _registered["serializer"][name] = _check_serializer(name, serializer)


def load_backend(name: str) -> type[BaseAsyncSessionModule]:
    """Return the backend class selected by ``name`` (or ``'package.module:Class'``).

    .. versionadded:: 0.1
    """
    backend = _check_class(name, _load("backend", name), BaseAsyncSessionModule, "backend")
    return cast("type[BaseAsyncSessionModule]", backend)


def load_serializer(name: str) -> type[BaseEncoder] | BaseEncoder:
    """Return the serializer selected by ``name`` (or ``'package.module:Class'``).

    .. versionadded:: 0.1
    """
    return _check_serializer(name, _load("serializer", name))


def _load(kind: Kind, name: str) -> object:
    if name in _registered[kind]:
        return _registered[kind][name]
    if ":" in name:
        return _load_path(kind, name)
    candidates = [ep for ep in published(kind) if ep.name == name]
    if not candidates:
        installed = available_names(kind)
        raise PluginNotFoundError(kind, name, installed, advice=_not_found_advice(kind, name, installed))
    if len(candidates) > 1:
        raise DuplicatePluginError(kind, name, [_describe(_distribution(ep), ep.value) for ep in candidates])
    entry_point = candidates[0]
    dist = _distribution(entry_point)
    _check_core_version(name, dist)
    try:
        obj = entry_point.load()
    except Exception as exc:
        raise PluginLoadError(
            f"{kind} {name!r} from {_describe(dist, entry_point.value)} failed to import "
            f"({type(exc).__name__}: {exc}); reinstall or upgrade it with "
            f"`pip install --upgrade {dist.name if dist else entry_point.module}`",
            plugin=name,
            distribution=dist.name if dist else None,
        ) from exc
    _take_part_in_hooks(importlib.import_module(entry_point.module))
    return obj


def _not_found_advice(kind: Kind, name: str, installed: list[str]) -> str:
    """What to do about an unknown name: a near miss is a typo, and only our own names are installable."""
    close = difflib.get_close_matches(name, installed, n=1, cutoff=0.75)
    if close:
        return f"did you mean {close[0]!r}?"
    others = ", ".join(sorted(PROJECT_PLUGINS[kind] - set(installed)))
    if name in PROJECT_PLUGINS[kind]:
        return f"install it with `pip install jamsession-{name}`, or pass 'package.module:Class'"
    if others:
        return (
            f"pick an installed {kind}, install one of this project's ({others}) with "
            f"`pip install jamsession-<name>`, or pass 'package.module:Class'"
        )
    return f"pick an installed {kind}, or pass 'package.module:Class'"


def _take_part_in_hooks(module: ModuleType) -> None:
    """Let a selected backend's or serializer's module implement hooks, however it was selected."""
    register_plugin(module)


def _load_path(kind: Kind, path: str) -> object:
    module_name, _, attribute = path.partition(":")
    try:
        module: ModuleType = importlib.import_module(module_name)
    except Exception as exc:
        raise PluginLoadError(
            f"{kind} {path!r}: module {module_name!r} failed to import ({type(exc).__name__}: {exc})",
            plugin=path,
            distribution=None,
        ) from exc
    obj: object = module
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise PluginNotFoundError(kind, path, available_names(kind)) from exc
    _take_part_in_hooks(module)
    return obj


def _check_core_version(name: str, dist: Distribution | None) -> None:
    """Refuse a plugin whose declared ``jamsession`` requirement excludes this core."""
    if dist is None:
        return
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    for line in dist.requires or ():
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) != "jamsession" or requirement.marker:
            continue
        if not requirement.specifier.contains(__version__, prereleases=True):
            raise IncompatiblePluginError(
                f"{name!r} from {_describe(dist, None)} requires jamsession"
                f"{requirement.specifier}, but jamsession {__version__} is installed; "
                f"install a release of {dist.name} built for it",
                plugin=name,
                distribution=dist.name,
            )


def _check_class(name: str, obj: object, base: type, kind: str) -> type:
    if not (isinstance(obj, type) and issubclass(obj, base)):
        raise PluginTypeError(f"{kind} {name!r} is {obj!r}, not a subclass of {base.__name__}", obj=obj)
    if inspect.isabstract(obj):
        missing = ", ".join(sorted(getattr(obj, "__abstractmethods__", ())))
        raise PluginTypeError(
            f"{kind} {name!r} ({_qualified_name(obj)}) is abstract: implement {missing}", obj=obj
        )
    return obj


def _check_serializer(name: str, obj: object) -> type[BaseEncoder] | BaseEncoder:
    if isinstance(obj, BaseEncoder):
        return obj
    return cast("type[BaseEncoder]", _check_class(name, obj, BaseEncoder, "serializer"))


def _describe(dist: Distribution | None, target: str | None) -> str:
    if dist is None:
        return f"{target}"
    return f"distribution {dist.name} {dist.version}"


def _qualified_name(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', repr(obj))}"


_backend_names: dict[type, str] = {}


def backend_name(cls: type) -> str:
    """The name ``cls`` (or the nearest base class of it) is installed or registered under.

    Read from entry-point metadata, once per class; a backend that is
    neither installed nor registered is named by its class. Hooks and
    telemetry name a store's backend this way (the installed names of the
    built-in backends are OpenTelemetry's ``db.system.name`` values: ``sqlite``,
    ``mongodb``, ``redis``)::

        store = jamsession.open("memory")
        assert "memory" == jamsession.backend_name(type(store))

    .. versionadded:: 0.1
    """
    name = _backend_names.get(cls)
    if name is None:
        targets: dict[str, list[tuple[str, str]]] = {}
        for info in installed_plugins("backend"):
            module, _, qualname = info.target.partition(":")
            targets.setdefault(qualname, []).append((module, info.name))
        name = cls.__name__
        for base in cls.__mro__:
            found = [
                plugin
                for module, plugin in targets.get(base.__qualname__, [])
                if base.__module__ == module or base.__module__.startswith(module + ".")
            ]
            if found:
                name = found[0]
                break
        _backend_names[cls] = name
    return name
