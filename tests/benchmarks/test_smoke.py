"""`python -m benchmarks --smoke`: the whole suite runs end to end and writes its results.

Only that it runs is asserted, never how fast anything is.
"""

import json
from pathlib import Path

from tests.benchmarks.conftest import run_module


def test_smoke_run_writes_results_summary_and_charts(tmp_path: Path) -> None:
    completed = run_module("benchmarks", "--smoke", "--output", str(tmp_path))
    assert 0 == completed.returncode, completed.stderr[-3000:]

    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert [] == results["skipped"], "install benchmarks/requirements.txt: every part must run"
    assert {"memory", "sqlite", "mongodb"} == {group["backend"] for group in results["groups"]}
    assert {"raw dict+lock", "starsessions memory", "litestar memory"} <= set(
        results["groups"][0]["subjects"]
    )
    assert 2 == len(results["jamlib"])
    assert ["memory", "sqlite"] == [scaling["backend"] for scaling in results["scaling"]]
    # Raw sqlite3 reads the SQLite store's files after it; memory has no such reader.
    assert [False, True] == [
        all("raw_sqlite3_ratio_to_reference" in size for size in scaling["sizes"].values())
        for scaling in results["scaling"]
    ]
    assert [] == results["startup"]["imported_drivers"]
    assert all(target["met"] is not None for target in results["targets"]), results["targets"]
    stalls = [target["target"] for target in results["targets"] if "event-loop stall" in target["target"]]
    assert 7 == len(stalls)
    assert any(target["target"].startswith("two processes") for target in results["targets"])

    # Every section writes where it is told, never over the committed results.
    assert {"redis.json", "redis.md", "telemetry.json"} <= {path.name for path in tmp_path.iterdir()}

    telemetry = json.loads((tmp_path / "telemetry.json").read_text(encoding="utf-8"))
    assert {"installed, off", "no plugin (control)", "on, API only", "on, SDK + Prometheus"} == set(
        telemetry["cost_against_no_plugin"]
    )
    assert telemetry["dashboard"]["scrapes"] > 1

    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "## Targets" in summary
    charts = {path.name for path in tmp_path.glob("*.png")}
    expected = {"targets.png", "scaling.png", "jamlib.png", "telemetry-dashboard.png"}
    expected |= {f"lifecycle-{backend}.png" for backend in ("memory", "sqlite", "mongodb")}
    assert expected == charts
