"""The allocation model's LP relaxation: a bound no plan can beat, so every gap is certified.

CP-SAT's own bound on a large assignment model is weak (the LP is not its strength), while the
LP relaxation of this model is tight: capacities are knapsacks over many small packages. Each goal
level's LP is solved with the earlier levels held at the values the plan achieved, so its bound
says how much better any plan that does as well on the earlier goals could do on this one.

Rotation rules and fairness are left out of the relaxation: dropping constraints only loosens the
bound, so it stays valid. The LP is built from arrays (one sparse matrix) and solved with GLOP, an
exact simplex; only an optimal LP gives a bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver.python import model_builder as mb
from scipy import sparse

from allocator.framework_rules import FrameworkRules
from allocator.goals import MAXIMISED, PairTable
from allocator.model import BANDS
from allocator.policy import Goal

TOLERANCE = 1e-6
"""Relative slack allowed for the simplex's floating-point error before rounding a bound to the
integer objective, so that rounding can never cut off the true optimum."""


@dataclass(frozen=True)
class LpOutcome:
    """One level's relaxation: its optimal value and solution (None when not solved to
    optimality)."""

    value: float | None
    seconds: float
    x: np.ndarray | None = None
    """Per pair, its share of the package in the relaxation's optimum."""
    timed_out: bool = False
    """The time limit (or anything but a proof either way) stopped the simplex: a result that
    depends on the machine, not only on the inputs."""

    def integer_bound(self, maximise: bool) -> int | None:
        """The best integer value any plan could reach, from the LP optimum."""
        if self.value is None:
            return None
        slack = TOLERANCE * max(1.0, abs(self.value))
        return int(np.floor(self.value + slack)) if maximise else int(np.ceil(self.value - slack))


class LpRelaxation:
    """x in [0, 1] per eligible pair; at most one provider per package; pins; capacities per
    provider and band; providers' and lots' hour caps; earlier goal levels held."""

    def __init__(self, pairs: PairTable, rules: FrameworkRules) -> None:
        self.pairs = pairs
        rows, upper = _structural_rows(pairs, rules)
        self.matrix = rows
        self.upper = upper
        self.lower = np.full(len(upper), -np.inf)
        pinned = np.array([k.pinned for k in pairs.scenario.packages], dtype=bool)
        self.x_lower = pinned[pairs.package].astype(float)

    def hold(self, goal: Goal, value: int) -> None:
        """Keep `goal` at least as good as `value` in every later level's relaxation."""
        if goal is Goal.FAIRNESS:
            return
        coefficients = self.pairs.coefficients(goal).astype(float)
        row = sparse.csr_matrix(coefficients.reshape(1, -1))
        self.matrix = sparse.vstack([self.matrix, row], format="csr")
        if goal in MAXIMISED:
            self.lower = np.append(self.lower, float(value))
            self.upper = np.append(self.upper, np.inf)
        else:
            self.lower = np.append(self.lower, -np.inf)
            self.upper = np.append(self.upper, float(value))

    def solve(self, goal: Goal, time_limit_s: float) -> LpOutcome:
        """The relaxation's optimum for `goal` (fairness is not linear here: no bound)."""
        if goal is Goal.FAIRNESS or len(self.pairs) == 0:
            return LpOutcome(None if goal is Goal.FAIRNESS else 0.0, 0.0)
        model = mb.Model()
        model.helper.fill_model_from_sparse_data(
            self.x_lower,
            np.ones(len(self.pairs)),
            self.pairs.coefficients(goal).astype(float),
            self.lower,
            self.upper,
            self.matrix,
        )
        model.helper.set_maximize(goal in MAXIMISED)
        solver = mb.Solver("glop")
        solver.set_time_limit_in_seconds(max(time_limit_s, 0.01))
        began = time.monotonic()
        status = solver.solve(model)
        seconds = time.monotonic() - began
        if status != mb.SolveStatus.OPTIMAL:
            return LpOutcome(None, seconds, timed_out=status != mb.SolveStatus.INFEASIBLE)
        x = solver.values(model.get_variables()).to_numpy()
        return LpOutcome(solver.objective_value, seconds, x)


def _structural_rows(
    pairs: PairTable, rules: FrameworkRules
) -> tuple[sparse.csr_matrix, np.ndarray]:
    """The relaxation's constraint rows (as a sparse matrix over the pairs) and their limits."""
    n = len(pairs)
    columns = np.arange(n)
    blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (rows, columns, weights)
    limits: list[np.ndarray] = []
    offset = 0

    def add(row_of_pair: np.ndarray, weight: np.ndarray, limit: np.ndarray) -> None:
        nonlocal offset
        keep = (row_of_pair >= 0) & (weight != 0)
        blocks.append((row_of_pair[keep] + offset, columns[keep], weight[keep]))
        limits.append(limit.astype(float))
        offset += len(limit)

    packages = len(pairs.scenario.packages)
    add(pairs.package, np.ones(n), np.ones(packages))
    need = pairs.arrays.need[pairs.package]
    for b in range(len(BANDS)):
        add(pairs.provider, need[:, b].astype(float), pairs.arrays.capacity[:, b])
    capped = pairs.arrays.max_minutes >= 0
    cap_row = np.cumsum(capped) - 1
    add(
        np.where(capped[pairs.provider], cap_row[pairs.provider], -1),
        pairs.minutes.astype(float),
        pairs.arrays.max_minutes[capped],
    )
    for lot in rules.lots:
        member = np.isin(pairs.provider, lot.providers)
        add(np.where(member, 0, -1), pairs.minutes.astype(float), np.array([lot.max_minutes]))
    row = np.concatenate([b[0] for b in blocks])
    col = np.concatenate([b[1] for b in blocks])
    data = np.concatenate([b[2] for b in blocks])
    matrix = sparse.csr_matrix((data, (row, col)), shape=(offset, n))
    return matrix, np.concatenate(limits)
