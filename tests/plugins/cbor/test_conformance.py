import pytest

from jamsession.testing import SerializerConformance
from jamsession_cbor import CborEncoder


class TestCborConformance(SerializerConformance):
    @pytest.fixture
    def serializer(self) -> type[CborEncoder]:
        return CborEncoder
