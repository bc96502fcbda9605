"""Building a store: the one place where a store meets the installed plugins.

Calling a backend class builds a store, whether the application calls it
directly or :func:`jamsession.open` and :func:`jamsession.from_config` do.
Two steps of that build need installed plugins, and both happen here:

* a serializer given by name (``"json"``, the default, included) is looked up
  in the registry, as :func:`jamsession.load_serializer` does;
* the store's methods whose lifecycle events some hook plugin observes are
  wrapped (see :func:`jamsession._hooks.observe_lifecycle`).

The contract, :class:`~jamsession.BaseAsyncSessionModule`, reaches this module
only through its :class:`~jamsession._base.Assembly` protocol, installed below
when :mod:`jamsession` is imported; so the contract imports neither the
registry nor the plugin manager, and no plugin is imported until a store is
built.
"""

from __future__ import annotations

from jamsession._base import BaseAsyncSessionModule
from jamsession._hooks import observe_lifecycle
from jamsession._registry import backend_name, load_serializer
from jamsession._serializer import BaseEncoder


class PluginAssembly:
    """The registry's serializers and the plugin manager's hooks, for stores being built."""

    def serializer(self, name: str, /) -> type[BaseEncoder] | BaseEncoder:
        return load_serializer(name)

    def attach(self, store: BaseAsyncSessionModule, /) -> None:
        observe_lifecycle(store, backend_name)


BaseAsyncSessionModule._assembly = PluginAssembly()
