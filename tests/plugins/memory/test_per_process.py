"""The memory store is per process: its repr says so, and it warns when built in one of several workers."""

import logging

import pytest

import jamsession
from jamsession_memory import MemorySessions, _workers


@pytest.fixture(autouse=True)
def not_warned_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_workers, "_warned", False)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setattr("sys.argv", ["pytest"])


def test_the_repr_says_sessions_stay_in_this_process() -> None:
    assert (
        "<MemorySessions serializer=JsonEncoder crypt=off sessions=this process only, "
        "not shared with other workers>"
    ) == repr(MemorySessions())
    assert MemorySessions.process_local
    assert not jamsession.RecordSessionModule.process_local


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["/venv/bin/gunicorn", "-w", "4", "app:app"], "gunicorn --workers 4"),
        (["/venv/bin/gunicorn", "-w4", "app:app"], "gunicorn --workers 4"),
        (["/venv/bin/uvicorn", "app:app", "--workers", "2"], "uvicorn --workers 2"),
        (
            ["/venv/lib/python3.11/site-packages/uvicorn/__main__.py", "--workers=3", "app:app"],
            "uvicorn --workers 3",
        ),
        (["/venv/bin/hypercorn", "--workers", "8", "app:app"], "hypercorn --workers 8"),
    ],
)
def test_a_server_command_line_with_several_workers_is_seen(argv: list[str], reason: str) -> None:
    assert reason == _workers.several_workers(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["/venv/bin/uvicorn", "app:app", "--reload"],
        ["/venv/bin/gunicorn", "-w", "1", "app:app"],
        ["/venv/bin/myapp", "--workers", "4"],
        ["pytest", "-w", "4"],
        [],
    ],
)
def test_one_worker_or_another_program_is_not_warned_about(argv: list[str]) -> None:
    assert _workers.several_workers(argv) is None


def test_a_store_built_in_one_of_several_workers_warns_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    with caplog.at_level(logging.WARNING, logger="jamsession"):
        MemorySessions()
        MemorySessions()
    assert [
        "the memory backend keeps sessions in this process only, and this process looks like one of "
        "several web workers (WEB_CONCURRENCY=4): each worker has its own sessions, so users are "
        "logged out at random; use a shared backend (sqlite, mongodb, redis)"
    ] == [record.getMessage() for record in caplog.records]


def test_a_store_in_a_single_process_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="jamsession"):
        MemorySessions()
    assert [] == caplog.records
