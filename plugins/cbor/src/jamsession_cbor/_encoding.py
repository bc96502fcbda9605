"""The write side: which Python values become which CBOR items, and which are refused.

cbor2 looks up ``encoders[type(value)]`` for every value it writes, map keys
and set elements included, before any of its own rules. The table below maps
each accepted type to cbor2's compiled encoding method (or to a short check
in front of it), and answers every other type with a refusal. So nothing
reaches cbor2's built-in rules, which would otherwise write fractions, IP
addresses, regular expressions, e-mail messages, ``undefined``, raw tags and
any object that merely looks like a mapping or a sequence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NoReturn
from uuid import UUID

from cbor2 import CBOREncoder

from jamsession import UnsupportedTypeError

#: A Decimal with more significant digits than this is refused: converting a
#: long mantissa back into a Decimal costs time quadratic in its length, so the
#: reader caps it too, and this keeps every value written readable.
MAX_DECIMAL_DIGITS = 1000

#: Integers in sets stay within this bound. Python hashes these to themselves
#: (-1 aside), so a set read back cannot be crafted into a hash-collision
#: flood; larger integers, floats, UUIDs and tuples can be.
MAX_SET_INT = 2**61 - 2

#: Wraps the elements of a frozenset. Not in the IANA registry: a number from
#: its first-come-first-served range, private to jamsession. (Tag 258, the
#: registered set, is what a ``set`` is written as.)
TAG_FROZENSET = 0x6A730001

#: RFC 8949's standard date/time string.
TAG_DATETIME_STRING = 0

Encode = Callable[[CBOREncoder, Any], object]


def refuse(value: object, reason: str | None = None) -> NoReturn:
    """Raise :class:`~jamsession.UnsupportedTypeError` naming the type, never the value."""
    name = type(value).__name__
    raise UnsupportedTypeError(
        f"the CBOR serializer cannot store this {name}: {reason}"
        if reason
        else f"the CBOR serializer cannot store values of type {name}; convert them to a supported type"
    )


def is_set_element(value: object) -> bool:
    """Whether ``value`` may be a member of a stored set (the reader applies the same test)."""
    if isinstance(value, (str, bytes)):
        return True
    # bool is an int, and True and False hash to 1 and 0.
    return isinstance(value, int) and -MAX_SET_INT <= value <= MAX_SET_INT


_PLAIN_KEY_TYPES = frozenset({str, bytes})


def _has_plain_keys(mapping: Iterable[object]) -> bool:
    # The common case, str keys only, is decided without a Python-level loop.
    return _PLAIN_KEY_TYPES.issuperset(map(type, mapping)) or all(
        isinstance(key, (str, bytes)) for key in mapping
    )


def _encode_dict(encoder: CBOREncoder, value: dict[Any, Any]) -> None:
    if not _has_plain_keys(value):
        # Text and byte-string keys only: their hashes are randomized, so a
        # stored map cannot be crafted into a hash-collision flood.
        refuse(value, "mapping keys must be str (or bytes)")
    encoder.encode_map(value)


def _encode_none(encoder: CBOREncoder, _value: None) -> None:
    encoder.encode_none()


def _encode_datetime(encoder: CBOREncoder, value: datetime) -> None:
    offset = value.utcoffset()
    if offset is None:
        # Guessing a zone would silently move the instant.
        refuse(value, "naive datetimes are refused; attach a timezone (e.g. tzinfo=timezone.utc)")
    if offset.microseconds:
        refuse(value, "UTC offsets with fractions of a second are refused")
    # Python's own ISO format, which datetime.fromisoformat reads back exactly:
    # RFC 3339 for whole-minute offsets, "+HH:MM:SS" for historical ones
    # (cbor2's encode_datetime garbles offsets under a minute).
    text = value.isoformat()
    encoder.encode_semantic(TAG_DATETIME_STRING, text[:-6] + "Z" if not offset else text)


def _encode_decimal(encoder: CBOREncoder, value: Decimal) -> None:
    if not value.is_finite():
        # cbor2 would write NaN and infinities as floats: another type on the way back.
        refuse(value, "NaN and infinite Decimals are refused")
    if len(value.as_tuple().digits) > MAX_DECIMAL_DIGITS:
        refuse(value, f"more than {MAX_DECIMAL_DIGITS} significant digits")
    encoder.encode_decimal(value)


def _encode_set(encoder: CBOREncoder, value: set[Any] | frozenset[Any]) -> None:
    for element in value:
        if not is_set_element(element):
            kind = type(element).__name__
            refuse(value, f"set elements must be str, bytes or int within ±(2**61 - 2), not {kind}")
    if isinstance(value, set):
        encoder.encode_set(value)
    else:
        # CBOR has one set type; a tag of our own keeps frozensets frozen.
        encoder.encode_semantic(TAG_FROZENSET, list(value))


def _refuse_value(_encoder: CBOREncoder, value: object) -> NoReturn:
    refuse(value)


class _EncoderTable(dict[type, Encode]):
    """Exact types map to their encoder; subclasses to their base's; the rest are refused."""

    def __missing__(self, cls: type) -> Encode:
        # Like the json module: an IntEnum is written as an int, an
        # OrderedDict as a dict; they come back as the base type.
        for base in cls.__mro__[1:]:
            encode = self.get(base)
            if encode is not None:
                return encode
        return _refuse_value


ENCODERS = _EncoderTable(
    {
        dict: _encode_dict,
        list: CBOREncoder.encode_array,
        tuple: CBOREncoder.encode_array,
        str: CBOREncoder.encode_string,
        int: CBOREncoder.encode_int,
        bool: CBOREncoder.encode_bool,
        float: CBOREncoder.encode_float,
        type(None): _encode_none,
        bytes: CBOREncoder.encode_bytes,
        datetime: _encode_datetime,
        date: CBOREncoder.encode_date,
        UUID: CBOREncoder.encode_uuid,
        Decimal: _encode_decimal,
        set: _encode_set,
        frozenset: _encode_set,
    }
)
