"""A SecantusDB server (what the tests use) in a process of its own, on 127.0.0.1.

In its own process the server does not compete with the benchmark's client
for the interpreter lock, as a real ``mongod`` would not. Run as
``python -m benchmarks._mongo_server STORAGE_DIR``: it prints its port, then
serves until its standard input closes.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

#: Seconds to wait for the server to report its port.
START_TIMEOUT = 60


@contextlib.contextmanager
def mongo_server(storage: Path) -> Iterator[str]:
    """Start a server on ``storage``; yield its connection string; stop it."""
    storage.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(  # noqa: S603 - this interpreter, running this module
        [sys.executable, "-m", "benchmarks._mongo_server", str(storage)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.isdigit():
            raise RuntimeError(f"the SecantusDB server did not start (it said {line!r})")
        yield f"mongodb://127.0.0.1:{line}/"
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _serve(storage: str) -> None:
    from secantus import SecantusDBServer  # type: ignore[import-untyped]  # ships no type information

    server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=storage, ttl_sweep_seconds=60)
    server.start()
    try:
        print(server.address[1], flush=True)
        sys.stdin.read()
    finally:
        server.stop()


if __name__ == "__main__":
    _serve(sys.argv[1])
