"""docs/reliability.md states the sizes the suite really runs, and carries a figures table."""

from __future__ import annotations

from pathlib import Path

from tests.reliability.support import QUICK, STRESS, VARIANTS, Scale

PAGE = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"


def _row(scale: Scale) -> str:
    return (
        f"| {scale.name} | {scale.model_examples} sequences of up to {scale.model_steps} calls per variant "
        f"| {scale.hostile_ids:,} per backend ({scale.hostile_ids_per_variant:,} per variant) "
        f"| {scale.concurrent_operations:,} in flight at once, per variant |"
    )


def test_the_page_states_the_sizes_the_suite_runs() -> None:
    text = PAGE.read_text()
    assert 4 == len(VARIANTS), "the page's per-variant figures assume json and cbor, crypt off and on"
    for scale in (QUICK, STRESS):
        assert _row(scale) in text


def test_the_page_carries_a_rendered_figures_table() -> None:
    text = PAGE.read_text()
    table = text.split("<!-- figures:start -->")[1].split("<!-- figures:end -->")[0]
    assert table.strip().startswith("| Check | What must hold | Scale |")
