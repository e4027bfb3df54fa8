"""HiGHS on a core of the GAP: each job's few agents of least Lagrangian reduced cost.

On the 1600-job instances the Lagrangian bound rules out almost no pair (0.05 %), so the final
exact solve works on nearly the whole model and improves little, while the best assignments lie
almost entirely among each job's cheapest agents at the LP's prices. HiGHS's root heuristics on
that core find them. Measured from solve_gap's 20 s answers (2026-12-04, Intel Xeon, HiGHS's
root node alone, 8-22 s): c401600 17203 to 17148 (best known 17145), c801600 16338 to 16292
(16285), e801600 180152 to 176881; CP-SAT on the same core improved nothing in 25 s. The core is a
heuristic restriction, so its solves give assignments only, never a bound.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from allocator.gap_highs import HighsOutcome, solve_with_highs

CORE_ROUNDS = ((3, 5), (4, 6))
"""Agents per job in the cores of each round's parallel solves (one per worker; one worker takes
the first), each round from the best assignment so far. The smaller core reaches deeper in the
same time, the larger holds more of the optimum: 17148 against 17151 on c401600, 16328 against
16292 on c801600. A second round with cores one agent larger, in place of the final exact solve,
gained on two of the six 1600-job instances at 60 s (c401600 17149 to 17147, e401600 178392 to
178369); the same cores again gained nothing on c401600."""


def core_pairs(
    reduced: np.ndarray, fits: np.ndarray, best: np.ndarray, agents_per_job: int
) -> np.ndarray:
    """The pairs of each job with its `agents_per_job` agents of least reduced cost that fit,
    and the pairs of `best` (agent per job), so the core holds the best assignment so far."""
    jobs = np.arange(fits.shape[1])
    ranked = np.argsort(np.where(fits, reduced, np.inf), axis=0, kind="stable")
    keep = np.zeros_like(fits)
    keep[ranked[:agents_per_job], jobs] = True
    keep &= fits
    keep[best, jobs] = True
    return keep


def solve_cores(
    cost: np.ndarray,
    weight: np.ndarray,
    capacity: np.ndarray,
    cores: list[np.ndarray],
    best: np.ndarray,
    nodes: int,
    wall_s: float,
) -> list[HighsOutcome]:
    """HiGHS on each core in parallel (one thread each), from `best`, for `nodes` nodes with
    `wall_s` seconds as a guard. The outcomes' bounds hold only inside their cores."""

    def solve(allowed: np.ndarray) -> HighsOutcome:
        return solve_with_highs(cost, weight, capacity, allowed, best, nodes, wall_s)

    with ThreadPoolExecutor(max(len(cores), 1)) as pool:
        return list(pool.map(solve, cores))
