"""The Litestar example works as its README says, by the FastAPI example's own walkthrough."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.examples.test_fastapi_app import test_login_devices_revoke_and_log_out_everywhere
from tests.integrations.web.conftest import Server

APP = Path(__file__).resolve().parents[2] / "examples" / "litestar-app" / "app.py"

__all__ = ["test_login_devices_revoke_and_log_out_everywhere"]


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("SESSIONS_DB", str(tmp_path / "sessions.db"))
    spec = importlib.util.spec_from_file_location("litestar_example_app", APP)
    assert spec is not None
    assert spec.loader is not None
    module: Any = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    # With its lifespan: the plugin opens the store at start-up and closes it at shutdown.
    running = Server(module.app, lifespan="on")
    running.start()
    yield running
    running.stop()
    del sys.modules[spec.name]
