"""The allocation model's LP relaxation: a bound no plan can beat, so every gap is certified.

CP-SAT's own bound on a large assignment model is weak (the LP is not its strength), while the
LP relaxation of this model is tight: capacities are knapsacks over many small packages. Each goal
level's LP is solved with the earlier levels held at the values the plan achieved, so its bound
says how much better any plan that does as well on the earlier goals could do on this one.

Rotation rules and fairness are left out of the relaxation: dropping constraints only loosens the
bound, so it stays valid. The fairness level, a peak rather than a sum over pairs, has a relaxation
of its own: the same rows, a column for the peak, and a row per provider. Each capacity limit is cut
to what whole packages can fill: that keeps every plan and drops only fractional points, so it
tightens the bound without losing validity. The LP is built from arrays (one sparse matrix) and
solved with GLOP, an exact simplex. On county-sized books the whole LP takes the simplex minutes, so
it is solved by sifting: the simplex works on a few pairs per package, and the pairs its prices say
would pay are added until none would. The bound is computed from the simplex's prices over every
pair (Lagrangian duality: any prices give a valid bound), so it holds whatever the solver's
tolerances, and even when sifting stops on the clock before the last round."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver.python import model_builder as mb
from scipy import sparse

from allocator.framework_rules import FrameworkRules
from allocator.goals import FAIRNESS_SCALE, MAXIMISED, PairTable
from allocator.highs import BinaryProgramme
from allocator.model import BANDS
from allocator.policy import Goal

TOLERANCE = 1e-6
"""Relative slack allowed for floating-point error in the bound before rounding it to the integer
objective, so that rounding can never cut off the true optimum."""

SIFTING_PAIRS = 50_000
"""From this many pairs, solve by sifting rather than all at once: measured on the county preset
at 20,000 packages (242,255 pairs), GLOP's primal and dual simplex both needed over 60 s for the
whole hours-placed LP; at 5,000 packages (18,176 pairs) it takes 0.6 s."""

FIRST_PAIRS = 2
"""Pairs per waiting package that sifting starts from (in cascade order), besides the plan's.
A person in care starts with their current provider and the plan's only: the relaxation is not
nudged when sifted, and a simplex moves people among the pairs it has for no reason. Measured at
20,000 packages (urgent-hours level): starting people in care with two more pairs each, the
relaxation took 19.5 s and its rounded plan kept 10,697 of 14,834 people with their provider;
starting them at home, 8.2 s, and 12,553 kept, placing slightly more urgent hours."""

SIFTING_ROUNDS = 40
"""At most this many simplex solves per level: a guard against cycling on rounding noise."""

SIFTING_BATCH = 5_000
"""Most pairs a sifting round adds (those whose prices say pay most). Each round's simplex starts
afresh, and its time grows steeply with the pairs it has: measured on the county preset at
20,000 packages (urgent-hours level, not nudged), adding every paying pair took four rounds of
up to 16 s (46 s, ending with 102,000 pairs); adding the 5,000 best took five rounds of at most
6 s (19 s, 58,000 pairs), with the bound within 0.2 % of the optimum after the fourth."""

CONTINUITY_NUDGE = 1e-5
"""Per person kept with their provider, in units of the goal's smallest coefficient."""

PDLP_PARAMETERS = (
    "termination_criteria { simple_optimality_criteria {"
    " eps_optimal_relative: 1e-4 eps_optimal_absolute: 1e-4 } } num_threads: 1"
)
"""PDLP to a relative accuracy of 1e-4 (the bound is made valid from its prices anyway). On the
county preset's hours-placed LP: at 20,000 packages 5.8 s, 0.03 % above the bound at 1e-6
(15 s); at 50,000, 71 s, where at 1e-6 PDLP had not converged in 270 s and its prices gave a
bound 34 times the optimum."""

PRICING_TOLERANCE = 1e-7
"""A pair pays (and joins the sifted LP) when its reduced value is above this, in units of the
goal's smallest coefficient: below the nudge, above the simplex's own tolerances."""


