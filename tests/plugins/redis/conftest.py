"""Real servers for the Redis plugin's tests: one server, and a three-master cluster, of each flavour.

Every test that needs a server runs twice: on Redis (``redis-server``) and on
Valkey (``valkey-server``), each from Debian's packages. The servers run on
127.0.0.1 on free ports, without persistence (``--save ""``, ``--appendonly
no``), started once per test run and stopped afterwards. A cluster is made by
the flavour's CLI (``redis-cli --cluster create``) and waited for until every
node reports ``cluster_state:ok``. When a flavour's binaries are missing its
tests are skipped with the command that installs them.
"""

from __future__ import annotations

import dataclasses
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from jamsession_redis import RedisSessions

MAX_PORT = 65535 - 10000  # a cluster node also listens on its port + 10000


@dataclasses.dataclass(frozen=True)
class Flavour:
    """A server the plugin supports: its name and binaries (None when not installed)."""

    name: str
    server: str | None
    cli: str | None
    install: str

    def require(self) -> tuple[str, str]:
        """The server and CLI binaries, or a skip that says how to install them."""
        if self.server is None or self.cli is None:
            pytest.skip(f"{self.name}: the server is not installed ({self.install})")
        return self.server, self.cli


REDIS = Flavour(
    "redis",
    shutil.which("redis-server"),
    shutil.which("redis-cli"),
    "Debian/Ubuntu: apt-get install -y redis-server",
)
VALKEY = Flavour(
    "valkey",
    shutil.which("valkey-server"),
    shutil.which("valkey-cli"),
    "Debian 13 and later: apt-get install -y valkey-server; Debian 12: the same from bookworm-backports, "
    "as make test does",
)
FLAVOURS = (REDIS, VALKEY)


@pytest.fixture(scope="session", params=FLAVOURS, ids=lambda flavour: flavour.name)
def flavour(request: pytest.FixtureRequest) -> Flavour:
    """Redis, then Valkey: each test that uses a server runs on both."""
    chosen: Flavour = request.param
    chosen.require()
    return chosen


class RedisServer:
    """One server process on 127.0.0.1; ``stop`` and ``start`` again keep its port and files."""

    def __init__(self, flavour: Flavour, directory: Path, *options: str) -> None:
        self.binary, self.cli = flavour.require()
        self.directory = directory
        self.options = options
        #: A configuration file, given first (Sentinel needs one it can rewrite).
        self.config_file: Path | None = None
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        if self.port:
            if not self._launch():
                raise RuntimeError(f"{self.binary} did not start again on port {self.port}")
            return
        # A port found free may be taken before the server binds it: try a few.
        for _ in range(5):
            self.port = _free_port()
            if self._launch():
                return
        raise RuntimeError(f"{self.binary} did not start")

    def _launch(self) -> bool:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                self.binary,
                *([str(self.config_file)] if self.config_file else []),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--daemonize",
                "no",
                "--logfile",
                str(self.directory / "redis.log"),
                *self.options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if self._wait_until_ready():
            return True
        self.stop()
        return False

    def _wait_until_ready(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if self.command(b"PING").startswith(b"+PONG"):
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def command(self, line: bytes) -> bytes:
        """Send one inline command; the start of the reply."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as connection:
            connection.sendall(line + b"\r\n")
            return connection.recv(65536)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # as a crash would: no goodbye to the cluster
            self.process.wait()
            self.process = None


class RedisCluster:
    """Three masters, no replicas, every slot assigned; a master that stops fails only its slots."""

    def __init__(self, flavour: Flavour, directory: Path) -> None:
        self.nodes = [
            RedisServer(
                flavour,
                directory / f"node{number}",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "1000",
                # The masters left keep serving their slots while one is down.
                "--cluster-require-full-coverage",
                "no",
            )
            for number in range(3)
        ]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(node.address for node in self.nodes)

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        subprocess.run(
            [
                self.nodes[0].cli,
                "--cluster",
                "create",
                *(n.address for n in self.nodes),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        self.wait_until_ok()

    def wait_until_ok(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if all(b"cluster_state:ok" in node.command(b"CLUSTER INFO") for node in self.nodes):
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def _free_port() -> int:
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if port <= MAX_PORT and _is_free(port + 10000):
            return port


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.fixture(scope="session")
def redis_server(flavour: Flavour, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(flavour, tmp_path_factory.mktemp(flavour.name))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisServer) -> str:
    """The URL of the server the tests share; each test uses a key prefix of its own."""
    return redis_server.url


@pytest.fixture(scope="session")
def redis_cluster(flavour: Flavour, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """The cluster the tests share; a test that stops a node starts it again."""
    cluster = RedisCluster(flavour, tmp_path_factory.mktemp(f"{flavour.name}-cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex}:"


@pytest_asyncio.fixture
async def store(redis_url: str, prefix: str) -> AsyncIterator[RedisSessions]:
    store = RedisSessions(url=redis_url, prefix=prefix)
    async with store:
        yield store
