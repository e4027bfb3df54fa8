"""One benchmark run in its own process: load a scenario, solve it one way, print one JSON line.

`python -m benchmarks.run_one SCENARIO --solver ours|cascade|plain|lp_bound --time-limit S
[--audit-limit S]`

A process per run is what makes the peak memory (the process's own maximum resident set) belong
to that run alone, and lets the caller survive a run that runs out of memory or time. Every plan
is checked against the hard rules by the independent validator before its figures are reported.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from allocator.allocate import allocate
from allocator.framework_rules import FrameworkRules
from allocator.goals import SEPARABLE, PairTable
from allocator.io.scenario_files import load_scenario
from allocator.lp_bound import LpRelaxation
from allocator.policy import Goal
from allocator.result import Allocation, Strategy
from allocator.scenario import Scenario
from allocator.solve import SolveParams
from allocator.validate import check_allocation
from benchmarks.plain_cpsat import solve_plain


@dataclass(frozen=True)
class Plan:
    """What a solver returned, before it is measured: the plan and how the solve went."""

    assignment: dict[str, str]
    wall_s: float
    """From the arrays and filters through the model's build to the last solve (and, for the
    allocator's strategies, the explanations they always write)."""
    status: str
    """optimal or feasible (every level proved, or not; CP-SAT's word for the plain model), or
    greedy (the cascade)."""
    reproducible: bool
    """The same inputs give the same plan on any machine (no stop on the wall clock)."""
    pairs: int | None = None
    levels: list[dict[str, Any]] = field(default_factory=list)


def ours(scenario: Scenario, time_limit_s: float) -> Plan:
    """The allocator's optimiser, as `allocator allocate` runs it."""
    allocation = allocate(scenario, Strategy.OPTIMISE, SolveParams(time_limit_s=time_limit_s))
    proved = all(level.optimal for level in allocation.levels)
    return _allocation_plan(allocation, "optimal" if proved else "feasible")


def cascade(scenario: Scenario, time_limit_s: float) -> Plan:
    """The brokers' cascade: greedy, needs no time limit."""
    return _allocation_plan(allocate(scenario, Strategy.CASCADE), "greedy")


def plain(scenario: Scenario, time_limit_s: float) -> Plan:
    """One CP-SAT model for hours placed, stopped by the clock (so not reproducible unless it
    proves optimality)."""
    outcome = solve_plain(scenario, time_limit_s)
    return Plan(
        assignment=outcome.assignment,
        wall_s=outcome.build_s + outcome.solve_s,
        status=outcome.status.lower(),
        reproducible=outcome.status == "OPTIMAL",
        pairs=len(outcome.pairs),
    )


SOLVERS: dict[str, Callable[[Scenario, float], Plan]] = {
    "ours": ours,
    "cascade": cascade,
    "plain": plain,
}


def lp_bound(scenario: Scenario, time_limit_s: float) -> dict[str, Any]:
    """The hours-placed LP relaxation with no level held: no plan, by any solver, can place more
    carer minutes than this. Also counts the eligible pairs every solver chooses among."""
    began = time.monotonic()
    pairs, relaxation = _relaxation(scenario)
    if relaxation.sifted:  # the tightest bound in the time, not a plan: sifting takes minutes
        relaxed = relaxation.first_order_bound(Goal.HOURS_PLACED, time_limit_s)
    else:
        relaxed = relaxation.solve(Goal.HOURS_PLACED, time_limit_s)
    return {
        "pairs": len(pairs),
        "lp_bound_minutes": relaxed.integer_bound(maximise=True),
        "lp_s": round(time.monotonic() - began, 3),
    }


def cost_audit(
    scenario: Scenario, assignment: Mapping[str, str], time_limit_s: float
) -> dict[str, Any]:
    """The cost level's LP relaxation, with every level before it held at what the plan
    achieves: no plan as good on those goals can cost less. (Fairness and the move budget
    are left out, as in the solve's own relaxations: that only loosens the bound.) On a
    county-sized book the solve's 60 s leave its cost level no time for this LP (at 20,000
    packages it takes minutes), so the benchmark computes it afterwards, to measure the
    plan against."""
    began = time.monotonic()
    pairs, relaxation = _relaxation(scenario)
    chosen = _chosen_pairs(pairs, scenario, assignment)
    for goal in scenario.policy.goals[: scenario.policy.goals.index(Goal.COST)]:
        if goal in SEPARABLE:
            relaxation.hold(goal, int(pairs.coefficients(goal)[chosen].sum()))
    relaxed = relaxation.solve(Goal.COST, time_limit_s, chosen, nudge=False)
    return {
        "cost_audit_value_pence": int(pairs.coefficients(Goal.COST)[chosen].sum()),
        "cost_audit_bound_pence": relaxed.integer_bound(maximise=False),
        "cost_audit_s": round(time.monotonic() - began, 3),
        "cost_audit_timed_out": relaxed.timed_out,
    }


