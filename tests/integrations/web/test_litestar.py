"""What only Litestar has: its plugin, its session API, SessionAuth, FlashPlugin, exclusions, OpenAPI.

The behaviours every adapter shares are in ``test_behaviour.py``, run for Litestar too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import websockets
from litestar import Litestar, Request, WebSocket, get, post, websocket
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.exceptions import ImproperlyConfiguredException
from litestar.params import FromQuery
from litestar.plugins.flash import FlashConfig, FlashPlugin, flash
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.security.session_auth import SessionAuth
from litestar.template.config import TemplateConfig
from tests.integrations.web.conftest import Browser, Server, make_store

from jamsession_memory import MemorySessions
from jamsession_web import Session, SessionConfig
from jamsession_web.litestar import JamSessionConfig, JamSessionMiddleware, JamSessionPlugin

Start = Callable[..., Server]
BrowserFor = Callable[[Server], Browser]


@pytest.fixture
def start() -> Iterator[Start]:
    servers: list[Server] = []

    def run(app: Litestar, **options: Any) -> Server:
        server = Server(app, **options)
        server.start()
        servers.append(server)
        return server

    yield run
    for server in servers:
        server.stop()


@dataclasses.dataclass
class Profile:
    theme: str
    size: int


@get("/read")
async def read(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return {"data": dict(request.session), "id": request.get_session_id()}


@get("/set")
async def set_key(
    request: Request[Any, Any, Any], key: FromQuery[str], value: FromQuery[str]
) -> dict[str, Any]:
    request.session[key] = value
    return {"ok": True}


@get("/replace")
async def replace(request: Request[Any, Any, Any]) -> dict[str, Any]:
    request.set_session({"replaced": "yes"})
    return {"ok": True}


@get("/replace-model")
async def replace_model(request: Request[Any, Any, Any]) -> dict[str, Any]:
    request.set_session(Profile("dark", 3))
    return {"ok": True}


@get("/clear")
async def clear(request: Request[Any, Any, Any]) -> dict[str, Any]:
    request.clear_session()
    return {"id": request.get_session_id()}


@post("/login", status_code=200)
async def login(session: NamedDependency[Session], user: FromQuery[str]) -> dict[str, Any]:
    await session.login(user)
    return {"user": session.user_key}


@post("/logout-ids", status_code=200)
async def logout_ids(request: Request[Any, Any, Any], session: NamedDependency[Session]) -> dict[str, Any]:
    before = request.get_session_id()
    await session.logout()
    return {"before": before, "after": request.get_session_id()}


@get("/lazy-id", opt={"lazy_session": True})
async def lazy_id(request: Request[Any, Any, Any], session: NamedDependency[Session]) -> dict[str, Any]:
    return {"id": request.get_session_id(), "handle": session.handle}


@get("/devices")
async def devices(session: NamedDependency[Session]) -> list[str]:
    return [device.handle for device in await session.devices()]


@get("/skipped", opt={"skip_session": True})
async def skipped(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return {"has_session": "session" in request.scope}


@get("/public/page")
async def public(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return {"has_session": "session" in request.scope}


@websocket("/ws")
async def ws(socket: WebSocket[Any, Any, Any]) -> None:
    await socket.accept()
    await socket.send_json({"has_session": "session" in socket.scope})
    await socket.close()


HANDLERS = [
    read,
    set_key,
    replace,
    replace_model,
    clear,
    login,
    logout_ids,
    lazy_id,
    devices,
    skipped,
    public,
    ws,
]


def app_with(config: SessionConfig | JamSessionConfig, **options: Any) -> Litestar:
    return Litestar(HANDLERS, plugins=[JamSessionPlugin(config)], logging_config=None, **options)


def test_set_session_replaces_the_data_and_get_session_id_is_the_handle(
    start: Start, browser_for: BrowserFor
) -> None:
    store = make_store()
    server = start(app_with(SessionConfig(store, csrf=False)))
    client = browser_for(server)
    assert {"data": {}, "id": None} == client.get("/read").json()
    client.get("/set?key=a&value=1")
    token = client.jar["session"]
    client.get("/replace")
    assert {"replaced": "yes"} == server.call(store.get(token))
    client.post("/login?user=ann")
    [handle] = client.get("/devices").json()
    read_back = client.get("/read").json()
    assert {"data": {}, "id": handle} == read_back
    assert client.jar["session"] != handle  # the handle is not the token
    client.get("/replace-model")
    stored = server.call(store.get(client.jar["session"]))
    assert {"theme": "dark", "size": 3} == {
        k: v for k, v in stored.items() if not k.startswith("_jamsession.")
    }


def test_get_session_id_is_the_live_sessions_handle_on_lazy_routes_and_after_logout(
    start: Start, browser_for: BrowserFor
) -> None:
    store = make_store()
    server = start(app_with(SessionConfig(store, csrf=False)))
    client = browser_for(server)
    assert {"id": None, "handle": None} == client.get("/lazy-id").json()
    client.post("/login?user=ann")
    [handle] = client.get("/devices").json()
    assert {"id": handle, "handle": handle} == client.get("/lazy-id").json()
    # Logged out in the handler: no session is behind the connection any more.
    assert {"before": handle, "after": None} == client.post("/logout-ids").json()


def test_clear_session_logs_out(start: Start, browser_for: BrowserFor) -> None:
    store = make_store()
    server = start(app_with(SessionConfig(store, csrf=False)))
    client = browser_for(server)
    client.post("/login?user=ann")
    token = client.jar["session"]
    assert {"id": None} == client.get("/clear").json()
    assert "Max-Age=0" in client.set_cookies[0]
    assert {} == client.jar
    assert None is server.call(store.get(token))
    assert [] == server.call(store.list_sessions("ann"))


def test_exclude_exclude_opt_key_and_scopes(start: Start, browser_for: BrowserFor) -> None:
    store = make_store()
    config = JamSessionConfig(SessionConfig(store, csrf=False), exclude=["/public"], scopes={ScopeType.HTTP})
    server = start(app_with(config))
    client = browser_for(server)
    client.get("/set?key=a&value=1")
    store.reset()
    assert {"has_session": False} == client.get("/skipped").json()
    assert {"has_session": False} == client.get("/public/page").json()
    assert {} == dict(store.calls)

    async def talk() -> Any:
        async with websockets.connect(f"ws://127.0.0.1:{server.port}/ws") as socket:
            return await socket.recv()

    assert '{"has_session":false}' == asyncio.run(talk())
    # Without the exclusions, the same routes have it.
    everywhere = start(app_with(SessionConfig(make_store(), csrf=False), debug=False))
    assert {"has_session": True} == browser_for(everywhere).get("/public/page").json()


def test_two_apps_in_one_process_keep_their_settings(start: Start, browser_for: BrowserFor) -> None:
    first_store, second_store = make_store(), make_store()
    first = start(app_with(SessionConfig(first_store, cookie_name="first", csrf=False)))
    second = start(app_with(SessionConfig(second_store, cookie_name="second", csrf=True, same_site="strict")))
    one, two = browser_for(first), browser_for(second)
    one.get("/set?key=app&value=first")
    assert ["first"] == list(one.jar)
    assert "SameSite=Lax" in one.set_cookies[0]
    assert 403 == two.post("/login?user=ann").status_code  # only the second app checks CSRF
    assert 200 == one.post("/login?user=ann").status_code
    two.get("/set?key=app&value=second")
    assert ["second"] == list(two.jar)
    assert "SameSite=Strict" in two.set_cookies[0]
    assert {"app": "second"} == second.call(second_store.get(two.jar["second"]))
    assert [] == first.call(first_store.list_sessions(""))  # the first app's session is now ann's
    assert None is first.call(first_store.get(two.jar["second"]))


def test_openapi_documents_the_cookie(start: Start, browser_for: BrowserFor) -> None:
    config = JamSessionConfig(SessionConfig(make_store(), cookie_name="__Host-sid"))
    server = start(app_with(config))
    schema = browser_for(server).get("/schema/openapi.json").json()
    scheme = schema["components"]["securitySchemes"]["sessionCookie"]
    assert {"type": "apiKey", "name": "__Host-sid", "in": "cookie"} == {
        key: scheme[key] for key in ("type", "name", "in")
    }
    assert {"sessionCookie": []} == config.security_requirement
    # Another app's schema is untouched by this one's plugin.
    other = start(Litestar([read], logging_config=None))
    assert "securitySchemes" not in browser_for(other).get("/schema/openapi.json").json().get(
        "components", {}
    )


class Recording(MemorySessions):
    """The memory store, recording when it is opened and closed."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.events: list[str] = []

    async def __aenter__(self) -> Recording:
        self.events.append("open")
        return self

    async def aclose(self) -> None:
        self.events.append("close")
        await super().aclose()


