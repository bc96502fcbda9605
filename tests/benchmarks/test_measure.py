"""The timing loop and the ratios read off it, on the in-memory baseline."""

import pytest
from benchmarks._measure import OPS, BenchmarkError, Group, paired_ratios, rotated, run_group, timed_phase
from benchmarks._payloads import PAYLOADS, json_size
from benchmarks._raw import LockedDict
from benchmarks._results import Ratio, Run, speedup
from benchmarks._settings import SMOKE
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


async def test_a_group_gives_one_sample_per_repeat_and_op_and_evaluates() -> None:
    async def build() -> LockedDict:
        return LockedDict()

    group = Group(
        backend="memory",
        payload="typical",
        concurrency=1,
        sessions=10,
        chunk=4,
        data=PAYLOADS["typical"],
        subjects={"a": build, "b": build},
        repeats=3,
    )
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


def test_a_target_is_met_in_its_direction() -> None:
    assert Target("at least", 2.0, True, 2.5, "").met
    assert not Target("at most", 1.3, False, 1.4, "").met
    assert Target("unmeasured", 1.0, True, None, "").met is None
