"""The shipped examples under their published frameworks: what the optimiser gains on the cascade.

`python -m benchmarks.real_frameworks [--time-limit 60] [--seeds 0] [--out FILE.csv]` (default
out: `benchmarks/results/real_frameworks.csv`)

Rotherham (ranked tier-1 providers per zone, a capped learning-disability lot) and Bury (week-on /
week-off rotations, capped backups) are the two real framework shapes; the small council is the
quick-start example. Each is placed by the optimiser and by the brokers' cascade, and both plans
are reported with the same KPIs (`allocator.kpis`), each checked by the independent validator.
The optimiser's plan depends on its seed (which neighbourhoods its search explores) more than
small changes to the solver do, so `--seeds 0,1,2` solves each example once per seed.
"""

from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from allocator.allocate import allocate
from allocator.io.scenario_files import load_scenario
from allocator.kpis import compute_kpis
from allocator.policy import Goal
from allocator.result import Allocation, Strategy
from allocator.scenario import Scenario
from allocator.solve import SolveParams
from allocator.validate import check_allocation
from benchmarks.machine import REPO_ROOT, CpuWatch, run_record

EXAMPLES = ("rotherham", "bury", "small_council")
EXAMPLES_DIR = REPO_ROOT / "data" / "examples"
DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results" / "real_frameworks.csv"
WIDE = 220
"""Console width when printing to a file or pipe, where rich would otherwise wrap at 80."""

KPIS = (
    "packages",
    "demand_hours",
    "placed_hours",
    "unmet_hours",
    "urgent_demand_hours",
    "urgent_placed_hours",
    "existing_placements",
    "kept_with_current_provider",
    "mean_travel_km",
    "cost_gbp_per_week",
)
"""The KPIs reported, by their `allocator.kpis` names (hours are carer hours a week)."""


GAP_LEVELS = {"urgent": Goal.URGENT_HOURS, "hours": Goal.HOURS_PLACED, "cost": Goal.COST}


def measure(
    example: str, scenario: Scenario, strategy: Strategy, time_limit_s: float, seed: int = 0
) -> dict:
    """One strategy on one example: its KPIs, levels' gaps, validity and CPU contention."""
    watch = CpuWatch(resource.RUSAGE_SELF)
    allocation = allocate(scenario, strategy, SolveParams(time_limit_s=time_limit_s, seed=seed))
    summary = compute_kpis(scenario, allocation).summary
    return {
        "example": example,
        "strategy": strategy.value,
        "seed": seed if strategy is Strategy.OPTIMISE else None,
        "providers": len(scenario.providers),
        **{name: summary[name] for name in KPIS},
        "solve_s": round(allocation.seconds, 2),
        **_level_gaps(allocation),
        "levels_gap_pct": "; ".join(
            f"{level.goal.value} {100 * level.gap:.3g}" for level in allocation.levels
        ),
        "reproducible": allocation.reproducible,
        "violations": len(check_allocation(scenario, allocation.assignment)),
        "other_cores": watch.others_cores(),
    }


def _level_gaps(allocation: Allocation) -> dict[str, float | None]:
    """The gaps, in %, of the levels that decide unmet need and cost (None for the cascade,
    which has no levels). The rest are in `levels_gap_pct`: fairness has no LP bound, so its
    gap is that of CP-SAT's own bound, usually 100 %."""
    gaps = {level.goal: round(100 * level.gap, 3) for level in allocation.levels}
    return {f"{name}_level_gap_pct": gaps.get(goal) for name, goal in GAP_LEVELS.items()}


COLUMNS = (
    ("example", "example", "{}"),
    ("strategy", "strategy", "{}"),
    ("seed", "seed", "{}"),
    ("packages", "packages", "{:,.0f}"),
    ("demand_hours", "carer h", "{:,.0f}"),
    ("providers", "providers", "{}"),
    ("placed_hours", "placed h", "{:,.1f}"),
    ("unmet_hours", "unmet h", "{:,.1f}"),
    ("urgent_placed_hours", "urgent placed h", "{:,.1f}"),
    ("urgent_demand_hours", "urgent h", "{:,.1f}"),
    ("kept_with_current_provider", "kept with current", "{:,.0f}"),
    ("existing_placements", "in care", "{:,.0f}"),
    ("mean_travel_km", "mean km", "{:.2f}"),
    ("cost_gbp_per_week", "cost £/wk", "{:,.0f}"),
    ("solve_s", "solve s", "{:.1f}"),
    ("urgent_level_gap_pct", "urgent level gap %", "{:.2f}"),
    ("hours_level_gap_pct", "hours level gap %", "{:.2f}"),
    ("cost_level_gap_pct", "cost level gap %", "{:.2f}"),
    ("reproducible", "reproducible", "{}"),
    ("violations", "violations", "{}"),
    ("other_cores", "others' cores", "{:.2f}"),
)
"""(field, heading, format) of the printed table; the CSV has every field."""


def print_table(rows: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="Real-framework examples: optimise against cascade", title_justify="left")
    for _, heading, _ in COLUMNS:
        table.add_column(heading, justify="left" if heading in ("example", "strategy") else "right")
    for row in rows:
        table.add_row(
            *("" if row[name] is None else form.format(row[name]) for name, _, form in COLUMNS)
        )
    console.print(table)
    for row in rows:
        if row["levels_gap_pct"]:
            console.print(f"{row['example']} levels' gaps, %: {row['levels_gap_pct']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument(
        "--seeds", type=_seeds, default=[0], help="optimiser seeds, comma-separated (default 0)"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="CSV (default %(default)s)")
    args = parser.parse_args(argv)
    record = run_record("benchmarks.real_frameworks", sys.argv[1:] if argv is None else argv)
    console = Console() if sys.stdout.isatty() else Console(width=WIDE)
    console.print(f"{record['machine']}; OR-Tools {record['ortools']}; {record['date']}")
    rows = []
    for example in EXAMPLES:
        scenario = load_scenario(EXAMPLES_DIR / example)
        for seed in args.seeds:
            console.print(f"{example}: optimise, seed {seed} ...")
            rows.append(measure(example, scenario, Strategy.OPTIMISE, args.time_limit, seed))
        console.print(f"{example}: cascade ...")
        rows.append(measure(example, scenario, Strategy.CASCADE, args.time_limit))
    print_table(rows, console)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([row | record for row in rows]).to_csv(args.out, index=False)
    console.print(f"Wrote {args.out}")
    return 0


def _seeds(text: str) -> list[int]:
    """`--seeds`: comma-separated integers."""
    return [int(part) for part in text.split(",")]


if __name__ == "__main__":
    raise SystemExit(main())
