"""Start-up: ``jamsession plugins`` against a bare ``import jamsession``, each in a fresh process.

Listing plugins reads entry-point metadata only; it must import no backend,
serializer plugin or driver. The two commands take turns, repeat after
repeat, and the check of which modules got imported runs once, apart.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from benchmarks._measure import paired_ratios, rotated

#: Modules that ``jamsession plugins`` must not import.
DRIVERS = (
    "aiosqlite",
    "sqlite3",
    "pymongo",
    "motor",
    "cbor2",
    "jamsession_sqlite",
    "jamsession_mongodb",
    "jamsession_cbor",
    "jamsession_memory",
)

BARE_IMPORT = "import jamsession"
# What the ``jamsession`` console script runs, wherever the environment put the script.
PLUGINS_COMMAND = "import sys; from jamsession._cli import main; sys.argv = ['jamsession', 'plugins']; main()"

_IMPORTED = """
import sys
from jamsession._cli import main
sys.argv = ['jamsession', 'plugins']
try:
    main()
except SystemExit:
    pass
print(__import__('json').dumps(sorted(m for m in {drivers!r} if m in sys.modules)), file=sys.stderr)
"""


@dataclass
class StartupResult:
    bare_import: list[float] = field(default_factory=list)
    plugins: list[float] = field(default_factory=list)
    #: Driver modules ``jamsession plugins`` imported (should be none).
    imported_drivers: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return statistics.median(paired_ratios(self.plugins, self.bare_import))


def _time(code: str) -> float:
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - this interpreter, running fixed code
        [sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL
    )
    return time.perf_counter() - started


def imported_drivers() -> list[str]:
    """The modules of :data:`DRIVERS` that ``jamsession plugins`` imports."""
    code = _IMPORTED.format(drivers=DRIVERS)
    completed = subprocess.run(  # noqa: S603 - this interpreter, running fixed code
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    found: list[str] = json.loads(completed.stderr.strip().splitlines()[-1])
    return found


def run_startup(repeats: int, advance: Callable[[int], None]) -> StartupResult:
    result = StartupResult(imported_drivers=imported_drivers())
    # One untimed run of each fills the OS file cache.
    _time(BARE_IMPORT)
    _time(PLUGINS_COMMAND)
    for repeat in range(repeats):
        for which in rotated(["bare_import", "plugins"], repeat):
            code = BARE_IMPORT if which == "bare_import" else PLUGINS_COMMAND
            getattr(result, which).append(_time(code))
    advance(1)
    return result
