"""``SessionConfig``: every setting of one kind of session, in one object."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from typing import Any, Literal, cast

from jamsession import BaseAsyncSessionModule, ConfigError, hook_caller
from jamsession_web._cookies import is_cookie_name, set_cookie_value
from jamsession_web._store import EntryStore

#: Browsers cap a cookie's lifetime at 400 days; a longer Max-Age is cut to it.
BROWSER_MAX_AGE = 400 * 24 * 3600

_SAME_SITE = ("lax", "strict", "none")


class SessionConfig:
    """The settings of one kind of session (its store, cookie, CSRF and loading rules).

    Every setting lives on the instance: two apps, or two named sessions in one
    app, each have their own config and share nothing.

    Args:
        store: The session store, for example ``jamsession.open("sqlite", path="sessions.db")``.
            It must support entries (``store.supports_entries``): ``load``, ``patch``,
            ``rework(..., session_key=, data=)``, handles and ``revoke``.
        cookie_name: The cookie's name. A ``__Host-`` prefix pins the cookie to
            this host and path ``/`` (it needs ``secure=True``, ``path="/"`` and no
            ``domain``); ``__Secure-`` needs ``secure=True``.
        name: The session's name on the request, for :func:`get_session` in the
            adapters. The session named ``"session"`` is also ``request.session``.
        path: The cookie's ``Path``.
        domain: The cookie's ``Domain``; ``None`` (the default) means this host only.
        secure: Send the cookie over HTTPS only. Browsers treat ``http://localhost``
            and ``http://127.0.0.1`` as secure, so local development works.
        http_only: Hide the cookie from page scripts.
        same_site: ``"lax"`` (the default), ``"strict"`` or ``"none"`` (needs ``secure``).
        partitioned: Add ``Partitioned`` (CHIPS), for sessions inside third-party frames.
        session_only: Send no ``Max-Age``: the browser drops the cookie when it closes.
            Otherwise ``Max-Age`` follows the store's expiry of the session.
        csrf: Refuse unsafe requests (``POST``, ``PUT``, ``PATCH``, ``DELETE``) that do
            not carry the session's CSRF token, with 403.
        csrf_header: The request header that may carry the token.
        csrf_field: The form field (URL-encoded or multipart) that may carry the token.
        csrf_exempt: Path prefixes the CSRF check skips (webhooks, for example).
        trusted_origins: Origins (``"https://app.example"``) besides this host's whose
            WebSocket handshakes are accepted when ``csrf`` is on; others are refused.
        csrf_body_limit: How many bytes of a form body are read to find the token.
        autoload: Load the session before the handler runs, so ``request.session``
            works at once: ``True`` for every route, or a collection of path prefixes.
        anonymous_key: The store's session key of sessions nobody has logged into.
            It can never be a user key.

    Example::

        import jamsession
        from jamsession_web import SessionConfig

        config = SessionConfig(jamsession.open("memory", default_ttl=3600), cookie_name="__Host-session")

    .. versionadded:: 0.1
    """

    def __init__(  # noqa: PLR0912 - one check per setting, each naming its fix
        self,
        store: BaseAsyncSessionModule,
        *,
        cookie_name: str = "session",
        name: str = "session",
        path: str = "/",
        domain: str | None = None,
        secure: bool = True,
        http_only: bool = True,
        same_site: Literal["lax", "strict", "none"] = "lax",
        partitioned: bool = False,
        session_only: bool = False,
        csrf: bool = True,
        csrf_header: str = "x-csrf-token",
        csrf_field: str = "csrf_token",
        csrf_exempt: Collection[str] = (),
        csrf_body_limit: int = 1024 * 1024,
        trusted_origins: Collection[str] = (),
        autoload: bool | Collection[str] = False,
        anonymous_key: str = "",
    ) -> None:
        if not isinstance(store, BaseAsyncSessionModule):
            raise ConfigError(f"SessionConfig: store must be a jamsession store, not {store!r}")
        if not getattr(store, "supports_entries", False):
            raise ConfigError(
                f"SessionConfig: the store {type(store).__name__} lacks what web sessions need "
                "(supports_entries: load, patch, rework with session_key/data, revoke); "
                "use a built-in backend or one that declares supports_entries = True"
            )
        if not isinstance(cookie_name, str) or not is_cookie_name(cookie_name):
            raise ConfigError(f"SessionConfig: cookie_name {cookie_name!r} is not a valid cookie name")
        same = str(same_site).lower()
        if same not in _SAME_SITE:
            raise ConfigError(f"SessionConfig: same_site must be one of {_SAME_SITE}, not {same_site!r}")
        if not isinstance(path, str) or not path.startswith("/") or any(c in path for c in ";\r\n"):
            raise ConfigError(f"SessionConfig: path must be an absolute URL path, not {path!r}")
        if domain is not None and (not isinstance(domain, str) or any(c in domain for c in "; \r\n")):
            raise ConfigError(f"SessionConfig: domain {domain!r} is not a host name")
        needs_secure = []
        if cookie_name.startswith(("__Host-", "__Secure-")):
            needs_secure.append(f"the {cookie_name.split('-', maxsplit=1)[0]}- prefix")
        if same == "none":
            needs_secure.append("same_site='none'")
        if partitioned:
            needs_secure.append("partitioned=True")
        if needs_secure and not secure:
            raise ConfigError(f"SessionConfig: {', '.join(needs_secure)} needs secure=True")
        if cookie_name.startswith("__Host-") and (path != "/" or domain is not None):
            raise ConfigError("SessionConfig: a __Host- cookie needs path='/' and no domain")
        if not isinstance(csrf_body_limit, int) or csrf_body_limit <= 0:
            raise ConfigError(
                f"SessionConfig: csrf_body_limit must be a positive int, not {csrf_body_limit!r}"
            )
        if not isinstance(anonymous_key, str):
            raise ConfigError(f"SessionConfig: anonymous_key must be a str, not {anonymous_key!r}")
        self.store = cast(EntryStore, store)
        self.cookie_name = cookie_name
        self.name = name
        self.path = path
        self.domain = domain
        self.secure = bool(secure)
        self.http_only = bool(http_only)
        self.same_site = same
        self.partitioned = bool(partitioned)
        self.session_only = bool(session_only)
        self.csrf = bool(csrf)
        self.csrf_header = csrf_header.lower()
        self.csrf_field = csrf_field
        self.csrf_exempt = tuple(csrf_exempt)
        self.csrf_body_limit = csrf_body_limit
        self.trusted_origins = frozenset(trusted_origins)
        self.anonymous_key = anonymous_key
        self.autoloads: Callable[[str], bool] = _prefix_test(autoload)
        self._cookie_name_bytes = cookie_name.encode("ascii")
        # Asked once, here: with no plugin observing them, a request pays a test for None.
        self.on_loaded = hook_caller("jamsession_http_session_loaded")
        self.on_saved = hook_caller("jamsession_http_session_saved")

    def __repr__(self) -> str:
        return f"SessionConfig({self.store!r}, cookie_name={self.cookie_name!r}, name={self.name!r})"

    def csrf_applies(self, method: str, path: str) -> bool:
        """Whether a request needs the CSRF token."""
        return (
            self.csrf
            and method not in ("GET", "HEAD", "OPTIONS", "TRACE")
            and not path.startswith(self.csrf_exempt)
        )

    def cookie_max_age(self, expires_at: float | None, now: float) -> int | None:
        """The ``Max-Age`` of a cookie for a session expiring at ``expires_at``.

        ``None`` for session-only cookies. With sliding expiry, or no expiry, the
        store enforces idle expiry and the cookie lives as long as browsers allow,
        so it never has to be re-sent to keep up.
        """
        if self.session_only:
            return None
        if expires_at is None or getattr(self.store, "sliding_expiry", False):
            return BROWSER_MAX_AGE
        return max(1, min(BROWSER_MAX_AGE, math.ceil(expires_at - now)))

    def new_expiry(self, now: float) -> float | None:
        """When a session created ``now`` expires, by the store's ``default_ttl``."""
        ttl: Any = getattr(self.store, "default_ttl", None)
        return None if ttl is None else now + float(ttl)

    def set_cookie(self, token: str, max_age: int | None) -> str:
        """The ``Set-Cookie`` value that hands ``token`` to the client."""
        return set_cookie_value(
            self.cookie_name,
            token,
            max_age=max_age,
            path=self.path,
            domain=self.domain,
            secure=self.secure,
            http_only=self.http_only,
            same_site=self.same_site,
            partitioned=self.partitioned,
        )

    def expire_cookie(self) -> str:
        """The ``Set-Cookie`` value that removes the client's cookie."""
        return set_cookie_value(
            self.cookie_name,
            "",
            max_age=0,
            path=self.path,
            domain=self.domain,
            secure=self.secure,
            http_only=self.http_only,
            same_site=self.same_site,
            partitioned=self.partitioned,
        )


def _prefix_test(autoload: bool | Collection[str]) -> Callable[[str], bool]:
    if autoload is True:
        return lambda path: True
    if autoload is False:
        return lambda path: False
    if isinstance(autoload, str) or not all(isinstance(p, str) for p in autoload):
        raise ConfigError(
            f"SessionConfig: autoload must be True, False or a collection of path prefixes, not {autoload!r}"
        )
    prefixes = tuple(autoload)
    return lambda path: path.startswith(prefixes)
