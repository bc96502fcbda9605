"""The configuration mistakes a new user makes: each fails at start-up, or is logged, naming its source."""

import logging
from pathlib import Path

import pytest

import jamsession
from jamsession import ConfigError, InvalidKeyError, PluginNotFoundError
from jamsession_memory import MemorySessions
from jamsession_sqlite import SqliteSessions

KEY = jamsession.generate_key()


# -- the environment: only known variables are options ---------------------------------


def test_an_unrelated_jamsession_variable_is_not_an_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAMSESSION_DEBUG", "1")
    assert isinstance(jamsession.open("memory"), MemorySessions)


def test_a_variable_for_another_backends_option_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # Set for the sqlite deployment; a test run on memory must not fail over it.
    monkeypatch.setenv("JAMSESSION_PATH", "/var/lib/app/sessions.db")
    assert isinstance(jamsession.open("memory"), MemorySessions)


@pytest.mark.parametrize("variable", ["JAMSESSION_IS_SESSION_CRYPT", "JAMSESSION_CRYPT"])
def test_a_bad_value_is_reported_under_the_name_the_user_set(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "maybe")
    with pytest.raises(ConfigError) as caught:
        jamsession.open("memory")
    assert str(caught.value).startswith(f"{variable}='maybe' is not a boolean")


def test_a_value_the_backend_refuses_names_the_variable_it_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAMSESSION_DEFAULT_TTL", "-5")
    with pytest.raises(
        ConfigError, match=r"\(default_ttl from environment variable JAMSESSION_DEFAULT_TTL\)"
    ):
        jamsession.open("memory")


def test_crypt_turned_off_by_the_environment_is_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text('backend = "memory"\nis_session_crypt = true\n')
    monkeypatch.setenv("JAMSESSION_CRYPT", "false")
    with caplog.at_level(logging.WARNING, logger="jamsession"):
        store = jamsession.from_config(config)
    assert not store.is_session_crypt
    assert [
        f"JAMSESSION_CRYPT turns off is_session_crypt = true of file {str(config)!r}: session IDs are "
        "handed out, and data stored, unencrypted"
    ] == [record.getMessage() for record in caplog.records if record.name == "jamsession"]


def test_crypt_left_on_by_the_environment_logs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text('backend = "memory"\nis_session_crypt = true\n')
    monkeypatch.setenv("JAMSESSION_CRYPT", "true")
    monkeypatch.setenv("JAMSESSION_AES_SECRET", KEY)
    with caplog.at_level(logging.WARNING, logger="jamsession"):
        assert jamsession.from_config(config).is_session_crypt
    assert [] == caplog.records


# -- keys --------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["arguments", "file"])
def test_a_key_without_crypt_fails_naming_where_the_key_came_from(tmp_path: Path, where: str) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text(f'backend = "memory"\nsession_aes_secret = "{KEY}"\n')
    build = (
        (lambda: jamsession.open("memory", session_aes_secret=KEY))
        if where == "arguments"
        else (lambda: jamsession.from_config(config))
    )
    with pytest.raises(ConfigError) as caught:
        build()
    source = "the arguments" if where == "arguments" else f"file {str(config)!r}"
    message = str(caught.value)
    assert f"session_aes_secret is given (from {source}) but is_session_crypt is not turned on" in message
    assert "set is_session_crypt = true" in message
    assert KEY not in message


def test_a_key_from_the_environment_without_crypt_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # One variable may serve several stores of an application: warned, not refused.
    monkeypatch.setenv("JAMSESSION_AES_SECRET", KEY)
    with caplog.at_level(logging.WARNING, logger="jamsession"):
        store = jamsession.open("memory")
    assert not store.is_session_crypt
    assert [
        "session_aes_secret (from environment variable JAMSESSION_AES_SECRET) is not used: "
        "is_session_crypt is off (from the default), so session IDs and data are not encrypted"
    ] == [record.getMessage() for record in caplog.records]
    assert KEY not in caplog.text


def test_a_key_with_crypt_turned_off_on_purpose_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("JAMSESSION_AES_SECRET", KEY)
    with caplog.at_level(logging.WARNING, logger="jamsession"):
        store = jamsession.from_config({"backend": "memory", "is_session_crypt": False})
    assert not store.is_session_crypt
    assert [
        "session_aes_secret (from environment variable JAMSESSION_AES_SECRET) is not used: "
        "is_session_crypt is off (from the mapping), so session IDs and data are not encrypted"
    ] == [record.getMessage() for record in caplog.records]


