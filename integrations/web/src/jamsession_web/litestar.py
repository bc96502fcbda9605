"""Sessions for Litestar apps: a plugin, a session backend config and a dependency.

Example::

    import jamsession
    from litestar import Litestar, get
    from jamsession_web.litestar import JamSessionPlugin, Session, SessionConfig

    config = SessionConfig(jamsession.open("sqlite", path="sessions.db", default_ttl=86400))

    @get("/")
    async def home(session: Session) -> dict[str, str | None]:
        return {"user": session.user_key}

    app = Litestar([home], plugins=[JamSessionPlugin(config)])

The plugin adds the session middleware, opens the store at start-up and
closes it at shutdown, gives handlers the loaded :class:`~jamsession_web.Session`
as the dependency named like the session (``session``; ``admin`` for
``SessionConfig(..., name="admin")``), and documents the cookie as a security
scheme in the OpenAPI schema.

The middleware is a Litestar session middleware, so Litestar's own pieces use
it unchanged: ``request.session`` is the session (loaded before the handler
runs, except on routes with ``opt={"lazy_session": True}``, where the
dependency or :func:`get_session` loads it), ``request.set_session(data)``
replaces its data, ``request.clear_session()`` logs out, and
``request.get_session_id()`` gives the session's non-secret handle.
:class:`JamSessionConfig` is a Litestar ``BaseBackendConfig``, so
``SessionAuth(session_backend_config=JamSessionConfig(config), ...)`` and
``FlashPlugin`` work with it, and its ``exclude``, ``exclude_opt_key`` and
``scopes`` mean what they mean for Litestar's own session configs.

.. versionadded:: 0.1
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.enums import ScopeType
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.session.base import BaseBackendConfig, BaseSessionBackend
from litestar.middleware.session.base import SessionMiddleware as LitestarSessionMiddleware
from litestar.openapi.spec import Components, SecurityRequirement, SecurityScheme
from litestar.plugins import InitPlugin
from litestar.security.session_auth.middleware import MiddlewareWrapper
from litestar.serialization import decode_json, encode_json
from litestar.types import Empty
from litestar.utils import get_serializer_from_scope
from litestar.utils.scope.state import ScopeState

from jamsession_web._asgi import SCOPE_KEY
from jamsession_web._asgi import SessionMiddleware as EngineMiddleware
from jamsession_web._config import BROWSER_MAX_AGE, SessionConfig
from jamsession_web._errors import SessionMiddlewareMissingError
from jamsession_web._session import Device, Flash, Session

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.config.app import AppConfig
    from litestar.types import ASGIApp, Message, Receive, Scope, Scopes, Send

    from jamsession import BaseAsyncSessionModule

__all__ = [
    "Device",
    "Flash",
    "JamSessionBackend",
    "JamSessionConfig",
    "JamSessionMiddleware",
    "JamSessionPlugin",
    "Session",
    "SessionConfig",
    "get_session",
]

_STARTS = ("http.response.start", "websocket.accept")


class JamSessionConfig(BaseBackendConfig["JamSessionBackend"]):
    """A :class:`~jamsession_web.SessionConfig` as a Litestar session backend config.

    Args:
        session: The session's settings (store, cookie, CSRF).
        exclude: A pattern or list of patterns of paths the middleware skips.
        exclude_opt_key: Routes with this key set in their ``opt`` get no session.
        scopes: The ASGI scope types that get a session (HTTP and WebSocket by default).
        lazy_opt_key: Routes with this key set in their ``opt`` load the session
            only when asked (the dependency, :func:`get_session`): a request that
            does not use it makes no store call. Elsewhere it is loaded before the
            handler runs, so ``request.session`` works as in any Litestar app.

    Every setting is on the instance: two apps with two configs share nothing.

    Example::

        from litestar.security.session_auth import SessionAuth

        auth = SessionAuth(
            session_backend_config=JamSessionConfig(config, exclude=["/login"]),
            retrieve_user_handler=load_user,
        )

    .. versionadded:: 0.1
    """

    _backend_class = cast("type[JamSessionBackend]", None)  # set below, once the class exists

    def __init__(
        self,
        session: SessionConfig,
        *,
        exclude: str | list[str] | None = None,
        exclude_opt_key: str = "skip_session",
        scopes: Scopes | None = None,
        lazy_opt_key: str = "lazy_session",
    ) -> None:
        if not isinstance(session, SessionConfig):
            raise TypeError(f"session must be a SessionConfig, not {session!r}")
        self.session = session
        self.key = session.cookie_name
        ttl = getattr(session.store, "default_ttl", None)
        self.max_age = BROWSER_MAX_AGE if ttl is None else int(ttl)
        self.path = session.path
        self.domain = session.domain
        self.secure = session.secure
        self.httponly = session.http_only
        self.samesite = cast("Any", session.same_site)
        self.exclude = exclude
        self.exclude_opt_key = exclude_opt_key
        self.scopes = scopes if scopes is not None else {ScopeType.HTTP, ScopeType.WEBSOCKET}
        self.lazy_opt_key = lazy_opt_key

    def __repr__(self) -> str:
        return f"JamSessionConfig({self.session!r})"

    @property
    def middleware(self) -> DefineMiddleware:
        """The session middleware, for an app's (or a router's) ``middleware`` list."""
        return DefineMiddleware(JamSessionMiddleware, backend=JamSessionBackend(config=self))

    @property
    def security_scheme_name(self) -> str:
        """The cookie's name among the OpenAPI security schemes: ``sessionCookie`` for ``session``."""
        return f"{self.session.name}Cookie"

    @property
    def openapi_components(self) -> Components:
        """The OpenAPI components documenting the session cookie as an ``apiKey`` security scheme."""
        scheme = SecurityScheme(
            type="apiKey",
            name=self.key,
            security_scheme_in="cookie",
            description="Session cookie (server-side session; HttpOnly, so browsers send it for you).",
        )
        return Components(security_schemes={self.security_scheme_name: scheme})

    @property
    def security_requirement(self) -> SecurityRequirement:
        """For routes that need the session cookie: ``security=[config.security_requirement]``."""
        return {self.security_scheme_name: []}


