"""The telemetry plugin's figures, read back from the real SDK's in-memory exporters and a real scrape."""

from __future__ import annotations

import uuid

import pytest
from opentelemetry.trace import SpanKind, StatusCode
from tests.plugins.telemetry.conftest import APP, Telemetry, run_python

import jamsession
from jamsession import _hooks
from jamsession._crypto import PURPOSE_ID, KeyRing, b64decode, b64encode
from jamsession._hooks import fingerprint, get_plugin_manager
from jamsession_memory import MemorySessions
from jamsession_telemetry import DURATION_BUCKETS, TelemetryOff, TelemetryPlugin


async def workload(store: jamsession.BaseAsyncSessionModule) -> None:
    """Every operation once or more, with a miss, a rejected token and a failure among them."""
    first = await store.create("alice", {"n": 1})
    second = await store.create("alice", {"n": 2})
    await store.create("bob", {"n": 3})
    assert {"n": 1} == await store.get(first)
    await store.update(first, {"n": 4})
    await store.rework(first)
    assert None is await store.get(first)
    with pytest.raises(jamsession.JamSessionNotFound):
        await store.update(first, {"n": 5})
    assert None is await store.get("not a token\x00")
    await store.delete(second)
    with pytest.raises(jamsession.UnsupportedTypeError):
        await store.create("alice", {"handle": object()})
    await store.clear("alice")


#: The rejection-counting stores' key, and another: fixed, as a random pair shares its id once in 128.
STORE_KEY, FOREIGN_KEY = bytes([0]) * 32, bytes([1]) * 32


def foreign_token() -> str:
    """A well-formed token sealed under a key no store here holds."""
    return b64encode(KeyRing(FOREIGN_KEY).encrypt(str(uuid.uuid4()).encode(), PURPOSE_ID))


async def tampered_token(store: jamsession.BaseAsyncSessionModule) -> str:
    """A token of ``store``'s, its last bit flipped."""
    sealed = b64decode(await store.create("mallory", {}))
    return b64encode(sealed[:-1] + bytes([sealed[-1] ^ 1]))


OPERATIONS = [
    ("create", "ok"),
    ("create", "ok"),
    ("create", "ok"),
    ("get", "ok"),
    ("update", "ok"),
    ("rework", "ok"),
    ("get", "miss"),
    ("update", "miss"),
    ("get", "miss"),
    ("delete", "ok"),
    ("create", "error"),
    ("clear", "ok"),
]


@pytest.mark.parametrize("crypt", [False, True], ids=["crypt off", "crypt on"])
async def test_one_span_per_operation_by_the_database_conventions(telemetry: Telemetry, crypt: bool) -> None:
    store = jamsession.open("memory", is_session_crypt=crypt, session_aes_secret=jamsession.generate_key())
    await workload(store)
    spans = telemetry.spans()
    assert [f"{operation} sessions" for operation, _ in OPERATIONS] == [span.name for span in spans]
    assert [outcome for _, outcome in OPERATIONS] == [span.attributes["jamsession.outcome"] for span in spans]  # type: ignore[index]
    assert {SpanKind.CLIENT} == {span.kind for span in spans}
    assert [operation for operation, _ in OPERATIONS] == [
        span.attributes["db.operation.name"]  # type: ignore[index]
        for span in spans
    ]
    assert {"memory"} == {span.attributes["db.system.name"] for span in spans}  # type: ignore[index]
    assert all(span.start_time is not None and span.start_time <= span.end_time for span in spans)  # type: ignore[operator]
    failed = spans[10]
    assert StatusCode.ERROR == failed.status.status_code
    assert "jamsession._errors.UnsupportedTypeError" == failed.attributes["error.type"]  # type: ignore[index]
    assert None is failed.status.description  # an exception's text may quote the caller's input
    # A miss is an answer, not a failure.
    assert [StatusCode.UNSET] * 11 == [span.status.status_code for i, span in enumerate(spans) if i != 10]
    assert [] == [span.name for span in spans if "error.type" in span.attributes and span is not failed]  # type: ignore[operator]


async def test_the_duration_histogram(telemetry: Telemetry) -> None:
    store = MemorySessions()
    await workload(store)
    points = {
        (point.attributes["db.operation.name"], point.attributes.get("error.type")): point
        for point in telemetry.points("db.client.operation.duration")
    }
    assert {
        ("create", None): 3,
        ("get", None): 3,
        ("update", None): 2,
        ("rework", None): 1,
        ("delete", None): 1,
        ("create", "jamsession._errors.UnsupportedTypeError"): 1,
        ("clear", None): 1,
    } == {key: point.count for key, point in points.items()}
    assert {DURATION_BUCKETS} == {point.explicit_bounds for point in points.values()}
    assert all(0 < point.sum < 10 for point in points.values())
    assert {"memory"} == {point.attributes["db.system.name"] for point in points.values()}
    assert ["s"] == [
        metric.unit
        for resource in telemetry.reader.get_metrics_data().resource_metrics  # type: ignore[union-attr]
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "db.client.operation.duration"
    ]


