"""The hook plugin: every hook it implements hands its event to the exporters that are on."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from jamsession import ConfigError, backend_name, hookimpl, register_plugin
from jamsession_telemetry._settings import (
    ENV_VARIABLE,
    environment_setting,
    exporters_from_environment,
    exporters_from_settings,
    parse_exporters,
)

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider
    from prometheus_client import CollectorRegistry

    from jamsession import BaseAsyncSessionModule


class _Sink(Protocol):
    def operation(
        self, backend: str, operation: str, duration: float, outcome: str, error: BaseException | None
    ) -> None: ...
    def session_created(self, backend: str, fingerprint: str) -> None: ...
    def session_reworked(self, backend: str, old_fingerprint: str, new_fingerprint: str) -> None: ...
    def session_deleted(self, backend: str, fingerprint: str) -> None: ...
    def sessions_cleared(self, backend: str) -> None: ...
    def token_rejected(self, backend: str, reason: str) -> None: ...
    def http_session_loaded(self, backend: str, outcome: str) -> None: ...
    def http_session_saved(self, backend: str, outcome: str) -> None: ...


class TelemetryPlugin:
    """Traces and metrics of every store built after it is registered.

    Installed, the plugin registers itself as ``JAMSESSION_TELEMETRY`` or a
    configuration file's ``[jamsession.telemetry]`` table says; build one
    yourself to choose the providers or the registry, and register it with
    :func:`jamsession.register_plugin` before building stores::

        from opentelemetry.sdk.trace import TracerProvider
        import jamsession
        from jamsession_telemetry import TelemetryPlugin

        jamsession.register_plugin(TelemetryPlugin(["otel"], tracer_provider=TracerProvider()))
        store = jamsession.open("memory")

    Args:
        exporters: ``"otel"``, ``"prometheus"``, or both.
        tracer_provider: Where spans go; the global provider by default.
        meter_provider: Where OpenTelemetry metrics go; the global provider by default.
        prometheus_registry: Where the Prometheus collectors are registered;
            ``prometheus_client.REGISTRY`` by default.

    Raises:
        ConfigError: an unknown exporter, or ``prometheus`` without ``prometheus_client``.

    Nothing it emits holds a token, session data, a session key or key
    material: sessions are named by the core's fingerprint, on span events only.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        exporters: Iterable[str] = ("otel",),
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        prometheus_registry: CollectorRegistry | None = None,
    ) -> None:
        if isinstance(exporters, str):
            exporters = exporters.split(",")
        self.exporters = parse_exporters(exporters, source=f"TelemetryPlugin(exporters={exporters!r})")
        self._sinks: list[_Sink] = []
        if "otel" in self.exporters:
            from jamsession_telemetry._otel import OpenTelemetrySink

            self._sinks.append(OpenTelemetrySink(tracer_provider, meter_provider))
        if "prometheus" in self.exporters:
            from jamsession_telemetry._prometheus import PrometheusSink

            self._sinks.append(PrometheusSink.on(prometheus_registry))

    def __repr__(self) -> str:
        return f"<TelemetryPlugin exporters={','.join(sorted(self.exporters)) or 'none'}>"

    @hookimpl
    def jamsession_configure(self, settings: dict[str, Any], source: str) -> None:
        # Called only when JAMSESSION_TELEMETRY turned this plugin on: the variable wins over
        # the file, whose table is checked all the same, so a mistake in it does not wait.
        exporters_from_settings(settings, source=source)

    @hookimpl
    def jamsession_store_operation(  # noqa: PLR0917 - the hook's arguments, passed by name
        self,
        store: BaseAsyncSessionModule,
        operation: str,
        backend: str,
        duration: float,
        outcome: str,
        error: BaseException | None,
    ) -> None:
        for sink in self._sinks:
            sink.operation(backend, operation, duration, outcome, error)

    @hookimpl
    def jamsession_session_created(self, store: BaseAsyncSessionModule, fingerprint: str) -> None:
        backend = backend_name(type(store))
        for sink in self._sinks:
            sink.session_created(backend, fingerprint)

    @hookimpl
    def jamsession_session_reworked(
        self, store: BaseAsyncSessionModule, old_fingerprint: str, new_fingerprint: str
    ) -> None:
        backend = backend_name(type(store))
        for sink in self._sinks:
            sink.session_reworked(backend, old_fingerprint, new_fingerprint)

    @hookimpl
    def jamsession_session_deleted(self, store: BaseAsyncSessionModule, fingerprint: str) -> None:
        backend = backend_name(type(store))
        for sink in self._sinks:
            sink.session_deleted(backend, fingerprint)

    @hookimpl
    def jamsession_sessions_cleared(self, store: BaseAsyncSessionModule) -> None:
        # The session key is not taken: it names a user.
        backend = backend_name(type(store))
        for sink in self._sinks:
            sink.sessions_cleared(backend)

    @hookimpl
    def jamsession_token_rejected(self, store: BaseAsyncSessionModule, reason: str) -> None:
        backend = backend_name(type(store))
        for sink in self._sinks:
            sink.token_rejected(backend, reason)

    @hookimpl
    def jamsession_http_session_loaded(self, store: BaseAsyncSessionModule, outcome: str) -> None:
        backend = backend_name(type(store))
        for sink in self._sinks:
            sink.http_session_loaded(backend, outcome)

    @hookimpl
    def jamsession_http_session_saved(self, store: BaseAsyncSessionModule, outcome: str) -> None:
        backend = backend_name(type(store))
        for sink in self._sinks:
            sink.http_session_saved(backend, outcome)


