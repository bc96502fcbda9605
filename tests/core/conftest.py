"""Fixtures that install throwaway distributions the way pip would, in a temporary sys.path entry."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jamsession import _hooks

MakeDistribution = Callable[..., Path]


@pytest.fixture
def make_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeDistribution]:
    """Write ``<name>-<version>.dist-info`` plus modules under one directory put on sys.path."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    before = set(sys.modules)

    def make(
        name: str,
        *,
        entry_points: dict[str, dict[str, str]],
        modules: dict[str, str] | None = None,
        version: str = "1.0",
        requires: tuple[str, ...] = ("jamsession>=0.1,<1",),
    ) -> Path:
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        requirements = "".join(f"Requires-Dist: {line}\n" for line in requires)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{requirements}"
        )
        groups = "".join(
            f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in items.items())
            for group, items in entry_points.items()
        )
        (info / "entry_points.txt").write_text(groups)
        for filename, source in (modules or {}).items():
            (site / filename).write_text(textwrap.dedent(source))
        importlib.invalidate_caches()
        return site

    yield make
    for module in set(sys.modules) - before:
        del sys.modules[module]


@pytest.fixture(autouse=True)
def fresh_plugin_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees the hook plugins installed for it, not those of an earlier test."""
    monkeypatch.setattr(_hooks, "_manager", None)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Configuration tests set the JAMSESSION_* variables they need, and no others."""
    import os

    for variable in list(os.environ):
        if variable.startswith("JAMSESSION_"):
            monkeypatch.delenv(variable)
