"""The telemetry plugin wired to the real OpenTelemetry SDK's in-memory exporters and Prometheus registry."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import jamsession
from jamsession import _hooks
from jamsession_telemetry import TelemetryPlugin


@dataclass
class Telemetry:
    """The plugin under test and everything it exported so far."""

    plugin: TelemetryPlugin
    tracer_provider: TracerProvider
    spans_exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    registry: CollectorRegistry

    def spans(self) -> list[ReadableSpan]:
        return list(self.spans_exporter.get_finished_spans())

    def points(self, name: str) -> list[Any]:
        """The data points of the OpenTelemetry metric ``name`` (none if it was never recorded)."""
        data = self.reader.get_metrics_data()
        found = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found

    def counts(self, name: str, *keys: str) -> dict[tuple[str, ...], int]:
        """An OpenTelemetry counter's values, by the given attributes' values."""
        return {
            tuple(str(point.attributes.get(key)) for key in keys): point.value for point in self.points(name)
        }

    def scrape(self) -> str:
        """The Prometheus exposition text, as a scraper would get it."""
        return generate_latest(self.registry).decode("utf-8")

    def samples(self, name: str, *labels: str) -> dict[tuple[str, ...], float]:
        """The Prometheus samples called ``name`` (``..._total``, ``..._count``), by the given labels."""
        found = {}
        for family in text_string_to_metric_families(self.scrape()):
            for sample in family.samples:
                if sample.name == name:
                    found[tuple(sample.labels.get(label, "") for label in labels)] = sample.value
        return found

    def exported(self) -> str:
        """Everything emitted, as the exporters would send it: spans, metrics, the scrape."""
        data = self.reader.get_metrics_data()
        parts = [span.to_json() for span in self.spans()]
        parts.append(data.to_json() if data else "")
        parts.append(self.scrape())
        return "\n".join(parts)


@pytest.fixture(autouse=True)
def fresh_plugin_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test loads the installed plugins anew, with an environment of its own."""
    monkeypatch.setattr(_hooks, "_manager", None)
    for variable in list(os.environ):
        if variable.startswith("JAMSESSION_"):
            monkeypatch.delenv(variable)


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    """A registered plugin with both exporters on, each test with providers and a registry of its own."""
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    registry = CollectorRegistry()
    plugin = TelemetryPlugin(
        ["otel", "prometheus"],
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        prometheus_registry=registry,
    )
    jamsession.register_plugin(plugin)
    yield Telemetry(plugin, tracer_provider, spans, reader, registry)
    tracer_provider.shutdown()
    meter_provider.shutdown()


#: An application with an OpenTelemetry set-up of its own, knowing nothing of
#: jamsession-telemetry: it opens a store as ``{opening}`` says, creates and
#: reads one session, and prints the names of the spans it got.
APP = """
import asyncio
import sys

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import jamsession

spans = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(spans))
trace.set_tracer_provider(provider)


async def main():
    async with {opening} as store:
        await store.get(await store.create("alice", {{}}))


asyncio.run(main())
print(",".join(span.name for span in spans.get_finished_spans()))
"""


def run_python(*args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """``python args`` in a fresh interpreter, with no ``JAMSESSION_`` variable but ``variables``.

    Never raises on failure: callers assert on the return code and output.
    """
    environment = {k: v for k, v in os.environ.items() if not k.startswith("JAMSESSION_")}
    environment.update(variables)
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=environment, check=False, timeout=120
    )
