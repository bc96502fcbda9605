"""Session handles: short, one-way names for sessions, safe to show, store and log.

A handle names one session without being able to act as it: it is the
first 16 hex digits of the SHA-256 of the raw session ID, so nobody can
work back from it to the ID, let alone to the token a client holds, and
``get``, ``update`` or ``delete`` given a handle find no session. It is
stable for as long as the session keeps its ID (``rework`` gives a new
one). Lifecycle hooks call it a *fingerprint*: it is the same function,
so a "your devices" page and an audit log name a session alike.
"""

from __future__ import annotations

import hashlib


def session_handle(raw_session_id: str) -> str:
    """The handle of the session whose raw ID is ``raw_session_id``."""
    return hashlib.sha256(raw_session_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
