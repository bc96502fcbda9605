"""A small Litestar app on jamsession-web: log in, see your devices, revoke one, log out everywhere.

Run it from the repository root with ``make example-litestar`` (or
``.venv/bin/python examples/litestar-app/app.py``), then open http://127.0.0.1:8000
and log in as ``ann`` or ``bob`` with the password ``wonderland``.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import os
from typing import Any
from urllib.parse import parse_qsl

from litestar import Litestar, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Response

import jamsession
from jamsession_web.litestar import JamSessionPlugin, Session, SessionConfig

# Sessions in a SQLite file, tokens and data encrypted, ending after 30 idle minutes.
# Without SESSION_KEY (from `jamsession keygen`) a fresh key is made, so sessions end at restart.
store = jamsession.open(
    "sqlite",
    path=os.environ.get("SESSIONS_DB", "sessions.db"),
    is_session_crypt=True,
    session_aes_secret=os.environ.get("SESSION_KEY") or jamsession.generate_key(),
    default_ttl=30 * 60,
    sliding_expiry=True,
)

_SALT = b"jamsession-example"
# Demo users; a real app keeps password hashes in its database.
USERS = {
    name: hashlib.scrypt(b"wonderland", salt=_SALT + name.encode(), n=2**14, r=8, p=1)
    for name in ("ann", "bob")
}


def password_ok(user: str, password: str) -> bool:
    expected = USERS.get(user)
    given = hashlib.scrypt(password.encode(), salt=_SALT + user.encode(), n=2**14, r=8, p=1)
    return expected is not None and hmac.compare_digest(expected, given)


async def form(request: Request[Any, Any, Any]) -> dict[str, str]:
    # URL-encoded forms, read as they came.
    return dict(parse_qsl((await request.body()).decode()))


def page(session: Session, body: str) -> Response[str]:
    flashes = "".join(f'<p class="{f.category}">{html.escape(f.message)}</p>' for f in session.pop_flashes())
    return Response(
        f"<!doctype html><title>jamsession example</title>{flashes}{body}", media_type="text/html"
    )


def post_button(session: Session, action: str, label: str, **fields: str) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">' for name, value in fields.items()
    )
    return (
        f'<form method="post" action="{action}">'
        f'<input type="hidden" name="csrf_token" value="{session.csrf_token}">{hidden}'
        f"<button>{label}</button></form>"
    )


def back_to(path: str) -> Redirect:
    return Redirect(path, status_code=303)


@get("/")
async def home(session: NamedDependency[Session]) -> Response[str]:
    if session.user_key is None:
        return page(
            session,
            '<h1>Log in</h1><form method="post" action="/login">'
            f'<input type="hidden" name="csrf_token" value="{session.csrf_token}">'
            '<input name="user" placeholder="ann"> <input name="password" type="password"> '
            "<button>Log in</button></form>",
        )
    session["visits"] = session.get("visits", 0) + 1
    return page(
        session,
        f'<h1 id="who">Hello, {html.escape(session.user_key)}</h1>'
        f'<p id="visits">Visits in this session: {session["visits"]}</p>'
        '<p><a href="/devices">Your devices</a></p>'
        + post_button(session, "/logout", "Log out")
        + post_button(session, "/logout-everywhere", "Log out everywhere"),
    )


@post("/login")
async def login(request: Request[Any, Any, Any], session: NamedDependency[Session]) -> Redirect:
    fields = await form(request)
    user = fields.get("user", "")
    if not password_ok(user, fields.get("password", "")):
        session.flash("Wrong user or password", "error")
        return back_to("/")
    await session.login(user)
    session.flash(f"Logged in as {user}", "success")
    return back_to("/")


@get("/devices")
async def devices(session: NamedDependency[Session]) -> Response[str] | Redirect:
    if session.user_key is None:
        return back_to("/")
    rows = "".join(
        f"<li>{html.escape(device.user_agent or 'unknown browser')}"
        f"{' <b>(this device)</b>' if device.current else ''} "
        + post_button(session, "/devices/revoke", "Log out this device", handle=device.handle)
        + "</li>"
        for device in await session.devices()
    )
    return page(session, f'<h1>Your devices</h1><ul id="devices">{rows}</ul><a href="/">Home</a>')


@post("/devices/revoke")
async def revoke(request: Request[Any, Any, Any], session: NamedDependency[Session]) -> Redirect:
    if await session.revoke((await form(request)).get("handle", "")):
        session.flash("That device is logged out", "success")
    return back_to("/devices" if session.user_key else "/")


@post("/logout")
async def logout(session: NamedDependency[Session]) -> Redirect:
    await session.logout()
    return back_to("/")


@post("/logout-everywhere")
async def logout_everywhere(session: NamedDependency[Session]) -> Redirect:
    await session.logout_everywhere()
    session.flash("Logged out on every device", "success")
    return back_to("/")


# The plugin adds the session middleware, opens the store at start-up and closes it at
# shutdown, and hands each handler its loaded session as the ``session`` dependency.
app = Litestar(
    route_handlers=[home, login, devices, revoke, logout, logout_everywhere],
    plugins=[JamSessionPlugin(SessionConfig(store, cookie_name="__Host-session"))],
)


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