@dataclass(frozen=True)
class LpOutcome:
    """One level's relaxation: a bound and a solution (None when the simplex solved nothing)."""

    value: float | None
    """A valid bound on the level's objective: the LP optimum, or looser if sifting stopped
    before its last round."""
    seconds: float
    x: np.ndarray | None = None
    """Per pair, its share of the package in the last solved (restricted) LP's optimum."""
    timed_out: bool = False
    """The time limit stopped the simplex or the sifting: a result that depends on the machine,
    not only on the inputs."""

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
        self.x_lower = pairs.pinned.astype(float)
        self.matrix = rows
        self.upper = _to_common_divisor(rows, upper, self.x_lower > 0)
        self.lower = np.full(len(upper), -np.inf)
        self.support = np.zeros(len(pairs), dtype=bool)
        """The pairs the last level's relaxation placed some of, where the next level's sifting
        starts (see `_first_columns`)."""

    def keep_at_least(self, rows: np.ndarray, count: int) -> None:
        """At least `count` of these pairs placed (the move budget, over people's current
        providers)."""
        self._add_row(np.isin(np.arange(len(self.pairs)), rows).astype(float), count, np.inf)

    def _add_row(self, coefficients: np.ndarray, lower: float, upper: float) -> None:
        row = sparse.csr_matrix(coefficients.reshape(1, -1))
        self.matrix = sparse.vstack([self.matrix, row], format="csr")
        self.lower = np.append(self.lower, lower)
        self.upper = np.append(self.upper, upper)

    def hold(self, goal: Goal, value: int) -> None:
        """Keep `goal` at least as good as `value` in every later level's relaxation."""
        if goal is Goal.FAIRNESS:
            return
        coefficients = self.pairs.coefficients(goal).astype(float)
        if goal in MAXIMISED and self._hold_by_package(coefficients, value):
            return
        if goal in MAXIMISED:
            self._add_row(coefficients, float(value), np.inf)
        else:
            self._add_row(coefficients, -np.inf, float(value))

    def _hold_by_package(self, coefficients: np.ndarray, value: int) -> bool:
        """Hold a level that places every package it counts, each worth the same wherever it
        goes, as those packages' own rows (each placed whole) rather than one summed row: the
        same set of plans, without a dense row over every pair (PDLP, for one, could not meet
        such a row to accuracy in 60 s at 20,000 packages, and met the package rows in 13 s)."""
        packages = len(self.pairs.scenario.packages)
        worth = np.zeros(packages)
        np.maximum.at(worth, self.pairs.package, coefficients)
        if value < worth.sum():
            return False
        if not np.array_equal(worth[self.pairs.package], coefficients):
            return False
        self.lower[:packages] = np.where(worth > 0, 1.0, self.lower[:packages])
        return True

    @property
    def sifted(self) -> bool:
        """Whether solves work on a few pairs at a time (a county-sized book)."""
        return len(self.pairs) >= SIFTING_PAIRS

    def solve(
        self,
        goal: Goal,
        time_limit_s: float,
        plan: np.ndarray | None = None,
        nudge: bool = True,
    ) -> LpOutcome:
        """The relaxation's optimum for `goal` (for fairness a bound alone: `_peak_bound`).

        `plan`, a plan that keeps the held levels, keeps the sifted LP feasible from its first
        round. `nudge`: prefer, among optima, to keep people with their providers; never when
        sifting, where it makes every round about three times slower and keeps adding pairs
        that differ from the ones in only by the nudge (measured at 20,000 packages: the
        urgent-hours level took 100 s and had not finished; 19 s without)."""
        if goal is Goal.FAIRNESS:
            return self._peak_bound(time_limit_s)
        if len(self.pairs) == 0:
            return LpOutcome(0.0, 0.0)
        began = time.monotonic()
        nudge = nudge and not self.sifted
        objective = self._nudged(goal) if nudge else self.pairs.coefficients(goal).astype(float)
        columns = self._first_columns(plan)
        solved = None
        clock = False
        for _ in range(SIFTING_ROUNDS):
            left = time_limit_s - (time.monotonic() - began)
            status, restricted = self._solve_restricted(goal, objective, columns, max(left, 0.01))
            if restricted is None:
                clock = status != mb.SolveStatus.INFEASIBLE
                if columns.all() or clock:
                    break
                columns = np.ones_like(columns)  # the first pairs could not keep held levels
                continue
            values, duals = restricted
            bound = self._dual_bound(goal, duals)
            if solved is not None:  # every round's prices give a bound: keep the tightest
                bound = min(bound, solved[2]) if goal in MAXIMISED else max(bound, solved[2])
            solved = (columns, values, bound)
            paying = self._paying(goal, objective, duals, columns)
            if not paying.any():
                break
            clock = time.monotonic() - began >= time_limit_s
            if clock:
                break
            columns = columns | paying
        # Stopping at the round cap is the same on every machine; stopping on the clock is not.
        seconds = time.monotonic() - began
        if solved is None:
            return LpOutcome(None, seconds, timed_out=clock)
        used, values, bound = solved
        x = np.zeros(len(self.pairs))
        x[used] = values
        self.support = x > 0
        return LpOutcome(bound, seconds, x, timed_out=clock)

    def _peak_bound(self, time_limit_s: float) -> LpOutcome:
        """The fairness level's bound: the least peak, a provider's load in per-mille of its
        weekly capacity, of any relaxed plan that keeps the levels held so far. Computed from
        the simplex's prices, as every level's bound is, with no solution: fairness has no value
        per pair to round by. None on a sifted book, whose whole LP the simplex cannot solve in
        a level's time (see `SIFTING_PAIRS`)."""
        if self.sifted:
            return LpOutcome(None, 0.0)
        region = self._peak_region()
        objective = np.append(np.zeros(len(self.pairs)), 1.0)
        model = region.model(objective, maximise=False)
        status, solver, seconds = _solved(model, "glop", time_limit_s)
        if status != mb.SolveStatus.OPTIMAL:
            return LpOutcome(None, seconds, timed_out=status != mb.SolveStatus.INFEASIBLE)
        duals = _prices(solver, model)
        return LpOutcome(region.dual_bound(objective, duals, maximise=False), seconds)

    def _peak_region(self) -> Limits:
        """The relaxation's region with a last column for the peak (0 to `FAIRNESS_SCALE`):
        every row of the relaxation, and per provider with capacity (as the model counts them)
        its load in per-mille of that capacity minus the peak, at most 0."""
        pairs = self.pairs
        capacity = pairs.arrays.capacity.sum(axis=1).astype(float)
        counted = np.flatnonzero(capacity[pairs.provider] > 0)
        providers, row_of = np.unique(pairs.provider[counted], return_inverse=True)
        share = pairs.minutes[counted] * FAIRNESS_SCALE / capacity[pairs.provider[counted]]
        peak_column = len(pairs)
        peak_rows = sparse.csr_matrix(
            (
                np.concatenate([share, -np.ones(len(providers))]),
                (
                    np.concatenate([row_of, np.arange(len(providers))]),
                    np.concatenate([counted, np.full(len(providers), peak_column)]),
                ),
            ),
            shape=(len(providers), peak_column + 1),
        )
        no_peak = sparse.csr_matrix((self.matrix.shape[0], 1))
        return Limits(
            matrix=sparse.vstack([sparse.hstack([self.matrix, no_peak]), peak_rows], format="csr"),
            lower=np.append(self.lower, np.full(len(providers), -np.inf)),
            upper=np.append(self.upper, np.zeros(len(providers))),
            x_lower=np.append(self.x_lower, 0.0),
            x_upper=np.append(np.ones(len(pairs)), float(FAIRNESS_SCALE)),
        )

    def first_order_bound(self, goal: Goal, time_limit_s: float) -> LpOutcome:
        """A bound from PDLP's prices, for when no plan is wanted, only the bound: on a county
        book it is within 0.0001 % of the LP optimum in seconds where sifting takes minutes
        (its solution, inside the optimal face, rounds badly, so the levels do not use it)."""
        if goal is Goal.FAIRNESS or len(self.pairs) == 0:
            return LpOutcome(None if goal is Goal.FAIRNESS else 0.0, 0.0)
        model = self._model(goal, self.pairs.coefficients(goal).astype(float))
        status, solver, seconds = _solved(model, "pdlp", time_limit_s, PDLP_PARAMETERS)
        if status == mb.SolveStatus.INFEASIBLE:
            return LpOutcome(None, seconds)
        duals = _prices(solver, model)
        stopped = status != mb.SolveStatus.OPTIMAL
        return LpOutcome(self._dual_bound(goal, duals), seconds, timed_out=stopped)

    def integer_programme(self, goal: Goal) -> str:
        """The level over every pair as an integer programme, in MPS, with the levels held so
        far: for a MIP solver's reference figure (`benchmarks/mip_reference.py`). Like the
        relaxation, it leaves out rotation rules and fairness. Plans never come from it: a MIP
        solver stops on the clock, so they would depend on the machine."""
        model = self._model(goal, self.pairs.coefficients(goal).astype(float))
        for index in range(len(self.pairs)):
            model.helper.set_var_integrality(index, True)
        return model.export_to_mps_string()

    def programme(
        self, columns: np.ndarray, objective: np.ndarray, maximise: bool
    ) -> BinaryProgramme:
        """`objective` over `columns` alone as a 0-1 programme, with every row and the levels
        held so far (a core for HiGHS: `LexicographicModel._rooted`). Like the relaxation, it
        leaves out rotation rules and fairness."""
        return BinaryProgramme(
            objective=objective[columns].astype(float),
            matrix=self.matrix[:, np.flatnonzero(columns)],
            row_lower=self.lower,
            row_upper=self.upper,
            x_lower=self.x_lower[columns],
            maximise=maximise,
        )

    def _first_columns(self, plan: np.ndarray | None) -> np.ndarray:
        """The pairs the first round works on: all of them for a small book (see `FIRST_PAIRS`).

        A sifted book also starts from the last level's support: the levels hold one another, so
        the pairs one placed are most of what the next needs. Measured at 20,000 packages, the
        hours-placed level then reached the same optimum in 4 rounds, 7.9 s, not 7 rounds,
        13.6 s (starting from every pair the urgent level had ended with: 2 rounds, 11.4 s)."""
        pairs = self.pairs
        if not self.sifted:
            return np.ones(len(pairs), dtype=bool)
        columns = pairs.is_current | (self.x_lower > 0) | self.support
        if plan is not None:
            columns |= plan
        columns |= first_in_cascade(pairs, FIRST_PAIRS) & ~pairs.has_current
        return columns

    def _solve_restricted(
        self, goal: Goal, objective: np.ndarray, columns: np.ndarray, time_limit_s: float
    ) -> tuple[mb.SolveStatus, tuple[np.ndarray, np.ndarray] | None]:
        """The simplex's status, and (values of `columns`, row duals) at the LP's optimum over
        `columns` alone if it found one."""
        model = self._model(goal, objective, columns)
        status, solver, _ = _solved(model, "glop", time_limit_s)
        if status != mb.SolveStatus.OPTIMAL:
            return status, None
        values = solver.values(model.get_variables()).to_numpy(float)
        return status, (values, _prices(solver, model))

    def _model(
        self, goal: Goal, objective: np.ndarray, columns: np.ndarray | None = None
    ) -> mb.Model:
        """The relaxation over `columns` alone (default: every pair), with every row,
        optimising `objective`."""
        chosen = objective if columns is None else objective[columns]
        return self._region(columns).model(chosen, goal in MAXIMISED)

    def _region(self, columns: np.ndarray | None = None) -> Limits:
        """The relaxation's rows over `columns` alone (default: every pair, without copying the
        matrix), each pair between its pin and 1."""
        if columns is None:
            pairs = len(self.pairs)
            return Limits(self.matrix, self.lower, self.upper, self.x_lower, np.ones(pairs))
        return Limits(
            self.matrix[:, np.flatnonzero(columns)],
            self.lower,
            self.upper,
            self.x_lower[columns],
            np.ones(int(columns.sum())),
        )

    def _paying(
        self, goal: Goal, objective: np.ndarray, duals: np.ndarray, columns: np.ndarray
    ) -> np.ndarray:
        """Pairs outside `columns` whose reduced value at these prices is positive and the best
        of their package's: the `SIFTING_BATCH` of them that pay most."""
        sign = 1.0 if goal in MAXIMISED else -1.0
        reduced = sign * (objective - self.matrix.T @ duals)
        unit = np.abs(objective[objective != 0]).min(initial=1.0)
        best = np.full(len(self.pairs.scenario.packages), -np.inf)
        np.maximum.at(best, self.pairs.package, reduced)
        paying = np.flatnonzero(
            (reduced > PRICING_TOLERANCE * unit) & (reduced >= best[self.pairs.package]) & ~columns
        )
        chosen = np.zeros(len(reduced), dtype=bool)
        chosen[paying[np.argsort(-reduced[paying], kind="stable")[:SIFTING_BATCH]]] = True
        return chosen

    def _nudged(self, goal: Goal) -> np.ndarray:
        """The goal's coefficients, nudged towards each person's current provider.

        The relaxation has many optima; a simplex stops at whichever vertex it meets, and moves
        people it has no reason to move. A nudge too small to trade against one unit of the
        goal makes it keep them where they are among equal optima, so the plans rounded from it
        do too. The bound is computed from the goal's own coefficients, so it stays valid (and
        loosens by at most the nudge times the people in care)."""
        coefficients = self.pairs.coefficients(goal).astype(float)
        if goal is Goal.CONTINUITY or not coefficients.any():
            return coefficients
        sign = 1.0 if goal in MAXIMISED else -1.0
        unit = np.abs(coefficients[coefficients != 0]).min()
        return coefficients + sign * CONTINUITY_NUDGE * unit * self.pairs.is_current

    def _dual_bound(self, goal: Goal, duals: np.ndarray) -> float:
        """The bound on `goal` from any row duals (see `Limits.dual_bound`)."""
        objective = self.pairs.coefficients(goal).astype(float)
        return self._region().dual_bound(objective, duals, goal in MAXIMISED)


