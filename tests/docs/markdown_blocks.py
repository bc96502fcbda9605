"""The fenced code blocks of a Markdown page, with the marker comment that precedes each.

A block may be preceded by one HTML comment that says how the tests treat it:

``<!-- not run: REASON -->``
    shown to readers but not executed; the reason is required.
``<!-- excerpt: PATH -->``
    a verbatim excerpt of the file at PATH: every line of the block is a line of that file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\s*$")
_MARKER = re.compile(r"^<!-- (?P<kind>not run|excerpt): (?P<value>.+?) -->$")


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    code: str
    marker: str | None = None
    marker_value: str | None = None

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def runs(self) -> bool:
        return self.marker is None

    @property
    def file_name(self) -> str | None:
        """The file a block stands for, when its first line is a ``# name.ext`` comment."""
        first = self.code.splitlines()[0] if self.code else ""
        match = re.fullmatch(r"# ([\w.-]+\.(?:toml|py))", first.strip())
        return match.group(1) if match else None


def blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path``, in order."""
    page = str(path.relative_to(ROOT))
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    index = 0
    previous = ""
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if fence is None:
            if lines[index].strip():
                previous = lines[index].strip()
            index += 1
            continue
        indent = len(fence.group("indent"))
        start = index + 1
        end = start
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        code = "\n".join(line[indent:] for line in lines[start:end])
        marker = _MARKER.match(previous)
        found.append(
            Block(
                page,
                index + 1,
                fence.group("lang"),
                code + "\n",
                marker.group("kind") if marker else None,
                marker.group("value") if marker else None,
            )
        )
        previous = ""
        index = end + 1
    return found


def pages() -> list[Path]:
    """Every page of the site."""
    return sorted(DOCS.rglob("*.md"))
