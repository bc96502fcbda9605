"""The pluggy hook specifications and the process-wide plugin manager.

Hook-only plugins are found through the ``jamsession.plugins`` entry-point
group; the module of a backend or serializer selected by name takes part too.
Lifecycle hooks cost nothing per operation when no plugin implements them:
a store only wraps the methods whose events somebody observes (see
:func:`observe_lifecycle`, which building a store calls).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pluggy

from jamsession._entry_points import published
from jamsession._errors import PluginTypeError
from jamsession._handles import session_handle as fingerprint

if TYPE_CHECKING:
    import click

    from jamsession._base import BaseAsyncSessionModule

PROJECT = "jamsession"

hookspec = pluggy.HookspecMarker(PROJECT)
#: Decorator marking a function as an implementation of a jamsession hook.
hookimpl = pluggy.HookimplMarker(PROJECT)

_logger = logging.getLogger("jamsession")


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


def observe_lifecycle(store: BaseAsyncSessionModule) -> None:
    """Wrap the store's methods whose lifecycle events some plugin implements.

    Called once per store when it is built; a method no plugin observes is
    left untouched, so it pays nothing for the hook system.
    """
    hook = get_plugin_manager().hook

    def resolve(token: str) -> str | None:
        return store._resolve_session_id(token)

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
