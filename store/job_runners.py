"""Which process works on a job, so a service starting up fails only the jobs nobody runs.

Several service processes (uvicorn workers, or servers) share one book, and each runs the jobs
submitted to it in child processes of its own. A job names its runner (host and process id: the
service process while the job is queued, the child once it runs) in its params under `runner`,
so a process starting up can tell a job a live process still works on from one a dead process
left behind, instead of failing every unfinished job as `store.jobs.fail_abandoned` does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.errors import NotFound
from store.jobs import INTERRUPTED, Job, fail, get_job, mark_running
from store.tables import JobRow, JobState

RUNNER = "runner"
"""The params key naming a job's runner."""


@dataclass(frozen=True)
class Runner:
    host: str
    pid: int


def set_runner(session: Session, job_id: str, runner: Runner) -> None:
    """Name the process that now answers for the job."""
    row = session.get(JobRow, job_id)
    if row is None:
        raise NotFound("job", job_id)
    row.params = {**row.params, RUNNER: asdict(runner)}
    session.flush()


def claim(session: Session, job_id: str, runner: Runner) -> Job:
    """Start the queued job in `runner` (InvalidTransition if it is no longer queued)."""
    mark_running(session, job_id)
    set_runner(session, job_id, runner)
    return get_job(session, job_id)


def runner_of(job: Job) -> Runner | None:
    return _named(job.params)


def fail_orphaned(session: Session, gone: Callable[[Runner | None], bool]) -> list[str]:
    """Fail, as interrupted, every queued or running job whose runner is `gone`; return their
    ids. A job naming no runner counts as gone when `gone(None)` says so."""
    rows = session.scalars(
        select(JobRow).where(JobRow.state.in_([JobState.QUEUED, JobState.RUNNING]))
    ).all()
    failed = []
    for row in rows:
        if gone(_named(row.params)):
            fail(session, row.id, INTERRUPTED)
            failed.append(row.id)
    return failed


def _named(params: dict[str, Any]) -> Runner | None:
    named = params.get(RUNNER)
    return None if named is None else Runner(str(named["host"]), int(named["pid"]))
