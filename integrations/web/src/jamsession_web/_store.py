"""What the web layer needs of a store: the entry features (``supports_entries``)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from jamsession import BaseEncoder, SessionEntry, SessionInfo


class EntryStore(Protocol):
    """A jamsession store with entries: the built-in backends, and any declaring ``supports_entries``."""

    serializer: type[BaseEncoder] | BaseEncoder

    async def load(self, session_id: str) -> SessionEntry | None: ...

    async def create(self, session_key: str, data: dict[str, Any]) -> str: ...

    async def patch(
        self,
        session_id: str,
        changes: Mapping[str, Any],
        removed: Collection[str] = (),
        *,
        expected: SessionEntry | None = None,
    ) -> SessionEntry: ...

    async def rework(
        self, session_id: str, *, session_key: str | None = None, data: dict[str, Any] | None = None
    ) -> str: ...

    async def delete(self, session_id: str) -> None: ...

    async def clear(self, session_key: str) -> None: ...

    async def list_sessions(self, session_key: str) -> list[SessionInfo]: ...

    async def revoke(self, session_key: str, handle: str) -> bool: ...

    def __encode_session_id_if_needed__(self, data: str) -> str: ...

    def __decode_session_id_if_needed__(self, data: str) -> str: ...
