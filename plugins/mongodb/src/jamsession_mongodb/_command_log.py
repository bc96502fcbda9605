"""Keeps session IDs and data out of PyMongo's command log.

PyMongo logs every command it sends, and every reply, at DEBUG on the
``pymongo.command`` logger, documents included (the first 1,000 characters
of each). A session store's commands hold session IDs (the tokens themselves
when crypt is off) and session data, neither of which may reach a log. A
filter on that logger withholds the documents of the commands sent to a
store's collection, and of their replies and failures; every other command
is logged as PyMongo writes it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, MutableMapping
from typing import Any

#: The logger PyMongo writes commands, replies and failures to.
COMMAND_LOGGER = "pymongo.command"

#: What a withheld document is replaced with.
WITHHELD = "withheld by jamsession-mongodb: session IDs and data are not logged"

#: Commands whose reply or failure is still to come; beyond this many, the oldest are forgotten.
_PENDING_LIMIT = 4096

#: A failure's fields that say what went wrong without quoting a document.
_FAILURE_FIELDS = ("code", "codeName", "errorLabels")


class SessionCommandFilter(logging.Filter):
    """Withholds the documents of commands on watched collections, and of their outcomes.

    PyMongo's log records carry their fields unformatted until a handler
    formats them, which is what lets a filter change them first. A record
    from a PyMongo that carries them otherwise is withheld whole: its
    documents cannot be told apart.
    """

    def __init__(self) -> None:
        super().__init__(COMMAND_LOGGER)
        self._namespaces: set[tuple[str, str]] = set()
        # Insertion-ordered, so the oldest pending command is forgotten first.
        # Locked: PyMongo logs from whichever thread runs a command (sync clients, Motor).
        self._pending: dict[tuple[Any, Any], None] = {}
        self._lock = threading.Lock()

    def watch(self, database: str, collection: str) -> None:
        """Withhold the documents of commands on ``database.collection`` from now on."""
        self._namespaces.add((database, collection))

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            self._withhold_if_watched(record)
        except Exception:  # noqa: BLE001 - raising here would fail the app's command instead
            _withhold_record(record)
        return True

    def _withhold_if_watched(self, record: logging.LogRecord) -> None:
        fields = getattr(record.msg, "_kwargs", None)
        if not isinstance(fields, MutableMapping):
            _withhold_record(record)
            return
        request = (fields.get("driverConnectionId"), fields.get("requestId"))
        command = fields.get("command")
        if command is not None:
            if self._targets_watched(fields, command):
                self._remember(request)
                _withhold(fields)
        elif self._settle(request):
            _withhold(fields)

    def _targets_watched(self, fields: Mapping[str, Any], command: Any) -> bool:
        if not isinstance(command, Mapping):
            return False
        name = fields.get("commandName")
        # Most commands name their collection as their first value; getMore names it apart.
        collection = command.get("collection") if name == "getMore" else command.get(name)
        return isinstance(collection, str) and (fields.get("databaseName"), collection) in self._namespaces

    def _remember(self, request: tuple[Any, Any]) -> None:
        with self._lock:
            pending = self._pending
            while len(pending) >= _PENDING_LIMIT:
                del pending[next(iter(pending))]
            pending[request] = None

    def _settle(self, request: tuple[Any, Any]) -> bool:
        """Whether ``request`` was a watched command; it is forgotten either way."""
        with self._lock:
            return self._pending.pop(request, False) is None


def _withhold_record(record: logging.LogRecord) -> None:
    record.msg, record.args = f"PyMongo command log record ({WITHHELD})", ()


def _withhold(fields: MutableMapping[str, Any]) -> None:
    command = fields.get("command")
    if isinstance(command, Mapping) and command:
        name = next(iter(command))
        fields["command"] = {name: command[name], "withheld": WITHHELD}
    if fields.get("reply"):
        fields["reply"] = {"withheld": WITHHELD}
    failure = fields.get("failure")
    if failure:
        kept = {}
        if isinstance(failure, Mapping):
            kept = {key: failure[key] for key in _FAILURE_FIELDS if key in failure}
        fields["failure"] = {**kept, "withheld": WITHHELD}


_FILTER = SessionCommandFilter()


def withhold_session_commands(database: str, collection: str) -> None:
    """Keep the documents of commands on ``database.collection`` out of PyMongo's command log."""
    logger = logging.getLogger(COMMAND_LOGGER)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    _FILTER.watch(database, collection)
