"""`python -m benchmarks.memory_per_session`: one row per backend, serializer and crypt setting."""

import json
import shutil
from pathlib import Path

import pytest
from tests.benchmarks.conftest import run_module


def test_each_setting_reports_its_bytes_per_session(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("before\n<!-- memory:start -->\nold\n<!-- memory:end -->\nafter\n")
    completed = run_module(
        "benchmarks.memory_per_session",
        *("--sessions", "200", "--backends", "memory,sqlite", "--output", str(tmp_path), "--docs", str(page)),
    )
    assert 0 == completed.returncode, completed.stderr[-3000:]
    results = json.loads((tmp_path / "memory.json").read_text())
    settings = [(row["backend"], row["serializer"], row["crypt"]) for row in results["rows"]]
    assert [
        (backend, serializer, crypt)
        for backend in ("memory", "sqlite")
        for serializer in ("json", "cbor")
        for crypt in (False, True)
    ] == settings
    assert all(row["stored_bytes_per_session"] > 0 for row in results["rows"])
    text = page.read_text()
    assert "old" not in text
    assert text.startswith("before\n<!-- memory:start -->\n200 sessions")
    assert text.endswith("<!-- memory:end -->\nafter\n")


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_redis_reports_the_servers_bytes_per_session(tmp_path: Path) -> None:
    completed = run_module(
        "benchmarks.memory_per_session", "--sessions", "200", "--backends", "redis", "--output", str(tmp_path)
    )
    assert 0 == completed.returncode, completed.stderr[-3000:]
    results = json.loads((tmp_path / "memory.json").read_text())
    assert [("redis", serializer, crypt) for serializer in ("json", "cbor") for crypt in (False, True)] == [
        (row["backend"], row["serializer"], row["crypt"]) for row in results["rows"]
    ]
    # The server holds at least the stored data of each session.
    assert all(row["stored_bytes_per_session"] >= row["stored_data_bytes"] for row in results["rows"])
