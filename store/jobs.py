"""Long work (a nightly rebalance, a what-if study) as jobs whose state outlives the process.

A job is queued, runs, reports progress and ends succeeded (with a result) or failed (with an
error). Jobs a dead process left queued or running are failed as "interrupted" at start-up
(`fail_abandoned`), so the people who asked see it and can submit again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store.errors import InvalidTransition, NotFound
from store.tables import JobRow, JobState, utc_now

INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    state: JobState
    progress: float
    """Fraction done, 0 to 1."""
    message: str
    params: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    submitted_by: str
    submitted_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def create_job(session: Session, kind: str, params: Mapping[str, Any], submitted_by: str) -> Job:
    """Queue a job; its id is a fresh uuid4 (hex)."""
    row = JobRow(
        id=uuid.uuid4().hex,
        kind=kind,
        state=JobState.QUEUED,
        params=to_jsonable_python(dict(params)),
        submitted_by=submitted_by,
    )
    session.add(row)
    session.flush()
    return _job(row)


def mark_running(session: Session, job_id: str) -> Job:
    row = _row(session, job_id, JobState.QUEUED)
    row.state = JobState.RUNNING
    row.started_at = utc_now()
    return _flushed(session, row)


def set_progress(session: Session, job_id: str, progress: float, message: str = "") -> Job:
    """Record how far a running job has got (0 to 1) and what it is doing."""
    if not 0 <= progress <= 1:
        raise ValueError(f"progress is a fraction from 0 to 1, got {progress}")
    row = _row(session, job_id, JobState.RUNNING)
    row.progress = progress
    row.message = message
    return _flushed(session, row)


def succeed(session: Session, job_id: str, result: Mapping[str, Any]) -> Job:
    row = _row(session, job_id, JobState.RUNNING)
    row.state = JobState.SUCCEEDED
    row.progress = 1.0
    row.result = to_jsonable_python(dict(result))
    row.finished_at = utc_now()
    return _flushed(session, row)


def fail(session: Session, job_id: str, error: str) -> Job:
    row = _row(session, job_id, JobState.QUEUED, JobState.RUNNING)
    row.state = JobState.FAILED
    row.error = error
    row.finished_at = utc_now()
    return _flushed(session, row)


def get_job(session: Session, job_id: str) -> Job:
    return _job(_row(session, job_id))


def fail_abandoned(session: Session) -> int:
    """Fail every job still queued or running (no process is working on them any more);
    return how many. Call at start-up, before any worker runs."""
    done = session.execute(
        update(JobRow)
        .where(JobRow.state.in_([JobState.QUEUED, JobState.RUNNING]))
        .values(state=JobState.FAILED, error=INTERRUPTED, finished_at=utc_now())
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return int(done.rowcount)


def list_jobs(session: Session, state: JobState | None = None) -> list[Job]:
    """Jobs newest first, optionally only those in `state`."""
    query = select(JobRow).order_by(JobRow.submitted_at.desc())
    if state is not None:
        query = query.where(JobRow.state == state)
    return [_job(row) for row in session.scalars(query)]


def _row(session: Session, job_id: str, *states: JobState) -> JobRow:
    row = session.get(JobRow, job_id)
    if row is None:
        raise NotFound("job", job_id)
    if states and row.state not in states:
        raise InvalidTransition(
            f"job {job_id} is {row.state}, not {' or '.join(s.value for s in states)}"
        )
    return row


def _flushed(session: Session, row: JobRow) -> Job:
    session.flush()
    return _job(row)


def _job(row: JobRow) -> Job:
    return Job(
        row.id,
        row.kind,
        JobState(row.state),
        row.progress,
        row.message,
        dict(row.params),
        None if row.result is None else dict(row.result),
        row.error,
        row.submitted_by,
        row.submitted_at,
        row.started_at,
        row.finished_at,
    )
