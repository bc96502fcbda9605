"""Prometheus: the same figures through ``prometheus_client``, for apps that scrape.

Metric names take the ``jamsession_`` prefix and the ``_seconds`` and
``_total`` suffixes; labels hold backend names, operation names, outcomes
and reasons, never anything about a session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jamsession_telemetry._settings import DURATION_BUCKETS

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclass(frozen=True)
class PrometheusSink:
    """The collectors, registered once per registry."""

    duration: Histogram
    created: Counter
    reworked: Counter
    deleted: Counter
    cleared: Counter
    not_found: Counter
    expired: Counter
    rejected: Counter
    http_loaded: Counter
    http_saved: Counter
    #: The histogram's child per label values, looked up once.
    _durations: dict[tuple[str, str, str], Any] = field(default_factory=dict)

    @classmethod
    def on(cls, registry: CollectorRegistry | None = None) -> PrometheusSink:
        """The sink whose collectors are in ``registry`` (``prometheus_client.REGISTRY`` by default)."""
        import prometheus_client

        target = prometheus_client.REGISTRY if registry is None else registry
        sink = _sinks.get(id(target))
        if sink is None or sink[0] is not target:
            sink = (target, cls._register(target))
            _sinks[id(target)] = sink
        return sink[1]

    @classmethod
    def _register(cls, registry: CollectorRegistry) -> PrometheusSink:
        from prometheus_client import Counter, Histogram

        def counter(name: str, documentation: str, *labels: str) -> Counter:
            return Counter(name, documentation, ["backend", *labels], registry=registry)

        return cls(
            duration=Histogram(
                "jamsession_operation_duration_seconds",
                "Duration of session store operations, by outcome (ok, miss, error).",
                ["backend", "operation", "outcome"],
                buckets=DURATION_BUCKETS,
                registry=registry,
            ),
            created=counter("jamsession_sessions_created", "Sessions created."),
            reworked=counter("jamsession_sessions_reworked", "Sessions moved to a fresh ID."),
            deleted=counter(
                "jamsession_sessions_deleted",
                "Deletions of well-formed session IDs (of live sessions or not).",
            ),
            cleared=counter(
                "jamsession_session_keys_cleared",
                "Session keys whose every session was ended (log out everywhere).",
            ),
            not_found=counter(
                "jamsession_sessions_not_found",
                "Operations that found no live session (expired, deleted, unknown, rejected token).",
                "operation",
            ),
            expired=counter(
                "jamsession_sessions_expired",
                "Sessions found expired on read (their record still stored).",
            ),
            rejected=counter(
                "jamsession_tokens_rejected",
                "Session tokens turned away, by reason (malformed, unknown key, tampered, expired).",
                "reason",
            ),
            http_loaded=counter(
                "jamsession_http_sessions_loaded",
                "Requests whose session cookie was looked up, by outcome (found, not_found).",
                "outcome",
            ),
            http_saved=counter(
                "jamsession_http_sessions_saved",
                "Responses that saved their session, by outcome (created, updated).",
                "outcome",
            ),
        )

    def operation(
        self, backend: str, operation: str, duration: float, outcome: str, error: BaseException | None
    ) -> None:
        child = self._durations.get((backend, operation, outcome))
        if child is None:
            child = self._durations[backend, operation, outcome] = self.duration.labels(
                backend, operation, outcome
            )
        child.observe(duration)
        if outcome == "miss":
            self.not_found.labels(backend, operation).inc()

    def session_created(self, backend: str, fingerprint: str) -> None:
        self.created.labels(backend).inc()

    def session_reworked(self, backend: str, old_fingerprint: str, new_fingerprint: str) -> None:
        self.reworked.labels(backend).inc()

    def session_deleted(self, backend: str, fingerprint: str) -> None:
        self.deleted.labels(backend).inc()

    def sessions_cleared(self, backend: str) -> None:
        self.cleared.labels(backend).inc()

    def token_rejected(self, backend: str, reason: str) -> None:
        self.rejected.labels(backend, reason).inc()
        if reason == "expired":
            self.expired.labels(backend).inc()

    def http_session_loaded(self, backend: str, outcome: str) -> None:
        self.http_loaded.labels(backend, outcome).inc()

    def http_session_saved(self, backend: str, outcome: str) -> None:
        self.http_saved.labels(backend, outcome).inc()


# Collectors of one name can be registered once per registry: later plugins share them.
_sinks: dict[int, tuple[CollectorRegistry, PrometheusSink]] = {}
