"""`allocator allocate SCENARIO --out DIR [--strategy ...] [--compare]`: place and report."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from allocator.allocate import allocate
from allocator.cli.reading import REJECTED, read_scenario
from allocator.io.result_files import comparison_table, write_results
from allocator.kpis import Kpis, compute_kpis
from allocator.policy import Goal
from allocator.result import Allocation, Strategy
from allocator.scenario import Scenario
from allocator.solve import SolveParams


def register(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser("allocate", help="place a scenario's packages and report")
    run.add_argument("scenario", type=Path, help="scenario folder or .json file")
    run.add_argument("--out", type=Path, required=True, help="folder for the result files")
    run.add_argument(
        "--strategy", choices=[s.value for s in Strategy], default=Strategy.OPTIMISE.value
    )
    run.add_argument("--compare", action="store_true", help="also run the cascade and compare")
    run.add_argument(
        "--time-limit", type=float, default=30.0, metavar="S", help="solver seconds (default 30)"
    )
    run.add_argument("--seed", type=int, default=0, help="solver random seed (default 0)")
    run.set_defaults(run=_allocate)


def _allocate(args: argparse.Namespace) -> int:
    console = Console()
    scenario = read_scenario(args.scenario)
    if scenario is None:
        return REJECTED
    strategy = Strategy(args.strategy)
    params = SolveParams(time_limit_s=args.time_limit, seed=args.seed)
    allocation = _run(console, scenario, strategy, params)
    kpis = compute_kpis(scenario, allocation)
    baseline = None
    other = Strategy.CASCADE if strategy is Strategy.OPTIMISE else Strategy.OPTIMISE
    if args.compare:
        base = _run(console, scenario, other, params)
        baseline = (base, compute_kpis(scenario, base))
    written = write_results(args.out, allocation, kpis, baseline)
    _print_summary(console, scenario, allocation, kpis, baseline)
    console.print(f"Wrote {len(written)} files to {args.out}")
    return 0


def _run(
    console: Console, scenario: Scenario, strategy: Strategy, params: SolveParams
) -> Allocation:
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"{strategy.value}: preparing", total=None)

        def report(level: int, levels: int, goal: Goal) -> None:
            progress.update(
                task, description=f"{strategy.value}: goal {level + 1}/{levels} ({goal.value})"
            )

        return allocate(scenario, strategy, params, report)


def _print_summary(
    console: Console,
    scenario: Scenario,
    allocation: Allocation,
    kpis: Kpis,
    baseline: tuple[Allocation, Kpis] | None,
) -> None:
    s = kpis.summary
    console.print(
        f"[bold]{allocation.strategy.value}[/] under {allocation.policy}: "
        f"placed {s['packages_placed']:.0f} of {s['packages']:.0f} packages, "
        f"{s['placed_hours']:,.1f} of {s['demand_hours']:,.1f} carer hours a week "
        f"({s['unmet_hours']:,.1f} unmet); solved in {allocation.seconds:.1f} s",
        highlight=False,
    )
    console.print(_zone_band_table(kpis))
    if allocation.levels:
        console.print(_levels_table(allocation))
    if baseline is not None:
        console.print(_comparison(kpis, allocation, baseline))


def _zone_band_table(kpis: Kpis) -> Table:
    frame = kpis.by_zone_band
    bands = list(dict.fromkeys(frame["band"]))
    table = Table(title="Unmet / demand carer hours a week, by zone and band")
    table.add_column("zone")
    for band in bands:
        table.add_column(band, justify="right")
    table.add_column("all", justify="right")
    for zone, rows in frame.groupby("zone", sort=True):
        cells = []
        for band in bands:
            row = rows[rows["band"] == band]
            cells.append(
                f"{row['unmet_hours'].sum():,.1f} / {row['demand_hours'].sum():,.1f}"
                if len(row)
                else "-"
            )
        cells.append(f"{rows['unmet_hours'].sum():,.1f} / {rows['demand_hours'].sum():,.1f}")
        table.add_row(str(zone), *cells)
    return table


def _levels_table(allocation: Allocation) -> Table:
    table = Table(title="Goal levels, in the policy's priority order")
    for column in ("goal", "value", "bound", "gap", "proved", "seconds"):
        table.add_column(column, justify="left" if column == "goal" else "right")
    for level in allocation.levels:
        table.add_row(
            level.goal.value,
            f"{level.value:,}",
            f"{level.bound:,}",
            f"{level.gap:.2%}",
            "yes" if level.optimal else "no",
            f"{level.seconds:.2f}",
        )
    return table


_COMPARED = {
    "placed_hours": "placed carer hours / week",
    "unmet_hours": "unmet carer hours / week",
    "urgent_placed_hours": "urgent hours placed",
    "packages_placed": "packages placed",
    "kept_with_current_provider": "kept with current provider",
    "placed_at_first_cascade_step": "placed at first cascade step",
    "preferences_met": "preferences met",
    "cost_gbp_per_week": "cost, GBP / week",
    "mean_travel_km": "mean travel, km",
}


def _comparison(kpis: Kpis, allocation: Allocation, baseline: tuple[Allocation, Kpis]) -> Table:
    base_allocation, base_kpis = baseline
    ours, theirs = allocation.strategy.value, base_allocation.strategy.value
    frame = comparison_table({ours: kpis, theirs: base_kpis})
    table = Table(title=f"{ours} against {theirs}")
    for column in ("measure", theirs, ours, "change"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for key, label in _COMPARED.items():
        a, b = float(frame.loc[key, theirs]), float(frame.loc[key, ours])
        table.add_row(label, f"{a:,.2f}", f"{b:,.2f}", f"{b - a:+,.2f}")
    return table
