"""Untrusted bytes: the typed error or a dict of supported types, never anything else."""

import contextlib
import datetime as dt
import decimal
import tracemalloc
import uuid
import zoneinfo
from typing import Any

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jamsession import SerializationError
from jamsession_cbor import CborEncoder

SUPPORTED = CborEncoder.supported_types
ZONES = [
    zoneinfo.ZoneInfo(name)
    for name in ("Europe/Paris", "America/St_Johns", "Asia/Kathmandu", "Australia/Lord_Howe")
]

# Fixed offsets: a zone's name is not stored (the offset is), and a ZoneInfo
# datetime in a repeated hour never compares equal to one in another zone.
fixed_offsets = st.builds(
    dt.timezone,
    st.integers(-86399, 86399).map(lambda seconds: dt.timedelta(seconds=seconds)),
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**300), max_value=2**300)
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
    | st.datetimes(timezones=fixed_offsets)
    | st.dates()
    | st.uuids()
    | st.decimals(allow_nan=False, allow_infinity=False)
)
set_elements = st.text() | st.binary() | st.integers(min_value=-(2**61 - 2), max_value=2**61 - 2)
keys = st.text() | st.binary()
values = st.recursive(
    scalars | st.sets(set_elements) | st.frozensets(set_elements),
    lambda children: st.lists(children) | st.dictionaries(keys, children),
    max_leaves=12,
)
sessions = st.dictionaries(st.text(), values)


def assert_supported(value: object) -> None:
    """Every value in ``value`` is of a declared type; dict keys are strings."""
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        assert type(item) in SUPPORTED, type(item)
        if type(item) is dict:
            assert all(type(key) in (str, bytes) for key in item)
            pending.extend(item.values())
        elif type(item) in (list, set, frozenset):
            pending.extend(item)


def round_trip(value: object) -> Any:
    return CborEncoder.loads(CborEncoder.dumps({"v": value}))["v"]


def load_or_refuse(blob: bytes) -> None:
    with contextlib.suppress(SerializationError):
        result = CborEncoder.loads(blob)
        assert type(result) is dict
        assert_supported(result)


@given(sessions)
def test_generated_sessions_round_trip(data: dict[str, Any]) -> None:
    result = CborEncoder.loads(CborEncoder.dumps(data))
    assert data == result
    assert_supported(result)


@given(st.datetimes(timezones=st.sampled_from(ZONES)))
def test_zoned_datetimes_keep_their_instant_and_offset(when: dt.datetime) -> None:
    result = round_trip(when)
    assert dt.timedelta(0) == result - when
    assert when.utcoffset() == result.utcoffset()


@given(st.binary())
def test_arbitrary_bytes_give_a_dict_or_the_typed_error(blob: bytes) -> None:
    load_or_refuse(blob)


@given(sessions, st.data())
def test_corrupted_sessions_give_a_dict_or_the_typed_error(data: dict[str, Any], draw: st.DataObject) -> None:
    blob = bytearray(CborEncoder.dumps(data))
    for _ in range(draw.draw(st.integers(1, 4))):
        position = draw.draw(st.integers(0, len(blob) - 1))
        blob[position] = draw.draw(st.integers(0, 255))
    cut = draw.draw(st.integers(0, len(blob)))
    load_or_refuse(bytes(blob[:cut]) + draw.draw(st.binary(max_size=4)))


def tagged(tag: int, value: object) -> bytes:
    """``{"v": tag(value)}`` as cbor2 writes it, bypassing our encoder's refusals."""
    return cbor2.dumps({"v": cbor2.CBORTag(tag, value)})


def in_session(item: bytes) -> bytes:
    return bytes.fromhex("a16176") + item


HUGE = bytes.fromhex("7fffffffffffffff")

