"""Telemetry: what the hook machinery costs a store when the plugin is installed but off, and when on.

``python -m benchmarks.telemetry [--quick|--smoke]`` (also the ``telemetry`` section of
``python -m benchmarks``) times memory stores side by side with the usual chunked pairing, in two groups:

- ``no plugin``: built by a plugin manager that loaded no hook plugin, as if
  jamsession-telemetry were not installed (and a second such store, the control,
  whose ratio to the first is the measurement's own noise);
- ``installed, off``: built by the plugin manager as the process loads it, with
  jamsession-telemetry installed and ``JAMSESSION_TELEMETRY`` unset;
- ``on, API only``: telemetry on, with the OpenTelemetry API and no SDK configured;
- ``on, SDK + Prometheus``: telemetry on, recording spans and metrics with the
  OpenTelemetry SDK and a Prometheus registry.

The first three are one group, the ``on`` ones another, against their own
``no plugin``: the garbage of recorded spans would otherwise be collected
during the turns of the others.

The target: ``installed, off`` costs at most 2% on ``get`` against ``no plugin``.

It then runs a short web-like workload on SQLite with telemetry on (loads,
patches, logins, revokes, sessions expiring on a simulated clock, a burst of
forged tokens in the middle), scraping the Prometheus registry as a server
would, and charts the scrapes the way a dashboard would
(``telemetry-dashboard.png``; a full run into the default output also
refreshes the docs' copy). ``--dashboard`` runs only that part.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from benchmarks._measure import OPS, Group, GroupResult, Subject, run_group
from benchmarks._payloads import PAYLOADS
from benchmarks._results import cost
from benchmarks._settings import SETTINGS, Settings
from jamsession import _hooks

#: The most ``installed, off`` may cost on ``get``, against ``no plugin``.
TARGET = 1.02
NO_PLUGIN, OFF, API_ONLY, SDK = "no plugin", "installed, off", "on, API only", "on, SDK + Prometheus"
#: A second store built like ``no plugin``: its ratio is the measurement's own noise.
CONTROL = "no plugin (control)"
DEFAULT_OUTPUT = Path(__file__).parent / "results"
#: The chart the docs' Telemetry page shows.
DOCS_FIGURE = Path(__file__).parent.parent / "docs" / "telemetry-dashboard.png"


@contextlib.contextmanager
def _building_with(manager: pluggy.PluginManager | None) -> Iterator[pluggy.PluginManager]:
    """Stores built inside see ``manager`` (``None``: the one the process loads from its entry points)."""
    saved = _hooks._manager
    _hooks._manager = manager
    try:
        yield _hooks.get_plugin_manager()
    finally:
        _hooks._manager = saved


def _bare_manager(*plugins: object) -> pluggy.PluginManager:
    manager = pluggy.PluginManager(_hooks.PROJECT)
    manager.add_hookspecs(_hooks.HookSpecs)
    for plugin in plugins:
        manager.register(plugin)
    return manager


def _sdk_plugin() -> Any:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from prometheus_client import CollectorRegistry

    from jamsession_telemetry import TelemetryPlugin

    # Spans are recorded and then dropped (no processor): the cost measured is the plugin's.
    return TelemetryPlugin(
        ["otel", "prometheus"],
        tracer_provider=TracerProvider(),
        meter_provider=MeterProvider(metric_readers=[InMemoryMetricReader()]),
        prometheus_registry=CollectorRegistry(),
    )


def _memory_store(manager: pluggy.PluginManager | None) -> Subject:
    from jamsession_memory import MemorySessions

    with _building_with(manager) as used:
        if manager is None:
            from jamsession_telemetry import TelemetryOff

            installed = used.get_plugin("jamsession.plugins:telemetry")
            if not isinstance(installed, TelemetryOff):
                raise RuntimeError(
                    f"jamsession-telemetry must be installed and off for this run (got {installed!r}): "
                    "install it and unset JAMSESSION_TELEMETRY"
                )
        store: Subject = MemorySessions()
    return store


def _factory(manager: pluggy.PluginManager | None) -> Any:
    async def build() -> Subject:
        return _memory_store(manager)

    return build


def overhead_group(settings: Settings) -> Group:
    """``installed, off`` against ``no plugin``, and ``no plugin`` against itself to show the noise.

    Timed apart from the ``on`` subjects: the garbage their spans leave would
    be collected during these subjects' turns.
    """
    return Group(
        "memory",
        "typical",
        1,
        settings.sessions["memory"],
        settings.chunk["memory"],
        PAYLOADS["typical"],
        {NO_PLUGIN: _factory(_bare_manager()), OFF: _factory(None), CONTROL: _factory(_bare_manager())},
        repeats=3 * max(settings.repeats["memory"], 3),
    )


def on_group(settings: Settings) -> Group:
    """What telemetry costs when it is on, against ``no plugin``."""
    from jamsession_telemetry import TelemetryPlugin

    return Group(
        "memory",
        "typical",
        1,
        settings.sessions["memory"],
        settings.chunk["memory"],
        PAYLOADS["typical"],
        {
            NO_PLUGIN: _factory(_bare_manager()),
            API_ONLY: _factory(_bare_manager(TelemetryPlugin(["otel"]))),
            SDK: _factory(_bare_manager(_sdk_plugin())),
        },
        repeats=max(settings.repeats["memory"], 3),
    )


def ratios(result: GroupResult) -> dict[str, dict[str, dict[str, float]]]:
    """Each subject's time per operation relative to ``no plugin``: median, low, high of paired chunks."""
    found: dict[str, dict[str, dict[str, float]]] = {}
    for subject in result.group.subjects:
        if subject == NO_PLUGIN:
            continue
        found[subject] = {}
        for op in OPS:
            ratio = cost(result, subject, NO_PLUGIN, op)
            found[subject][op] = {"median": ratio.median, "low": ratio.low, "high": ratio.high}
    return found


