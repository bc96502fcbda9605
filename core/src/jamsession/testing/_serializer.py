"""``SerializerConformance``: what every serializer guarantees, for its declared type set."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any, ClassVar

import pytest

from jamsession._errors import SerializationError, UnsupportedTypeError
from jamsession._serializer import BaseEncoder

#: Values of each type a serializer may declare; every declared type must round-trip them exactly.
SAMPLES: dict[type, list[Any]] = {
    dict: [{}, {"a": {"b": {"c": [1, {"d": None}]}}}, {"": 0, "ключ": "значение"}],
    list: [[], [1, "two", [3.0, None]], [[[[]]]]],
    str: ["", "plain", "Zoë 😀 ∑", 'quote" back\\slash \n\t\x00', "x" * 10_000],
    int: [0, -1, 2**31, -(2**53), 2**63 - 1, 2**64, -(2**100)],
    float: [0.0, -1.5, 1e300, 5e-324, 0.1],
    bool: [True, False],
    type(None): [None],
    bytes: [b"", b"\x00\xff" * 100],
    dt.datetime: [
        dt.datetime(2026, 11, 27, 12, 30, 1, 123456, tzinfo=dt.UTC),
        dt.datetime(2001, 2, 3, 4, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    ],
    dt.date: [dt.date(2026, 11, 27), dt.date(1, 1, 1)],
    uuid.UUID: [uuid.UUID("12345678-1234-5678-1234-567812345678")],
    decimal.Decimal: [decimal.Decimal("3.14159"), decimal.Decimal("-1E+30")],
    set: [set(), {"a", "b"}],
    frozenset: [frozenset({1, 2})],
    tuple: [(), (1, "a")],
}

#: Values no serializer supports.
ALWAYS_UNSUPPORTED = [object(), complex(1, 2), Ellipsis, lambda: None]

GARBAGE = [b"", b"\xff", b"\x00\x00\x00", b"\x80\x81\x82", b"not session data", b"[1, 2", bytes(range(256))]


class SerializerConformance:
    """What every serializer guarantees; subclass it and provide a ``serializer`` fixture.

    The types tested are exactly the serializer's ``supported_types``: each
    must round-trip with value and type intact; every other type in
    :data:`SAMPLES` (but ``tuple``, which JSON-like formats may write as a
    list) must raise :class:`~jamsession.UnsupportedTypeError`.

    .. versionadded:: 0.1
    """

    pytestmark: ClassVar[list[pytest.MarkDecorator]] = []

    def test_declares_its_types(self, serializer: BaseEncoder) -> None:
        assert serializer.supported_types
        assert dict in serializer.supported_types

    def test_dumps_gives_bytes(self, serializer: BaseEncoder) -> None:
        assert isinstance(serializer.dumps({"a": 1}), bytes)

    def test_text_serializers_write_utf8(self, serializer: BaseEncoder) -> None:
        if serializer.binary:
            pytest.skip("binary serializer")
        text = serializer.dumps({"name": "Zoë 😀"}).decode("utf-8")
        assert {"name": "Zoë 😀"} == serializer.loads(text)

    def test_declared_types_round_trip_exactly(self, serializer: BaseEncoder) -> None:
        for kind in serializer.supported_types:
            for value in SAMPLES.get(kind, []):
                result = serializer.loads(serializer.dumps({"v": value}))["v"]
                assert value == result, kind
                assert type(value) is type(result), kind

    def test_declared_types_round_trip_nested(self, serializer: BaseEncoder) -> None:
        data = {
            kind.__name__: [SAMPLES[kind][-1]]
            for kind in serializer.supported_types
            if kind in SAMPLES and kind not in (set, frozenset)
        }
        assert data == serializer.loads(serializer.dumps(data))

    def test_undeclared_types_are_refused(self, serializer: BaseEncoder) -> None:
        for kind, values in SAMPLES.items():
            if kind in serializer.supported_types or kind is tuple:
                continue
            for value in values:
                with pytest.raises(UnsupportedTypeError):
                    serializer.dumps({"v": value})

    def test_unsupported_values_raise_a_typed_error(self, serializer: BaseEncoder) -> None:
        for value in ALWAYS_UNSUPPORTED:
            with pytest.raises(UnsupportedTypeError):
                serializer.dumps({"v": value})

    def test_naive_datetimes_are_never_silently_shifted(self, serializer: BaseEncoder) -> None:
        naive = dt.datetime(2026, 11, 27, 12, 0)
        try:
            result = serializer.loads(serializer.dumps({"v": naive}))["v"]
        except UnsupportedTypeError:
            return
        assert naive == result

    def test_deep_nesting_gives_a_typed_error_or_round_trips(self, serializer: BaseEncoder) -> None:
        deep: Any = []
        for _ in range(100_000):
            deep = [deep]
        try:
            blob = serializer.dumps({"v": deep})
        except UnsupportedTypeError:
            return
        try:
            result = serializer.loads(blob)
        except SerializationError:
            return
        # Compared level by level: ``==`` would recurse past the interpreter's limit.
        depth, level = 0, result["v"]
        while isinstance(level, list) and 1 == len(level):
            depth, level = depth + 1, level[0]
        assert ([], 100_000) == (level, depth)

    def test_data_that_contains_itself_gives_a_typed_error(self, serializer: BaseEncoder) -> None:
        looped: dict[str, Any] = {"n": 1}
        looped["self"] = looped
        listed: list[Any] = [1]
        listed.append(listed)
        for data in (looped, {"v": listed}, {"v": (1, [listed])}):
            with pytest.raises(UnsupportedTypeError):
                serializer.dumps(data)

    def test_garbage_gives_a_serialization_error(self, serializer: BaseEncoder) -> None:
        for blob in GARBAGE:
            with pytest.raises(SerializationError):
                serializer.loads(blob)

    def test_truncated_data_gives_a_serialization_error(self, serializer: BaseEncoder) -> None:
        blob = serializer.dumps({"user": 42, "roles": ["admin"], "name": "Zoë"})
        for end in range(len(blob)):
            with pytest.raises(SerializationError):
                serializer.loads(blob[:end])

    def test_trailing_garbage_is_refused(self, serializer: BaseEncoder) -> None:
        blob = serializer.dumps({"v": [1, 2]})
        with pytest.raises(SerializationError):
            serializer.loads(blob + blob)
