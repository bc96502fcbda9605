"""Concurrent mixed operations: nothing lost, nothing resurrected, one winner per rework."""

from __future__ import annotations

import pytest
from tests.reliability.support import Figures, OpenStore, Scale

from jamsession.testing import check_concurrent_operations


async def test_concurrent_operations_keep_the_contract(
    open_store: OpenStore,
    scale: Scale,
    figures: Figures,
    request: pytest.FixtureRequest,
) -> None:
    async with open_store() as store:
        report = await check_concurrent_operations(store, operations=scale.concurrent_operations)
    kinds = ", ".join(f"{count:,} {kind}" for kind, count in sorted(report.by_kind.items()))
    figures.record(
        request,
        "concurrent mixed operations (one asyncio.gather per phase)",
        f"{report.operations:,} calls, up to {report.largest_batch:,} at once: {kinds}",
        "no lost create; no resurrection after delete, clear or expiry; one winner per rework race; "
        "clear racing create consistent",
        operations=report.operations,
        in_flight=report.largest_batch,
        problems=len(report.problems),
    )
    assert [] == report.problems[:20]
    assert report.largest_batch >= scale.concurrent_operations
