"""open() and from_config(): names, files, environment, precedence and mistakes."""

from pathlib import Path

import pytest

import jamsession
from jamsession import ConfigError, InvalidKeyError, JamSessionEmptyAESKey, PluginNotFoundError
from jamsession_memory import MemorySessions

KEY = jamsession.generate_key()


def test_open_by_name_with_options() -> None:
    store = jamsession.open("memory", default_ttl=60, max_sessions=10)
    assert isinstance(store, MemorySessions)
    assert (60, 10) == (store.default_ttl, store.max_sessions)


def test_open_without_a_backend_fails_naming_the_fix() -> None:
    # Never silently memory: several web workers would each keep their own sessions.
    with pytest.raises(ConfigError, match=r"no backend named.*JAMSESSION_BACKEND"):
        jamsession.open()


def test_unknown_option_names_it_suggests_and_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        jamsession.open("memory", default_tll=60)
    message = str(caught.value)
    assert "'default_tll'" in message
    assert "did you mean 'default_ttl'?" in message
    assert "max_sessions" in message


def test_mistyped_value_fails_at_start_up() -> None:
    with pytest.raises(ConfigError, match="'default_ttl' \\(from the arguments\\) must be a number"):
        jamsession.open("memory", default_ttl="an hour")


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("sliding_expiry", "false", "'sliding_expiry' (from the mapping) must be true or false"),
        ("is_session_crypt", "false", "'is_session_crypt' (from the mapping) must be true or false"),
        ("default_ttl", "3600", "'default_ttl' (from the mapping) must be a number"),
        ("default_ttl", True, "'default_ttl' (from the mapping) must be a number"),
        ("max_sessions", 2.5, "max_sessions must be a positive int"),
    ],
)
def test_a_value_of_the_wrong_kind_in_a_file_fails_at_start_up(
    option: str, value: object, expected: str
) -> None:
    # Only environment variables are text to be read: "false" in a file would be truthy.
    with pytest.raises(ConfigError) as caught:
        jamsession.from_config({"backend": "memory", option: value})
    assert expected in str(caught.value)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400"])
def test_a_ttl_that_never_ends_fails_at_start_up(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("JAMSESSION_DEFAULT_TTL", value)
    with pytest.raises(ConfigError, match="positive, finite number"):
        jamsession.open("memory")


def test_two_spellings_of_one_option_in_the_environment_fail_at_start_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JAMSESSION_CRYPT", "false")
    monkeypatch.setenv("JAMSESSION_IS_SESSION_CRYPT", "true")
    with pytest.raises(ConfigError, match="unset one of them"):
        jamsession.open("memory")


def test_the_benchmarks_variables_are_not_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAMSESSION_BENCH_MONGODB_URL", "mongodb://127.0.0.1:1")
    assert jamsession.open("memory").default_ttl is None


@pytest.mark.parametrize("option", ["id_factory", "clock", "logger"])
def test_a_helper_that_is_not_callable_fails_at_start_up(option: str) -> None:
    with pytest.raises(ConfigError, match=option):
        jamsession.open("memory", **{option: "myapp"})


@pytest.mark.parametrize(
    ("name", "content"), [("latin1.toml", "x = '\xe9'".encode("latin-1")), ("adir", None)]
)
def test_an_unreadable_configuration_file_fails_with_a_config_error(
    tmp_path: Path, name: str, content: bytes | None
) -> None:
    path = tmp_path / name
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=name):
        jamsession.from_config(path)


def test_crypt_without_a_key_fails_with_the_fix() -> None:
    with pytest.raises(JamSessionEmptyAESKey, match="jamsession keygen"):
        jamsession.open("memory", is_session_crypt=True)


def test_toml_file(tmp_path: Path) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text(
        '[jamsession]\nbackend = "memory"\nserializer = "json"\ndefault_ttl = 120\n'
        f'is_session_crypt = true\nsession_aes_secret = "{KEY}"\n'
    )
    store = jamsession.from_config(config)
    assert isinstance(store, MemorySessions)
    assert (120, True) == (store.default_ttl, store.is_session_crypt)


def test_toml_file_without_a_table(tmp_path: Path) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text('backend = "memory"\nmax_sessions = 5\n')
    assert 5 == jamsession.from_config(config).max_sessions  # type: ignore[attr-defined]


def test_file_mistakes_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(ConfigError, match="does not exist"):
        jamsession.from_config(missing)
    broken = tmp_path / "broken.toml"
    broken.write_text("backend = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        jamsession.from_config(broken)
    typo = tmp_path / "typo.toml"
    typo.write_text('backend = "memory"\nmax_sesions = 5\n')
    with pytest.raises(ConfigError, match=r"from .*typo.toml.*did you mean 'max_sessions'"):
        jamsession.from_config(typo)


def test_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAMSESSION_AES_SECRET", KEY)
    store = jamsession.from_config({"backend": "memory", "is_session_crypt": True})
    assert store.is_session_crypt


def test_precedence_arguments_then_environment_then_file_then_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = {"backend": "memory", "default_ttl": 10, "max_sessions": 10}
    monkeypatch.setenv("JAMSESSION_DEFAULT_TTL", "20")
    monkeypatch.setenv("JAMSESSION_MAX_SESSIONS", "20")
    store = jamsession.from_config(source, max_sessions=30)
    assert (20, 30, False) == (store.default_ttl, store.max_sessions, store.sliding_expiry)  # type: ignore[attr-defined]


def test_environment_values_are_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAMSESSION_BACKEND", "memory")
    monkeypatch.setenv("JAMSESSION_CRYPT", "yes")
    monkeypatch.setenv("JAMSESSION_AES_SECRET", f"{jamsession.generate_key()},{KEY}")
    monkeypatch.setenv("JAMSESSION_DEFAULT_TTL", "1.5")
    monkeypatch.setenv("JAMSESSION_SLIDING_EXPIRY", "on")
    store = jamsession.open()
    assert (True, 1.5, True) == (store.is_session_crypt, store.default_ttl, store.sliding_expiry)  # type: ignore[attr-defined]


def test_bad_environment_values_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAMSESSION_CRYPT", "perhaps")
    with pytest.raises(ConfigError, match="JAMSESSION_CRYPT='perhaps' is not a boolean"):
        jamsession.open("memory")


def test_a_misspelled_variable_is_reported_with_the_right_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAMSESSION_DEFAULT_TLL", "5")
    with pytest.raises(
        ConfigError,
        match=r"environment variable JAMSESSION_DEFAULT_TLL .* did you mean JAMSESSION_DEFAULT_TTL",
    ):
        jamsession.open("memory")


def test_test_suite_variables_are_not_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAMSESSION_TEST_MONGODB_URL", "mongodb://127.0.0.1:1")
    assert isinstance(jamsession.open("memory"), MemorySessions)


def test_bad_key_and_unknown_backend_fail_at_start_up() -> None:
    with pytest.raises(InvalidKeyError):
        jamsession.open("memory", is_session_crypt=True, session_aes_secret="short")
    with pytest.raises(PluginNotFoundError):
        jamsession.from_config({"backend": "nope"})
