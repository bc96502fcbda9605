"""The README's quick start, run as a new user would, on the backends it names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.docs.markdown_blocks import ROOT, blocks
from tests.docs.test_snippets import RUNNER, _environment, _write_shown_files

import jamsession

README = ROOT / "README.md"

# After the README's own blocks: what a web app would do with the functions it defines.
USE_THE_QUICK_START = """
cookie = await login("user-42")
assert await handle(cookie) == {"roles": ["member"]}
assert len(cookie) == 87 and "user-42" not in cookie
promoted = await promote(cookie)
assert await handle(cookie) is None
assert await handle(promoted) == {"roles": ["member"]}
await log_out_everywhere("user-42")
assert await handle(promoted) is None
assert await handle("not-a-session") is None
await store.aclose()
"""


def test_the_quick_start_works_as_written(tmp_path: Path) -> None:
    _write_shown_files(README, tmp_path)
    code = [(block.where, block.code) for block in blocks(README) if block.lang == "python"]
    assert code, "the README shows no Python"
    code.append(("the quick start in use", USE_THE_QUICK_START))
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
    # The SQLite file the quick start names is where the sessions went.
    assert (tmp_path / "sessions.db").is_file()
