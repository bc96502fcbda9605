"""The ``jamsession`` command line."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import TYPE_CHECKING, Any

import click

from jamsession._errors import JamSessionError
from jamsession._scaffold import new_plugin

if TYPE_CHECKING:
    from jamsession._config import Plan

#: Said by every command that reads a store's configuration and was given none.
NO_CONFIG = (
    "give CONFIG, the TOML file that describes the store (see `jamsession check --help`), "
    "or set JAMSESSION_CONFIG to its path"
)
#: Why `jamsession gc` (or any command run in a process of its own) cannot reach a memory store.
PER_PROCESS = (
    "{backend} keeps sessions in each process's own memory: every web worker has its own sessions, "
    "and a command run in a process of its own sees none of them; use sqlite, mongodb or redis to "
    "share sessions between processes"
)

_CONFIG = click.argument(
    "config", type=click.Path(dir_okay=False), envvar="JAMSESSION_CONFIG", required=False
)


class PluginCommands(click.Group):
    """A group that asks hook plugins for their commands only when they are needed.

    ``jamsession plugins`` and the other built-in commands never import a
    plugin; an unknown command name or ``--help`` loads them once.
    """

    _plugins_loaded = False

    def _load_plugin_commands(self) -> None:
        if not self._plugins_loaded:
            self._plugins_loaded = True
            from jamsession._hooks import get_plugin_manager

            try:
                get_plugin_manager().hook.jamsession_add_commands(cli=self)
            except JamSessionError as exc:  # a plugin's settings are wrong: say which, no traceback
                raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            self._load_plugin_commands()
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return super().list_commands(ctx)


@click.group(cls=PluginCommands)
@click.version_option(package_name="jamsession")
def cli() -> None:
    """jamsession: async server-side sessions with pluggable backends."""


cli.add_command(new_plugin)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def plugins(as_json: bool) -> None:
    """List installed backends, serializers and hook plugins (imports none of them)."""
    from jamsession._registry import installed_plugins

    found = installed_plugins()
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(info) for info in found], indent=2))
        return
    rows = [("KIND", "NAME", "DISTRIBUTION", "VERSION", "TARGET")] + [
        (info.kind, info.name, info.distribution or "-", info.version or "-", info.target) for info in found
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@cli.command()
def keygen() -> None:
    """Print a fresh 256-bit key (URL-safe base64) for session_aes_secret."""
    from jamsession._crypto import generate_key

    click.echo(generate_key())


@cli.command()
@_CONFIG
def check(config: str | None) -> None:
    """Build the store CONFIG describes and round-trip one session through it.

    CONFIG defaults to $JAMSESSION_CONFIG.
    """
    plan = _plan(config)
    for line in _run(_check(plan)):
        click.echo(line)


@cli.command()
@_CONFIG
def gc(config: str | None) -> None:
    """Purge expired sessions from the store CONFIG describes.

    CONFIG defaults to $JAMSESSION_CONFIG.
    """
    plan = _plan(config)
    if plan.cls.process_local:
        raise click.ClickException(
            "nothing to purge: "
            + PER_PROCESS.format(backend=f"backend {plan.backend!r}")
            + "; each process removes its own expired sessions as it writes"
        )
    removed = _run(_gc(plan))
    click.echo(f"purged {removed} expired session(s)")
    for line in _where(plan):
        click.echo(line)


@cli.command()
@click.argument("backend")
def options(backend: str) -> None:
    """List the options BACKEND takes: type, default, environment variable and meaning."""
    from jamsession._options import options_of
    from jamsession._registry import load_backend

    cls = _guard(load_backend, backend)
    rows = [("OPTION", "TYPE", "DEFAULT", "VARIABLE", "MEANING")] + [
        (
            option.name,
            option.type_text(),
            option.default_text(),
            " or ".join(option.variables) or "(code only)",
            option.help,
        )
        for option in options_of(cls).values()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        click.echo("  ".join([*cells, row[4]]).rstrip())


@cli.command()
@click.option("--backend", help="Backend to run on (default: sqlite when installed, else memory).")
@click.option(
    "--path", type=click.Path(dir_okay=False), help="SQLite file for the demo (default: temporary)."
)
@click.option("--url", help="Connection string of a server backend (mongodb://..., redis://...).")
@click.option(
    "--option",
    "-o",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="Any other option of the backend, read as its environment variable would be; repeatable.",
)
def demo(backend: str | None, path: str | None, url: str | None, settings: tuple[str, ...]) -> None:
    """Walk through login, read, privilege change and log-out-everywhere."""
    from jamsession._demo import run_demo

    texts = {}
    for setting in settings:
        name, equals, value = setting.partition("=")
        if not equals or not name.strip():
            raise click.BadParameter(f"{setting!r} is not NAME=VALUE", param_hint="--option")
        texts[name.strip()] = value
    if url is not None:
        texts["url"] = url
    _run(run_demo(click.echo, backend=backend, path=path, texts=texts))


def main() -> None:
    """Entry point of the ``jamsession`` script."""
    cli()


def _run(coroutine: Any) -> Any:
    return _guard(asyncio.run, coroutine)


def _guard(function: Any, *args: Any) -> Any:
    try:
        return function(*args)
    except JamSessionError as exc:
        # Typed errors already say what is wrong and how to fix it.
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc


def _plan(config: str | None) -> Plan:
    """What CONFIG describes, resolved but not built; a missing CONFIG names both ways to give it."""
    from jamsession._config import plan_config

    if not config:
        raise click.UsageError(NO_CONFIG)
    plan: Plan = _guard(plan_config, config, {})
    return plan


def _where(plan: Plan) -> list[str]:
    """Where the store keeps sessions: its files, resolved, or that it is this process's memory."""
    lines = [f"{name + ':':<11} {value}" for name, value in plan.paths().items()]
    if plan.cls.process_local:
        lines.append("note:       " + PER_PROCESS.format(backend=f"backend {plan.backend!r}"))
    return lines


async def _check(plan: Plan) -> list[str]:
    async with plan.build() as store:
        session_id = await store.create("jamsession-check", {"check": True})
        ok = await store.get(session_id) == {"check": True}
        await store.update(session_id, {"check": "updated"})
        new_id = await store.rework(session_id)
        ok = ok and await store.get(session_id) is None and await store.get(new_id) == {"check": "updated"}
        await store.delete(new_id)
        ok = ok and await store.get(new_id) is None
        serializer = store.serializer if isinstance(store.serializer, type) else type(store.serializer)
        lines = [
            f"backend:    {type(store).__module__}:{type(store).__qualname__}",
            *_where(plan),
            f"serializer: {serializer.__module__}:{serializer.__qualname__}",
            f"crypt:      {'on' if store.is_session_crypt else 'off'} (token length {len(session_id)})",
            f"round trip: {'ok' if ok else 'FAILED'} (create, get, update, rework, delete)",
        ]
    if not ok:
        raise click.ClickException("\n".join(lines))
    return lines


async def _gc(plan: Plan) -> int:
    async with plan.build() as store:
        if not store.supports_purge:
            raise click.ClickException(f"{type(store).__name__} does not support purging expired sessions")
        removed: int = await store.purge_expired()  # type: ignore[attr-defined]
        return removed


if __name__ == "__main__":  # pragma: no cover
    main()
