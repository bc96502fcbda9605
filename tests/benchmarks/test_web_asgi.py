"""`python -m benchmarks.web_asgi --smoke`: every subject is measured and reported.

Only that it runs is asserted, never how fast anything is.
"""

from benchmarks.web_asgi import SUBJECTS
from tests.benchmarks.conftest import run_module


def test_smoke_run_reports_every_subject_and_the_stores_load() -> None:
    completed = run_module("benchmarks.web_asgi", "--smoke")
    assert 0 == completed.returncode, completed.stderr[-3000:]

    rows = [line.split("|")[1:-1] for line in completed.stdout.splitlines()[2:]]
    assert list(SUBJECTS) == [row[0].strip() for row in rows]
    with_load = {row[0].strip() for row in rows if row[3].strip()}
    assert {"jamsession-memory", "jamsession-sqlite", "jamsession-sqlite-crypt"} == with_load
