"""Sessions for aiohttp apps: ``setup(app, config)`` and ``await get_session(request)``.

The session is saved, and its cookie set, when the response is prepared
(aiohttp's ``on_response_prepare`` signal), so a :class:`~aiohttp.web.StreamResponse`,
a :class:`~aiohttp.web.FileResponse` and a WebSocket handshake get them like any
other response. Nothing is saved when the handler raised or answered 5xx.

Example::

    import jamsession
    from aiohttp import web
    from jamsession_web.aiohttp import SessionConfig, get_session, setup

    async def home(request: web.Request) -> web.Response:
        session = await get_session(request)
        session["visits"] = session.get("visits", 0) + 1
        return web.Response(text=f"hello {session.user_key or 'stranger'}")

    app = web.Application()
    app.router.add_get("/", home)
    setup(app, SessionConfig(jamsession.open("sqlite", path="sessions.db", default_ttl=86400)))
    web.run_app(app)

An app on aiohttp-session can keep its code and change one line instead:
see :class:`jamsession_web.aiohttp_session.JamSessionStorage`.

.. versionadded:: 0.1
"""

from __future__ import annotations

from typing import Any, cast

from aiohttp import hdrs, web

from jamsession import BaseAsyncSessionModule
from jamsession_web._config import SessionConfig
from jamsession_web._cookies import find_cookie
from jamsession_web._errors import SessionMiddlewareMissingError
from jamsession_web._session import Device, Flash, Session

__all__ = ["Device", "Flash", "Session", "SessionConfig", "get_session", "session_of", "setup"]

#: The request key of each named session, made once per name: a request keeps each
#: session under its own key, so finding one is a single lookup that never misses.
_KEYS: dict[str, Any] = {}
#: Headers a session made ready before the handler failed, sent with the error response.
_PENDING: Any = web.RequestKey("pending", dict) if hasattr(web, "RequestKey") else "jamsession.pending"
_FORBIDDEN = "CSRF token missing or incorrect"
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def setup(app: web.Application, config: SessionConfig) -> None:
    """Give every request of ``app`` the session ``config`` describes.

    Adds a middleware that makes each request's :class:`~jamsession_web.Session`
    (and checks CSRF tokens), a ``on_response_prepare`` handler that saves it and
    sets the cookie, and opens the store at start-up and closes it at clean-up.
    Call it once per named session (``SessionConfig(..., name="admin")``).

    Middlewares added before this one run outside it: an error page made by one
    of them still counts as the handler's failure, and saves nothing.

    Raises:
        TypeError: ``config`` is not a :class:`~jamsession_web.SessionConfig`.
        ValueError: ``app`` already has a session of that name.
    """
    if not isinstance(config, SessionConfig):
        raise TypeError(f"config must be a SessionConfig, not {config!r}")
    if not isinstance(app, web.Application):
        raise TypeError(f"app must be an aiohttp.web.Application, not {app!r}")
    sessions = _Sessions(config)
    for middleware in app.middlewares:
        owner = getattr(middleware, "__self__", None)
        if isinstance(owner, _Sessions) and owner.config.name == config.name:
            raise ValueError(f"this app already has a session named {config.name!r}")
    app.middlewares.append(sessions.middleware)
    app.on_response_prepare.append(sessions.on_response_prepare)
    app.on_startup.append(sessions.on_startup)
    app.on_cleanup.append(sessions.on_cleanup)


async def get_session(request: web.BaseRequest, name: str = "session") -> Session:
    """The loaded session of a request (a WebSocket's handshake included).

    Loading reads the store once per request; later calls return the same handle.

    Raises:
        SessionMiddlewareMissingError: ``setup`` was not called with a session of that ``name``.
    """
    return await session_of(request, name).load()


def session_of(request: web.BaseRequest, name: str = "session") -> Session:
    """The request's session handle without loading it: for code that cannot await.

    Usable as a mapping once loaded: by :func:`get_session`, or before the
    handler runs for the paths in ``SessionConfig(autoload=...)``.

    Raises:
        SessionMiddlewareMissingError: ``setup`` was not called with a session of that ``name``.
    """
    key = _KEYS.get(name)
    if key is not None:
        try:
            session: Session = request[key]
        except KeyError:
            pass
        else:
            return session
    raise SessionMiddlewareMissingError(
        name,
        fix=f"call jamsession_web.aiohttp.setup(app, SessionConfig(store, name={name!r}))",
    )


