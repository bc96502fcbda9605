"""``jamsession new-plugin``: generate, install, list, and pass the conformance suite as generated."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

import jamsession
from jamsession._cli import cli
from jamsession._scaffold import PluginNames, render

BIN = Path(sys.executable).parent


def _run(*command: str | Path, cwd: Path | None = None, site: Path | None = None) -> str:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("JAMSESSION_", "PYTEST_"))}
    if site is not None:
        environment["PYTHONPATH"] = str(site)
    result = subprocess.run(
        [str(part) for part in command], check=False, cwd=cwd, env=environment, capture_output=True, text=True
    )
    assert 0 == result.returncode, f"{command}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_generated_plugins_install_list_and_pass_their_conformance_suites(tmp_path: Path) -> None:
    backend, serializer = tmp_path / "jamsession-acme-kv", tmp_path / "jamsession-acme"
    _run(BIN / "jamsession", "new-plugin", "acme-kv", "--kind", "backend", "--directory", backend)
    _run(BIN / "jamsession", "new-plugin", "acme", "--kind", "serializer", "--directory", serializer)

    # Installed the way pip installs any distribution: a wheel built from its pyproject.
    site = tmp_path / "site"
    # With hatchling at hand the build needs no download; otherwise pip fetches it.
    offline = ["--no-build-isolation"] if importlib.util.find_spec("hatchling") else []
    _run(
        sys.executable,
        "-m",
        "pip",
        "install",
        "-q",
        "--no-deps",
        *offline,
        "--target",
        site,
        backend,
        serializer,
    )

    listed = json.loads(_run(BIN / "jamsession", "plugins", "--json", site=site))
    assert {
        "kind": "backend",
        "name": "acme-kv",
        "distribution": "jamsession-acme-kv",
        "version": "0.1.0",
        "target": "jamsession_acme_kv:AcmeKvSessions",
    } in listed
    assert {
        "kind": "serializer",
        "name": "acme",
        "distribution": "jamsession-acme",
        "version": "0.1.0",
        "target": "jamsession_acme:AcmeEncoder",
    } in listed

    # The generated backend declares its options and restates none of its base class's.
    options = _run(BIN / "jamsession", "options", "acme-kv", site=site).splitlines()
    assert ["OPTION", "TYPE", "DEFAULT", "VARIABLE", "MEANING"] == options[0].split()
    names = [line.split()[0] for line in options[1:]]
    assert [*jamsession.options_of(jamsession.RecordSessionModule)] == names
    declared = _run(
        sys.executable,
        "-c",
        "import inspect, jamsession_acme_kv as m; c = m.AcmeKvSessions; "
        "print(('options' in vars(c), [*inspect.signature(c).parameters]))",
        site=site,
    )
    assert "(True, ['options'])" == declared.strip()

    for project in (backend, serializer):
        # Each runs under its own pyproject's pytest settings, importing the installed copy.
        output = _run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project, site=site)
        summary = output.strip().splitlines()[-1]
        assert " passed" in summary, summary
        assert "failed" not in summary, summary
        assert "error" not in summary, summary
        # Lint-clean under ruff's defaults and the line length the project sets.
        _run(BIN / "ruff", "check", "--quiet", "--select", "E,F,W,I,B,UP,N", ".", cwd=project)
        _run(BIN / "ruff", "format", "--check", "--quiet", ".", cwd=project)


@pytest.mark.parametrize("kind", ["backend", "serializer"])
def test_the_distribution_has_one_entry_point_and_requires_this_core(kind: str) -> None:
    names = PluginNames("acme-kv", kind)  # type: ignore[arg-type]
    files = render(names)
    pyproject = tomllib.loads(files["pyproject.toml"])
    group = {"backend": "jamsession.backends", "serializer": "jamsession.serializers"}[kind]
    assert {group: {"acme-kv": f"jamsession_acme_kv:{names.class_name}"}} == pyproject["project"][
        "entry-points"
    ]
    assert "jamsession-acme-kv" == pyproject["project"]["name"]
    assert ["jamsession>=0.1,<1"] == pyproject["project"]["dependencies"]
    assert {
        "pyproject.toml",
        "README.md",
        "src/jamsession_acme_kv/__init__.py",
        f"src/jamsession_acme_kv/{names.module}.py",
        "src/jamsession_acme_kv/py.typed",
        "tests/test_conformance.py",
    } == set(files)


def test_class_names_follow_the_plugin_name() -> None:
    assert "AcmeKvSessions" == PluginNames("acme-kv", "backend").class_name
    assert "MsgpackEncoder" == PluginNames("msgpack", "serializer").class_name
    assert "jamsession_my_store" == PluginNames("my_store", "backend").package
    assert "jamsession-my-store" == PluginNames("my_store", "backend").distribution


@pytest.mark.parametrize("name", ["", "Redis", "1db", "my store", "a--b", "x-", "café", "a.b"])
def test_names_that_cannot_be_a_package_are_refused(name: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["new-plugin", name, "--kind", "backend", "--directory", str(tmp_path / "out")]
    )
    assert 2 == result.exit_code
    assert "lowercase letters and digits" in result.output
    assert not (tmp_path / "out").exists()


def test_an_installed_name_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["new-plugin", "memory", "--kind", "backend", "--directory", str(tmp_path / "out")]
    )
    assert 1 == result.exit_code
    assert "a backend named 'memory' is already installed (jamsession-memory)" in result.output
    assert not (tmp_path / "out").exists()


def test_a_directory_that_is_not_empty_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = CliRunner().invoke(
        cli, ["new-plugin", "acme", "--kind", "backend", "--directory", str(tmp_path)]
    )
    assert 1 == result.exit_code
    assert "already exists and is not empty" in result.output
    assert ["notes.txt"] == [path.name for path in tmp_path.iterdir()]


def test_the_default_directory_is_named_after_the_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["new-plugin", "acme", "--kind", "serializer"])
    assert 0 == result.exit_code, result.output
    assert (tmp_path / "jamsession-acme" / "src" / "jamsession_acme" / "_encoder.py").is_file()
    assert 'pip install -e "jamsession-acme[test]"' in result.output
