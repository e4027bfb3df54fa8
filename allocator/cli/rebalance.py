"""`allocator rebalance (SCENARIO | --database-url URL) --out DIR`: the nightly rebalance,
proposed, never applied.

The move budget is the policy's `[moves]` section; the options override it for one run. A book
whose policy sets no budget is rebalanced with at most 5 % of the people in care moved, since an
unlimited rebalance could move anyone for the slightest gain.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from allocator.cli.reading import REJECTED, read_scenario
from allocator.io.rebalance_files import summary_text, write_rebalance
from allocator.kpis import compute_kpis
from allocator.rebalance import move_budget, rebalance
from allocator.scenario import Scenario
from allocator.solve import SolveParams
from api.rebalance_job import live_book
from store.database import safe_url
from store.errors import NotFound
from store.migrate import migrated


def register(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "rebalance",
        help="re-optimise the whole book within a move budget and propose the moves",
        description="Place the waiting list and hand-backs, bring bridging placements home and "
        "propose other moves only where the policy's goals gain by them, within a move budget. "
        "Writes moves.csv, rebalance.json, summary.md and the plan's result files.",
    )
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("scenario", type=Path, nargs="?", help="scenario folder or .json file")
    source.add_argument(
        "--database-url",
        help="rebalance the service's live book in this database instead (e.g. "
        "sqlite:///allocator.db, or $ALLOCATOR_DATABASE_URL's value)",
    )
    run.add_argument("--out", type=Path, required=True, help="folder for the proposals")
    run.add_argument("--max-moves", type=int, help="most people moved (default: the policy's)")
    run.add_argument("--max-share", type=float, help="most share of people in care moved, 0-1")
    run.add_argument("--move-cost", type=float, help="GBP a week a move for cost must save")
    run.add_argument(
        "--bridging-home",
        action=argparse.BooleanOptionalAction,
        help="bring stop-gap placements home (default: the policy's bridging_home, else yes)",
    )
    run.add_argument("--time-limit", type=float, default=60.0, metavar="S", help="default 60")
    run.add_argument("--seed", type=int, default=0, help="solver random seed (default 0)")
    run.set_defaults(run=_rebalance)


def _rebalance(args: argparse.Namespace) -> int:
    console = Console()
    book = _live_book(args.database_url) if args.database_url else _folder(args.scenario)
    if book is None:
        return REJECTED
    scenario, pin = book
    budget = move_budget(
        scenario.policy.moves, args.max_moves, args.max_share, args.move_cost, args.bridging_home
    )
    with console.status("rebalancing ..."):
        result = rebalance(scenario, budget, SolveParams(args.time_limit, args.seed), pin)
    kpis = compute_kpis(scenario, result.allocation)
    written = write_rebalance(args.out, result, kpis)
    console.print(summary_text(result).split("\n\n", 1)[0].replace("# ", ""), highlight=False)
    console.print(f"Wrote {len(written)} files to {args.out}")
    return 0


def _folder(path: Path) -> tuple[Scenario, list[str]] | None:
    scenario = read_scenario(path)
    return None if scenario is None else (scenario, [])


def _live_book(url: str) -> tuple[Scenario, list[str]] | None:
    """The service's book as its rebalance job sees it (open offers keep their room; care
    started in the last fortnight is pinned), or None after saying why there is none."""
    try:
        with migrated(url) as sessions:
            _, scenario, pin = live_book(sessions)
        return scenario, pin
    except NotFound as missing:
        Console(stderr=True).print(f"{safe_url(url)}: {missing}", markup=False, highlight=False)
        return None
