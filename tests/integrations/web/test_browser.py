"""A real browser keeps and sends the session cookie: headless Chromium through login, read, logout.

Once per framework, on the shared suite's app. Chromium is driven over the
DevTools protocol: it posts forms (the CSRF token in a hidden field, as a page
would), follows links, and the test reads what the page shows. The cookie is
HttpOnly, so the page's scripts never see it: only the server, reading the
cookie the browser sent, can put the user's name on the page.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import pathlib
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import websockets
from tests.integrations.web.conftest import Server, make_store

from jamsession_web import SessionConfig

CHROMIUM = shutil.which("chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (make pytest installs it with apt-get)"
)


class DevTools:
    """The few DevTools protocol calls the test needs, over one page's websocket."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.ids = itertools.count(1)
        self.loads = 0

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self.ids)
        await self.socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            message = json.loads(await self.socket.recv())
            if message.get("method") == "Page.loadEventFired":
                self.loads += 1
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message["result"])

    async def wait_for_load(self, count: int) -> None:
        while self.loads < count:
            message = json.loads(await asyncio.wait_for(self.socket.recv(), 15))
            if message.get("method") == "Page.loadEventFired":
                self.loads += 1

    async def text(self, selector: str) -> str:
        result = await self.call(
            "Runtime.evaluate", expression=f"document.querySelector({json.dumps(selector)}).textContent"
        )
        return str(result["result"]["value"])


@pytest.fixture
def chromium(tmp_path: pathlib.Path) -> Iterator[str]:
    """A headless Chromium; yields the websocket URL of its page."""
    assert CHROMIUM is not None
    profile = tmp_path / "profile"
    process = subprocess.Popen(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.05)
        port = port_file.read_text().split()[0]
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        yield next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
    finally:
        process.terminate()
        process.wait(10)


def test_browser_keeps_and_sends_the_cookie(chromium: str, serve: Callable[..., Server]) -> None:
    server = serve(SessionConfig(make_store(), cookie_name="__Host-session"))
    asyncio.run(_drive(chromium, server))


def _submit(path: str, token: str) -> str:
    """A script that posts a form to ``path`` with the CSRF token in a hidden field, as a page would."""
    return (
        "const form = document.createElement('form');"
        f"form.method = 'post'; form.action = {json.dumps(path)};"
        "const field = document.createElement('input');"
        f"field.type = 'hidden'; field.name = 'csrf_token'; field.value = {json.dumps(token)};"
        "form.appendChild(field); document.body.appendChild(form); form.submit();"
    )


async def _drive(page_url: str, server: Server) -> None:
    async with websockets.connect(page_url, max_size=None) as socket:
        tools = DevTools(socket)
        await tools.call("Page.enable")
        await tools.call("Network.enable")
        loads = 0

        async def visit(path: str) -> Any:
            nonlocal loads
            await tools.call("Page.navigate", url=server.url + path)
            loads += 1
            await tools.wait_for_load(loads)
            return json.loads(await tools.text("body"))

        async def submit(path: str, token: str) -> Any:
            nonlocal loads
            await tools.call("Runtime.evaluate", expression=_submit(path, token))
            loads += 1
            await tools.wait_for_load(loads)
            return json.loads(await tools.text("body"))

        assert {"user": None, "data": {}} == await visit("/read")
        token = (await visit("/csrf"))["token"]
        assert {"user": "ann"} == await submit("/login?user=ann", token)
        assert {"ok": True} == await visit("/set?key=visits&value=1")
        assert {"user": "ann", "data": {"visits": "1"}} == await visit("/read")
        [cookie] = (await tools.call("Network.getCookies", urls=[server.url + "/"]))["cookies"]
        assert ("__Host-session", True, True, "Lax") == (
            cookie["name"],
            cookie["httpOnly"],
            cookie["secure"],
            cookie["sameSite"],
        )
        # Scripts on the page cannot read it.
        seen = await tools.call("Runtime.evaluate", expression="document.cookie")
        assert "" == seen["result"]["value"]

        # The CSRF token changed at login: the old one no longer logs out.
        fresh = (await visit("/csrf"))["token"]
        assert token != fresh
        assert {"user": None} == await submit("/logout", fresh)
        assert {"user": None, "data": {}} == await visit("/read")
        cookies = (await tools.call("Network.getCookies", urls=[server.url + "/"]))["cookies"]
        assert [] == cookies