def test_the_store_is_opened_at_start_up_and_closed_at_shutdown(
    start: Start, browser_for: BrowserFor
) -> None:
    store = Recording()
    server = start(app_with(SessionConfig(store, csrf=False)), lifespan="on")
    assert ["open"] == store.events
    assert 200 == browser_for(server).get("/set?key=a&value=1").status_code
    server.stop()
    assert ["open", "close"] == store.events


async def retrieve_user(session: Any, connection: Any) -> dict[str, str] | None:
    return None if session.user_key is None else {"name": session.user_key}


@get("/me")
async def me(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return {"user": request.user["name"]}


def test_session_auth_works_with_the_config(start: Start, browser_for: BrowserFor) -> None:
    store = make_store()
    config = JamSessionConfig(SessionConfig(store, csrf=False))
    auth: SessionAuth[Any, Any] = SessionAuth(
        session_backend_config=config, retrieve_user_handler=retrieve_user, exclude=["/login", "/set"]
    )
    app = Litestar(
        [me, login, set_key],
        on_app_init=[auth.on_app_init],
        plugins=[JamSessionPlugin(config)],
        logging_config=None,
    )
    # The plugin sees SessionAuth's middleware: the session middleware is not added twice.
    assert [] == [m for m in app.middleware if getattr(m, "middleware", None) is JamSessionMiddleware]
    server = start(app)
    client = browser_for(server)
    assert 401 == client.get("/me").status_code
    client.get("/set?key=cart&value=apples")
    anonymous = client.jar["session"]
    # An anonymous session is refused, and SessionAuth's clearing of it logs it out.
    assert 401 == client.get("/me").status_code
    assert None is server.call(store.get(anonymous))
    client.post("/login?user=ann")
    assert {"user": "ann"} == client.get("/me").json()


def test_flash_plugin_works_unchanged(start: Start, browser_for: BrowserFor, tmp_path: pathlib.Path) -> None:
    (tmp_path / "flashes.html").write_text(
        "{% for m in get_flashes() %}{{ m.category }}:{{ m.message }};{% endfor %}"
    )

    @post("/save", status_code=303)
    async def save(request: Request[Any, Any, Any]) -> Redirect:
        flash(request, "Saved", "success")
        return Redirect("/flashes", status_code=303)

    @get("/flashes")
    async def flashes() -> Template:
        return Template("flashes.html")

    template_config = TemplateConfig(directory=tmp_path, engine=JinjaTemplateEngine)
    app = Litestar(
        [save, flashes],
        plugins=[
            JamSessionPlugin(SessionConfig(make_store(), csrf=False)),
            FlashPlugin(FlashConfig(template_config)),
        ],
        template_config=template_config,
        logging_config=None,
    )
    client = browser_for(start(app))
    assert 303 == client.post("/save").status_code
    assert "success:Saved;" == client.get("/flashes").text
    assert "" == client.get("/flashes").text


def test_flash_plugin_needs_a_session_middleware() -> None:
    template_config = TemplateConfig(directory=".", engine=JinjaTemplateEngine)
    with pytest.raises(ImproperlyConfiguredException):
        Litestar([read], plugins=[FlashPlugin(FlashConfig(template_config))], template_config=template_config)


def test_config_mistakes_fail_at_start_up() -> None:
    with pytest.raises(TypeError, match="SessionConfig"):
        JamSessionPlugin(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="SessionConfig"):
        JamSessionConfig({"cookie_name": "s"})  # type: ignore[arg-type]


def test_the_plugin_adds_the_middleware_once() -> None:
    config = JamSessionConfig(SessionConfig(make_store()))

    def ours(app: Litestar) -> list[Any]:
        return [m for m in app.middleware if getattr(m, "middleware", None) is JamSessionMiddleware]

    assert 1 == len(ours(Litestar([read], plugins=[JamSessionPlugin(config)])))
    # Already in the app's list (to place it among other middleware): not added again.
    assert 1 == len(
        ours(Litestar([read], middleware=[config.middleware], plugins=[JamSessionPlugin(config)]))
    )
