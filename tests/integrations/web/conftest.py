"""The shared web suite's fixtures: a real server per test (uvicorn, or aiohttp's own), one app per framework.

Store calls are counted by a subclass of the real memory store (no mock): the
public methods the web layer calls, outermost only, and the storage primitives
they reach.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import threading
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from tests.integrations.web.apps import BUILDERS

from jamsession import RecordSessionModule
from jamsession_memory import MemorySessions
from jamsession_web import SessionConfig

T = TypeVar("T")

PUBLIC = ("create", "get", "load", "update", "patch", "delete", "rework", "clear", "list_sessions", "revoke")
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("depth", default=0)


def _primitive_names() -> list[str]:
    return sorted(
        name
        for name, value in vars(RecordSessionModule).items()
        if getattr(value, "__isabstractmethod__", False)
    )


def counting(cls: type[RecordSessionModule]) -> type[RecordSessionModule]:
    """A subclass of the real store ``cls`` that counts its calls in ``calls`` and ``primitives``."""

    def public(name: str) -> Any:
        async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
            depth = _depth.get()
            if depth == 0:
                self.calls[name] += 1
            token = _depth.set(depth + 1)
            try:
                return await getattr(super(counting_cls, self), name)(*args, **kwargs)
            finally:
                _depth.reset(token)

        return counted

    def primitive(name: str) -> Any:
        async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
            self.primitives[name] += 1
            return await getattr(super(counting_cls, self), name)(*args, **kwargs)

        return counted

    namespace: dict[str, Any] = {name: public(name) for name in PUBLIC if hasattr(cls, name)}
    namespace.update({name: primitive(name) for name in _primitive_names()})

    def reset(self: Any) -> None:
        self.calls = collections.Counter()
        self.primitives = collections.Counter()

    def writes(self: Any) -> int:
        return sum(n for name, n in self.primitives.items() if not name.startswith(("fetch", "list")))

    def construct(self: Any, *args: Any, **kwargs: Any) -> None:
        super(counting_cls, self).__init__(*args, **kwargs)
        self.reset()

    namespace.update(__init__=construct, reset=reset, writes=writes)
    counting_cls = type(f"Counting{cls.__name__}", (cls,), namespace)
    return counting_cls


CountingMemory = counting(MemorySessions)


def make_store(**options: Any) -> Any:
    store = CountingMemory(default_ttl=options.pop("default_ttl", 3600), **options)
    store.reset()
    return store


class Server:
    """uvicorn serving one app on 127.0.0.1, port 0, in its own thread and event loop."""

    def __init__(self, app: Any, *, lifespan: str = "off") -> None:
        self.config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan=lifespan)
        self.server = uvicorn.Server(self.config)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.errors: list[BaseException] = []

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.server.serve())
        except BaseException as exc:  # noqa: BLE001 - reported to the test through start()
            self.errors.append(exc)
        finally:
            self.loop.close()

    def start(self) -> None:
        self.thread.start()
        while not self.server.started:
            if self.errors or not self.thread.is_alive():
                raise RuntimeError(f"uvicorn did not start: {self.errors}")
            threading.Event().wait(0.01)
        sockets = self.server.servers[0].sockets
        self.port = sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` (a direct store call, say) on the server's event loop."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)


class AiohttpServer(Server):
    """An aiohttp app on aiohttp's own server (AppRunner, TCPSite), 127.0.0.1, port 0, in a thread."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.errors = []
        self.ready = threading.Event()

    def _run(self) -> None:
        from aiohttp import web

        loop = self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(self.app, handle_signals=False, access_log=None)
        try:
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            self.port = runner.addresses[0][1]
            self.stopping = asyncio.Event()
            self.ready.set()
            loop.run_until_complete(self.stopping.wait())
        except BaseException as exc:  # noqa: BLE001 - reported to the test through start()
            self.errors.append(exc)
        finally:
            loop.run_until_complete(runner.cleanup())
            loop.close()

    def start(self) -> None:
        self.thread.start()
        while not self.ready.wait(0.01):
            if self.errors or not self.thread.is_alive():
                raise RuntimeError(f"aiohttp did not start: {self.errors}")
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(10)


def server_for(app: Any) -> Server:
    """The real server for ``app``: aiohttp's own for an aiohttp app, uvicorn for an ASGI one."""
    if type(app).__module__.startswith("aiohttp."):
        return AiohttpServer(app)
    return Server(app)


class Browser:
    """An HTTP client with a cookie jar that keeps Secure cookies on http://127.0.0.1, as browsers do.

    httpx's jar follows the old rule and drops them; this one is explicit, so
    every test sees exactly which cookies were set and which are sent.
    """

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, follow_redirects=False, timeout=10)
        self.jar: dict[str, str] = {}
        self.set_cookies: list[str] = []

    def request(self, method: str, path: str, *, cookies: bool = True, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if cookies and self.jar:
            headers["cookie"] = "; ".join(f"{name}={value}" for name, value in self.jar.items())
        response = self.client.request(method, path, headers=headers, **kwargs)
        self.set_cookies = response.headers.get_list("set-cookie")
        for header in self.set_cookies:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in header:
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def close(self) -> None:
        self.client.close()


@pytest.fixture(params=sorted(BUILDERS))
def framework(request: pytest.FixtureRequest) -> str:
    """The framework under test: every test in this suite runs once per adapter."""
    return str(request.param)


@pytest.fixture
def serve(framework: str) -> Iterator[Callable[..., Server]]:
    """``serve(config, ...)`` starts the framework's test app with those sessions and returns the server."""
    servers: list[Server] = []

    def start(*configs: SessionConfig) -> Server:
        server = server_for(BUILDERS[framework](list(configs)))
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def browser_for() -> Iterator[Callable[[Server], Browser]]:
    made: list[Browser] = []

    def make(server: Server) -> Browser:
        browser = Browser(server.url)
        made.append(browser)
        return browser

    yield make
    for browser in made:
        browser.close()


def configs(store: Any, **options: Any) -> Sequence[SessionConfig]:
    return [SessionConfig(store, **options)]
