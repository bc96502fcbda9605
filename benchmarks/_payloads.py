"""The session data the benchmarks store: a typical session and a 4 KiB one.

Both are built deterministically, so every run and every subject stores the
same bytes.
"""

from __future__ import annotations

import json
import random
from typing import Any

#: Target size of the large session, as compact JSON.
LARGE_BYTES = 4096


def typical_session() -> dict[str, Any]:
    """About 700 bytes of JSON: IDs, roles, a CSRF token, preferences, a cart of 10 items."""
    rng = random.Random(7)  # noqa: S311 - fixed sample data, not security
    return {
        "user_id": 4_812_337,
        "tenant_id": "acme-eu-west",
        "roles": ["customer", "beta-tester"],
        "csrf_token": "".join(rng.choice("0123456789abcdef") for _ in range(64)),
        "authenticated_at": 1_767_225_600.25,
        "prefs": {"theme": "dark", "lang": "en-GB", "tz": "Europe/London", "currency": "EUR"},
        "cart": [
            {
                "sku": f"SKU-{rng.randrange(10**6):06d}",
                "qty": rng.randint(1, 3),
                "price": rng.randrange(99, 9999),
            }
            for _ in range(10)
        ],
        "flash": None,
    }


def large_session() -> dict[str, Any]:
    """The typical session plus a history of recently viewed items, to 4 KiB of JSON."""
    rng = random.Random(11)  # noqa: S311 - fixed sample data, not security
    data = typical_session()
    history: list[dict[str, Any]] = []
    data["recently_viewed"] = history
    while json_size(data) < LARGE_BYTES - 60:
        history.append({"sku": f"SKU-{rng.randrange(10**6):06d}", "seen": rng.randrange(10**9)})
    data["padding"] = "x" * (LARGE_BYTES - json_size(data) - len(',"padding":""'))
    return data


def json_size(data: dict[str, Any]) -> int:
    """Bytes of ``data`` as compact UTF-8 JSON."""
    return len(json.dumps(data, separators=(",", ":")).encode("utf-8"))


#: Payload name -> session data; the names appear in results and charts.
PAYLOADS: dict[str, dict[str, Any]] = {"typical": typical_session(), "4KiB": large_session()}
