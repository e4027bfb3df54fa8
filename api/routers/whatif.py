"""What-if studies of the live book as jobs, for commissioners: a study (the TOML `allocator
whatif` reads) is checked against the book before anything runs, every mistake answered at once
(422, each naming its scenario and field), then solved beside the base book in a job's process.
The result is the comparison; `report.html` is the one page a commissioner opens.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, status
from fastapi.responses import HTMLResponse

from allocator.whatif import expand
from api import whatif_job
from api.auth import Planner, Reader
from api.routers.jobs import JobAccepted, finished_job, submit
from api.schema import KEYED, documented_as_json
from api.whatif_job import REPORT, WhatIfJobParams, study_of
from store.errors import NotFound

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=KEYED)

DEFAULT_TIME_LIMIT_S = 10.0
"""Per scenario, as `allocator whatif` gives each."""

StudyText = Annotated[
    str,
    Body(
        media_type="text/plain",
        description="The study file (TOML), as `allocator whatif` reads it; a replacement "
        "policy is given inline (`[scenario.policy]`).",
        examples=[
            'name = "Winter test"\n\n[[scenario]]\nname = "Morning -20%"\n'
            'capacity = [{ scale = 0.8, bands = ["morning"] }]\n'
        ],
    ),
]


@router.post("/whatif", status_code=status.HTTP_202_ACCEPTED)
def submit_whatif(
    text: StudyText,
    request: Request,
    identity: Planner,
    time_limit_s: Annotated[
        float, Query(gt=0, le=86_400, description="Each scenario's solve, in seconds.")
    ] = DEFAULT_TIME_LIMIT_S,
    workers: Annotated[
        int, Query(ge=1, le=64, description="Processes solving scenarios side by side.")
    ] = 1,
) -> JobAccepted:
    """Check the study against the live book (422 listing every mistake) and queue it; poll
    `GET /jobs/{job_id}`, then fetch the comparison from `GET /jobs/{job_id}/result`."""
    study = study_of(text, request.app.state.books.view().book.scenario)
    params = WhatIfJobParams(
        time_limit_s=time_limit_s, role=identity.role, study=text, workers=workers
    )
    what = (
        f"study {study.name!r}, {len(expand(study))} scenarios, {time_limit_s:g} s each, "
        f"{workers} processes"
    )
    return submit(request, identity, whatif_job.KIND, params, whatif_job.work, what)


@router.get(
    "/{job_id}/report.html",
    response_class=HTMLResponse,
    responses=documented_as_json(401, 403, 404, 409),
)
def report_of(job_id: str, request: Request, _identity: Reader) -> HTMLResponse:
    """A what-if job's comparison as one page (charts embedded); 409 until it has succeeded."""
    job = finished_job(request, job_id)
    if job.kind != whatif_job.KIND:
        raise NotFound("what-if job", job_id)
    return HTMLResponse(job.result[REPORT])
