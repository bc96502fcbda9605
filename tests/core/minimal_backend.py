"""Source of an outside distribution's backend: Jam's six methods, public API only."""

SOURCE = """
from typing import Any

import jamsession
from jamsession import BaseAsyncSessionModule, InvalidSessionToken, JamSessionNotFound

IMPORTED = True


class DictSessions(BaseAsyncSessionModule):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._data: dict[str, tuple[str, str]] = {}

    def _raw(self, session_id: str) -> str | None:
        try:
            return self.__decode_session_id_if_needed__(session_id)
        except InvalidSessionToken:
            return None

    async def create(self, session_key: str, data: dict[str, Any]) -> str:
        encoded = self.__encode_session_data__(data)
        raw = self.id
        self._data[raw] = (session_key, encoded)
        return self.__encode_session_id_if_needed__(raw)

    async def get(self, session_id: str) -> dict[str, Any] | None:
        record = self._data.get(self._raw(session_id))
        return None if record is None else self.__decode_session_data__(record[1])

    async def update(self, session_id: str, data: dict[str, Any]) -> None:
        raw = self._raw(session_id)
        if raw not in self._data:
            raise JamSessionNotFound(session_id[:8])
        self._data[raw] = (self._data[raw][0], self.__encode_session_data__(data))

    async def delete(self, session_id: str) -> None:
        self._data.pop(self._raw(session_id), None)

    async def rework(self, session_id: str) -> str:
        raw = self._raw(session_id)
        if raw not in self._data:
            raise JamSessionNotFound(session_id[:8])
        new = self.id
        self._data[new] = self._data.pop(raw)
        return self.__encode_session_id_if_needed__(new)

    async def clear(self, session_key: str) -> None:
        for raw in [raw for raw, (key, _) in self._data.items() if key == session_key]:
            del self._data[raw]
"""
