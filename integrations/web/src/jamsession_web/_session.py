"""``Session``: one request's session, loaded lazily, saved once at response start."""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import secrets
import time
from collections.abc import Callable, Collection, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jamsession import InvalidSessionKeyError, JamSessionNotFound
from jamsession_web._errors import ResponseStartedError, SessionNotLoadedError

if TYPE_CHECKING:
    from jamsession import SessionEntry
    from jamsession_web._config import SessionConfig

#: Keys the web layer keeps in the stored data beside the app's own; hidden from the mapping.
RESERVED_PREFIX = "_jamsession."
CSRF_KEY = RESERVED_PREFIX + "csrf"
FLASH_KEY = RESERVED_PREFIX + "flash"
DEVICE_KEY = RESERVED_PREFIX + "device"
#: Bytes of randomness in a CSRF secret.
_CSRF_BYTES = 32
#: How much of a User-Agent header is kept to describe a device.
_USER_AGENT_LIMIT = 256
#: Values a caller cannot change in place.
_IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes})


@dataclass(frozen=True, slots=True)
class Flash:
    """A flash message: shown once, on the next page that pops it."""

    message: str
    category: str = "message"


@dataclass(frozen=True, slots=True)
class Device:
    """One of a user's live sessions, for a "your devices" page.

    ``handle`` names the session without being a token: it logs no one in,
    so it can be put in a page or a form to :meth:`Session.revoke` it.
    ``current`` marks the session of the request that listed them.
    """

    handle: str
    created_at: float
    expires_at: float | None
    current: bool
    user_agent: str | None = field(default=None)


