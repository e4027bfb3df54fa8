"""A rebalance of the live book, as it runs in a job's own process (`api.job_process`): proposals
only, nothing applied.

Every package an open offer holds (a waiting one offered, a placed one offered a move) stays out
and keeps the room it holds; everyone else, placed as now or waiting, is re-optimised within the
move budget: the policy's `[moves]` with the request's choices in its place, as `allocator
rebalance` does. Care that started in the last fortnight is pinned for the run: a second new
carer team so soon is the disruption the budget exists to prevent. The result is what the command
writes as `rebalance.json`; a broker offers a move with `POST /moves`, citing the job.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field
from sqlalchemy.orm import Session, sessionmaker

from allocator.brokerage import HeldBook
from allocator.io.rebalance_files import rebalance_document
from allocator.kpis import compute_kpis
from allocator.policy import MoveBudget
from allocator.rebalance import Move, move_budget, rebalance
from allocator.scenario import Scenario
from allocator.solve import SolveParams
from api.book_cache import BookCache, BookView
from api.job_process import JobParams, finish, report
from api.schema import Answer
from store.database import write_transaction
from store.jobs import Job
from store.move_proposals import REBALANCE
from store.recent_starts import started_since
from store.tables import utc_now

KIND = REBALANCE
RECENT_START = timedelta(days=14)
"""Care started this recently is not moved."""
READING, SOLVING = 0.02, 0.05


class RebalanceJobParams(JobParams):
    max_moves: int | None = Field(default=None, ge=0)
    max_share: float | None = Field(default=None, ge=0, le=1)
    move_cost_gbp: float | None = Field(default=None, ge=0)
    bridging_home: bool | None = None


class RebalanceResult(Answer):
    job_id: str
    book_version: int
    """The version of the book the rebalance started from."""
    budget: MoveBudget
    """The move budget it kept to."""
    summary: dict[str, float | int | bool]
    """Moves proposed, hours newly placed, waiting list before and after, travel saved, people
    affected, and whether the solve is reproducible."""
    moves: list[Move]
    """Each with what it frees and what it gains; offer one with `POST /moves`."""
    newly_placed: list[str]
    """Waiting packages the plan places."""
    pinned_for_run: list[str]
    """Placed packages whose care started in the last fortnight: not moved this time."""
    plan: dict[str, Any]
    """The whole plan, as `allocation.json` holds it: placements, unplaced, levels and KPIs."""


def work(sessions: sessionmaker[Session], job: Job, workers: int) -> None:
    params = RebalanceJobParams.model_validate(job.params)
    report(sessions, job.id, READING, "reading the book")
    view, scenario, recent = live_book(sessions)
    budget = move_budget(
        scenario.policy.moves,
        params.max_moves,
        params.max_share,
        params.move_cost_gbp,
        params.bridging_home,
    )
    report(sessions, job.id, SOLVING, "re-optimising the book within the move budget")
    solve = SolveParams(time_limit_s=params.time_limit_s, workers=workers)
    result = rebalance(scenario, budget, solve, pin=recent)
    document = rebalance_document(result, compute_kpis(scenario, result.allocation))
    summary = document["summary"]
    with write_transaction(sessions) as session:
        finish(
            session,
            job,
            params,
            view,
            {**document, "budget": budget, "pinned_for_run": recent},
            "propose_moves",
            {**summary, "moves": [(m.package_id, m.to_provider) for m in result.moves]},
            f"proposed {summary['moves_proposed']} moves and placed "
            f"{summary['hours_newly_placed']} waiting carer hours a week (waiting list "
            f"{summary['waiting_before']} before, {summary['waiting_after']} after); "
            "nothing applied",
        )


def live_book(sessions: sessionmaker[Session]) -> tuple[BookView, Scenario, list[str]]:
    """The book a rebalance works on: everyone no open offer holds, against the room the open
    offers leave; and those of them to pin for the run (care started in the last fortnight)."""
    view = BookCache(sessions).view()
    scenario = view.book.request(_unheld(view.book))
    with sessions() as session:
        started = started_since(session, utc_now() - RECENT_START)
    recent = sorted(k.id for k in scenario.packages if k.id in started and k.current_provider)
    return view, scenario, recent


def _unheld(book: HeldBook) -> list[str]:
    """Packages no open offer holds: the placed with no move offered, and the waiting list."""
    return [
        k.id
        for k in book.scenario.packages
        if k.id not in book.moving and book.holds.get(k.id) == k.current_provider
    ]
