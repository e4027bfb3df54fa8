"""Long work as jobs: submit (202 with the job's id), poll its progress, fetch its result.

Each job runs in a process of its own (`api.job_runner`), so the request returns at once and no
request waits on a solve. A solve job places the whole waiting list with everyone placed or
offered held; with `apply` it also makes one offer per recommended placement, skipping (and
reporting) any the book no longer allows when the solve ends. A rebalance job proposes moves
(`api.routers.rebalance`), a what-if job compares a study's scenarios (`api.routers.whatif`). A
job that dies part-way is failed with nothing written and can simply be submitted again.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, status
from pydantic import Field

from allocator.result import Placement, Unplaced
from api import rebalance_job, solve_job, whatif_job
from api.audit_trail import record_change
from api.auth import Broker, Reader
from api.job_process import JobParams, Work
from api.rebalance_job import RebalanceResult
from api.schema import KEYED, Answer, Level, RequestBody, documented
from api.solve_job import SkippedOffer, SolveJobParams
from api.whatif_job import WhatIfResult
from store.api_keys import KeyIdentity
from store.database import write_transaction
from store.errors import InvalidTransition
from store.jobs import Job, get_job, list_jobs
from store.offers import Offer
from store.tables import JobState

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=KEYED)


class SolveRequest(RequestBody):
    time_limit_s: float | None = Field(default=None, gt=0, le=86_400)
    """Wall-clock budget for all goal levels together; the service's default when absent."""
    apply: bool = False
    """Also offer each recommended placement (each offer is checked against the book then)."""


class JobAccepted(Answer):
    job_id: str
    state: JobState


class JobStatus(Answer):
    id: str
    kind: str
    state: JobState
    progress: float
    """Fraction done, 0 to 1."""
    message: str
    """What it is doing now, e.g. "goal 3/9 (hours_placed)"."""
    time_limit_s: float
    """Of its solve (of each scenario's, in a what-if study)."""
    apply: bool
    """A solve job that makes offers."""
    error: str | None
    submitted_by: str
    submitted_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class SolveResult(Answer):
    job_id: str
    book_version: int
    """The version of the book the solve started from."""
    policy: str
    reproducible: bool
    """False if a goal level stopped on the wall clock: a slower machine may answer otherwise."""
    waiting: int
    """Packages on the waiting list when the solve started."""
    kpis: dict[str, int | float]
    """Of the waiting list: demand, placed and unmet hours, cost, travel, ..."""
    levels: list[Level]
    placements: list[Placement]
    unplaced: list[Unplaced]
    """Each with its diagnosis."""
    offers: list[Offer]
    """Made with `apply`."""
    skipped: list[SkippedOffer]
    """Recommended placements `apply` could not offer, and why."""


RESULTS: dict[str, type[Answer]] = {
    solve_job.KIND: SolveResult,
    rebalance_job.KIND: RebalanceResult,
    whatif_job.KIND: WhatIfResult,
}
"""Each kind of job's result, as `GET /jobs/{job_id}/result` answers it."""


@router.post("/solve", status_code=status.HTTP_202_ACCEPTED)
def submit_solve(body: SolveRequest, request: Request, identity: Broker) -> JobAccepted:
    """Queue a full solve of the waiting list; poll `GET /jobs/{job_id}` for its progress."""
    params = SolveJobParams(
        time_limit_s=body.time_limit_s or request.app.state.settings.solve_time_limit_s,
        apply=body.apply,
        role=identity.role,
    )
    applied = ", offers to be made" if params.apply else ""
    what = f"the waiting list, {params.time_limit_s:g} s{applied}"
    return submit(request, identity, solve_job.KIND, params, solve_job.work, what)


def submit(
    request: Request, identity: KeyIdentity, kind: str, params: JobParams, work: Work, what: str
) -> JobAccepted:
    """Queue a job of `kind` that `work` does, on the record (`what` says what it will do)."""
    runner = request.app.state.jobs
    with write_transaction(request.app.state.sessions) as session:
        job = runner.queue_job(session, kind, params.model_dump(), identity.label)
        record_change(
            session,
            identity,
            f"submit_{kind}_job",
            {"params": params},
            {"job_id": job.id},
            f"{kind} job {job.id} queued: {what}",
        )
    runner.start(job.id, work)
    return JobAccepted(job_id=job.id, state=job.state)


@router.get("")
def list_all(request: Request, _identity: Reader, state: JobState | None = None) -> list[JobStatus]:
    """Jobs newest first, optionally only those in one state."""
    with request.app.state.sessions() as session:
        return [_status(job) for job in list_jobs(session, state)]


@router.get("/{job_id}", responses=documented(404))
def status_of(job_id: str, request: Request, _identity: Reader) -> JobStatus:
    with request.app.state.sessions() as session:
        return _status(get_job(session, job_id))


@router.get("/{job_id}/result", responses=documented(404, 409))
def result_of(
    job_id: str, request: Request, _identity: Reader
) -> SolveResult | RebalanceResult | WhatIfResult:
    """What the job found, by its kind: a solve's recommended placements, the unplaced with
    their diagnoses, each goal level's value, bound and gap, and any offers made; a rebalance's
    proposed moves; a what-if study's comparison. 409 until the job has succeeded."""
    job = finished_job(request, job_id)
    return RESULTS[job.kind].model_validate(job.result)


def finished_job(request: Request, job_id: str) -> Job:
    """The job, once it has succeeded (409 until then, with its error if it failed)."""
    with request.app.state.sessions() as session:
        job = get_job(session, job_id)
    if job.state is not JobState.SUCCEEDED or job.result is None:
        failed = f": {job.error}" if job.state is JobState.FAILED else ""
        raise InvalidTransition(f"job {job_id} is {job.state.value}{failed}; no result")
    return job


def _status(job: Job) -> JobStatus:
    params = JobParams.model_validate(job.params)
    return JobStatus(
        id=job.id,
        kind=job.kind,
        state=job.state,
        progress=job.progress,
        message=job.message,
        time_limit_s=params.time_limit_s,
        apply=bool(job.params.get("apply", False)),
        error=job.error,
        submitted_by=job.submitted_by,
        submitted_at=job.submitted_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )
