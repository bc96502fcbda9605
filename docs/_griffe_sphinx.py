"""A griffe extension: the Sphinx-style markup of jamsession's docstrings, as Markdown.

The code's docstrings read well in ``help()`` and editors, where Sphinx roles
(``:class:`~jamsession.ConfigError```), ``.. versionadded::``, ``::`` literal
blocks, simple ``====`` tables and ``#:`` attribute comments are the convention.
mkdocstrings renders Markdown, so this extension rewrites the first four and
reads the last as the attribute's docstring.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|meth|func|data|attr|exc|mod|obj):`(~?)([^`]+)`")
_VERSION = re.compile(r"^(\s*)\.\. (versionadded|versionchanged|deprecated):: *(\S+)\s*$", re.MULTILINE)
_WORDS = {"versionadded": "Added", "versionchanged": "Changed", "deprecated": "Deprecated"}


def _role(match: re.Match[str]) -> str:
    short, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


def _version(match: re.Match[str]) -> str:
    indent, directive, version = match.groups()
    return f"{indent}*{_WORDS[directive]} in version {version}.*"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _literal_blocks(text: str) -> str:
    """``Paragraph::`` followed by an indented block becomes ``Paragraph:`` and a fenced block."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        line = lines[i]
        end = i + 1
        while end < len(lines) and not lines[end].strip():
            end += 1
        start = end
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > _indent(line)):
            end += 1
        block = lines[start:end]
        while block and not block[-1].strip():
            block.pop()
        if not line.rstrip().endswith("::") or line.strip().startswith("..") or not block:
            out.append(line)
            i += 1
            continue
        margin, lead = " " * _indent(line), line.rstrip()[:-2].rstrip()
        inner = min(_indent(each) for each in block if each.strip())
        out += [f"{lead}:"] if lead.strip() else []
        out += ["", f"{margin}```", *(margin + each[inner:] for each in block), f"{margin}```", ""]
        i = end
    return "\n".join(out)


_RULE = re.compile(r"^ *=+( +=+)+ *$")


def _cells(line: str, spans: list[tuple[int, int]]) -> list[str]:
    cells = [line[start:end].strip() for start, end in spans[:-1]]
    return [*cells, line[spans[-1][0] :].strip()]


def _simple_tables(text: str) -> str:
    """An RST simple table (rule, header, rule, rows, rule) becomes a Markdown table."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        rules = [j for j in range(i, min(len(lines), i + 200)) if _RULE.match(lines[j])][:3]
        if not (rules and rules[0] == i and len(rules) == 3 and rules[1] == i + 2):
            out.append(lines[i])
            i += 1
            continue
        spans = [match.span() for match in re.finditer(r"=+", lines[i])]
        margin = " " * spans[0][0]
        header = _cells(lines[i + 1], spans)
        rows = [_cells(line, spans) for line in lines[rules[1] + 1 : rules[2]] if line.strip()]
        out += [f"{margin}| {' | '.join(header)} |", f"{margin}|{'---|' * len(header)}"]
        out += [f"{margin}| {' | '.join(row)} |" for row in rows]
        i = rules[2] + 1
    return "\n".join(out)


def markdown(text: str) -> str:
    """The docstring ``text`` with its Sphinx markup turned into Markdown."""
    return _VERSION.sub(_version, _ROLE.sub(_role, _simple_tables(_literal_blocks(text))))


class SphinxMarkup(griffe.Extension):
    """Rewrite docstrings as they are loaded; give ``#:``-commented attributes a docstring."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown(obj.docstring.value)

    def on_attribute_instance(self, *, attr: griffe.Attribute, **kwargs: Any) -> None:
        if attr.docstring is not None or attr.lineno is None or attr.filepath is None:
            return
        try:
            lines = attr.lines_collection[attr.filepath]  # type: ignore[index]
        except KeyError:
            return
        comment: list[str] = []
        number = attr.lineno - 2
        while number >= 0 and lines[number].strip().startswith("#:"):
            comment.insert(0, lines[number].strip()[2:].strip())
            number -= 1
        if comment:
            attr.docstring = griffe.Docstring(markdown(" ".join(comment)), parent=attr)
