"""The apps of the end-to-end HTTP benchmark, one per session layer, each served alone by uvicorn.

Run as ``python -m benchmarks._web_apps SUBJECT PORT_FILE WORKDIR [REDIS_URL]``: serves
the subject on 127.0.0.1 (one worker, uvloop and httptools when installed)
and writes the port it got to PORT_FILE once it accepts connections.

The aiohttp apps are served by aiohttp's own server (``AppRunner``), the
others by uvicorn. Every app has the same three routes. ``/new?n=N`` starts a session holding a
user name and a counter (the benchmark makes its live sessions this way);
``/read`` answers the counter, or 404 when the request has no session;
``/write`` adds one to it. Each layer is used as its documentation shows.
"""

import asyncio
import contextlib
import secrets
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

SUBJECTS = (
    "none",
    "starlette-signed",
    "starsessions-memory",
    "starsessions-redis",
    "litestar-memory",
    "litestar-redis",
    "jamsession-memory",
    "jamsession-sqlite",
    "jamsession-sqlite-crypt",
    "sqlite-floor",
    "litestar-none",
    "litestar-cookie",
    "litestar-jamsession-sqlite-crypt",
    "litestar-sqlite-floor",
    "aiohttp-none",
    "aiohttp-session-cookie",
    "aiohttp-session-redis",
    "jamsession-aiohttp-sqlite-crypt",
    "aiohttp-sqlite-floor",
)
#: The subjects served by aiohttp's own server rather than uvicorn.
AIOHTTP_SUBJECTS = frozenset(s for s in SUBJECTS if "aiohttp" in s)
#: Seconds every session lives, in every layer.
LIFETIME = 3600


def build(subject: str, workdir: Path, redis_url: str | None) -> Any:
    if subject in AIOHTTP_SUBJECTS:
        return _aiohttp(subject, workdir, redis_url)
    if subject.startswith("litestar"):
        return _litestar(subject, workdir, redis_url)
    return _starlette(subject, workdir, redis_url)


def _starlette(subject: str, workdir: Path, redis_url: str | None) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    middleware: list[Middleware] = []
    # Whatever the app must close at shutdown, as its documentation shows (the app's lifespan).
    closers: list[Callable[[], Awaitable[None]]] = []
    if subject == "none":

        async def session_of(request: Request) -> Any:
            return {"count": 0}

    elif subject == "starlette-signed":
        from starlette.middleware.sessions import SessionMiddleware

        middleware.append(Middleware(SessionMiddleware, secret_key="benchmark-" * 4, max_age=LIFETIME))

        async def session_of(request: Request) -> Any:
            return request.session

    elif subject == "sqlite-floor":
        middleware.append(Middleware(SqliteFloorMiddleware, path=workdir / f"web-{subject}.db"))

        async def session_of(request: Request) -> Any:
            return request.session

    elif subject.startswith("starsessions"):
        from starsessions import SessionMiddleware as StarSessions
        from starsessions import load_session
        from starsessions.stores.base import SessionStore

        store: SessionStore
        if subject == "starsessions-redis":
            from starsessions.stores.redis import RedisStore

            store = RedisStore(url=redis_url)
        else:
            from starsessions.stores.memory import InMemoryStore

            store = InMemoryStore()
        middleware.append(Middleware(StarSessions, store=store, lifetime=LIFETIME, cookie_https_only=False))

        async def session_of(request: Request) -> Any:
            await load_session(request)
            return request.session

    else:
        from jamsession_web.starlette import SessionConfig, get_session
        from jamsession_web.starlette import SessionMiddleware as JamSessions

        sessions = _jamsession_store(subject, workdir)
        closers.append(sessions.aclose)
        middleware.append(Middleware(JamSessions, config=SessionConfig(sessions, csrf=False)))

        async def session_of(request: Request) -> Any:
            return await get_session(request)

    async def new(request: Request) -> Response:
        session = await session_of(request)
        session["user"] = "user-" + request.query_params.get("n", "0")
        session["count"] = 0
        return PlainTextResponse("0")

    async def read(request: Request) -> Response:
        count = (await session_of(request)).get("count")
        if count is None:
            return PlainTextResponse("no session", status_code=404)
        return PlainTextResponse(str(count))

    async def write(request: Request) -> Response:
        session = await session_of(request)
        count = session.get("count")
        if count is None:
            return PlainTextResponse("no session", status_code=404)
        session["count"] = count + 1
        return PlainTextResponse(str(count + 1))

    routes = [Route("/new", new), Route("/read", read), Route("/write", write)]
    return Starlette(routes=routes, middleware=middleware, lifespan=_closing(closers))


