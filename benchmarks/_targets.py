"""The project's performance targets, each read off the run as a ratio: met or not."""

# The multiplication sign in ratios is meant: these strings are read by people.
# ruff: noqa: RUF001

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks._measure import OPS, GroupResult
from benchmarks._results import Ratio, Run, speedup
from benchmarks._subjects import JAMLIB, JAMSESSION_SQLITE, LITESTAR, RAW, STARSESSIONS, label

JSON = label("json", False)
JSON_CRYPT = label("json", True)
#: The payload targets are judged on; the 4 KiB results are reported alongside.
PAYLOAD = "typical"


@dataclass(frozen=True)
class Target:
    """One target: ``measured`` against ``threshold``, in the direction ``at_least`` says."""

    name: str
    threshold: float
    at_least: bool
    measured: float | None
    detail: str
    unit: str = "×"

    @property
    def met(self) -> bool | None:
        """``None`` when it could not be measured in this run."""
        if self.measured is None:
            return None
        return self.measured >= self.threshold if self.at_least else self.measured <= self.threshold

    @property
    def margin(self) -> float | None:
        """Above 1 when met: how far past the threshold the measurement is."""
        if self.measured is None or self.measured == 0:
            return None
        return self.measured / self.threshold if self.at_least else self.threshold / self.measured


def _worst(ratios: dict[str, Ratio], at_least: bool) -> float:
    values = [ratio.median for ratio in ratios.values()]
    return min(values) if at_least else max(values)


def _per_op(ratios: dict[str, Ratio], suffix: str = "×") -> str:
    return ", ".join(f"{op} {ratio.median:.2f}{suffix}" for op, ratio in ratios.items())


def _over_ops(
    name: str,
    *,
    threshold: float,
    at_least: bool,
    result: GroupResult | None,
    ratio: Callable[[GroupResult, str], Ratio],
    needs: tuple[str, ...],
    ops: tuple[str, ...] = OPS,
) -> Target:
    """A target every operation must meet; the worst operation is the measurement."""
    if result is None or any(subject not in result.samples for subject in needs):
        return Target(name, threshold, at_least, None, "not measured in this run")
    ratios = {op: ratio(result, op) for op in ops}
    return Target(name, threshold, at_least, _worst(ratios, at_least), _per_op(ratios))


def evaluate(run: Run) -> list[Target]:
    """Every target, in the order of the project's list."""
    sequential = min(run.settings.concurrency)
    concurrent = max(run.settings.concurrency)
    targets = [*_memory(run, sequential)]
    sqlite_seq = run.group("sqlite", PAYLOAD, sequential)
    sqlite_conc = run.group("sqlite", PAYLOAD, concurrent)
    targets.append(
        _over_ops(
            "sqlite sequential ≥ 1.5× raw aiosqlite (one hop per operation), every operation",
            threshold=1.5,
            at_least=True,
            result=sqlite_seq,
            ratio=lambda result, op: speedup(result, JSON, RAW["sqlite"], op),
            needs=(JSON, RAW["sqlite"]),
        )
    )
    targets.append(
        _over_ops(
            f"sqlite at {concurrent} concurrent ≥ 2× raw aiosqlite at {concurrent}, every operation",
            threshold=2.0,
            at_least=True,
            result=sqlite_conc,
            ratio=lambda result, op: speedup(result, JSON, RAW["sqlite"], op),
            needs=(JSON, RAW["sqlite"]),
        )
    )
    targets.append(_scaling(run))
    targets.append(_jamlib(run))
    for concurrency in (sequential, concurrent):
        mode = "sequential" if concurrency == 1 else f"at {concurrency} concurrent"
        targets.append(
            _over_ops(
                f"mongodb {mode} ≥ 0.9× raw PyMongo async, every operation",
                threshold=0.9,
                at_least=True,
                result=run.group("mongodb", PAYLOAD, concurrency),
                ratio=lambda result, op: speedup(result, JSON, RAW["mongodb"], op),
                needs=(JSON, RAW["mongodb"]),
            )
        )
    targets.append(
        _over_ops(
            "sqlite crypt on ≥ 1.0× raw aiosqlite without encryption (sequential), every operation",
            threshold=1.0,
            at_least=True,
            result=sqlite_seq,
            ratio=lambda result, op: speedup(result, JSON_CRYPT, RAW["sqlite"], op),
            needs=(JSON_CRYPT, RAW["sqlite"]),
        )
    )
    targets += _stalls(run)
    targets.append(_realistic(run))
    targets.append(_tokens(run))
    targets.append(_startup(run))
    return targets


def _memory(run: Run, sequential: int) -> list[Target]:
    result = run.group("memory", PAYLOAD, sequential)
    targets = []
    for op in ("create", "get"):
        name = f"memory {op} ≥ 2× the faster of starsessions' and Litestar's memory stores"
        peers = [] if result is None else [p for p in (STARSESSIONS, LITESTAR) if p in result.samples]
        if result is None or JSON not in result.samples or not peers:
            targets.append(Target(name, 2.0, True, None, "not measured in this run"))
            continue
        faster = min(peers, key=lambda peer: result.median(peer, op))
        ratios = {peer: speedup(result, JSON, peer, op) for peer in peers}
        detail = ", ".join(f"vs {peer} {ratio.median:.2f}×" for peer, ratio in ratios.items())
        targets.append(Target(name, 2.0, True, ratios[faster].median, f"{detail} (faster peer: {faster})"))
    return targets