class JamSessionBackend(BaseSessionBackend[JamSessionConfig]):
    """The Litestar session backend of :class:`JamSessionConfig`.

    Loading and saving belong to the jamsession engine, in :class:`JamSessionMiddleware`;
    this class is what Litestar's components (``SessionAuth``) expect to find.
    """

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
        """The handle (not the token) of the connection's loaded session, or ``None``."""
        session = _session_of(connection.scope, self.config.session.name)
        return None if session is None or not session.loaded else session.handle

    async def store_in_message(
        self, scope_session: Any, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        """Nothing to do: the engine saves the session when the response starts."""

    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        """The connection's session data, loaded (a copy)."""
        session = _session_of(connection.scope, self.config.session.name)
        if session is None:
            return {}
        return dict(await session.load())


JamSessionConfig._backend_class = JamSessionBackend


class JamSessionMiddleware(LitestarSessionMiddleware[JamSessionBackend]):
    """The Litestar session middleware running the jamsession engine.

    Made by :attr:`JamSessionConfig.middleware` (the plugin adds it). Honours the
    config's ``exclude``, ``exclude_opt_key`` and ``scopes``.
    """

    def __init__(self, app: ASGIApp, backend: JamSessionBackend) -> None:
        super().__init__(app, backend)
        config = backend.config
        bridge = _LitestarBridge(app, config)
        self._engine = EngineMiddleware(cast("Any", bridge), config.session)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._engine(cast("Any", scope), cast("Any", receive), cast("Any", send))


class _LitestarBridge:
    """Between the engine and the app: Litestar's meanings of ``request.session``.

    Loads the session before the handler (unless the route is lazy), and at
    response start turns what ``set_session`` and ``clear_session`` left in the
    scope into changes of the session, before the engine saves it.
    """

    def __init__(self, app: ASGIApp, config: JamSessionConfig) -> None:
        self.app = app
        self.name = config.session.name
        self.lazy_opt_key = config.lazy_opt_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session = _session_of(scope, self.name)
        if session is None:  # the engine skipped this scope type
            await self.app(scope, receive, send)
            return
        handler = scope.get("route_handler")
        if handler is None or not handler.opt.get(self.lazy_opt_key):
            await session.load()
            if self.name == "session":
                _record_id(scope, session)
        if self.name != "session":
            await self.app(scope, receive, send)
            return
        started = False

        async def reconciling_send(message: Message) -> None:
            nonlocal started
            if not started and message["type"] in _STARTS:
                started = True
                await _reconcile(scope, session)
            await send(message)

        await self.app(scope, receive, reconciling_send)


async def _reconcile(scope: Scope, session: Session) -> None:
    current: Any = scope.get("session", Empty)
    if current is session:
        return
    if current is Empty or current is None:
        # request.clear_session(), or SessionAuth refusing the session: log out.
        await session.logout()
    else:
        # request.set_session(...): the new data replaces the app's keys.
        data = current if isinstance(current, Mapping) else _as_dict(current, scope)
        await session.load()
        session.clear()
        session.update(data)
    scope["session"] = cast("Any", session)  # the handle again, a mapping like the dict Litestar types


def _as_dict(value: Any, scope: Scope) -> dict[str, Any]:
    # A pydantic model, dataclass or msgspec struct, as Litestar's own backends serialize it.
    decoded = decode_json(encode_json(value, get_serializer_from_scope(scope)))
    if not isinstance(decoded, dict):
        raise TypeError(f"set_session() needs a mapping or a model of one, not {type(value).__name__}")
    return cast("dict[str, Any]", decoded)


def _session_of(scope: Any, name: str) -> Session | None:
    sessions: dict[str, Session] | None = scope.get(SCOPE_KEY)
    return None if sessions is None else sessions.get(name)


def _record_id(scope: Any, session: Session) -> None:
    # Litestar's connection state, where its own middleware keeps the session ID:
    # the same object for the router and every middleware, so all see the handle.
    state = ScopeState.from_scope(scope)

    def mirror(handle: str | None) -> None:
        state.session_id = handle

    session._watch_handle(mirror)


async def get_session(connection: ASGIConnection[Any, Any, Any, Any], name: str = "session") -> Session:
    """The loaded session of a request or WebSocket.

    Loading reads the store once per request; later calls return the same handle.

    Raises:
        SessionMiddlewareMissingError: No session of that ``name`` on this route
            (no plugin for it, or the route is excluded).
    """
    return await _load(connection.scope, name)


async def _load(scope: Any, name: str) -> Session:
    session = _session_of(scope, name)
    if session is None:
        raise SessionMiddlewareMissingError(name)
    if not session.loaded:
        await session.load()
        if name == "session":
            _record_id(scope, session)
    return session


def _provider(name: str) -> Callable[[Scope], Awaitable[Session]]:
    async def provide_session(scope: Scope) -> Session:
        return await _load(scope, name)

    return provide_session


class JamSessionPlugin(InitPlugin):
    """Adds one kind of session to a Litestar app.

    Args:
        config: A :class:`~jamsession_web.SessionConfig`, or a :class:`JamSessionConfig`
            for Litestar's ``exclude``, ``exclude_opt_key`` and ``scopes``.

    On the app it adds: the middleware (unless ``SessionAuth`` or the app's
    ``middleware`` list already has it for this config); the store's opening at
    start-up and closing at shutdown; the loaded session as a dependency named
    like the session (a handler parameter ``session: Session``); the cookie as
    an OpenAPI security scheme. One plugin per named session.

    Example::

        app = Litestar(
            [home, admin_home],
            plugins=[
                JamSessionPlugin(SessionConfig(users)),
                JamSessionPlugin(SessionConfig(admins, name="admin", cookie_name="admin", path="/admin")),
            ],
        )

    .. versionadded:: 0.1
    """

    __slots__ = ("config",)

    def __init__(self, config: JamSessionConfig | SessionConfig) -> None:
        if isinstance(config, SessionConfig):
            config = JamSessionConfig(config)
        if not isinstance(config, JamSessionConfig):
            raise TypeError(f"config must be a SessionConfig or a JamSessionConfig, not {config!r}")
        self.config = config

    def __repr__(self) -> str:
        return f"JamSessionPlugin({self.config!r})"

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Add the middleware, lifespan, dependency and OpenAPI scheme to the app's config."""
        config = self.config
        name = config.session.name
        if not any(self._is_ours(middleware) for middleware in app_config.middleware):
            # Outermost, so every other middleware sees the session.
            app_config.middleware.insert(0, config.middleware)
        app_config.lifespan.append(self._lifespan)
        app_config.dependencies.setdefault(name, Provide(_provider(name)))
        app_config.signature_namespace.setdefault("Session", Session)
        if app_config.openapi_config is not None:
            # A copy: the default OpenAPI config is one object shared by every app.
            openapi = app_config.openapi_config = copy.copy(app_config.openapi_config)
            components = openapi.components
            listed = list(components) if isinstance(components, list) else [components]
            openapi.components = [*listed, config.openapi_components]
        return app_config

    def _is_ours(self, middleware: Any) -> bool:
        if not isinstance(middleware, DefineMiddleware):
            return False
        if middleware.middleware is MiddlewareWrapper:
            auth = middleware.kwargs.get("config")
            return getattr(auth, "session_backend_config", None) is self.config
        backend = middleware.kwargs.get("backend")
        return isinstance(backend, JamSessionBackend) and backend.config is self.config

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Litestar) -> AsyncIterator[None]:
        store = cast("BaseAsyncSessionModule", self.config.session.store)
        async with store:
            yield
