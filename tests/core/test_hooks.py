"""Hook plugins: lifecycle events and CLI commands, through real entry points."""

import base64
import subprocess
import sys
import time
from typing import Any

import pytest
from tests.core.conftest import MakeDistribution

import jamsession
from jamsession import backend_name, hookimpl
from jamsession._crypto import b64decode, b64encode, key_header
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


class Operations:
    """Records every ``jamsession_store_operation`` call, without the store."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str, str | None]] = []
        self.durations: list[float] = []

    @hookimpl
    def jamsession_store_operation(  # an implementation takes the arguments it needs, by name
        self,
        operation: str,
        backend: str,
        duration: float,
        outcome: str,
        error: BaseException | None,
    ) -> None:
        self.seen.append((operation, backend, outcome, None if error is None else type(error).__name__))
        self.durations.append(duration)


class Rejections:
    """Records every ``jamsession_token_rejected`` reason."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    @hookimpl
    def jamsession_token_rejected(self, store: Any, reason: str) -> None:
        self.reasons.append(reason)


async def test_the_operation_hook_times_every_operation_with_its_outcome() -> None:
    plugin = Operations()
    jamsession.register_plugin(plugin)
    store = jamsession.open("memory", is_session_crypt=True, session_aes_secret=jamsession.generate_key())
    token = await store.create("alice", {"n": 1})
    assert {"n": 1} == await store.get(token)
    await store.update(token, {"n": 2})
    new_token = await store.rework(token)
    assert None is await store.get(token)
    with pytest.raises(jamsession.JamSessionNotFound):
        await store.update(token, {"n": 3})
    with pytest.raises(jamsession.UnsupportedTypeError):
        await store.create("alice", {"handle": object()})
    assert 1 == len(await store.list_sessions("alice"))  # type: ignore[attr-defined]
    await store.delete(new_token)
    await store.clear("alice")
    assert 0 == await store.purge_expired()  # type: ignore[attr-defined]
    assert [
        ("create", "memory", "ok", None),
        ("get", "memory", "ok", None),
        ("update", "memory", "ok", None),
        ("rework", "memory", "ok", None),
        ("get", "memory", "miss", None),
        ("update", "memory", "miss", "JamSessionNotFound"),
        ("create", "memory", "error", "UnsupportedTypeError"),
        ("list_sessions", "memory", "ok", None),
        ("delete", "memory", "ok", None),
        ("clear", "memory", "ok", None),
        ("purge_expired", "memory", "ok", None),
    ] == plugin.seen
    assert all(0 <= duration < 60 for duration in plugin.durations)


async def test_a_duration_is_the_operation_alone() -> None:
    class SlowAudit:
        @hookimpl
        def jamsession_session_created(self, store: Any, session_key: str, fingerprint: str) -> None:
            time.sleep(0.05)  # a slow lifecycle observer is not the store's time

    plugin = Operations()
    jamsession.register_plugin(plugin)
    jamsession.register_plugin(SlowAudit())
    store = MemorySessions()
    await store.create("alice", {})
    assert [("create", "memory", "ok", None)] == plugin.seen
    assert plugin.durations[0] < 0.05


async def test_a_failing_operation_observer_changes_no_result(caplog: pytest.LogCaptureFixture) -> None:
    class Failing:
        @hookimpl
        def jamsession_store_operation(
            self,
            operation: str,
            backend: str,
            duration: float,
            outcome: str,
            error: BaseException | None,
        ) -> None:
            raise RuntimeError("metrics are down")

    jamsession.register_plugin(Failing())
    store = MemorySessions()
    token = await store.create("alice", {"n": 1})
    assert {"n": 1} == await store.get(token)
    await store.delete(token)
    with pytest.raises(jamsession.JamSessionNotFound):
        await store.rework(token)
    assert 4 == caplog.text.count("metrics are down")
    assert token not in caplog.text


def test_the_backend_is_named_as_installed() -> None:
    class Subclassed(MemorySessions):
        pass

    class Unlisted(jamsession.RecordSessionModule):  # a backend no distribution installs
        pass

    assert "memory" == backend_name(MemorySessions)
    assert "memory" == backend_name(Subclassed)
    assert "Unlisted" == backend_name(Unlisted)


