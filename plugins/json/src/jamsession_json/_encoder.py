"""``JsonEncoder``: the default serializer."""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn

import orjson

from jamsession._errors import SerializationError, UnsupportedTypeError
from jamsession._serializer import BaseEncoder

# orjson writes 64-bit integers only; beyond them the standard library takes over.
_INT_RANGE = range(-(2**63), 2**64)
# orjson reads integers past 64 bits as floats; text with a run of 19 digits
# goes to the standard library instead, whose results are exact. Mapping every
# digit to "0" first turns the search into one fast substring scan.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN = b"0" * 19

# Everything orjson would write in a form of its own (datetimes, dataclasses,
# subclasses of str, int, dict and list) goes to ``default``, which refuses it.
_STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS

_stdlib_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def _refuse(value: object) -> NoReturn:
    raise UnsupportedTypeError(
        f"{type(value).__name__} is not a JSON type; convert it first, "
        f"or use a serializer that supports it (e.g. serializer='cbor')"
    )


def _check(value: object) -> bool:
    """Refuse anything but exact JSON types; return whether an integer exceeds 64 bits.

    orjson alone would quietly write a UUID or an Enum as a string and NaN as
    null, and read them back as something else; this walk makes every such
    value a typed error instead.
    """
    big = False
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is dict:
            for key, child in item.items():
                if type(key) is not str:
                    raise UnsupportedTypeError(f"JSON object keys must be str, not {type(key).__name__}")
                pending.append(child)
        elif kind is list or kind is tuple:
            pending.extend(item)
        elif kind is str or kind is bool or item is None:
            continue
        elif kind is int:
            big = big or item not in _INT_RANGE
        elif kind is float:
            if not math.isfinite(item):
                raise UnsupportedTypeError(f"{item!r} is not valid JSON")
        else:
            _refuse(item)
    return big


class JsonEncoder(BaseEncoder):
    """Compact UTF-8 JSON, the seed's default serializer.

    Round-trips ``dict`` (with ``str`` keys), ``list``, ``str``, ``int`` (any
    size), finite ``float``, ``bool`` and ``None``, with the same results as
    the standard library's ``json``. Tuples are written as lists and come back
    as lists. Any other value (subclasses, ``UUID``, ``datetime``, enums, NaN,
    non-``str`` keys) raises :class:`~jamsession.UnsupportedTypeError` before
    anything is written. orjson does the work; the standard library takes over
    for integers beyond 64 bits.

    .. versionadded:: 0.1
    """

    binary = False
    supported_types = (dict, list, str, int, float, bool, type(None))

    @classmethod
    def dumps(cls, data: dict[str, Any], /) -> bytes:
        """Encode ``data`` as compact UTF-8 JSON."""
        try:
            try:
                blob = orjson.dumps(data, default=_refuse, option=_STRICT)
            except TypeError:
                # Past 64 bits, or a refused value: the walk names the culprit.
                if _check(data):
                    return _stdlib_encode(data).encode("utf-8")
                raise
            # Reading it back is cheaper than walking the data first, and shows
            # whether orjson quietly turned a UUID, an Enum, NaN or a tuple into
            # plain JSON; only then does the walk decide (tuples pass as lists).
            if orjson.loads(blob) != data:
                _check(data)
            return blob
        except UnsupportedTypeError:
            raise
        except (TypeError, ValueError, RecursionError) as exc:
            # Lone surrogates, nesting past orjson's depth limit.
            raise UnsupportedTypeError(f"session data is not JSON-serializable: {exc}") from exc

    @classmethod
    def loads(cls, data: str | bytes, /) -> dict[str, Any]:
        """Decode JSON text or UTF-8 bytes into a dict."""
        try:
            raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
            if _LONG_DIGIT_RUN in raw.translate(_DIGITS_TO_ZERO):
                result = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
            else:
                result = orjson.loads(raw)
        except (TypeError, ValueError, RecursionError) as exc:
            raise SerializationError(f"not valid JSON session data ({type(exc).__name__})") from exc
        if not isinstance(result, dict):
            raise SerializationError("JSON session data must be an object")
        return result


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")
