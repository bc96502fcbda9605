"""``JsonEncoder``: the default serializer."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any, NoReturn

import msgspec
import orjson

from jamsession import BaseEncoder, SerializationError, UnsupportedTypeError

# Everything orjson would write in a form of its own (datetimes, dataclasses,
# subclasses of str, int, dict and list) goes to ``default``, which refuses it.
_STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
# orjson's own limit on nesting.
_MAX_DEPTH = 255
# orjson writes 64-bit integers only; beyond them the standard library takes over.
_INT_RANGE = range(-(2**63), 2**64)

_stdlib_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
# msgspec reads integers of any size exactly, where orjson turns those past 64 bits into floats.
_decode = msgspec.json.Decoder().decode


def _refuse(value: object) -> NoReturn:
    raise UnsupportedTypeError(
        f"{type(value).__name__} is not a JSON type; convert it first, "
        f"or use a serializer that supports it (e.g. serializer='cbor')"
    )


def _check(value: object) -> bool:
    """Refuse anything but exact JSON types; return whether an integer exceeds 64 bits."""
    return _check_values((value,), 0)


def _check_keys(mapping: dict[Any, Any]) -> None:
    for key in mapping:
        if type(key) is not str:
            raise UnsupportedTypeError(f"JSON object keys must be str, not {type(key).__name__}")


def _check_values(values: Iterable[Any], depth: int) -> bool:
    # ``depth`` is that of the values, one more than their container's; one
    # call per container, not per value, since most values are leaves.
    if depth > _MAX_DEPTH:
        # Also where data refers to itself, which would never end.
        raise UnsupportedTypeError(
            f"session data is nested more than {_MAX_DEPTH} levels deep, or contains itself"
        )
    big = False
    for item in values:
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            big = big or item not in _INT_RANGE
        elif kind is float:
            if not math.isfinite(item):
                raise UnsupportedTypeError(f"{item!r} is not valid JSON")
        elif kind is dict:
            _check_keys(item)
            big = _check_values(item.values(), depth + 1) or big
        elif kind is list or kind is tuple:
            big = _check_values(item, depth + 1) or big
        else:
            _refuse(item)
    return big


class JsonEncoder(BaseEncoder):
    """Compact UTF-8 JSON, the default serializer, as in Jam.

    Round-trips ``dict`` (with ``str`` keys), ``list``, ``str``, ``int`` (any
    size), finite ``float``, ``bool`` and ``None``, with the same results as
    the standard library's ``json``. Tuples are written as lists and come back
    as lists. Any other value (subclasses, ``UUID``, ``datetime``, enums, NaN,
    non-``str`` keys) raises :class:`~jamsession.UnsupportedTypeError` before
    anything is written. orjson writes and msgspec reads; the standard library
    writes integers beyond 64 bits.

    .. versionadded:: 0.1
    """

    binary = False
    supported_types = (dict, list, str, int, float, bool, type(None))

    @classmethod
    def dumps(cls, data: dict[str, Any], /) -> bytes:
        """Encode ``data`` as compact UTF-8 JSON."""
        try:
            # orjson writes enum members, UUIDs, NaN and infinities quietly as other
            # values, so the walk refuses them (and names the culprit) first.
            if _check(data):
                return _stdlib_encode(data).encode("utf-8")
            return orjson.dumps(data, default=_refuse, option=_STRICT)
        except UnsupportedTypeError:
            raise
        except (TypeError, ValueError, RecursionError) as exc:
            # Lone surrogates, nesting past orjson's depth limit.
            raise UnsupportedTypeError(f"session data is not JSON-serializable: {exc}") from exc

    @classmethod
    def loads(cls, data: str | bytes, /) -> dict[str, Any]:
        """Decode JSON text or UTF-8 bytes into a dict."""
        try:
            result = _decode(data)
        except (msgspec.DecodeError, TypeError, ValueError, RecursionError) as exc:
            raise SerializationError(f"not valid JSON session data ({type(exc).__name__})") from exc
        if not isinstance(result, dict):
            raise SerializationError("JSON session data must be an object")
        return result