class SqliteFloor:
    """The least a server-side session on SQLite does per request: a bound, not a session layer.

    One indexed read of the row a request's cookie names, one ``UPDATE`` and
    commit when the handler changed the data, an ``INSERT`` for a new one; on
    the event loop, with none of what a session layer owes its users (no
    crypt, expiry, cookie attributes, ``Vary``, or care for concurrent
    requests). No layer that reads its sessions from SQLite on each request
    serves more requests/s than this app on the same machine, which bounds
    what a target for one can ask. (A cache of sessions in the process could
    skip the read, but not once several processes share the file.)
    """

    COOKIE = "floor"

    def __init__(self, path: Path) -> None:
        import sqlite3

        import orjson

        self.loads, self.dumps = orjson.loads, orjson.dumps
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, data BLOB NOT NULL)")

    def load(self, cookie: str | None) -> tuple[str | None, dict[str, Any]]:
        """The stored session the cookie's value names (``None`` if none) and its data (empty if none)."""
        row = (
            self.db.execute("SELECT data FROM sessions WHERE id = ?", (cookie,)).fetchone()
            if cookie
            else None
        )
        return (None, {}) if row is None else (cookie, self.loads(row[0]))

    def save(self, found: str | None, before: dict[str, Any], data: dict[str, Any]) -> str | None:
        """Writes ``data`` if it is not ``before``; the ``Set-Cookie`` value of a session it made, if any."""
        if data == before:
            return None
        if found is not None:
            self.db.execute("UPDATE sessions SET data = ? WHERE id = ?", (self.dumps(data), found))
            return None
        new = secrets.token_urlsafe(16)
        self.db.execute("INSERT INTO sessions VALUES (?, ?)", (new, self.dumps(data)))
        return f"{self.COOKIE}={new}"


class SqliteFloorMiddleware:
    """:class:`SqliteFloor` for an ASGI app, on ``scope["session"]`` (``request.session``)."""

    def __init__(self, app: Any, path: Path) -> None:
        self.app = app
        self.floor = SqliteFloor(path)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = None
        for name, value in scope["headers"]:
            if name == b"cookie":
                cookie = value.partition(b"=")[2].decode("latin-1")
        found, data = self.floor.load(cookie)
        before = dict(data)
        scope["session"] = data

        async def saving(message: Any) -> None:
            if message["type"] == "http.response.start":
                new = self.floor.save(found, before, scope.get("session") or {})
                if new is not None:
                    message["headers"] = [*message.get("headers", ()), (b"set-cookie", new.encode())]
            await send(message)

        await self.app(scope, receive, saving)


def _jamsession_store(subject: str, workdir: Path) -> Any:
    import jamsession

    if subject == "jamsession-memory":
        return jamsession.open("memory", default_ttl=LIFETIME)
    # "jamsession-sqlite" differs from "jamsession-sqlite-crypt" in crypt alone: what crypt costs.
    crypt = subject == "jamsession-sqlite-crypt"
    return jamsession.open(
        "sqlite",
        path=workdir / f"web-{subject}.db",
        is_session_crypt=crypt,
        session_aes_secret=jamsession.generate_key() if crypt else None,
        default_ttl=LIFETIME,
    )


