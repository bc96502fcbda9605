"""``results.json`` and ``summary.md``: what a run measured, and which targets it met."""

# The multiplication sign in ratios is meant: these strings are read by people.
# ruff: noqa: RUF001

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from benchmarks._measure import OPS, GroupResult
from benchmarks._results import (
    Run,
    comparisons_json,
    cost,
    group_json,
    scaling_json,
    speedup,
    startup_json,
)
from benchmarks._subjects import JAMLIB, JAMSESSION_SQLITE, LITESTAR, RAW, STARSESSIONS, label
from benchmarks._targets import JSON, JSON_CRYPT, PAYLOAD, Target, count_label

CBOR = label("cbor", False)


def write_json(run: Run, targets: list[Target], path: Path) -> None:
    comparisons: list[dict[str, Any]] = []
    for result in [*run.groups, *run.jamlib]:
        pairs = [(JSON, RAW.get(result.group.backend, "")), (JSON_CRYPT, JSON), (CBOR, JSON)]
        pairs += [(JSON, STARSESSIONS), (JSON, LITESTAR), (JAMSESSION_SQLITE, JAMLIB)]
        comparisons += comparisons_json(result, pairs)
    document = {
        "meta": run.meta,
        "settings": {
            key: value if not isinstance(value, dict) else {str(k): v for k, v in value.items()}
            for key, value in vars(run.settings).items()
        },
        "skipped": run.skipped,
        "targets": [
            {
                "target": target.name,
                "threshold": target.threshold,
                "at_least": target.at_least,
                "measured": _finite(target.measured),
                "met": target.met,
                "detail": target.detail,
            }
            for target in targets
        ],
        "groups": [group_json(result) for result in run.groups],
        "jamlib": [group_json(result) for result in run.jamlib],
        "comparisons": comparisons,
        "scaling": [scaling_json(result) for result in run.scaling],
        "startup": None if run.startup is None else startup_json(run.startup),
    }
    path.write_text(json.dumps(document, indent=1, allow_nan=False) + "\n", encoding="utf-8")


def _finite(value: float | None) -> float | None:
    return None if value is None or value == float("inf") else value


def summary(run: Run, targets: list[Target]) -> str:
    """The Markdown summary: targets first, then the tables they come from."""
    meta = run.meta
    lines = [
        "# Benchmark summary",
        "",
        f"`python -m benchmarks` ({run.settings.name} run), {meta['date']}: Python {meta['python']}, "
        f"{meta['cpus']} CPUs, load average {meta['load_before']} before and {meta['load_after']} after. "
        f"Subjects take turns chunk by chunk in one loop ({_repeats(run)}); ratios are medians of "
        f"the paired chunk ratios, times are medians of per-repeat means in µs per operation. "
        f"Targets are judged on the typical (~700-byte JSON) session.",
        "",
        "## Targets",
        "",
        "| Target | Measured | Met |",
        "|---|---|---|",
    ]
    for target in targets:
        measured = "—" if target.measured is None else _value(target)
        met = {True: "✅ met", False: "❌ not met", None: "— not measured"}[target.met]
        lines.append(f"| {target.name} | {measured} ({target.detail}) | {met} |")
    lines += _raw_table(run)
    lines += _peer_table(run)
    lines += _cost_table(run)
    lines += _scaling_table(run)
    lines += _jamlib_table(run)
    if run.skipped:
        lines += ["", "## Not measured", "", *[f"- {reason}" for reason in run.skipped]]
    return "\n".join(lines) + "\n"


def _repeats(run: Run) -> str:
    return "repeats: " + ", ".join(f"{backend} {count}" for backend, count in run.settings.repeats.items())


def _value(target: Target) -> str:
    assert target.measured is not None
    if target.measured == float("inf"):
        return "imports a driver"
    if target.unit == "×":
        return f"**{target.measured:.2f}×**"
    return f"**{target.measured:g}{target.unit}**"


def _us(seconds: float) -> str:
    micro = seconds * 1e6
    return f"{micro:,.0f}" if micro >= 100 else f"{micro:.1f}"


def _mode(result: GroupResult) -> str:
    return "sequential" if result.group.concurrency == 1 else f"{result.group.concurrency} concurrent"


