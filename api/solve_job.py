"""A full solve of the waiting list, as it runs in its own process (`api.job_runner` starts it).

Everyone placed, and every open offer, holds; the waiting list is placed together by the policy's
lexicographic solve. The process reports each goal level as it starts, then writes the result,
the job's success, its audit event and (when asked) one offer per recommended placement in ONE
transaction: a crash or kill at any point leaves nothing half-written, only a job that is not
finished, which the service then fails so that it can be submitted again.
"""

from __future__ import annotations

import os
import socket
import sys
import traceback
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, sessionmaker

from allocator.allocate import allocate
from allocator.brokerage import HeldBook
from allocator.io.result_files import allocation_document
from allocator.kpis import compute_kpis
from allocator.policy import Goal
from allocator.result import Allocation, Strategy
from allocator.solve import SolveParams
from api.book_cache import BookCache, BookView
from store import audit
from store.database import make_engine, make_session_factory, write_transaction
from store.errors import InvalidTransition, StoreError
from store.job_runners import Runner, claim
from store.jobs import fail, set_progress, succeed
from store.offers import Offer, make_offer

KIND = "solve"
READING, SOLVING, WRITING = 0.02, 0.05, 0.95
"""Progress at each stage; the goal levels share what lies between solving and writing."""


class SolveJobParams(BaseModel):
    time_limit_s: float = Field(gt=0)
    apply: bool
    role: str
    """The role of whoever submitted it, cited by the offers it makes."""


class SkippedOffer(BaseModel):
    package_id: str
    provider_id: str
    reason: str


def run(database_url: str, job_id: str, workers: int) -> None:
    """The child process's entry point: run the queued job `job_id` to success or failure."""
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    try:
        _solve(sessions, job_id, workers)
    except Exception as error:  # whatever went wrong, the job must end failed, saying what
        traceback.print_exc(file=sys.stderr)
        try:
            with write_transaction(sessions) as session:
                fail(session, job_id, f"{type(error).__name__}: {error}")
        except InvalidTransition:
            pass  # it was never ours to finish (no longer queued when this process began)
    finally:
        engine.dispose()


def _waiting_list(book: HeldBook) -> list[str]:
    """Packages neither placed nor offered, in the book's order."""
    return [k.id for k in book.scenario.packages if k.id not in book.holds]


def _solve(sessions: sessionmaker[Session], job_id: str, workers: int) -> None:
    with write_transaction(sessions) as session:
        job = claim(session, job_id, Runner(socket.gethostname(), os.getpid()))
    params = SolveJobParams.model_validate(job.params)
    _report(sessions, job_id, READING, "reading the book")
    view = BookCache(sessions).view()
    waiting = _waiting_list(view.book)
    scenario = view.book.request(waiting)

    def level_started(level: int, levels: int, goal: Goal) -> None:
        done = SOLVING + (WRITING - SOLVING) * level / levels
        _report(sessions, job_id, round(done, 3), f"goal {level + 1}/{levels} ({goal.value})")

    solve = SolveParams(time_limit_s=params.time_limit_s, workers=workers)
    allocation = allocate(scenario, Strategy.OPTIMISE, solve, level_started)
    document = allocation_document(allocation, compute_kpis(scenario, allocation))
    _report(sessions, job_id, WRITING, "writing the result")
    actor = f"{job.submitted_by} (solve job {job_id})"
    with write_transaction(sessions) as session:
        offers, skipped = (
            _apply(session, allocation, actor, params.role) if params.apply else ([], [])
        )
        placed = f"placed {len(allocation.placements)} of {len(waiting)} waiting packages"
        set_progress(session, job_id, 1.0, f"done: {placed}")
        succeed(
            session,
            job_id,
            {
                **document,
                "job_id": job_id,
                "book_version": view.version,
                "waiting": len(waiting),
                "offers": offers,
                "skipped": skipped,
            },
        )
        _record(session, actor, job_id, params, view, document, len(offers), len(skipped))


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


def _record(
    session: Session,
    actor: str,
    job_id: str,
    params: SolveJobParams,
    view: BookView,
    document: dict[str, Any],
    offered: int,
    skipped: int,
) -> None:
    placed, waiting = (
        len(document["placements"]),
        len(document["placements"]) + len(document["unplaced"]),
    )
    kpis = document["kpis"]
    applied = f"; {offered} offers made, {skipped} skipped" if params.apply else ""
    inputs = {"job_id": job_id, "params": params, "book_version": view.version}
    audit.record(
        session,
        actor=actor,
        role=params.role,
        action="solve_waiting_list",
        inputs_hash=audit.inputs_hash({**inputs, "policy": view.policy_version}),
        policy_version=view.policy_version,
        result={
            "job_id": job_id,
            "placed": placed,
            "unplaced": waiting - placed,
            "offers": offered,
            "skipped": skipped,
            "levels": document["levels"],
        },
        explanation=(
            f"solve job {job_id} placed {placed} of {waiting} waiting packages "
            f"({kpis['placed_hours']} of {kpis['demand_hours']} carer hours a week){applied}"
        ),
    )


def _report(sessions: sessionmaker[Session], job_id: str, progress: float, message: str) -> None:
    with write_transaction(sessions) as session:
        set_progress(session, job_id, progress, message)
