"""How often a hinted multi-worker CP-SAT search aborts the process when its wall-clock limit runs
out just after presolve: with CP-SAT's own limit, and stopped by `search_start.solve_within`.

    python -m benchmarks.hint_abort [--seconds 120] [--workers 8]
                                    [--out benchmarks/results/hint_abort.csv]

OR-Tools 9.15 aborts ("Check failed: solution->size() == postsolve_mapping.size()") when that
limit ends the search while it completes the hint, between presolve and the search proper. The
model is a hinted generalised assignment problem (`hinted_assignment`). Where its presolve ends
on this machine is read first from CP-SAT's log; each way then solves it for `--seconds`, with
limits drawn from 0.7 to 1.3 times that, in a child process that an abort ends (the parent counts
it and starts another). Rerun it on a new OR-Tools: were CP-SAT's own limit to abort no more,
`solve_within` could go.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import signal
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from allocator.search_start import solve_within
from benchmarks.machine import REPO_ROOT, CpuWatch, write_table

WAYS = ("cp-sat limit", "solve_within")
SPREAD = (0.7, 1.3)
"""The limits' range, as multiples of where presolve ends."""


@dataclass(frozen=True)
class Aborts:
    """One way's solves and how many aborted the process."""

    way: str
    solves: int
    """Solves that finished: one that aborted counts in `aborts` instead."""
    aborts: int
    limit_low_s: float
    limit_high_s: float
    workers: int
    seconds: float
    other_cores: float


def hinted_assignment(jobs: int = 100, agents: int = 5, seed: int = 3) -> cp_model.CpModel:
    """A generalised assignment problem of Yagiura's type D (costs fall as weights rise), which
    one CP-SAT worker does not prove optimal in 10 s, hinted with a feasible assignment (round
    robin, each agent's capacity what that gives it)."""
    rng = np.random.default_rng(seed)
    weight = rng.integers(1, 100, size=(agents, jobs))
    cost = 111 - weight + rng.integers(-10, 11, size=(agents, jobs))
    hinted = np.arange(jobs) % agents
    load = np.zeros(agents, dtype=np.int64)
    np.add.at(load, hinted, weight[hinted, np.arange(jobs)])
    model = cp_model.CpModel()
    x = [[model.new_bool_var(f"x{i}_{j}") for j in range(jobs)] for i in range(agents)]
    for j in range(jobs):
        model.add_exactly_one(x[i][j] for i in range(agents))
    for i in range(agents):
        model.add(sum(int(weight[i, j]) * x[i][j] for j in range(jobs)) <= int(load[i]))
    model.minimize(sum(int(cost[i, j]) * x[i][j] for i in range(agents) for j in range(jobs)))
    for i in range(agents):
        for j in range(jobs):
            model.add_hint(x[i][j], bool(hinted[j] == i))
    return model


def _solver(workers: int, seed: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    solver.parameters.interleave_search = True
    solver.parameters.max_deterministic_time = 5.0
    solver.parameters.random_seed = seed
    return solver


def presolve_end_s(workers: int, tries: int = 5) -> float:
    """Median seconds from the start of a solve to CP-SAT's log line ending presolve."""
    model = hinted_assignment()
    return statistics.median(_presolve_end_s(model, workers, seed) for seed in range(tries))


def _presolve_end_s(model: cp_model.CpModel, workers: int, seed: int) -> float:
    solver = _solver(workers, seed)
    solver.parameters.max_time_in_seconds = 1.0  # far past presolve: no abort
    solver.parameters.log_search_progress = True
    solver.parameters.log_to_stdout = False
    ends: list[float] = []
    began = time.monotonic()

    def log(line: str) -> None:
        if line.startswith("Presolved") and not ends:
            ends.append(time.monotonic() - began)

    solver.log_callback = log
    solver.solve(model)
    return ends[0]


def _solves(
    way: str, workers: int, low: float, high: float, until: float, done: Synchronized
) -> None:
    """Solve until the monotonic clock reaches `until`, counting each solve in `done`."""
    model = hinted_assignment()
    rng = np.random.default_rng(done.value)
    while time.monotonic() < until:
        solver = _solver(workers, int(rng.integers(1_000)))
        limit = float(rng.uniform(low, high))
        if way == "solve_within":
            solve_within(solver, model, limit)
        else:
            solver.parameters.max_time_in_seconds = limit
            solver.solve(model)
        with done.get_lock():
            done.value += 1


def aborts(way: str, workers: int, seconds: float, presolve_s: float) -> Aborts:
    """`way`'s solves in `seconds`, each child restarted when an abort ends it."""
    context = multiprocessing.get_context("spawn")
    done = context.Value("l", 0)
    low, high = (presolve_s * k for k in SPREAD)
    until = time.monotonic() + seconds
    watch = CpuWatch(resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    count = 0
    while time.monotonic() < until:
        child = context.Process(target=_solves, args=(way, workers, low, high, until, done))
        child.start()
        child.join()
        if child.exitcode not in (0, -signal.SIGABRT):
            raise RuntimeError(f"a child ended with exit code {child.exitcode}, not an abort")
        count += child.exitcode == -signal.SIGABRT
    return Aborts(
        way,
        done.value,
        count,
        round(low, 4),
        round(high, 4),
        workers,
        seconds,
        watch.others_cores(),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="solving time for each way")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks/results/hint_abort.csv")
    args = parser.parse_args(argv)
    presolve_s = presolve_end_s(args.workers)
    print(f"presolve ends at {presolve_s * 1000:.1f} ms")
    table = pd.DataFrame(
        [asdict(aborts(way, args.workers, args.seconds, presolve_s)) for way in WAYS]
    )
    write_table(table, "benchmarks.hint_abort", argv, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
