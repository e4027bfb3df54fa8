"""The GAP as a mixed-integer programme for HiGHS (bundled in OR-Tools, through `math_opt`).

HiGHS's branch and cut closes type C instances that CP-SAT leaves open: its cuts on the capacity
knapsacks lift the bound where CP-SAT's default LP does not. Measured on c20400 from the same
assignment and reduced model: HiGHS found the best known (4782) in 27 s and proved it in 57 s,
where CP-SAT stayed at 4787. `allocator.gap` runs it beside CP-SAT in its final exact solve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from ortools.math_opt import model_pb2
from ortools.math_opt.python import mathopt
from ortools.util.python.solve_interrupter import SolveInterrupter

BOUND_SLACK = 1e-3
"""Taken off HiGHS's dual bound before the caller rounds it up to an integer: the bound comes
from floating-point LPs, and an answer's bound must never pass the optimum."""

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
    model = mathopt.Model.from_model_proto(_programme(cost, weight, capacity, agents, jobs))
    variables = list(model.variables())
    hints = []
    if hint is not None:
        values = (hint[jobs] == agents).astype(float).tolist()
        hints.append(mathopt.SolutionHint(dict(zip(variables, values, strict=True))))
    parameters = mathopt.SolveParameters(
        time_limit=timedelta(seconds=wall_s),
        node_limit=nodes,
        absolute_gap_tolerance=GAP_TOLERANCE,
        relative_gap_tolerance=0.0,
        random_seed=0,
    )
    result = mathopt.solve(
        model,
        mathopt.SolverType.HIGHS,
        params=parameters,
        model_params=mathopt.ModelSolveParameters(solution_hints=hints),
        interrupter=interrupter,
    )
    reason = result.termination.reason
    infeasible = reason == mathopt.TerminationReason.INFEASIBLE
    assignment = None
    if result.has_primal_feasible_solution():
        chosen = np.array([result.variable_values(v) for v in variables]) > 0.5
        assignment = _assignment(chosen, agents, jobs, weight, capacity)
    bound = result.termination.objective_bounds.dual_bound - BOUND_SLACK
    return HighsOutcome(
        assignment=assignment,
        bound=math.inf if infeasible else bound,
        optimal=reason == mathopt.TerminationReason.OPTIMAL,
        infeasible=infeasible,
        hit_wall_clock=result.termination.limit == mathopt.Limit.TIME,
    )


def _programme(
    cost: np.ndarray,
    weight: np.ndarray,
    capacity: np.ndarray,
    agents: np.ndarray,
    jobs: np.ndarray,
) -> model_pb2.ModelProto:
    """The GAP over pairs (`agents[k]`, `jobs[k]`) as a model proto, built from arrays: one
    binary per pair, a row per job (= 1), then a row per agent (≤ capacity)."""
    pairs, n = agents.size, cost.shape[1]
    proto = model_pb2.ModelProto()
    proto.variables.ids.extend(range(pairs))
    proto.variables.lower_bounds.extend(np.zeros(pairs).tolist())
    proto.variables.upper_bounds.extend(np.ones(pairs).tolist())
    proto.variables.integers.extend([True] * pairs)
    proto.objective.linear_coefficients.ids.extend(range(pairs))
    proto.objective.linear_coefficients.values.extend(cost[agents, jobs].astype(float).tolist())
    rows = capacity.size + n
    proto.linear_constraints.ids.extend(range(rows))
    proto.linear_constraints.lower_bounds.extend([1.0] * n + [-math.inf] * capacity.size)
    proto.linear_constraints.upper_bounds.extend([1.0] * n + capacity.astype(float).tolist())
    row = np.concatenate([jobs, n + agents])
    column = np.tile(np.arange(pairs), 2)
    value = np.concatenate([np.ones(pairs), weight[agents, jobs].astype(float)])
    order = np.lexsort((column, row))
    matrix = proto.linear_constraint_matrix
    matrix.row_ids.extend(row[order].tolist())
    matrix.column_ids.extend(column[order].tolist())
    matrix.coefficients.extend(value[order].tolist())
    return proto


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
