"""An outside distribution: one entry point and a subclass of BaseAsyncSessionModule, nothing else."""

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from tests.core.conftest import MakeDistribution
from tests.core.minimal_backend import SOURCE

import jamsession
from jamsession.testing import BackendConformance, StoreVariant, store_variants

ENTRY_POINTS = {"jamsession.backends": {"dictstore": "jamsession_dictstore:DictSessions"}}


def _install(make_distribution: MakeDistribution) -> Path:
    return make_distribution(
        "jamsession-dictstore", entry_points=ENTRY_POINTS, modules={"jamsession_dictstore.py": SOURCE}
    )


class TestOutsideBackendConformance(BackendConformance):
    @pytest_asyncio.fixture(params=store_variants(), ids=lambda variant: variant.id)
    async def store(
        self, request: pytest.FixtureRequest, make_distribution: MakeDistribution
    ) -> AsyncIterator[jamsession.BaseAsyncSessionModule]:
        _install(make_distribution)
        variant: StoreVariant = request.param
        async with jamsession.open("dictstore", **variant.options) as store:
            yield store


def test_listed_without_being_imported(make_distribution: MakeDistribution) -> None:
    site = _install(make_distribution)
    script = (
        "import json, sys\n"
        "from jamsession._cli import cli\n"
        "try:\n"
        "    cli(['plugins', '--json'])\n"
        "finally:\n"
        "    print(json.dumps(sorted(m for m in sys.modules if m.startswith(('jamsession_', 'aiosqlite', "
        "'pymongo', 'cbor2')))), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(site), "PATH": ""},
        check=True,
    )
    listed = json.loads(result.stdout)
    assert {
        "kind": "backend",
        "name": "dictstore",
        "distribution": "jamsession-dictstore",
        "version": "1.0",
        "target": "jamsession_dictstore:DictSessions",
    } in listed
    # No plugin (not even the default serializer's) and no driver is imported.
    assert [] == json.loads(result.stderr.strip().splitlines()[-1])


async def test_opens_by_name(make_distribution: MakeDistribution) -> None:
    _install(make_distribution)
    store = jamsession.open("dictstore")
    assert "DictSessions" == type(store).__name__
    session_id = await store.create("alice", {"n": 1})
    assert {"n": 1} == await store.get(session_id)