def _key_of(name: str) -> Any:
    key = _KEYS.get(name)
    if key is None:
        label = f"jamsession.session.{name}"
        key = _KEYS[name] = web.RequestKey(label, Session) if hasattr(web, "RequestKey") else label
    return key


class _Sessions:
    """One named session of one app: its middleware and its signal handlers."""

    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self._key = _key_of(config.name)

    async def on_startup(self, app: web.Application) -> None:
        await cast(BaseAsyncSessionModule, self.config.store).__aenter__()

    async def on_cleanup(self, app: web.Application) -> None:
        await cast(BaseAsyncSessionModule, self.config.store).aclose()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        config = self.config
        headers = request.headers
        header = headers.get(hdrs.COOKIE)
        session = Session(
            config,
            None if header is None else find_cookie(header, config.cookie_name),
            user_agent=headers.get(hdrs.USER_AGENT),
        )
        request[self._key] = session
        path = request.path
        if config.autoloads(path):
            await session.load()
        if config.csrf_applies(request.method, path):
            if not await _csrf_ok(config, session, request):
                return web.Response(status=403, text=_FORBIDDEN)
        elif (
            config.csrf
            and headers.get(hdrs.UPGRADE, "").lower() == "websocket"
            and not _same_origin(config, request)
        ):
            # Browsers send cookies with any site's WebSocket handshakes, and SameSite
            # does not cover them: a socket opened from another site is refused.
            return web.Response(status=403, text="cross-site WebSocket refused")
        try:
            response: web.StreamResponse = await handler(request)
        except web.HTTPException as exc:
            if exc.status >= 500:
                await _discard(request, config.name, session)
            raise  # a redirect or a 4xx saves at prepare time, like any response
        except BaseException:
            await _discard(request, config.name, session)
            raise
        if response.prepared:
            # Changes made after the response started (a WebSocket after the
            # handshake, a streamed body): saved now that the handler is done.
            await session.save()
        return response

    async def on_response_prepare(self, request: web.BaseRequest, response: web.StreamResponse) -> None:
        try:
            session: Session = request[self._key]
        except KeyError:
            return  # answered before this app's middleware ran
        added = await session.commit(response.status)
        if not added and session.loaded:
            # Already committed: by a handler that failed, if it left headers to send.
            pending = request.get(_PENDING)
            if pending is not None:
                added = pending.pop(self.config.name, None) or added
        headers = response.headers
        for name, value in added:
            if name == b"vary":
                _add_vary(headers, value)
            elif name == b"set-cookie":
                headers.add(hdrs.SET_COOKIE, value.decode("latin-1"))
            else:
                headers.add(name.decode("latin-1"), value.decode("latin-1"))


async def _discard(request: web.Request, name: str, session: Session) -> None:
    """The handler failed: save nothing, and keep the headers a login or logout already needs."""
    added = await session.commit(500)
    if added:
        pending = request.get(_PENDING)
        if pending is None:
            pending = request[_PENDING] = {}
        pending[name] = added


def _add_vary(headers: Any, value: bytes) -> None:
    text = value.decode("latin-1")
    existing = headers.get(hdrs.VARY)
    if existing is None:
        headers[hdrs.VARY] = text
    elif "cookie" not in existing.lower() and existing.strip() != "*":
        headers[hdrs.VARY] = f"{existing}, {text}"


def _same_origin(config: SessionConfig, request: web.Request) -> bool:
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is None:
        return True  # not a browser: no ambient cookie to abuse
    if origin in config.trusted_origins:
        return True
    host = request.headers.get(hdrs.HOST)
    return host is not None and origin.partition("://")[2] == host


async def _csrf_ok(config: SessionConfig, session: Session, request: web.Request) -> bool:
    """Whether the request carries the session's CSRF token, in the header or a form field.

    A form is parsed with ``request.post()``, which aiohttp keeps: the handler's
    own ``await request.post()`` gets the same fields (and, for URL-encoded
    forms, ``await request.read()`` the same bytes).
    """
    provided = request.headers.get(config.csrf_header)
    if provided is None and request.content_type in _FORMS:
        length = request.content_length
        if length is None or length <= config.csrf_body_limit:
            try:
                form = await request.post()
            except ValueError:
                form = None  # a malformed body carries no token
            value = None if form is None else form.get(config.csrf_field)
            provided = value if isinstance(value, str) else None
    await session.load()
    return session.check_csrf(provided)
