"""A small aiohttp app on jamsession-web: log in, see your devices, revoke one, log out everywhere.

Run it from the repository root with ``make example-aiohttp`` (or
``.venv/bin/python examples/aiohttp-app/app.py``), then open http://127.0.0.1:8000
and log in as ``ann`` or ``bob`` with the password ``wonderland``.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import os

from aiohttp import web

import jamsession
from jamsession_web.aiohttp import Session, SessionConfig, get_session, setup

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


async def form(request: web.Request) -> dict[str, str]:
    # The CSRF check has parsed the form already; aiohttp hands back the same fields.
    return {name: value for name, value in (await request.post()).items() if isinstance(value, str)}


def page(session: Session, body: str) -> web.Response:
    flashes = "".join(f'<p class="{f.category}">{html.escape(f.message)}</p>' for f in session.pop_flashes())
    return web.Response(
        text=f"<!doctype html><title>jamsession example</title>{flashes}{body}", content_type="text/html"
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


routes = web.RouteTableDef()


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    session = await get_session(request)
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


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    session = await get_session(request)
    fields = await form(request)
    user = fields.get("user", "")
    if not password_ok(user, fields.get("password", "")):
        session.flash("Wrong user or password", "error")
        raise web.HTTPSeeOther("/")
    await session.login(user)
    session.flash(f"Logged in as {user}", "success")
    raise web.HTTPSeeOther("/")


@routes.get("/devices")
async def devices(request: web.Request) -> web.Response:
    session = await get_session(request)
    if session.user_key is None:
        raise web.HTTPSeeOther("/")
    rows = "".join(
        f"<li>{html.escape(device.user_agent or 'unknown browser')}"
        f"{' <b>(this device)</b>' if device.current else ''} "
        + post_button(session, "/devices/revoke", "Log out this device", handle=device.handle)
        + "</li>"
        for device in await session.devices()
    )
    return page(session, f'<h1>Your devices</h1><ul id="devices">{rows}</ul><a href="/">Home</a>')


@routes.post("/devices/revoke")
async def revoke(request: web.Request) -> web.Response:
    session = await get_session(request)
    if await session.revoke((await form(request)).get("handle", "")):
        session.flash("That device is logged out", "success")
    raise web.HTTPSeeOther("/devices" if session.user_key else "/")


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    await (await get_session(request)).logout()
    raise web.HTTPSeeOther("/")


@routes.post("/logout-everywhere")
async def logout_everywhere(request: web.Request) -> web.Response:
    session = await get_session(request)
    await session.logout_everywhere()
    session.flash("Logged out on every device", "success")
    raise web.HTTPSeeOther("/")


app = web.Application()
app.add_routes(routes)
# Opens the store at start-up and closes it at clean-up.
setup(app, SessionConfig(store, cookie_name="__Host-session"))


if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
