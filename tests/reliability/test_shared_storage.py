"""Stores with other serializers or keys on one storage keep one contract (``check_shared_storage``)."""

from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from tests.reliability.support import Figures, Opener

from jamsession.testing import check_shared_storage


async def test_update_and_rework_fail_exactly_when_get_finds_nothing(
    opener: Opener, figures: Figures, request: pytest.FixtureRequest
) -> None:
    storage = f"shared_{uuid.uuid4().hex}"

    def open_shared(**options: Any) -> AbstractAsyncContextManager[Any]:
        return opener(storage, **options)

    report = await check_shared_storage(open_shared)
    figures.record(
        request,
        "stores of other serializers or keys on one storage",
        f"{report.pairs} writer/reader pairs, {report.checks} checks",
        "update and rework raise JamSessionNotFound exactly when get returns None; nothing overwritten",
        pairs=report.pairs,
        checks=report.checks,
        problems=len(report.problems),
    )
    assert [] == report.problems
