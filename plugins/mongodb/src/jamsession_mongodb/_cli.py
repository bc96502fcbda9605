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
    try:
        database, collection, names = asyncio.run(_ensure_indexes(config))
    except JamSessionError as exc:
        # Typed errors already say what is wrong and how to fix it.
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc
    click.echo(f"indexes on {database}.{collection}: {', '.join(sorted(names))}")


async def _ensure_indexes(config: str) -> tuple[str, str, list[str]]:
    from jamsession_mongodb._store import MongoSessions

    async with from_config(config) as store:
        if not isinstance(store, MongoSessions):
            raise click.ClickException(f"{config} selects the {type(store).__name__} backend, not mongodb")
        names = await store.ensure_indexes()
        return store.collection.database.name, store.collection.name, names


@hookimpl
def jamsession_add_commands(cli: click.Group) -> None:
    """Add ``mongodb-ensure-indexes`` to the ``jamsession`` command."""
    cli.add_command(ensure_indexes_command)
