"""What only the aiohttp adapter has: file responses, the app's lifecycle, aiohttp's error paths.

The behaviours every adapter shares are in ``test_behaviour.py``, run against
aiohttp too; these use aiohttp's own server the same way (127.0.0.1, port 0).
"""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import websockets
from aiohttp import web
from tests.integrations.web.conftest import AiohttpServer, Browser, counting

from jamsession_memory import MemorySessions
from jamsession_web import SessionConfig, SessionMiddlewareMissingError
from jamsession_web.aiohttp import get_session, setup


class LifecycleMemory(counting(MemorySessions)):  # type: ignore[misc]
    """The real memory store, noting when it is opened and closed."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.events: list[str] = []

    async def __aenter__(self) -> Any:
        self.events.append("open")
        return await super().__aenter__()

    async def aclose(self) -> None:
        self.events.append("close")
        await super().aclose()


@pytest.fixture
def store() -> Any:
    return LifecycleMemory(default_ttl=3600)


@pytest.fixture
def run() -> Iterator[Callable[[web.Application], tuple[AiohttpServer, Browser]]]:
    started: list[tuple[AiohttpServer, Browser]] = []

    def start(app: web.Application) -> tuple[AiohttpServer, Browser]:
        server = AiohttpServer(app)
        server.start()
        started.append((server, Browser(server.url)))
        return started[-1]

    yield start
    for server, browser in started:
        browser.close()
        server.stop()


def app_with(store: Any, *routes: web.RouteDef, outer: Any = None) -> web.Application:
    app = web.Application(middlewares=[] if outer is None else [outer])
    app.add_routes(routes)
    setup(app, SessionConfig(store, csrf=False))
    return app


def test_file_response_saves_and_sets_the_cookie(store: Any, run: Any, tmp_path: pathlib.Path) -> None:
    report = tmp_path / "report.txt"
    report.write_text("the report")

    async def download(request: web.Request) -> web.StreamResponse:
        (await get_session(request))["downloaded"] = "report.txt"
        return web.FileResponse(report)

    server, client = run(app_with(store, web.get("/file", download)))
    response = client.get("/file")
    assert "the report" == response.text
    assert {"downloaded": "report.txt"} == server.call(store.get(client.jar["session"]))
    assert "Cookie" == response.headers["vary"]


def test_websocket_changes_after_the_handshake_are_saved(store: Any, run: Any) -> None:
    async def seed(request: web.Request) -> web.StreamResponse:
        (await get_session(request))["seen"] = 1
        return web.Response(text="ok")

    async def socket(request: web.Request) -> web.StreamResponse:
        session = await get_session(request)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            session["said"] = message.data
            await ws.close()
        return ws

    server, client = run(app_with(store, web.get("/seed", seed), web.get("/ws", socket)))
    client.get("/seed")
    token = client.jar["session"]

    async def talk() -> None:
        url = f"ws://127.0.0.1:{server.port}/ws"
        async with websockets.connect(url, additional_headers={"cookie": f"session={token}"}) as ws:
            await ws.send("hello")
            await ws.wait_closed()

    asyncio.run(talk())
    assert {"seen": 1, "said": "hello"} == server.call(store.get(token))


def test_store_opened_at_startup_and_closed_at_cleanup(store: Any) -> None:
    server = AiohttpServer(app_with(store))
    server.start()
    try:
        assert ["open"] == store.events
    finally:
        server.stop()
    assert ["open", "close"] == store.events


def test_an_error_page_made_outside_saves_nothing(store: Any, run: Any) -> None:
    @web.middleware
    async def friendly_errors(request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            return await handler(request)
        except RuntimeError:
            return web.Response(text="sorry")  # a 200 page for a failure

    async def seed(request: web.Request) -> web.StreamResponse:
        (await get_session(request))["a"] = "1"
        return web.Response(text="ok")

    async def broken(request: web.Request) -> web.StreamResponse:
        (await get_session(request))["a"] = "lost"
        raise RuntimeError("the handler failed")

    server, client = run(
        app_with(store, web.get("/seed", seed), web.get("/broken", broken), outer=friendly_errors)
    )
    client.get("/seed")
    store.reset()
    assert "sorry" == client.get("/broken").text
    assert 0 == store.writes()
    assert {"a": "1"} == server.call(store.get(client.jar["session"]))


def test_a_raised_redirect_saves(store: Any, run: Any) -> None:
    async def done(request: web.Request) -> web.StreamResponse:
        (await get_session(request))["step"] = "done"
        raise web.HTTPSeeOther("/next")

    server, client = run(app_with(store, web.post("/done", done)))
    response = client.post("/done")
    assert 303 == response.status_code
    assert {"step": "done"} == server.call(store.get(client.jar["session"]))


def test_setup_refuses_a_second_session_of_one_name(store: Any) -> None:
    app = app_with(store)
    with pytest.raises(ValueError, match="'session'"):
        setup(app, SessionConfig(store))
    setup(app, SessionConfig(store, name="admin", cookie_name="admin"))


def test_get_session_without_setup_names_the_fix(run: Any) -> None:
    errors: list[BaseException] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            await get_session(request, "admin")
        except SessionMiddlewareMissingError as exc:
            errors.append(exc)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", handler)
    _, client = run(app)
    client.get("/")
    [error] = errors
    assert "admin" == error.name  # type: ignore[attr-defined]
    assert "jamsession_web.aiohttp.setup(app, SessionConfig(store, name='admin'))" in str(error)


def test_a_login_before_a_failure_still_hands_out_its_token(store: Any, run: Any) -> None:
    async def seed(request: web.Request) -> web.StreamResponse:
        (await get_session(request))["a"] = "1"
        return web.Response(text="ok")

    async def login_then_fail(request: web.Request) -> web.StreamResponse:
        session = await get_session(request)
        await session.login("ann")
        session["after"] = "lost"
        raise RuntimeError("the handler failed after logging in")

    server, client = run(app_with(store, web.get("/seed", seed), web.post("/login", login_then_fail)))
    client.get("/seed")
    anonymous = client.jar["session"]
    assert 500 == client.post("/login").status_code
    # The store already moved the session: the old token is dead, the new one goes out.
    assert anonymous != client.jar["session"]
    assert None is server.call(store.get(anonymous))
    stored = server.call(store.get(client.jar["session"]))
    assert ["_jamsession.csrf", "_jamsession.device"] == sorted(
        stored
    )  # nothing of the app's: "after" is lost
    assert 1 == len(server.call(store.list_sessions("ann")))