@dataclass(frozen=True)
class Limits:
    """A linear programme's feasible region: lower ≤ matrix · x ≤ upper, x_lower ≤ x ≤ x_upper."""

    matrix: sparse.csr_matrix
    lower: np.ndarray
    upper: np.ndarray
    x_lower: np.ndarray
    x_upper: np.ndarray

    def model(self, objective: np.ndarray, maximise: bool) -> mb.Model:
        """The linear programme optimising `objective` over the region."""
        model = mb.Model()
        model.helper.fill_model_from_sparse_data(
            self.x_lower, self.x_upper, objective, self.lower, self.upper, self.matrix
        )
        model.helper.set_maximize(maximise)
        return model

    def dual_bound(self, objective: np.ndarray, duals: np.ndarray, maximise: bool) -> float:
        """The Lagrangian bound from any row duals y (weak duality, for a maximisation):
        c·x = y·Ax + (c − Aᵀy)·x, each term at its best over the rows' limits and x's bounds.
        A dual whose row has no limit on the side it prices is taken as zero."""
        sign = 1.0 if maximise else -1.0
        y = sign * np.nan_to_num(duals, posinf=0.0, neginf=0.0)
        y[(y > 0) & ~np.isfinite(self.upper)] = 0.0
        y[(y < 0) & ~np.isfinite(self.lower)] = 0.0
        upper = np.where(np.isfinite(self.upper), self.upper, 0.0)
        lower = np.where(np.isfinite(self.lower), self.lower, 0.0)
        rows = np.where(y > 0, y * upper, y * lower)
        reduced = sign * objective - self.matrix.T @ y
        columns = np.maximum(reduced * self.x_lower, reduced * self.x_upper)
        return sign * float(rows.sum() + columns.sum())