async def test_rejected_tokens_are_reported_with_their_reason() -> None:
    rejections = Rejections()
    jamsession.register_plugin(rejections)
    # Fixed keys, of different ids: a random pair shares its id once in 128.
    ours, theirs = bytes([0]) * 32, bytes([1]) * 32
    assert key_header(ours) != key_header(theirs)
    store = jamsession.open("memory", is_session_crypt=True, session_aes_secret=ours)
    token = await store.create("alice", {})
    dead = await store.create("alice", {})
    await store.delete(dead)
    foreign = jamsession.open("memory", is_session_crypt=True, session_aes_secret=theirs)
    foreign_token = await foreign.create("alice", {})
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[-1] ^= 1
    flipped = b64encode(bytes(raw))
    truncated = b64encode(b64decode(token)[:28])
    for hostile in (
        123,
        "",
        "x" * 600,
        "not base64!",
        b64encode(b"\x01" + bytes(20)),
        b64encode(bytes(60)),
        truncated,
    ):
        assert None is await store.get(hostile)  # type: ignore[arg-type]
    assert ["malformed"] * 7 == rejections.reasons
    rejections.reasons.clear()
    assert None is await store.get(foreign_token)
    with pytest.raises(jamsession.JamSessionNotFound):
        await store.update(foreign_token, {})
    assert ["unknown key"] * 2 == rejections.reasons
    rejections.reasons.clear()
    # Under the first format a token names no key: one under a foreign key cannot be told from an altered one.
    first_format_foreign = b64encode(b"\x01" + b64decode(foreign_token)[1:])
    assert None is await store.get(flipped)
    assert None is await store.get(first_format_foreign)
    with pytest.raises(jamsession.JamSessionNotFound):
        await store.rework(flipped)
    assert ["tampered"] * 3 == rejections.reasons
    rejections.reasons.clear()
    assert {} == await store.get(token)
    assert None is await store.get(dead)  # well-formed and ours: a miss, not a rejection
    assert [] == rejections.reasons


async def test_a_token_whose_key_left_the_ring_is_an_unknown_key() -> None:
    rejections = Rejections()
    jamsession.register_plugin(rejections)
    retired, current = bytes([0]) * 32, bytes([1]) * 32
    before = jamsession.open("memory", is_session_crypt=True, session_aes_secret=retired)
    token = await before.create("alice", {})
    during = jamsession.open("memory", is_session_crypt=True, session_aes_secret=[retired, current])
    after = jamsession.open("memory", is_session_crypt=True, session_aes_secret=[current])
    assert None is await during.get(token)  # another memory store: a miss, the key is held
    assert None is await after.get(token)
    assert ["unknown key"] == rejections.reasons


async def test_with_crypt_off_only_odd_characters_are_rejected() -> None:
    rejections = Rejections()
    jamsession.register_plugin(rejections)
    store = MemorySessions()
    assert None is await store.get("no-such-session")
    assert None is await store.get("nul\x00byte")
    assert ["malformed"] == rejections.reasons


async def test_a_rejected_token_is_reported_once_per_call() -> None:
    rejections = Rejections()
    jamsession.register_plugin(rejections)
    jamsession.register_plugin(Operations())

    class Deletions:
        @hookimpl
        def jamsession_session_deleted(self, store: Any, fingerprint: str) -> None:
            pass

    jamsession.register_plugin(Deletions())
    store = jamsession.open("memory", is_session_crypt=True, session_aes_secret=jamsession.generate_key())
    await store.delete("garbage")
    assert ["malformed"] == rejections.reasons


def test_no_plugin_no_wrapping_of_operations_or_token_checks() -> None:
    store = MemorySessions(is_session_crypt=True, session_aes_secret=jamsession.generate_key())
    for name in ("get", "update", "list_sessions", "purge_expired", "_resolve_session_id"):
        assert name not in vars(store)


def test_a_plugin_config_error_fails_at_start_up(make_distribution: MakeDistribution) -> None:
    make_distribution(
        "jamsession-configured",
        entry_points={"jamsession.plugins": {"configured": "jamsession_configured"}},
        modules={
            "jamsession_configured.py": (
                "from jamsession import ConfigError\n"
                "raise ConfigError('JAMSESSION_CONFIGURED=nope is not a setting')\n"
            )
        },
    )
    with pytest.raises(jamsession.ConfigError, match="JAMSESSION_CONFIGURED=nope"):
        jamsession.open("memory")


