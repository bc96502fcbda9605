"""Render ``build/reliability.json`` (written by every run of tests/reliability) as the table in the docs.

    python tests/reliability/render_figures.py                # print the table
    python tests/reliability/render_figures.py --write docs/reliability.md

``--write`` replaces what lies between the two ``figures`` markers of the page.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
START, END = "<!-- figures:start -->", "<!-- figures:end -->"

#: How each check's numbers add up over its variants, for the "tried" column.
SUMMARIES = {
    "model-based": "{sequences:,} call sequences of up to {steps} calls",
    "hostile": "{ids:,} IDs, {operations:,} calls",
    "concurrent": "{operations:,} calls, at most {largest:,} in flight at once",
    "every single-bit flip of an encrypted": "{flips:,} flips",
    "every single-bit flip of a token's": "{flips:,} flips",
    "other spellings": "65 other spellings of a token each",
    "secrets in logs": "{records:,} log records, {errors:,} errors raised",
    "key rotation": "{checks:,} checks",
    "randomness": "20,000 IDs",
    "stores of other serializers": "{pairs:,} writer/reader pairs, {checks:,} checks",
}


#: Figures that are a size per run, not a count to add up over runs.
_PER_RUN = {"steps", "in_flight"}


def _totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    totals: dict[str, Any] = defaultdict(int)
    for row in rows:
        for key, value in row.items():
            if isinstance(value, int) and not isinstance(value, bool):
                totals[key] = max(totals[key], value) if key in _PER_RUN else totals[key] + value
    totals["runs"] = len(rows)
    totals["largest"] = totals["in_flight"]
    return totals


def _cell(check: str, rows: list[dict[str, Any]]) -> str:
    """What one backend tried (summed over its variants), and the outcome."""
    totals = _totals(rows)
    template = next((t for prefix, t in SUMMARIES.items() if check.startswith(prefix)), "{runs} runs")
    tried = template.format_map(totals)
    if len(rows) > 1 or rows[0]["variant"] != "any":
        tried = f"{len(rows)} {'run' if len(rows) == 1 else 'runs'}, {tried}"
    if not totals["problems"]:
        outcome = "held"
        if totals["aliases"]:
            outcome += f" ({totals['aliases']} other spellings of a token reached its own session)"
        return f"{tried}: {outcome}"
    parts = []
    for label, crypt in (("crypt off", False), ("crypt on", True)):
        group = [row for row in rows if row["variant"].endswith("crypt") == crypt]
        if group:
            failed = sum(1 for row in group if row.get("problems", 0))
            parts.append(f"{label}: " + (f"**fails** in {failed} of {len(group)} runs" if failed else "held"))
    return f"{tried}: {', '.join(parts)}"


def render(rows: list[dict[str, Any]]) -> str:
    backends = sorted({row["backend"] for row in rows} - {"any"})
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["check"], row["scale"])].append(row)
    lines = [
        "| Check | What must hold | Scale | " + " | ".join(backends or ["all"]) + " |",
        "|---|---|---|" + "---|" * max(1, len(backends)),
    ]
    for (check, scale), members in sorted(groups.items(), key=lambda item: (item[0][1], _order(item[0][0]))):
        held = members[0]["held"]
        if {row["backend"] for row in members} == {"any"}:
            cells = [_cell(check, members)] + [""] * (len(backends) - 1)
        else:
            cells = [
                _cell(check, [r for r in members if r["backend"] == b])
                if any(r["backend"] == b for r in members)
                else "not run"
                for b in backends
            ]
        lines.append(f"| {check} | {held} | {scale} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _order(check: str) -> int:
    return next((i for i, prefix in enumerate(SUMMARIES) if check.startswith(prefix)), len(SUMMARIES))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=ROOT / "build" / "reliability.json")
    parser.add_argument("--write", type=Path, help="a page with the figures markers to update")
    arguments = parser.parse_args()
    table = render(json.loads(arguments.input.read_text()))
    if arguments.write is None:
        print(table)
        return
    page = arguments.write.read_text()
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
    arguments.write.write_text(pattern.sub(lambda _: f"{START}\n{table}\n{END}", page))


if __name__ == "__main__":
    main()