class Session(MutableMapping[str, Any]):
    """One request's session: a mapping of JSON-like values, plus login and CSRF.

    Made by the session middleware for each request and loaded on first use
    (``await session.load()``, or ``await get_session(request)`` in the adapters):
    a request that never uses its session makes no store call. Changes are saved
    once, when the response starts, and only when the serialized data differs
    from what was loaded; only the top-level keys that changed are written, so
    overlapping requests changing different keys both keep their changes.

    Keys starting with ``_jamsession.`` are the web layer's own (CSRF token,
    flash messages, device) and are not part of the mapping.

    .. versionadded:: 0.1
    """

    __slots__ = (
        "_baseline",
        "_committed",
        "_config",
        "_cookie",
        "_data",
        "_entry",
        "_expires_at",
        "_failed",
        "_handle_watcher",
        "_live",
        "_loaded",
        "_send_cookie",
        "_user_agent",
        "_user_key",
    )

    def __init__(self, config: SessionConfig, cookie: str | None, *, user_agent: str | None = None) -> None:
        self._config = config
        self._cookie = cookie  # the token the client sent, if any
        self._user_agent = user_agent
        self._loaded = False
        self._committed = False
        self._failed = False  # answered 5xx: nothing is saved
        self._entry: SessionEntry | None = None  # the live session as loaded, for compare-and-set
        self._live: str | None = None  # the token of the live session behind this handle
        self._data: dict[str, Any] = {}
        # The data as loaded or last saved, serialized at the first access that could change it
        # (an assignment, or handing out a mutable value); None while nothing could have.
        self._baseline: bytes | None = None
        self._user_key: str | None = None
        self._expires_at: float | None = None
        # None: leave the client's cookie alone; "": expire it; a token: hand it out.
        self._send_cookie: str | None = None
        # An adapter that mirrors the handle where its framework keeps a session ID.
        self._handle_watcher: Callable[[str | None], None] | None = None

    def __repr__(self) -> str:
        # Never the token, never the data.
        state = "unloaded" if not self._loaded else ("live" if self._live else "new")
        return f"<Session {self._config.name!r} {state}>"

    # -- loading -----------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """Whether the session has been loaded."""
        return self._loaded

    async def load(self) -> Session:
        """Read the session from the store, once; later calls return at once.

        A missing, foreign, tampered, expired or revoked cookie gives an empty,
        new session: it is never adopted, and the first write makes a new token.
        """
        if self._loaded:
            return self
        cookie = self._cookie
        if cookie is not None:
            entry = await self._config.store.load(cookie)
            if self._config.on_loaded is not None:
                outcome = "not_found" if entry is None else "found"
                self._config.on_loaded(store=self._config.store, outcome=outcome)
            if entry is not None and not self._loaded:
                self._entry = entry
                self._live = cookie
                self._data = entry.data
                key = entry.session_key
                self._user_key = None if key == self._config.anonymous_key else key
                self._expires_at = entry.expires_at
        self._loaded = True
        return self

    def _require_loaded(self) -> None:
        if not self._loaded:
            raise SessionNotLoadedError(
                f"session {self._config.name!r} is not loaded: await get_session(request) "
                "(or session.load()) first, or list the route in SessionConfig(autoload=...)"
            )

    # -- the mapping ---------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        self._require_loaded()
        if isinstance(key, str) and key.startswith(RESERVED_PREFIX):
            raise KeyError(key)
        value = self._data[key]
        if type(value) not in _IMMUTABLE and self._baseline is None:
            # The caller may change it in place: remember the data as it was.
            self._baseline = self._dumps(self._data)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self._require_loaded()
        _check_key(key)
        self._touch()
        self._data[key] = value

    def __delitem__(self, key: str) -> None:
        self._require_loaded()
        if isinstance(key, str) and key.startswith(RESERVED_PREFIX):
            raise KeyError(key)
        self._touch()
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        self._require_loaded()
        return (key for key in list(self._data) if not key.startswith(RESERVED_PREFIX))

    def __len__(self) -> int:
        self._require_loaded()
        return sum(1 for key in self._data if not key.startswith(RESERVED_PREFIX))

    def __bool__(self) -> bool:
        """Whether the session holds anything: a logged-in user or any of the app's keys."""
        return self.user_key is not None or len(self) > 0

    def __contains__(self, key: object) -> bool:
        self._require_loaded()
        return isinstance(key, str) and not key.startswith(RESERVED_PREFIX) and key in self._data

    def clear(self) -> None:
        """Remove the app's keys (the CSRF token and flashes stay)."""
        self._require_loaded()
        self._touch()
        for key in [key for key in self._data if not key.startswith(RESERVED_PREFIX)]:
            del self._data[key]

    # -- who is logged in ------------------------------------------------------------

    @property
    def user_key(self) -> str | None:
        """The logged-in user's key (the store's session key); ``None`` when anonymous."""
        self._require_loaded()
        return self._user_key

    @property
    def handle(self) -> str | None:
        """The stored session's stable, non-secret handle, as loaded; ``None`` when there is none.

        It names the session (in logs, in a devices page) without being a token:
        it logs no one in. A session logged into during this request has its new
        handle from the next request on.
        """
        self._require_loaded()
        return None if self._entry is None else self._entry.handle

    @property
    def is_new(self) -> bool:
        """Whether no stored session is behind this one (yet)."""
        self._require_loaded()
        return self._live is None

    async def login(self, user_key: str, *, keep: Collection[str] | bool = ()) -> None:
        """Log ``user_key`` in: a new token, always, so a planted one is worthless.

        The session moves to ``user_key`` under a new ID in one atomic store
        step; the old token reads ``None`` from then on. Only the keys named in
        ``keep`` (``True``: all of them) come along; pending flash messages
        always do. The CSRF token is replaced by a new one.

        Args:
            user_key: The user's stable ID (not a name or an email that can change).
            keep: The app's keys to carry over from the anonymous session.
        """
        await self.load()
        if self._committed:
            raise ResponseStartedError(
                "login() after the response started (a WebSocket after accept, a streaming body): "
                "the new session's cookie can no longer reach the client, whose old cookie would "
                "then find no session. Log in over HTTP (a form post or a fetch() to a login "
                "route), then open the WebSocket again"
            )
        if not isinstance(user_key, str) or not user_key or user_key == self._config.anonymous_key:
            raise InvalidSessionKeyError(
                f"user_key must be a non-empty str other than the anonymous key, not {user_key!r}"
            )
        data = self._data
        if keep is True:
            kept = {key: value for key, value in data.items() if not key.startswith(RESERVED_PREFIX)}
        elif keep is False:
            kept = {}
        else:
            if isinstance(keep, str):
                keep = (keep,)
            kept = {key: data[key] for key in keep if key in data and not key.startswith(RESERVED_PREFIX)}
        if FLASH_KEY in data:
            kept[FLASH_KEY] = data[FLASH_KEY]
        kept[CSRF_KEY] = _new_csrf_token()
        if self._user_agent:
            kept[DEVICE_KEY] = self._user_agent[:_USER_AGENT_LIMIT]
        store = self._config.store
        now = _now(store)
        token: str | None = None
        if self._live is not None:
            try:
                token = await store.rework(self._live, session_key=user_key, data=kept)
            except JamSessionNotFound:
                token = None  # ended meanwhile: a fresh session is as good
        if token is None:
            token = await store.create(user_key, kept)
            self._expires_at = self._config.new_expiry(now)
        self._live = token
        self._set_entry(None)
        self._data = kept
        self._baseline = self._dumps(kept)
        self._user_key = user_key
        self._send_cookie = token

    async def logout(self) -> None:
        """End this session in the store and expire the cookie; the handle is then empty.

        After the response started (a WebSocket after ``accept``) the session
        still ends in the store; the client's cookie can no longer be expired,
        but it names no session any more, so it logs no one in.
        """
        await self.load()
        if self._live is not None:
            await self._config.store.delete(self._live)
        self._forget()

    async def logout_everywhere(self) -> None:
        """End every session of the logged-in user, on every client, this one included.

        Works after the response started too, as :meth:`logout` does.
        """
        await self.load()
        if self._user_key is not None:
            await self._config.store.clear(self._user_key)
        elif self._live is not None:
            await self._config.store.delete(self._live)
        self._forget()

    def _forget(self) -> None:
        self._live = None
        self._set_entry(None)
        self._data = {}
        self._baseline = None
        self._user_key = None
        self._expires_at = None
        self._send_cookie = "" if (self._cookie is not None or self._send_cookie) else None

    # -- devices -------------------------------------------------------------------------

    async def devices(self) -> list[Device]:
        """The logged-in user's live sessions, oldest first; empty when anonymous."""
        await self.load()
        if self._user_key is None:
            return []
        own = await self._own_handle()
        infos = await self._config.store.list_sessions(self._user_key)
        return [
            Device(
                info.handle,
                info.created_at,
                info.expires_at,
                info.handle == own,
                _user_agent_of(info.data),
            )
            for info in infos
        ]

    async def revoke(self, handle: str) -> bool:
        """End the user's session listed under ``handle``; ``False`` if there was none.

        Revoking this very session logs this client out too.
        """
        await self.load()
        if self._user_key is None or not isinstance(handle, str):
            return False
        own = await self._own_handle()
        ended: bool = await self._config.store.revoke(self._user_key, handle)
        if ended and handle == own:
            self._forget()
        return ended

    async def _own_handle(self) -> str | None:
        if self._entry is None and self._live is not None:
            # Just logged in: the handle of the new session is read once.
            self._set_entry(await self._config.store.load(self._live))
        return None if self._entry is None else self._entry.handle

    def _set_entry(self, entry: SessionEntry | None) -> None:
        # Where the handle changes; the session as loaded or saved keeps its handle.
        self._entry = entry
        if self._handle_watcher is not None:
            self._handle_watcher(None if entry is None else entry.handle)

    def _watch_handle(self, watcher: Callable[[str | None], None]) -> None:
        """Call ``watcher`` with the handle now, and again whenever login, logout or revoke changes it."""
        self._handle_watcher = watcher
        watcher(self.handle)

    # -- flash messages and CSRF -------------------------------------------------------

    def flash(self, message: str, category: str = "message") -> None:
        """Keep ``message`` for the next page that calls :meth:`pop_flashes`."""
        self._require_loaded()
        self._touch()
        pending = self._data.get(FLASH_KEY)
        self._data[FLASH_KEY] = [*(pending or ()), [str(category), str(message)]]

    def pop_flashes(self) -> list[Flash]:
        """The pending flash messages, oldest first, removed from the session."""
        self._require_loaded()
        if FLASH_KEY not in self._data:
            return []
        self._touch()
        pending = self._data.pop(FLASH_KEY, None) or ()
        return [Flash(str(message), str(category)) for category, message in pending]

    @property
    def csrf_token(self) -> str:
        """A CSRF token for this session, for forms and the ``X-CSRF-Token`` header.

        Each read gives a new spelling of the session's secret: the secret
        XOR a fresh random pad, with the pad in front (as Django does). A page
        that is compressed and sent over TLS then never repeats the same
        token, which defeats BREACH-style attacks guessing it byte by byte
        from the compressed size. Every spelling is accepted until the
        secret changes at login. Making the first one stores the session, so
        a login form can be posted back.
        """
        self._require_loaded()
        secret = _secret_bytes(self._data.get(CSRF_KEY))
        if secret is None:
            self._touch()
            secret = secrets.token_bytes(_CSRF_BYTES)
            self._data[CSRF_KEY] = _b64encode(secret)
        return _mask(secret)

    def check_csrf(self, provided: str | None) -> bool:
        """Whether ``provided`` is a spelling of this session's CSRF token (in constant time).

        Masked tokens, as :attr:`csrf_token` gives them, are accepted, and so
        is the bare secret, as tokens were written before they were masked.
        """
        self._require_loaded()
        secret = _secret_bytes(self._data.get(CSRF_KEY))
        if secret is None or not provided:
            return False
        candidate = _unmask(provided, len(secret))
        return candidate is not None and hmac.compare_digest(secret, candidate)

    # -- saving ----------------------------------------------------------------------------

    def _touch(self) -> None:
        if self._baseline is None:
            if self._committed and self._live is None:
                raise ResponseStartedError(
                    f"session {self._config.name!r} changed after the response started (a WebSocket "
                    "after accept, a streaming body), but no stored session is behind it and its "
                    "cookie can no longer be sent: make the change before accept() or over HTTP"
                )
            self._baseline = self._dumps(self._data)

    def _dumps(self, data: dict[str, Any]) -> bytes:
        return self._config.store.serializer.dumps(data)

    async def commit(self, status: int) -> list[tuple[bytes, bytes]]:
        """Save changes and return the response headers to add; called once, at response start.

        Nothing is saved for a status of 500 or more, though a token already
        changed by ``login()`` or ``logout()`` is still sent, since the store
        has already changed.
        """
        if self._committed or not self._loaded:
            self._committed = True
            return []
        self._committed = True
        if status < 500:
            await self._save(new_cookie_allowed=True)
        else:
            self._failed = True
        return self._headers()

    async def save(self) -> None:
        """Save the changes made since the last save, now; a no-op when there are none.

        Changes made after the response started (a WebSocket after ``accept``,
        a streaming body) are saved by the middleware when the handler
        returns; a long-lived WebSocket calls this to save them as it goes::

            await websocket.accept()
            async for message in websocket.iter_json():
                session["last_seen"] = message["at"]
                await session.save()

        Only a stored session is saved this way: one that is new, as after
        ``logout()``, would need a cookie (changing it after the response
        started raises :class:`~jamsession_web.ResponseStartedError`).
        Nothing is saved after a response with a status of 500 or more.
        """
        if self._loaded and not self._failed:
            await self._save(new_cookie_allowed=False)

    async def _save(self, *, new_cookie_allowed: bool) -> None:
        baseline = self._baseline
        if baseline is None:
            return  # nothing could have changed
        data = self._data
        current = self._dumps(data)
        if current == baseline or (self._live is None and not data):
            return
        store = self._config.store
        if self._live is not None:
            if not data and self._user_key is None:
                # Emptied anonymous session: nothing worth keeping.
                await store.delete(self._live)
                self._forget()
                return
            before = self._config.store.serializer.loads(baseline)
            changes = {key: value for key, value in data.items() if self._differs(before, key, value)}
            removed = [key for key in before if key not in data]
            try:
                entry = await store.patch(self._live, changes, removed, expected=self._entry)
            except JamSessionNotFound:
                # Ended by another request meanwhile (logout, revoke): never re-created.
                self._forget()
                return
            self._entry = entry
            self._saved(current)
            if self._config.on_saved is not None:
                self._config.on_saved(store=store, outcome="updated")
        elif new_cookie_allowed:
            now = _now(store)
            token = await store.create(self._config.anonymous_key, data)
            self._live = token
            self._saved(current)
            self._expires_at = self._config.new_expiry(now)
            self._send_cookie = token
            if self._config.on_saved is not None:
                self._config.on_saved(store=store, outcome="created")

    def _saved(self, current: bytes) -> None:
        # What was saved is the new baseline, to compare against at the next
        # save; none is needed while every value is immutable, since a change
        # can then only come through the mapping, which takes a new one.
        immutable = _IMMUTABLE
        if all(type(value) in immutable for value in self._data.values()):
            self._baseline = None
        else:
            self._baseline = current

    def _differs(self, before: dict[str, Any], key: str, value: Any) -> bool:
        if key not in before:
            return True
        old = before[key]
        if type(old) is not type(value) or old != value:
            return True
        if isinstance(value, (str, int, float, bool)) or value is None:
            return False
        # Equal but maybe not alike (1 and 1.0 inside a list): the serialized bytes decide.
        return self._dumps({key: old}) != self._dumps({key: value})

    def _headers(self) -> list[tuple[bytes, bytes]]:
        config = self._config
        headers = [(b"vary", b"Cookie")]
        cookie = self._send_cookie
        if cookie is None and self._entry is not None and self._entry.needs_reissue and self._live:
            # Read under an older key: the same session, its token under the newest key.
            store = config.store
            cookie = store.__encode_session_id_if_needed__(store.__decode_session_id_if_needed__(self._live))
            self._live = cookie
        if cookie:
            max_age = config.cookie_max_age(self._expires_at, _now(config.store))
            headers.append((b"set-cookie", config.set_cookie(cookie, max_age).encode("latin-1")))
        elif cookie == "":
            headers.append((b"set-cookie", config.expire_cookie().encode("latin-1")))
        return headers


