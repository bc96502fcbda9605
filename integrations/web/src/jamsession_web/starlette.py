"""Sessions for Starlette (and FastAPI) apps.

Example::

    import jamsession
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from jamsession_web.starlette import SessionConfig, SessionMiddleware, get_session

    config = SessionConfig(jamsession.open("sqlite", path="sessions.db", default_ttl=86400))
    app = Starlette(routes=[...], middleware=[Middleware(SessionMiddleware, config=config)])

    async def home(request):
        session = await get_session(request)
        return PlainTextResponse(f"hello {session.user_key or 'stranger'}")

.. versionadded:: 0.1
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from jamsession_web._asgi import SCOPE_KEY, SessionMiddleware
from jamsession_web._config import SessionConfig
from jamsession_web._errors import SessionMiddlewareMissingError
from jamsession_web._session import Device, Flash, Session

__all__ = ["Device", "Flash", "Session", "SessionConfig", "SessionMiddleware", "get_session"]


async def get_session(connection: HTTPConnection, name: str = "session") -> Session:
    """The loaded session of a request or WebSocket.

    Loading reads the store once per request; later calls return the same
    handle. ``request.session`` is the session named ``"session"``, usable once
    this has been awaited (or when the route is in ``SessionConfig(autoload=...)``).

    Raises:
        SessionMiddlewareMissingError: No session middleware with that ``name``.
    """
    sessions: dict[str, Session] | None = connection.scope.get(SCOPE_KEY)
    session = None if sessions is None else sessions.get(name)
    if session is None:
        raise SessionMiddlewareMissingError(name)
    return await session.load()
