"""A real browser keeps and sends the session cookie: headless Chromium through login, read, logout.

Chromium is driven over the DevTools protocol: it submits the page's own
forms (the CSRF token in a hidden field), follows the redirects, and the test
reads what the page shows. The cookie is HttpOnly, so the page's scripts never
see it: only the server, reading the cookie the browser sent, can put the
user's name on the page.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import pathlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.routing import Route
from tests.integrations.web.conftest import Server, make_store, server_for

from jamsession_web import Session, SessionConfig
from jamsession_web.starlette import SessionMiddleware, get_session

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


def render(session: Session) -> str:
    """The page, for either framework: a login form, or who is signed in and a logout form."""
    token = html.escape(session.csrf_token)
    if session.user_key is None:
        body = (
            "<p id=status>Not signed in</p>"
            f'<form method=post action=/login><input type=hidden name=csrf_token value="{token}">'
            "<input name=user value=ann><button>Sign in</button></form>"
        )
    else:
        body = (
            f"<p id=status>Signed in as {html.escape(session.user_key)}</p>"
            f"<p id=visits>Visits: {session.get('visits', 0)}</p>"
            f'<form method=post action=/logout><input type=hidden name=csrf_token value="{token}">'
            "<button>Sign out</button></form>"
        )
        session["visits"] = session.get("visits", 0) + 1
    return f"<!doctype html><title>jamsession</title>{body}"


async def page(request: Request) -> HTMLResponse:
    return HTMLResponse(render(await get_session(request)))


async def login(request: Request) -> RedirectResponse:
    session = await get_session(request)
    form = dict(item.split("=", 1) for item in (await request.body()).decode().split("&"))
    await session.login(form["user"])
    return RedirectResponse("/", status_code=303)


async def logout(request: Request) -> RedirectResponse:
    await (await get_session(request)).logout()
    return RedirectResponse("/", status_code=303)


def starlette_app(config: SessionConfig) -> Any:
    return Starlette(
        routes=[
            Route("/", page),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
        ],
        middleware=[Middleware(SessionMiddleware, config=config)],
    )


def aiohttp_app(config: SessionConfig) -> Any:
    from aiohttp import web

    from jamsession_web import aiohttp as sessions

    async def show(request: web.Request) -> web.StreamResponse:
        return web.Response(text=render(await sessions.get_session(request)), content_type="text/html")

    async def sign_in(request: web.Request) -> web.StreamResponse:
        user = (await request.post())["user"]
        assert isinstance(user, str)
        await (await sessions.get_session(request)).login(user)
        raise web.HTTPSeeOther("/")

    async def sign_out(request: web.Request) -> web.StreamResponse:
        await (await sessions.get_session(request)).logout()
        raise web.HTTPSeeOther("/")

    app = web.Application()
    app.add_routes([web.get("/", show), web.post("/login", sign_in), web.post("/logout", sign_out)])
    sessions.setup(app, config)
    return app


APPS = {"starlette": starlette_app, "aiohttp": aiohttp_app}


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


@pytest.mark.parametrize("framework", sorted(APPS))
def test_browser_keeps_and_sends_the_cookie(chromium: str, framework: str) -> None:
    store = make_store()
    config = SessionConfig(store, cookie_name="__Host-session")
    server = server_for(APPS[framework](config))
    server.start()
    try:
        asyncio.run(_drive(chromium, server))
    finally:
        server.stop()


async def _drive(page_url: str, server: Server) -> None:
    async with websockets.connect(page_url, max_size=None) as socket:
        tools = DevTools(socket)
        await tools.call("Page.enable")
        await tools.call("Network.enable")
        await tools.call("Page.navigate", url=server.url + "/")
        await tools.wait_for_load(1)
        assert "Not signed in" == await tools.text("#status")

        await tools.call("Runtime.evaluate", expression="document.forms[0].submit()")
        await tools.wait_for_load(2)  # the POST, its 303 and the page it leads to
        assert "Signed in as ann" == await tools.text("#status")
        assert "Visits: 0" == await tools.text("#visits")

        await tools.call("Page.reload")
        await tools.wait_for_load(3)
        assert "Signed in as ann" == await tools.text("#status")
        assert "Visits: 1" == await tools.text("#visits")
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

        await tools.call("Runtime.evaluate", expression="document.forms[0].submit()")
        await tools.wait_for_load(4)
        assert "Not signed in" == await tools.text("#status")
        cookies = (await tools.call("Network.getCookies", urls=[server.url + "/"]))["cookies"]
        # Logged out: the new anonymous session holds only the login form's CSRF token.
        assert [] == [c for c in cookies if c["value"] == cookie["value"]]