def _check_key(key: object) -> None:
    if not isinstance(key, str):
        raise TypeError(f"session keys must be str, not {type(key).__name__}")
    if key.startswith(RESERVED_PREFIX):
        raise KeyError(f"keys starting with {RESERVED_PREFIX!r} are reserved for the web layer: {key!r}")


def _new_csrf_token() -> str:
    """A new CSRF secret, as the session stores it: 32 random bytes, URL-safe base64."""
    return _b64encode(secrets.token_bytes(_CSRF_BYTES))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):  # ValueError: not ASCII
        return None


def _secret_bytes(stored: object) -> bytes | None:
    """The CSRF secret's bytes, or ``None`` when the session holds none (or not one we made)."""
    if not isinstance(stored, str):
        return None
    secret = _b64decode(stored)
    return secret if secret is not None and len(secret) == _CSRF_BYTES else None


def _mask(secret: bytes) -> str:
    """``pad || (pad XOR secret)``, URL-safe base64: a new spelling of ``secret`` every time."""
    pad = os.urandom(len(secret))
    masked = (int.from_bytes(pad) ^ int.from_bytes(secret)).to_bytes(len(secret))
    return _b64encode(pad + masked)


def _unmask(token: str, size: int) -> bytes | None:
    """The secret a token spells, or ``None`` when it cannot be a token (never an exception)."""
    if len(token) > 4 * size:
        return None  # longer than any spelling: not worth decoding
    raw = _b64decode(token)
    if raw is None:
        return None
    if len(raw) == size:
        return raw  # the bare secret, as tokens were before masking
    if len(raw) != 2 * size:
        return None
    pad, masked = raw[:size], raw[size:]
    return (int.from_bytes(pad) ^ int.from_bytes(masked)).to_bytes(size)


def _now(store: Any) -> float:
    clock = getattr(store, "clock", None)
    return float(clock()) if callable(clock) else time.time()


def _user_agent_of(data: Any) -> str | None:
    value = data.get(DEVICE_KEY) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None