# -- the dashboard run ---------------------------------------------------------------


@dataclass
class Scrape:
    """One scrape of the registry: seconds since the start, and every sample by name and labels."""

    at: float
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = field(default_factory=dict)


#: Simulated seconds per tick of the dashboard run, and the sessions' lifetime in them.
_TICK_SECONDS, _DASHBOARD_TTL = 60.0, 900.0


async def dashboard_run(workdir: Path, ticks: int, per_tick: int) -> list[Scrape]:
    """A web-like SQLite workload with telemetry on, scraped after every tick; forged tokens mid-run.

    Each request loads its session and patches it now and then; visitors log in
    (a rework to their user key), some revoke another device or log out. The
    store's clock moves a minute per tick, so sessions older than its TTL expire
    and their stale cookies come back as ``expired`` rejections until purged.
    """
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    import jamsession
    from jamsession._crypto import PURPOSE_ID, KeyRing, b64decode, b64encode, key_header, parse_key
    from jamsession_telemetry import TelemetryPlugin

    registry = CollectorRegistry()
    manager = _bare_manager(TelemetryPlugin(["prometheus"], prometheus_registry=registry))
    key = jamsession.generate_key()
    simulated = [1_000_000.0]
    with _building_with(manager):
        store: Any = jamsession.open(
            "sqlite",
            path=str(workdir / "dashboard.db"),
            is_session_crypt=True,
            session_aes_secret=key,
            default_ttl=_DASHBOARD_TTL,
            clock=lambda: simulated[0],
        )
    # Another environment's key, of another id than the store's (a random pair shares one once in 128).
    attacker_key = next(
        other
        for other in iter(jamsession.generate_key, None)
        if key_header(parse_key(other)) != key_header(parse_key(key))
    )
    attacker = KeyRing(attacker_key)
    rng = random.Random(24)  # noqa: S311 - a replayable workload, not secrets
    data = PAYLOADS["typical"]
    scrapes: list[Scrape] = []
    started = time.perf_counter()

    def scrape() -> None:
        found = Scrape(time.perf_counter() - started)
        for family in text_string_to_metric_families(generate_latest(registry).decode()):
            for sample in family.samples:
                found.samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        scrapes.append(found)

    live: list[str] = []
    stale: list[str] = []  # cookies of sessions ended by expiry: browsers keep sending them

    async with store:
        scrape()
        for tick in range(ticks):
            for _ in range(per_tick):
                await _request(store, rng, data, live, stale)
            # A trickle of garbage and altered cookies, and a burst of forged ones a third of the way in.
            await store.get("not-a-token" * rng.randrange(1, 3))
            if live:
                sealed = b64decode(rng.choice(live))
                await store.get(b64encode(sealed[:-1] + bytes([sealed[-1] ^ 1])))
            if ticks // 3 <= tick < ticks // 3 + max(ticks // 8, 1):
                for _ in range(per_tick // 2):
                    forged = b64encode(attacker.encrypt(os.urandom(16).hex().encode(), PURPOSE_ID))
                    await store.get(forged)
            simulated[0] += _TICK_SECONDS
            if tick == 2 * ticks // 3:
                await store.purge_expired()  # the nightly `jamsession gc`: expired records go
            scrape()
    return scrapes


async def _request(
    store: Any, rng: random.Random, data: dict[str, Any], live: list[str], stale: list[str]
) -> None:
    """One visitor's request: mostly a load, now and then a patch, a login, a revoke or a log-out."""
    import jamsession

    roll = rng.random()
    if roll < 0.12 or len(live) < 10:
        live.append(await store.create("anonymous", data))
    elif roll < 0.80:
        index = rng.randrange(len(live))
        entry = await store.load(live[index])
        if entry is None:
            stale.append(live.pop(index))
        elif roll < 0.30:
            await store.patch(live[index], {"seen": roll}, expected=entry)
    elif roll < 0.88:
        index = rng.randrange(len(live))
        try:
            live[index] = await store.rework(live[index], session_key=f"user-{rng.randrange(200)}")
        except jamsession.JamSessionNotFound:
            stale.append(live.pop(index))
    elif roll < 0.92 and stale:
        await store.get(stale.pop(rng.randrange(len(stale))))
    elif roll < 0.94:
        user = f"user-{rng.randrange(200)}"
        devices = await store.list_sessions(user)
        if devices:
            await store.revoke(user, rng.choice(devices).handle)
    else:
        await store.delete(live.pop(rng.randrange(len(live))))


def _value(scrape: Scrape, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in scrape.samples.items() if n == name and wanted <= set(ls))


def _quantile(buckets: list[tuple[float, float]], q: float) -> float:
    """``histogram_quantile``: linear interpolation in the bucket where the ``q`` quantile falls."""
    total = buckets[-1][1]
    if total <= 0:
        return float("nan")
    rank, lower, below = q * total, 0.0, 0.0
    for upper, count in buckets:
        if count >= rank:
            if upper == float("inf"):
                return lower
            return lower + (upper - lower) * (rank - below) / max(count - below, 1e-12)
        lower, below = upper, count
    return lower


def draw_dashboard(scrapes: list[Scrape], path: Path) -> Path:
    """Three panels as a dashboard shows them: operations per second, latency quantiles, rejections."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times = [s.at for s in scrapes[1:]]
    figure, (rates, latency, rejected) = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    pairs = list(itertools.pairwise(scrapes))
    for op in ("load", "patch", "create", "rework", "get", "revoke"):
        name = "jamsession_operation_duration_seconds_count"
        rates.plot(
            times,
            [
                (_value(b, name, operation=op) - _value(a, name, operation=op)) / (b.at - a.at)
                for a, b in pairs
            ],
            label=op,
        )
    rates.set_ylabel("operations / s")
    rates.set_title("rate(jamsession_operation_duration_seconds_count[1 scrape]) by operation")
    rates.legend(loc="upper right", fontsize="small", ncol=6)
    bounds = sorted(
        {float(dict(ls)["le"]) for (n, ls) in scrapes[-1].samples if n.endswith("_seconds_bucket")}
    )
    for op in ("load", "patch"):
        for q, style in ((0.5, "-"), (0.99, "--")):
            values = []
            for a, b in pairs:
                buckets = [
                    (
                        bound,
                        _value(b, "jamsession_operation_duration_seconds_bucket", operation=op, le=_le(bound))
                        - _value(
                            a, "jamsession_operation_duration_seconds_bucket", operation=op, le=_le(bound)
                        ),
                    )
                    for bound in bounds
                ]
                values.append(_quantile(buckets, q) * 1e6)
            latency.plot(times, values, style, label=f"{op} p{round(q * 100)}")
    latency.set_yscale("log")
    latency.set_ylabel("microseconds (log)")
    latency.set_title("histogram_quantile(q, rate(jamsession_operation_duration_seconds_bucket))")
    latency.legend(loc="upper right", fontsize="small", ncol=4)
    for reason in ("malformed", "unknown key", "tampered", "expired"):
        name = "jamsession_tokens_rejected_total"
        rejected.plot(
            times,
            [
                (_value(b, name, reason=reason) - _value(a, name, reason=reason)) / (b.at - a.at)
                for a, b in pairs
            ],
            label=reason,
        )
    rejected.set_ylabel("tokens / s")
    rejected.set_xlabel("seconds into the run (one point per scrape)")
    rejected.set_title(
        "rate(jamsession_tokens_rejected_total) by reason: forged under another key; expired until purged"
    )
    rejected.legend(loc="upper right", fontsize="small")
    figure.suptitle("jamsession-telemetry on SQLite (crypt on), from Prometheus scrapes of a benchmark run")
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


# -- running -------------------------------------------------------------------------


def dashboard(settings: Settings, output: Path) -> tuple[list[Scrape], list[str]]:
    """Run the dashboard workload and chart its scrapes, in ``output`` and as the docs' figure."""
    output.mkdir(parents=True, exist_ok=True)
    ticks, per_tick = {"full": (48, 400), "quick": (24, 200)}.get(settings.name, (8, 40))
    with tempfile.TemporaryDirectory(prefix="jamsession-bench-telemetry-") as workdir:
        scrapes = asyncio.run(dashboard_run(Path(workdir), ticks, per_tick))
    written = []
    with contextlib.suppress(ImportError):  # matplotlib comes with the benchmarks' requirements
        chart = draw_dashboard(scrapes, output / "telemetry-dashboard.png")
        written.append(_shown(chart))
        if settings.name == "full" and output == DEFAULT_OUTPUT:
            shutil.copyfile(chart, DOCS_FIGURE)  # the Telemetry page shows a full run's chart
            written.append(_shown(DOCS_FIGURE))
    return scrapes, written


def _shown(path: Path) -> str:
    """``path`` relative to the repository when it is in it: results name no machine's directories."""
    root = DOCS_FIGURE.parent.parent
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def run(settings: Settings, output: Path) -> dict[str, Any]:
    """Time the overhead, run and chart the dashboard workload; write ``telemetry.json``."""
    output.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(run_group(overhead_group(settings), lambda _: None))
    found = ratios(result)
    on = asyncio.run(run_group(on_group(settings), lambda _: None))
    found.update(ratios(on))
    # Seconds per get of each subject, from its own group: what a ratio means in time.
    per_get = {name: result.median(name, "get") for name in result.group.subjects}
    per_get.update({name: on.median(name, "get") for name in (API_ONLY, SDK)})
    scrapes, written = dashboard(settings, output)
    report = {
        "mode": settings.name,
        "sessions_per_phase": result.group.sessions,
        "repeats": result.group.repeats,
        "chunk": result.group.chunk,
        "cost_against_no_plugin": found,
        "seconds_per_get": per_get,
        "target": {
            "subject": OFF,
            "op": "get",
            "at_most": TARGET,
            "met": found[OFF]["get"]["median"] <= TARGET,
        },
        "dashboard": {"scrapes": len(scrapes), "charts": written},
    }
    (output / "telemetry.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def summary(report: dict[str, Any]) -> str:
    lines = ["memory store, time per operation against `no plugin` (median of paired chunks):", ""]
    lines.append("| subject | " + " | ".join(OPS) + " |")
    lines.append("|---|" + "---|" * len(OPS))
    for subject, by_op in report["cost_against_no_plugin"].items():
        lines.append(f"| {subject} | " + " | ".join(f"{by_op[op]['median']:.3f}" for op in OPS) + " |")
    lines.append("")
    lines.append(
        "get, microseconds: "
        + ", ".join(f"{name} {seconds * 1e6:.2f}" for name, seconds in report["seconds_per_get"].items())
    )
    off = report["cost_against_no_plugin"][OFF]["get"]
    verdict = "met" if report["target"]["met"] else "MISSED"
    lines.append("")
    lines.append(
        f"installed but off, get: {off['median']:.3f} (chunks {off['low']:.2f}-{off['high']:.2f}); "
        f"target <= {TARGET:.2f}: {verdict}"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.telemetry", description=__doc__)
    parser.add_argument("--quick", action="store_const", dest="size", const="quick")
    parser.add_argument("--smoke", action="store_const", dest="size", const="smoke")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--dashboard", action="store_true", help="only run the dashboard workload and draw its chart"
    )
    parser.set_defaults(size="full")
    args = parser.parse_args(argv)
    if args.dashboard:
        scrapes, written = dashboard(SETTINGS[args.size], args.output)
        print(f"{len(scrapes)} scrapes charted: {', '.join(written) or 'nothing (matplotlib missing)'}")
        return 0
    print(summary(run(SETTINGS[args.size], args.output)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
