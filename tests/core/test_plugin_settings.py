"""Hook plugins' settings in a configuration file: ``[jamsession.<name>]``, through real entry points."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.core.conftest import MakeDistribution

import jamsession
from jamsession import ConfigError
from jamsession._hooks import configurable_plugins, configure_plugin
from jamsession_memory import MemorySessions

AUDIT_PLUGIN = """
from jamsession import ConfigError, hookimpl

SEEN = []

@hookimpl
def jamsession_configure(settings, source):
    unknown = sorted(set(settings) - {"level"})
    if unknown:
        raise ConfigError(f"{source}: unknown setting {unknown[0]!r}; the one setting is level")
    SEEN.append((settings, source))
"""

# pluggy lets an implementation take fewer arguments than the specification gives.
TERSE_PLUGIN = """
from jamsession import hookimpl

SEEN = []

@hookimpl
def jamsession_configure(settings):
    SEEN.append(settings)
"""

# A hook plugin that takes no settings: a table of its name is a mistake.
QUIET_PLUGIN = """
from jamsession import hookimpl

@hookimpl
def jamsession_sessions_cleared(store, session_key):
    pass
"""


@pytest.fixture
def audit(make_distribution: MakeDistribution) -> Any:
    """The installed ``audit`` plugin's module, whose ``SEEN`` lists the settings it was given."""
    make_distribution(
        "jamsession-audit",
        entry_points={"jamsession.plugins": {"audit": "jamsession_audit"}},
        modules={"jamsession_audit.py": AUDIT_PLUGIN},
    )
    import jamsession_audit  # type: ignore[import-not-found] # written by the fixture above

    return jamsession_audit


def test_a_plugin_table_reaches_the_plugin_installed_under_its_name(audit: Any, tmp_path: Path) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text('[jamsession]\nbackend = "memory"\n\n[jamsession.audit]\nlevel = "debug"\n')
    store = jamsession.from_config(config)
    assert isinstance(store, MemorySessions)
    assert [({"level": "debug"}, f"[jamsession.audit] in file {str(config)!r}")] == audit.SEEN
    assert "audit" in configurable_plugins()


def test_a_file_with_options_at_the_top_level_holds_the_table_there(audit: Any, tmp_path: Path) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text('backend = "memory"\n\n[audit]\nlevel = "info"\n')
    jamsession.from_config(config)
    assert [({"level": "info"}, f"[audit] in file {str(config)!r}")] == audit.SEEN


def test_a_mapping_holds_the_table_under_the_plugins_name(audit: Any) -> None:
    jamsession.from_config({"backend": "memory", "audit": {"level": "warning"}})
    assert [({"level": "warning"}, "[audit] in the mapping")] == audit.SEEN


def test_the_plugin_refusing_its_settings_stops_the_store_naming_the_file(audit: Any, tmp_path: Path) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text('[jamsession]\nbackend = "memory"\n\n[jamsession.audit]\nlevle = "debug"\n')
    with pytest.raises(ConfigError) as caught:
        jamsession.from_config(config)
    assert (
        f"[jamsession.audit] in file {str(config)!r}: unknown setting 'levle'; the one setting is level"
        == str(caught.value)
    )


def test_an_unknown_table_is_refused_before_any_plugin_is_given_its_own(audit: Any, tmp_path: Path) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text(
        '[jamsession]\nbackend = "memory"\n\n[jamsession.audit]\nlevel = "debug"\n'
        '\n[jamsession.audti]\nlevel = "x"\n'
    )
    with pytest.raises(ConfigError) as caught:
        jamsession.from_config(config)
    assert (
        f"unknown table [jamsession.audti] in file {str(config)!r}; did you mean [jamsession.audit]? "
        "A table there holds the settings of the installed jamsession plugin of its name "
        f"(those that take settings: {', '.join(configurable_plugins())}); "
        "install the plugin, or remove the table"
    ) == str(caught.value)
    assert [] == audit.SEEN


def test_the_options_are_checked_before_any_plugin_is_given_its_table(audit: Any, tmp_path: Path) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text(
        '[jamsession]\nbackend = "memory"\ndefault_tll = 60\n\n[jamsession.audit]\nlevel = "debug"\n'
    )
    with pytest.raises(ConfigError, match=r"^unknown option 'default_tll' .* did you mean 'default_ttl'\?"):
        jamsession.from_config(config)
    assert [] == audit.SEEN


def test_a_table_close_to_an_option_suggests_the_option(tmp_path: Path) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text('[jamsession]\nbackend = "memory"\n\n[jamsession.default_ttls]\nseconds = 60\n')
    with pytest.raises(
        ConfigError,
        match=r"^unknown table \[jamsession.default_ttls\] .*did you mean the option 'default_ttl'\?",
    ):
        jamsession.from_config(config)


def test_a_table_for_a_plugin_that_takes_no_settings_is_refused(
    make_distribution: MakeDistribution, tmp_path: Path
) -> None:
    make_distribution(
        "jamsession-quiet",
        entry_points={"jamsession.plugins": {"quiet": "jamsession_quiet"}},
        modules={"jamsession_quiet.py": QUIET_PLUGIN},
    )
    config = tmp_path / "sessions.toml"
    config.write_text('[jamsession]\nbackend = "memory"\n\n[jamsession.quiet]\nlevel = "debug"\n')
    with pytest.raises(ConfigError, match=r"^unknown table \[jamsession.quiet\]"):
        jamsession.from_config(config)
    assert "quiet" not in configurable_plugins()
    with pytest.raises(ConfigError, match="no installed jamsession plugin named 'quiet' takes settings"):
        configure_plugin("quiet", {}, "[quiet] in a test")


def test_an_implementation_may_take_the_settings_alone(make_distribution: MakeDistribution) -> None:
    make_distribution(
        "jamsession-terse",
        entry_points={"jamsession.plugins": {"terse": "jamsession_terse"}},
        modules={"jamsession_terse.py": TERSE_PLUGIN},
    )
    import jamsession_terse  # type: ignore[import-not-found] # written by the fixture above

    jamsession.from_config({"backend": "memory", "terse": {"on": True}})
    assert [{"on": True}] == jamsession_terse.SEEN


def test_a_plugin_registered_in_code_has_no_table(tmp_path: Path) -> None:
    seen = []

    class InCode:
        @jamsession.hookimpl
        def jamsession_configure(self, settings: dict[str, Any], source: str) -> None:
            seen.append(settings)

    before = configurable_plugins()
    jamsession.register_plugin(InCode())
    assert before == configurable_plugins()
    with pytest.raises(ConfigError, match=r"^unknown table \[incode\]"):
        jamsession.from_config({"backend": "memory", "incode": {"level": "debug"}})
    assert [] == seen


def test_the_command_line_reports_a_plugins_refusal_without_a_traceback(audit: Any, tmp_path: Path) -> None:
    config = tmp_path / "sessions.toml"
    config.write_text('[jamsession]\nbackend = "memory"\n\n[jamsession.audit]\nlevle = "debug"\n')
    site = Path(audit.__file__).parent
    result = subprocess.run(
        [sys.executable, "-m", "jamsession._cli", "check", str(config)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(site)},
        check=False,
        timeout=120,
    )
    assert (
        1,
        f"Error: ConfigError: [jamsession.audit] in file {str(config)!r}: "
        "unknown setting 'levle'; the one setting is level\n",
    ) == (
        result.returncode,
        result.stderr,
    )
