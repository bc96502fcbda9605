"""The entry-point groups plugins are published in, read from installed metadata alone."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib.metadata import Distribution, EntryPoint, entry_points
from typing import Literal

Kind = Literal["backend", "serializer", "plugin"]

GROUPS: dict[Kind, str] = {
    "backend": "jamsession.backends",
    "serializer": "jamsession.serializers",
    "plugin": "jamsession.plugins",
}


def distribution(entry_point: EntryPoint) -> Distribution | None:
    """The distribution that publishes ``entry_point``, when its metadata says."""
    return getattr(entry_point, "dist", None)


def published(kind: Kind, select: Callable[[str], Iterable[EntryPoint]] | None = None) -> list[EntryPoint]:
    """The entry points of ``kind``'s group, each once; nothing is imported.

    ``select`` reads a group from metadata already loaded (``entry_points().select``).
    """
    # One distribution may be visible twice on sys.path (an editable install
    # beside a build directory, say); it still counts once.
    seen: set[tuple[str, str | None, str]] = set()
    unique = []
    found = entry_points(group=GROUPS[kind]) if select is None else select(GROUPS[kind])
    for entry_point in found:
        dist = distribution(entry_point)
        marker = (entry_point.name, dist.name if dist else None, entry_point.value)
        if marker not in seen:
            seen.add(marker)
            unique.append(entry_point)
    return unique
