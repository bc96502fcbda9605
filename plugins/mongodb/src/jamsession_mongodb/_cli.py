"""The ``jamsession mongodb-ensure-indexes`` command, added through the plugin hook.

Registered in the ``jamsession.plugins`` entry-point group. It imports
PyMongo only when the command runs.
"""

from __future__ import annotations

import asyncio

import click

from jamsession import JamSessionError, from_config, hookimpl


@click.command("mongodb-ensure-indexes")
@click.argument(
    "config", envvar="JAMSESSION_CONFIG", type=click.Path(exists=True, dir_okay=False, readable=True)
)
def ensure_indexes_command(config: str) -> None:
    """Create the MongoDB backend's indexes for the store CONFIG describes (idempotent).

    Run it at deployment when the app's database user may not create
    indexes (and set ``create_indexes = false`` in CONFIG).
    """
    from jamsession_mongodb._store import MongoSessions  # noqa: PLC0415 - PyMongo only when the command runs

    try:
        store = from_config(config)
    except JamSessionError as exc:
        raise click.ClickException(str(exc)) from exc
    if not isinstance(store, MongoSessions):
        raise click.ClickException(f"{config} does not select the mongodb backend")

    async def run() -> list[str]:
        async with store:
            return await store.ensure_indexes()

    try:
        names = asyncio.run(run())
    except JamSessionError as exc:
        raise click.ClickException(str(exc)) from exc
    collection = store.collection
    click.echo(f"indexes on {collection.database.name}.{collection.name}: {', '.join(sorted(names))}")


@hookimpl
def jamsession_add_commands(cli: click.Group) -> None:
    """Add ``mongodb-ensure-indexes`` to the ``jamsession`` command."""
    cli.add_command(ensure_indexes_command)
