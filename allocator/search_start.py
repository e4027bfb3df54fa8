"""A multi-worker CP-SAT search stopped on the wall clock only once it has started searching.

OR-Tools 9.15 aborts the whole process ("Check failed: solution->size() ==
postsolve_mapping.size()") when the wall-clock limit of a search with several workers and a
solution hint runs out after presolve and before the search starts, while it completes the hint.
It ended one CI run in the small council's 5 s solve, most likely in a search started with a
few hundredths of a second left (that solve starts some with 0.06-0.09 s; its whole model's
presolve takes 0.06-0.17 s). Replaying one of that solve's searches (a 270-variable neighbourhood
dumped from a run) on the reference machine with limits of 8-16 ms, where its presolve ends,
aborted 23 of 5,930 solves; limits inside presolve (1-8 ms) aborted none of 10,953, nor did one
worker, or no hint, at 8-16 ms (6,836 and 6,708 solves).

So such a search gets no wall-clock limit of its own. A timer stops it at the limit, or, when
the limit falls before the search has started (which CP-SAT's log tells), as soon as it starts.
The same replay, stopped this way, aborted none of 13,447 solves. A search with one worker keeps
CP-SAT's own limit.
"""

from __future__ import annotations

import threading

from ortools.sat.python import cp_model

SEARCH_STARTS = ("Starting deterministic search", "Starting search")
"""How CP-SAT's log begins the line that says the search proper has started."""


class _StopOnceStarted:
    """Stops `solver` when its time is up, but never before its search has started."""

    def __init__(self, solver: cp_model.CpSolver) -> None:
        self._solver = solver
        self._lock = threading.Lock()
        self._started = False
        self._due = False

    def log(self, line: str) -> None:
        if line.startswith(SEARCH_STARTS):
            with self._lock:
                self._started = True
                if self._due:
                    self._solver.stop_search()

    def time_up(self) -> None:
        with self._lock:
            self._due = True
            if self._started:
                self._solver.stop_search()


def solve_within(solver: cp_model.CpSolver, model: cp_model.CpModel, wall_s: float) -> int:
    """`solver.solve(model)` stopped after `wall_s` seconds (or, on several workers, once the
    search starts if that is later); every other parameter is the caller's."""
    if solver.parameters.num_workers <= 1:
        solver.parameters.max_time_in_seconds = wall_s
        return solver.solve(model)
    stopper = _StopOnceStarted(solver)
    solver.parameters.log_search_progress = True
    solver.parameters.log_to_stdout = False
    solver.log_callback = stopper.log
    timer = threading.Timer(wall_s, stopper.time_up)
    timer.start()
    try:
        return solver.solve(model)
    finally:
        timer.cancel()
