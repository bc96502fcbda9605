"""Everything one run measured, and the ratios read off it."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from benchmarks._measure import OPS, GroupResult, paired_ratios
from benchmarks._realistic import RealisticResult
from benchmarks._scaling import ScalingResult
from benchmarks._settings import Settings
from benchmarks._stalls import StallResult
from benchmarks._startup import StartupResult


@dataclass
class Run:
    settings: Settings
    meta: dict[str, Any]
    groups: list[GroupResult] = field(default_factory=list)
    jamlib: list[GroupResult] = field(default_factory=list)
    scaling: list[ScalingResult] = field(default_factory=list)
    startup: StartupResult | None = None
    stalls: StallResult | None = None
    realistic: RealisticResult | None = None
    #: What could not be measured, and why.
    skipped: list[str] = field(default_factory=list)

    def group(self, backend: str, payload: str, concurrency: int) -> GroupResult | None:
        for result in self.groups:
            group = result.group
            if (group.backend, group.payload, group.concurrency) == (backend, payload, concurrency):
                return result
        return None

    def scaling_of(self, backend: str) -> ScalingResult | None:
        return next((result for result in self.scaling if result.backend == backend), None)


@dataclass(frozen=True)
class Ratio:
    """Median and spread of paired per-repeat ratios ``numerator / denominator`` of time per operation."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, numerator: list[float], denominator: list[float]) -> Ratio:
        ratios = paired_ratios(numerator, denominator)
        return cls(statistics.median(ratios), min(ratios), max(ratios))


def speedup(result: GroupResult, candidate: str, baseline: str, op: str) -> Ratio:
    """How many times faster ``candidate`` is than ``baseline`` (baseline time / candidate time)."""
    return Ratio.of(result.chunks[baseline][op], result.chunks[candidate][op])


def cost(result: GroupResult, candidate: str, baseline: str, op: str) -> Ratio:
    """``candidate``'s time relative to ``baseline``'s: 1.10 is 10% slower."""
    return Ratio.of(result.chunks[candidate][op], result.chunks[baseline][op])


def group_json(result: GroupResult) -> dict[str, Any]:
    group = result.group
    return {
        "title": group.title,
        "backend": group.backend,
        "payload": group.payload,
        "concurrency": group.concurrency,
        "sessions_per_phase": group.sessions,
        "stored_before": group.stored,
        "repeats": group.repeats,
        "ops_per_chunk": group.chunk,
        "token_lengths": result.token_lengths,
        "subjects": {
            name: {
                op: {
                    "median_us": statistics.median(samples) * 1e6,
                    "samples_us": [sample * 1e6 for sample in samples],
                }
                for op, samples in by_op.items()
            }
            for name, by_op in result.samples.items()
        },
    }


def comparisons_json(result: GroupResult, pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Paired speed-ups of each ``(candidate, baseline)`` present in the group, per operation."""
    rows = []
    for candidate, baseline in pairs:
        if candidate not in result.samples or baseline not in result.samples:
            continue
        for op in OPS:
            ratio = speedup(result, candidate, baseline, op)
            rows.append(
                {
                    "group": result.group.title,
                    "op": op,
                    "candidate": candidate,
                    "baseline": baseline,
                    "speedup_median": ratio.median,
                    "speedup_low": ratio.low,
                    "speedup_high": ratio.high,
                }
            )
    return rows


def scaling_json(result: ScalingResult) -> dict[str, Any]:
    return {
        "backend": result.backend,
        "reference_size": result.reference_size,
        "sizes": {
            str(size): {
                "get_us": statistics.median(result.grown[size]) * 1e6,
                "reference_get_us": statistics.median(result.reference[size]) * 1e6,
                "ratio_to_reference": result.ratio(size),
                "samples_us": [sample * 1e6 for sample in result.grown[size]],
                "reference_samples_us": [sample * 1e6 for sample in result.reference[size]],
                **_raw_scaling(result, size),
            }
            for size in result.grown
        },
    }


def _raw_scaling(result: ScalingResult, size: int) -> dict[str, Any]:
    if size not in result.raw_grown:
        return {}
    return {
        "raw_sqlite3_get_us": statistics.median(result.raw_grown[size]) * 1e6,
        "raw_sqlite3_reference_get_us": statistics.median(result.raw_reference[size]) * 1e6,
        "raw_sqlite3_ratio_to_reference": result.raw_ratio(size),
    }


def startup_json(result: StartupResult) -> dict[str, Any]:
    return {
        "bare_import_ms": statistics.median(result.bare_import) * 1e3,
        "plugins_ms": statistics.median(result.plugins) * 1e3,
        "ratio": result.ratio,
        "bare_import_samples_ms": [sample * 1e3 for sample in result.bare_import],
        "plugins_samples_ms": [sample * 1e3 for sample in result.plugins],
        "imported_drivers": result.imported_drivers,
    }
