import contextlib
import enum
import json
import math
import struct
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jamsession import JsonEncoder, SerializationError, UnsupportedTypeError
from jamsession.testing import SerializerConformance

json_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)))
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats(allow_nan=False, allow_infinity=False)
    | json_text,
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


class TestJsonConformance(SerializerConformance):
    @pytest.fixture
    def serializer(self) -> type[JsonEncoder]:
        return JsonEncoder


@given(st.dictionaries(json_text, json_values))
def test_results_are_the_standard_library_s(data: dict[str, object]) -> None:
    standard = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    assert json.loads(standard) == json.loads(JsonEncoder.dumps(data))
    assert json.loads(standard) == JsonEncoder.loads(standard)


@given(st.binary())
def test_loads_of_arbitrary_bytes_gives_a_dict_or_the_typed_error(blob: bytes) -> None:
    with contextlib.suppress(SerializationError):
        assert isinstance(JsonEncoder.loads(blob), dict)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_are_refused(value: float) -> None:
    with pytest.raises(UnsupportedTypeError):
        JsonEncoder.dumps({"v": value})


@pytest.mark.parametrize("text", ['{"v": NaN}', '{"v": Infinity}'])
def test_non_finite_constants_are_not_read(text: str) -> None:
    with pytest.raises(SerializationError):
        JsonEncoder.loads(text)


def test_non_string_keys_are_refused_not_converted() -> None:
    with pytest.raises(UnsupportedTypeError):
        JsonEncoder.dumps({1: "one"})  # type: ignore[dict-item]


def test_lone_surrogates_are_refused() -> None:
    with pytest.raises(UnsupportedTypeError):
        JsonEncoder.dumps({"v": "\ud800"})


def test_output_is_compact_utf8() -> None:
    assert '{"name":"Zoë","n":[1,2]}'.encode() == JsonEncoder.dumps({"name": "Zoë", "n": [1, 2]})


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Mode(enum.StrEnum):
    DARK = "dark"


# orjson writes each of these without complaint, as a string, a number or null.
QUIETLY_CONVERTED = [Colour.RED, Level.HIGH, Mode.DARK, uuid.UUID(int=7), math.nan, -math.inf]


@pytest.mark.parametrize("value", QUIETLY_CONVERTED, ids=repr)
@pytest.mark.parametrize(
    "wrap",
    [
        lambda v: {"v": v},
        lambda v: {"a": None, "b": [1.5, {"c": ("x", [None, v])}]},
        lambda v: {"deep": [[[[[[{"v": v}]]]]]], "f": 0.5},
    ],
    ids=["top", "nested-with-none-and-floats", "deep"],
)
def test_values_orjson_would_convert_are_refused_at_any_depth(value: object, wrap: object) -> None:
    with pytest.raises(UnsupportedTypeError):
        JsonEncoder.dumps(wrap(value))  # type: ignore[operator]


def test_shared_values_are_written_each_time_they_appear() -> None:
    shared = {"k": [1, 2.5, None]}
    data = {"a": shared, "b": [shared, shared]}
    assert data == json.loads(JsonEncoder.dumps(data))


@pytest.mark.parametrize("number", [2**64, -(2**63) - 1, 10**40, -(10**40)])
def test_integers_past_64_bits_are_read_exactly(number: int) -> None:
    text = json.dumps({"n": number, "f": 1.5})
    assert {"n": number, "f": 1.5} == JsonEncoder.loads(text)
    assert {"n": number} == JsonEncoder.loads(JsonEncoder.dumps({"n": number}))


def _float_from_bits(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]  # type: ignore[no-any-return]


# NaNs with other payloads and signs than math.nan's, and the infinities.
NON_FINITE_BITS = [
    0x7FF8000000000000,
    0xFFF8000000000000,
    0x7FF0000000000001,
    0x7FFFFFFFFFFFFFFF,
    0x7FF0000000000000,
]


@pytest.mark.parametrize("bits", NON_FINITE_BITS, ids=hex)
def test_every_nan_and_infinity_is_refused_whatever_its_bits(bits: int) -> None:
    value = _float_from_bits(bits)
    with pytest.raises(UnsupportedTypeError):
        JsonEncoder.dumps({"flash": None, "scores": [-1, 1.5, {"v": value}]})


@pytest.mark.parametrize(
    "value",
    # Bytes 0x7f and 0xff in the packed form, where no non-finite float is.
    [-1, -(2**31), 32752, -32752, _float_from_bits(0x7FEFFFFFFFFFFFFF), -1.7976931348623157e308, 1e-310],
    ids=repr,
)
def test_finite_numbers_that_look_like_non_finite_floats_are_written(value: float) -> None:
    data = {"flash": None, "v": [value, -1.0, None]}
    assert data == json.loads(JsonEncoder.dumps(data))


@given(
    st.dictionaries(
        st.text(max_size=3),
        st.lists(st.none() | st.floats() | st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=6),
    )
)
def test_floats_are_written_exactly_when_all_are_finite(data: dict[str, list[float | int | None]]) -> None:
    values = [value for values in data.values() for value in values]
    if all(not isinstance(value, float) or math.isfinite(value) for value in values):
        assert data == json.loads(JsonEncoder.dumps(data))
    else:
        with pytest.raises(UnsupportedTypeError):
            JsonEncoder.dumps(data)


def _nested(levels: int) -> dict[str, object]:
    data: dict[str, object] = {}
    inner: dict[str, object] | list[object] = data
    for level in range(levels):
        child: dict[str, object] | list[object] = {} if level % 2 else []
        if isinstance(inner, dict):
            inner["v"] = child
        else:
            inner.append(child)
        inner = child
    return data


@pytest.mark.parametrize("levels", [254, 255, 1000])
def test_nesting_is_written_up_to_orjson_s_limit_and_refused_past_it(levels: int) -> None:
    deepest = _nested(253)
    assert deepest == json.loads(JsonEncoder.dumps(deepest))
    with pytest.raises(UnsupportedTypeError):
        JsonEncoder.dumps(_nested(levels))
