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
    "other spellings": "{runs} tokens, 65 spellings each",
    "secrets in logs": "{records:,} log records, {errors:,} errors raised",
    "key rotation": "{checks:,} checks",
    "randomness": "20,000 IDs",
}


def _summary(check: str, rows: list[dict[str, Any]]) -> str:
    totals: dict[str, Any] = defaultdict(int)
    for row in rows:
        for key, value in row.items():
            if isinstance(value, int) and not isinstance(value, bool):
                totals[key] += value
    totals["runs"] = len(rows)
    totals["largest"] = max((row.get("operations", 0) for row in rows), default=0)
    for prefix, template in SUMMARIES.items():
        if check.startswith(prefix):
            return template.format_map(totals)
    return rows[0]["tried"]


def _held(rows: list[dict[str, Any]]) -> str:
    accepted = sum(row.get("accepted", 0) for row in rows)
    aliases = sum(row.get("aliases", 0) for row in rows)
    held = rows[0]["held"] if len({row["held"] for row in rows}) == 1 else "; ".join(r["held"] for r in rows)
    if "accepted" in rows[0]:
        crypt = [row for row in rows if row["variant"].endswith("crypt")]
        plain = [row for row in rows if not row["variant"].endswith("crypt")]
        parts = []
        if plain:
            parts.append(f"crypt off: {sum(r.get('accepted', 0) for r in plain)} accepted")
        if crypt:
            parts.append(f"crypt on: {sum(r.get('accepted', 0) for r in crypt)} accepted")
        held = "; ".join(parts) + (" (**fails**: see below)" if accepted else "")
    if aliases:
        held += f"; {aliases} other spellings of a session's own token reached it (see below)"
    return held


def render(rows: list[dict[str, Any]]) -> str:
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["check"], row["backend"], row["scale"])].append(row)
    lines = [
        "| Check | Backend | Scale | Variants | Tried | Result |",
        "|---|---|---|---|---|---|",
    ]
    for (check, backend, scale), members in groups.items():
        variants = ", ".join(sorted({row["variant"] for row in members}))
        lines.append(
            f"| {check} | {backend} | {scale} | {variants} | {_summary(check, members)} | {_held(members)} |"
        )
    return "\n".join(lines)


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