def _raw_table(run: Run) -> list[str]:
    lines = [
        "",
        f"## jamsession against the raw driver ({PAYLOAD} session, JSON, crypt off)",
        "",
        "µs per operation, and jamsession's speed-up over the raw driver (above 1: jamsession is faster).",
        "",
        "| Backend | Payload | Mode | Raw driver | " + " | ".join(OPS) + " |",
        "|---|---|---|---|" + "---|" * len(OPS),
    ]
    for result in run.groups:
        raw = RAW[result.group.backend]
        if JSON not in result.samples or raw not in result.samples:
            continue
        cells = [
            f"{_us(result.median(JSON, op))} ({speedup(result, JSON, raw, op).median:.2f}×)" for op in OPS
        ]
        group = result.group
        lines.append(
            f"| {group.backend} | {group.payload} | {_mode(result)} | {raw} | " + " | ".join(cells) + " |"
        )
    return lines


def _peer_table(run: Run) -> list[str]:
    results = [r for r in run.groups if r.group.backend == "memory" and STARSESSIONS in r.samples]
    if not results:
        return []
    lines = [
        "",
        "## Memory backend against peer libraries",
        "",
        "µs per operation; ratios are jamsession's speed-up over each peer.",
        "",
        "| Payload | Mode | Op | jamsession json | raw dict+lock | starsessions | Litestar |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for op in OPS:
            cells = [_us(result.median(JSON, op)), _us(result.median(RAW["memory"], op))]
            for peer in (STARSESSIONS, LITESTAR):
                if peer in result.samples:
                    cells.append(
                        f"{_us(result.median(peer, op))} ({speedup(result, JSON, peer, op).median:.2f}×)"
                    )
                else:
                    cells.append("—")
            lines.append(f"| {result.group.payload} | {_mode(result)} | {op} | " + " | ".join(cells) + " |")
    return lines


def _cost_table(run: Run) -> list[str]:
    lines = [
        "",
        "## What crypt and CBOR cost",
        "",
        "Time relative to the same store with JSON and crypt off (1.00: no cost), per operation "
        "(" + ", ".join(OPS) + ").",
        "",
        "| Backend | Payload | Mode | crypt on (JSON) | CBOR (crypt off) |",
        "|---|---|---|---|---|",
    ]
    for result in run.groups:
        cells = []
        for candidate in (JSON_CRYPT, CBOR):
            if candidate in result.samples and JSON in result.samples:
                cells.append(" / ".join(f"{cost(result, candidate, JSON, op).median:.2f}" for op in OPS))
            else:
                cells.append("not installed" if candidate == CBOR else "—")
        group = result.group
        lines.append(f"| {group.backend} | {group.payload} | {_mode(result)} | " + " | ".join(cells) + " |")
    return lines


def _scaling_table(run: Run) -> list[str]:
    if not run.scaling:
        return []
    sizes = sorted({size for result in run.scaling for size in result.grown})
    lines = [
        "",
        "## `get` cost by stored sessions",
        "",
        "µs per `get` of a random stored session, and its ratio to a store holding "
        f"{count_label(run.scaling[0].reference_size)} (timed in turn with it).",
        "",
        "| Backend | " + " | ".join(count_label(size) for size in sizes) + " |",
        "|---|" + "---|" * len(sizes),
    ]
    for result in run.scaling:
        rows = [(result.backend, result.grown, result.ratio)]
        if result.raw_grown:
            rows.append(
                (f"{result.backend}: raw sqlite3, the same `SELECT`", result.raw_grown, result.raw_ratio)
            )
        for name, timings, ratio in rows:
            cells = [
                f"{_us(statistics.median(timings[size]))} ({ratio(size):.2f}×)" if size in timings else "—"
                for size in sizes
            ]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def _jamlib_table(run: Run) -> list[str]:
    if not run.jamlib:
        return []
    lines = [
        "",
        "## jamsession-sqlite against the Jam library's JSON-file sessions (sequential)",
        "",
        "µs per operation for jamlib, and jamsession-sqlite's speed-up over it, "
        "both holding as many sessions (jamsession-sqlite, which runs several times "
        "jamlib's operations per turn, up to 10% more during a phase).",
        "",
        "| Stored | " + " | ".join(OPS) + " |",
        "|---|" + "---|" * len(OPS),
    ]
    for result in run.jamlib:
        ratios = {op: speedup(result, JAMSESSION_SQLITE, JAMLIB, op).median for op in OPS}
        cells = [f"{_us(result.median(JAMLIB, op))} ({ratios[op]:,.0f}×)" for op in OPS]
        lines.append(f"| {count_label(result.group.stored)} | " + " | ".join(cells) + " |")
    return lines