def _closing(closers: list[Callable[[], Awaitable[None]]]) -> Any:
    """A Starlette lifespan that calls ``closers`` at shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app: object) -> AsyncIterator[None]:
        yield
        for close in closers:
            await close()

    return lifespan


def _litestar(subject: str, workdir: Path, redis_url: str | None) -> Any:
    from litestar import Litestar, Request, get
    from litestar.middleware.session.server_side import ServerSideSessionConfig
    from litestar.response import Response
    from litestar.stores.base import Store

    # Every Litestar subject runs the same handlers, on request.session as Litestar documents it.
    middleware: list[Any] = []
    plugins: list[Any] = []
    stores: dict[str, Store] = {}
    if subject == "litestar-cookie":
        from litestar.middleware.session.client_side import CookieBackendConfig

        middleware.append(CookieBackendConfig(secret=b"benchmark-secret", max_age=LIFETIME).middleware)
    elif subject == "litestar-jamsession-sqlite-crypt":
        import jamsession
        from jamsession_web.litestar import JamSessionPlugin, SessionConfig

        sessions = jamsession.open(
            "sqlite",
            path=workdir / f"web-{subject}.db",
            is_session_crypt=True,
            session_aes_secret=jamsession.generate_key(),
            default_ttl=LIFETIME,
        )
        plugins.append(JamSessionPlugin(SessionConfig(sessions, csrf=False)))
    elif subject == "litestar-sqlite-floor":
        from litestar.middleware import DefineMiddleware

        middleware.append(DefineMiddleware(SqliteFloorMiddleware, path=workdir / f"web-{subject}.db"))
    elif subject in ("litestar-memory", "litestar-redis"):
        if subject == "litestar-redis":
            from litestar.stores.redis import RedisStore

            assert redis_url is not None
            stores["sessions"] = RedisStore.with_client(url=redis_url)
        else:
            from litestar.stores.memory import MemoryStore

            stores["sessions"] = MemoryStore()
        middleware.append(ServerSideSessionConfig(max_age=LIFETIME).middleware)
    no_sessions = subject == "litestar-none"

    @get("/new")
    async def new(request: Request[Any, Any, Any], n: str = "0") -> Response[str]:
        if not no_sessions:
            request.set_session({"user": "user-" + n, "count": 0})
        return Response("0", media_type="text/plain")

    @get("/read")
    async def read(request: Request[Any, Any, Any]) -> Response[str]:
        count = 0 if no_sessions else request.session.get("count")
        if count is None:
            return Response("no session", status_code=404, media_type="text/plain")
        return Response(str(count), media_type="text/plain")

    @get("/write")
    async def write(request: Request[Any, Any, Any]) -> Response[str]:
        if no_sessions:
            return Response("1", media_type="text/plain")
        count = request.session.get("count")
        if count is None:
            return Response("no session", status_code=404, media_type="text/plain")
        request.session["count"] = count + 1
        return Response(str(count + 1), media_type="text/plain")

    return Litestar(route_handlers=[new, read, write], middleware=middleware, plugins=plugins, stores=stores)


def _aiohttp(subject: str, workdir: Path, redis_url: str | None) -> Any:
    import warnings

    from aiohttp import web
    from aiohttp.web_exceptions import NotAppKeyWarning

    # aiohttp-session keeps its request state under str keys, which aiohttp warns about once.
    warnings.filterwarnings("ignore", category=NotAppKeyWarning)
    app = web.Application()
    if subject == "aiohttp-none":

        async def session_of(request: web.Request) -> Any:
            return {"count": 0}

    elif subject.startswith("aiohttp-session"):
        import aiohttp_session

        storage: aiohttp_session.AbstractStorage
        if subject == "aiohttp-session-redis":
            from aiohttp_session.redis_storage import RedisStorage
            from redis.asyncio import Redis

            assert redis_url is not None
            storage = RedisStorage(Redis.from_url(redis_url), max_age=LIFETIME)
        else:
            from aiohttp_session.cookie_storage import EncryptedCookieStorage

            storage = EncryptedCookieStorage(b"benchmark-key-of-32-bytes-long!!", max_age=LIFETIME)
        aiohttp_session.setup(app, storage)
        session_of = aiohttp_session.get_session

    elif subject == "aiohttp-sqlite-floor":
        session_of = _aiohttp_floor(app, workdir / f"web-{subject}.db")

    else:
        import jamsession
        from jamsession_web.aiohttp import SessionConfig, get_session, setup

        sessions = jamsession.open(
            "sqlite",
            path=workdir / f"web-{subject}.db",
            is_session_crypt=True,
            session_aes_secret=jamsession.generate_key(),
            default_ttl=LIFETIME,
        )
        setup(app, SessionConfig(sessions, csrf=False))
        session_of = get_session

    async def new(request: web.Request) -> web.Response:
        session = await session_of(request)
        session["user"] = "user-" + request.query.get("n", "0")
        session["count"] = 0
        return web.Response(text="0")

    async def read(request: web.Request) -> web.Response:
        count = (await session_of(request)).get("count")
        if count is None:
            return web.Response(text="no session", status=404)
        return web.Response(text=str(count))

    async def write(request: web.Request) -> web.Response:
        session = await session_of(request)
        count = session.get("count")
        if count is None:
            return web.Response(text="no session", status=404)
        session["count"] = count + 1
        return web.Response(text=str(count + 1))

    app.add_routes([web.get("/new", new), web.get("/read", read), web.get("/write", write)])
    return app


def _aiohttp_floor(app: Any, path: Path) -> Any:
    """:class:`SqliteFloor` for an aiohttp app, as a middleware; returns the handlers' ``session_of``."""
    from aiohttp import web

    floor = SqliteFloor(path)

    @web.middleware
    async def floor_sessions(request: web.Request, handler: Any) -> Any:
        header = request.headers.get("Cookie")
        found, data = floor.load(None if header is None else header.partition("=")[2])
        before = dict(data)
        request["session"] = data
        response = await handler(request)
        new = floor.save(found, before, data)
        if new is not None:
            response.headers.add("Set-Cookie", new)
        return response

    app.middlewares.append(floor_sessions)

    async def session_of(request: web.Request) -> Any:
        return request["session"]

    return session_of


