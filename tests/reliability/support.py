"""What the reliability tests share: the backends and variants run, the scales, the figures, the ticker."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from jamsession import BaseAsyncSessionModule, JsonEncoder, installed_plugins
from jamsession.testing import StoreVariant, store_variants

#: Opens a store on the storage named by the first argument: the same name, the same sessions.
Opener = Callable[..., AbstractAsyncContextManager[BaseAsyncSessionModule]]

#: Opens an empty store on storage of its own.
OpenStore = Callable[[], AbstractAsyncContextManager[Any]]

#: The backends this repository ships; an example or third-party backend runs these
#: checks from its own test suite.
SHIPPED_BACKENDS = frozenset({"memory", "sqlite", "mongodb"})
BACKENDS = sorted({info.name for info in installed_plugins("backend")} & SHIPPED_BACKENDS)
VARIANTS = store_variants()


@dataclass(frozen=True)
class Scale:
    """How much of each check one run does: ``quick`` in ``make test``, ``stress`` in ``make stress``."""

    name: str
    model_examples: int
    model_steps: int
    #: Per backend, shared out over its serializer and crypt variants.
    hostile_ids: int
    #: In flight at once, in each variant's run.
    concurrent_operations: int

    @property
    def hostile_ids_per_variant(self) -> int:
        return -(-self.hostile_ids // len(VARIANTS))


QUICK = Scale("quick", model_examples=8, model_steps=30, hostile_ids=10_000, concurrent_operations=1000)
STRESS = Scale(
    "stress", model_examples=150, model_steps=60, hostile_ids=100_000, concurrent_operations=10_000
)


class Figures:
    """What each check tried and what held, written to ``build/reliability.json`` at the end."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    @staticmethod
    def key(row: dict[str, Any]) -> tuple[str, str, str, str]:
        return row["check"], row["backend"], row["variant"], row["scale"]

    def record(
        self, request: pytest.FixtureRequest, check: str, tried: str, held: str, **numbers: Any
    ) -> None:
        params = request.node.callspec.params if hasattr(request.node, "callspec") else {}
        variant = params.get("variant")
        scale = params.get("scale")
        self.rows.append(
            {
                "check": check,
                "backend": params.get("backend", "any"),
                "variant": variant.id if isinstance(variant, StoreVariant) else "any",
                "scale": getattr(scale, "name", "quick"),
                "tried": tried,
                "held": held,
                **numbers,
            }
        )


# -- progress between turns of the event loop -------------------------------------------


class CountingJson(JsonEncoder):
    """JSON that counts the records it decodes."""

    decoded: ClassVar[int] = 0

    @classmethod
    def loads(cls, data: str | bytes, /) -> dict[str, Any]:
        CountingJson.decoded += 1
        return super().loads(data)


async def progress_between_turns(sample: Callable[[], int], work: Awaitable[Any]) -> list[int]:
    """Run ``work`` beside a ticker; return ``sample()`` at each of the ticker's turns, before and after."""
    samples = [sample()]

    async def tick() -> None:
        while True:
            samples.append(sample())
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    try:
        await work
    finally:
        ticker.cancel()
    samples.append(sample())
    return samples


def largest_step(samples: list[int]) -> int:
    """The most the sampled count moved between two turns of the ticker."""
    return max(abs(later - earlier) for earlier, later in itertools.pairwise(samples))
