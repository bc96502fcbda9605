"""``JsonEncoder``: the default serializer."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from jamsession._errors import SerializationError, UnsupportedTypeError
from jamsession._serializer import BaseEncoder


def _refuse(value: object) -> NoReturn:
    raise UnsupportedTypeError(
        f"{type(value).__name__} is not a JSON type; convert it first, "
        f"or use a serializer that supports it (e.g. serializer='cbor')"
    )


def _refuse_constant(name: str) -> NoReturn:
    raise SerializationError(f"{name} is not valid JSON")


# The C-accelerated encoder of the standard library: results identical to
# ``json.dumps`` by construction, strict about what it accepts.
_encode = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_refuse
).encode
_decoder = json.JSONDecoder(parse_constant=_refuse_constant)


class JsonEncoder(BaseEncoder):
    """Compact UTF-8 JSON, the seed's default serializer.

    Round-trips ``dict`` (with ``str`` keys), ``list``, ``str``, ``int``,
    ``float`` (finite), ``bool`` and ``None``. Tuples are written as lists
    and come back as lists. Any other value, and NaN or infinity, raises
    :class:`~jamsession.UnsupportedTypeError` before anything is written.

    .. versionadded:: 0.1
    """

    binary = False
    supported_types = (dict, list, str, int, float, bool, type(None))

    @classmethod
    def dumps(cls, data: dict[str, Any], /) -> bytes:
        """Encode ``data`` as compact UTF-8 JSON."""
        try:
            return _encode(data).encode("utf-8", "strict")
        except UnsupportedTypeError:
            raise
        except (TypeError, ValueError, RecursionError, UnicodeEncodeError) as exc:
            # Non-str keys, NaN, circular references, lone surrogates.
            raise UnsupportedTypeError(f"session data is not JSON-serializable: {exc}") from exc

    @classmethod
    def loads(cls, data: str | bytes, /) -> dict[str, Any]:
        """Decode JSON text or UTF-8 bytes into a dict."""
        try:
            text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
            result = _decoder.decode(text)
        except SerializationError:
            raise
        except (TypeError, ValueError, RecursionError) as exc:
            raise SerializationError(f"not valid JSON session data ({type(exc).__name__})") from exc
        if not isinstance(result, dict):
            raise SerializationError("JSON session data must be an object")
        return result
