"""`allocator describe SCENARIO [--out DIR]`: where the market is short, before any allocation."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table
from rich.text import Text

from allocator.cli.reading import REJECTED, read_scenario
from allocator.io.market_plots import CHART_FILE, MAP_FILE, TABLE_FILE, write_market_files
from allocator.market import ALL, Market, describe_market
from allocator.scenario import Scenario

DEFAULT_OUT = Path("out")


def register(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "describe",
        help="show demand against capacity by zone and time band, with a map and a chart",
        description=(
            "Print carer hours a week needed and offered by zone and time band, and write "
            f"{TABLE_FILE}, {MAP_FILE} and {CHART_FILE}. Capacity of a provider serving several "
            "zones is shared across them in proportion to each band's demand there; capacity of "
            "providers closed to new packages (embargoed, or below the CQC floor) is shown apart."
        ),
    )
    run.add_argument("scenario", type=Path, help="scenario folder or .json file")
    run.add_argument(
        "--out",
        type=Path,
        help=(
            "folder for the files, replaced whole (default: out/NAME_describe in the current "
            "folder, NAME being the scenario's folder or file name)"
        ),
    )
    run.set_defaults(run=_describe)


def scenario_name(path: Path) -> str:
    """The name a scenario goes by in titles: its folder's name, or its file's without `.json`."""
    path = Path(path).resolve()
    return path.stem if path.suffix.lower() == ".json" else path.name


def _describe(args: argparse.Namespace) -> int:
    scenario = read_scenario(args.scenario)
    if scenario is None:
        return REJECTED
    name = scenario_name(args.scenario)
    out = args.out if args.out is not None else DEFAULT_OUT / f"{name}_describe"
    market = describe_market(scenario)
    written = write_market_files(out, scenario, market, name)
    console = Console()
    console.print(_headline(scenario, market, name))
    console.print(_market_table(market))
    console.print(f"Wrote {len(written)} files to {out}", markup=False, highlight=False)
    return 0


def _headline(scenario: Scenario, market: Market, name: str) -> Text:
    c = market.counts
    return Text.assemble(
        (name, "bold"),
        f" under {scenario.policy.label}: {c['packages']} packages ({c['urgent_packages']} "
        f"urgent, {c['double_up_packages']} double-up, {c['four_call_packages']} with four or "
        f"more calls a day, {c['existing_placements']} existing placements, "
        f"{c['pinned_packages']} pinned); {c['providers']} providers "
        f"({c['closed_providers']} closed to new packages)",
    )


def _market_table(market: Market) -> Table:
    frame = market.table()
    overall = frame[frame["zone"] == ALL].set_index("band")
    measured = overall[["demand_hours", "capacity_hours", "closed_capacity_hours"]].sum(axis=1)
    bands = [b for b in overall.index if b != ALL and measured[b] > 0] + [ALL]
    lines = [("needed", "demand_hours"), ("offered", "capacity_hours")]
    if overall.loc[ALL, "closed_capacity_hours"] > 0:
        lines.append(("closed", "closed_capacity_hours"))
    table = Table(
        title="Carer hours a week needed and offered, by zone and time band",
        caption=(
            "offered: open to new packages (a provider serving several zones is shared across "
            "them by each band's demand); closed: embargoed or below the CQC floor; "
            "balance: offered - needed, red where short"
        ),
    )
    table.add_column("zone", no_wrap=True)
    table.add_column("hours", no_wrap=True)
    for band in bands:
        table.add_column(band, justify="right", no_wrap=True)
    for zone, rows in frame.groupby("zone", sort=False):
        cells = rows.set_index("band")
        name = Text("all zones" if zone == ALL else str(zone), style="bold")
        for i, (label, column) in enumerate(lines):
            table.add_row(
                name if i == 0 else "", label, *(f"{cells.loc[b, column]:,.0f}" for b in bands)
            )
        table.add_row("", "balance", *(_balance(cells.loc[b]) for b in bands))
        table.add_row("", "% of need", *(_ratio(cells.loc[b]) for b in bands), end_section=True)
    return table


def _balance(row: pd.Series) -> Text:
    balance = float(row["balance_hours"])
    return Text(f"{balance:+,.0f}", style="bold red" if balance < 0 else "green")


def _ratio(row: pd.Series) -> Text:
    ratio = row["capacity_ratio"]
    if pd.isna(ratio):
        return Text("-")
    return Text(f"{ratio:.0%}", style="red" if ratio < 1 else "green")
