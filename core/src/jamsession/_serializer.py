"""The serializer interface: session data (a ``dict``) to bytes and back."""

from __future__ import annotations

import abc
from typing import Any, ClassVar


class BaseEncoder(abc.ABC):
    """Turns session data into bytes and back.

    A serializer is used as a class (its methods are classmethods), so an
    instance works too. ``dumps`` raises :class:`~jamsession.UnsupportedTypeError`
    for values it cannot represent and ``loads`` raises
    :class:`~jamsession.SerializationError` for bytes it cannot read; no other
    exception may escape either.

    Example, a serializer published by a third party::

        class PickleFreeYaml(BaseEncoder):
            binary = False
            supported_types = (dict, list, str, int, float, bool, type(None))

            @classmethod
            def dumps(cls, data, /):
                ...

            @classmethod
            def loads(cls, data, /):
                ...

    and in its ``pyproject.toml``::

        [project.entry-points."jamsession.serializers"]
        yaml = "jamsession_yaml:PickleFreeYaml"
    """

    #: ``True`` when :meth:`dumps` may produce bytes that are not UTF-8 text.
    binary: ClassVar[bool] = False

    #: The Python types that survive a round trip; the conformance suite
    #: checks exactly this set.
    supported_types: ClassVar[tuple[type, ...]] = ()

    @classmethod
    @abc.abstractmethod
    def dumps(cls, data: dict[str, Any], /) -> bytes:
        """Encode ``data``; raise :class:`~jamsession.UnsupportedTypeError` for unsupported values."""

    @classmethod
    @abc.abstractmethod
    def loads(cls, data: str | bytes, /) -> dict[str, Any]:
        """Decode ``data``; raise :class:`~jamsession.SerializationError` if it is not valid."""
