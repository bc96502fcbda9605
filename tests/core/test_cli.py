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
    assert f"purged 3 expired session(s)\npath:       {database}\n" == result.stdout
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


def test_check_and_gc_resolve_a_relative_path_from_the_file_and_print_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `cd / && jamsession gc /etc/app/sessions.toml` must use /etc/app/s.db, not /s.db.
    app = tmp_path / "etc" / "app"
    app.mkdir(parents=True)
    config = app / "sessions.toml"
    config.write_text('[jamsession]\nbackend = "sqlite"\npath = "s.db"\n')
    elsewhere = tmp_path / "root"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert f"path:       {app / 's.db'}\n" in run("check", str(config))
    assert f"purged 0 expired session(s)\npath:       {app / 's.db'}\n" == run("gc", str(config))
    assert (app / "s.db").is_file()
    assert [] == list(elsewhere.iterdir())


def test_check_on_memory_says_the_store_is_per_process(tmp_path: Path) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text('backend = "memory"\n')
    output = run("check", str(config))
    assert "round trip: ok" in output
    assert (
        "note:       backend 'memory' keeps sessions in each process's own memory: every web worker "
        "has its own sessions"
    ) in output


def test_gc_on_memory_fails_saying_the_store_is_per_process(tmp_path: Path) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text('backend = "memory"\n')
    result = CliRunner().invoke(cli, ["gc", str(config)])
    assert 1 == result.exit_code
    assert "nothing to purge: backend 'memory' keeps sessions in each process's own memory" in result.output


@pytest.mark.parametrize("command", ["gc", "check"])
def test_a_command_without_config_mentions_jamsession_config(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JAMSESSION_CONFIG", raising=False)
    result = CliRunner().invoke(cli, [command])
    assert 2 == result.exit_code
    assert "or set JAMSESSION_CONFIG to its path" in result.output


def test_jamsession_config_gives_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text(f'backend = "sqlite"\npath = "{tmp_path / "s.db"}"\n')
    monkeypatch.setenv("JAMSESSION_CONFIG", str(config))
    assert "purged 0 expired session(s)\n" in run("gc")


def test_check_reports_a_file_without_a_backend(tmp_path: Path) -> None:
    config = tmp_path / "empty.toml"
    config.write_text("")
    result = CliRunner().invoke(cli, ["check", str(config)])
    assert 1 == result.exit_code
    assert f"ConfigError: file {str(config)!r} names no backend" in result.output


def test_check_reports_a_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "nope.toml")])
    assert 1 == result.exit_code
    assert "does not exist" in result.output


def test_demo_passes_options_to_the_backend(tmp_path: Path) -> None:
    output = run("demo", "--backend", "sqlite", "-o", "synchronous=full", "-o", f"path={tmp_path / 'd.db'}")
    assert f"SQLite file {tmp_path / 'd.db'}" in output
    assert "Done." in output


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            ["--backend", "memory", "--url", "mongodb://x"],
            "backend 'memory' has no option 'url' to set from --url",
        ),
        (["--backend", "sqlite", "-o", "busy_timeout=soon"], "--option busy_timeout='soon' is not a number"),
        (["--backend", "memory", "-o", "max_sessions"], "'max_sessions' is not NAME=VALUE"),
    ],
)
def test_demo_option_mistakes_are_reported(arguments: list[str], expected: str) -> None:
    result = CliRunner().invoke(cli, ["demo", *arguments])
    assert 0 != result.exit_code
    assert expected in result.output


def test_options_lists_a_backends_declared_options() -> None:
    output = run("options", "sqlite")
    lines = output.splitlines()
    assert lines[0].split() == ["OPTION", "TYPE", "DEFAULT", "VARIABLE", "MEANING"]
    path = next(line for line in lines if line.startswith("path "))
    assert ["path", "str", "|", "os.PathLike[str]", "required", "JAMSESSION_PATH"] == path.split()[:6]
    clock = next(line for line in lines if line.startswith("clock "))
    assert "(code only)" in clock
    crypt = next(line for line in lines if line.startswith("is_session_crypt "))
    assert "JAMSESSION_IS_SESSION_CRYPT or JAMSESSION_CRYPT" in crypt
