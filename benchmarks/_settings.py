"""How big a run is: ``full`` (``make bench``), ``quick`` (a few minutes) and ``smoke`` (``make test``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Sizes and repeat counts of one run."""

    name: str
    #: Repeats of the lifecycle groups, by backend (each gives one paired sample per operation).
    repeats: dict[str, int]
    #: Sessions per phase, by backend: sequential, and concurrent.
    sessions: dict[str, int]
    concurrent_sessions: dict[str, int]
    #: Operations per chunk when sequential, by backend; at N concurrent, 2N (at most a phase).
    chunk: dict[str, int]
    #: Session data of the lifecycle groups, by name in :data:`~benchmarks._payloads.PAYLOADS`.
    payloads: tuple[str, ...]
    #: Concurrent coroutines of the lifecycle groups; 1 means sequential.
    concurrency: tuple[int, ...]
    #: Stored sessions at which ``get`` is timed; the first is the reference.
    scaling_sizes: tuple[int, ...]
    scaling_gets: int
    scaling_repeats: int
    #: Stored sessions of the Jam library comparison -> sessions per phase there.
    jamlib_sessions: dict[int, int]
    jamlib_repeats: int
    #: Start-ups of each command timed.
    startup_repeats: int
    #: Event-loop stalls: stored sessions, sessions of the one big key, gets per scenario.
    stall_stored: int = 100_000
    stall_key_sessions: int = 100_000
    stall_gets: int = 2000
    #: The two-process run: stored sessions, requests per process per round, rounds.
    realistic_stored: int = 100_000
    realistic_requests: int = 20_000
    realistic_rounds: int = 3

    def sessions_for(self, backend: str, concurrency: int) -> int:
        """Sessions per phase: when concurrent, at least one per coroutine."""
        if concurrency > 1:
            return max(self.concurrent_sessions[backend], concurrency)
        return self.sessions[backend]

    def chunk_for(self, backend: str, concurrency: int) -> int:
        """Operations per chunk: two per coroutine when concurrent."""
        if concurrency > 1:
            return min(2 * concurrency, self.sessions_for(backend, concurrency))
        return min(self.chunk[backend], self.sessions[backend])


FULL = Settings(
    name="full",
    repeats={"memory": 7, "sqlite": 5, "mongodb": 3},
    sessions={"memory": 1000, "sqlite": 200, "mongodb": 60},
    # The test server, not the client, bounds MongoDB's throughput: 100 is one per coroutine.
    concurrent_sessions={"memory": 1000, "sqlite": 400, "mongodb": 100},
    chunk={"memory": 50, "sqlite": 10, "mongodb": 4},
    payloads=("typical", "4KiB"),
    concurrency=(1, 100),
    scaling_sizes=(1_000, 10_000, 100_000, 1_000_000),
    scaling_gets=1000,
    scaling_repeats=5,
    jamlib_sessions={100: 40, 1_000: 20, 10_000: 10},
    jamlib_repeats=3,
    startup_repeats=25,
)

QUICK = Settings(
    name="quick",
    repeats={"memory": 3, "sqlite": 3, "mongodb": 3},
    sessions={"memory": 300, "sqlite": 100, "mongodb": 20},
    concurrent_sessions={"memory": 400, "sqlite": 200, "mongodb": 100},
    chunk={"memory": 50, "sqlite": 10, "mongodb": 4},
    payloads=("typical", "4KiB"),
    concurrency=(1, 100),
    scaling_sizes=(1_000, 10_000, 100_000),
    scaling_gets=500,
    scaling_repeats=3,
    jamlib_sessions={100: 10, 1_000: 5},
    jamlib_repeats=2,
    startup_repeats=6,
    stall_stored=20_000,
    stall_key_sessions=20_000,
    stall_gets=1000,
    realistic_requests=5000,
    realistic_rounds=2,
)

SMOKE = Settings(
    name="smoke",
    repeats={"memory": 1, "sqlite": 1, "mongodb": 1},
    sessions={"memory": 40, "sqlite": 20, "mongodb": 10},
    concurrent_sessions={"memory": 40, "sqlite": 20, "mongodb": 20},
    chunk={"memory": 20, "sqlite": 10, "mongodb": 5},
    payloads=("typical",),
    concurrency=(1, 10),
    scaling_sizes=(100, 1_000),
    scaling_gets=50,
    scaling_repeats=1,
    jamlib_sessions={10: 3, 100: 3},
    jamlib_repeats=1,
    startup_repeats=1,
    stall_stored=500,
    stall_key_sessions=500,
    stall_gets=100,
    realistic_stored=500,
    realistic_requests=100,
    realistic_rounds=1,
)

SETTINGS = {settings.name: settings for settings in (FULL, QUICK, SMOKE)}
