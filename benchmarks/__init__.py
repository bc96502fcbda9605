"""``python -m benchmarks``: jamsession against raw drivers and peer libraries, in one run.

Every comparison is a paired ratio: the subjects compared take turns inside
one loop, repeat after repeat, so a noisy, shared machine slows them alike.
Results go to ``benchmarks/results/`` as JSON, PNG charts and ``summary.md``.
"""
