"""``jamsession demo --backend mongodb --url ...``: the walk-through on a real server."""

from typing import Any

from click.testing import CliRunner
from pymongo import MongoClient

from jamsession._cli import cli


def test_demo_runs_on_mongodb_given_a_url(mongodb_url: str, database: str) -> None:
    result = CliRunner().invoke(
        cli, ["demo", "--backend", "mongodb", "--url", mongodb_url, "-o", f"database={database}"]
    )
    assert 0 == result.exit_code, result.output
    assert "backend 'mongodb' (the server given)" in result.output
    assert "get(forged) -> None" in result.output
    assert "Done." in result.output
    # Nothing left behind on the server, and the URL is not printed.
    assert mongodb_url not in result.output
    client: Any = MongoClient(mongodb_url)
    try:
        assert 0 == client[database]["sessions"].count_documents({})
        client.drop_database(database)
    finally:
        client.close()
