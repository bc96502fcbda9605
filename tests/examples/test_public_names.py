"""Code written as an outside author writes it uses jamsession's public names only.

That is everything under ``examples/``, the Redis plugin (``plugins/redis``),
and what ``jamsession new-plugin`` generates. A private name is one starting
with an underscore (``from jamsession import _codec``), or anything in a
private module (``jamsession._base``, ``jamsession.testing._backend``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from jamsession._scaffold import PluginNames, render

REPO = Path(__file__).resolve().parents[2]
#: Where outside authors' code stands in this repository.
OUTSIDE = ("examples", "plugins/redis")


def _is_private(dotted: str) -> bool:
    """Whether a dotted name reaches past jamsession's public names (dunders like __version__ are public)."""
    root, *parts = dotted.split(".")
    return root == "jamsession" and any(
        part.startswith("_") and not (part.startswith("__") and part.endswith("__")) for part in parts
    )


def private_uses(source: str) -> list[str]:
    """The private names of jamsession that ``source`` imports or reaches through the module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if _is_private(alias.name)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [
                f"{node.module}.{alias.name}"
                for alias in node.names
                if _is_private(f"{node.module}.{alias.name}")
            ]
        elif isinstance(node, ast.Attribute):
            # jamsession._base.X, jamsession.testing._backend.Y
            parts = [node.attr]
            value: ast.expr = node.value
            while isinstance(value, ast.Attribute):
                parts.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id == "jamsession":
                dotted = ".".join(["jamsession", *reversed(parts)])
                if _is_private(dotted):
                    found.append(dotted)
    return sorted(set(found))


def _outside_sources() -> dict[str, str]:
    sources = {
        str(path.relative_to(REPO)): path.read_text(encoding="utf-8")
        for folder in OUTSIDE
        for path in sorted((REPO / folder).rglob("*.py"))
    }
    for kind in ("backend", "serializer"):
        for relative, text in render(PluginNames("acme", kind)).items():  # type: ignore[arg-type]
            if relative.endswith(".py"):
                sources[f"new-plugin --kind {kind}: {relative}"] = text
    return sources


SOURCES = _outside_sources()


def test_every_kind_of_outside_code_is_read() -> None:
    origins = {name.partition(":")[0] if ":" in name else name.split("/")[0] for name in SOURCES}
    assert {"examples", "new-plugin --kind backend", "new-plugin --kind serializer"} <= origins


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_uses_public_names_only(name: str) -> None:
    assert [] == private_uses(SOURCES[name])


def test_private_names_are_found_in_every_form() -> None:
    source = """
import jamsession
import jamsession._base
import jamsession._base as base
from jamsession import _codec, BaseEncoder, __version__
from jamsession._errors import ConfigError
from jamsession.testing._backend import FOREIGN_IDS
from jamsession.testing import BackendConformance
key = jamsession._crypto.generate_key()
public = jamsession.open
"""
    assert [
        "jamsession._base",
        "jamsession._codec",
        "jamsession._crypto",
        "jamsession._crypto.generate_key",
        "jamsession._errors.ConfigError",
        "jamsession.testing._backend.FOREIGN_IDS",
    ] == private_uses(source)
