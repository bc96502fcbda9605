"""``python -m benchmarks``: runs every part, shows progress, writes the results."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import importlib.util
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import _peers
from benchmarks._measure import Group, run_group
from benchmarks._mongo_server import mongo_server
from benchmarks._payloads import PAYLOADS
from benchmarks._realistic import run_realistic
from benchmarks._report import summary, write_json
from benchmarks._results import Run
from benchmarks._scaling import run_scaling
from benchmarks._settings import SETTINGS, Settings
from benchmarks._stalls import run_stalls
from benchmarks._startup import run_startup
from benchmarks._subjects import BACKENDS, Context, jamlib_groups, lifecycle_groups
from benchmarks._targets import evaluate

#: Points the MongoDB runs at a running server instead of starting SecantusDB.
MONGODB_URL_VARIABLE = "JAMSESSION_BENCH_MONGODB_URL"
SECTIONS = (
    "startup",
    "lifecycle",
    "jamlib",
    "scaling",
    "stalls",
    "realistic",
    "web",
    "redis",
    "migrate",
    "plots",
    "telemetry",
    "memory",
)
DEFAULT_OUTPUT = Path(__file__).parent / "results"
_VERSIONS = (
    "jamsession",
    "aiosqlite",
    "pymongo",
    "secantusdb",
    "orjson",
    "cbor2",
    "cryptography",
    "starsessions",
    "litestar",
    "jamlib",
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick", action="store_const", dest="size", const="quick", help="small run, a few minutes"
    )
    size.add_argument(
        "--smoke", action="store_const", dest="size", const="smoke", help="tiny run: does it work?"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="results directory")
    parser.add_argument(
        "--backends", default=",".join(BACKENDS), help=f"comma-separated, of {', '.join(BACKENDS)}"
    )
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma-separated, of {', '.join(SECTIONS)}"
    )
    parser.set_defaults(size="full")
    args = parser.parse_args(argv)
    args.backends = _choices(parser, "--backends", args.backends, BACKENDS)
    args.sections = _choices(parser, "--sections", args.sections, SECTIONS)
    return args


def _choices(parser: argparse.ArgumentParser, option: str, value: str, allowed: Sequence[str]) -> list[str]:
    chosen = [item.strip() for item in value.split(",") if item.strip()]
    unknown = [item for item in chosen if item not in allowed]
    if unknown:
        parser.error(f"{option}: unknown {', '.join(unknown)} (choose from {', '.join(allowed)})")
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = SETTINGS[args.size]
    args.output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jamsession-bench-") as workdir:
        run = _run(settings, args.backends, args.sections, Path(workdir))
        if "web" in args.sections:
            from benchmarks import web_http

            web = web_http.run(web_http.WEB_SETTINGS[settings.name], Path(workdir))
            run.skipped += [*web.skipped, *web.invalid]
            print(web_http.write(web, args.output))
    targets = evaluate(run)
    plots = "plots" in args.sections and importlib.util.find_spec("matplotlib") is not None
    if "plots" in args.sections and not plots:
        run.skipped.append("plots: matplotlib is not installed (pip install -r benchmarks/requirements.txt)")
    write_json(run, targets, args.output / "results.json")
    text = summary(run, targets)
    (args.output / "summary.md").write_text(text, encoding="utf-8")
    if plots:
        from benchmarks._plots import draw

        draw(run, targets, args.output)
    # The targets table, for whoever watches the run.
    print(text.split("\n## ")[1].join(["## ", "\n"]))
    if "memory" in args.sections:
        from benchmarks import memory_per_session

        sessions = memory_per_session.SESSIONS[args.size]
        # Redis too, beside the backends chosen, when its section runs (it needs a redis-server).
        backends = [*args.backends, *(["redis"] if "redis" in args.sections else [])]
        print(memory_per_session.write(memory_per_session.measure_all(sessions, backends), args.output))
    if "telemetry" in args.sections:
        from benchmarks import telemetry

        print(telemetry.summary(telemetry.run(settings, args.output)))
    print(f"results in {args.output}/ (results.json, summary.md, *.png)")
    if "redis" in args.sections:
        if shutil.which("redis-server") is None:
            print("redis: skipped, redis-server is not installed (apt-get install -y redis-server)")
        else:
            from benchmarks import redis_ratios

            redis_ratios.main(["--output", str(args.output), *([] if args.size == "full" else ["--quick"])])
    if "migrate" in args.sections:
        from benchmarks import migrate_ratios

        migrate_ratios.main(["--size", args.size, "--output", str(args.output / "migrate.json")])
    return 0


def _run(settings: Settings, backends: list[str], sections: list[str], workdir: Path) -> Run:
    run = Run(settings, _meta(settings))
    with contextlib.ExitStack() as stack:
        mongodb_url = None
        if "mongodb" in backends and "lifecycle" in sections:
            mongodb_url = _mongodb(stack, workdir, run)
            if mongodb_url is None:
                backends = [backend for backend in backends if backend != "mongodb"]
        context = Context.create(workdir, mongodb_url)
        groups = lifecycle_groups(settings, context, backends) if "lifecycle" in sections else []
        jamlib = jamlib_groups(settings, context) if "jamlib" in sections and "sqlite" in backends else []
        if "jamlib" in sections and not _peers.available("jamlib"):
            run.skipped.append("jamlib: not installed (pip install -r benchmarks/requirements.txt)")
        scaling: list[str] = (
            [b for b in ("memory", "sqlite") if b in backends] if "scaling" in sections else []
        )
        for peer in ("starsessions", "litestar"):
            if "memory" in backends and not _peers.available(peer):
                run.skipped.append(f"{peer}: not installed (pip install -r benchmarks/requirements.txt)")
        steps = sum(1 + group.repeats for group in [*groups, *jamlib])
        steps += len(scaling) * len(settings.scaling_sizes) + ("startup" in sections)
        sqlite_sections = [
            name for name in ("stalls", "realistic") if name in sections and "sqlite" in backends
        ]
        steps += len(sqlite_sections)
        with _progress(steps) as advance:
            if "startup" in sections:
                advance.describe("start-up")
                run.startup = run_startup(settings.startup_repeats, advance)
            asyncio.run(_measure(run, groups, jamlib, scaling, context=context, advance=advance))
            if "stalls" in sqlite_sections:
                advance.describe("sqlite event-loop stalls")
                run.stalls = asyncio.run(
                    run_stalls(
                        workdir,
                        stored=settings.stall_stored,
                        key_sessions=settings.stall_key_sessions,
                        gets=settings.stall_gets,
                        data=PAYLOADS["typical"],
                    )
                )
                advance(1)
            if "realistic" in sqlite_sections:
                advance.describe("sqlite two processes, random sessions")
                run.realistic = run_realistic(
                    workdir,
                    stored=settings.realistic_stored,
                    requests=settings.realistic_requests,
                    rounds=settings.realistic_rounds,
                    data=PAYLOADS["typical"],
                )
                advance(1)
    run.meta["load_after"] = _load()
    return run


async def _measure(
    run: Run, groups: list[Group], jamlib: list[Group], scaling: list[str], *, context: Context, advance: Any
) -> None:
    try:
        for group in groups:
            advance.describe(group.title)
            run.groups.append(await run_group(group, advance))
            await context.drop_collections()
    finally:
        await context.aclose()
    for group in jamlib:
        advance.describe(f"sqlite vs jamlib · {group.stored} stored")
        run.jamlib.append(await run_group(group, advance))
    settings = run.settings
    for backend in scaling:
        advance.describe(f"{backend} get by stored sessions")
        run.scaling.append(
            await run_scaling(
                backend,
                sizes=settings.scaling_sizes,
                gets=settings.scaling_gets,
                repeats=settings.scaling_repeats,
                data=PAYLOADS["typical"],
                workdir=context.workdir,
                advance=advance,
            )
        )


def _mongodb(stack: contextlib.ExitStack, workdir: Path, run: Run) -> str | None:
    configured = os.environ.get(MONGODB_URL_VARIABLE)
    if configured:
        return configured
    if importlib.util.find_spec("secantus") is None:
        run.skipped.append(f"mongodb: no server (install secantusdb, or set {MONGODB_URL_VARIABLE})")
        return None
    if importlib.util.find_spec("pymongo") is None or not _installed("jamsession-mongodb"):
        run.skipped.append("mongodb: jamsession-mongodb is not installed")
        return None
    return stack.enter_context(mongo_server(workdir / "mongodb"))


class _Advance:
    """Moves the progress bar; ``describe`` names what runs now."""

    def __init__(self, bar: Any) -> None:
        self._bar = bar

    def __call__(self, steps: int) -> None:
        self._bar.update(steps)

    def describe(self, text: str) -> None:
        self._bar.set_description_str(text[:48].ljust(48))


class _PlainBar:
    """Without tqdm: one line per step."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.text = total, 0, ""

    def update(self, steps: int) -> None:
        self.done += steps
        print(f"[{self.done}/{self.total}] {self.text}", file=sys.stderr, flush=True)

    def set_description_str(self, text: str) -> None:
        self.text = text.strip()

    def close(self) -> None:
        pass


@contextlib.contextmanager
def _progress(total: int) -> Iterator[_Advance]:
    bar: Any
    if importlib.util.find_spec("tqdm") is not None:
        from tqdm import tqdm  # type: ignore[import-untyped]  # ships no type information

        bar = tqdm(total=total, unit="step", file=sys.stderr, dynamic_ncols=True)
    else:
        bar = _PlainBar(total)
    try:
        yield _Advance(bar)
    finally:
        bar.close()


def _installed(distribution: str) -> bool:
    try:
        metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True


def _load() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:  # pragma: no cover - no load average on this platform
        return "n/a"


def _meta(settings: Settings) -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for distribution in _VERSIONS:
        try:
            versions[distribution] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            versions[distribution] = None
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": settings.name,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        "load_before": _load(),
        "load_after": None,
        "versions": versions,
        "payload_bytes": {name: len(_json(data)) for name, data in PAYLOADS.items()},
    }


def _json(data: dict[str, Any]) -> bytes:
    import json

    return json.dumps(data, separators=(",", ":")).encode()
