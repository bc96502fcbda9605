"""The jamsession command line."""

import asyncio
import base64
import contextlib
import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tests.core import minimal_backend

import jamsession
from jamsession._cli import cli


def run(*args: str) -> str:
    """What the command prints on stdout; progress goes to stderr."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert 0 == result.exit_code, result.output
    return result.stdout


def test_keygen_prints_a_fresh_256_bit_key() -> None:
    key = run("keygen").strip()
    assert 32 == len(base64.urlsafe_b64decode(key))
    assert key != run("keygen").strip()


def test_plugins_table_and_json() -> None:
    table = run("plugins")
    assert table.startswith("KIND")
    assert "jamsession-memory" in table
    listed = json.loads(run("plugins", "--json"))
    assert {"kind", "name", "distribution", "version", "target"} == set(listed[0])
    assert {("backend", "memory"), ("serializer", "json")} <= {(p["kind"], p["name"]) for p in listed}


def test_check_round_trips_through_the_configured_store(tmp_path: Path) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text(
        f'backend = "memory"\nis_session_crypt = true\nsession_aes_secret = "{jamsession.generate_key()}"\n'
    )
    output = run("check", str(config))
    assert "round trip: ok" in output
    assert "crypt:      on (token length 87)" in output


def test_check_reports_configuration_mistakes_without_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text('backend = "memory"\ndefault_tll = 5\n')
    result = CliRunner().invoke(cli, ["check", str(config)])
    assert 1 == result.exit_code
    assert "ConfigError: unknown option 'default_tll'" in result.output
    assert "Traceback" not in result.output


def test_gc_purges_expired_sessions(tmp_path: Path) -> None:
    database = tmp_path / "sessions.db"
    config = tmp_path / "sessions.toml"
    config.write_text(f'backend = "sqlite"\npath = "{database}"\ndefault_ttl = 60\n')

    async def create(session_key: str, clock: Callable[[], float]) -> str:
        async with jamsession.open("sqlite", path=str(database), default_ttl=60, clock=clock) as store:
            return await store.create(session_key, {})

    async def get(session_id: str) -> dict[str, Any] | None:
        async with jamsession.open("sqlite", path=str(database), default_ttl=60) as store:
            return await store.get(session_id)

    # Sessions made an hour ago with a one-minute TTL: expired, but still in the file.
    for _ in range(3):
        asyncio.run(create("alice", lambda: time.time() - 3600))
    live = asyncio.run(create("bob", time.time))
    result = CliRunner().invoke(cli, ["gc", str(config)], catch_exceptions=False)
    assert "purged 3 expired session(s)\n" == result.stdout
    # Not a terminal: one quiet line at the end of the pass, on stderr.
    assert result.stderr.startswith("gc: 3 done in ")
    with contextlib.closing(sqlite3.connect(database)) as connection:
        assert [(b"bob",)] == connection.execute("SELECT session_key FROM sessions").fetchall()
    assert {} == asyncio.run(get(live))


def test_gc_on_a_backend_that_cannot_purge_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "dict_sessions.py").write_text(minimal_backend.SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    config = tmp_path / "sessions.toml"
    config.write_text('backend = "dict_sessions:DictSessions"\n')
    result = CliRunner().invoke(cli, ["gc", str(config)])
    assert 1 == result.exit_code
    assert "DictSessions does not support purging expired sessions" in result.output


@pytest.mark.parametrize("backend", ["memory", "sqlite", None])
def test_demo_walks_through_the_main_job(backend: str | None, tmp_path: Path) -> None:
    # None: the default, as `make demo` runs it.
    chosen = ["--backend", backend] if backend else []
    output = run("demo", *chosen, "--path", str(tmp_path / "demo.db"))
    for step in ("1. Login", "2. Read", "3. Tampering", "4. Privilege change", "6. Log out everywhere"):
        assert step in output
    assert "get(forged) -> None" in output
    assert "get(old cookie) -> None" in output
    assert "get(phone)  -> None" in output
    assert "'role': 'admin'" in output
