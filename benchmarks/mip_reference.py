"""A MIP solver on one of the optimiser's levels: how far its plan is from what more search finds.

`python -m benchmarks.mip_reference [--example rotherham] [--goal hours_placed] [--time-limit 60]
[--mip-limit 300] [--out FILE.csv]` (default out: `benchmarks/results/mip_reference.csv`, one
row per example and level: a run replaces its own row and keeps the others)

The optimiser solves the example at `--time-limit`. As the chosen level (any goal but fairness,
which is not a sum over pairs) starts, that level is also written out as an integer programme
over every eligible pair, with the levels before it held at the values the optimiser reached;
once the solve is done, HiGHS (the MIP solver OR-Tools bundles, run through `ortools.math_opt`)
has `--mip-limit` seconds for it. Its best plan shows how much better the level could be, and
its bound, tightened by its cuts, how much of the optimiser's gap is slack in the LP bound
rather than in the plan: a target of "within 0.1 % of the bound" is out of anyone's reach when
the optimum itself lies further from the bound.

HiGHS starts from the optimiser's final plan, so it never reports worse than the optimiser. The
programme, like the relaxation it comes from, leaves out rotation rules and fairness: on a book
with rotations (Bury) HiGHS's plan may break one, and its value is then a bound, not a plan.
HiGHS stops on the clock, so its figures depend on the machine; they are a reference, not a
competitor (the optimiser must answer in a minute, reproducibly).
"""

from __future__ import annotations

import argparse
import functools
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from ortools.math_opt.io.python import mps_converter
from ortools.math_opt.python import mathopt
from rich.console import Console

from allocator.cascade import cascade_allocation
from allocator.framework_rules import FrameworkRules
from allocator.goals import MAXIMISED, SEPARABLE, PairTable
from allocator.io.scenario_files import load_scenario
from allocator.lp_bound import LpOutcome
from allocator.policy import Goal
from allocator.solve import LexicographicModel, SolveParams
from benchmarks.machine import REPO_ROOT, CpuWatch, run_record

EXAMPLES_DIR = REPO_ROOT / "data" / "examples"
DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results" / "mip_reference.csv"


def measure(example: str, goal: Goal, time_limit_s: float, mip_limit_s: float) -> dict:
    """The optimiser's value and bound at `goal`'s level, and HiGHS's on the same level."""
    scenario = load_scenario(EXAMPLES_DIR / example)
    if goal not in scenario.policy.goals or goal not in SEPARABLE:
        raise SystemExit(f"{example}'s policy has no {goal.value} level summed over pairs")
    maximise = goal in MAXIMISED
    pairs = PairTable.of_scenario(scenario)
    rules = FrameworkRules.of(pairs)
    model = LexicographicModel(pairs, rules)
    level: dict = {}

    def capture(index: int, _levels: int, starting: Goal) -> None:
        if starting is goal:
            level["index"] = index
            level["programme"] = model.relaxation.integer_programme(goal)

    start = cascade_allocation(pairs, rules)
    params = SolveParams(time_limit_s=time_limit_s)
    plan, outcomes = model.solve(scenario.policy.goals, params, start, capture)
    ours = outcomes[level["index"]]
    held = {o.goal.value: o.value for o in outcomes[: level["index"]]}
    watch = CpuWatch()
    mip = _highs(level["programme"], plan, mip_limit_s, maximise)
    mip_value, mip_bound = mip["mip_value"], mip["mip_bound"]
    ahead = functools.partial(_ahead, maximise=maximise)
    return {
        "example": example,
        "level": goal.value,
        "held": "; ".join(f"{name} {value}" for name, value in held.items()),
        "ours": ours.value,
        "ours_bound": ours.bound,
        "ours_gap_pct": round(100 * ours.gap, 3),
        **mip,
        "ours_below_mip_pct": _pct(ahead(mip_value, ours.value), mip_value),
        "mip_gap_pct": _pct(ahead(mip_bound, mip_value), mip_value),
        "lp_over_mip_bound_pct": _pct(ahead(ours.bound, mip_bound), mip_bound),
        "time_limit_s": time_limit_s,
        "mip_limit_s": mip_limit_s,
        "other_cores": watch.others_cores(),
    }


def _highs(programme: str, plan: np.ndarray, limit_s: float, maximise: bool) -> dict:
    """HiGHS's best value and bound on the MPS `programme` (a variable per pair) within
    `limit_s`, offered the optimiser's final `plan` (which keeps the level at least
    where the optimiser left it, and every level before) as a first solution."""
    model = mathopt.Model.from_model_proto(mps_converter.mps_to_model_proto(programme))
    hint = mathopt.SolutionHint(dict(zip(model.variables(), plan.astype(float), strict=True)))
    result = mathopt.solve(
        model,
        mathopt.SolverType.HIGHS,
        params=mathopt.SolveParameters(time_limit=timedelta(seconds=limit_s)),
        model_params=mathopt.ModelSolveParameters(solution_hints=[hint]),
    )
    bounds = result.termination.objective_bounds  # a double: rounded down as the LP's is
    value = result.objective_value() if result.has_primal_feasible_solution() else None
    return {
        "mip_value": None if value is None else round(value),
        "mip_bound": LpOutcome(bounds.dual_bound, 0.0).integer_bound(maximise),
        "mip_termination": result.termination.reason.name.lower(),
        "mip_s": round(result.solve_time().total_seconds(), 1),
    }


def _ahead(better: int | None, worse: int | None, maximise: bool) -> int | None:
    """How far `better` is ahead of `worse` in the level's sense (None if either is)."""
    if better is None or worse is None:
        return None
    return better - worse if maximise else worse - better


def _pct(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return round(100 * part / whole, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="rotherham", help="under data/examples")
    parser.add_argument(
        "--goal", default=Goal.HOURS_PLACED.value, help="the level (any goal but fairness)"
    )
    parser.add_argument("--time-limit", type=float, default=60.0, help="ours (default 60 s)")
    parser.add_argument("--mip-limit", type=float, default=300.0, help="HiGHS (default 300 s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="CSV (default %(default)s)")
    args = parser.parse_args(argv)
    record = run_record("benchmarks.mip_reference", sys.argv[1:] if argv is None else argv)
    console = Console()
    console.print(f"{record['machine']}; OR-Tools {record['ortools']}; {record['date']}")
    row = measure(args.example, Goal(args.goal), args.time_limit, args.mip_limit)
    for name, value in row.items():
        console.print(f"{name:>22}: {value}")
    write_row(row | record, args.out)
    console.print(f"Wrote {args.out}")
    return 0


def write_row(row: dict, out: Path) -> None:
    """Add the row to the CSV, replacing the row of the same example and level, if any (other
    levels' rows stay, so the table can be filled one level at a time)."""
    table = pd.DataFrame([row])
    if out.exists():
        old = pd.read_csv(out)
        same = (old["example"] == row["example"]) & (old["level"] == row["level"])
        table = pd.concat([old[~same], table], ignore_index=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)


if __name__ == "__main__":
    raise SystemExit(main())
