"""Errors of the web layer, all :class:`jamsession.JamSessionError` subclasses."""

from __future__ import annotations

from jamsession import JamSessionError


class WebSessionError(JamSessionError):
    """Base class of the web layer's errors."""


class SessionNotLoadedError(WebSessionError, RuntimeError):
    """The session was used before it was loaded.

    Load it first with ``await get_session(request)`` (or ``await session.load()``),
    or configure the route to load it before the handler runs
    (``SessionConfig(..., autoload=...)``).
    """


class ResponseStartedError(WebSessionError, RuntimeError):
    """A change that needs a new cookie was made after the response had started.

    ``login()``, ``logout()`` and friends send a ``Set-Cookie`` header, which can
    only go out with the response's first message (or a WebSocket's ``accept``).
    """


class SessionMiddlewareMissingError(WebSessionError, LookupError):
    """No session middleware of that name handled this request.

    Carries the ``name`` that was asked for.
    """

    def __init__(self, name: str, *, fix: str | None = None) -> None:
        if fix is None:
            fix = f"add SessionMiddleware(app, config=SessionConfig(store, name={name!r})) to the app"
        super().__init__(f"no session named {name!r} on this request: {fix}")
        self.name = name