def _scaling(run: Run) -> Target:
    result = run.scaling_of("sqlite")
    if result is None or not result.grown:
        return Target("sqlite get at 1M ≤ 1.3× get at 1k", 1.3, False, None, "not measured in this run")
    largest = max(result.grown)
    name = f"sqlite get at {count_label(largest)} ≤ 1.3× get at {count_label(result.reference_size)} stored"
    detail = ", ".join(f"{count_label(size)} {result.ratio(size):.2f}×" for size in result.grown)
    if largest in result.raw_grown:
        raw = result.raw_ratio(largest)
        detail += f"; raw sqlite3's same SELECT on the same files at {count_label(largest)}: {raw:.2f}×"
    memory = run.scaling_of("memory")
    if memory is not None and memory.grown:
        biggest = max(memory.grown)
        detail += f"; memory at {count_label(biggest)}: {memory.ratio(biggest):.2f}×"
    return Target(name, 1.3, False, result.ratio(largest), detail)


def _jamlib(run: Run) -> Target:
    if not run.jamlib:
        return Target(
            "sqlite ≥ 500× jamlib JSON-file sessions at 10k stored",
            500,
            True,
            None,
            "not measured in this run",
        )
    result = max(run.jamlib, key=lambda result: result.group.stored)
    stored = count_label(result.group.stored)
    name = f"sqlite ≥ 500× jamlib JSON-file sessions at {stored} stored, every operation"
    return _over_ops(
        name,
        threshold=500,
        at_least=True,
        result=result,
        ratio=lambda result, op: speedup(result, JAMSESSION_SQLITE, JAMLIB, op),
        needs=(JAMSESSION_SQLITE, JAMLIB),
    )


def _tokens(run: Run) -> Target:
    lengths = {
        result.group.backend: max(length for name, length in result.token_lengths.items() if "+crypt" in name)
        for result in run.groups
        if any("+crypt" in name for name in result.token_lengths)
    }
    if not lengths:
        return Target("encrypted tokens ≤ 90 characters", 90, False, None, "not measured", unit=" chars")
    detail = ", ".join(f"{backend} {length}" for backend, length in lengths.items())
    return Target("encrypted tokens ≤ 90 characters", 90, False, max(lengths.values()), detail, unit=" chars")


def _startup(run: Run) -> Target:
    name = "`jamsession plugins` start-up ≤ 1.3× a bare `import jamsession`, importing no driver"
    result = run.startup
    if result is None:
        return Target(name, 1.3, False, None, "not measured in this run")
    detail = (
        f"{statistics.median(result.plugins) * 1e3:.0f} ms"
        f" vs {statistics.median(result.bare_import) * 1e3:.0f} ms"
        f"; drivers imported: {', '.join(result.imported_drivers) or 'none'}"
    )
    measured = result.ratio
    if result.imported_drivers:
        # Importing a driver fails the target whatever the timing.
        measured = max(measured, float("inf"))
    return Target(name, 1.3, False, measured, detail)


def count_label(size: int) -> str:
    for unit, scale in (("M", 1_000_000), ("k", 1_000)):
        if size >= scale and size % scale == 0:
            return f"{size // scale}{unit}"
    return str(size)


def _stalls(run: Run) -> list[Target]:
    result = run.stalls
    if result is None:
        return [
            Target(
                "sqlite worst event-loop stall ≤ 10 ms", 10, False, None, "not measured in this run", " ms"
            )
        ]
    targets = []
    for scenario, cpu in result.worst_cpu.items():
        name = f"sqlite worst event-loop stall ≤ 10 ms (loop CPU between ticks): {scenario}"
        if "one key" in scenario:
            name += f" ({count_label(result.key_sessions)} sessions)"
        wall, collected = result.worst[scenario], result.worst_gc[scenario]
        detail = (
            f"raw aiosqlite {cpu['raw aiosqlite'] * 1e3:.1f} ms; wall-clock lateness: jamsession "
            f"{wall['jamsession'] * 1e3:.1f} ms, raw aiosqlite {wall['raw aiosqlite'] * 1e3:.1f} ms; "
            f"longest garbage collection: jamsession {collected['jamsession'] * 1e3:.1f} ms, "
            f"raw aiosqlite {collected['raw aiosqlite'] * 1e3:.1f} ms; {count_label(result.stored)} stored"
        )
        targets.append(Target(name, 10, False, round(cpu["jamsession"] * 1e3, 1), detail, " ms"))
    return targets


def _realistic(run: Run) -> Target:
    name = "two processes, random sessions (1 in 10 updated): crypt on costs ≤ 5% of requests/s"
    result = run.realistic
    if result is None:
        return Target(name, 5, False, None, "not measured in this run", "%")
    rates = {subject: result.rate(subject) for subject in result.rates}
    cost_pct = round(100 * (1 - rates["jamsession crypt"] / rates["jamsession"]), 1)
    detail = ", ".join(f"{subject} {rate:,.0f}/s" for subject, rate in rates.items())
    return Target(name, 5, False, cost_pct, f"{count_label(result.stored)} stored; {detail}", "%")
