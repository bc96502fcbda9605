"""The ``jamsession.plugins`` entry point: ``plugin`` is the telemetry plugin as the environment sets it up.

The variable is read each time the core's plugin manager loads its plugins
(once per process), not when this module is first imported.
"""

from __future__ import annotations

from typing import Any

from jamsession_telemetry._plugin import from_environment


def __getattr__(name: str) -> Any:
    if name == "plugin":
        return from_environment()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
