"""``CborEncoder``: compact binary session data with dates, bytes, UUIDs and decimals."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from typing import Any
from uuid import UUID

from cbor2 import CBORDecodeEOF, CBORDecoder, CBORError
from cbor2 import dumps as _cbor_dumps

from jamsession import BaseEncoder, SerializationError, UnsupportedTypeError
from jamsession_cbor._decoding import MAX_DEPTH, TAG_DECODERS, check_result
from jamsession_cbor._encoding import ENCODERS


def _encode_failure(exc: BaseException) -> UnsupportedTypeError:
    # Our own refusals come back wrapped by cbor2 in some paths.
    if isinstance(exc.__cause__, UnsupportedTypeError):
        return exc.__cause__.with_traceback(None)
    if isinstance(exc, RecursionError):
        reason = "it is nested deeper than Python's recursion limit"
    elif "cyclic" in str(exc):
        reason = "a container holds itself"
    elif isinstance(exc, UnicodeError):
        reason = "a string holds a lone surrogate"
    else:
        reason = type(exc).__name__
    return UnsupportedTypeError(f"session data cannot be encoded as CBOR: {reason}")


def _decode_failure(exc: BaseException) -> SerializationError:
    # Our tag decoders' refusals come back wrapped in cbor2's error.
    if isinstance(exc.__cause__, SerializationError):
        return exc.__cause__.with_traceback(None)
    # cbor2's messages can quote map keys: only a fixed description is kept.
    message = str(exc)
    if isinstance(exc, CBORDecodeEOF):
        reason = "truncated"
    elif "nesting depth" in message:
        reason = f"nested deeper than {MAX_DEPTH} levels"
    elif "Duplicate map key" in message:
        reason = "a duplicate map key"
    elif "indefinite" in message:
        reason = "an indefinite-length item"
    elif "map key must be" in message:
        reason = "a map key that is not a string"
    elif isinstance(exc.__cause__, UnicodeError):
        reason = "text that is not UTF-8"
    else:
        reason = f"malformed ({type(exc).__name__})"
    return SerializationError(f"not valid CBOR session data: {reason}")


def _as_bytes(data: object) -> bytes:
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise SerializationError(f"CBOR session data must be bytes, not {type(data).__name__}")


class CborEncoder(BaseEncoder):
    """Compact binary CBOR (RFC 8949), for data JSON cannot hold.

    Select it with ``serializer="cbor"``. What comes back for what is stored:

    ======================================  ===========================  ==================
    stored                                  CBOR                         read back
    ======================================  ===========================  ==================
    ``dict`` (``str`` or ``bytes`` keys)    map                          ``dict``
    ``list``, ``tuple``                     array                        ``list``
    ``str``, ``bytes``                      text, byte string            same
    ``int`` (any size)                      integer, tags 2/3 (bignum)   ``int``
    ``float`` (NaN, infinities too)         float                        ``float``
    ``bool``, ``None``                      simple values                same
    aware ``datetime``                      tag 0 (ISO 8601 text)        ``datetime``
    ``date``                                tag 1004 (RFC 8943)          ``date``
    ``UUID``                                tag 37                       ``UUID``
    finite ``Decimal``                      tag 4 (decimal fraction)     ``Decimal``
    ``set``                                 tag 258                      ``set``
    ``frozenset``                           tag 0x6A730001 (private)     ``frozenset``
    ======================================  ===========================  ==================

    A datetime keeps its instant, microseconds and UTC offset; its zone
    comes back as a fixed-offset :class:`datetime.timezone` (a ``ZoneInfo``
    name is not stored). A Decimal keeps its digits and exponent
    (``Decimal("1.10")`` stays ``1.10``); ``Decimal("-0")`` comes back as
    ``Decimal("0")``, which compares equal. Subclasses of these types (an
    ``IntEnum``, an ``OrderedDict``) are stored as their base type.

    Refused with :class:`~jamsession.UnsupportedTypeError`, before anything
    is written: naive datetimes (attach a timezone: a guessed one would
    shift the instant), NaN or infinite Decimals and those of more than
    1000 digits, mapping keys other than ``str``/``bytes``, set elements
    other than ``str``, ``bytes`` and integers within ±(2**61 - 2), nesting
    deeper than Python's recursion limit, and every other type.

    Reading is safe on untrusted bytes: anything that is not data this
    serializer could have written (truncated, trailing bytes, other tags,
    deep nesting, huge declared lengths) raises
    :class:`~jamsession.SerializationError` in time and memory bounded by
    the input's length, and builds no object outside the table above.

    .. versionadded:: 0.1
    """

    binary = True
    supported_types = (
        dict,
        list,
        str,
        int,
        float,
        bool,
        type(None),
        bytes,
        datetime,
        date,
        UUID,
        Decimal,
        set,
        frozenset,
    )

    @classmethod
    def dumps(cls, data: dict[str, Any], /) -> bytes:
        """Encode ``data`` as CBOR.

        Raises:
            UnsupportedTypeError: ``data`` holds a value the serializer refuses.
        """
        if not isinstance(data, dict):
            raise UnsupportedTypeError(f"session data must be a dict, not {type(data).__name__}")
        try:
            return _cbor_dumps(data, encoders=ENCODERS)
        except UnsupportedTypeError:
            raise
        except (CBORError, TypeError, ValueError, OverflowError, RecursionError) as exc:
            failure = _encode_failure(exc)
        # Raised outside the handler: the library's exception, which can quote
        # session data, is neither the cause nor the context.
        failure.__cause__ = failure.__context__ = None
        raise failure

    @classmethod
    def loads(cls, data: str | bytes, /) -> dict[str, Any]:
        """Decode CBOR bytes written by :meth:`dumps`.

        Raises:
            SerializationError: ``data`` is not CBOR this serializer could have written.
        """
        if not isinstance(data, bytes):
            data = _as_bytes(data)
        stream = BytesIO(data)
        try:
            result = CBORDecoder(
                stream,
                semantic_decoders=TAG_DECODERS,
                str_errors="strict",
                max_depth=MAX_DEPTH,
                allow_indefinite=False,
                allow_duplicate_keys=False,
                strict_hashable_types=True,
            ).decode()
        except SerializationError:
            raise
        except (CBORError, TypeError, ValueError, OverflowError, LookupError) as exc:
            failure = _decode_failure(exc)
        else:
            # The decoder leaves the stream just after the item it read.
            if stream.tell() == len(data):
                return check_result(result)
            failure = SerializationError("not valid CBOR session data: trailing bytes after the data")
        # Raised outside the handler: cbor2's exception, which can quote map
        # keys, is neither the cause nor the context.
        failure.__cause__ = failure.__context__ = None
        raise failure
