"""OpenTelemetry and Prometheus telemetry for jamsession stores, turned on by one setting.

Install ``jamsession-telemetry`` and set ``JAMSESSION_TELEMETRY=otel``,
``prometheus`` or ``otel,prometheus``, or put the same in the configuration
file (the variable wins over it)::

    [jamsession.telemetry]
    exporters = "otel,prometheus"

Every store the process builds then reports a span per operation, the
``db.client.operation.duration`` histogram and session and token counters.
Off, the plugin implements no per-operation hook and stores pay nothing for
it; OpenTelemetry and ``prometheus_client`` are imported only for the
exporters that are on.
"""

from jamsession_telemetry._plugin import TelemetryOff, TelemetryPlugin, from_environment
from jamsession_telemetry._settings import DURATION_BUCKETS, ENV_VARIABLE, EXPORTERS, SCOPE, TABLE
from jamsession_telemetry._version import __version__

__all__ = [
    "DURATION_BUCKETS",
    "ENV_VARIABLE",
    "EXPORTERS",
    "SCOPE",
    "TABLE",
    "TelemetryOff",
    "TelemetryPlugin",
    "__version__",
    "from_environment",
]
