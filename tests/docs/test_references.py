"""The hand-written references name exactly what exists: hooks, commands, options."""

from __future__ import annotations

import inspect
import re

import click
import pytest
from tests.docs.markdown_blocks import DOCS

import jamsession
from jamsession._cli import cli
from jamsession._config import ENV_ALIASES
from jamsession._hooks import HookSpecs


def _sections(path_text: str, level: str) -> dict[str, str]:
    """Heading text → body, for headings of exactly ``level`` (``"##"``, ``"###"``)."""
    parts = re.split(rf"^{level} (.+)$", path_text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def _hookspecs() -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(function)
        for name, function in vars(HookSpecs).items()
        if getattr(function, "jamsession_spec", None) is not None
    }


def test_the_hooks_reference_documents_every_hook_and_only_hooks() -> None:
    page = (DOCS / "plugins" / "hooks.md").read_text()
    reference = _sections(page, "##")["Hooks reference"]
    documented = {title.strip("`"): body for title, body in _sections(reference, "###").items()}
    specs = _hookspecs()
    assert sorted(specs) == sorted(documented)
    for name, signature in specs.items():
        parameters = [p for p in signature.parameters if p != "self"]
        shown = re.search(rf"def {name}\((.*?)\)", documented[name], flags=re.DOTALL)
        assert shown is not None, f"{name}: no signature shown"
        assert parameters == [part.split(":")[0].strip() for part in shown.group(1).split(",")], name


def _commands() -> dict[str, click.Command]:
    context = click.Context(cli)
    return {name: cli.get_command(context, name) for name in cli.list_commands(context)}  # type: ignore[misc]


def test_the_cli_reference_documents_every_command_and_only_commands() -> None:
    sections = _sections((DOCS / "cli.md").read_text(), "##")
    documented = {title.removeprefix("jamsession "): body for title, body in sections.items()}
    commands = _commands()
    assert sorted(commands) == sorted(documented)
    for name, command in commands.items():
        body = documented[name]
        for parameter in command.params:
            if isinstance(parameter, click.Option):
                assert any(option in body for option in parameter.opts), f"{name}: {parameter.opts}"
            else:
                assert (parameter.name or "").upper() in body, f"{name}: {parameter.name}"
        known = {option for parameter in command.params for option in parameter.opts}
        for option in re.findall(r"(?<![\w-])--[a-z][\w-]*", body):
            assert option in known, f"{name} documents {option}, which it does not have"


def _options(cls: type, *, beyond: type | None = None) -> set[str]:
    # The declared options, as configuration and `jamsession options` read them.
    names = set(jamsession.options_of(cls))
    if beyond is not None:
        names -= set(jamsession.options_of(beyond))
    return names


def _table_options(body: str) -> set[str]:
    return set(re.findall(r"^\| `(\w+)` \|", body, flags=re.MULTILINE))


def _backends() -> list[tuple[str, type, type | None]]:
    from jamsession_redis import RedisSessions

    from jamsession_memory import MemorySessions
    from jamsession_mongodb import MongoSessions
    from jamsession_sqlite import SqliteSessions

    base, record = jamsession.BaseAsyncSessionModule, jamsession.RecordSessionModule
    return [
        ("Every store", base, None),
        ("Every built-in backend", record, base),
        ("memory", MemorySessions, record),
        ("sqlite", SqliteSessions, record),
        ("mongodb", MongoSessions, record),
        ("redis", RedisSessions, record),
    ]


@pytest.mark.parametrize(("section", "cls", "beyond"), _backends(), ids=[b[0] for b in _backends()])
def test_the_configuration_reference_lists_every_option(section: str, cls: type, beyond: type | None) -> None:
    sections = _sections((DOCS / "configuration.md").read_text(), "##")
    assert _options(cls, beyond=beyond) == _table_options(sections[section])
    # What only code can give is said so, as the backend declares it.
    declared = jamsession.options_of(cls)
    rows = dict(re.findall(r"^\| `(\w+)` \|(.*)$", sections[section], flags=re.MULTILINE))
    for name, row in rows.items():
        assert declared[name].code_only == ("code only" in row), f"{section}: {name}"


def test_the_configuration_reference_names_every_environment_alias() -> None:
    page = (DOCS / "configuration.md").read_text()
    for variable in [*ENV_ALIASES, "JAMSESSION_CONFIG"]:
        assert f"`{variable}`" in page, variable


def test_the_backend_chooser_says_which_backends_are_per_process() -> None:
    # Several web workers on a per-process store log users out at random: the chooser says so
    # for every built-in backend whose class declares process_local, and only for those.
    lines = (DOCS / "backends.md").read_text().splitlines()
    header = next(line for line in lines if line.startswith("| | "))
    columns = re.findall(r"`(\w+)`", header)
    shared = next(line for line in lines if line.startswith("| shared by |"))
    cells = [cell.strip() for cell in shared.strip("|").split("|")[1:]]
    classes = {name: cls for name, cls, _ in _backends()}
    assert sorted(name for name in classes if name.islower()) == sorted(columns)
    assert {name: classes[name].process_local for name in columns} == {
        name: cell.startswith("**one process only**") for name, cell in zip(columns, cells, strict=True)
    }
