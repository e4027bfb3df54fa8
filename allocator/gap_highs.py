"""The GAP as a mixed-integer programme for HiGHS (bundled in OR-Tools, through `math_opt`).

HiGHS's branch and cut closes type C instances that CP-SAT leaves open: its cuts on the capacity
knapsacks lift the bound where CP-SAT's default LP does not. Measured on c20400 from the same
assignment and reduced model: HiGHS found the best known (4782) in 27 s and proved it in 57 s,
where CP-SAT stayed at 4787. `allocator.gap` runs it beside CP-SAT in its final exact solve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.util.python.solve_interrupter import SolveInterrupter
from scipy import sparse

from allocator.highs import BinaryProgramme, solve_binary

GAP_TOLERANCE = 0.5
"""Absolute optimality gap: costs are integers, so a gap under 1 proves the optimum (HiGHS's
default relative gap of 1e-4 could stop short of the optimum: on c201600 it is about 2)."""


@dataclass(frozen=True)
class HighsOutcome:
    """HiGHS's answer: an agent per job (None when it found no assignment) and its proof."""

    assignment: np.ndarray | None
    bound: float
    optimal: bool
    infeasible: bool
    hit_wall_clock: bool


def solve_with_highs(
    cost: np.ndarray,
    weight: np.ndarray,
    capacity: np.ndarray,
    allowed: np.ndarray,
    hint: np.ndarray | None,
    nodes: int,
    wall_s: float,
    interrupter: SolveInterrupter | None = None,
) -> HighsOutcome:
    """min Σ c·x over the `allowed` (agent, job) pairs, one agent per job, within capacities,
    from `hint` (agent per job) if given. It stops after `nodes` branch-and-bound nodes, a count
    that makes the answer the same on any machine; `wall_s` is only a guard, and `interrupter`
    stops it early (another solver has proved the optimum)."""
    agents, jobs = np.nonzero(allowed)
    programme = _programme(cost, weight, capacity, agents, jobs)
    start = None if hint is None else hint[jobs] == agents
    outcome = solve_binary(programme, start, nodes, wall_s, GAP_TOLERANCE, interrupter)
    assignment = None
    if outcome.x is not None:
        assignment = _assignment(outcome.x, agents, jobs, weight, capacity)
    return HighsOutcome(
        assignment=assignment,
        bound=outcome.bound,
        optimal=outcome.optimal,
        infeasible=outcome.infeasible,
        hit_wall_clock=outcome.hit_wall_clock,
    )


def _programme(
    cost: np.ndarray,
    weight: np.ndarray,
    capacity: np.ndarray,
    agents: np.ndarray,
    jobs: np.ndarray,
) -> BinaryProgramme:
    """The GAP over pairs (`agents[k]`, `jobs[k]`), built from arrays: one binary per pair, a
    row per job (= 1), then a row per agent (≤ capacity)."""
    pairs, n = agents.size, cost.shape[1]
    column = np.tile(np.arange(pairs), 2)
    row = np.concatenate([jobs, n + agents])
    value = np.concatenate([np.ones(pairs), weight[agents, jobs].astype(float)])
    matrix = sparse.csr_matrix((value, (row, column)), shape=(n + capacity.size, pairs))
    return BinaryProgramme(
        objective=cost[agents, jobs].astype(float),
        matrix=matrix,
        row_lower=np.concatenate([np.ones(n), np.full(capacity.size, -np.inf)]),
        row_upper=np.concatenate([np.ones(n), capacity.astype(float)]),
        x_lower=np.zeros(pairs),
    )


def _assignment(
    chosen: np.ndarray,
    agents: np.ndarray,
    jobs: np.ndarray,
    weight: np.ndarray,
    capacity: np.ndarray,
) -> np.ndarray | None:
    """The agent of each job from the chosen pairs, or None if, once rounded, they do not give
    every job exactly one agent within capacity (HiGHS works to tolerances)."""
    n = weight.shape[1]
    if not np.array_equal(np.bincount(jobs[chosen], minlength=n), np.ones(n, dtype=np.int64)):
        return None
    assignment = np.empty(n, dtype=np.int64)
    assignment[jobs[chosen]] = agents[chosen]
    load = np.bincount(
        assignment, weights=weight[assignment, np.arange(n)], minlength=capacity.size
    )
    return assignment if np.all(load <= capacity) else None
