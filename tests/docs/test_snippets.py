"""The code in the documentation works as written.

Python blocks run in order, one page per process, in a scratch directory that
holds the files the page shows (TOML blocks that begin with ``# name.toml``).
Console blocks run their ``jamsession`` commands; where a block shows output
after a ``$`` prompt, the first line of it is compared. Blocks marked
``<!-- not run: REASON -->`` are shown only; ``<!-- excerpt: PATH -->`` blocks
must be verbatim lines of PATH.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.docs.markdown_blocks import DOCS, ROOT, Block, blocks, pages

import jamsession

RUNNER = Path(__file__).with_name("run_python_blocks.py")
BIN = Path(sys.executable).parent
PYTHON_PAGES = [page for page in pages() if any(b.lang == "python" and b.runs for b in blocks(page))]
CONSOLE_PAGES = [
    ROOT / "README.md",
    *(DOCS / name for name in ("getting-started.md", "cli.md", "operations.md", "plugins/index.md")),
]


def _ids(paths: list[Path]) -> list[str]:
    return [str(path.relative_to(ROOT)) for path in paths]


def _environment(session_key: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("JAMSESSION_", "PYTEST_"))}
    # What the pages tell readers to export before these steps.
    environment["SESSION_KEY"] = session_key
    environment["JAMSESSION_AES_SECRET"] = session_key
    environment["PATH"] = f"{BIN}{os.pathsep}{environment.get('PATH', '')}"
    return environment


def _write_shown_files(page: Path, directory: Path) -> None:
    for source in (DOCS / "getting-started.md", page):
        for block in blocks(source):
            if block.file_name is not None and block.lang == "toml":
                (directory / block.file_name).write_text(block.code)


@pytest.mark.parametrize("page", PYTHON_PAGES, ids=_ids(PYTHON_PAGES))
def test_python_blocks_run(page: Path, tmp_path: Path) -> None:
    _write_shown_files(page, tmp_path)
    code = [(block.where, block.code) for block in blocks(page) if block.lang == "python" and block.runs]
    result = subprocess.run(
        [sys.executable, str(RUNNER)],
        input=json.dumps(code),
        cwd=tmp_path,
        env=_environment(jamsession.generate_key()),
        capture_output=True,
        text=True,
        check=False,
    )
    assert 0 == result.returncode, result.stderr


def _runnable(command: str) -> bool:
    """The ``jamsession`` commands shown with real arguments (not ``CONFIG``, ``[--json]``), and exports."""
    if command.startswith("export "):
        return True
    return command.startswith("jamsession ") and not re.search(r"[\[|]|\b[A-Z]{3,}\b", command)


def _normalise(line: str) -> str:
    line = re.sub(r"[A-Za-z0-9_-]{43}=", "KEY", line)
    # Column widths follow the names installed, so runs of spaces count as one.
    return re.sub(r"\s+", " ", re.sub(r"\d+", "N", line.strip()))


def _run_shell(command: str, cwd: Path, environment: dict[str, str]) -> str:
    result = subprocess.run(
        ["/bin/bash", "-ec", command], cwd=cwd, env=environment, capture_output=True, text=True, check=False
    )
    assert 0 == result.returncode, f"{command}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _console_blocks(page: Path) -> list[Block]:
    return [block for block in blocks(page) if block.lang == "console" and block.runs]


@pytest.mark.parametrize("page", CONSOLE_PAGES, ids=_ids(CONSOLE_PAGES))
def test_console_commands_run(page: Path, tmp_path: Path) -> None:
    _write_shown_files(page, tmp_path)
    environment = _environment(jamsession.generate_key())
    ran = 0
    for block in _console_blocks(page):
        lines = block.code.rstrip("\n").splitlines()
        if not any(line.startswith("$ ") for line in lines):
            script = [line.split("  #")[0].strip() for line in lines]
            script = [line for line in script if line and _runnable(line)]
            if script:
                _run_shell("\n".join(script), tmp_path, environment)
                ran += len(script)
            continue
        for index, line in enumerate(lines):
            if not line.startswith("$ ") or not _runnable(line[2:]):
                continue
            output = _run_shell(line[2:], tmp_path, environment)
            ran += 1
            shown = lines[index + 1] if index + 1 < len(lines) else ""
            if not shown.startswith("$ ") and shown.strip() not in {"", "..."}:
                actual = output.splitlines()[0] if output else ""
                assert _normalise(shown) == _normalise(actual), f"{block.where}: {line}"
    assert ran > 0, f"{page} shows no command that ran"


@pytest.mark.parametrize("page", pages(), ids=_ids(pages()))
def test_markers_say_why_and_excerpts_are_verbatim(page: Path) -> None:
    for block in blocks(page):
        if block.marker == "not run":
            assert block.marker_value is not None
            assert len(block.marker_value) > 5, f"{block.where}: say why it is not run"
        if block.marker == "excerpt":
            assert block.marker_value is not None
            source = ROOT / block.marker_value
            assert source.is_file(), f"{block.where}: {source} does not exist"
            source_lines = {line.strip() for line in source.read_text().splitlines()}
            for line in block.code.splitlines():
                assert line.strip() in source_lines, f"{block.where}: not in {block.marker_value}: {line}"
