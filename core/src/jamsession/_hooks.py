"""The pluggy hook specifications and the process-wide plugin manager.

Hook-only plugins are found through the ``jamsession.plugins`` entry-point
group; the module of a backend or serializer selected by name takes part too.
Lifecycle hooks cost nothing per operation when no plugin implements them:
a store only wraps the methods whose events somebody observes (see
:func:`observe_lifecycle`, which building a store calls).
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pluggy

from jamsession._crypto import PURPOSE_ID, KeyRing, b64decode
from jamsession._entry_points import GROUPS, published
from jamsession._errors import (
    ConfigError,
    InvalidSessionToken,
    JamSessionNotFound,
    PluginTypeError,
    UnknownKeyError,
)
from jamsession._handles import session_handle as fingerprint
from jamsession._ids import MAX_TOKEN_LENGTH

if TYPE_CHECKING:
    import click

    from jamsession._base import BaseAsyncSessionModule

PROJECT = "jamsession"
#: The entry-point group of hook plugins; their names there name their configuration tables.
PLUGIN_GROUP = GROUPS["plugin"]

hookspec = pluggy.HookspecMarker(PROJECT)
#: Decorator marking a function as an implementation of a jamsession hook.
hookimpl = pluggy.HookimplMarker(PROJECT)

_logger = logging.getLogger("jamsession")

#: The store methods the ``jamsession_store_operation`` hook times, where a store has them.
OPERATIONS = (
    "create",
    "get",
    "update",
    "delete",
    "rework",
    "clear",
    "list_sessions",
    "purge_expired",
    "load",
    "patch",
    "revoke",
)
#: Outcomes of a store operation.
OUTCOME_OK = "ok"
OUTCOME_MISS = "miss"
OUTCOME_ERROR = "error"
#: Reasons a client's token is turned away.
REJECTED_MALFORMED = "malformed"
REJECTED_TAMPERED = "tampered"
REJECTED_UNKNOWN_KEY = "unknown key"
REJECTED_EXPIRED = "expired"
#: Operations whose miss is checked for an expired session when ``jamsession_token_rejected`` is observed.
_EXPIRY_CHECKED = ("get", "load", "update", "patch", "rework")


class HookSpecs:
    """Every hook a jamsession plugin can implement.

    Sessions are named in hooks by a *fingerprint*: the first 16 hex digits
    of the SHA-256 of the raw session ID. It correlates events about one
    session without revealing a token that could be replayed, and it is the
    session's handle in :meth:`~jamsession.RecordSessionModule.list_sessions`.
    """

    @hookspec
    def jamsession_add_commands(self, cli: click.Group) -> None:
        """Add commands to the ``jamsession`` command line (``cli.add_command(...)``).

        .. versionadded:: 0.1
        """

    @hookspec
    def jamsession_configure(self, settings: dict[str, Any], source: str) -> None:
        """Take this plugin's settings from a configuration file's ``[jamsession.<name>]`` table.

        ``<name>`` is the name the plugin is installed under in the
        ``jamsession.plugins`` entry-point group, and only that plugin is
        called, with the table as read. A file with options at its top level
        holds the table as ``[<name>]``; a mapping given to
        :func:`~jamsession.from_config`, under the key ``<name>``. It is called
        each time such a file is loaded, after its options are checked and
        before the store it describes is built. ``source`` names the table and
        where it came from (``"[jamsession.audit] in file '/srv/sessions.toml'"``).

        Raise :class:`~jamsession.ConfigError` naming ``source``, the setting
        and the fix: the store is not built. A setting the plugin also takes
        from the environment should let the environment win, as the core's
        options do. Plugins registered in code have no table::

            # installed as: [project.entry-points."jamsession.plugins"] audit = "myapp.audit"
            # configured by: [jamsession.audit] with level = "info"
            @hookimpl
            def jamsession_configure(settings, source):
                unknown = sorted(set(settings) - {"level"})
                if unknown:
                    raise ConfigError(f"{source}: unknown setting {unknown[0]!r}; the one setting is level")
                AUDIT.level = settings.get("level", "info")

        A table no installed plugin takes is a :class:`~jamsession.ConfigError`.

        .. versionadded:: 0.3
        """

    @hookspec
    def jamsession_session_created(
        self, store: BaseAsyncSessionModule, session_key: str, fingerprint: str
    ) -> None:
        """A session was created for ``session_key``.

        .. versionadded:: 0.1
        """

    @hookspec
    def jamsession_session_reworked(
        self, store: BaseAsyncSessionModule, old_fingerprint: str, new_fingerprint: str
    ) -> None:
        """A session moved to a fresh ID; the old one is dead.

        .. versionadded:: 0.1
        """

    @hookspec
    def jamsession_session_deleted(self, store: BaseAsyncSessionModule, fingerprint: str) -> None:
        """A session was deleted (called for every well-formed ID passed to ``delete``,
        and for each session ended by ``revoke``).

        .. versionadded:: 0.1
        """

    @hookspec
    def jamsession_sessions_cleared(self, store: BaseAsyncSessionModule, session_key: str) -> None:
        """Every session of ``session_key`` was removed ("log out everywhere").

        .. versionadded:: 0.1
        """

    @hookspec
    def jamsession_store_operation(  # noqa: PLR0917 - pluggy passes hook arguments by name
        self,
        store: BaseAsyncSessionModule,
        operation: str,
        backend: str,
        duration: float,
        outcome: str,
        error: BaseException | None,
    ) -> None:
        """A store operation finished; called once per call, after it returned or raised.

        ``operation`` is the method's name (``"get"``, ``"create"``, ... see
        :data:`OPERATIONS`), ``backend`` the name the backend is installed
        under (``"memory"``, ``"sqlite"``; the class name for a backend that
        is not installed), ``duration`` the seconds the call took, measured
        with :func:`time.perf_counter`.

        ``outcome`` is ``"ok"``; ``"miss"`` when the call found no live session
        (``get`` gave ``None``, ``update`` or ``rework`` raised
        :class:`~jamsession.JamSessionNotFound`); or ``"error"`` when it raised
        anything else. ``error`` is the exception the caller got, if any: its
        message may quote what the caller passed, so record its type only.

        A store times its methods only when some plugin implements this hook,
        deciding once, when it is built::

            from jamsession import hookimpl

            @hookimpl
            def jamsession_store_operation(store, operation, backend, duration, outcome, error):
                DURATIONS.labels(backend, operation, outcome).observe(duration)

        .. versionadded:: 0.1
        """

    @hookspec
    def jamsession_token_rejected(self, store: BaseAsyncSessionModule, reason: str) -> None:
        """A client's session token was turned away: not one of this store's, or its session expired.

        ``reason`` says what the core can know of why, and no more:

        * ``"malformed"``: not a string, empty, too long; with crypt off, not
          printable ASCII; with crypt on, not URL-safe base64 in its one
          spelling, or too short or with a first byte no ciphertext has.
        * ``"unknown key"``: a ciphertext whose first byte names a key the
          store does not hold (see :class:`~jamsession.UnknownKeyError`):
          another deployment's key, or one removed from the ring too early.
          A spike of these right after a deployment is a key-rotation
          mistake. Random bytes and a token altered in that byte read so too.
        * ``"tampered"``: a ciphertext failing authentication under the keys
          that could have made it: altered after its first byte. A
          token of the first format names no key and is tried under every
          key, so one of those sealed under a foreign key reads so too. A
          steady trickle is probing.
        * ``"expired"``: an authentic token whose session's record is still
          stored but expired. Checked only on a miss of ``get``, ``load``,
          ``update``, ``patch`` or ``rework``, with one more look-up of the
          record. After a purge, MongoDB's TTL monitor or Redis's own expiry
          has removed it, an expired session reads as one that was deleted
          or never existed: an operation ``"miss"``, no rejection.

        The token itself is never passed on.

        Called once per operation that turns a token away; a store checks
        tokens this way only when some plugin implements this hook::

            @hookimpl
            def jamsession_token_rejected(store, reason):
                REJECTED.labels(reason).inc()

        .. versionadded:: 0.1
        .. versionchanged:: 0.3
           ``"unknown key"``, told apart from ``"tampered"``.
        """

    @hookspec
    def jamsession_http_session_loaded(self, store: BaseAsyncSessionModule, outcome: str) -> None:
        """The web layer looked up the session of a request that carried a session cookie.

        ``outcome`` is ``"found"`` or ``"not_found"`` (the cookie named no live
        session: expired, revoked, foreign or tampered). Called by the web
        integration (``jamsession-web``) once per such request, after the
        store's own ``jamsession_store_operation``; it asks whether any plugin
        implements this hook once, when it is set up, and makes no call otherwise::

            @hookimpl
            def jamsession_http_session_loaded(store, outcome):
                LOADED.labels(outcome).inc()

        .. versionadded:: 0.1
        """

    @hookspec
    def jamsession_http_session_saved(self, store: BaseAsyncSessionModule, outcome: str) -> None:
        """The web layer saved a request's changed session, at the start of the response.

        ``outcome`` is ``"created"`` (a new session, with a new cookie) or
        ``"updated"`` (the request's session, changed; with the aiohttp-session
        storage, also a session moved to a new identity's key and token). Called by the web
        integration (``jamsession-web``) under the same rules as
        :meth:`jamsession_http_session_loaded`.

        .. versionadded:: 0.1
        """


_manager: pluggy.PluginManager | None = None


def get_plugin_manager() -> pluggy.PluginManager:
    """Return the process-wide plugin manager, loading ``jamsession.plugins`` on first use.

    A hook plugin that fails to import is logged and skipped, so it never
    breaks the others.
    """
    global _manager  # noqa: PLW0603 - one manager per process, built lazily
    if _manager is None:
        manager = pluggy.PluginManager(PROJECT)
        manager.add_hookspecs(HookSpecs)
        for entry_point in published("plugin"):
            try:
                plugin = entry_point.load()
            except ConfigError:
                raise  # the user's settings for an installed plugin are wrong: say so at start-up
            except Exception as exc:  # noqa: BLE001 - any failure of a third party's import
                _logger.warning(
                    "skipping jamsession plugin %r: import failed (%s: %s)",
                    entry_point.name,
                    type(exc).__name__,
                    exc,
                )
                continue
            if manager.is_registered(plugin):
                continue
            try:
                manager.register(plugin, name=f"{entry_point.group}:{entry_point.name}")
            except pluggy.PluginValidationError as exc:
                _logger.warning("skipping jamsession plugin %r: %s", entry_point.name, exc)
        _manager = manager
    return _manager


def register_plugin(plugin: object) -> None:
    """Register a hook plugin (a module or an object with ``@hookimpl`` methods) in-process.

    Stores built afterwards call its lifecycle hooks; the command line asks
    it for commands. Plugins installed through the ``jamsession.plugins``
    entry-point group need no call.

    .. versionadded:: 0.1
    """
    manager = get_plugin_manager()
    if manager.is_registered(plugin):
        return
    try:
        manager.register(plugin)
    except pluggy.PluginValidationError as exc:
        raise PluginTypeError(f"{plugin!r} is not a valid jamsession hook plugin: {exc}", obj=plugin) from exc


def configurable_plugins() -> list[str]:
    """The names of the installed hook plugins that take a ``[jamsession.<name>]`` table, sorted.

    Those installed through the ``jamsession.plugins`` entry-point group that
    implement ``jamsession_configure``.

    .. versionadded:: 0.3
    """
    return sorted(_configurable())


def configure_plugin(name: str, settings: dict[str, Any], source: str) -> None:
    """Hand ``settings`` to the installed hook plugin ``name``'s ``jamsession_configure``.

    What loading a configuration file does for each of its plugin tables;
    ``source`` names the table and the file for the plugin's errors.

    Raises:
        ConfigError: no installed plugin of that name takes settings, or the
            plugin refuses them.

    .. versionadded:: 0.3
    """
    implementation = _configurable().get(name)
    if implementation is None:
        installed = configurable_plugins()
        raise ConfigError(
            f"{source}: no installed jamsession plugin named {name!r} takes settings "
            f"(those that do: {', '.join(installed) or 'none'})"
        )
    # pluggy lets an implementation take fewer arguments than the specification gives.
    given = {"settings": settings, "source": source}
    implementation.function(**{argument: given[argument] for argument in implementation.argnames})


def _configurable() -> dict[str, Any]:
    """Installed plugin name → its ``jamsession_configure`` implementation."""
    found = {}
    for implementation in get_plugin_manager().hook.jamsession_configure.get_hookimpls():
        group, _, name = implementation.plugin_name.partition(":")
        if group == PLUGIN_GROUP and name:
            found[name] = implementation
    return found


def hook_caller(name: str) -> Callable[..., Any] | None:
    """The caller of the hook ``name`` if some registered plugin implements it, else ``None``.

    For code outside the core that emits events of its own (the web
    integration calls ``jamsession_http_session_loaded`` and ``_saved``):
    ask once, when set up, and keep the answer, so that when no plugin
    implements the hook the only cost per event is a test for ``None``::

        from jamsession import hook_caller

        class Middleware:
            def __init__(self, store):
                self.store = store
                self.on_loaded = hook_caller("jamsession_http_session_loaded")

            async def load(self, cookie):
                entry = await self.store.load(cookie)
                if self.on_loaded is not None:
                    self.on_loaded(store=self.store, outcome="found" if entry else "not_found")
                return entry

    A plugin's failure is logged and does not reach the caller. Plugins
    registered after the call are not seen by the answer it gave.

    Raises:
        PluginTypeError: ``name`` is not one of :class:`HookSpecs`' hooks.

    .. versionadded:: 0.1
    """
    caller = getattr(get_plugin_manager().hook, name, None)
    if caller is None or not hasattr(HookSpecs, name):
        raise PluginTypeError(f"{name!r} is not a jamsession hook", obj=name)
    if not caller.get_hookimpls():
        return None

    def call(**kwargs: Any) -> None:
        try:
            caller(**kwargs)
        except Exception as exc:  # noqa: BLE001 - an observer's failure must not change the request
            _logger.warning("a jamsession %s hook failed (%s: %s)", name, type(exc).__name__, exc)

    return call


def observe_lifecycle(store: BaseAsyncSessionModule, name_backend: Callable[[type], str]) -> None:
    """Wrap the store's methods whose lifecycle events some plugin implements.

    Called once per store when it is built; a method no plugin observes is
    left untouched, so it pays nothing for the hook system.
    """
    hook = get_plugin_manager().hook
    observe_operations(store, name_backend)
    # Bound now: the lifecycle's own look-ups are not tokens a client sent (see observe_token_rejections).
    resolve = store._resolve_session_id

    def wrap(name: str, after: Callable[..., None]) -> None:
        method: Callable[..., Awaitable[Any]] = getattr(store, name)

        @functools.wraps(method)
        async def observed(*args: Any, **kwargs: Any) -> Any:
            result = await method(*args, **kwargs)
            try:
                after(result, *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - an observer's failure must not undo the operation
                # The operation has happened; its caller gets its result all the same.
                _logger.warning("a jamsession %s hook failed (%s: %s)", name, type(exc).__name__, exc)
            return result

        setattr(store, name, observed)

    if hook.jamsession_session_created.get_hookimpls():

        def created(token: str, session_key: str, data: object) -> None:
            raw = resolve(token)
            if raw is not None:
                hook.jamsession_session_created(
                    store=store, session_key=session_key, fingerprint=fingerprint(raw)
                )

        wrap("create", created)

    if hook.jamsession_session_reworked.get_hookimpls():

        def reworked(new_token: str, session_id: str, **_: object) -> None:
            old, new = resolve(session_id), resolve(new_token)
            if old is not None and new is not None:
                hook.jamsession_session_reworked(
                    store=store, old_fingerprint=fingerprint(old), new_fingerprint=fingerprint(new)
                )

        wrap("rework", reworked)

    if hook.jamsession_session_deleted.get_hookimpls():

        def deleted(_: None, session_id: str) -> None:
            raw = resolve(session_id)
            if raw is not None:
                hook.jamsession_session_deleted(store=store, fingerprint=fingerprint(raw))

        wrap("delete", deleted)

        if callable(getattr(store, "revoke", None)):

            def revoked(ended: bool, session_key: str, handle: str) -> None:
                if ended:
                    hook.jamsession_session_deleted(store=store, fingerprint=handle)

            wrap("revoke", revoked)

    if hook.jamsession_sessions_cleared.get_hookimpls():

        def cleared(_: None, session_key: str) -> None:
            hook.jamsession_sessions_cleared(store=store, session_key=session_key)

        wrap("clear", cleared)

    observe_token_rejections(store)


def observe_operations(store: BaseAsyncSessionModule, name_backend: Callable[[type], str]) -> None:
    """Time the store's operations for ``jamsession_store_operation``, if some plugin implements it.

    Called once per store when it is built, before the lifecycle hooks wrap
    their methods, so a duration is the operation's alone.
    """
    hook = get_plugin_manager().hook.jamsession_store_operation
    if not hook.get_hookimpls():
        return
    backend = name_backend(type(store))
    for name in OPERATIONS:
        method = getattr(store, name, None)
        if method is not None and inspect.iscoroutinefunction(method):
            setattr(store, name, _timed(store, name, backend, method, hook))


def _timed(
    store: BaseAsyncSessionModule,
    name: str,
    backend: str,
    method: Callable[..., Awaitable[Any]],
    hook: Any,
) -> Callable[..., Awaitable[Any]]:
    def report(started: float, outcome: str, error: BaseException | None) -> None:
        duration = time.perf_counter() - started
        try:
            hook(
                store=store, operation=name, backend=backend, duration=duration, outcome=outcome, error=error
            )
        except Exception as exc:  # noqa: BLE001 - an observer's failure must not change the operation's result
            _logger.warning("a jamsession %s hook failed (%s: %s)", name, type(exc).__name__, exc)

    @functools.wraps(method)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            result = await method(*args, **kwargs)
        except JamSessionNotFound as exc:
            report(started, OUTCOME_MISS, exc)
            raise
        except BaseException as exc:  # cancellation too: the caller's wait ended all the same
            report(started, OUTCOME_ERROR, exc)
            raise
        # get/load give None, revoke gives False, when there was no such session.
        miss = result is False or (result is None and name in ("get", "load"))
        report(started, OUTCOME_MISS if miss else OUTCOME_OK, None)
        return result

    return timed


def observe_token_rejections(store: BaseAsyncSessionModule) -> None:
    """Report the tokens the store turns away to ``jamsession_token_rejected``, if some plugin implements it.

    Called once per store when it is built. Only the path of a token that
    failed to decode does more work: the reason is worked out then.
    """
    hook = get_plugin_manager().hook.jamsession_token_rejected
    if not hook.get_hookimpls():
        return
    resolve = store._resolve_session_id

    @functools.wraps(resolve)
    def resolve_and_report(session_id: object) -> str | None:
        raw_id = resolve(session_id)
        if raw_id is None:
            try:
                hook(store=store, reason=rejection_reason(store, session_id))
            except Exception as exc:  # noqa: BLE001 - an observer's failure must not change the answer
                _logger.warning("a jamsession token_rejected hook failed (%s: %s)", type(exc).__name__, exc)
        return raw_id

    store._resolve_session_id = resolve_and_report  # type: ignore[method-assign]
    fetch = getattr(store, "fetch_record", None)
    if fetch is None or not inspect.iscoroutinefunction(fetch):
        return  # not a RecordSessionModule: whether a missed session had expired is its own business
    for name in _EXPIRY_CHECKED:
        method = getattr(store, name, None)
        if method is not None and inspect.iscoroutinefunction(method):
            setattr(store, name, _expiry_checked(store, name, method, resolve, fetch, hook))


def _expiry_checked(  # noqa: PLR0917 - the wrapped method and what its check needs, bound once
    store: BaseAsyncSessionModule,
    name: str,
    method: Callable[..., Awaitable[Any]],
    resolve: Callable[[object], str | None],
    fetch: Callable[[str, float, float | None], Awaitable[bytes | None]],
    hook: Any,
) -> Callable[..., Awaitable[Any]]:
    """``method``, reporting ``"expired"`` when it missed a session whose expired record is still stored.

    Backends return only live records, so a miss says nothing of why. On a
    miss, and only then, the record is looked up once more as of time zero,
    when every record with an expiry was live: found, it is there but expired.
    Once a purge, MongoDB's TTL monitor or Redis's own expiry has removed it,
    an expired session cannot be told from a deleted one, and no rejection
    is reported.
    """

    async def report_if_expired(session_id: object) -> None:
        raw_id = resolve(session_id)
        if raw_id is None:
            return  # turned away as malformed or tampered, and reported as such
        try:
            if await fetch(raw_id, 0.0, None) is not None:
                hook(store=store, reason=REJECTED_EXPIRED)
        except Exception as exc:  # noqa: BLE001 - the check is the observer's, not the caller's
            _logger.warning("a jamsession token_rejected check failed (%s: %s)", type(exc).__name__, exc)

    @functools.wraps(method)
    async def checked(session_id: object, *args: Any, **kwargs: Any) -> Any:
        try:
            result = await method(session_id, *args, **kwargs)
        except JamSessionNotFound:
            await report_if_expired(session_id)
            raise
        if result is None and name in ("get", "load"):
            await report_if_expired(session_id)
        return result

    return checked


def rejection_reason(store: BaseAsyncSessionModule, session_id: object) -> str:
    """Why ``store`` turns ``session_id`` away: ``"malformed"``, ``"unknown key"`` or ``"tampered"``.

    Only meaningful for a token the store did turn away: it is decrypted once
    more, so the reason is the key ring's own.
    """
    if not isinstance(session_id, str) or not 0 < len(session_id) <= MAX_TOKEN_LENGTH:
        return REJECTED_MALFORMED
    if not store.is_session_crypt:
        return REJECTED_MALFORMED  # crypt off, a raw ID is refused only for its characters
    try:
        blob = b64decode(session_id)
    except InvalidSessionToken:
        blob = b""  # not URL-safe base64 in its one spelling
    if not KeyRing.is_ciphertext(blob):
        return REJECTED_MALFORMED
    try:
        store._require_keyring().decrypt(blob, PURPOSE_ID)
    except UnknownKeyError:
        return REJECTED_UNKNOWN_KEY
    except InvalidSessionToken:
        return REJECTED_TAMPERED
    return REJECTED_MALFORMED  # authentic, yet no ID the store takes
