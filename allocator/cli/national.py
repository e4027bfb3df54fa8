"""`allocator national FOLDER --out DIR`: a national study, one book per council, solved side by
side (locally or on Dask) and tabled: placed and unmet hours by council, and for the country.

FOLDER holds one scenario folder per council, as `allocator generate england --out FOLDER`
writes them. Every council is read (and every input error reported, exit 2) before any solve; a
council whose solve fails is reported with its error while the others complete.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
from rich.console import Console

from allocator.cli.reading import REJECTED
from allocator.cli.solving_many import progress_bar, report_solved
from allocator.errors import InputError, ScenarioError
from allocator.io.folders import write_folder
from allocator.io.market_plots import save_png
from allocator.io.scenario_files import load_scenario
from allocator.io.whatif_report import unmet_chart
from allocator.scenario import Scenario
from allocator.solve import SolveParams
from allocator.whatif.compare import MEASURES
from allocator.whatif.sweep import Outcome, run_books


def register(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "national",
        help="solve every council's book of a national study side by side",
        description="Solve each scenario folder in FOLDER (one per council) and write "
        "councils.csv, councils.json and unmet_hours.png.",
    )
    run.add_argument("folder", type=Path, help="a folder of council scenario folders")
    run.add_argument("--out", type=Path, required=True, help="folder for the results")
    run.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    run.add_argument(
        "--dask", metavar="ADDRESS", help="a Dask scheduler's address, or 'local' to start one"
    )
    run.add_argument("--time-limit", type=float, default=10.0, metavar="S", help="per council")
    run.set_defaults(run=_national)


def read_councils(folder: Path) -> dict[str, Scenario]:
    """Every council's book, by folder name; ScenarioError lists every problem in every one."""
    books, errors = {}, []
    for council in sorted(p for p in Path(folder).iterdir() if p.is_dir()):
        try:
            books[council.name] = load_scenario(council)
        except ScenarioError as rejected:  # each error names its council's folder too
            errors += [replace(e, source=f"{council.name}/{e.source}") for e in rejected.errors]
    if errors or not books:
        raise ScenarioError(errors or [_no_councils(folder)])
    return books


def councils_table(outcomes: list[Outcome]) -> pd.DataFrame:
    """One row per council (status, error, the compared measures), then all councils' total."""
    rows = [
        {
            "scenario": o.name,
            "status": "solved" if o.ok else "failed",
            "error": o.error or "",
            **{m: o.summary.get(m) for m in MEASURES},
            "seconds": round(o.seconds, 2),
        }
        for o in outcomes
    ]
    table = pd.DataFrame(rows)
    solved = table[table["status"] == "solved"]
    total = {"scenario": "all councils", "status": "solved", "error": ""}
    total |= {m: round(float(solved[m].sum()), 2) for m in ("placed_hours", "unmet_hours")}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def _national(args: argparse.Namespace) -> int:
    console = Console()
    try:
        books = read_councils(args.folder)
    except ScenarioError as rejected:
        Console(stderr=True).print(f"{args.folder}: {rejected}", markup=False, highlight=False)
        return REJECTED
    with progress_bar(console, len(books)) as done:
        outcomes = run_books(
            books, SolveParams(time_limit_s=args.time_limit), args.workers, args.dask, done
        )
    table = councils_table(outcomes)

    def fill(folder: Path) -> None:
        table.to_csv(folder / "councils.csv", index=False)
        records = json.loads(table.to_json(orient="records"))
        (folder / "councils.json").write_text(json.dumps(records, indent=2) + "\n", "utf-8")
        chart = unmet_chart(table.iloc[:-1], f"Unmet need in {len(books)} councils", base=False)
        save_png(chart, folder / "unmet_hours.png")

    written = write_folder(args.out, fill)
    report_solved(console, table.iloc[:-1], len(books), "councils", args.out, written)
    return 0


def _no_councils(folder: Path) -> InputError:
    return InputError(str(folder), None, None, "holds no council scenario folders")
