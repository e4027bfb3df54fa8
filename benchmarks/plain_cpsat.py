"""The textbook model, as a baseline: one CP-SAT solve of the whole book for total hours placed.

What anyone would write first: a Boolean per eligible pair, the hard rules as constraints, one
objective, CP-SAT's defaults. No lexicographic levels, no LP relaxation, no neighbourhoods, no
starting plan: the scale curve measures what those buy. The eligible pairs come from the
allocator's own filters, so both models choose among exactly the same options.

Rotation rules are not modelled (the county preset has none); the benchmark checks every plan
with `allocator.validate`, which would report any rotation it broke.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from allocator.book import cap_minutes
from allocator.goals import PairTable
from allocator.model import BANDS
from allocator.scenario import Scenario

WORKERS = 2
"""One subsolver per core of the 2-core reference machine."""

Choices = list[cp_model.IntVar]
"""One Boolean per eligible pair: the pair is placed."""


@dataclass(frozen=True)
class PlainOutcome:
    """The plan (a bool per eligible pair of `pairs`) and how the solve ended."""

    pairs: PairTable
    chosen: np.ndarray
    status: str
    objective_minutes: int
    """Carer minutes a week placed, as CP-SAT reports its best plan (0 when it found none)."""
    bound_minutes: int
    """CP-SAT's own bound on the carer minutes any plan could place."""
    build_s: float
    solve_s: float

    @property
    def assignment(self) -> dict[str, str]:
        """Package id -> provider id, for the independent checker and the KPIs."""
        scenario = self.pairs.scenario
        return {
            scenario.packages[k].id: scenario.providers[p].id
            for k, p in zip(
                self.pairs.package[self.chosen], self.pairs.provider[self.chosen], strict=True
            )
        }


def solve_plain(scenario: Scenario, time_limit_s: float) -> PlainOutcome:
    """Maximise carer minutes placed in one CP-SAT solve of `time_limit_s` on `WORKERS` workers."""
    began = time.monotonic()
    pairs = PairTable.of_scenario(scenario)
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{i}") for i in range(len(pairs))]
    _one_provider_each(model, x, pairs)
    _capacities(model, x, pairs)
    _lot_caps(model, x, pairs)
    model.maximize(cp_model.LinearExpr.weighted_sum(x, pairs.minutes.tolist()))
    build_s = time.monotonic() - began
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = WORKERS
    solver.parameters.max_time_in_seconds = time_limit_s
    status = solver.solve(model)
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    chosen = np.array([solver.boolean_value(v) for v in x] if found else [False] * len(x))
    return PlainOutcome(
        pairs=pairs,
        chosen=chosen.astype(bool),
        status=solver.status_name(status),
        objective_minutes=int(round(solver.objective_value)) if found else 0,
        bound_minutes=int(round(solver.best_objective_bound)),
        build_s=build_s,
        solve_s=time.monotonic() - began - build_s,
    )


def _one_provider_each(model: cp_model.CpModel, x: Choices, pairs: PairTable) -> None:
    """At most one provider per package; a pinned package stays with its current provider (its
    only eligible pair)."""
    for rows in _groups(pairs.package, len(pairs.scenario.packages)):
        if len(rows) > 1:
            model.add_at_most_one(x[i] for i in rows)
    pinned = np.array([k.pinned for k in pairs.scenario.packages], dtype=bool)
    for i in np.flatnonzero(pinned[pairs.package]):
        model.add(x[i] == 1)


def _capacities(model: cp_model.CpModel, x: Choices, pairs: PairTable) -> None:
    """Weekly carer minutes per provider and band within capacity, and within any hour cap."""
    arrays = pairs.arrays
    need = arrays.need[pairs.package]
    for p, rows in enumerate(_groups(pairs.provider, len(pairs.scenario.providers))):
        for b in range(len(BANDS)):
            _at_most(model, x, rows, need[rows, b], int(arrays.capacity[p, b]))
        if arrays.max_minutes[p] >= 0:
            _at_most(model, x, rows, pairs.minutes[rows], int(arrays.max_minutes[p]))


def _lot_caps(model: cp_model.CpModel, x: Choices, pairs: PairTable) -> None:
    """The carer minutes placed with a capped lot's providers together within its cap."""
    index = {p.id: i for i, p in enumerate(pairs.scenario.providers)}
    for lot in pairs.scenario.policy.lots:
        if lot.max_weekly_hours is not None:
            members = [index[p] for p in lot.providers]
            rows = np.flatnonzero(np.isin(pairs.provider, members))
            _at_most(model, x, rows, pairs.minutes[rows], cap_minutes(lot.max_weekly_hours))


def _at_most(
    model: cp_model.CpModel, x: Choices, rows: np.ndarray, weights: np.ndarray, limit: int
) -> None:
    """sum(weights * x[rows]) <= limit, left out when it could never bind."""
    used = weights > 0
    if int(weights[used].sum()) > limit:
        terms = [x[i] for i in rows[used]]
        model.add(cp_model.LinearExpr.weighted_sum(terms, weights[used].tolist()) <= limit)


def _groups(owner: np.ndarray, count: int) -> list[np.ndarray]:
    """Pair rows grouped by owner index (package or provider), one array per owner."""
    order = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[order], np.arange(count + 1))
    return [order[bounds[i] : bounds[i + 1]] for i in range(count)]
