"""The main job, as a readable walk-through: ``jamsession demo``."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jamsession._base import BaseAsyncSessionModule
from jamsession._config import open as open_store
from jamsession._crypto import generate_key
from jamsession._errors import ConfigError
from jamsession._options import options_of
from jamsession._registry import available_names, load_backend


def _short(token: str) -> str:
    # A demo prints no whole token, as logs never hold one either.
    return f"{token[:10]}… ({len(token)} chars)"


async def run_demo(
    echo: Callable[[str], Any],
    *,
    backend: str | None = None,
    path: str | None = None,
    texts: Mapping[str, str] | None = None,
) -> None:
    """Run the walk-through on the embedded default store (SQLite when installed).

    ``texts`` are more options of the backend as text (``url`` for a server),
    read as their environment variables would be.
    """
    with tempfile.TemporaryDirectory(prefix="jamsession-demo-") as scratch:
        options: dict[str, Any] = {
            "is_session_crypt": True,
            "session_aes_secret": generate_key(),
            "default_ttl": 3600,
        }
        if backend is None:
            backend = "sqlite" if "sqlite" in available_names("backend") else "memory"
        options.update(_read(backend, texts or {}))
        if backend == "sqlite":
            options["path"] = path or options.get("path") or str(Path(scratch) / "sessions.db")
            where = f"SQLite file {options['path']}"
        elif backend == "memory":
            where = "this process's memory"
        else:
            # Not the URL: it may hold a password.
            where = "the server given" if "url" in options else "its default location"
        async with open_store(backend, **options) as store:
            await _walk_through(store, echo, f"backend {backend!r} ({where}), encrypted IDs (AES-256-GCM)")


def _read(backend: str, texts: Mapping[str, str]) -> dict[str, Any]:
    """The command line's ``--url`` and ``--option NAME=VALUE``, read by the backend's declared options."""
    if not texts:
        return {}
    known = options_of(load_backend(backend))
    values = {}
    for name, text in texts.items():
        source = "--url" if name == "url" else f"--option {name}"
        option = known.get(name)
        if option is None or option.code_only:
            offered = ", ".join(n for n, o in known.items() if not o.code_only)
            raise ConfigError(
                f"backend {backend!r} has no option {name!r} to set from {source}; "
                f"it takes: {offered} (`jamsession options {backend}` describes them)"
            )
        values[name] = option.from_text(text, source=source)
    return values


async def _walk_through(store: BaseAsyncSessionModule, echo: Callable[[str], Any], setting: str) -> None:
    echo(f"jamsession demo: {setting}, sessions live 1 hour\n")

    echo("1. Login: alice signs in on her laptop and her phone; bob on his desktop.")
    laptop = await store.create(
        "alice", {"user_id": 1, "name": "Alice", "role": "member", "device": "laptop"}
    )
    phone = await store.create("alice", {"user_id": 1, "name": "Alice", "role": "member", "device": "phone"})
    desktop = await store.create("bob", {"user_id": 2, "name": "Bob", "role": "member", "device": "desktop"})
    echo(f"   laptop cookie:  {_short(laptop)}")
    echo(f"   phone cookie:   {_short(phone)}")
    echo(f"   bob's cookie:   {_short(desktop)}")
    echo("   The user key 'alice' is stored server-side only; it is not in any cookie.\n")

    echo("2. Read: the laptop's next request carries its cookie.")
    echo(f"   get(laptop) -> {await store.get(laptop)}\n")

    echo("3. Tampering: one changed character in the cookie.")
    forged = laptop[:-2] + ("A" if laptop[-2] != "A" else "B") + laptop[-1]
    echo(f"   get(forged) -> {await store.get(forged)}   (AEAD rejects it; no exception)\n")

    echo("4. Privilege change: alice becomes an admin on her laptop.")
    echo("   rework() moves the session to a fresh ID atomically, so a fixed or stolen old ID is useless.")
    promoted = await store.rework(laptop)
    data = await store.get(promoted)
    assert data is not None
    await store.update(promoted, {**data, "role": "admin"})
    echo(f"   new cookie:       {_short(promoted)}")
    echo(f"   get(old cookie) -> {await store.get(laptop)}")
    echo(f"   get(new cookie) -> {await store.get(promoted)}\n")

    if store.supports_listing:
        echo("5. Devices page: alice's live sessions, each named by a handle that logs no one in.")
        for info in await store.list_sessions("alice"):  # type: ignore[attr-defined]
            echo(f"   - {info.data['device']:<8} role={info.data['role']:<7} handle {info.handle}")
        echo("")

    echo("6. Log out everywhere: clear('alice').")
    await store.clear("alice")
    echo(f"   get(laptop) -> {await store.get(promoted)}")
    echo(f"   get(phone)  -> {await store.get(phone)}")
    echo(f"   bob is untouched: get(bob) -> {await store.get(desktop)}\n")
    # Leave nothing behind in a store that outlives the demo (a server, a file given with --path).
    await store.clear("bob")
    echo("Done.")