def _solved(
    model: mb.Model, engine: str, time_limit_s: float, parameters: str = ""
) -> tuple[mb.SolveStatus, mb.Solver, float]:
    """`model` solved by `engine` ("glop", "pdlp") within `time_limit_s`: its status, the solver
    (which holds the solution and prices) and the seconds it took."""
    solver = mb.Solver(engine)
    if parameters:
        solver.set_solver_specific_parameters(parameters)
    solver.set_time_limit_in_seconds(time_limit_s)
    began = time.monotonic()
    status = solver.solve(model)
    return status, solver, time.monotonic() - began


def _prices(solver: mb.Solver, model: mb.Model) -> np.ndarray:
    """The row duals of the solver's last solve of `model` (0 where it has none)."""
    return solver.dual_values(model.get_linear_constraints()).to_numpy(float, na_value=0.0)


def first_in_cascade(pairs: PairTable, count: int) -> np.ndarray:
    """Per pair, whether it is one of its package's first `count` in cascade order (then
    nearest first)."""
    order = np.lexsort((pairs.travel_m, pairs.cascade_step, pairs.package))
    first = np.searchsorted(pairs.package[order], pairs.package[order], side="left")
    firsts = np.zeros(len(pairs), dtype=bool)
    firsts[order[np.arange(len(order)) - first < count]] = True
    return firsts


