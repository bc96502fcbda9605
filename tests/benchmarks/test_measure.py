"""The timing loop and the ratios read off it, on the in-memory baseline."""

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from benchmarks._measure import OPS, BenchmarkError, Group, paired_ratios, rotated, run_group, timed_phase
from benchmarks._payloads import PAYLOADS, json_size
from benchmarks._raw import LockedDict
from benchmarks._results import Ratio, Run, speedup
from benchmarks._settings import SMOKE
from benchmarks._subjects import JAMLIB_MULTIPLE, jamlib_multiple
from benchmarks._targets import Target, evaluate


def test_payloads_are_a_typical_session_and_four_kib() -> None:
    assert 650 <= json_size(PAYLOADS["typical"]) <= 750
    assert 4096 == json_size(PAYLOADS["4KiB"])


def test_paired_ratios_divide_repeat_by_repeat() -> None:
    assert [2.0, 0.5] == paired_ratios([4.0, 1.0], [2.0, 2.0])
    with pytest.raises(ValueError, match="same repeats"):
        paired_ratios([1.0], [1.0, 2.0])
    assert Ratio(2.0, 0.5, 3.0) == Ratio.of([4.0, 1.0, 6.0], [2.0, 2.0, 2.0])


def test_rotation_lets_every_subject_lead() -> None:
    assert [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]] == [
        rotated(["a", "b", "c"], r) for r in range(3)
    ]


@pytest.mark.parametrize("concurrency", [1, 7])
async def test_a_lifecycle_leaves_the_store_as_it_found_it(concurrency: int) -> None:
    store = LockedDict()
    tokens = [f"user-{i}" for i in range(20)]
    for op in OPS:
        _, tokens = await timed_phase(store, op, tokens, {"a": 1}, concurrency)
        assert (0 if op == "delete" else 20) == len(tokens)
    assert {} == store._sessions


async def test_a_lost_session_fails_the_run() -> None:
    with pytest.raises(BenchmarkError):
        await timed_phase(LockedDict(), "get", ["never-stored"], {}, 1)


def _sequential(**fields: Any) -> Group:
    """A sequential group of 10 sessions a phase in chunks of 4."""
    return Group(
        backend="memory",
        payload="typical",
        concurrency=1,
        sessions=10,
        chunk=4,
        data=PAYLOADS["typical"],
        **fields,
    )


async def test_a_group_gives_one_sample_per_repeat_and_op_and_evaluates() -> None:
    async def build() -> LockedDict:
        return LockedDict()

    group = _sequential(subjects={"a": build, "b": build}, repeats=3)
    steps: list[int] = []
    result = await run_group(group, steps.append)

    assert 1 + 3 == len(steps)
    assert dict.fromkeys(OPS, 3) == {op: len(samples) for op, samples in result.samples["a"].items()}
    # Chunks of 4, 4 and 2 sessions, in each of 3 repeats.
    assert dict.fromkeys(OPS, 9) == {op: len(samples) for op, samples in result.chunks["b"].items()}
    assert 36 == result.token_lengths["a"]
    assert speedup(result, "a", "b", "get").median > 0
    # Targets over a run that measured none of their subjects say so, rather than pass.
    run = Run(SMOKE, {}, groups=[result])
    assert all(target.met is None for target in evaluate(run))


async def test_a_subject_with_a_multiple_runs_that_many_times_the_sessions_in_as_many_turns() -> None:
    class Counting(LockedDict):
        creates = 0

        async def create(self, session_key: str, data: dict[str, object], /) -> str:
            self.creates += 1
            return await super().create(session_key, data)

    stores: dict[str, Counting] = {}

    def factory(name: str) -> Callable[[], Awaitable[Counting]]:
        async def build() -> Counting:
            stores[name] = Counting()
            return stores[name]

        return build

    group = _sequential(
        subjects={"fast": factory("fast"), "slow": factory("slow")}, repeats=2, multiple={"fast": 3}
    )
    result = await run_group(group, lambda _: None)

    # The warm-up's 10 sessions, then 10 (slow) or 30 (fast) in each of 2 repeats.
    creates = {name: store.creates for name, store in stores.items()}
    assert {"fast": 10 + 2 * 30, "slow": 10 + 2 * 10} == creates
    # Both in 3 turns a phase, so their chunks pair up.
    assert 2 * 3 == len(result.chunks["fast"]["get"]) == len(result.chunks["slow"]["get"])


def test_the_jam_library_multiple_keeps_the_extra_sessions_within_a_tenth_of_those_stored() -> None:
    assert [1, 5, 50] == [jamlib_multiple(100, 40), jamlib_multiple(1_000, 20), jamlib_multiple(10_000, 10)]
    assert JAMLIB_MULTIPLE == jamlib_multiple(10**9, 1)


def test_a_target_is_met_in_its_direction() -> None:
    assert Target("at least", 2.0, True, 2.5, "").met
    assert not Target("at most", 1.3, False, 1.4, "").met
    assert Target("unmeasured", 1.0, True, None, "").met is None
