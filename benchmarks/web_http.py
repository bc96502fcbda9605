"""End to end over HTTP: the same small app with each session layer, under one load generator.

Each subject (see :mod:`benchmarks._web_apps`) runs in its own uvicorn process,
one worker, on 127.0.0.1. The benchmark first makes its live sessions through
the app itself (``/new``, keeping each ``Set-Cookie``), then ``wrk`` drives it
from another process over 64 keep-alive connections: each request carries a
random one of those cookies and reads its session; one in ten changes a key.
Subjects run in turn, every round, so a slow spell of the shared machine
touches them alike; each subject's best round counts. A subject whose requests
found no session (404) or failed is reported as invalid, not measured.

Run alone with ``python -m benchmarks.web_http [--quick|--smoke]``; ``python -m
benchmarks`` runs it as its ``web`` section.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks._web_apps import AIOHTTP_SUBJECTS, SUBJECTS

WRK = shutil.which("wrk")
REDIS_SERVER = shutil.which("redis-server")
PEERS = ("starlette-signed", "starsessions-memory", "starsessions-redis", "litestar-memory", "litestar-redis")
REDIS_PEERS = ("starsessions-redis", "litestar-redis")
#: Litestar's own session options, which its jamsession adapter is measured against.
LITESTAR_OPTIONS = ("litestar-cookie", "litestar-memory", "litestar-redis")
AIOHTTP_PEERS = ("aiohttp-session-cookie", "aiohttp-session-redis")
#: Each framework's bound (benchmarks._web_apps.SqliteFloor): its peers, its app without sessions.
FLOORS = (
    ("Starlette", "sqlite-floor", PEERS, "none"),
    ("Litestar", "litestar-sqlite-floor", LITESTAR_OPTIONS, "litestar-none"),
    ("aiohttp", "aiohttp-sqlite-floor", AIOHTTP_PEERS, "aiohttp-none"),
)

#: Picks a random cookie per request; every tenth request of a connection's thread writes.
LUA = r"""
local cookies = {}
local counter = 0
function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then cookies[#cookies + 1] = line end
  end
  math.randomseed(os.time() + tonumber(tostring(cookies):match("0x(%x+)") or "0", 16) % 100000)
end
function request()
  counter = counter + 1
  local path = "/read"
  if counter % 10 == 0 then path = "/write" end
  if #cookies == 0 then return wrk.format("GET", path) end
  return wrk.format("GET", path, {["Cookie"] = cookies[math.random(#cookies)]})
end
"""


@dataclass(frozen=True)
class WebSettings:
    name: str
    sessions: int
    seconds: int
    rounds: int
    connections: int = 64


WEB_SETTINGS = {
    "full": WebSettings("full", sessions=10_000, seconds=10, rounds=3),
    "quick": WebSettings("quick", sessions=10_000, seconds=5, rounds=1),
    "smoke": WebSettings("smoke", sessions=200, seconds=1, rounds=1),
}


@dataclass
class Measurement:
    subject: str
    requests_per_second: float
    requests: int
    errors: int
    latency_p99_ms: float | None


@dataclass
class WebRun:
    settings: dict[str, Any]
    rounds: list[list[Measurement]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)

    def best(self) -> dict[str, Measurement]:
        best: dict[str, Measurement] = {}
        for measurements in self.rounds:
            for m in measurements:
                if m.subject not in best or m.requests_per_second > best[m.subject].requests_per_second:
                    best[m.subject] = m
        return best


@dataclass(frozen=True)
class Target:
    name: str
    wanted: float
    measured: float | None
    higher_is_better: bool = True

    @property
    def met(self) -> bool | None:
        if self.measured is None:
            return None
        return self.measured >= self.wanted if self.higher_is_better else self.measured <= self.wanted


def targets(best: dict[str, Measurement]) -> list[Target]:
    rps = {name: m.requests_per_second for name, m in best.items()}
    peers = [rps[p] for p in PEERS if p in rps]
    redis_peers = [rps[p] for p in REDIS_PEERS if p in rps]
    sqlite, memory, none = rps.get("jamsession-sqlite-crypt"), rps.get("jamsession-memory"), rps.get("none")

    def ratio(a: float | None, b: list[float]) -> float | None:
        return None if a is None or not b else a / max(b)

    aiohttp, aiohttp_none = rps.get("jamsession-aiohttp-sqlite-crypt"), rps.get("aiohttp-none")
    plain = rps.get("jamsession-sqlite")
    return [
        Target("SQLite crypt on ÷ best peer", 1.5, ratio(sqlite, peers)),
        Target(
            "crypt cost, SQLite (1 - crypt on ÷ crypt off)",
            0.05,
            None if sqlite is None or plain is None else 1 - sqlite / plain,
            higher_is_better=False,
        ),
        Target("SQLite crypt on ÷ best Redis peer", 4.0, ratio(sqlite, redis_peers)),
        Target("memory ÷ best peer", 2.0, ratio(memory, peers)),
        Target(
            "session cost, SQLite crypt on (1 - ÷ no sessions)",
            0.40,
            None if sqlite is None or none is None else 1 - sqlite / none,
            higher_is_better=False,
        ),
        Target(
            "aiohttp, SQLite crypt on ÷ best aiohttp-session",
            2.0,
            ratio(aiohttp, [rps[p] for p in AIOHTTP_PEERS if p in rps]),
        ),
        Target(
            "aiohttp session cost, SQLite crypt on (1 - ÷ aiohttp no sessions)",
            0.40,
            None if aiohttp is None or aiohttp_none is None else 1 - aiohttp / aiohttp_none,
            higher_is_better=False,
        ),
        *_litestar_targets(rps),
    ]


def _litestar_targets(rps: dict[str, float]) -> list[Target]:
    jam, none = rps.get("litestar-jamsession-sqlite-crypt"), rps.get("litestar-none")
    options = [rps[o] for o in LITESTAR_OPTIONS if o in rps]
    return [
        Target(
            "Litestar: SQLite crypt on ÷ best Litestar session option",
            2.0,
            None if jam is None or not options else jam / max(options),
        ),
        Target(
            "Litestar: session cost, SQLite crypt on (1 - ÷ Litestar no sessions)",
            0.40,
            None if jam is None or none is None else 1 - jam / none,
            higher_is_better=False,
        ),
    ]


def run(settings: WebSettings, workdir: Path, progress: Any = None, only: list[str] | None = None) -> WebRun:
    result = WebRun(asdict(settings))
    if WRK is None:
        result.skipped.append("web: wrk is not installed (make bench installs it: apt-get install wrk)")
        return result
    subjects = [s for s in SUBJECTS if only is None or s in only]
    with contextlib.ExitStack() as stack:
        redis_url = None
        if REDIS_SERVER is None:
            result.skipped.append("web: redis-server is not installed: the Redis peers are left out")
            subjects = [s for s in subjects if not s.endswith("-redis")]
        else:
            redis_url = stack.enter_context(_redis(workdir))
        script = workdir / "web.lua"
        script.write_text(LUA)
        for number in range(settings.rounds):
            measurements = []
            for subject in subjects:
                if progress is not None:
                    progress(f"web · {subject} · round {number + 1}")
                if redis_url is not None:
                    _redis_command(redis_url, "FLUSHALL")
                measured = _measure(subject, settings, workdir, script, redis_url)
                if measured.errors:
                    result.invalid.append(f"{subject}: {measured.errors} failed or sessionless requests")
                measurements.append(measured)
            result.rounds.append(measurements)
    return result


def _measure(
    subject: str, settings: WebSettings, workdir: Path, script: Path, redis_url: str | None
) -> Measurement:
    with _server(subject, workdir, redis_url) as url:
        cookies = asyncio.run(_make_sessions(url, subject, settings.sessions))
        cookie_file = workdir / f"cookies-{subject}.txt"
        cookie_file.write_text("\n".join(cookies) + "\n")
        _wrk(url, script, cookie_file, 1, settings.connections)  # warm-up, not counted
        output = _wrk(url, script, cookie_file, settings.seconds, settings.connections)
        missing = asyncio.run(_check_sessions(url, cookies))
    return _parse(subject, output, missing)


@contextlib.contextmanager
def _server(subject: str, workdir: Path, redis_url: str | None) -> Iterator[str]:
    port_file = workdir / f"port-{subject}"
    port_file.unlink(missing_ok=True)
    command = [sys.executable, "-m", "benchmarks._web_apps", subject, str(port_file), str(workdir)]
    if redis_url is not None:
        command.append(redis_url)
    root = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(command, cwd=root)  # noqa: S603 - our own module, by this interpreter
    try:
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"web benchmark: the {subject} app did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port_file.read_text()}"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _make_sessions(url: str, subject: str, count: int) -> list[str]:
    """Starts ``count`` sessions through the app; returns their ``Cookie`` header values.

    Plain HTTP/1.1 over a few keep-alive connections, requests pipelined in
    batches: making the sessions should not take longer than measuring them.
    """
    host, port = url.removeprefix("http://").split(":")
    connections = 8
    shares = [range(start, count, connections) for start in range(connections)]
    found = await asyncio.gather(*(_pipeline(host, int(port), share) for share in shares))
    cookies = [cookie for share in found for cookie in share]
    if subject not in ("none", "aiohttp-none", "litestar-none") and len(cookies) != count:
        raise RuntimeError(f"web benchmark: {subject} set {len(cookies)} cookies for {count} sessions")
    return cookies


async def _pipeline(host: str, port: int, numbers: range, batch: int = 50) -> list[str]:
    reader, writer = await asyncio.open_connection(host, port)
    cookies: list[str] = []
    try:
        items = list(numbers)
        for start in range(0, len(items), batch):
            chunk = items[start : start + batch]
            writer.write(
                b"".join(b"GET /new?n=%d HTTP/1.1\r\nHost: %s\r\n\r\n" % (n, host.encode()) for n in chunk)
            )
            await writer.drain()
            for _ in chunk:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                if " 200 " not in lines[0] + " ":
                    raise RuntimeError(f"web benchmark: /new answered {lines[0]!r}")
                length = 0
                setters = []
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    name = name.strip().lower()
                    if name == "content-length":
                        length = int(value)
                    elif name == "set-cookie":
                        setters.append(value.strip().split(";", 1)[0])
                await reader.readexactly(length)
                if setters:
                    cookies.append("; ".join(setters))
    finally:
        writer.close()
        await writer.wait_closed()
    return cookies


async def _check_sessions(url: str, cookies: list[str]) -> int:
    """How many of a sample of the sessions the app no longer finds (they must all be live)."""
    import httpx

    if not cookies:
        return 0
    missing = 0
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        for cookie in random.sample(cookies, min(50, len(cookies))):
            if (await client.get("/read", headers={"cookie": cookie})).status_code != 200:
                missing += 1
    return missing


def _wrk(url: str, script: Path, cookies: Path, seconds: int, connections: int) -> str:
    assert WRK is not None
    command = [
        WRK,
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(script),
        url,
        "--",
        str(cookies),
    ]
    # wrk found on PATH, with arguments made here.
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)  # noqa: S603
    return done.stdout


def _parse(subject: str, output: str, missing: int) -> Measurement:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", output)
    if rate is None or total is None:
        raise RuntimeError(f"web benchmark: cannot read wrk's output for {subject}:\n{output}")
    errors = missing + (int(non_2xx.group(1)) if non_2xx else 0)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    latency = None
    if p99 is not None:
        latency = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return Measurement(subject, float(rate.group(1)), int(total.group(1)), errors, latency)


@contextlib.contextmanager
def _redis(workdir: Path) -> Iterator[str]:
    assert REDIS_SERVER is not None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    directory = workdir / "redis"
    directory.mkdir(exist_ok=True)
    process = subprocess.Popen(  # noqa: S603 - redis-server from PATH, arguments made here
        [
            REDIS_SERVER,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                _redis_command(url, "PING")
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _redis_command(url: str, command: str) -> None:
    port = int(url.rsplit(":", 1)[1].split("/", maxsplit=1)[0])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(f"{command}\r\n".encode())
        reply = connection.recv(64)
        if not reply.startswith((b"+", b"$")):
            raise OSError(f"redis answered {reply!r}")


def report(result: WebRun) -> str:
    best = result.best()
    none = best.get("none")
    lines = [
        "## Web sessions end to end (HTTP)",
        "",
        f"uvicorn, one worker, 127.0.0.1; wrk, {result.settings['connections']} keep-alive connections; "
        f"{result.settings['sessions']:,} live sessions; each request reads its session, one in ten "
        f"changes one key; best of {len(result.rounds)} round(s) of {result.settings['seconds']} s.",
        "",
        "The aiohttp subjects run on aiohttp's own server and compare with `aiohttp-none`; "
        "the Litestar ones compare with `litestar-none`.",
        "",
        "| subject | requests/s | ÷ no sessions (same framework) | p99 latency (ms) |",
        "|---|---:|---:|---:|",
    ]
    for subject in SUBJECTS:
        m = best.get(subject)
        if m is None:
            continue
        # Each framework's subjects against that framework's app without sessions.
        if subject in AIOHTTP_SUBJECTS:
            base = best.get("aiohttp-none")
        else:
            base = best.get("litestar-none") if subject.startswith("litestar") else none
        share = f"{m.requests_per_second / base.requests_per_second:.2f}" if base else "n/a"
        p99 = f"{m.latency_p99_ms:.1f}" if m.latency_p99_ms is not None else "n/a"
        lines.append(f"| {subject} | {m.requests_per_second:,.0f} | {share} | {p99} |")
    lines += ["", "| target | wanted | measured | met |", "|---|---:|---:|---|"]
    for target in targets(best):
        sign = "≥" if target.higher_is_better else "≤"
        measured = "n/a" if target.measured is None else f"{target.measured:.2f}"
        met = {True: "yes", False: "no", None: "n/a"}[target.met]
        lines.append(f"| {target.name} | {sign} {target.wanted:g} | {measured} | {met} |")
    lines += _floors(best)
    for note in [*result.skipped, *result.invalid]:
        lines.append(f"\n- {note}")
    return "\n".join(lines) + "\n"


def _floors(best: dict[str, Measurement]) -> list[str]:
    """What the ``*-sqlite-floor`` subjects bound, for each framework measured."""
    lines = []
    for framework, floor, peers, none in FLOORS:
        if floor in best and none in best and any(p in best for p in peers):
            rps = best[floor].requests_per_second
            ratio = rps / max(best[p].requests_per_second for p in peers if p in best)
            cost = 1 - rps / best[none].requests_per_second
            lines.append(
                f"- {framework}: {ratio:.2f} times the best peer's requests/s, at a cost of {cost:.2f} "
                "of the no-session app's."
            )
    if not lines:
        return []
    return [
        "",
        "The `*sqlite-floor` subjects are bounds, not session layers: one SQLite read per request and one "
        "write per change, on the event loop, with nothing else a session layer does "
        "(`benchmarks._web_apps.SqliteFloor`). No layer that reads its sessions from SQLite on each "
        "request serves more on the same framework here:",
        "",
        *lines,
    ]


def write(result: WebRun, output: Path) -> str:
    output.mkdir(parents=True, exist_ok=True)
    best = result.best()
    payload = {
        "settings": result.settings,
        "rounds": [[asdict(m) for m in measurements] for measurements in result.rounds],
        "best": {name: asdict(m) for name, m in best.items()},
        "targets": [{**asdict(t), "met": t.met} for t in targets(best)],
        "skipped": result.skipped,
        "invalid": result.invalid,
    }
    (output / "web_http.json").write_text(json.dumps(payload, indent=2) + "\n")
    text = report(result)
    (output / "web_http.md").write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.web_http", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", dest="size", const="quick")
    size.add_argument("--smoke", action="store_const", dest="size", const="smoke")
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument(
        "--only", nargs="+", choices=SUBJECTS, metavar="SUBJECT", help="run these subjects only"
    )
    parser.set_defaults(size="full")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="jamsession-web-bench-") as workdir:
        result = run(
            WEB_SETTINGS[args.size],
            Path(workdir),
            lambda text: print(text, file=sys.stderr, flush=True),
            args.only,
        )
    print(write(result, args.output))
    return 0 if not result.invalid else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
