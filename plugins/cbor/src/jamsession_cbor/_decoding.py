"""The read side: turning untrusted bytes into session data, or refusing them.

Stored bytes may be corrupted or written by someone else, so the reader
builds only the types the writer produces and refuses everything else with
:class:`~jamsession.SerializationError`, in time and memory bounded by the
input's length:

- cbor2's decoder is iterative (no Python recursion) and reads strings in
  bounded chunks, so a huge declared length on truncated input costs at most
  64 KiB before the end of input is hit; nesting is capped at
  :data:`MAX_DEPTH`.
- Only the tags the writer emits are honoured, by the decoders below; any
  other tag number, including cbor2's own (fractions, regular expressions,
  e-mail messages, IP addresses, shared and string references), is refused
  as soon as its number is read, before its content is decoded.
- Indefinite lengths and duplicate map keys, which the writer never produces,
  are refused; map keys must be text or byte strings and set elements small
  integers or strings, whose hashes cannot be made to collide in bulk.
- Simple values and ``undefined`` have no hook in cbor2; a final pass over the
  result refuses them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import MAX_EMAX, MIN_ETINY, Decimal
from typing import Any, NoReturn
from uuid import UUID

from jamsession import SerializationError
from jamsession_cbor._encoding import MAX_DECIMAL_DIGITS, TAG_DATETIME_STRING, TAG_FROZENSET, is_set_element

#: Deepest nesting read. Writing is bounded by Python's recursion limit
#: (1000 by default), well under this; reading the limit costs a few
#: hundred bytes per level.
MAX_DEPTH = 10_000

_DECIMAL_MANTISSA_BOUND = 10**MAX_DECIMAL_DIGITS

# Tag numbers (IANA CBOR tags registry) the writer emits.
TAG_POSITIVE_BIGNUM = 2
TAG_NEGATIVE_BIGNUM = 3
TAG_DECIMAL_FRACTION = 4  # [exponent, mantissa]
TAG_UUID = 37
TAG_SET = 258
TAG_DATE_STRING = 1004  # RFC 8943: full-date text


def malformed(what: str) -> NoReturn:
    raise SerializationError(f"not valid CBOR session data: {what}")


def _decode_datetime(value: Any, _immutable: bool) -> datetime:
    if type(value) is not str:
        malformed("a datetime tag must hold text")
    try:
        result = datetime.fromisoformat(value)
    except ValueError:
        malformed("a datetime tag holds an invalid timestamp")
    if result.utcoffset() is None:
        # The writer never stores naive datetimes; reading one would shift it silently.
        malformed("a datetime tag without a UTC offset")
    return result


def _decode_date(value: Any, _immutable: bool) -> date:
    if type(value) is not str:
        malformed("a date tag must hold text")
    try:
        return date.fromisoformat(value)
    except ValueError:
        malformed("a date tag holds an invalid date")


def _decode_positive_bignum(value: Any, _immutable: bool) -> int:
    if type(value) is not bytes:
        malformed("a bignum tag must hold a byte string")
    return int.from_bytes(value, "big")


def _decode_negative_bignum(value: Any, immutable: bool) -> int:
    return -1 - _decode_positive_bignum(value, immutable)


def _decode_decimal(value: Any, _immutable: bool) -> Decimal:
    if type(value) is not list or len(value) != 2:
        malformed("a decimal tag must hold [exponent, mantissa]")
    exponent, mantissa = value
    if type(exponent) is not int or type(mantissa) is not int:
        malformed("a decimal tag must hold two integers")
    if not MIN_ETINY <= exponent <= MAX_EMAX:
        malformed("a decimal exponent out of range")
    if not -_DECIMAL_MANTISSA_BOUND < mantissa < _DECIMAL_MANTISSA_BOUND:
        # Decimal(int) is quadratic in the number of digits.
        malformed(f"a decimal with more than {MAX_DECIMAL_DIGITS} digits")
    sign, digits, _ = Decimal(mantissa).as_tuple()
    try:
        return Decimal((sign, digits, exponent))
    except (ArithmeticError, ValueError):
        malformed("a decimal out of range")


def _decode_uuid(value: Any, _immutable: bool) -> UUID:
    if type(value) is not bytes or len(value) != 16:
        malformed("a UUID tag must hold 16 bytes")
    return UUID(bytes=value)


def _checked_elements(value: Any) -> list[Any]:
    if type(value) is not list:
        malformed("a set tag must hold an array")
    for element in value:
        if not is_set_element(element):
            malformed("a set element of a type the writer refuses")
    return value


def _decode_set(value: Any, _immutable: bool) -> set[Any]:
    return set(_checked_elements(value))


def _decode_frozenset(value: Any, _immutable: bool) -> frozenset[Any]:
    return frozenset(_checked_elements(value))


class _TagTable(dict[int, Callable[[Any, bool], Any]]):
    """The tags the writer emits; looking up any other refuses the input."""

    def __missing__(self, tag: int) -> NoReturn:
        # Raised during the lookup, so the tag's content is never decoded and
        # cbor2's built-in decoder for it never runs.
        malformed(f"CBOR tag {tag} is not one this serializer writes")


TAG_DECODERS = _TagTable(
    {
        TAG_DATETIME_STRING: _decode_datetime,
        TAG_POSITIVE_BIGNUM: _decode_positive_bignum,
        TAG_NEGATIVE_BIGNUM: _decode_negative_bignum,
        TAG_DECIMAL_FRACTION: _decode_decimal,
        TAG_UUID: _decode_uuid,
        TAG_SET: _decode_set,
        TAG_DATE_STRING: _decode_date,
        TAG_FROZENSET: _decode_frozenset,
    }
)

#: Types that can appear in a decoded result without further checks: the
#: tag decoders above have already checked what they built.
_LEAF_TYPES = frozenset(
    {str, int, float, bool, type(None), bytes, datetime, date, UUID, Decimal, set, frozenset}
)


def check_result(result: object) -> dict[Any, Any]:
    """Return ``result`` if it is a dict of the supported types, else refuse it.

    Iterative, so deep nesting costs no Python recursion.
    """
    if type(result) is not dict:
        malformed("the top-level item is not a map")
    leaf_types = _LEAF_TYPES
    pending: list[dict[Any, Any] | list[Any]] = [result]
    take, add = pending.pop, pending.append
    while pending:
        container = take()
        for item in container.values() if type(container) is dict else container:
            kind = type(item)
            if kind in leaf_types:
                continue
            if kind is dict or kind is list:
                add(item)
            else:
                # cbor2's simple values and ``undefined``.
                malformed("a CBOR simple value")
    return result
