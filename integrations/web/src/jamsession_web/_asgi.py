"""The ASGI session middleware: the engine wired into any ASGI app (Starlette, FastAPI, Litestar).

Pure ASGI: it wraps ``send`` to save the session and add its headers to the
first message of the response (``http.response.start`` or ``websocket.accept``),
so streaming and file responses are covered, and the body is never buffered.
Changes made after that message (a WebSocket after ``accept``) are saved to
the store when the handler returns; no cookie can be sent any more then.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from jamsession_web._config import SessionConfig
from jamsession_web._cookies import find_cookie
from jamsession_web._session import Session

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Where the sessions of a request are kept in its scope, by name.
SCOPE_KEY = "jamsession"

_FORBIDDEN = b"CSRF token missing or incorrect"
_FORMS = (b"application/x-www-form-urlencoded", b"multipart/form-data")


class SessionMiddleware:
    """Gives each HTTP request and WebSocket a :class:`~jamsession_web.Session`.

    Args:
        app: The ASGI app to wrap.
        config: The session's :class:`~jamsession_web.SessionConfig`.

    Several can be stacked, one per named session (different cookies and paths).

    .. versionadded:: 0.1
    """

    def __init__(self, app: ASGIApp, config: SessionConfig) -> None:
        if not isinstance(config, SessionConfig):
            raise TypeError(f"config must be a SessionConfig, not {config!r}")
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        config = self.config
        cookie, user_agent = _read_headers(scope["headers"], config.cookie_name)
        session = Session(config, cookie, user_agent=user_agent)
        sessions = scope.get(SCOPE_KEY)
        if sessions is None:
            sessions = scope[SCOPE_KEY] = {}
        sessions[config.name] = session
        if config.name == "session":
            scope["session"] = session  # request.session, for libraries that use it
        path = scope.get("path", "")
        if config.autoloads(path):
            await session.load()
        if kind == "http" and config.csrf_applies(scope["method"], path):
            allowed, receive = await _check_csrf(config, session, scope, receive)
            if not allowed:
                await _forbid(send)
                return
        elif kind == "websocket" and config.csrf and not _same_origin(config, scope["headers"]):
            # Browsers send cookies with any site's WebSocket handshakes, and SameSite
            # does not cover them: a socket opened from another site is refused (HTTP 403).
            await send({"type": "websocket.close", "code": 1008})
            return

        async def send_with_session(message: Message) -> None:
            message_type = message["type"]
            if message_type in ("http.response.start", "websocket.accept"):
                added = await session.commit(message.get("status", 200))
                if added:
                    message = dict(message)
                    message["headers"] = _merge(message.get("headers") or [], added)
            await send(message)

        await self.app(scope, receive, send_with_session)
        # Changes made after the response started (a WebSocket after accept, a
        # streaming body) to a stored session: saved once the handler is done.
        await session.save()


def _read_headers(headers: Any, cookie_name: str) -> tuple[str | None, str | None]:
    cookie = user_agent = None
    for name, value in headers:
        if name == b"cookie":
            if cookie is None:
                cookie = find_cookie(value.decode("latin-1"), cookie_name)
        elif name == b"user-agent":
            user_agent = value.decode("latin-1")
    return cookie, user_agent


def _same_origin(config: SessionConfig, headers: Any) -> bool:
    origin = host = None
    for name, value in headers:
        if name == b"origin":
            origin = value.decode("latin-1")
        elif name == b"host":
            host = value.decode("latin-1")
    if origin is None:
        return True  # not a browser: no ambient cookie to abuse
    if origin in config.trusted_origins:
        return True
    return host is not None and origin.partition("://")[2] == host


def _merge(headers: Any, added: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    merged = list(headers)
    for name, value in added:
        if name == b"vary":
            for index, (existing, current) in enumerate(merged):
                if existing.lower() == b"vary":
                    if b"cookie" not in current.lower() and current.strip() != b"*":
                        merged[index] = (existing, current + b", " + value)
                    break
            else:
                merged.append((name, value))
        else:
            merged.append((name, value))
    return merged


async def _forbid(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", b"%d" % len(_FORBIDDEN)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _FORBIDDEN})


async def _check_csrf(
    config: SessionConfig, session: Session, scope: Scope, receive: Receive
) -> tuple[bool, Receive]:
    """Whether the request carries the session's CSRF token, and the ``receive`` to go on with.

    The token comes from the configured header, or from the form field of a
    URL-encoded or multipart body; a body read to find it is replayed to the app.
    """
    provided = None
    content_type = b""
    header = config.csrf_header.encode("latin-1")
    for name, value in scope["headers"]:
        if name == header:
            provided = value.decode("latin-1")
        elif name == b"content-type":
            content_type = value.lower()
    if provided is None and content_type.startswith(_FORMS):
        provided, receive = await _token_from_form(config, content_type, receive)
    await session.load()
    return session.check_csrf(provided), receive


async def _token_from_form(
    config: SessionConfig, content_type: bytes, receive: Receive
) -> tuple[str | None, Receive]:
    multipart = content_type.startswith(b"multipart/")
    field = config.csrf_field.encode("latin-1")
    pattern = (
        re.compile(
            rb'content-disposition:[^\r\n]*;\s*name="'
            + re.escape(field)
            + rb'"[^\r\n]*\r\n(?:[^\r\n]+\r\n)*\r\n(.*?)\r\n',
            re.IGNORECASE | re.DOTALL,
        )
        if multipart
        else None
    )
    buffered: list[Message] = []
    body = b""
    more = True
    token: str | None = None
    while more and len(body) < config.csrf_body_limit:
        message = await receive()
        buffered.append(message)
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if pattern is not None:
            found = pattern.search(body)
            if found is not None:
                token = found.group(1).decode("utf-8", "replace")
                break
    if pattern is None and not more:
        for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            if key == config.csrf_field:
                token = value
                break

    async def replay() -> Message:
        if buffered:
            return buffered.pop(0)
        return await receive()

    return token, replay
