"""OpenTelemetry: a span per store operation and the database-client metrics, by the semantic conventions.

Only the OpenTelemetry API is used: with no SDK configured, every call is
the API's no-op. Attribute names follow the database-client conventions
(``db.system.name``, ``db.operation.name``, ``error.type``); the figures
that have no convention are named ``jamsession.*``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from opentelemetry import metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from jamsession_telemetry._settings import DURATION_BUCKETS, SCOPE
from jamsession_telemetry._version import __version__

#: The target in a span's name, ``{db.operation.name} {target}``: what a store holds.
TARGET = "sessions"


@dataclass(frozen=True, slots=True)
class _Labels:
    """The attributes of one kind of operation, made once: an operation records them as they are."""

    span_name: str
    span: dict[str, str]
    metric: dict[str, str]
    operation: dict[str, str]

    @classmethod
    def of(cls, backend: str, operation: str, outcome: str, error_type: str | None) -> _Labels:
        names = {"db.system.name": backend, "db.operation.name": operation}
        metric = names if error_type is None else {**names, "error.type": error_type}
        return cls(f"{operation} {TARGET}", {**metric, "jamsession.outcome": outcome}, metric, names)


class OpenTelemetrySink:
    """Spans, a histogram and counters through the given providers, or the global ones."""

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self._labels: dict[tuple[str, str, str, str | None], _Labels] = {}
        self.tracer = trace.get_tracer(SCOPE, __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter(SCOPE, __version__, meter_provider=meter_provider)
        self.duration = meter.create_histogram(
            "db.client.operation.duration",
            unit="s",
            description="Duration of session store operations.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.created = meter.create_counter(
            "jamsession.sessions.created", unit="{session}", description="Sessions created."
        )
        self.reworked = meter.create_counter(
            "jamsession.sessions.reworked", unit="{session}", description="Sessions moved to a fresh ID."
        )
        self.deleted = meter.create_counter(
            "jamsession.sessions.deleted",
            unit="{session}",
            description="Deletions of well-formed session IDs (of live sessions or not).",
        )
        self.cleared = meter.create_counter(
            "jamsession.session_keys.cleared",
            unit="{key}",
            description="Session keys whose every session was ended (log out everywhere).",
        )
        self.not_found = meter.create_counter(
            "jamsession.sessions.not_found",
            unit="{operation}",
            description="Operations that found no live session (expired, deleted, unknown, rejected token).",
        )
        self.expired = meter.create_counter(
            "jamsession.sessions.expired",
            unit="{session}",
            description="Sessions found expired on read (their record still stored).",
        )
        self.rejected = meter.create_counter(
            "jamsession.tokens.rejected",
            unit="{token}",
            description="Session tokens turned away, by reason (malformed, unknown key, tampered, expired).",
        )
        self.http_loaded = meter.create_counter(
            "jamsession.http.sessions.loaded",
            unit="{request}",
            description="Requests whose session cookie was looked up, by outcome (found, not_found).",
        )
        self.http_saved = meter.create_counter(
            "jamsession.http.sessions.saved",
            unit="{request}",
            description="Responses that saved their session, by outcome (created, updated).",
        )

    def operation(
        self, backend: str, operation: str, duration: float, outcome: str, error: BaseException | None
    ) -> None:
        # The type only: an exception's message may quote what the caller passed.
        error_type = _qualified_type(error) if outcome == "error" and error is not None else None
        key = (backend, operation, outcome, error_type)
        labels = self._labels.get(key)
        if labels is None:
            labels = self._labels[key] = _Labels.of(*key)
        end = time.time_ns()
        span = self.tracer.start_span(
            labels.span_name,
            kind=SpanKind.CLIENT,
            attributes=labels.span,
            start_time=end - int(duration * 1e9),
        )
        if error_type is not None:
            span.set_status(Status(StatusCode.ERROR))
        span.end(end_time=end)
        self.duration.record(duration, labels.metric)
        if outcome == "miss":
            self.not_found.add(1, labels.operation)

    def session_created(self, backend: str, fingerprint: str) -> None:
        self.created.add(1, {"db.system.name": backend})
        _event("jamsession.session.created", {"jamsession.session.fingerprint": fingerprint})

    def session_reworked(self, backend: str, old_fingerprint: str, new_fingerprint: str) -> None:
        self.reworked.add(1, {"db.system.name": backend})
        _event(
            "jamsession.session.reworked",
            {
                "jamsession.session.previous_fingerprint": old_fingerprint,
                "jamsession.session.fingerprint": new_fingerprint,
            },
        )

    def session_deleted(self, backend: str, fingerprint: str) -> None:
        self.deleted.add(1, {"db.system.name": backend})
        _event("jamsession.session.deleted", {"jamsession.session.fingerprint": fingerprint})

    def sessions_cleared(self, backend: str) -> None:
        self.cleared.add(1, {"db.system.name": backend})

    def token_rejected(self, backend: str, reason: str) -> None:
        self.rejected.add(1, {"db.system.name": backend, "jamsession.rejection.reason": reason})
        if reason == "expired":
            self.expired.add(1, {"db.system.name": backend})

    def http_session_loaded(self, backend: str, outcome: str) -> None:
        self.http_loaded.add(1, {"db.system.name": backend, "jamsession.outcome": outcome})

    def http_session_saved(self, backend: str, outcome: str) -> None:
        self.http_saved.add(1, {"db.system.name": backend, "jamsession.outcome": outcome})


def _event(name: str, attributes: dict[str, str]) -> None:
    """An event on the caller's current span (a request's, say), tying it to a session by fingerprint."""
    span = trace.get_current_span()
    if span.is_recording():
        span.add_event(name, attributes)


def _qualified_type(error: BaseException) -> str:
    cls = type(error)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
