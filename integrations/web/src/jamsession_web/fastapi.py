"""Sessions for FastAPI apps: the Starlette middleware and a dependency.

Example::

    import jamsession
    from fastapi import FastAPI
    from jamsession_web.fastapi import SessionConfig, SessionDep, SessionMiddleware

    app = FastAPI()
    app.add_middleware(SessionMiddleware, config=SessionConfig(jamsession.open("sqlite", path="s.db")))

    @app.get("/")
    async def home(session: SessionDep) -> dict[str, str | None]:
        return {"user": session.user_key}

For a named session, ``Annotated[Session, Depends(session_dependency("admin"))]``.

.. versionadded:: 0.1
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from jamsession_web._asgi import SessionMiddleware
from jamsession_web._config import SessionConfig
from jamsession_web._session import Device, Flash, Session
from jamsession_web.starlette import get_session

__all__ = [
    "Device",
    "Flash",
    "Session",
    "SessionConfig",
    "SessionDep",
    "SessionMiddleware",
    "get_session",
    "session_dependency",
]


def session_dependency(name: str = "session") -> Callable[[HTTPConnection], Awaitable[Session]]:
    """A dependency giving the loaded session named ``name`` (HTTP routes and WebSockets)."""

    async def current_session(connection: HTTPConnection) -> Session:
        return await get_session(connection, name)

    return current_session


#: The loaded session named ``"session"``, as a route parameter: ``session: SessionDep``.
SessionDep = Annotated[Session, Depends(session_dependency())]