class TelemetryOff:
    """Telemetry turned off: it implements no per-operation hook, so stores are built exactly as without it.

    It takes a configuration file's ``[jamsession.telemetry]`` table: one that
    turns exporters on registers a :class:`TelemetryPlugin` for the stores
    built from then on, unless ``JAMSESSION_TELEMETRY`` was set (``variable``,
    its text), which wins over files. Telemetry is one per process: a second
    file asking for other exporters than the first is a ``ConfigError``.

    .. versionadded:: 0.1
    .. versionchanged:: 0.3
       Turned on by a configuration file's table.
    """

    def __init__(self, *, variable: str | None = None) -> None:
        self.variable = variable
        #: The exporters the first file's table chose, and that table's source.
        self._chosen: tuple[frozenset[str], str] | None = None

    def __repr__(self) -> str:
        return "<TelemetryOff>"

    @hookimpl
    def jamsession_configure(self, settings: dict[str, Any], source: str) -> None:
        exporters = exporters_from_settings(settings, source=source)
        if self.variable is not None:
            return  # the environment wins over the file
        if self._chosen is None:
            self._chosen = (exporters, source)
            if exporters:
                register_plugin(TelemetryPlugin(exporters))
            return
        chosen, first = self._chosen
        if exporters != chosen:
            raise ConfigError(
                f"{source} turns telemetry {_describe(exporters)}, but {first} turned it "
                f"{_describe(chosen)}: telemetry is one per process; give every file's table the same "
                f"exporters, or set {ENV_VARIABLE}, which wins over files"
            )


def _describe(exporters: frozenset[str]) -> str:
    return f"on with {','.join(sorted(exporters))}" if exporters else "off"


def from_environment() -> TelemetryPlugin | TelemetryOff:
    """The plugin as ``JAMSESSION_TELEMETRY`` sets it up, with the global providers and registry.

    Unset, it is :class:`TelemetryOff`, which a configuration file's
    ``[jamsession.telemetry]`` table can still turn on.

    Raises:
        ConfigError: the variable names an unknown exporter, or one whose library is missing.

    .. versionadded:: 0.1
    """
    exporters = exporters_from_environment()
    return TelemetryPlugin(exporters) if exporters else TelemetryOff(variable=environment_setting())
