"""The Redis backend's options, declared once: read from files, the environment and the command line.

A store is built without any I/O, so none of these needs a server: each
mistake fails when the store is built, naming the option, where it came from
and the fix.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from click.testing import CliRunner

import jamsession
from jamsession import ConfigError, RecordSessionModule, options_of
from jamsession._cli import cli
from jamsession_redis import RedisSessions

OWN_OPTIONS = ["url", "client", "prefix", "timeout", "max_connections"]


def test_the_backend_declares_only_its_own_options() -> None:
    assert OWN_OPTIONS == [option.name for option in RedisSessions.options]
    assert [*options_of(RecordSessionModule), *OWN_OPTIONS] == list(options_of(RedisSessions))


def test_every_constructor_argument_is_declared() -> None:
    parameters = {
        name
        for name, parameter in inspect.signature(RedisSessions).parameters.items()
        if parameter.kind is not parameter.VAR_KEYWORD
    }
    assert set(OWN_OPTIONS) == parameters


def test_the_command_line_lists_its_options() -> None:
    result = CliRunner().invoke(cli, ["options", "redis"], catch_exceptions=False)
    assert 0 == result.exit_code, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines()[1:]}
    assert [*options_of(RecordSessionModule), *OWN_OPTIONS] == list(rows)
    assert ["timeout", "float", "|", "None", "5.0", "JAMSESSION_TIMEOUT"] == rows["timeout"].split()[:6]
    assert ["max_connections", "int", "100", "JAMSESSION_MAX_CONNECTIONS"] == rows["max_connections"].split()[
        :4
    ]
    assert "(code only)" in rows["client"]
    assert rows["prefix"].endswith("put before every key the store writes; no braces")
    assert "JAMSESSION_URL" in rows["url"]


def test_options_are_read_from_the_environment_by_their_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAMSESSION_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("JAMSESSION_PREFIX", "app:")
    monkeypatch.setenv("JAMSESSION_TIMEOUT", "none")
    monkeypatch.setenv("JAMSESSION_MAX_CONNECTIONS", "7")
    monkeypatch.setenv("JAMSESSION_DEFAULT_TTL", "60")
    store = jamsession.open("redis")
    assert isinstance(store, RedisSessions)
    assert ("app:", None, 60.0) == (store.prefix, store.timeout, store.default_ttl)


@pytest.mark.parametrize(
    ("variable", "text", "expected"),
    [
        ("JAMSESSION_TIMEOUT", "soon", "JAMSESSION_TIMEOUT='soon' is not a number"),
        ("JAMSESSION_MAX_CONNECTIONS", "2.5", "JAMSESSION_MAX_CONNECTIONS='2.5' is not a whole number"),
    ],
)
def test_text_of_the_wrong_type_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, text: str, expected: str
) -> None:
    monkeypatch.setenv(variable, text)
    with pytest.raises(ConfigError) as caught:
        jamsession.open("redis")
    assert expected == str(caught.value)


def test_a_value_the_store_refuses_names_the_variable_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAMSESSION_MAX_CONNECTIONS", "0")
    with pytest.raises(ConfigError) as caught:
        jamsession.open("redis")
    assert (
        "max_connections must be a positive int, not 0 "
        "(max_connections from environment variable JAMSESSION_MAX_CONNECTIONS)"
    ) == str(caught.value)


def test_a_value_the_store_refuses_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text('[jamsession]\nbackend = "redis"\nprefix = "app{1}:"\n')
    with pytest.raises(ConfigError) as caught:
        jamsession.from_config(config)
    assert str(caught.value).startswith("prefix must be a non-empty str without braces")
    assert str(caught.value).endswith(f"(prefix from file {str(config)!r})")


def test_a_url_of_another_kind_names_its_source_and_keeps_its_password_out(tmp_path: Path) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text('backend = "redis"\nurl = "http://user:hunter2@cache.internal:6379/"\n')
    with pytest.raises(ConfigError) as caught:
        jamsession.from_config(config)
    message = str(caught.value)
    assert message.startswith("url must be one of redis://host:port/db, rediss://")
    assert message.endswith(f"(url from file {str(config)!r})")
    assert "hunter2" not in message


def test_a_number_given_as_text_in_a_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text('backend = "redis"\ntimeout = "5"\n')
    with pytest.raises(ConfigError) as caught:
        jamsession.from_config(config)
    assert f"option 'timeout' (from file {str(config)!r}) must be a number, not '5'" == str(caught.value)


def test_a_client_in_a_file_says_only_code_can_give_it(tmp_path: Path) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text('backend = "redis"\nclient = "redis://127.0.0.1"\n')
    with pytest.raises(ConfigError) as caught:
        jamsession.from_config(config)
    assert str(caught.value).startswith(f"option 'client' (from file {str(config)!r}) takes a Python object")
    assert str(caught.value).endswith("only code can give it, as in jamsession.open(..., client=...)")


def test_a_misspelled_option_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError) as caught:
        jamsession.from_config({"backend": "redis", "prefx": "app:"})
    assert str(caught.value).startswith(
        "unknown option 'prefx' (from the mapping) for backend 'redis'; did you mean 'prefix'?"
    )


def test_a_misspelled_variable_of_its_own_suggests_the_right_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAMSESSION_MAX_CONNECTION", "10")
    with pytest.raises(ConfigError) as caught:
        jamsession.open("redis")
    assert str(caught.value).startswith(
        "environment variable JAMSESSION_MAX_CONNECTION is not an option of backend 'redis'; "
        "did you mean JAMSESSION_MAX_CONNECTIONS?"
    )
