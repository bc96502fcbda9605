"""The aiohttp example works as its README says, by the FastAPI example's own walkthrough."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.examples.test_fastapi_app import test_login_devices_revoke_and_log_out_everywhere
from tests.integrations.web.conftest import AiohttpServer, Server

APP = Path(__file__).resolve().parents[2] / "examples" / "aiohttp-app" / "app.py"

__all__ = ["test_login_devices_revoke_and_log_out_everywhere"]


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("SESSIONS_DB", str(tmp_path / "sessions.db"))
    spec = importlib.util.spec_from_file_location("aiohttp_example_app", APP)
    assert spec is not None
    assert spec.loader is not None
    module: Any = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    running = AiohttpServer(module.app)
    running.start()
    yield running
    running.stop()  # the app's clean-up closes the store
    del sys.modules[spec.name]
