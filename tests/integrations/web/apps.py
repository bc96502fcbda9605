"""The test app, written once as framework-free handlers, and one builder per framework.

Each handler takes the request's session (or sessions) and its query
parameters and returns ``(status, json body)`` or a redirect. A framework
joins the shared suite by adding a builder here and a parameter to the
``framework`` fixture in ``conftest.py``.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from jamsession_web import ResponseStartedError, Session, SessionConfig


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    redirect: str | None = None
    stream: bool = False
    #: Called between the streamed chunks, once the response has started.
    meanwhile: Callable[[], None] | None = None


Handler = Callable[[Session, dict[str, str], bytes], Awaitable[Reply]]


async def read(session: Session, query: dict[str, str], body: bytes) -> Reply:
    return Reply(body={"user": session.user_key, "data": dict(session)})


async def set_value(session: Session, query: dict[str, str], body: bytes) -> Reply:
    session[query["key"]] = query.get("value", "")
    return Reply(body={"ok": True})


async def append(session: Session, query: dict[str, str], body: bytes) -> Reply:
    session.setdefault(query["key"], []).append(query.get("value", ""))
    return Reply(body={"ok": True})


async def delete(session: Session, query: dict[str, str], body: bytes) -> Reply:
    del session[query["key"]]
    return Reply(body={"ok": True})


async def clear(session: Session, query: dict[str, str], body: bytes) -> Reply:
    session.clear()
    return Reply(body={"ok": True})


async def set_then_raise(session: Session, query: dict[str, str], body: bytes) -> Reply:
    session[query["key"]] = "lost"
    raise RuntimeError("the handler failed")


async def set_then_fail(session: Session, query: dict[str, str], body: bytes) -> Reply:
    session[query["key"]] = "lost"
    return Reply(status=503, body={"ok": False})


async def set_then_stream(session: Session, query: dict[str, str], body: bytes) -> Reply:
    session[query["key"]] = query.get("value", "")
    return Reply(body=["chunk-1", "chunk-2"], stream=True)


async def stream_then_set(session: Session, query: dict[str, str], body: bytes) -> Reply:
    def change() -> None:
        # Refused for a session with nothing stored behind it: no cookie can carry it now.
        with contextlib.suppress(ResponseStartedError):
            session[query["key"]] = query.get("value", "")

    return Reply(body=["chunk-1", "chunk-2"], stream=True, meanwhile=change)


#: Gates a test hands to ``/slow`` by name: the handler runs one (in a thread) after it has
#: loaded the session, so a test decides exactly when each overlapping request goes on to save.
GATES: dict[str, Callable[[], object]] = {}


async def slow_set(session: Session, query: dict[str, str], body: bytes) -> Reply:
    # Loaded before the wait, saved after: overlapping calls race on the same stored session.
    _ = dict(session)
    if "gate" in query:
        await asyncio.to_thread(GATES[query["gate"]])
    else:
        await asyncio.sleep(float(query.get("delay", "0.3")))
    session[query["key"]] = query.get("value", "")
    return Reply(body={"ok": True})


async def login(session: Session, query: dict[str, str], body: bytes) -> Reply:
    keep = [key for key in query.get("keep", "").split(",") if key]
    await session.login(query["user"], keep=keep)
    if "then_key" in query:
        session[query["then_key"]] = query.get("then_value", "")
    return Reply(body={"user": session.user_key})


async def logout(session: Session, query: dict[str, str], body: bytes) -> Reply:
    await session.logout()
    return Reply(body={"user": session.user_key})


async def logout_everywhere(session: Session, query: dict[str, str], body: bytes) -> Reply:
    await session.logout_everywhere()
    return Reply(body={"user": session.user_key})


async def devices(session: Session, query: dict[str, str], body: bytes) -> Reply:
    return Reply(
        body=[
            {"handle": d.handle, "current": d.current, "user_agent": d.user_agent}
            for d in await session.devices()
        ]
    )


async def revoke(session: Session, query: dict[str, str], body: bytes) -> Reply:
    return Reply(body={"ended": await session.revoke(query["handle"])})


async def csrf(session: Session, query: dict[str, str], body: bytes) -> Reply:
    return Reply(body={"token": session.csrf_token})


async def echo_body(session: Session, query: dict[str, str], body: bytes) -> Reply:
    return Reply(body={"body": body.decode()})


async def flash(session: Session, query: dict[str, str], body: bytes) -> Reply:
    session.flash(query["message"], query.get("category", "message"))
    return Reply(redirect="/flashes")


async def flashes(session: Session, query: dict[str, str], body: bytes) -> Reply:
    return Reply(body=[[f.category, f.message] for f in session.pop_flashes()])


async def after_accept(session: Session, query: dict[str, str]) -> Any:
    """What the WebSocket route ``/ws/after`` does once it has accepted: no cookie can be sent now."""
    action = query.get("action")
    try:
        if action == "set":
            session[query["key"]] = query.get("value", "")
            if "save" in query:
                await session.save()
        elif action == "login":
            await session.login(query["user"])
        elif action == "logout":
            await session.logout()
        elif action == "logout-everywhere":
            await session.logout_everywhere()
    except ResponseStartedError as refused:
        return {"error": type(refused).__name__, "message": str(refused)}
    return {"user": session.user_key, "data": dict(session)}


#: path -> (methods, handler, name of the session it uses)
ROUTES: dict[str, tuple[Sequence[str], Handler, str]] = {
    "/read": (["GET"], read, "session"),
    "/set": (["GET", "POST"], set_value, "session"),
    "/append": (["GET"], append, "session"),
    "/delete": (["GET"], delete, "session"),
    "/clear": (["GET"], clear, "session"),
    "/raise": (["GET"], set_then_raise, "session"),
    "/fail": (["GET"], set_then_fail, "session"),
    "/stream": (["GET"], set_then_stream, "session"),
    "/stream-then-set": (["GET"], stream_then_set, "session"),
    "/slow": (["GET"], slow_set, "session"),
    "/login": (["POST"], login, "session"),
    "/logout": (["POST"], logout, "session"),
    "/logout-everywhere": (["POST"], logout_everywhere, "session"),
    "/devices": (["GET"], devices, "session"),
    "/revoke": (["POST"], revoke, "session"),
    "/csrf": (["GET"], csrf, "session"),
    "/echo": (["POST"], echo_body, "session"),
    "/flash": (["POST"], flash, "session"),
    "/flashes": (["GET"], flashes, "session"),
    "/admin/read": (["GET"], read, "admin"),
    "/admin/set": (["GET"], set_value, "admin"),
}


async def chunks(items: list[str], meanwhile: Callable[[], None] | None = None) -> AsyncIterator[bytes]:
    for index, item in enumerate(items):
        if index == 1 and meanwhile is not None:
            meanwhile()
        yield item.encode()


AppBuilder = Callable[[Sequence[SessionConfig]], Any]


def build_starlette(configs: Sequence[SessionConfig]) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, StreamingResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket

    from jamsession_web.starlette import SessionMiddleware, get_session

    def endpoint(handler: Handler, name: str) -> Callable[[Request], Awaitable[Any]]:
        async def run(request: Request) -> Any:
            session = await get_session(request, name)
            reply = await handler(session, dict(request.query_params), await request.body())
            if reply.redirect is not None:
                return RedirectResponse(reply.redirect, status_code=303)
            if reply.stream:
                return StreamingResponse(chunks(reply.body, reply.meanwhile), media_type="text/plain")
            return JSONResponse(reply.body, status_code=reply.status)

        return run

    async def noop(request: Request) -> Any:
        return PlainTextResponse("ok")

    async def auto(request: Request) -> Any:
        # request.session, as a third-party library would use it, with no await first.
        request.session["auto"] = "yes"
        return JSONResponse({"data": dict(request.session)})

    async def unloaded(request: Request) -> Any:
        return JSONResponse({"data": dict(request.session)})

    async def ws(websocket: WebSocket) -> None:
        session = await get_session(websocket)
        session["ws"] = "before accept"
        await websocket.accept()
        await websocket.send_json({"user": session.user_key, "data": dict(session)})
        await websocket.close()

    async def ws_after(websocket: WebSocket) -> None:
        session = await get_session(websocket)
        await websocket.accept()
        await websocket.send_json(await after_accept(session, dict(websocket.query_params)))
        await websocket.receive_text()  # the client has looked at the store: done
        await websocket.close()

    routes: list[Any] = [
        Route(path, endpoint(handler, name), methods=list(methods))
        for path, (methods, handler, name) in ROUTES.items()
    ]
    routes += [
        Route("/noop", noop),
        Route("/auto/read", auto),
        Route("/unloaded", unloaded),
        WebSocketRoute("/ws", ws),
        WebSocketRoute("/ws/after", ws_after),
    ]
    middleware = [Middleware(SessionMiddleware, config=config) for config in configs]
    return Starlette(routes=routes, middleware=middleware)


def build_fastapi(configs: Sequence[SessionConfig]) -> Any:
    from typing import Annotated

    from fastapi import Depends, FastAPI, Request, WebSocket
    from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, StreamingResponse

    from jamsession_web.fastapi import SessionDep, SessionMiddleware, session_dependency

    app = FastAPI()
    for config in configs:
        app.add_middleware(SessionMiddleware, config=config)
    admin = Annotated[Session, Depends(session_dependency("admin"))]

    def respond(reply: Reply) -> Any:
        if reply.redirect is not None:
            return RedirectResponse(reply.redirect, status_code=303)
        if reply.stream:
            return StreamingResponse(chunks(reply.body, reply.meanwhile), media_type="text/plain")
        return JSONResponse(reply.body, status_code=reply.status)

    def register(path: str, methods: Sequence[str], handler: Handler, name: str) -> None:
        if name == "admin":

            async def run_admin(request: Request, session: admin) -> Any:
                return respond(await handler(session, dict(request.query_params), await request.body()))

            app.add_api_route(path, run_admin, methods=list(methods))
        else:

            async def run(request: Request, session: SessionDep) -> Any:
                return respond(await handler(session, dict(request.query_params), await request.body()))

            app.add_api_route(path, run, methods=list(methods))

    for path, (methods, handler, name) in ROUTES.items():
        register(path, methods, handler, name)

    @app.get("/noop")
    async def noop() -> Any:
        return PlainTextResponse("ok")

    @app.get("/auto/read")
    async def auto(request: Request) -> Any:
        request.session["auto"] = "yes"
        return JSONResponse({"data": dict(request.session)})

    @app.get("/unloaded")
    async def unloaded(request: Request) -> Any:
        return JSONResponse({"data": dict(request.session)})

    @app.websocket("/ws")
    async def ws(websocket: WebSocket, session: SessionDep) -> None:
        session["ws"] = "before accept"
        await websocket.accept()
        await websocket.send_json({"user": session.user_key, "data": dict(session)})
        await websocket.close()

    @app.websocket("/ws/after")
    async def ws_after(websocket: WebSocket, session: SessionDep) -> None:
        await websocket.accept()
        await websocket.send_json(await after_accept(session, dict(websocket.query_params)))
        await websocket.receive_text()  # the client has looked at the store: done
        await websocket.close()

    return app


def build_litestar(configs: Sequence[SessionConfig]) -> Any:
    from litestar import Litestar, Request, WebSocket, route, websocket
    from litestar.di import NamedDependency
    from litestar.response import Redirect, Response, Stream

    from jamsession_web.litestar import JamSessionPlugin

    def respond(reply: Reply) -> Any:
        if reply.redirect is not None:
            return Redirect(reply.redirect, status_code=303)
        if reply.stream:
            return Stream(chunks(reply.body, reply.meanwhile), media_type="text/plain")
        return Response(reply.body, status_code=reply.status)

    def register(path: str, methods: Sequence[str], handler: Handler, name: str) -> Any:
        # The session is a dependency named like it: ``session``, or ``admin``.
        if name == "admin":

            async def run_admin(request: Request[Any, Any, Any], admin: NamedDependency[Session]) -> Any:
                return respond(await handler(admin, dict(request.query_params), await request.body()))

            return route(path, http_method=list(methods), name=path)(run_admin)

        async def run(request: Request[Any, Any, Any], session: NamedDependency[Session]) -> Any:
            return respond(await handler(session, dict(request.query_params), await request.body()))

        return route(path, http_method=list(methods), name=path)(run)

    # Litestar checks dependencies at start-up: routes of sessions the app lacks are left out.
    names = {config.name for config in configs}
    handlers = [
        register(path, methods, handler, name)
        for path, (methods, handler, name) in ROUTES.items()
        if name in names
    ]

    # Routes marked lazy load the session only when asked: /noop never does.
    @route("/noop", http_method="GET", opt={"lazy_session": True})
    async def noop() -> Response[str]:
        return Response("ok", media_type="text/plain")

    @route("/auto/read", http_method="GET")
    async def auto(request: Request[Any, Any, Any]) -> Any:
        # request.session, as a Litestar app or library uses it, with no await first.
        request.session["auto"] = "yes"
        return {"data": dict(request.session)}

    @route("/unloaded", http_method="GET", opt={"lazy_session": True})
    async def unloaded(request: Request[Any, Any, Any]) -> Any:
        return {"data": dict(request.session)}

    @websocket("/ws")
    async def ws(socket: WebSocket[Any, Any, Any], session: NamedDependency[Session]) -> None:
        session["ws"] = "before accept"
        await socket.accept()
        await socket.send_json({"user": session.user_key, "data": dict(session)})
        await socket.close()

    @websocket("/ws/after")
    async def ws_after(socket: WebSocket[Any, Any, Any], session: NamedDependency[Session]) -> None:
        await socket.accept()
        await socket.send_json(await after_accept(session, dict(socket.query_params)))
        await socket.receive_text()  # the client has looked at the store: done
        await socket.close()

    return Litestar(
        route_handlers=[*handlers, noop, auto, unloaded, ws, ws_after],
        plugins=[JamSessionPlugin(config) for config in configs],
        logging_config=None,
    )


def build_aiohttp(configs: Sequence[SessionConfig]) -> Any:
    import functools
    import json

    from aiohttp import web

    from jamsession_web.aiohttp import get_session, session_of, setup

    dumps = functools.partial(json.dumps, separators=(",", ":"))

    async def body_of(request: web.Request) -> bytes:
        if request.content_type != "multipart/form-data":
            return await request.read()
        # aiohttp reads a multipart form once, with request.post() (the CSRF check may have).
        form = await request.post()
        parts = [value if isinstance(value, str) else value.file.read().decode() for value in form.values()]
        return "\n".join(parts).encode()

    def endpoint(handler: Handler, name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def run(request: web.Request) -> web.StreamResponse:
            session = await get_session(request, name)
            reply = await handler(session, dict(request.query), await body_of(request))
            if reply.redirect is not None:
                raise web.HTTPSeeOther(reply.redirect)
            if reply.stream:
                response = web.StreamResponse(headers={"content-type": "text/plain"})
                await response.prepare(request)
                async for chunk in chunks(reply.body, reply.meanwhile):
                    await response.write(chunk)
                await response.write_eof()
                return response
            return web.json_response(reply.body, status=reply.status, dumps=dumps)

        return run

    async def noop(request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok")

    async def auto(request: web.Request) -> web.StreamResponse:
        # The handle without an await, as code that cannot await would use it.
        session_of(request)["auto"] = "yes"
        return web.json_response({"data": dict(session_of(request))})

    async def unloaded(request: web.Request) -> web.StreamResponse:
        return web.json_response({"data": dict(session_of(request))})

    async def ws(request: web.Request) -> web.StreamResponse:
        session = await get_session(request)
        session["ws"] = "before accept"
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json({"user": session.user_key, "data": dict(session)}, dumps=dumps)
        await socket.close()
        return socket

    async def ws_after(request: web.Request) -> web.StreamResponse:
        session = await get_session(request)
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json(await after_accept(session, dict(request.query)), dumps=dumps)
        await socket.receive_str()  # the client has looked at the store: done
        await socket.close()
        return socket

    app = web.Application()
    for path, (methods, handler, name) in ROUTES.items():
        for method in methods:
            app.router.add_route(method, path, endpoint(handler, name))
    app.router.add_get("/noop", noop)
    app.router.add_get("/auto/read", auto)
    app.router.add_get("/unloaded", unloaded)
    app.router.add_get("/ws", ws)
    app.router.add_get("/ws/after", ws_after)
    for config in configs:
        setup(app, config)
    return app


BUILDERS: dict[str, AppBuilder] = {
    "starlette": build_starlette,
    "fastapi": build_fastapi,
    "litestar": build_litestar,
    "aiohttp": build_aiohttp,
}