async def test_session_and_token_counters(telemetry: Telemetry) -> None:
    store = jamsession.open("memory", is_session_crypt=True, session_aes_secret=STORE_KEY)
    await workload(store)
    assert None is await store.get(foreign_token())
    assert None is await store.get(await tampered_token(store))
    system = ("memory",)
    assert {system: 4} == telemetry.counts("jamsession.sessions.created", "db.system.name")
    assert {system: 1} == telemetry.counts("jamsession.sessions.reworked", "db.system.name")
    assert {system: 1} == telemetry.counts("jamsession.sessions.deleted", "db.system.name")
    assert {system: 1} == telemetry.counts("jamsession.session_keys.cleared", "db.system.name")
    assert {("get",): 4, ("update",): 1} == telemetry.counts(
        "jamsession.sessions.not_found", "db.operation.name"
    )
    assert {("malformed",): 1, ("unknown key",): 1, ("tampered",): 1} == telemetry.counts(
        "jamsession.tokens.rejected", "jamsession.rejection.reason"
    )


async def test_prometheus_gets_the_same_figures(telemetry: Telemetry) -> None:
    store = jamsession.open("memory", is_session_crypt=True, session_aes_secret=STORE_KEY)
    await workload(store)
    assert None is await store.get(foreign_token())
    assert None is await store.get(await tampered_token(store))
    assert {
        ("create", "ok"): 4,
        ("get", "ok"): 1,
        ("get", "miss"): 4,
        ("update", "ok"): 1,
        ("update", "miss"): 1,
        ("rework", "ok"): 1,
        ("delete", "ok"): 1,
        ("create", "error"): 1,
        ("clear", "ok"): 1,
    } == telemetry.samples("jamsession_operation_duration_seconds_count", "operation", "outcome")
    buckets = telemetry.samples("jamsession_operation_duration_seconds_bucket", "operation", "outcome", "le")
    assert 4 == buckets[("create", "ok", "+Inf")]
    assert len(DURATION_BUCKETS) + 1 == len([key for key in buckets if key[:2] == ("get", "miss")])
    memory = ("memory",)
    assert {memory: 4} == telemetry.samples("jamsession_sessions_created_total", "backend")
    assert {memory: 1} == telemetry.samples("jamsession_sessions_reworked_total", "backend")
    assert {memory: 1} == telemetry.samples("jamsession_sessions_deleted_total", "backend")
    assert {memory: 1} == telemetry.samples("jamsession_session_keys_cleared_total", "backend")
    assert {("get",): 4, ("update",): 1} == telemetry.samples(
        "jamsession_sessions_not_found_total", "operation"
    )
    assert {
        ("memory", "malformed"): 1,
        ("memory", "unknown key"): 1,
        ("memory", "tampered"): 1,
    } == telemetry.samples("jamsession_tokens_rejected_total", "backend", "reason")


async def test_the_web_layer_counters(telemetry: Telemetry) -> None:
    store = MemorySessions()
    hook = get_plugin_manager().hook
    for outcome in ("found", "found", "not_found"):
        hook.jamsession_http_session_loaded(store=store, outcome=outcome)
    hook.jamsession_http_session_saved(store=store, outcome="created")
    assert {("found",): 2, ("not_found",): 1} == telemetry.counts(
        "jamsession.http.sessions.loaded", "jamsession.outcome"
    )
    assert {("created",): 1} == telemetry.counts("jamsession.http.sessions.saved", "jamsession.outcome")
    assert {("found",): 2, ("not_found",): 1} == telemetry.samples(
        "jamsession_http_sessions_loaded_total", "outcome"
    )
    assert {("created",): 1} == telemetry.samples("jamsession_http_sessions_saved_total", "outcome")


async def test_lifecycle_events_name_sessions_by_fingerprint_on_the_callers_span(
    telemetry: Telemetry,
) -> None:
    store = jamsession.open("memory", is_session_crypt=True, session_aes_secret=jamsession.generate_key())
    tracer = telemetry.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("POST /login"):
        token = await store.create("alice", {})
        new_token = await store.rework(token)
        await store.delete(new_token)
    request = next(span for span in telemetry.spans() if span.name == "POST /login")
    old, new = (fingerprint(store.__decode_session_id__(t)) for t in (token, new_token))
    assert [
        ("jamsession.session.created", {"jamsession.session.fingerprint": old}),
        (
            "jamsession.session.reworked",
            {"jamsession.session.previous_fingerprint": old, "jamsession.session.fingerprint": new},
        ),
        ("jamsession.session.deleted", {"jamsession.session.fingerprint": new}),
    ] == [(event.name, dict(event.attributes or {})) for event in request.events]
    # The store's spans are children of the request's.
    children = [span for span in telemetry.spans() if span.parent is not None]
    assert ["create sessions", "rework sessions", "delete sessions"] == [span.name for span in children]
    assert {request.context.span_id} == {span.parent.span_id for span in children}  # type: ignore[union-attr]


