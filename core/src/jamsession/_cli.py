"""The ``jamsession`` command line."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from typing import TYPE_CHECKING, Any

import click

from jamsession._errors import JamSessionError
from jamsession._scaffold import new_plugin

if TYPE_CHECKING:
    from jamsession._config import Plan
    from jamsession._migrate import MigrationReport
    from jamsession._progress import ProgressBar
    from jamsession._rekey import RekeyReport
    from jamsession._stats import StoreStats

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
    """Purge expired sessions from the store CONFIG describes, in batches, with progress.

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
@click.argument("source", type=click.Path(dir_okay=False))
@click.argument("target", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Count what would be copied; write nothing.")
@click.option("--update", is_flag=True, help="Copy again what an earlier run copied and the source changed.")
@click.option("--no-verify", "verify", flag_value=False, default=True, help="Skip the final count and check.")
def migrate(source: str, target: str, dry_run: bool, update: bool, verify: bool) -> None:
    """Copy every live session of the store SOURCE describes into the one TARGET describes.

    Keeps each session's key, data, creation and expiry, and its ID where the
    target allows. Resumable: run it again after an interruption and it copies
    only what is missing. Progress goes to stderr, the report to stdout.
    """
    plans = (_shared_plan(source, "nothing to migrate from"), _shared_plan(target, "nothing to migrate to"))
    report: MigrationReport = _run(_migrate(*plans, dry_run=dry_run, update=update, verify=verify))
    verb = "would copy" if dry_run else "copied"
    lines = [
        f"sessions read:    {report.scanned:,} ({report.expired:,} expired, left behind)",
        f"{verb + ':':<17} {report.copied:,}",
        f"already there:    {report.present:,}",
        f"updated:          {report.updated:,}",
    ]
    if report.tokens_kept and not report.new_ids:
        lines.append("tokens:           kept: clients keep their sessions")
    elif report.tokens_kept:
        lines.append(
            f"tokens:           {report.new_ids:,} session(s) under a new ID of the target's form: "
            "those clients log in again; the others keep their sessions"
        )
    else:
        lines.append(f"tokens:           not kept ({report.token_note}): every client logs in again")
    if dry_run:
        lines.append("dry run: nothing was written")
    check = report.verification
    if check is not None:
        lines.append(
            f"verification:     source {check.source_live:,} live, target {check.target_live:,} live, "
            f"{check.checked} spot-checked, {check.mismatched} differ: {'ok' if check.ok else 'FAILED'}"
        )
    for line in lines:
        click.echo(line)
    if check is not None and not check.ok:
        raise click.ClickException(
            "verification failed: the target holds fewer live sessions than the source, or a copy "
            "differs (did the app change the source meanwhile? run again with --update)"
        )


@cli.command()
@_CONFIG
def rekey(config: str | None) -> None:
    """Re-encrypt every session's data under the newest key of session_aes_secret, in place.

    Safe while the app serves: a session the app changes meanwhile is read
    again, never overwritten. Tokens are untouched.
    """
    report: RekeyReport = _run(_rekey(_shared_plan(config, "nothing to re-encrypt")))
    click.echo(f"sessions read:    {report.scanned:,} ({report.expired:,} expired, left as they are)")
    click.echo(f"re-encrypted:     {report.rekeyed:,}")
    click.echo(f"already newest:   {report.current:,}")
    click.echo(f"ended meanwhile:  {report.ended:,}")
    click.echo(f"changed meanwhile, read again: {report.retried:,}")
    if report.keys == 1:
        click.echo("session_aes_secret holds one key: every session's data is under it")
    elif report.older_keys_needed_by_data:
        raise click.ClickException(
            f"{report.left:,} session(s) kept changing under every attempt and are still under an "
            "older key: run rekey again"
        )
    else:
        click.echo(
            "no stored session's data needs the older key(s) any more; tokens issued under them "
            "still do, until those sessions are re-issued or expire (see the operations guide)"
        )


@cli.command()
@_CONFIG
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option(
    "--top", default=10, show_default=True, type=click.IntRange(min=0), help="Session keys to list."
)
def stats(config: str | None, as_json: bool, top: int) -> None:
    """Count the sessions of the store CONFIG describes: live, expired, top session keys, ages.

    Read-only; prints counts and session keys, never a token or session data.
    """
    found: StoreStats = _run(_stats(_shared_plan(config, "nothing to count"), top))
    if as_json:
        document = dataclasses.asdict(found)
        document["top_keys"] = [{"session_key": key, "sessions": count} for key, count in found.top_keys]
        click.echo(json.dumps(document, indent=2))
        return
    click.echo(f"live sessions:    {found.live:,}")
    click.echo(f"expired:          {found.expired:,}")
    click.echo(f"session keys:     {'more than 1,024' if found.keys is None else f'{found.keys:,}'}")
    click.echo(f"data:             {found.data_bytes:,} bytes")
    if found.top_keys:
        click.echo("most sessions:")
        for key, count in found.top_keys:
            click.echo(f"  {count:>10,}  {key!r}")
    click.echo("age (since created):")
    for bucket, count in found.ages.items():
        click.echo(f"  {bucket:<11} {count:>10,}")
    click.echo("expires in:")
    for bucket, count in found.expiries.items():
        click.echo(f"  {bucket:<11} {count:>10,}")


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
    try:
        return _guard(asyncio.run, coroutine)
    except KeyboardInterrupt:
        # asyncio.run cancelled the command between two storage operations,
        # each atomic: the store is whole, and the same command goes on from there.
        click.echo("\ninterrupted: the store is consistent; run the same command again to go on", err=True)
        sys.exit(130)


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


def _shared_plan(config: str | None, refusal: str) -> Plan:
    """Like :func:`_plan`, refusing a store that lives in one process's memory: this one's is empty."""
    plan = _plan(config)
    if plan.cls.process_local:
        raise click.ClickException(f"{refusal}: " + PER_PROCESS.format(backend=f"backend {plan.backend!r}"))
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
    from jamsession._purge import purge

    async with plan.build() as store:
        return await purge(store, progress=_progress_bar())


def _progress_bar() -> ProgressBar:
    from jamsession._progress import ProgressBar

    # On stderr, so that stdout holds the report alone (and --json stays JSON).
    return ProgressBar(sys.stderr)


async def _migrate(
    source: Plan, target: Plan, *, dry_run: bool, update: bool, verify: bool
) -> MigrationReport:
    from jamsession._migrate import migrate

    async with source.build() as reading, target.build() as writing:
        return await migrate(
            reading, writing, dry_run=dry_run, update=update, verify=verify, progress=_progress_bar()
        )


async def _rekey(plan: Plan) -> RekeyReport:
    from jamsession._rekey import rekey

    async with plan.build() as store:
        return await rekey(store, progress=_progress_bar())


async def _stats(plan: Plan, top: int) -> StoreStats:
    from jamsession._stats import store_stats

    async with plan.build() as store:
        return await store_stats(store, top=top, progress=_progress_bar())


if __name__ == "__main__":  # pragma: no cover
    main()