def _relaxation(scenario: Scenario) -> tuple[PairTable, LpRelaxation]:
    """The scenario's eligible pairs and their LP relaxation, nothing held."""
    pairs = PairTable.of_scenario(scenario)
    return pairs, LpRelaxation(pairs, FrameworkRules.of(pairs))


def _chosen_pairs(
    pairs: PairTable, scenario: Scenario, assignment: Mapping[str, str]
) -> np.ndarray:
    """The plan as one flag per eligible pair."""
    provider_index = {p.id: i for i, p in enumerate(scenario.providers)}
    placed = np.full(len(scenario.packages), -1)
    for i, package in enumerate(scenario.packages):
        if package.id in assignment:
            placed[i] = provider_index[assignment[package.id]]
    return placed[pairs.package] == pairs.provider


def measure(
    folder: Path, solver: str, time_limit_s: float, audit_limit_s: float = 0.0
) -> dict[str, Any]:
    """The run's figures as one flat record (see `SOLVERS`, and `lp_bound`); with
    `audit_limit_s`, also our plan's `cost_audit`, after the peak memory is taken."""
    began = time.monotonic()
    scenario = load_scenario(folder)
    record: dict[str, Any] = {
        "solver": solver,
        "packages": len(scenario.packages),
        "providers": len(scenario.providers),
        "existing_packages": sum(k.current_provider is not None for k in scenario.packages),
        "load_s": round(time.monotonic() - began, 3),
    }
    if solver == "lp_bound":
        record |= lp_bound(scenario, time_limit_s)
    else:
        plan = SOLVERS[solver](scenario, time_limit_s)
        record |= _figures(scenario, plan)
    record["peak_rss_mb"] = round(peak_rss_mb(), 1)
    if solver == "ours" and audit_limit_s > 0 and Goal.COST in scenario.policy.goals:
        record |= cost_audit(scenario, plan.assignment, audit_limit_s)
    return record


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _figures(scenario: Scenario, plan: Plan) -> dict[str, Any]:
    """What the plan places (minutes, urgent minutes, people already in care), how many people
    it keeps with their current provider, what it costs a week at the providers' zone rates,
    and how many hard rules it breaks, counted the same way for every solver."""
    urgent = set(scenario.policy.urgent)
    placed = [scenario.package_by_id[k] for k in plan.assignment]
    record = asdict(plan)
    del record["assignment"]
    record["wall_s"] = round(plan.wall_s, 3)
    return record | {
        "placed_minutes": sum(k.carer_minutes_per_week for k in placed),
        "urgent_placed_minutes": sum(
            k.carer_minutes_per_week for k in placed if k.urgency in urgent
        ),
        "existing_placed": sum(k.current_provider is not None for k in placed),
        "kept_with_current": sum(
            scenario.package_by_id[k].current_provider == p for k, p in plan.assignment.items()
        ),
        "cost_pence": sum(
            round(
                100
                * k.carer_minutes_per_week
                * scenario.provider_by_id[p].rate_in(k.zone or "")
                / 60
            )
            for k, p in ((scenario.package_by_id[k], p) for k, p in plan.assignment.items())
        ),
        "violations": len(check_allocation(scenario, plan.assignment)),
    }


def _allocation_plan(allocation: Allocation, status: str) -> Plan:
    levels = [
        {
            "goal": level.goal.value,
            "value": level.value,
            "bound": level.bound,
            "gap": level.gap,
            "optimal": level.optimal,
            "seconds": round(level.seconds, 3),
        }
        for level in allocation.levels
    ]
    return Plan(
        assignment=allocation.assignment,
        wall_s=allocation.seconds,
        status=status,
        reproducible=allocation.reproducible,
        levels=levels,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--solver", choices=[*SOLVERS, "lp_bound"], required=True)
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument(
        "--audit-limit",
        type=float,
        default=0.0,
        help="seconds for our plan's cost audit, after the solve (default 0: none)",
    )
    args = parser.parse_args(argv)
    record = measure(args.scenario, args.solver, args.time_limit, args.audit_limit)
    print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
