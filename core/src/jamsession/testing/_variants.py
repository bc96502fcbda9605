"""The configurations every backend's conformance run covers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jamsession._crypto import generate_key
from jamsession._registry import available_names

# One key per test process: tokens from one run never meet another's.
_TEST_KEY = generate_key()


@dataclass(frozen=True, slots=True)
class StoreVariant:
    """A serializer and crypt setting to build a store with.

    .. versionadded:: 0.1
    """

    serializer: str
    is_session_crypt: bool

    @property
    def options(self) -> dict[str, Any]:
        """Keyword arguments for the backend's constructor."""
        options: dict[str, Any] = {"serializer": self.serializer, "is_session_crypt": self.is_session_crypt}
        if self.is_session_crypt:
            options["session_aes_secret"] = _TEST_KEY
        return options

    @property
    def id(self) -> str:
        return f"{self.serializer}-{'crypt' if self.is_session_crypt else 'plain'}"


def store_variants() -> list[StoreVariant]:
    """Every installed serializer, with crypt off and on.

    .. versionadded:: 0.1
    """
    return [
        StoreVariant(serializer, crypt)
        for serializer in available_names("serializer")
        for crypt in (False, True)
    ]
