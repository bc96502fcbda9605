"""A drop-in storage for aiohttp-session: an app on it moves to jamsession by changing one line.

Replace the storage given to ``aiohttp_session.setup``; the app's handlers,
``aiohttp_session.get_session`` and ``new_session``, and aiohttp-security's
``SessionIdentityPolicy`` keep working::

    import jamsession
    import aiohttp_session
    from jamsession_web.aiohttp_session import JamSessionStorage

    store = jamsession.open("sqlite", path="sessions.db", default_ttl=86400)
    # was: aiohttp_session.setup(app, EncryptedCookieStorage(secret_key))
    aiohttp_session.setup(app, JamSessionStorage(store))

What changes for the app: the data lives server-side (the cookie holds an
opaque token); the cookie is ``Secure``, ``HttpOnly`` and ``SameSite=Lax`` by
default; ``session.invalidate()`` deletes the session instead of storing
``{}``; a new token is issued whenever the logged-in identity changes (login
and logout through aiohttp-security) or ``new_session()`` is called; only the
keys a request changed are written, so overlapping requests keep each other's
changes; nothing is saved for a 5xx answer. aiohttp-session's own middleware
still decides *when* to save, and it skips streaming, file and WebSocket
responses: :func:`jamsession_web.aiohttp.setup` covers those.

.. versionadded:: 0.1
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from aiohttp import web
from aiohttp_session import AbstractStorage, Session

from jamsession import BaseAsyncSessionModule, JamSessionNotFound
from jamsession_web._config import SessionConfig
from jamsession_web._cookies import find_cookie
from jamsession_web._session import _now

if TYPE_CHECKING:
    from jamsession import SessionEntry

__all__ = ["JamSessionStorage"]

_LOADED: Any = web.RequestKey("loaded", dict) if hasattr(web, "RequestKey") else "jamsession.loaded"


class _Loaded:
    __slots__ = ("baseline", "cookie", "entry")

    def __init__(self, cookie: str | None, entry: SessionEntry | None, baseline: bytes | None) -> None:
        self.cookie = cookie
        self.entry = entry
        self.baseline = baseline


class JamSessionStorage(AbstractStorage):
    """An ``aiohttp_session.AbstractStorage`` that keeps sessions in a jamsession store.

    Args:
        store: The session store, for example ``jamsession.open("sqlite", path="sessions.db")``;
            it must support entries (every built-in backend does).
        cookie_name: The cookie's name (aiohttp-session's default).
        domain: The cookie's ``Domain``; ``None`` means this host only.
        max_age: The cookie's ``Max-Age`` and the longest a session is honoured,
            in seconds; ``None`` follows the store's ``default_ttl``.
        path: The cookie's ``Path``.
        secure: Send the cookie over HTTPS only (browsers count ``http://localhost`` as secure).
        httponly: Hide the cookie from page scripts.
        samesite: ``"Lax"``, ``"Strict"`` or ``"None"``; always sent.
        identity_key: The session key under which aiohttp-security's
            ``SessionIdentityPolicy`` keeps the logged-in identity. Its value is
            the store's session key of the session, so a change of it (login,
            logout) moves the session under a new token, and
            ``store.clear(identity)`` logs that user out everywhere.
        anonymous_key: The store's session key of sessions with no identity.

    Raises:
        jamsession.ConfigError: A setting is invalid (the same checks as
            :class:`~jamsession_web.SessionConfig`).

    Example::

        aiohttp_session.setup(app, JamSessionStorage(jamsession.open("memory", default_ttl=3600)))

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        store: BaseAsyncSessionModule,
        *,
        cookie_name: str = "AIOHTTP_SESSION",
        domain: str | None = None,
        max_age: int | None = None,
        path: str = "/",
        secure: bool = True,
        httponly: bool = True,
        samesite: str = "Lax",
        identity_key: str = "AIOHTTP_SECURITY",
        anonymous_key: str = "",
    ) -> None:
        self._config = SessionConfig(
            store,
            cookie_name=cookie_name,
            path=path,
            domain=domain,
            secure=secure,
            http_only=httponly,
            same_site=cast(Any, str(samesite).lower()),
            csrf=False,
            anonymous_key=anonymous_key,
        )
        super().__init__(
            cookie_name=cookie_name,
            domain=domain,
            max_age=max_age,
            path=path,
            secure=secure,
            httponly=httponly,
            samesite=samesite,
        )
        self._identity_key = identity_key

    def __repr__(self) -> str:
        return f"JamSessionStorage({self._config.store!r}, cookie_name={self.cookie_name!r})"

    @property
    def store(self) -> BaseAsyncSessionModule:
        """The jamsession store the sessions live in."""
        return cast(BaseAsyncSessionModule, self._config.store)

    def load_cookie(self, request: web.Request) -> str | None:
        """The session token the request carries, if any."""
        header = request.headers.get("Cookie")
        return None if header is None else find_cookie(header, self.cookie_name)

    async def load_session(self, request: web.Request) -> Session:
        """Read the request's session; a missing, foreign, expired or revoked token gives a new one."""
        store = self._config.store
        cookie = self.load_cookie(request)
        entry = None if cookie is None else await self._load(cookie)
        if entry is None:
            request[_LOADED] = _Loaded(cookie, None, None)
            return Session(None, data=None, new=True, max_age=self.max_age)
        # The data as loaded, to find what the request changed (nested values too).
        request[_LOADED] = _Loaded(cookie, entry, store.serializer.dumps(entry.data))
        data: Any = {"created": int(entry.created_at), "session": entry.data}
        return Session(entry.handle, data=data, new=False, max_age=self.max_age)

    async def save_session(
        self, request: web.Request, response: web.StreamResponse, session: Session
    ) -> None:
        """Write what the request changed and set or expire the cookie; nothing for a 5xx answer."""
        if response.status >= 500:
            return
        store = self._config.store
        loaded = request.get(_LOADED)
        if loaded is None:  # new_session() without a get_session() first
            cookie = self.load_cookie(request)
            loaded = _Loaded(cookie, None if cookie is None else await self._load(cookie), None)
        entry = loaded.entry
        data = dict(session)
        key = self._session_key(data)
        if not data:
            # invalidate(), or every key removed: the session ends, nothing is written.
            if entry is not None:
                await store.delete(cast(str, loaded.cookie))
            if loaded.cookie is not None:
                self._expire(response)
            return
        if entry is None:
            self._hand_out(response, await store.create(key, data), None)
            self._saved("created")
            return
        token = cast(str, loaded.cookie)
        if session.new or key != entry.session_key:
            # A new session, or another identity (login, logout): a new token, in one atomic step.
            try:
                fresh = await store.rework(token, session_key=key, data=data)
            except JamSessionNotFound:
                self._expire(response)  # ended meanwhile (logged out elsewhere): never re-created
                return
            self._hand_out(response, fresh, entry.expires_at)
            self._saved("updated")
            return
        baseline = loaded.baseline
        before: dict[str, Any] = entry.data if baseline is None else store.serializer.loads(baseline)
        changes = {name: value for name, value in data.items() if name not in before or before[name] != value}
        removed = [name for name in before if name not in data]
        if not changes and not removed:
            return
        try:
            await store.patch(token, changes, removed, expected=entry)
        except JamSessionNotFound:
            self._expire(response)
        else:
            self._saved("updated")

    async def _load(self, cookie: str) -> SessionEntry | None:
        config = self._config
        entry = await config.store.load(cookie)
        if config.on_loaded is not None:
            config.on_loaded(store=config.store, outcome="not_found" if entry is None else "found")
        return entry

    def _saved(self, outcome: str) -> None:
        config = self._config
        if config.on_saved is not None:
            config.on_saved(store=config.store, outcome=outcome)

    def _session_key(self, data: dict[str, Any]) -> str:
        identity = data.get(self._identity_key)
        if isinstance(identity, str) and identity and identity != self._config.anonymous_key:
            return identity
        return self._config.anonymous_key

    def _hand_out(self, response: web.StreamResponse, token: str, expires_at: float | None) -> None:
        config = self._config
        if self.max_age is not None:
            max_age: int | None = self.max_age
        else:
            now = _now(config.store)
            max_age = config.cookie_max_age(expires_at if expires_at else config.new_expiry(now), now)
        response.headers.add("Set-Cookie", config.set_cookie(token, max_age))

    def _expire(self, response: web.StreamResponse) -> None:
        response.headers.add("Set-Cookie", self._config.expire_cookie())
