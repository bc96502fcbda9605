"""Session IDs no store ever hands out, and near-misses of real tokens."""

from __future__ import annotations

#: IDs no store ever hands out; all must read as "no such session".
FOREIGN_IDS = [
    "",
    "x",
    "0" * 36,
    "00000000-0000-4000-8000-000000000000",
    "a" * 10_000,
    "\x00",
    "abc\x00def",
    "\ud800",
    "\udfff" * 40,
    '{"$ne": null}',
    "{'$gt': ''}",
    "' OR 1=1 --",
    "'; DROP TABLE sessions; --",
    "../../etc/passwd",
    "%00",
    "*",
    ".*",
    "\u202e\u0000",
    "😀" * 30,
]


def _derived_tokens(token: str) -> list[str]:
    """Near-misses of a real token: truncated, extended, case-flipped, re-cased."""
    return [
        token[:-1],
        token[1:],
        token + "A",
        token + token,
        token.swapcase(),
        token[::-1],
        " " + token,
        token + "\n",
    ]
