"""Reusable conformance suites for backends and serializers (needs ``jamsession[testing]``).

A backend author subclasses :class:`BackendConformance` and provides one
async fixture, ``store``, that yields an empty, isolated store::

    import pytest_asyncio
    from jamsession.testing import BackendConformance, store_variants

    class TestRedisSessions(BackendConformance):
        @pytest_asyncio.fixture(params=store_variants(), ids=lambda v: v.id)
        async def store(self, request):
            async with RedisSessions(url=..., **request.param.options) as store:
                yield store

Optional features are tested only where the store's class declares them
(``supports_ttl``, ``supports_sliding_expiry``, ``supports_listing``,
``supports_purge``, ``supports_entries``, ``supports_scan``), so a backend with just Jam's six
methods passes.

The reliability checks go further on the same stores: a model-based state
machine (:func:`run_store_state_machine`, which needs hypothesis), hostile
session IDs, bit flips, concurrent operations, secrets in logs, key
rotation, ID randomness and event-loop fairness (operations let other
tasks run). Each returns a report of what it tried and of everything that
did not hold.
"""

from typing import TYPE_CHECKING, Any

from jamsession.testing._backend import BackendConformance
from jamsession.testing._clock import FakeClock
from jamsession.testing._fairness import FairnessReport, Ticker, check_event_loop_fairness
from jamsession.testing._hostile import HostileReport, check_hostile_session_ids
from jamsession.testing._logs import LogReport, check_logs_hold_no_secrets
from jamsession.testing._serializer import SerializerConformance
from jamsession.testing._stress import ConcurrencyReport, check_concurrent_operations
from jamsession.testing._tokens import (
    BitFlipReport,
    IdEntropyReport,
    RotationReport,
    check_bit_flips,
    check_id_entropy,
    check_key_rotation,
    find_other_spellings,
)
from jamsession.testing._variants import StoreVariant, store_variants

if TYPE_CHECKING:
    from jamsession.testing._model import StoreStateMachine, run_store_state_machine

__all__ = [
    "BackendConformance",
    "BitFlipReport",
    "ConcurrencyReport",
    "FairnessReport",
    "FakeClock",
    "HostileReport",
    "IdEntropyReport",
    "LogReport",
    "RotationReport",
    "SerializerConformance",
    "StoreStateMachine",
    "StoreVariant",
    "Ticker",
    "check_bit_flips",
    "check_concurrent_operations",
    "check_event_loop_fairness",
    "check_hostile_session_ids",
    "check_id_entropy",
    "check_key_rotation",
    "check_logs_hold_no_secrets",
    "find_other_spellings",
    "run_store_state_machine",
    "store_variants",
]


def __getattr__(name: str) -> Any:
    # The state machine needs hypothesis; importing it on first use keeps the
    # conformance suites usable without it.
    if name in {"StoreStateMachine", "run_store_state_machine"}:
        from jamsession.testing import _model

        return getattr(_model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