HOSTILE = {
    "trailing garbage": CborEncoder.dumps({"a": 1}) + b"\x00",
    "two sessions": CborEncoder.dumps({"a": 1}) * 2,
    "top-level array": cbor2.dumps([1]),
    "top-level tagged map": cbor2.dumps(cbor2.CBORTag(55799, {})),
    "deep arrays": in_session(b"\x81" * 100_000 + b"\x01"),
    "deep maps": bytes.fromhex("a16176") * 100_000 + b"\x01",
    "deep tags": in_session(bytes.fromhex("d825") * 100_000 + b"\x01"),
    "huge byte string": in_session(b"\x5b" + HUGE),
    "huge text string": in_session(b"\x7b" + HUGE),
    "huge array": in_session(b"\x9b" + HUGE + b"\x01"),
    "huge map": in_session(b"\xbb" + HUGE + b"\x61a\x01"),
    "huge tag number": in_session(b"\xdb" + b"\xff" * 8 + b"\x01"),
    "indefinite array": in_session(b"\x9f\x01\xff"),
    "indefinite map": b"\xbf\x61a\x01\xff",
    "indefinite text": in_session(b"\x7f\x61a\xff"),
    "duplicate keys": bytes.fromhex("a2616101616102"),
    "integer key": bytes.fromhex("a10101"),
    "array key": bytes.fromhex("a1810101"),
    "map key": bytes.fromhex("a1a001"),
    "float key": bytes.fromhex("a1f93c0001"),
    "simple value": in_session(b"\xe5"),
    "simple value, two bytes": in_session(b"\xf8\x20"),
    "undefined": in_session(b"\xf7"),
    "lone break": in_session(b"\xff"),
    "reserved additional info": in_session(b"\x1c"),
    "invalid UTF-8": in_session(b"\x62\xff\xfe"),
    "UTF-8 surrogate": in_session(b"\x63\xed\xa0\x80"),
    "epoch datetime": tagged(1, 0),
    "bigfloat": tagged(5, [1, 1]),
    "encoded CBOR": tagged(24, cbor2.dumps(1)),
    "string reference": tagged(25, 0),
    "string namespace": tagged(256, ["a", cbor2.CBORTag(25, 0)]),
    "perl object": tagged(26, ["Some::Class", 1]),
    "shareable": tagged(28, [1]),
    "shared reference": tagged(29, 0),
    "rational": tagged(30, [1, 3]),
    "regular expression": tagged(35, "(a+)+$"),
    "MIME message": tagged(36, "Content-Type: text/plain\n\nhi"),
    "IPv4 address": tagged(52, b"\x01\x02\x03\x04"),
    "IPv6 address": tagged(54, bytes(16)),
    "epoch date": tagged(100, 0),
    "IP address": tagged(260, b"\x01\x02\x03\x04"),
    "IP network": tagged(261, {b"\x0a": 8}),
    "complex": tagged(43000, [1.0, 2.0]),
    "self-described": tagged(55799, 1),
    "unknown tag": tagged(99, 1),
    "largest tag": tagged(2**64 - 1, 1),
    "naive datetime": tagged(0, "2026-11-27T12:00:00"),
    "date-only datetime": tagged(0, "2026-11-27"),
    "invalid datetime": tagged(0, "yesterday"),
    "datetime of a number": tagged(0, 1),
    "invalid date": tagged(1004, "2026-02-30"),
    "date of a number": tagged(1004, 20261127),
    "bignum of a string": tagged(2, "01"),
    "negative bignum of an array": tagged(3, [1]),
    "UUID of 15 bytes": tagged(37, bytes(15)),
    "UUID of text": tagged(37, "12345678-1234-5678-1234-567812345678"),
    "decimal of one item": tagged(4, [1]),
    "decimal of text": tagged(4, [0, "NaN"]),
    "decimal of a float": tagged(4, [0, 1.5]),
    "decimal, huge exponent": tagged(4, [10**18, 1]),
    "decimal, huge mantissa": tagged(4, [0, 2 ** (8 * 200_000)]),
    "set of a map": tagged(258, {"a": 1}),
    "set of arrays": tagged(258, [[1]]),
    "set of maps": tagged(258, [{}]),
    "set of floats": tagged(258, [1.5]),
    "set of UUIDs": tagged(258, [cbor2.CBORTag(37, bytes(16))]),
    "set of colliding integers": tagged(258, [k * (2**61 - 1) for k in range(1, 100)]),
    "set of sets": tagged(258, [cbor2.CBORTag(258, [])]),
    "frozenset of floats": tagged(0x6A730001, [1.5]),
}


@pytest.mark.parametrize("blob", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_input_gives_the_typed_error(blob: bytes) -> None:
    with pytest.raises(SerializationError):
        CborEncoder.loads(blob)


def test_a_huge_declared_length_allocates_little() -> None:
    tracemalloc.start()
    try:
        with pytest.raises(SerializationError):
            CborEncoder.loads(HOSTILE["huge byte string"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024


def test_well_formed_tags_are_read_as_their_types() -> None:
    blob = cbor2.dumps(
        {
            "when": cbor2.CBORTag(0, "2026-11-27T12:00:00+01:00"),
            "day": cbor2.CBORTag(1004, "2026-11-27"),
            "id": cbor2.CBORTag(37, bytes(16)),
            "amount": cbor2.CBORTag(4, [-2, 1099]),
            "big": cbor2.CBORTag(2, b"\x01" + bytes(8)),
            "small": cbor2.CBORTag(3, b"\x01" + bytes(8)),
            "tags": cbor2.CBORTag(258, ["a", b"b", 3]),
        }
    )
    assert {
        "when": dt.datetime(2026, 11, 27, 11, 0, tzinfo=dt.UTC),
        "day": dt.date(2026, 11, 27),
        "id": uuid.UUID(int=0),
        "amount": decimal.Decimal("10.99"),
        "big": 2**64,
        "small": -(2**64) - 1,
        "tags": {"a", b"b", 3},
    } == CborEncoder.loads(blob)