async def serve_aiohttp(app: Any, port_file: Path) -> None:
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_file.write_text(str(runner.addresses[0][1]))  # noqa: ASYNC240 - once, at start-up
        await asyncio.Event().wait()  # until the benchmark's SIGINT
    finally:
        await runner.cleanup()


async def serve(subject: str, port_file: Path, workdir: Path, redis_url: str | None) -> None:
    import importlib.util

    if subject in AIOHTTP_SUBJECTS:
        await serve_aiohttp(build(subject, workdir, redis_url), port_file)
        return

    import uvicorn

    fast = (
        importlib.util.find_spec("uvloop") is not None and importlib.util.find_spec("httptools") is not None
    )
    config = uvicorn.Config(
        build(subject, workdir, redis_url),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        access_log=False,
        # On: the apps close their stores at shutdown, and Litestar's plugin opens its store at start-up.
        lifespan="on",
        http="httptools" if fast else "h11",
    )
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve())
    while not server.started:
        if task.done():
            task.result()
            return
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    port_file.write_text(str(port))  # noqa: ASYNC240 - once, at start-up, before any request
    await task


def main(argv: list[str]) -> None:
    subject, port_file, workdir = argv[0], Path(argv[1]), Path(argv[2])
    redis_url = argv[3] if len(argv) > 3 else None
    if subject not in SUBJECTS:
        raise SystemExit(f"unknown subject {subject!r}: one of {', '.join(SUBJECTS)}")
    try:
        import uvloop
    except ImportError:
        runner: Any = asyncio.run
    else:
        runner = uvloop.run
    # uvicorn shuts down gracefully on the benchmark's SIGINT, then raises it again.
    with contextlib.suppress(KeyboardInterrupt):
        runner(serve(subject, port_file, workdir, redis_url))


if __name__ == "__main__":
    main(sys.argv[1:])