def test_a_bad_key_in_a_list_from_the_environment_says_which(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAMSESSION_CRYPT", "true")
    monkeypatch.setenv("JAMSESSION_AES_SECRET", f"{KEY},not-a-key,{KEY}")
    with pytest.raises(InvalidKeyError) as caught:
        jamsession.open("memory")
    message = str(caught.value)
    assert message.startswith(
        "session_aes_secret key 2 of 3 (oldest first) (from environment variable JAMSESSION_AES_SECRET) "
        "must be 32 raw bytes"
    )
    assert "not-a-key" not in message


def test_a_bad_key_from_a_file_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text('backend = "memory"\nis_session_crypt = true\nsession_aes_secret = "short"\n')
    with pytest.raises(InvalidKeyError, match=rf"session_aes_secret \(from file {str(config)!r}\) must be"):
        jamsession.from_config(config)


def test_a_bad_key_from_the_arguments_says_so() -> None:
    with pytest.raises(InvalidKeyError, match=r"key 1 of 2 \(oldest first\) \(from the arguments\)"):
        jamsession.open("memory", is_session_crypt=True, session_aes_secret=["short", KEY])


# -- files -------------------------------------------------------------------------------


def test_a_relative_path_in_a_file_is_relative_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = tmp_path / "etc" / "app"
    app.mkdir(parents=True)
    config = app / "sessions.toml"
    config.write_text('backend = "sqlite"\npath = "s.db"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    store = jamsession.from_config(config)
    assert isinstance(store, SqliteSessions)
    assert str(app / "s.db") == store.path
    assert [] == list(elsewhere.iterdir())


def test_a_relative_path_from_the_environment_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "conf" / "sessions.toml"
    config.parent.mkdir()
    config.write_text('backend = "sqlite"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JAMSESSION_PATH", "s.db")
    assert str(tmp_path / "s.db") == jamsession.from_config(config).path  # type: ignore[attr-defined]


def test_a_misspelled_table_is_an_unknown_table(tmp_path: Path) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text('[jamsesion]\nbackend = "sqlite"\npath = "s.db"\n')
    with pytest.raises(ConfigError) as caught:
        jamsession.from_config(config)
    message = str(caught.value)
    assert message.startswith(f"unknown table [jamsesion] in {str(config)!r}; did you mean [jamsession]?")
    assert "option" not in message.split(";", maxsplit=1)[0]


def test_another_unknown_table_is_not_called_an_option(tmp_path: Path) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text('backend = "memory"\n[cookies]\nsecure = true\n')
    with pytest.raises(ConfigError, match=r"^unknown table \[cookies\]"):
        jamsession.from_config(config)


@pytest.mark.parametrize("content", ["", "[jamsession]\n", "default_ttl = 60\n"])
def test_a_file_without_a_backend_fails_naming_the_fix(tmp_path: Path, content: str) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text(content)
    with pytest.raises(ConfigError) as caught:
        jamsession.from_config(config)
    assert str(caught.value).startswith(f"file {str(config)!r} names no backend: add `backend = ")


def test_a_file_without_a_backend_takes_it_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text("default_ttl = 60\n")
    monkeypatch.setenv("JAMSESSION_BACKEND", "memory")
    assert 60 == jamsession.from_config(config).default_ttl  # type: ignore[attr-defined]


def test_a_code_only_option_in_a_file_says_so(tmp_path: Path) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text('backend = "memory"\nclock = "time.time"\n')
    with pytest.raises(ConfigError, match=r"option 'clock' .* only code can give it"):
        jamsession.from_config(config)


def test_a_choice_outside_the_declared_ones_fails_from_a_file_and_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match=r"option 'synchronous' .* must be one of 'off', 'normal'"):
        jamsession.from_config({"backend": "sqlite", "path": str(tmp_path / "s.db"), "synchronous": "fast"})
    monkeypatch.setenv("JAMSESSION_SYNCHRONOUS", "fast")
    with pytest.raises(ConfigError, match="JAMSESSION_SYNCHRONOUS='fast' is not one of 'off', 'normal'"):
        jamsession.open("sqlite", path=str(tmp_path / "s.db"))


def test_a_misspelled_backend_or_serializer_says_where_the_name_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JAMSESSION_BACKEND", "sqllite")
    with pytest.raises(PluginNotFoundError) as caught:
        jamsession.open()
    assert str(caught.value).endswith(
        "did you mean 'sqlite'? (the name 'sqllite' is from environment variable JAMSESSION_BACKEND)"
    )
    monkeypatch.delenv("JAMSESSION_BACKEND")
    config = tmp_path / "sessions.toml"
    config.write_text('backend = "memory"\nserializer = "jsn"\n')
    with pytest.raises(PluginNotFoundError) as caught:
        jamsession.from_config(config)
    assert str(caught.value).endswith(f"did you mean 'json'? (the name 'jsn' is from file {str(config)!r})")


def test_a_missing_required_option_is_reported_as_the_backend_says_it() -> None:
    with pytest.raises(ConfigError) as caught:
        jamsession.from_config({"backend": "sqlite"})
    assert "the sqlite backend needs `path`: the SQLite file to keep sessions in" == str(caught.value)
