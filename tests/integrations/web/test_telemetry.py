"""The web layer's hooks: sessions loaded and saved, counted by jamsession-telemetry through a real server."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.integrations.web.conftest import AiohttpServer, Browser, Server, make_store
from tests.plugins.telemetry.conftest import Telemetry, fresh_plugin_manager, telemetry

import jamsession
from jamsession_web import SessionConfig

Serve = Callable[..., Server]
BrowserFor = Callable[[Server], Browser]

#: The telemetry plugin's own fixtures: plugins loaded anew per test, both exporters on.
__all__ = ["fresh_plugin_manager", "telemetry"]


def test_without_a_plugin_the_web_layer_makes_no_hook_call() -> None:
    config = SessionConfig(make_store(), csrf=False)
    assert (None, None) == (config.on_loaded, config.on_saved)


def test_sessions_loaded_and_saved_are_counted(
    telemetry: Telemetry, serve: Serve, browser_for: BrowserFor
) -> None:
    store = make_store(is_session_crypt=True, session_aes_secret=jamsession.generate_key())
    config = SessionConfig(store, csrf=False)
    assert config.on_loaded is not None
    client = browser_for(serve(config))

    client.get("/read")  # no cookie: nothing looked up, nothing saved
    assert {} == telemetry.samples("jamsession_http_sessions_loaded_total", "outcome")
    client.get("/set?key=a&value=1")  # no cookie: a new session, saved with a new cookie
    client.get("/read")  # found, unchanged: not saved
    client.get("/set?key=a&value=2")  # found, changed: updated
    client.get("/set?key=a&value=2")  # found, unchanged: not saved
    client.jar["session"] = "not-a-token"
    client.get("/read")  # a cookie naming no session: not found, never adopted

    loaded = {("memory", "found"): 3.0, ("memory", "not_found"): 1.0}
    saved = {("memory", "created"): 1.0, ("memory", "updated"): 1.0}
    assert loaded == telemetry.samples("jamsession_http_sessions_loaded_total", "backend", "outcome")
    assert saved == telemetry.samples("jamsession_http_sessions_saved_total", "backend", "outcome")
    otel_loaded = telemetry.counts("jamsession.http.sessions.loaded", "db.system.name", "jamsession.outcome")
    otel_saved = telemetry.counts("jamsession.http.sessions.saved", "db.system.name", "jamsession.outcome")
    assert {key: int(value) for key, value in loaded.items()} == otel_loaded
    assert {key: int(value) for key, value in saved.items()} == otel_saved
    # The store's own figures agree: four loads, one create, one patch, one rejected token.
    operations = telemetry.samples("jamsession_operation_duration_seconds_count", "operation", "outcome")
    assert {("load", "ok"): 3.0, ("load", "miss"): 1.0, ("create", "ok"): 1.0, ("patch", "ok"): 1.0} == {
        key: value for key, value in operations.items() if value
    }
    assert {("malformed",): 1.0} == telemetry.samples("jamsession_tokens_rejected_total", "reason")


def test_a_stale_cookie_is_not_found_and_its_changes_saved_as_a_new_session(
    telemetry: Telemetry, serve: Serve, browser_for: BrowserFor
) -> None:
    store = make_store()
    server = serve(SessionConfig(store, csrf=False))
    client = browser_for(server)
    client.get("/set?key=a&value=1")
    token = client.jar["session"]
    server.call(store.delete(token))
    client.get("/set?key=a&value=3")  # the cookie names no session: a new one is created
    assert {("not_found",): 1.0} == telemetry.samples("jamsession_http_sessions_loaded_total", "outcome")
    assert {("created",): 2.0} == telemetry.samples("jamsession_http_sessions_saved_total", "outcome")


@pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning")  # as in test_aiohttp_session
def test_the_aiohttp_session_storage_counts_loads_and_saves_too(telemetry: Telemetry) -> None:
    from tests.integrations.web.test_aiohttp_session import COOKIE, build

    from jamsession_web.aiohttp_session import JamSessionStorage

    store = make_store()
    server = AiohttpServer(build(JamSessionStorage(store)))
    server.start()
    client = Browser(server.url)
    try:
        client.get("/read")  # no cookie: nothing looked up, nothing saved
        client.get("/set?key=a&value=1")  # created
        client.get("/read")  # found, unchanged
        client.get("/set?key=a&value=2")  # found, updated
        client.post("/login?user=ann")  # found, moved to ann's key with a new token: updated
        client.jar[COOKIE] = "no-such-session"
        client.get("/read")  # not found
    finally:
        client.close()
        server.stop()
    loaded = {("found",): 3.0, ("not_found",): 1.0}
    assert loaded == telemetry.samples("jamsession_http_sessions_loaded_total", "outcome")
    saved = {("created",): 1.0, ("updated",): 2.0}
    assert saved == telemetry.samples("jamsession_http_sessions_saved_total", "outcome")