def _to_common_divisor(
    matrix: sparse.csr_matrix, upper: np.ndarray, fixed: np.ndarray
) -> np.ndarray:
    """Each row's limit rounded down to what whole placements can fill exactly.

    A plan's load on a row is its pinned pairs' load plus a sum of the other pairs' whole
    weights, so it is that fixed load plus a multiple of those weights' greatest common divisor
    g: the limit can be cut to the last such value (visits are weekly patterns of 15-minute
    calls, so weights share factors like 105 = 7 x 15). The relaxation, which could fill the gap
    with fractions of a package, becomes much tighter where bands are small: on the Rotherham
    example the urgent-hours bound falls from 61,110 to 60,060 minutes, the level's optimum."""
    matrix = matrix.tocsr()
    row_of = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    weights = np.rint(matrix.data).astype(np.int64)
    whole = np.isclose(matrix.data, weights)
    pinned = fixed[matrix.indices]
    fixed_load = np.bincount(row_of[pinned], weights=matrix.data[pinned], minlength=len(upper))
    divisor = np.zeros(len(upper), dtype=np.int64)
    free = ~pinned & whole
    np.gcd.at(divisor, row_of[free], np.abs(weights[free]))
    fractional = np.zeros(len(upper), dtype=bool)
    fractional[row_of[~whole & ~pinned]] = True  # a row with non-integer weights keeps its limit
    tighten = np.isfinite(upper) & (divisor > 1) & ~fractional
    slack = upper[tighten] - fixed_load[tighten]
    tightened = upper.copy()
    g = divisor[tighten]
    tightened[tighten] = fixed_load[tighten] + g * np.floor(slack / g + TOLERANCE)
    return tightened


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
