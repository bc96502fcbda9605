"""Telemetry turned on by a configuration file's ``[jamsession.telemetry]`` table, under the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.plugins.telemetry.conftest import APP, run_python

import jamsession
from jamsession._hooks import get_plugin_manager
from jamsession_telemetry import TelemetryOff, TelemetryPlugin

UNKNOWN = (
    "unknown telemetry exporter 'prometeus'; use a comma-separated list of otel, prometheus (or all, or off)"
)


def config_file(tmp_path: Path, telemetry: str, name: str = "sessions.toml") -> Path:
    """A configuration file for a memory store, with ``telemetry`` as its telemetry table's body."""
    path = tmp_path / name
    path.write_text(f'[jamsession]\nbackend = "memory"\n\n[jamsession.telemetry]\n{telemetry}\n')
    return path


def telemetry_plugins() -> list[TelemetryPlugin]:
    """The telemetry plugins registered now, however they came."""
    return [plugin for plugin in get_plugin_manager().get_plugins() if isinstance(plugin, TelemetryPlugin)]


@pytest.mark.parametrize(
    ("setting", "exporters"),
    [
        ('exporters = "otel,prometheus"', {"otel", "prometheus"}),
        ('exporters = ["prometheus"]', {"prometheus"}),
        ('exporters = "all"', {"otel", "prometheus"}),
        ('exporters = "otel"', {"otel"}),
    ],
)
async def test_the_file_turns_it_on(tmp_path: Path, setting: str, exporters: set[str]) -> None:
    from prometheus_client import REGISTRY

    labels = {"backend": "memory", "operation": "get", "outcome": "miss"}
    before = REGISTRY.get_sample_value("jamsession_operation_duration_seconds_count", labels) or 0
    store = jamsession.from_config(config_file(tmp_path, setting))
    [plugin] = telemetry_plugins()
    assert exporters == plugin.exporters
    assert "get" in vars(store)
    assert None is await store.get("no-such-session")
    after = REGISTRY.get_sample_value("jamsession_operation_duration_seconds_count", labels) or 0
    assert (1 if "prometheus" in exporters else 0) == after - before


def test_off_in_the_file_is_off(tmp_path: Path) -> None:
    store = jamsession.from_config(config_file(tmp_path, 'exporters = "off"'))
    assert [] == telemetry_plugins()
    assert "get" not in vars(store)


def test_without_the_table_it_stays_off(tmp_path: Path) -> None:
    path = tmp_path / "sessions.toml"
    path.write_text('[jamsession]\nbackend = "memory"\n')
    store = jamsession.from_config(path)
    assert [] == telemetry_plugins()
    assert "get" not in vars(store)


def test_a_file_with_its_options_at_the_top_level_holds_the_table_there(tmp_path: Path) -> None:
    path = tmp_path / "sessions.toml"
    path.write_text('backend = "memory"\n\n[telemetry]\nexporters = "otel"\n')
    jamsession.from_config(path)
    assert [frozenset({"otel"})] == [plugin.exporters for plugin in telemetry_plugins()]


@pytest.mark.parametrize(("variable", "exporters"), [("off", set()), ("prometheus", {"prometheus"})])
def test_the_environment_wins_over_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, exporters: set[str]
) -> None:
    monkeypatch.setenv("JAMSESSION_TELEMETRY", variable)
    store = jamsession.from_config(config_file(tmp_path, 'exporters = "otel"'))
    expected = [exporters] if exporters else []
    assert expected == [set(plugin.exporters) for plugin in telemetry_plugins()]
    assert bool(exporters) == ("get" in vars(store))


def test_a_blank_variable_leaves_it_to_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JAMSESSION_TELEMETRY", " ")
    jamsession.from_config(config_file(tmp_path, 'exporters = "otel"'))
    assert [frozenset({"otel"})] == [plugin.exporters for plugin in telemetry_plugins()]


