"""A 0-1 programme over a sparse matrix, solved by HiGHS (bundled in OR-Tools, through `math_opt`).

HiGHS's branch and cut, and the heuristics at its root node, find and prove what CP-SAT's
default LP does not on knapsack-like rows (capacities). Its solves stop after a number of
branch-and-bound nodes, a count that makes the answer the same on any machine; the wall clock
is only a guard. The GAP solver (`allocator.gap_highs`) and the care-package levels
(`allocator.solve`) both build on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from ortools.math_opt import model_pb2
from ortools.math_opt.python import mathopt
from ortools.util.python.solve_interrupter import SolveInterrupter
from scipy import sparse

BOUND_SLACK = 1e-3
"""Taken off (or added to) HiGHS's dual bound before a caller rounds it to an integer: the bound
comes from floating-point LPs, and a bound must never pass the optimum."""


@dataclass(frozen=True)
class BinaryProgramme:
    """Optimise objective · x subject to row_lower ≤ matrix · x ≤ row_upper, x binary, with
    x ≥ x_lower (pins)."""

    objective: np.ndarray
    matrix: sparse.csr_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    x_lower: np.ndarray
    maximise: bool = False


@dataclass(frozen=True)
class BinaryOutcome:
    """HiGHS's answer: x (None when it found none) and the bound it proved, already loosened
    by `BOUND_SLACK` in the safe direction."""

    x: np.ndarray | None
    bound: float
    optimal: bool
    infeasible: bool
    hit_wall_clock: bool


def solve_binary(
    programme: BinaryProgramme,
    hint: np.ndarray | None,
    nodes: int,
    wall_s: float,
    absolute_gap: float = 0.0,
    interrupter: SolveInterrupter | None = None,
) -> BinaryOutcome:
    """The programme from `hint` (x as booleans, if given) for at most `nodes` nodes, `wall_s`
    seconds a guard; `absolute_gap` is the gap that counts as proved (under 1 proves an integer
    objective), and `interrupter` stops it early (another solver has proved the optimum)."""
    model = mathopt.Model.from_model_proto(_proto(programme))
    variables = list(model.variables())
    hints = []
    if hint is not None:
        values = hint.astype(float).tolist()
        hints.append(mathopt.SolutionHint(dict(zip(variables, values, strict=True))))
    parameters = mathopt.SolveParameters(
        time_limit=timedelta(seconds=max(wall_s, 0.01)),
        node_limit=nodes,
        absolute_gap_tolerance=absolute_gap,
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
    x = None
    if result.has_primal_feasible_solution():
        x = np.array([result.variable_values(v) for v in variables]) > 0.5
    sign = -1.0 if programme.maximise else 1.0
    bound = result.termination.objective_bounds.dual_bound - sign * BOUND_SLACK
    return BinaryOutcome(
        x=x,
        bound=sign * math.inf if infeasible else bound,
        optimal=reason == mathopt.TerminationReason.OPTIMAL,
        infeasible=infeasible,
        hit_wall_clock=result.termination.limit == mathopt.Limit.TIME,
    )


def _proto(programme: BinaryProgramme) -> model_pb2.ModelProto:
    """The programme as a math_opt model proto, built from its arrays."""
    matrix = sparse.coo_matrix(programme.matrix)
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    columns, rows = matrix.shape[1], matrix.shape[0]
    proto = model_pb2.ModelProto()
    proto.variables.ids.extend(range(columns))
    proto.variables.lower_bounds.extend(programme.x_lower.astype(float).tolist())
    proto.variables.upper_bounds.extend(np.ones(columns).tolist())
    proto.variables.integers.extend([True] * columns)
    proto.objective.maximize = programme.maximise
    used = np.flatnonzero(programme.objective)
    proto.objective.linear_coefficients.ids.extend(used.tolist())
    proto.objective.linear_coefficients.values.extend(
        programme.objective[used].astype(float).tolist()
    )
    proto.linear_constraints.ids.extend(range(rows))
    proto.linear_constraints.lower_bounds.extend(programme.row_lower.astype(float).tolist())
    proto.linear_constraints.upper_bounds.extend(programme.row_upper.astype(float).tolist())
    order = np.lexsort((matrix.col, matrix.row))
    entries = proto.linear_constraint_matrix
    entries.row_ids.extend(matrix.row[order].tolist())
    entries.column_ids.extend(matrix.col[order].tolist())
    entries.coefficients.extend(matrix.data[order].astype(float).tolist())
    return proto
