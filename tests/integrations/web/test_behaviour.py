"""Every behaviour of DESIGN §8, through a real server, once per framework adapter."""

from __future__ import annotations

import asyncio
import base64
import json
import pathlib
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import websockets
from tests.integrations.web.apps import GATES
from tests.integrations.web.conftest import Browser, Server, counting, make_store

from jamsession import ConfigError, generate_key
from jamsession_memory import MemorySessions
from jamsession_sqlite import SqliteSessions
from jamsession_web import Session, SessionConfig, SessionMiddleware

Serve = Callable[..., Server]
BrowserFor = Callable[[Server], Browser]


def config(store: Any, **options: Any) -> SessionConfig:
    options.setdefault("csrf", False)
    return SessionConfig(store, **options)


def test_no_cookie_means_no_store_call_and_no_set_cookie(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    client = browser_for(serve(config(store)))
    response = client.get("/read")
    assert 200 == response.status_code
    assert {"user": None, "data": {}} == response.json()
    assert [] == client.set_cookies
    assert {} == dict(store.calls)
    assert {} == dict(store.primitives)
    assert "Cookie" == response.headers["vary"]


def test_untouched_session_is_not_loaded(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    client = browser_for(serve(config(store)))
    client.get("/set?key=a&value=1")
    store.reset()
    response = client.get("/noop")
    assert {} == dict(store.calls)
    assert "vary" not in response.headers
    assert [] == client.set_cookies


def test_read_only_request_makes_one_read_and_no_write(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    client = browser_for(serve(config(store)))
    client.get("/set?key=a&value=1")
    store.reset()
    response = client.get("/read")
    assert {"user": None, "data": {"a": "1"}} == response.json()
    assert {"load": 1} == dict(store.calls)
    assert 0 == store.writes()
    assert "Cookie" == response.headers["vary"]
    assert [] == client.set_cookies


def test_empty_anonymous_session_is_never_stored(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    client = browser_for(serve(config(store)))
    client.get("/read")
    client.get("/clear")
    assert 0 == store.writes()
    assert [] == client.set_cookies
    assert {} == client.jar


def test_emptied_anonymous_session_is_deleted(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    server = serve(config(store))
    client = browser_for(server)
    client.get("/set?key=a&value=1")
    token = client.jar["session"]
    client.get("/delete?key=a")
    assert {} == client.jar
    assert None is server.call(store.get(token))


def test_change_is_saved_once_with_a_new_cookie(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    server = serve(config(store))
    client = browser_for(server)
    client.get("/set?key=a&value=1")
    assert {"create": 1} == dict(store.calls)
    token = client.jar["session"]
    assert {"a": "1"} == server.call(store.get(token))
    store.reset()
    client.get("/set?key=b&value=2")
    assert {"load": 1, "patch": 1} == dict(store.calls)
    assert [] == client.set_cookies  # the cookie is not re-sent on every response
    assert {"a": "1", "b": "2"} == server.call(store.get(token))


def test_unchanged_value_written_again_is_not_saved(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    client = browser_for(serve(config(store)))
    client.get("/set?key=a&value=1")
    store.reset()
    client.get("/set?key=a&value=1")
    assert {"load": 1} == dict(store.calls)
    assert 0 == store.writes()


def test_nested_change_is_saved(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    server = serve(config(store))
    client = browser_for(server)
    client.get("/append?key=items&value=x")
    client.get("/append?key=items&value=y")
    assert {"items": ["x", "y"]} == server.call(store.get(client.jar["session"]))


def test_nothing_saved_when_the_handler_raises(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    server = serve(config(store))
    client = browser_for(server)
    client.get("/set?key=a&value=1")
    store.reset()
    response = client.get("/raise?key=a")
    assert 500 == response.status_code
    assert 0 == store.writes()
    assert {"a": "1"} == server.call(store.get(client.jar["session"]))
    fresh = browser_for(server)
    fresh.get("/raise?key=a")
    assert {} == fresh.jar


def test_nothing_saved_on_a_5xx_answer(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    server = serve(config(store))
    client = browser_for(server)
    client.get("/set?key=a&value=1")
    store.reset()
    assert 503 == client.get("/fail?key=a").status_code
    assert 0 == store.writes()
    assert {"a": "1"} == server.call(store.get(client.jar["session"]))


def test_streaming_response_saves_at_response_start(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    server = serve(config(store))
    client = browser_for(server)
    response = client.get("/stream?key=s&value=streamed")
    assert "chunk-1chunk-2" == response.text
    assert {"s": "streamed"} == server.call(store.get(client.jar["session"]))


def test_change_while_the_body_streams_is_saved_when_the_handler_is_done(
    serve: Serve, browser_for: BrowserFor
) -> None:
    store = make_store()
    server = serve(config(store))
    client = browser_for(server)
    client.get("/set?key=a&value=1")
    token = client.jar["session"]
    response = client.get("/stream-then-set?key=a&value=late")
    assert "chunk-1chunk-2" == response.text
    assert [] == client.set_cookies
    assert {"a": "late"} == eventually(lambda: server.call(store.get(token)), {"a": "late"})
    # Without a stored session there is no cookie to carry one: nothing is stored.
    store.reset()
    fresh = browser_for(server)
    assert "chunk-1chunk-2" == fresh.get("/stream-then-set?key=a&value=lost").text
    assert ({}, 0) == (fresh.jar, store.writes())


def test_stale_cookie_is_never_adopted(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    server = serve(config(store))
    for stale in ["made-up-token", "", "x" * 5000]:
        client = browser_for(server)
        client.jar["session"] = stale
        assert {"user": None, "data": {}} == client.get("/read").json()
        client.get("/set?key=a&value=1")
        assert stale != client.jar["session"]
        assert {"a": "1"} == server.call(store.get(client.jar["session"]))
        assert None is server.call(store.get(stale))


def test_expired_and_revoked_cookies_are_never_adopted(serve: Serve, browser_for: BrowserFor) -> None:
    now = [1000.0]
    store = make_store(default_ttl=60, clock=lambda: now[0])
    server = serve(config(store))
    client = browser_for(server)
    client.get("/set?key=a&value=1")
    old = client.jar["session"]
    now[0] += 61
    assert {"user": None, "data": {}} == client.get("/read").json()
    client.get("/set?key=b&value=2")
    assert old != client.jar["session"]
    assert {"b": "2"} == server.call(store.get(client.jar["session"]))
    # Deleted server-side (revoked by an admin, say) before this request: a new session.
    server.call(store.delete(client.jar["session"]))
    revoked = client.jar["session"]
    client.get("/set?key=c&value=3")
    assert revoked != client.jar["session"]
    assert {"c": "3"} == server.call(store.get(client.jar["session"]))


def test_encrypted_store_refuses_a_tampered_cookie(serve: Serve, browser_for: BrowserFor) -> None:
    store = counting(MemorySessions)(is_session_crypt=True, session_aes_secret=generate_key())
    store.reset()
    server = serve(config(store))
    client = browser_for(server)
    client.get("/set?key=a&value=1")
    token = client.jar["session"]
    client.jar["session"] = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert {"user": None, "data": {}} == client.get("/read").json()


def test_session_deleted_meanwhile_is_not_recreated(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    server = serve(config(store))
    client = browser_for(server)
    client.post("/login?user=ann")
    token = client.jar["session"]
    result: dict[str, httpx.Response] = {}
    # A slow request loads the session, another logs it out, then the slow one saves.
    loaded, logged_out = threading.Barrier(2), threading.Barrier(2)
    GATES["deleted-meanwhile"] = lambda: (loaded.wait(10), logged_out.wait(10))
    slow = threading.Thread(
        target=lambda: result.update(r=client.get("/slow?key=k&value=v&gate=deleted-meanwhile"))
    )
    slow.start()
    loaded.wait(10)
    other = browser_for(server)
    other.jar["session"] = token
    other.post("/logout")
    logged_out.wait(10)
    slow.join()
    assert 200 == result["r"].status_code
    assert None is server.call(store.get(token))
    assert [] == server.call(store.list_sessions("ann"))
    assert any("Max-Age=0" in header for header in result["r"].headers.get_list("set-cookie"))


def test_two_overlapping_requests_keep_both_changes(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    server = serve(config(store))
    client = browser_for(server)
    client.get("/set?key=start&value=0")
    cookie = {"cookie": f"session={client.jar['session']}"}

    async def both() -> None:
        async with httpx.AsyncClient(base_url=server.url) as http:
            await asyncio.gather(
                http.get("/slow?key=a&value=1&gate=overlap", headers=cookie),
                http.get("/slow?key=b&value=2&gate=overlap", headers=cookie),
            )

    # Both requests have loaded the session before either saves.
    both_loaded = threading.Barrier(2)
    GATES["overlap"] = lambda: both_loaded.wait(10)
    asyncio.run(both())
    assert {"start": "0", "a": "1", "b": "2"} == server.call(store.get(client.jar["session"]))


def test_login_issues_a_new_token_and_keeps_what_it_is_told(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    server = serve(config(store))
    client = browser_for(server)
    client.get("/set?key=cart&value=apples")
    client.get("/set?key=theme&value=dark")
    anonymous = client.jar["session"]
    response = client.post("/login?user=ann&keep=cart")
    assert {"user": "ann"} == response.json()
    token = client.jar["session"]
    assert anonymous != token
    assert None is server.call(store.get(anonymous))
    assert {"user": "ann", "data": {"cart": "apples"}} == client.get("/read").json()
    # A planted (fixated) token gains nothing: the logged-in session has another one.
    attacker = browser_for(server)
    attacker.jar["session"] = anonymous
    assert {"user": None, "data": {}} == attacker.get("/read").json()


def test_login_without_a_session_and_changes_after_login(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    client = browser_for(serve(config(store)))
    client.post("/login?user=bob&then_key=greeting&then_value=hi")
    assert {"user": "bob", "data": {"greeting": "hi"}} == client.get("/read").json()


def test_login_rotates_the_csrf_token(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    client = browser_for(serve(config(store, csrf=True)))
    before = client.get("/csrf").json()["token"]
    assert 403 == client.post("/login?user=ann").status_code
    assert 200 == client.post("/login?user=ann", headers={"x-csrf-token": before}).status_code
    after = client.get("/csrf").json()["token"]
    assert before != after
    assert 403 == client.post("/set?key=a&value=1", headers={"x-csrf-token": before}).status_code
    assert 200 == client.post("/set?key=a&value=1", headers={"x-csrf-token": after}).status_code


def test_logout_deletes_server_side_and_expires_the_cookie(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    server = serve(config(store))
    client = browser_for(server)
    client.post("/login?user=ann")
    token = client.jar["session"]
    response = client.post("/logout")
    assert {"user": None} == response.json()
    assert 1 == len(client.set_cookies)
    assert "Max-Age=0" in client.set_cookies[0]
    assert None is server.call(store.get(token))
    assert {} == client.jar


def test_logout_everywhere_ends_every_session_of_the_user(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    server = serve(config(store))
    laptop, phone, other_user = browser_for(server), browser_for(server), browser_for(server)
    laptop.post("/login?user=ann")
    phone.post("/login?user=ann")
    other_user.post("/login?user=bob")
    phone_token = phone.jar["session"]
    laptop.post("/logout-everywhere")
    assert {"user": None, "data": {}} == phone.get("/read").json()
    assert None is server.call(store.get(phone_token))
    assert {"user": "bob", "data": {}} == other_user.get("/read").json()


def test_devices_lists_handles_marks_own_and_revokes(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    server = serve(config(store))
    laptop, phone = browser_for(server), browser_for(server)
    laptop.post("/login?user=ann", headers={"user-agent": "Laptop Browser"})
    phone.post("/login?user=ann", headers={"user-agent": "Phone Browser"})
    listed = laptop.get("/devices").json()
    assert [("Laptop Browser", True), ("Phone Browser", False)] == [
        (d["user_agent"], d["current"]) for d in listed
    ]
    phone_handle = listed[1]["handle"]
    # A handle is not a token: it logs no one in.
    intruder = browser_for(server)
    intruder.jar["session"] = phone_handle
    assert {"user": None, "data": {}} == intruder.get("/read").json()
    assert {"ended": True} == laptop.post(f"/revoke?handle={phone_handle}").json()
    assert {"user": None, "data": {}} == phone.get("/read").json()
    assert {"ended": False} == laptop.post(f"/revoke?handle={phone_handle}").json()
    assert [True] == [d["current"] for d in laptop.get("/devices").json()]


def test_cookie_defaults(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store(default_ttl=3600)
    client = browser_for(serve(config(store)))
    client.get("/set?key=a&value=1")
    [header] = client.set_cookies
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in header.split(";")[1:]}
    assert {"path", "max-age", "secure", "httponly", "samesite"} == set(attributes)
    assert "SameSite=Lax" == attributes["samesite"]
    assert "Path=/" == attributes["path"]
    max_age = int(attributes["max-age"].split("=")[1])
    assert 3590 <= max_age <= 3600


def test_max_age_follows_the_store_expiry_at_login(serve: Serve, browser_for: BrowserFor) -> None:
    now = [1000.0]
    store = make_store(default_ttl=600, clock=lambda: now[0])
    server = serve(config(store))
    client = browser_for(server)
    client.get("/set?key=a&value=1")
    assert "Max-Age=600" in client.set_cookies[0]
    now[0] += 100
    client.post("/login?user=ann")
    # The store carries the session's absolute expiry over at login; the cookie says the same.
    max_age = int(re.search(r"Max-Age=(\d+)", client.set_cookies[0]).group(1))  # type: ignore[union-attr]
    expires_at = [info.expires_at for info in server.call(store.list_sessions("ann"))]
    assert [now[0] + max_age] == expires_at


def test_host_prefix_partitioned_and_session_only(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    client = browser_for(
        serve(
            config(store, cookie_name="__Host-sid", partitioned=True, session_only=True, same_site="strict")
        )
    )
    client.get("/set?key=a&value=1")
    [header] = client.set_cookies
    assert header.startswith("__Host-sid=")
    assert "Partitioned" in header
    assert "SameSite=Strict" in header
    assert "Max-Age" not in header
    assert "Domain" not in header
    assert {"user": None, "data": {"a": "1"}} == client.get("/read").json()


def test_websocket_session_at_handshake_and_cookie_in_accept(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    server = serve(config(store))
    client = browser_for(server)
    client.post("/login?user=ann")
    url = f"ws://127.0.0.1:{server.port}/ws"

    async def talk(cookie: str | None) -> tuple[Any, list[str]]:
        headers = {"cookie": cookie} if cookie else {}
        async with websockets.connect(url, additional_headers=headers) as ws:
            message = await ws.recv()
            set_cookies = ws.response.headers.get_all("set-cookie")  # type: ignore[union-attr]
            return message, set_cookies

    message, set_cookies = asyncio.run(talk(f"session={client.jar['session']}"))
    assert '{"user":"ann","data":{"ws":"before accept"}}' == message
    assert [] == set_cookies  # an existing session keeps its cookie
    assert {"user": "ann", "data": {"ws": "before accept"}} == client.get("/read").json()
    message, set_cookies = asyncio.run(talk(None))
    assert '{"user":null,"data":{"ws":"before accept"}}' == message
    [new_cookie] = set_cookies
    token = new_cookie.split(";")[0].split("=", 1)[1]
    assert {"ws": "before accept"} == server.call(store.get(token))


def after_accept(
    server: Server, cookie: str | None, query: str, look: Callable[[], Any] = lambda: None
) -> Any:
    """Opens ``/ws/after?query``; returns what the route answered, what ``look()`` saw while it
    was open, and the ``Set-Cookie`` headers of the handshake."""

    async def talk() -> Any:
        headers = {"cookie": cookie} if cookie else {}
        url = f"ws://127.0.0.1:{server.port}/ws/after?{query}"
        async with websockets.connect(url, additional_headers=headers) as ws:
            answer = json.loads(await ws.recv())
            seen = await asyncio.to_thread(look)
            await ws.send("done")
            set_cookies = ws.response.headers.get_all("set-cookie")  # type: ignore[union-attr]
        return answer, seen, set_cookies

    return asyncio.run(talk())


def eventually(check: Callable[[], Any], expected: Any) -> Any:
    """``check()`` once it equals ``expected``, or its last value after 5 s (the server saves
    when the WebSocket handler returns, just after the client saw the socket close)."""
    deadline = time.monotonic() + 5
    while (value := check()) != expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return value


def test_websocket_changes_after_accept_are_saved(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    server = serve(config(store))
    client = browser_for(server)
    client.post("/login?user=ann")
    token = client.jar["session"]
    cookie = f"session={token}"
    # Saved as the socket goes on, by session.save().

    def stored_k() -> Any:
        return server.call(store.get(token))["k"]

    answer, seen, set_cookies = after_accept(server, cookie, "action=set&key=k&value=saved&save=1", stored_k)
    assert {"user": "ann", "data": {"k": "saved"}} == answer
    assert "saved" == seen
    assert [] == set_cookies
    # Saved when the handler returns, without an explicit save().
    answer, seen, _ = after_accept(server, cookie, "action=set&key=k&value=at-close", stored_k)
    assert "saved" == seen
    assert "at-close" == eventually(stored_k, "at-close")
    assert {"user": "ann", "data": {"k": "at-close"}} == client.get("/read").json()


def test_websocket_login_after_accept_is_refused_and_changes_nothing(
    serve: Serve, browser_for: BrowserFor
) -> None:
    store = make_store()
    server = serve(config(store))
    client = browser_for(server)
    client.get("/set?key=cart&value=apples")
    token = client.jar["session"]
    answer, _, set_cookies = after_accept(server, f"session={token}", "action=login&user=eve")
    assert "ResponseStartedError" == answer["error"]
    assert "Log in over HTTP" in answer["message"]
    assert [] == set_cookies
    # The browser's cookie still names its session, which nobody logged into.
    assert {"user": None, "data": {"cart": "apples"}} == client.get("/read").json()
    assert [] == server.call(store.list_sessions("eve"))


def test_websocket_logout_after_accept_ends_the_session(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    server = serve(config(store))
    laptop, phone = browser_for(server), browser_for(server)
    laptop.post("/login?user=ann")
    phone.post("/login?user=ann")
    token = laptop.jar["session"]
    answer, seen, _ = after_accept(
        server, f"session={token}", "action=logout", lambda: server.call(store.get(token))
    )
    assert {"user": None, "data": {}} == answer
    assert None is seen  # ended in the store while the socket was still open
    assert {"user": None, "data": {}} == laptop.get("/read").json()  # the dead cookie logs no one in
    assert {"user": "ann", "data": {}} == phone.get("/read").json()
    answer, _, _ = after_accept(server, f"session={phone.jar['session']}", "action=logout-everywhere")
    assert {"user": None, "data": {}} == answer
    assert [] == server.call(store.list_sessions("ann"))


def test_websocket_change_without_a_stored_session_after_accept_is_refused(
    serve: Serve, browser_for: BrowserFor
) -> None:
    store = make_store()
    server = serve(config(store))
    answer, _, set_cookies = after_accept(server, None, "action=set&key=k&value=lost")
    assert "ResponseStartedError" == answer["error"]
    assert "no stored session" in answer["message"]
    assert [] == set_cookies
    assert 0 == store.writes()


def test_csrf_refuses_websockets_from_other_sites(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    server = serve(config(store, csrf=True, trusted_origins=["https://app.example"]))
    client = browser_for(server)
    client.post("/login?user=ann", headers={"x-csrf-token": client.get("/csrf").json()["token"]})
    url = f"ws://127.0.0.1:{server.port}/ws"
    cookie = f"session={client.jar['session']}"

    async def open_from(origin: str) -> Any:
        try:
            async with websockets.connect(url, origin=origin, additional_headers={"cookie": cookie}) as ws:
                return json.loads(await ws.recv())["user"]
        except websockets.InvalidStatus as refused:
            return refused.response.status_code

    assert 403 == asyncio.run(open_from("https://evil.example"))
    assert "ann" == asyncio.run(open_from(f"http://127.0.0.1:{server.port}"))
    assert "ann" == asyncio.run(open_from("https://app.example"))


def test_csrf_refuses_unsafe_methods_without_the_token(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    server = serve(config(store, csrf=True))
    client = browser_for(server)
    assert 403 == client.post("/set?key=a&value=1").status_code
    token = client.get("/csrf").json()["token"]
    store.reset()
    assert 403 == client.post("/set?key=a&value=1").status_code
    assert 403 == client.post("/set?key=a&value=1", headers={"x-csrf-token": "wrong"}).status_code
    assert 0 == store.writes()
    assert 200 == client.post("/set?key=a&value=1", headers={"x-csrf-token": token}).status_code
    assert {"user": None, "data": {"a": "1"}} == client.get("/read").json()
    # Another session's token does not do.
    other = browser_for(server)
    other.get("/csrf")
    assert 403 == other.post("/set?key=a&value=1", headers={"x-csrf-token": token}).status_code


def test_csrf_token_is_masked_anew_for_every_response(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    server = serve(config(store, csrf=True))
    client = browser_for(server)
    tokens = [client.get("/csrf").json()["token"] for _ in range(3)]
    assert 3 == len(set(tokens))  # never the same bytes twice in a page (BREACH)
    secret = server.call(store.get(client.jar["session"]))["_jamsession.csrf"]
    secret_bytes = base64.urlsafe_b64decode(secret + "=")
    for token in tokens:
        assert secret not in token
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        pad, masked = raw[:32], raw[32:]
        assert (64, secret_bytes) == (len(raw), bytes(a ^ b for a, b in zip(pad, masked, strict=True)))
    for token in tokens:
        assert 200 == client.post("/set?key=a&value=1", headers={"x-csrf-token": token}).status_code
    # The bare secret, as tokens were spelled before masking, still does.
    assert 200 == client.post("/set?key=a&value=2", headers={"x-csrf-token": secret}).status_code
    # One bit changed in the pad, or in the masked half: refused.
    raw = bytearray(base64.urlsafe_b64decode(tokens[0] + "=" * (-len(tokens[0]) % 4)))
    for index in (0, 40):
        tampered = bytearray(raw)
        tampered[index] ^= 1
        forged = base64.urlsafe_b64encode(bytes(tampered)).rstrip(b"=").decode()
        assert 403 == client.post("/set?key=a&value=3", headers={"x-csrf-token": forged}).status_code
    for junk in (b"", b"\xe9" * 86, b"A" * 85, b"A" * 1000, tokens[0][:-4].encode()):
        assert 403 == client.post("/set?key=a&value=4", headers={"x-csrf-token": junk}).status_code
    assert {"user": None, "data": {"a": "2"}} == client.get("/read").json()


def test_csrf_token_in_a_form_body_which_the_app_still_reads(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    client = browser_for(serve(config(store, csrf=True)))
    token = client.get("/csrf").json()["token"]
    form = f"note=hello&csrf_token={token}"
    response = client.post(
        "/echo", content=form, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert {"body": form} == response.json()
    bad = client.post(
        "/echo", content="csrf_token=nope", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert 403 == bad.status_code
    multipart = client.post("/echo", data={"csrf_token": token}, files={"upload": ("a.txt", b"file body")})
    assert 200 == multipart.status_code
    assert "file body" in multipart.json()["body"]


def test_flash_survives_exactly_one_redirect(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    client = browser_for(serve(config(store)))
    response = client.post("/flash?message=Saved&category=success")
    assert 303 == response.status_code
    assert "/flashes" == response.headers["location"]
    assert [["success", "Saved"]] == client.get(response.headers["location"]).json()
    assert [] == client.get("/flashes").json()


def test_two_named_sessions_coexist(serve: Serve, browser_for: BrowserFor) -> None:
    user_store, admin_store = make_store(), make_store()
    server = serve(
        config(user_store),
        config(admin_store, name="admin", cookie_name="admin_session", path="/admin"),
    )
    client = browser_for(server)
    client.get("/set?key=who&value=user")
    client.get("/admin/set?key=who&value=admin")
    assert {"session", "admin_session"} == set(client.jar)
    assert "Path=/admin" in client.set_cookies[0]
    assert {"user": None, "data": {"who": "user"}} == client.get("/read").json()
    assert {"user": None, "data": {"who": "admin"}} == client.get("/admin/read").json()
    assert {"who": "user"} == server.call(user_store.get(client.jar["session"]))
    assert {"who": "admin"} == server.call(admin_store.get(client.jar["admin_session"]))


def test_request_session_works_on_autoload_routes(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    server = serve(config(store, autoload=["/auto"]))
    client = browser_for(server)
    assert {"data": {"auto": "yes"}} == client.get("/auto/read").json()
    assert {"auto": "yes"} == server.call(store.get(client.jar["session"]))
    # Elsewhere, request.session before loading is a clear error, not silent loss.
    assert 500 == client.get("/unloaded").status_code


def test_cookie_reissued_under_the_newest_key(
    serve: Serve, browser_for: BrowserFor, tmp_path: pathlib.Path
) -> None:
    old_key, new_key = generate_key(), generate_key()
    path = tmp_path / "sessions.db"
    before = counting(SqliteSessions)(path=path, is_session_crypt=True, session_aes_secret=old_key)
    first = serve(config(before))
    client = browser_for(first)
    client.get("/set?key=a&value=1")
    old_token = client.jar["session"]
    first.call(before.aclose())
    # The same file after a key rotation (keys oldest to newest): the old token still reads.
    after = counting(SqliteSessions)(path=path, is_session_crypt=True, session_aes_secret=[old_key, new_key])
    second = serve(config(after))
    rotated = browser_for(second)
    rotated.jar = dict(client.jar)
    assert {"user": None, "data": {"a": "1"}} == rotated.get("/read").json()
    [header] = rotated.set_cookies
    new_token = rotated.jar["session"]
    assert header.startswith("session=")
    assert old_token != new_token
    assert {"a": "1"} == second.call(after.get(new_token))
    rotated.get("/read")
    assert [] == rotated.set_cookies  # re-issued once: the new token is under the newest key
    second.call(after.aclose())


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"cookie_name": "bad name"}, "cookie_name"),
        ({"same_site": "sometimes"}, "same_site"),
        ({"same_site": "none", "secure": False}, "secure=True"),
        ({"cookie_name": "__Host-s", "path": "/admin"}, "__Host-"),
        ({"partitioned": True, "secure": False}, "secure=True"),
        ({"autoload": "/x"}, "autoload"),
    ],
)
def test_config_mistakes_fail_at_start_up(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(named)):
        SessionConfig(make_store(), **options)


def test_a_store_without_entries_is_refused() -> None:
    class WithoutEntries(MemorySessions):
        supports_entries = False

    with pytest.raises(ConfigError, match="supports_entries"):
        SessionConfig(WithoutEntries())


def test_only_the_cookie_of_that_exact_name_is_read(serve: Serve, browser_for: BrowserFor) -> None:
    store = make_store()
    server = serve(config(store))
    client = browser_for(server)
    client.get("/set?key=a&value=1")
    token = client.jar["session"]
    other = browser_for(server)
    for header in (f"xsession=nope; session={token}", f"session={token};other=1", f'a=b;  session="{token}"'):
        assert {"user": None, "data": {"a": "1"}} == other.get("/read", headers={"cookie": header}).json()
    assert {"user": None, "data": {}} == other.get("/read", headers={"cookie": f"xsession={token}"}).json()


def test_get_reads_like_the_mapping_and_a_value_changed_in_place_is_saved() -> None:
    async def scenario() -> tuple[list[Any], dict[str, Any] | None]:
        store = make_store()
        token = await store.create("", {"items": [1], "n": 2, "_jamsession.csrf": "secret"})
        session = await Session(config(store), token).load()
        read = [
            session.get("n"),
            session.get("missing"),
            session.get("missing", "default"),
            session.get("_jamsession.csrf", "hidden"),
            session.get(3, "not a str"),
        ]
        session.get("items").append(2)  # changed in place, through get
        await session.commit(200)
        return read, await store.get(token)

    read, stored = asyncio.run(scenario())
    assert [2, None, "default", "hidden", "not a str"] == read
    assert {"items": [1, 2], "n": 2, "_jamsession.csrf": "secret"} == stored


@pytest.mark.parametrize(
    ("vary", "expected"),
    [
        (None, ["Cookie"]),
        (b"Accept-Encoding", ["Accept-Encoding, Cookie"]),
        (b"accept-encoding, cookie", ["accept-encoding, cookie"]),
        (b"*", ["*"]),
    ],
)
def test_vary_is_merged_into_the_app_s_own(vary: bytes | None, expected: list[str]) -> None:
    store = make_store()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await scope["jamsession"]["session"].load()
        headers = [(b"content-type", b"text/plain")] + ([] if vary is None else [(b"vary", vary)])
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    server = Server(SessionMiddleware(app, config(store)))
    server.start()
    try:
        response = httpx.get(server.url + "/")
    finally:
        server.stop()
    assert expected == response.headers.get_list("vary")
