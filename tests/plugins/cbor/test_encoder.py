"""What the CBOR serializer writes for each type, what comes back, and what it refuses."""

import array
import collections
import datetime as dt
import decimal
import enum
import fractions
import importlib
import importlib.machinery
import ipaddress
import math
import pathlib
import re
import uuid
import zoneinfo
from collections.abc import Iterator, Mapping
from email.mime.text import MIMEText
from typing import Any, NamedTuple

import cbor2
import pytest

from jamsession import SerializationError, UnsupportedTypeError
from jamsession_cbor import CborEncoder, _encoder


def round_trip(value: object) -> Any:
    return CborEncoder.loads(CborEncoder.dumps({"v": value}))["v"]


class Colour(enum.IntEnum):
    RED = 1


class Role(enum.StrEnum):
    ADMIN = "admin"


class Point(NamedTuple):
    x: int
    y: int


class Plain(enum.Enum):
    A = 1


class LooksLikeAMapping(Mapping[str, int]):
    def __getitem__(self, key: str) -> int:
        return 1

    def __iter__(self) -> Iterator[str]:
        return iter(["k"])

    def __len__(self) -> int:
        return 1


class Secretive:
    def __repr__(self) -> str:
        return "hunter2"


def test_a_session_is_plain_cbor_other_readers_understand() -> None:
    when = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
    token = uuid.UUID("12345678-1234-5678-1234-567812345678")
    data = {"a": 1, "when": when, "id": token, "day": when.date(), "blob": b"\x00"}
    blob = CborEncoder.dumps(data)
    assert data == cbor2.loads(blob)
    assert bytes.fromhex("a1616101") == CborEncoder.dumps({"a": 1})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ((1, "a", (2,)), [1, "a", [2]]),
        (Point(1, 2), [1, 2]),
        (Colour.RED, 1),
        (Role.ADMIN, "admin"),
        (collections.OrderedDict(b=1, a=2), {"b": 1, "a": 2}),
        (collections.defaultdict(int, a=1), {"a": 1}),
    ],
    ids=["tuple", "namedtuple", "IntEnum", "StrEnum", "OrderedDict", "defaultdict"],
)
def test_tuples_and_subclasses_come_back_as_their_base_type(value: object, expected: object) -> None:
    result = round_trip(value)
    assert expected == result
    assert type(expected) is type(result)


def test_an_aware_datetime_keeps_instant_microseconds_and_offset() -> None:
    paris = dt.datetime(2026, 7, 14, 9, 30, 5, 123456, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
    result = round_trip(paris)
    assert paris == result
    assert 123456 == result.microsecond
    assert dt.timezone(dt.timedelta(hours=2)) == result.tzinfo


def test_a_naive_datetime_is_refused_rather_than_shifted() -> None:
    with pytest.raises(UnsupportedTypeError, match="naive"):
        CborEncoder.dumps({"v": dt.datetime(2026, 11, 27, 12, 0)})


@pytest.mark.parametrize(
    ("offset", "text"),
    [
        (dt.timedelta(0), "2026-11-27T12:00:00Z"),
        (dt.timedelta(hours=-5, minutes=-30), "2026-11-27T12:00:00-05:30"),
        (dt.timedelta(seconds=30), "2026-11-27T12:00:00+00:00:30"),
        (dt.timedelta(minutes=9, seconds=21), "2026-11-27T12:00:00+00:09:21"),
    ],
)
def test_datetimes_are_written_as_iso_text(offset: dt.timedelta, text: str) -> None:
    when = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone(offset))
    assert cbor2.dumps({"v": cbor2.CBORTag(0, text)}) == CborEncoder.dumps({"v": when})
    assert offset == round_trip(when).utcoffset()


def test_sub_second_utc_offsets_are_refused() -> None:
    odd = dt.timezone(dt.timedelta(microseconds=1))
    with pytest.raises(UnsupportedTypeError, match="fractions of a second"):
        CborEncoder.dumps({"v": dt.datetime(2026, 1, 1, tzinfo=odd)})


@pytest.mark.parametrize("text", ["1.10", "-0.000", "1E+100000", "-1.5E-7", "9" * 1000])
def test_a_decimal_keeps_its_digits_and_exponent(text: str) -> None:
    result = round_trip(decimal.Decimal(text))
    assert decimal.Decimal(text).as_tuple()[1:] == result.as_tuple()[1:]


def test_negative_zero_decimal_comes_back_as_zero() -> None:
    assert "0" == str(round_trip(decimal.Decimal("-0")))


@pytest.mark.parametrize("value", [2**64, -(2**64) - 1, 2**4000, -(2**4000)])
def test_big_integers_round_trip(value: int) -> None:
    assert value == round_trip(value)


