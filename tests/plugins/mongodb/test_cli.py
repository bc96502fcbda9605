"""``jamsession mongodb-ensure-indexes``, added to the command line through the plugin hook."""

import gc
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from pymongo import MongoClient

from jamsession._cli import cli
from jamsession._hooks import get_plugin_manager

COMMAND = "mongodb-ensure-indexes"


@pytest.fixture
def sync_client(mongodb_url: str, database: str, collection_name: str) -> Iterator[Any]:
    client: Any = MongoClient(mongodb_url)
    try:
        yield client
        client[database].drop_collection(collection_name)
    finally:
        client.close()


def _config(tmp_path: Path, **settings: object) -> str:
    lines = [
        f"{name} = {value!r}" if isinstance(value, str) else f"{name} = {value}"
        for name, value in settings.items()
    ]
    path = tmp_path / "jamsession.toml"
    path.write_text("[jamsession]\n" + "\n".join(lines).replace("'", '"').replace("False", "false") + "\n")
    return str(path)


def test_the_command_comes_from_a_jamsession_plugins_entry_point() -> None:
    [entry_point] = [ep for ep in entry_points(group="jamsession.plugins") if ep.name == "mongodb"]
    assert "jamsession_mongodb._cli" == entry_point.value
    group = click.Group()
    get_plugin_manager().hook.jamsession_add_commands(cli=group)
    assert COMMAND in group.commands


def test_the_hook_module_does_not_import_the_driver() -> None:
    code = "import sys, jamsession_mongodb._cli; print('pymongo' in sys.modules, 'motor' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "False False" == result.stdout.strip()


def test_the_command_creates_the_indexes_idempotently(
    tmp_path: Path, mongodb_url: str, database: str, collection_name: str, sync_client: Any
) -> None:
    config = _config(
        tmp_path,
        backend="mongodb",
        url=mongodb_url,
        database=database,
        collection=collection_name,
        create_indexes=False,
    )
    expected = (
        f"indexes on {database}.{collection_name}: jamsession_expires, jamsession_key, jamsession_sid\n"
    )
    for _ in range(2):
        result = CliRunner().invoke(cli, [COMMAND, config])
        assert (0, expected) == (result.exit_code, result.output)
    indexes = sync_client[database][collection_name].index_information()
    assert ["_id_", "jamsession_expires", "jamsession_key", "jamsession_sid"] == sorted(indexes)


def test_the_command_refuses_another_backend(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, [COMMAND, _config(tmp_path, backend="memory")])
    assert 1 == result.exit_code
    assert "MemorySessions backend, not mongodb" in result.output


# The client closed right after a failed connect leaks its socket to the
# garbage collector (a PyMongo issue); collect it here, under this filter.
@pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")
def test_an_unreachable_server_is_reported_without_a_traceback(tmp_path: Path) -> None:
    config = _config(tmp_path, backend="mongodb", url="mongodb://admin:pa55word@127.0.0.1:1/", timeout=0.5)
    result = CliRunner().invoke(cli, [COMMAND, config])
    exit_code, output = result.exit_code, result.output
    del result  # its exception info keeps the driver's frames alive
    gc.collect()
    assert 1 == exit_code
    assert output.startswith("Error: BackendUnavailableError: MongoDB index creation failed")
    assert "pa55word" not in output
    assert "Traceback" not in output
