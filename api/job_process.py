"""A job as it runs in a process of its own (`api.job_runner` starts it): claimed, worked, and
ended succeeded or failed whatever happens.

Each kind of job is a `Work` function (`api.solve_job`, `api.rebalance_job`, `api.whatif_job`)
that reports its progress and then, in ONE transaction, writes its result, the job's success and
its audit event: a crash or kill at any point leaves nothing half-written, only a job that is not
finished, which the service then fails so that it can be submitted again. The process leads a
process group of its own, so the service can stop it together with any processes it starts (a
what-if study's pool).
"""

from __future__ import annotations

import os
import socket
import sys
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, sessionmaker

from api.book_cache import BookView
from store import audit
from store.database import make_engine, make_session_factory, write_transaction
from store.errors import InvalidTransition
from store.job_runners import Runner, claim
from store.jobs import Job, fail, set_progress, succeed

Work = Callable[[sessionmaker[Session], Job, int], None]
"""One kind of job's work, given the session factory, the claimed job and the CP-SAT workers a
solve may use; it ends by calling `finish`."""


class JobParams(BaseModel):
    """What every kind of job is given."""

    time_limit_s: float = Field(gt=0)
    """Wall-clock budget of a solve (of each scenario's, in a what-if study)."""
    role: str
    """The role of whoever submitted it, cited by what it writes."""


def this_process() -> Runner:
    return Runner(socket.gethostname(), os.getpid())


def run(database_url: str, job_id: str, workers: int, work: Work) -> None:
    """The child process's entry point: run the queued job `job_id` to success or failure."""
    if os.name == "posix":
        os.setsid()
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    try:
        with write_transaction(sessions) as session:
            job = claim(session, job_id, this_process())
        work(sessions, job, workers)
    except Exception as error:  # whatever went wrong, the job must end failed, saying what
        traceback.print_exc(file=sys.stderr)
        try:
            with write_transaction(sessions) as session:
                fail(session, job_id, f"{type(error).__name__}: {error}")
        except InvalidTransition:
            pass  # it was never ours to finish (no longer queued when this process began)
    finally:
        engine.dispose()


def report(sessions: sessionmaker[Session], job_id: str, progress: float, message: str) -> None:
    """Record how far the job has got, in a transaction of its own."""
    with write_transaction(sessions) as session:
        set_progress(session, job_id, progress, message)


def actor_of(job: Job) -> str:
    """Who the job's writes are by: its submitter, through the job."""
    return f"{job.submitted_by} ({job.kind} job {job.id})"


def finish(
    session: Session,
    job: Job,
    params: JobParams,
    view: BookView,
    result: Mapping[str, Any],
    action: str,
    summary: Mapping[str, Any],
    explanation: str,
) -> None:
    """Succeed the job with `result` and put it on the audit trail (`summary` as the event's
    result), in the caller's closing transaction."""
    set_progress(session, job.id, 1.0, f"done: {explanation}")
    succeed(session, job.id, {**result, "job_id": job.id, "book_version": view.version})
    inputs = {"job_id": job.id, "params": params, "book_version": view.version}
    audit.record(
        session,
        actor=actor_of(job),
        role=params.role,
        action=action,
        inputs_hash=audit.inputs_hash({**inputs, "policy": view.policy_version}),
        policy_version=view.policy_version,
        result={"job_id": job.id, **summary},
        explanation=f"{job.kind} job {job.id} {explanation}",
    )
