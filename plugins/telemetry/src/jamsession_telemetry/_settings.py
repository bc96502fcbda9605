"""Which exporters are on: ``JAMSESSION_TELEMETRY``, a configuration file's table, or the caller's list."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable, Mapping

from jamsession import ConfigError

#: The environment variable that turns telemetry on: ``otel``, ``prometheus``, both, ``all`` or ``off``.
ENV_VARIABLE = "JAMSESSION_TELEMETRY"
#: The configuration file's table: ``[jamsession.telemetry]``, the name the plugin is installed under.
TABLE = "telemetry"
#: What can be turned on.
EXPORTERS = ("otel", "prometheus")

#: The instrumentation scope's name.
SCOPE = "jamsession_telemetry"
#: Seconds: a memory store answers in microseconds, a remote database in milliseconds.
DURATION_BUCKETS = (
    0.00001,
    0.000025,
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

_OFF = frozenset({"", "off", "none", "0", "false", "no"})


def parse_exporters(words: Iterable[str], *, source: str) -> frozenset[str]:
    """The exporters named by ``words``; :class:`~jamsession.ConfigError` naming ``source`` otherwise."""
    chosen = {word.strip().lower() for word in words} - {""}
    if chosen <= _OFF:
        return frozenset()
    if "all" in chosen:
        chosen = (chosen - {"all"}) | set(EXPORTERS)
    unknown = sorted(chosen - set(EXPORTERS))
    if unknown:
        raise ConfigError(
            f"{source}: unknown telemetry exporter {', '.join(map(repr, unknown))}; "
            f"use a comma-separated list of {', '.join(EXPORTERS)} (or all, or off)"
        )
    if "prometheus" in chosen and importlib.util.find_spec("prometheus_client") is None:
        raise ConfigError(
            f"{source}: prometheus needs prometheus_client; "
            "install it with `pip install 'jamsession-telemetry[prometheus]'`"
        )
    return frozenset(chosen)


def exporters_from_environment(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """The exporters ``JAMSESSION_TELEMETRY`` turns on; empty when it is unset or ``off``."""
    text = (os.environ if environ is None else environ).get(ENV_VARIABLE, "")
    return parse_exporters(text.split(","), source=f"environment variable {ENV_VARIABLE}={text!r}")


def environment_setting(environ: Mapping[str, str] | None = None) -> str | None:
    """The text of ``JAMSESSION_TELEMETRY`` when it is set to anything but blanks: it wins over files."""
    text = (os.environ if environ is None else environ).get(ENV_VARIABLE, "")
    return text if text.strip() else None


def exporters_from_settings(settings: Mapping[str, object], *, source: str) -> frozenset[str]:
    """The exporters a configuration file's ``[jamsession.telemetry]`` table turns on.

    ``exporters`` is text (``"otel,prometheus"``) or a list of names.
    """
    unknown = sorted(set(settings) - {"exporters"})
    if unknown:
        raise ConfigError(
            f"{source}: unknown setting {unknown[0]!r}; the telemetry table takes one setting, "
            'exporters, as in exporters = "otel,prometheus"'
        )
    if "exporters" not in settings:
        raise ConfigError(
            f'{source} names no exporters; add exporters = "otel" (or "prometheus", "otel,prometheus", '
            '"off"), or remove the table'
        )
    value = settings["exporters"]
    if isinstance(value, str):
        words: list[str] = value.split(",")
    elif isinstance(value, list) and all(isinstance(word, str) for word in value):
        words = value
    else:
        raise ConfigError(
            f"{source}: exporters must be text or a list of names, as in "
            f'exporters = "otel,prometheus" or ["otel", "prometheus"], not {value!r}'
        )
    return parse_exporters(words, source=f"{source}, exporters = {value!r}")
