"""Reading the session cookie from a request and writing ``Set-Cookie`` values."""

from __future__ import annotations

import re

#: RFC 6265 cookie-name characters (an HTTP token).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def is_cookie_name(name: str) -> bool:
    """Whether ``name`` can be a cookie's name."""
    return _TOKEN.fullmatch(name) is not None


def find_cookie(header: str, name: str) -> str | None:
    """The value of the first cookie called ``name`` in a ``Cookie`` header, or ``None``.

    The first one wins: browsers send cookies with longer paths first.
    """
    prefix = name + "="
    start = header.find(prefix)
    while start != -1:
        if start == 0 or header[start - 1] in " ;\t":
            start += len(prefix)
            end = header.find(";", start)
            value = (header[start:] if end == -1 else header[start:end]).strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            # The store decides whether it is a token: anything else reads as no session.
            return value or None
        start = header.find(prefix, start + 1)
    return None


def set_cookie_value(
    name: str,
    value: str,
    *,
    max_age: int | None,
    path: str,
    domain: str | None,
    secure: bool,
    http_only: bool,
    same_site: str,
    partitioned: bool,
) -> str:
    """A ``Set-Cookie`` header value; ``max_age=None`` makes a session-only cookie."""
    parts = [f"{name}={value}", f"Path={path}"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
        if max_age == 0:
            # For clients older than Max-Age.
            parts.append("Expires=Thu, 01 Jan 1970 00:00:00 GMT")
    if domain is not None:
        parts.append(f"Domain={domain}")
    if secure:
        parts.append("Secure")
    if http_only:
        parts.append("HttpOnly")
    parts.append(f"SameSite={same_site.capitalize()}")
    if partitioned:
        parts.append("Partitioned")
    return "; ".join(parts)
