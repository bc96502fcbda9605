import contextlib
import json
import math

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
