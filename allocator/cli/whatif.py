"""`allocator whatif STUDY --base BOOK --out DIR`: solve every scenario of a what-if study side by
side and write the comparison (tables, charts and an HTML page).

Every mistake in the study is reported (exit 2) before any solve starts. Scenarios run in a local
process pool by default; `--dask ADDRESS` sends them to a running Dask cluster and `--dask local`
starts one on this machine, with no other change.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from allocator.cli.reading import REJECTED, read_scenario
from allocator.cli.solving_many import progress_bar, report_solved
from allocator.errors import ScenarioError
from allocator.io.whatif_files import load_study
from allocator.io.whatif_report import sweep_points, write_whatif_report
from allocator.solve import SolveParams
from allocator.whatif import MAX_SCENARIOS, expand
from allocator.whatif.compare import compare
from allocator.whatif.sweep import run_study


def register(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "whatif",
        help="solve a what-if study's scenarios side by side and compare them",
        description="Solve the base book and every scenario of the study (sweeps expanded), "
        "then write comparison.csv, by_zone_band.csv, affected.csv, comparison.json, "
        "unmet_hours.png, sweeps.png and report.html.",
    )
    run.add_argument("study", type=Path, help="what-if study (.toml)")
    run.add_argument("--base", type=Path, required=True, help="the base scenario folder or .json")
    run.add_argument("--out", type=Path, required=True, help="folder for the comparison")
    run.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    run.add_argument(
        "--dask", metavar="ADDRESS", help="a Dask scheduler's address, or 'local' to start one"
    )
    run.add_argument("--time-limit", type=float, default=10.0, metavar="S", help="per scenario")
    run.add_argument("--max-scenarios", type=int, default=MAX_SCENARIOS, help="after sweeps")
    run.add_argument("--seed", type=int, default=0, help="solver random seed (default 0)")
    run.set_defaults(run=_whatif)


def _whatif(args: argparse.Namespace) -> int:
    console = Console()
    base = read_scenario(args.base)
    if base is None:
        return REJECTED
    try:
        study = load_study(args.study, base, args.max_scenarios)
    except ScenarioError as rejected:
        Console(stderr=True).print(f"{args.study}: {rejected}", markup=False, highlight=False)
        return REJECTED
    variants = expand(study, args.max_scenarios)
    params = SolveParams(time_limit_s=args.time_limit, seed=args.seed)
    with progress_bar(console, len(variants) + 1) as done:
        outcomes = run_study(base, variants, params, args.workers, args.dask, done)
    comparison = compare(outcomes)
    record = {
        "base": str(args.base),
        "scenarios": str(len(variants)),
        "time limit per scenario (s)": f"{args.time_limit:g}",
        "execution": f"Dask {args.dask}" if args.dask else f"{args.workers} local processes",
    }
    written = write_whatif_report(args.out, study.name, comparison, sweep_points(study), record)
    report_solved(console, comparison.scenarios, len(variants), "scenarios", args.out, written)
    return 0