def test_non_finite_floats_round_trip() -> None:
    assert math.isnan(round_trip(math.nan))
    assert [math.inf, -math.inf] == round_trip([math.inf, -math.inf])


def test_sets_hold_strings_bytes_and_small_integers() -> None:
    value = {"a", b"b", 0, -1, 2**61 - 2, -(2**61 - 2), True}
    assert value == round_trip(value)
    assert frozenset(value) == round_trip(frozenset(value))
    assert type(round_trip(frozenset(value))) is frozenset


@pytest.mark.parametrize(
    "element", [1.5, 2**61 - 1, -(2**61 - 1), 2**100, (1, 2), frozenset(), uuid.UUID(int=1), None]
)
def test_set_elements_whose_hashes_can_be_forged_are_refused(element: object) -> None:
    with pytest.raises(UnsupportedTypeError, match="set elements"):
        CborEncoder.dumps({"v": {element}})


def test_byte_string_keys_are_accepted() -> None:
    assert {b"k": 1, "s": 2} == round_trip({b"k": 1, "s": 2})


@pytest.mark.parametrize("key", [1, 1.5, (1, 2), None, True, uuid.UUID(int=1)])
def test_keys_other_than_strings_are_refused(key: object) -> None:
    with pytest.raises(UnsupportedTypeError, match="keys"):
        CborEncoder.dumps({"v": {key: 1}})


@pytest.mark.parametrize(
    "value",
    [
        dt.time(12, 0),
        dt.timedelta(seconds=1),
        fractions.Fraction(1, 3),
        ipaddress.ip_address("192.0.2.1"),
        ipaddress.ip_network("192.0.2.0/24"),
        re.compile("a+"),
        MIMEText("hello"),
        complex(1, 2),
        bytearray(b"x"),
        memoryview(b"x"),
        range(3),
        collections.deque([1]),
        collections.UserDict(a=1),
        collections.UserList([1]),
        LooksLikeAMapping(),
        array.array("i", [1]),
        cbor2.CBORTag(99, 1),
        cbor2.CBORSimpleValue(5),
        cbor2.undefined,
        decimal.Decimal("NaN"),
        decimal.Decimal("sNaN"),
        decimal.Decimal("-Infinity"),
        decimal.Decimal("1" * 1001),
        pathlib.PurePosixPath("relative"),
        Plain.A,
        iter([1]),
        Secretive(),
    ],
    ids=lambda value: type(value).__name__,
)
def test_types_outside_the_table_are_refused_before_anything_is_written(value: object) -> None:
    with pytest.raises(UnsupportedTypeError):
        CborEncoder.dumps({"v": value})


def test_cycles_and_lone_surrogates_are_refused() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(UnsupportedTypeError, match="holds itself"):
        CborEncoder.dumps({"v": loop})
    with pytest.raises(UnsupportedTypeError, match="surrogate"):
        CborEncoder.dumps({"v": "\ud800"})


def test_only_dicts_are_session_data() -> None:
    with pytest.raises(UnsupportedTypeError):
        CborEncoder.dumps([1])  # type: ignore[arg-type]


def test_errors_name_the_type_never_the_value() -> None:
    with pytest.raises(UnsupportedTypeError) as refused:
        CborEncoder.dumps({"v": Secretive()})
    assert "hunter2" not in str(refused.value)
    key = cbor2.dumps("hunter2")
    duplicate = bytes.fromhex("a2") + key + bytes.fromhex("01") + key + bytes.fromhex("02")
    with pytest.raises(SerializationError) as unreadable:
        CborEncoder.loads(duplicate)
    assert "duplicate" in str(unreadable.value)
    assert "hunter2" not in str(unreadable.value)
    assert unreadable.value.__cause__ is None
    assert unreadable.value.__context__ is None


@pytest.mark.parametrize("blob", [bytearray(b"\xa1\x61a\x01"), memoryview(b"\xa1\x61a\x01")])
def test_loads_accepts_any_bytes_like_object(blob: bytes) -> None:
    assert {"a": 1} == CborEncoder.loads(blob)


def test_loads_refuses_text() -> None:
    with pytest.raises(SerializationError, match="bytes"):
        CborEncoder.loads("\xa1\x61a\x01")


def test_the_compiled_cbor2_extension_does_the_work() -> None:
    compiled = importlib.import_module("cbor2._cbor2")
    assert any(str(compiled.__file__).endswith(suffix) for suffix in importlib.machinery.EXTENSION_SUFFIXES)
    assert compiled.dumps is vars(_encoder)["_cbor_dumps"]
    assert compiled.CBORDecoder is vars(_encoder)["CBORDecoder"]
