"""The jamsession command line."""

import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import jamsession
from jamsession._cli import cli


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert 0 == result.exit_code, result.output
    return result.output


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
    config = tmp_path / "sessions.toml"
    config.write_text('backend = "memory"\ndefault_ttl = 60\n')
    assert "purged 0 expired session(s)\n" == run("gc", str(config))


@pytest.mark.parametrize("backend", ["memory"])
def test_demo_walks_through_the_main_job(backend: str) -> None:
    output = run("demo", "--backend", backend)
    for step in ("1. Login", "2. Read", "3. Tampering", "4. Privilege change", "6. Log out everywhere"):
        assert step in output
    assert "get(forged) -> None" in output
    assert "get(old cookie) -> None" in output
    assert "get(phone)  -> None" in output
    assert "'role': 'admin'" in output