def installed_plugin() -> object:
    return get_plugin_manager().get_plugin("jamsession.plugins:telemetry")


def test_off_when_the_variable_is_unset() -> None:
    store = MemorySessions(is_session_crypt=True, session_aes_secret=jamsession.generate_key())
    assert isinstance(installed_plugin(), TelemetryOff)
    for name in ("create", "get", "update", "delete", "rework", "clear", "_resolve_session_id"):
        assert name not in vars(store)


@pytest.mark.parametrize("value", ["off", "", "none"])
def test_off_when_the_variable_says_so(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("JAMSESSION_TELEMETRY", value)
    store = MemorySessions()
    assert isinstance(installed_plugin(), TelemetryOff)
    assert "get" not in vars(store)


@pytest.mark.parametrize(
    ("value", "exporters"),
    [
        ("otel", {"otel"}),
        ("prometheus", {"prometheus"}),
        ("otel,prometheus", {"otel", "prometheus"}),
        (" Prometheus , OTEL ", {"otel", "prometheus"}),
        ("all", {"otel", "prometheus"}),
    ],
)
async def test_one_variable_turns_it_on(
    monkeypatch: pytest.MonkeyPatch, value: str, exporters: set[str]
) -> None:
    from prometheus_client import REGISTRY

    monkeypatch.setenv("JAMSESSION_TELEMETRY", value)
    labels = {"backend": "memory", "operation": "get", "outcome": "miss"}
    before = REGISTRY.get_sample_value("jamsession_operation_duration_seconds_count", labels) or 0
    store = jamsession.open("memory")
    plugin = installed_plugin()
    assert isinstance(plugin, TelemetryPlugin)
    assert exporters == plugin.exporters
    assert "get" in vars(store)
    assert None is await store.get("no-such-session")
    after = REGISTRY.get_sample_value("jamsession_operation_duration_seconds_count", labels) or 0
    assert (1 if "prometheus" in exporters else 0) == after - before


def test_the_variable_is_not_taken_for_a_store_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAMSESSION_TELEMETRY", "otel")
    assert isinstance(jamsession.open("memory"), MemorySessions)


def test_a_mistyped_variable_fails_at_start_up_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAMSESSION_TELEMETRY", "otel,prometeus")
    with pytest.raises(jamsession.ConfigError) as caught:
        jamsession.open("memory")
    assert (
        "environment variable JAMSESSION_TELEMETRY='otel,prometeus': unknown telemetry exporter "
        "'prometeus'; use a comma-separated list of otel, prometheus (or all, or off)"
    ) == str(caught.value)
    assert None is _hooks._manager  # nothing half-loaded: the next attempt reads the variable again


def test_a_plugin_built_in_code_checks_its_exporters() -> None:
    with pytest.raises(jamsession.ConfigError, match="unknown telemetry exporter 'statsd'"):
        TelemetryPlugin(["otel", "statsd"])
    assert frozenset({"otel", "prometheus"}) == TelemetryPlugin("otel,prometheus").exporters


@pytest.mark.parametrize(("value", "expected"), [("otel", "create sessions,get sessions"), ("", "")])
def test_an_app_gets_spans_by_setting_the_variable(value: str, expected: str) -> None:
    result = run_python("-c", APP.format(opening='jamsession.open("memory")'), JAMSESSION_TELEMETRY=value)
    assert (0, expected) == (result.returncode, result.stdout.strip()), result.stderr


def test_off_it_imports_neither_opentelemetry_nor_prometheus_client() -> None:
    code = (
        "import sys, jamsession\n"
        "jamsession.open('memory')\n"
        "assert 'jamsession_telemetry' in sys.modules\n"
        "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry', 'prometheus_client'))))\n"
    )
    result = run_python("-c", code)
    assert (0, "[]") == (result.returncode, result.stdout.strip()), result.stderr


def test_the_command_line_names_a_mistyped_variable_without_a_traceback() -> None:
    result = run_python("-m", "jamsession._cli", "--help", JAMSESSION_TELEMETRY="bogus")
    assert 1 == result.returncode
    assert (
        "Error: ConfigError: environment variable JAMSESSION_TELEMETRY='bogus': unknown telemetry exporter "
        "'bogus'; use a comma-separated list of otel, prometheus (or all, or off)\n"
    ) == result.stderr
