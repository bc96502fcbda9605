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

    A ``Set-Cookie`` header can only go out with the response's first message,
    or a WebSocket's ``accept``. After it, changes to a stored session are
    still saved, and ``logout()`` still ends the session in the store (the
    client's cookie then names no session), but two things would need a new
    cookie and raise this instead:

    * ``login()``: it always moves the session to a new token, so the client's
      cookie would name a dead session and the login would be lost. Log in
      over HTTP, then open the WebSocket again.
    * changing a session that has no stored session behind it (a first
      visit, or after ``logout()``): nothing could carry its token to the
      client. Make the change before ``accept()``.
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
