"""``jamsession new-plugin``: a standalone distribution for a new backend or serializer.

What it writes installs as it is, is listed by ``jamsession plugins``, and
passes the conformance suite before its author changes a line: the backend
keeps sessions in a dict, the serializer writes JSON. The author then
replaces those bodies with their storage or their format.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Literal

import click

from jamsession._version import __version__

Kind = Literal["backend", "serializer"]

_NAME = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")
_GROUPS: dict[Kind, str] = {"backend": "jamsession.backends", "serializer": "jamsession.serializers"}
_SUFFIXES: dict[Kind, str] = {"backend": "Sessions", "serializer": "Encoder"}
_MODULES: dict[Kind, str] = {"backend": "_store", "serializer": "_encoder"}


@dataclass(frozen=True, slots=True)
class PluginNames:
    """Every name a new plugin's files use, derived from the one its users write."""

    name: str
    kind: Kind

    @property
    def distribution(self) -> str:
        return f"jamsession-{self.name.replace('_', '-')}"

    @property
    def package(self) -> str:
        return f"jamsession_{self.name.replace('-', '_')}"

    @property
    def class_name(self) -> str:
        words = re.split(r"[-_]", self.name)
        return "".join(word.capitalize() for word in words) + _SUFFIXES[self.kind]

    @property
    def module(self) -> str:
        return _MODULES[self.kind]

    def substitutions(self) -> dict[str, str]:
        major, minor = (int(part) for part in __version__.split(".")[:2])
        return {
            "name": self.name,
            "kind": self.kind,
            "distribution": self.distribution,
            "package": self.package,
            "module": self.module,
            "class_name": self.class_name,
            "group": _GROUPS[self.kind],
            "core_requirement": f"jamsession>={major}.{minor},<{major + 1}",
        }


def check_name(name: str) -> None:
    """Refuse a name that cannot be an entry-point name, a distribution and a package at once."""
    if not _NAME.fullmatch(name):
        raise click.BadParameter(
            "use lowercase letters and digits, words joined by '-' or '_', starting with a letter "
            "(for example: redis, acme-kv)",
            param_hint="NAME",
        )


def render(names: PluginNames) -> dict[str, str]:
    """The files of the new distribution: relative path → text."""
    templates = files("jamsession") / "_templates"
    values = names.substitutions()

    def fill(*parts: str) -> str:
        resource = templates.joinpath(*parts)
        return string.Template(resource.read_text(encoding="utf-8")).substitute(values)

    source = f"src/{names.package}"
    return {
        "pyproject.toml": fill("pyproject.toml.tmpl"),
        "README.md": fill(names.kind, "README.md.tmpl"),
        f"{source}/__init__.py": fill("__init__.py.tmpl"),
        f"{source}/{names.module}.py": fill(names.kind, f"{names.module}.py.tmpl"),
        f"{source}/py.typed": "",
        "tests/test_conformance.py": fill(names.kind, "test_conformance.py.tmpl"),
    }


def write_plugin(names: PluginNames, directory: Path) -> list[Path]:
    """Write the distribution into ``directory``, which must be missing or empty."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise click.ClickException(f"{directory} already exists and is not empty")
    written = []
    for relative, text in render(names).items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


@click.command("new-plugin")
@click.argument("name")
@click.option(
    "--kind",
    type=click.Choice(["backend", "serializer"]),
    required=True,
    help="What the plugin provides.",
)
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write it (default: ./jamsession-NAME).",
)
def new_plugin(name: str, kind: Kind, directory: Path | None) -> None:
    """Write a new backend or serializer distribution named NAME, ready to install and test.

    NAME is what users will write: backend="NAME" or serializer="NAME".
    """
    check_name(name)
    names = PluginNames(name, kind)
    from jamsession._registry import installed_plugins

    taken = [info for info in installed_plugins(kind) if info.name == name]
    if taken:
        owner = taken[0].distribution or taken[0].target
        raise click.ClickException(
            f"a {kind} named {name!r} is already installed ({owner}); pick another name"
        )
    target = directory if directory is not None else Path(names.distribution)
    write_plugin(names, target)
    click.echo(f"Created {target}: {kind} {name!r}, class {names.package}.{names.class_name}.")
    click.echo("Next, install it, see it listed, and run its conformance suite:")
    click.echo(f'  pip install -e "{target}[test]"')
    click.echo("  jamsession plugins")
    click.echo(f"  cd {target} && pytest")