def test_the_web_hooks_reach_a_plugin_through_hook_caller(caplog: pytest.LogCaptureFixture) -> None:
    class Web:
        def __init__(self) -> None:
            self.seen: list[tuple[str, str]] = []

        @hookimpl
        def jamsession_http_session_loaded(self, store: Any, outcome: str) -> None:
            self.seen.append(("loaded", outcome))

        @hookimpl
        def jamsession_http_session_saved(self, store: Any, outcome: str) -> None:
            raise RuntimeError("metrics are down")

    assert None is jamsession.hook_caller("jamsession_http_session_loaded")
    plugin = Web()
    jamsession.register_plugin(plugin)
    loaded = jamsession.hook_caller("jamsession_http_session_loaded")
    saved = jamsession.hook_caller("jamsession_http_session_saved")
    assert loaded is not None
    assert saved is not None
    store = MemorySessions()
    loaded(store=store, outcome="not_found")
    saved(store=store, outcome="created")  # a failing observer: logged, not raised
    assert [("loaded", "not_found")] == plugin.seen
    assert "metrics are down" in caplog.text


def test_hook_caller_names_an_unknown_hook() -> None:
    with pytest.raises(
        jamsession.PluginTypeError, match="'jamsession_session_loaded' is not a jamsession hook"
    ):
        jamsession.hook_caller("jamsession_session_loaded")


async def test_the_operation_hook_times_load_patch_login_and_revoke() -> None:
    plugin = Operations()
    jamsession.register_plugin(plugin)
    store = jamsession.open("memory", is_session_crypt=True, session_aes_secret=jamsession.generate_key())
    token = await store.create("anonymous", {"cart": 1})
    entry = await store.load(token)  # type: ignore[attr-defined]
    await store.patch(token, {"cart": 2}, expected=entry)  # type: ignore[attr-defined]
    user_token = await store.rework(token, session_key="alice", data={"cart": 2})  # type: ignore[call-arg]
    assert None is await store.load(token)  # type: ignore[attr-defined]
    with pytest.raises(jamsession.JamSessionNotFound):
        await store.patch(token, {"cart": 3})  # type: ignore[attr-defined]
    [info] = await store.list_sessions("alice")  # type: ignore[attr-defined]
    assert False is await store.revoke("bob", info.handle)  # type: ignore[attr-defined]
    assert True is await store.revoke("alice", info.handle)  # type: ignore[attr-defined]
    assert None is await store.get(user_token)
    assert [
        ("create", "memory", "ok", None),
        ("load", "memory", "ok", None),
        ("patch", "memory", "ok", None),
        ("rework", "memory", "ok", None),
        ("load", "memory", "miss", None),
        ("patch", "memory", "miss", "JamSessionNotFound"),
        ("list_sessions", "memory", "ok", None),
        ("revoke", "memory", "miss", None),
        ("revoke", "memory", "ok", None),
        ("get", "memory", "miss", None),
    ] == plugin.seen


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("crypt", [False, True], ids=["crypt off", "crypt on"])
async def test_an_expired_session_still_stored_is_rejected_as_expired(crypt: bool) -> None:
    rejections = Rejections()
    jamsession.register_plugin(rejections)
    store: Any = jamsession.open(
        "memory", is_session_crypt=crypt, session_aes_secret=jamsession.generate_key(), default_ttl=60
    )
    store.clock = Clock()
    # The memory store reclaims expired records a slice per operation, reads included:
    # none here, so the expired record is still stored when it is read.
    store.reclaim_batch_size = 0
    expired = await store.create("alice", {"n": 1})
    deleted = await store.create("alice", {"n": 2})
    await store.delete(deleted)
    store.clock.now += 61
    assert None is await store.get(expired)
    assert None is await store.load(expired)
    assert ["expired"] * 2 == rejections.reasons
    rejections.reasons.clear()
    # Deleted: a miss that no record explains, so no rejection.
    assert None is await store.get(deleted)
    # Reclaimed by the next operation: gone, the session reads as deleted.
    store.reclaim_batch_size = type(store).reclaim_batch_size
    with pytest.raises(jamsession.JamSessionNotFound):
        await store.update(expired, {"n": 3})
    assert None is await store.get(expired)
    assert [] == rejections.reasons


async def test_a_live_session_or_a_rejected_token_is_not_also_reported_expired() -> None:
    rejections = Rejections()
    jamsession.register_plugin(rejections)
    store: Any = jamsession.open(
        "memory", is_session_crypt=True, session_aes_secret=jamsession.generate_key(), default_ttl=60
    )
    token = await store.create("alice", {"n": 1})
    assert {"n": 1} == await store.get(token)
    assert None is await store.get("garbage")
    assert ["malformed"] == rejections.reasons
