"""Hook plugins: lifecycle events and CLI commands, through real entry points."""

import subprocess
import sys
from typing import Any

import pytest
from tests.core.conftest import MakeDistribution

import jamsession
from jamsession import hookimpl
from jamsession._hooks import fingerprint
from jamsession_memory import MemorySessions

AUDIT_PLUGIN = """
from jamsession import hookimpl

EVENTS = []

@hookimpl
def jamsession_session_created(store, session_key, fingerprint):
    EVENTS.append(("created", session_key, fingerprint))

@hookimpl
def jamsession_session_reworked(store, old_fingerprint, new_fingerprint):
    EVENTS.append(("reworked", old_fingerprint, new_fingerprint))

@hookimpl
def jamsession_session_deleted(store, fingerprint):
    EVENTS.append(("deleted", fingerprint))

@hookimpl
def jamsession_sessions_cleared(store, session_key):
    EVENTS.append(("cleared", session_key))
"""

COMMAND_PLUGIN = """
import click
from jamsession import hookimpl

@click.command("hello")
def hello():
    click.echo("hello from a plugin")

@hookimpl
def jamsession_add_commands(cli):
    cli.add_command(hello)
"""


async def test_an_audit_plugin_observes_the_lifecycle(make_distribution: MakeDistribution) -> None:
    make_distribution(
        "jamsession-audit",
        entry_points={"jamsession.plugins": {"audit": "jamsession_audit"}},
        modules={"jamsession_audit.py": AUDIT_PLUGIN},
    )
    store = jamsession.open("memory", is_session_crypt=True, session_aes_secret=jamsession.generate_key())
    session_id = await store.create("alice", {})
    new_id = await store.rework(session_id)
    await store.delete(new_id)
    await store.clear("alice")
    await store.delete("garbage")  # not a session: no event
    anonymous = await store.create("anonymous", {})
    logged_in = await store.rework(anonymous, session_key="bob", data={"n": 1})
    entry = await store.load(logged_in)
    assert entry is not None
    assert await store.revoke("bob", entry.handle) is True
    assert await store.revoke("bob", entry.handle) is False  # nothing ended: no event

    from jamsession_audit import EVENTS  # type: ignore[import-not-found]

    first = fingerprint(store.__decode_session_id__(session_id))
    second = fingerprint(store.__decode_session_id__(new_id))
    third = fingerprint(store.__decode_session_id__(anonymous))
    # A session's handle is its fingerprint: the audit log and the devices page name it alike.
    fourth = entry.handle
    assert fingerprint(store.__decode_session_id__(logged_in)) == fourth
    assert [
        ("created", "alice", first),
        ("reworked", first, second),
        ("deleted", second),
        ("cleared", "alice"),
        ("created", "anonymous", third),
        ("reworked", third, fourth),
        ("deleted", fourth),
    ] == EVENTS
    # A fingerprint never contains the token it names.
    assert first not in session_id


def test_unobserved_methods_are_not_wrapped() -> None:
    store = MemorySessions()
    for name in ("create", "rework", "delete", "clear"):
        assert getattr(MemorySessions, name) is getattr(store, name).__func__


async def test_only_observed_methods_are_wrapped() -> None:
    class CreationsOnly:
        def __init__(self) -> None:
            self.seen: list[str] = []

        @hookimpl
        def jamsession_session_created(self, store: Any, session_key: str, fingerprint: str) -> None:
            self.seen.append(session_key)

    plugin = CreationsOnly()
    jamsession.register_plugin(plugin)
    store = MemorySessions()
    assert "create" in vars(store)
    assert "get" not in vars(store)
    assert "delete" not in vars(store)
    await store.create("bob", {})
    assert ["bob"] == plugin.seen


def test_a_broken_hook_plugin_is_skipped(make_distribution: MakeDistribution) -> None:
    make_distribution(
        "jamsession-broken-hooks",
        entry_points={"jamsession.plugins": {"broken": "jamsession_broken_hooks"}},
        modules={"jamsession_broken_hooks.py": "raise ImportError('nope')\n"},
    )
    assert isinstance(jamsession.open("memory"), MemorySessions)


MISSHAPEN_PLUGIN = """
from jamsession import hookimpl

@hookimpl
def jamsession_session_created(store, session_key, fingerprint, extra):
    pass
"""


def test_a_hook_plugin_with_a_wrong_signature_is_skipped(
    make_distribution: MakeDistribution, caplog: pytest.LogCaptureFixture
) -> None:
    make_distribution(
        "jamsession-misshapen",
        entry_points={"jamsession.plugins": {"misshapen": "jamsession_misshapen"}},
        modules={"jamsession_misshapen.py": MISSHAPEN_PLUGIN},
    )
    assert isinstance(jamsession.open("memory"), MemorySessions)
    assert isinstance(jamsession.open("memory"), MemorySessions)
    assert ["skipping jamsession plugin 'misshapen'"] == [
        record.getMessage().split(":")[0] for record in caplog.records if "misshapen" in record.getMessage()
    ]


def test_registering_a_misshapen_plugin_names_it() -> None:
    class Misshapen:
        @hookimpl
        def jamsession_session_deleted(self, store: Any, fingerprint: str, extra: int) -> None:
            pass

    plugin = Misshapen()
    with pytest.raises(jamsession.PluginTypeError, match="not a valid jamsession hook plugin") as caught:
        jamsession.register_plugin(plugin)
    assert plugin is caught.value.obj


def test_a_plugin_adds_a_cli_command(make_distribution: MakeDistribution) -> None:
    site = make_distribution(
        "jamsession-hello",
        entry_points={"jamsession.plugins": {"hello": "jamsession_hello"}},
        modules={"jamsession_hello.py": COMMAND_PLUGIN},
    )
    run = [sys.executable, "-m", "jamsession._cli"]
    env = {"PYTHONPATH": str(site), "PATH": ""}
    result = subprocess.run([*run, "hello"], capture_output=True, text=True, env=env, check=True)
    assert "hello from a plugin\n" == result.stdout
    listing = subprocess.run([*run, "--help"], capture_output=True, text=True, env=env, check=True)
    assert "hello" in listing.stdout


async def test_a_failing_observer_does_not_undo_the_operation(caplog: pytest.LogCaptureFixture) -> None:
    class Failing:
        @hookimpl
        def jamsession_session_created(self, store: Any, session_key: str, fingerprint: str) -> None:
            raise RuntimeError("audit log is down")

    jamsession.register_plugin(Failing())
    store = MemorySessions()
    session_id = await store.create("alice", {"n": 1})
    assert {"n": 1} == await store.get(session_id)
    assert "audit log is down" in caplog.text
    assert session_id not in caplog.text
