"""The storage API as documented: the dict backend in RecordSessionModule's docstring keeps the contract."""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

import jamsession
from jamsession import DuplicateSessionIdError, RecordSessionModule, StoredSession
from jamsession.testing import BackendConformance, StoreVariant, store_variants

PRIMITIVES = [
    "insert_record",
    "fetch_record",
    "replace_record",
    "move_record",
    "remove_record",
    "remove_key_records",
    "list_key_records",
    "purge_records",
]


def _documented_backend() -> type[RecordSessionModule]:
    doc = inspect.getdoc(RecordSessionModule) or ""
    example = doc.split("A backend over a dict, in full::", 1)[1].split("\n\n``jamsession new-plugin", 1)[0]
    namespace: dict[str, Any] = {
        "Any": Any,
        "DuplicateSessionIdError": DuplicateSessionIdError,
        "RecordSessionModule": RecordSessionModule,
        "StoredSession": StoredSession,
    }
    exec(textwrap.dedent(example), namespace)  # noqa: S102 - the docstring's own example, run as written
    backend: type[RecordSessionModule] = namespace["DictSessions"]
    return backend


DictSessions = _documented_backend()


def test_the_documented_backend_is_the_primitives_and_nothing_else() -> None:
    defined = {name for name in vars(DictSessions) if not name.startswith(("__", "_abc_"))}
    assert {"_live", *PRIMITIVES} == defined


@pytest.mark.parametrize("name", PRIMITIVES)
def test_every_primitive_is_documented_public_and_versioned(name: str) -> None:
    doc = inspect.getdoc(getattr(RecordSessionModule, name)) or ""
    assert ("Example::" in doc, ".. versionadded::" in doc) == (True, True)
    assert name in RecordSessionModule.__abstractmethods__


def test_the_storage_api_is_exported() -> None:
    assert {"RecordSessionModule", "StoredSession", "DuplicateSessionIdError"} <= set(jamsession.__all__)


class TestDocumentedBackendConformance(BackendConformance):
    @pytest_asyncio.fixture(params=store_variants(), ids=lambda variant: variant.id)
    async def store(self, request: pytest.FixtureRequest) -> AsyncIterator[RecordSessionModule]:
        variant: StoreVariant = request.param
        async with DictSessions(**variant.options) as store:
            yield store
