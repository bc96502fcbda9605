"""`python -m benchmarks.web_asgi --smoke`: every subject is measured and reported.

Only that it runs is asserted, never how fast anything is.
"""

import subprocess
import sys
from pathlib import Path

from benchmarks.web_asgi import SUBJECTS

ROOT = Path(__file__).resolve().parents[2]


def test_smoke_run_reports_every_subject_and_the_stores_load() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.web_asgi", "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert 0 == completed.returncode, completed.stderr[-3000:]

    rows = [line.split("|")[1:-1] for line in completed.stdout.splitlines()[2:]]
    assert list(SUBJECTS) == [row[0].strip() for row in rows]
    with_load = {row[0].strip() for row in rows if row[3].strip()}
    assert {"jamsession-memory", "jamsession-sqlite", "jamsession-sqlite-crypt"} == with_load
