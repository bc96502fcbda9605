"""PNG charts of a run, drawn with matplotlib (``pip install -r benchmarks/requirements.txt``)."""

# The multiplication sign in ratios is meant: these strings are read by people.
# ruff: noqa: RUF001

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from benchmarks._measure import OPS
from benchmarks._results import Run, speedup
from benchmarks._subjects import JAMLIB, JAMSESSION_SQLITE
from benchmarks._targets import Target, count_label

_MET, _MISSED, _UNKNOWN = "#2e7d32", "#c62828", "#9e9e9e"


def draw(run: Run, targets: list[Target], directory: Path) -> list[Path]:
    """Write every chart this run has data for into ``directory``; the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = [_targets(plt, targets, directory / "targets.png")]
    for backend in dict.fromkeys(result.group.backend for result in run.groups):
        written.append(_lifecycle(plt, run, backend, directory / f"lifecycle-{backend}.png"))
    if run.scaling:
        written.append(_scaling(plt, run, directory / "scaling.png"))
    if run.jamlib:
        written.append(_jamlib(plt, run, directory / "jamlib.png"))
    return written


def _save(plt: Any, figure: Any, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _targets(plt: Any, targets: list[Target], path: Path) -> Path:
    figure, axes = plt.subplots(figsize=(11, 0.5 * len(targets) + 1.5))
    names = [target.name.replace("`", "") for target in targets]
    margins = [min(target.margin or 0.0, 10.0) for target in targets]
    colours = [{True: _MET, False: _MISSED, None: _UNKNOWN}[target.met] for target in targets]
    axes.barh(range(len(targets)), margins, color=colours)
    axes.axvline(1.0, color="black", linewidth=1)
    axes.set_yticks(range(len(targets)), [name[:80] for name in names], fontsize=8)
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.set_xlabel("measured ÷ threshold (past 1 = met; shown up to 10)")
    for row, target in enumerate(targets):
        if target.measured is not None and target.measured != float("inf"):
            axes.text(
                max(margins[row], 0.11), row, f" {target.measured:.3g}{target.unit}", va="center", fontsize=8
            )
    axes.set_title("Targets")
    return _save(plt, figure, path)


def _lifecycle(plt: Any, run: Run, backend: str, path: Path) -> Path:
    results = [result for result in run.groups if result.group.backend == backend]
    columns = len(run.settings.concurrency)
    rows = -(-len(results) // columns)
    figure, grid = plt.subplots(rows, columns, figsize=(7 * columns, 4 * rows), squeeze=False)
    for axes, result in zip(grid.flat, results, strict=False):
        subjects = list(result.samples)
        width = 0.8 / len(subjects)
        for index, subject in enumerate(subjects):
            medians = [result.median(subject, op) * 1e6 for op in OPS]
            offsets = [op_index + (index - len(subjects) / 2 + 0.5) * width for op_index in range(len(OPS))]
            axes.bar(offsets, medians, width, label=subject)
        axes.set_xticks(range(len(OPS)), OPS)
        axes.set_ylabel("µs per operation (median)")
        axes.set_title(result.group.title, fontsize=10)
    grid.flat[0].legend(fontsize=7)
    for axes in list(grid.flat)[len(results) :]:
        axes.set_visible(False)
    figure.suptitle(f"{backend}: lower is faster")
    return _save(plt, figure, path)


def _scaling(plt: Any, run: Run, path: Path) -> Path:
    figure, axes = plt.subplots(figsize=(7, 4))
    for result in run.scaling:
        sizes = sorted(result.grown)
        axes.plot(
            sizes,
            [statistics.median(result.grown[size]) * 1e6 for size in sizes],
            marker="o",
            label=result.backend,
        )
        if result.raw_grown:
            axes.plot(
                sizes,
                [statistics.median(result.raw_grown[size]) * 1e6 for size in sizes],
                marker="o",
                linestyle="--",
                label=f"{result.backend}: raw sqlite3 SELECT",
            )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xticks(sorted({s for r in run.scaling for s in r.grown}))
    axes.set_xticklabels([count_label(s) for s in sorted({s for r in run.scaling for s in r.grown})])
    axes.set_xlabel("stored sessions")
    axes.set_ylabel("µs per get (median)")
    axes.set_title("get cost by stored sessions")
    axes.legend()
    return _save(plt, figure, path)


def _jamlib(plt: Any, run: Run, path: Path) -> Path:
    figure, axes = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(run.jamlib)
    for index, result in enumerate(run.jamlib):
        ratios = [speedup(result, JAMSESSION_SQLITE, JAMLIB, op).median for op in OPS]
        offsets = [op_index + (index - len(run.jamlib) / 2 + 0.5) * width for op_index in range(len(OPS))]
        axes.bar(offsets, ratios, width, label=f"{count_label(result.group.stored)} stored")
    axes.axhline(500, color="black", linewidth=1, linestyle="--", label="target 500×")
    axes.set_yscale("log")
    axes.set_xticks(range(len(OPS)), OPS)
    axes.set_ylabel("jamsession-sqlite speed-up (×)")
    axes.set_title("jamsession-sqlite vs jamlib JSON-file sessions (sequential)")
    axes.legend(fontsize=8)
    return _save(plt, figure, path)
