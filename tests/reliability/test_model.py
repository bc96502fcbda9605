"""Model-based testing: every backend against the reference model of the contract."""

from __future__ import annotations

import pytest
from tests.reliability.support import Figures, OpenStore, Scale

from jamsession.testing import run_store_state_machine


def test_store_matches_the_reference_model(
    open_store: OpenStore,
    scale: Scale,
    figures: Figures,
    request: pytest.FixtureRequest,
) -> None:
    # Sync on purpose: each hypothesis example runs its store on an event loop of its own.
    diverged = 1
    try:
        run_store_state_machine(open_store, max_examples=scale.model_examples, steps=scale.model_steps)
        diverged = 0
    finally:
        figures.record(
            request,
            "model-based: create/get/update/delete/rework/clear/list/purge and clock moves "
            "vs. a reference model",
            f"{scale.model_examples} sequences of up to {scale.model_steps} calls",
            "no divergence",
            sequences=scale.model_examples,
            steps=scale.model_steps,
            problems=diverged,
        )
