"""The aiohttp example works as its README says: login, devices, revoke, log out everywhere."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.integrations.web.conftest import AiohttpServer, Browser, Server

APP = Path(__file__).resolve().parents[2] / "examples" / "aiohttp-app" / "app.py"


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


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


def post(browser: Browser, path: str, page: str, **fields: str) -> str:
    body = "&".join(f"{k}={v}" for k, v in {"csrf_token": csrf(page), **fields}.items())
    response = browser.post(path, content=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert 303 == response.status_code, response.text
    return browser.get(response.headers["location"]).text


def log_in(server: Server, agent: str) -> tuple[Browser, str]:
    browser = Browser(server.url)
    browser.client.headers["user-agent"] = agent
    page = browser.get("/").text
    page = post(browser, "/login", page, user="ann", password="wonderland")
    return browser, page


def test_login_devices_revoke_and_log_out_everywhere(server: Server) -> None:
    stranger = Browser(server.url)
    page = stranger.get("/").text
    assert "Wrong user or password" in post(stranger, "/login", page, user="ann", password="nope")
    assert 403 == stranger.post("/login", content="user=ann&password=wonderland").status_code

    laptop, page = log_in(server, "Laptop")
    assert "Logged in as ann" in page
    assert '<h1 id="who">Hello, ann</h1>' in page
    phone, _ = log_in(server, "Phone")
    tablet, _ = log_in(server, "Tablet")
    devices = laptop.get("/devices").text
    assert ["Laptop", "Phone", "Tablet"] == re.findall(r"<li>(\w+)", devices)
    assert "Laptop <b>(this device)</b>" in devices

    handles = re.findall(r'name="handle" value="([^"]+)"', devices)
    devices = post(laptop, "/devices/revoke", devices, handle=handles[1])
    assert "That device is logged out" in devices
    assert ["Laptop", "Tablet"] == re.findall(r"<li>(\w+)", devices)
    assert "Log in" in phone.get("/").text

    home = laptop.get("/").text
    assert "Logged out on every device" in post(laptop, "/logout-everywhere", home)
    assert "Log in" in tablet.get("/").text
    for browser in (stranger, laptop, phone, tablet):
        browser.close()
