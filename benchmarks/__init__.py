"""Benchmarks, run from the repository root as `python -m benchmarks.NAME` (see README.md here).

A package, not loose scripts, so that a benchmark can run its pieces in separate processes and
the tests can import them; it is not installed with the allocator.
"""