def test_a_mistake_in_the_file_is_reported_even_while_the_variable_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JAMSESSION_TELEMETRY", "otel")
    path = config_file(tmp_path, 'exporters = "otel,prometeus"')
    with pytest.raises(jamsession.ConfigError) as caught:
        jamsession.from_config(path)
    assert f"[jamsession.telemetry] in file {str(path)!r}, exporters = 'otel,prometeus': {UNKNOWN}" == str(
        caught.value
    )


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ('exporters = "otel,prometeus"', "{source}, exporters = 'otel,prometeus': " + UNKNOWN),
        ('exporters = ["otel", "prometeus"]', "{source}, exporters = ['otel', 'prometeus']: " + UNKNOWN),
        (
            'exporter = "otel"',
            "{source}: unknown setting 'exporter'; the telemetry table takes one setting, exporters, "
            'as in exporters = "otel,prometheus"',
        ),
        (
            "exporters = true",
            "{source}: exporters must be text or a list of names, as in "
            'exporters = "otel,prometheus" or ["otel", "prometheus"], not True',
        ),
        (
            "",
            '{source} names no exporters; add exporters = "otel" (or "prometheus", "otel,prometheus", '
            '"off"), or remove the table',
        ),
    ],
    ids=["unknown exporter", "unknown exporter in a list", "unknown setting", "not text", "no exporters"],
)
def test_mistakes_fail_at_start_up_naming_the_table_the_file_and_the_fix(
    tmp_path: Path, setting: str, message: str
) -> None:
    path = config_file(tmp_path, setting)
    with pytest.raises(jamsession.ConfigError) as caught:
        jamsession.from_config(path)
    assert message.format(source=f"[jamsession.telemetry] in file {str(path)!r}") == str(caught.value)
    assert [] == telemetry_plugins()


def test_one_telemetry_per_process_two_files_must_agree(tmp_path: Path) -> None:
    first = config_file(tmp_path, 'exporters = "otel"', "first.toml")
    jamsession.from_config(first)
    jamsession.from_config(config_file(tmp_path, 'exporters = ["otel"]', "same.toml"))
    assert 1 == len(telemetry_plugins())
    other = config_file(tmp_path, 'exporters = "prometheus"', "other.toml")
    with pytest.raises(jamsession.ConfigError) as caught:
        jamsession.from_config(other)
    assert (
        f"[jamsession.telemetry] in file {str(other)!r} turns telemetry on with prometheus, "
        f"but [jamsession.telemetry] in file {str(first)!r} turned it on with otel: telemetry is one per "
        "process; give every file's table the same exporters, or set JAMSESSION_TELEMETRY, "
        "which wins over files"
    ) == str(caught.value)
    assert [frozenset({"otel"})] == [plugin.exporters for plugin in telemetry_plugins()]


def test_the_installed_plugin_stays_off_until_a_file_says_otherwise(tmp_path: Path) -> None:
    assert isinstance(get_plugin_manager().get_plugin("jamsession.plugins:telemetry"), TelemetryOff)
    before = jamsession.open("memory")
    jamsession.from_config(config_file(tmp_path, 'exporters = "otel"'))
    after = jamsession.open("memory")
    # A store decides when it is built: the one built before the file is not observed.
    assert ("get" in vars(before), "get" in vars(after)) == (False, True)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [('exporters = "otel"', "create sessions,get sessions"), ('exporters = "off"', "")],
)
def test_an_app_gets_spans_by_a_line_in_its_configuration_file(
    tmp_path: Path, setting: str, expected: str
) -> None:
    app = APP.format(opening="jamsession.from_config(sys.argv[1])")
    result = run_python("-c", app, str(config_file(tmp_path, setting)))
    assert (0, expected) == (result.returncode, result.stdout.strip()), result.stderr


def test_the_command_line_names_a_mistake_in_the_file_without_a_traceback(tmp_path: Path) -> None:
    path = config_file(tmp_path, 'exporters = "otel,prometeus"')
    result = run_python("-m", "jamsession._cli", "check", str(path))
    assert (
        1,
        f"Error: ConfigError: [jamsession.telemetry] in file {str(path)!r}, exporters = 'otel,prometeus': "
        f"{UNKNOWN}\n",
    ) == (result.returncode, result.stderr)
