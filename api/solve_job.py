"""A full solve of the waiting list, as it runs in a job's own process (`api.job_process`).

Everyone placed, and every open offer, holds; the waiting list is placed together by the policy's
lexicographic solve. The process reports each goal level as it starts, then writes the result,
the job's success, its audit event and (when asked) one offer per recommended placement in ONE
transaction.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from allocator.allocate import allocate
from allocator.brokerage import HeldBook
from allocator.io.result_files import allocation_document
from allocator.kpis import compute_kpis
from allocator.policy import Goal
from allocator.result import Allocation, Strategy
from allocator.solve import SolveParams
from api.book_cache import BookCache
from api.job_process import JobParams, actor_of, finish, report
from store.database import write_transaction
from store.errors import StoreError
from store.jobs import Job
from store.offers import Offer, make_offer

KIND = "solve"
READING, SOLVING, WRITING = 0.02, 0.05, 0.95
"""Progress at each stage; the goal levels share what lies between solving and writing."""


class SolveJobParams(JobParams):
    apply: bool


class SkippedOffer(BaseModel):
    package_id: str
    provider_id: str
    reason: str


def _waiting_list(book: HeldBook) -> list[str]:
    """Packages neither placed nor offered, in the book's order."""
    return [k.id for k in book.scenario.packages if k.id not in book.holds]


def work(sessions: sessionmaker[Session], job: Job, workers: int) -> None:
    params = SolveJobParams.model_validate(job.params)
    report(sessions, job.id, READING, "reading the book")
    view = BookCache(sessions).view()
    waiting = _waiting_list(view.book)
    scenario = view.book.request(waiting)

    def level_started(level: int, levels: int, goal: Goal) -> None:
        done = SOLVING + (WRITING - SOLVING) * level / levels
        report(sessions, job.id, round(done, 3), f"goal {level + 1}/{levels} ({goal.value})")

    solve = SolveParams(time_limit_s=params.time_limit_s, workers=workers)
    allocation = allocate(scenario, Strategy.OPTIMISE, solve, level_started)
    document = allocation_document(allocation, compute_kpis(scenario, allocation))
    report(sessions, job.id, WRITING, "writing the result")
    with write_transaction(sessions) as session:
        offers, skipped = (
            _apply(session, allocation, actor_of(job), params.role) if params.apply else ([], [])
        )
        placed, kpis = len(allocation.placements), document["kpis"]
        applied = f"; {len(offers)} offers made, {len(skipped)} skipped" if params.apply else ""
        finish(
            session,
            job,
            params,
            view,
            {**document, "waiting": len(waiting), "offers": offers, "skipped": skipped},
            "solve_waiting_list",
            {
                "placed": placed,
                "unplaced": len(waiting) - placed,
                "offers": len(offers),
                "skipped": len(skipped),
                "levels": document["levels"],
            },
            f"placed {placed} of {len(waiting)} waiting packages "
            f"({kpis['placed_hours']} of {kpis['demand_hours']} carer hours a week){applied}",
        )


def _apply(
    session: Session, allocation: Allocation, actor: str, role: str
) -> tuple[list[Offer], list[SkippedOffer]]:
    """One offer per recommended placement, each in a savepoint of the job's closing transaction:
    the store checks each against the book as it is now and refuses what the book no longer
    allows (someone placed or offered the package, or took the room, meanwhile)."""
    savepoints = sessionmaker(
        bind=session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    offers, skipped = [], []
    for placement in allocation.placements:
        try:
            offers.append(
                make_offer(savepoints, placement.package_id, placement.provider_id, actor, role)
            )
        except StoreError as refused:
            skipped.append(
                SkippedOffer(
                    package_id=placement.package_id,
                    provider_id=placement.provider_id,
                    reason=str(refused),
                )
            )
    return offers, skipped
