"""A multi-worker search is stopped on the wall clock only once its search has started: never in
the window after presolve where OR-Tools 9.15 aborts the process (`allocator.search_start`)."""

import importlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ortools.sat.python import cp_model

from allocator.search_start import _StopOnceStarted, solve_within

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def hinted() -> Iterator[cp_model.CpModel]:
    """The abort benchmark's hinted assignment problem (benchmarks are scripts beside the
    package, not installed)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(REPO_ROOT))
        yield importlib.import_module("benchmarks.hint_abort").hinted_assignment()


class CountingSolver:
    """Stands in for a CpSolver: counts the stops asked of it."""

    def __init__(self) -> None:
        self.stops = 0

    def stop_search(self) -> None:
        self.stops += 1


def test_time_up_before_the_search_starts_stops_it_as_it_starts() -> None:
    solver = CountingSolver()
    stopper = _StopOnceStarted(solver)  # type: ignore[arg-type]
    stopper.log("Presolved optimization model '': (model_fingerprint: 0x27b3021352407bd0)")
    stopper.time_up()
    assert solver.stops == 0

    stopper.log("Starting deterministic search at 0.01s with 8 workers and batch size of 0.")
    assert solver.stops == 1


def test_time_up_once_the_search_has_started_stops_it_at_once() -> None:
    solver = CountingSolver()
    stopper = _StopOnceStarted(solver)  # type: ignore[arg-type]
    stopper.log("Starting search at 0.02s with 2 workers.")
    assert solver.stops == 0

    stopper.time_up()
    assert solver.stops == 1


def test_a_hinted_multi_worker_search_stops_near_its_wall_limit(hinted: cp_model.CpModel) -> None:
    # Its work budget would last half a minute: only the timer, once the log shows the search
    # started, can stop it this soon. Were CP-SAT's wording of that line to change, the search
    # would run on and this would fail.
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 2
    solver.parameters.interleave_search = True
    solver.parameters.max_deterministic_time = 30.0
    began = time.monotonic()

    status = solve_within(solver, hinted, 0.5)

    assert status == cp_model.FEASIBLE
    assert time.monotonic() - began < 10.0
    assert solver.parameters.max_time_in_seconds == float("inf")


def test_a_one_worker_search_keeps_cp_sats_own_limit(hinted: cp_model.CpModel) -> None:
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_deterministic_time = 30.0

    status = solve_within(solver, hinted, 0.5)

    assert status == cp_model.FEASIBLE
    assert solver.parameters.max_time_in_seconds == 0.5
    assert solver.wall_time < 10.0
