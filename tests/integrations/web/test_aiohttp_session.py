"""``JamSessionStorage`` under the real aiohttp-session and aiohttp-security, on aiohttp's server.

The app is written as an aiohttp-session app is; the storage is its one
jamsession line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp_security
import aiohttp_session
import httpx
import pytest
from aiohttp import web
from aiohttp_security import SessionIdentityPolicy, authorized_userid, forget, remember
from aiohttp_security.abc import AbstractAuthorizationPolicy
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from tests.integrations.web.conftest import AiohttpServer, Browser, make_store

from jamsession import ConfigError
from jamsession_web.aiohttp_session import JamSessionStorage

# aiohttp-session 2.12 keeps its request state under str keys, which aiohttp 3.14 warns about once.
pytestmark = pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning")


class Everyone(AbstractAuthorizationPolicy):
    async def authorized_userid(self, identity: str) -> str | None:
        return identity

    async def permits(self, identity: str | None, permission: Any, context: Any = None) -> bool:
        return identity is not None


def build(storage: aiohttp_session.AbstractStorage) -> web.Application:
    async def read(request: web.Request) -> web.StreamResponse:
        session = await aiohttp_session.get_session(request)
        user = await authorized_userid(request)
        data = {key: value for key, value in session.items() if key != "AIOHTTP_SECURITY"}
        return web.json_response({"user": user, "data": data})

    async def set_value(request: web.Request) -> web.StreamResponse:
        session = await aiohttp_session.get_session(request)
        await asyncio.sleep(float(request.query.get("delay", "0")))
        session[request.query["key"]] = request.query.get("value", "")
        return web.json_response({"ok": True}, status=int(request.query.get("status", "200")))

    async def append(request: web.Request) -> web.StreamResponse:
        session = await aiohttp_session.get_session(request)
        session.setdefault("items", []).append(request.query["value"])
        session.changed()
        return web.json_response({"ok": True})

    async def invalidate(request: web.Request) -> web.StreamResponse:
        (await aiohttp_session.get_session(request)).invalidate()
        return web.json_response({"ok": True})

    async def fresh(request: web.Request) -> web.StreamResponse:
        session = await aiohttp_session.new_session(request)
        session["fresh"] = "yes"
        return web.json_response({"ok": True})

    async def login(request: web.Request) -> web.StreamResponse:
        response = web.json_response({"ok": True})
        await remember(request, response, request.query["user"])
        return response

    async def logout(request: web.Request) -> web.StreamResponse:
        response = web.json_response({"ok": True})
        await forget(request, response)
        return response

    app = web.Application()
    app.add_routes(
        [
            web.get("/read", read),
            web.get("/set", set_value),
            web.get("/append", append),
            web.post("/invalidate", invalidate),
            web.post("/new", fresh),
            web.post("/login", login),
            web.post("/logout", logout),
        ]
    )
    aiohttp_session.setup(app, storage)
    aiohttp_security.setup(app, SessionIdentityPolicy(), Everyone())
    return app


@pytest.fixture
def run() -> Iterator[Callable[[aiohttp_session.AbstractStorage], tuple[AiohttpServer, Browser]]]:
    started: list[tuple[AiohttpServer, Browser]] = []

    def start(storage: aiohttp_session.AbstractStorage) -> tuple[AiohttpServer, Browser]:
        server = AiohttpServer(build(storage))
        server.start()
        started.append((server, Browser(server.url)))
        return started[-1]

    yield start
    for server, browser in started:
        browser.close()
        server.stop()


COOKIE = "AIOHTTP_SESSION"


@pytest.mark.parametrize("storage", ["encrypted-cookie", "jamsession"])
def test_the_same_app_runs_on_either_storage(storage: str, run: Any) -> None:
    made = (
        EncryptedCookieStorage(b"k" * 32)
        if storage == "encrypted-cookie"
        else JamSessionStorage(make_store())
    )
    _, client = run(made)
    client.get("/set?key=a&value=1")
    client.post("/login?user=ann")
    assert {"user": "ann", "data": {"a": "1"}} == client.get("/read").json()
    client.post("/logout")
    assert {"user": None, "data": {"a": "1"}} == client.get("/read").json()


def test_data_stays_server_side_and_the_cookie_is_secure_with_samesite(run: Any) -> None:
    store = make_store(default_ttl=3600)
    server, client = run(JamSessionStorage(store))
    client.get("/set?key=secret&value=hidden")
    [header] = client.set_cookies
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in header.split(";")[1:]}
    assert {"path", "max-age", "secure", "httponly", "samesite"} == set(attributes)
    assert "SameSite=Lax" == attributes["samesite"]
    assert 3590 <= int(attributes["max-age"].split("=")[1]) <= 3600
    token = client.jar[COOKIE]
    assert "hidden" not in token
    assert {"secret": "hidden"} == server.call(store.get(token))


def test_a_read_writes_nothing(run: Any) -> None:
    store = make_store()
    _, client = run(JamSessionStorage(store))
    client.get("/set?key=a&value=1")
    store.reset()
    assert {"user": None, "data": {"a": "1"}} == client.get("/read").json()
    assert {"load": 1} == dict(store.calls)
    assert 0 == store.writes()
    assert [] == client.set_cookies


def test_a_change_writes_only_that_key_and_nested_changes_count(run: Any) -> None:
    store = make_store()
    server, client = run(JamSessionStorage(store))
    client.get("/set?key=a&value=1")
    client.get("/append?value=x")
    store.reset()
    client.get("/append?value=y")
    assert {"load": 1, "patch": 1} == dict(store.calls)
    assert [] == client.set_cookies
    assert {"a": "1", "items": ["x", "y"]} == server.call(store.get(client.jar[COOKIE]))


def test_invalidate_deletes_instead_of_writing_an_empty_session(run: Any) -> None:
    store = make_store()
    server, client = run(JamSessionStorage(store))
    client.get("/set?key=a&value=1")
    token = client.jar[COOKIE]
    store.reset()
    client.post("/invalidate")
    assert {"load": 1, "delete": 1} == dict(store.calls)
    assert None is server.call(store.get(token))
    [header] = client.set_cookies
    assert "Max-Age=0" in header
    assert "SameSite=Lax" in header
    assert {} == client.jar


def test_login_and_logout_through_aiohttp_security_issue_new_tokens(run: Any) -> None:
    store = make_store()
    server, client = run(JamSessionStorage(store))
    client.get("/set?key=cart&value=apples")
    anonymous = client.jar[COOKIE]
    client.post("/login?user=ann")
    logged_in = client.jar[COOKIE]
    assert anonymous != logged_in
    assert None is server.call(store.get(anonymous))
    assert {"user": "ann", "data": {"cart": "apples"}} == client.get("/read").json()
    # The identity is the store's session key: the user's sessions can be listed and ended.
    assert 1 == len(server.call(store.list_sessions("ann")))
    client.post("/logout")
    assert logged_in != client.jar[COOKIE]
    assert None is server.call(store.get(logged_in))
    assert [] == server.call(store.list_sessions("ann"))
    assert {"user": None, "data": {"cart": "apples"}} == client.get("/read").json()


def test_new_session_issues_a_new_token(run: Any) -> None:
    store = make_store()
    server, client = run(JamSessionStorage(store))
    client.get("/set?key=a&value=1")
    old = client.jar[COOKIE]
    client.post("/new")
    assert old != client.jar[COOKIE]
    assert None is server.call(store.get(old))
    assert {"fresh": "yes"} == server.call(store.get(client.jar[COOKIE]))


def test_stale_cookie_is_never_adopted(run: Any) -> None:
    store = make_store()
    server, client = run(JamSessionStorage(store))
    client.jar[COOKIE] = "made-up-token"
    client.get("/set?key=a&value=1")
    assert "made-up-token" != client.jar[COOKIE]
    assert {"a": "1"} == server.call(store.get(client.jar[COOKIE]))


def test_nothing_saved_on_a_5xx_answer(run: Any) -> None:
    store = make_store()
    server, client = run(JamSessionStorage(store))
    client.get("/set?key=a&value=1")
    store.reset()
    assert 503 == client.get("/set?key=a&value=lost&status=503").status_code
    assert 0 == store.writes()
    assert {"a": "1"} == server.call(store.get(client.jar[COOKIE]))


def test_overlapping_requests_keep_both_changes(run: Any) -> None:
    store = make_store()
    server, client = run(JamSessionStorage(store))
    client.get("/set?key=start&value=0")
    cookie = {"cookie": f"{COOKIE}={client.jar[COOKIE]}"}

    async def both() -> None:
        async with httpx.AsyncClient(base_url=server.url) as http:
            await asyncio.gather(
                http.get("/set?key=a&value=1&delay=0.3", headers=cookie),
                http.get("/set?key=b&value=2&delay=0.3", headers=cookie),
            )

    asyncio.run(both())
    assert {"start": "0", "a": "1", "b": "2"} == server.call(store.get(client.jar[COOKIE]))


def test_a_session_ended_meanwhile_is_not_recreated(run: Any) -> None:
    store = make_store()
    server, client = run(JamSessionStorage(store))
    client.get("/set?key=a&value=1")
    token = client.jar[COOKIE]

    async def race() -> httpx.Response:
        async with httpx.AsyncClient(base_url=server.url) as http:
            slow = asyncio.ensure_future(
                http.get("/set?key=b&value=2&delay=0.4", headers={"cookie": f"{COOKIE}={token}"})
            )
            await asyncio.sleep(0.15)
            await http.post("/invalidate", headers={"cookie": f"{COOKIE}={token}"})
            return await slow

    response = asyncio.run(race())
    assert None is server.call(store.get(token))
    assert any("Max-Age=0" in header for header in response.headers.get_list("set-cookie"))


def test_bad_settings_fail_at_start_up() -> None:
    with pytest.raises(ConfigError, match="same_site"):
        JamSessionStorage(make_store(), samesite="sometimes")
    with pytest.raises(ConfigError, match="secure=True"):
        JamSessionStorage(make_store(), samesite="None", secure=False)
