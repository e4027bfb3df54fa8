"""The nightly rebalance as a job: the live book re-optimised within a move budget, the moves it
proposes explained, nothing applied. A broker offers a proposed move with `POST /moves`, citing
the job; the move then goes through the offer lifecycle like any placement.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from pydantic import Field

from api import rebalance_job
from api.auth import Broker
from api.rebalance_job import RebalanceJobParams
from api.routers.jobs import JobAccepted, submit
from api.schema import KEYED, RequestBody

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=KEYED)


class RebalanceRequest(RequestBody):
    """The move budget for this run, in place of the policy's `[moves]` where given; with
    neither a count nor a share, at most 5 % of the people in care are moved."""

    max_moves: int | None = Field(default=None, ge=0, le=1_000_000)
    """Most people moved from a current provider that could keep them."""
    max_share: float | None = Field(default=None, ge=0, le=1)
    """Most share of the people in care moved, 0-1."""
    move_cost_gbp: float | None = Field(default=None, ge=0, le=1_000_000)
    """Pounds a week a move made for cost alone must save."""
    bridging_home: bool | None = None
    """Bring stop-gap placements outside the zone's first tier home when capacity allows."""
    time_limit_s: float | None = Field(default=None, gt=0, le=86_400)
    """Wall-clock budget of the solve; the service's default when absent."""


@router.post("/rebalance", status_code=status.HTTP_202_ACCEPTED)
def submit_rebalance(body: RebalanceRequest, request: Request, identity: Broker) -> JobAccepted:
    """Queue a rebalance of the live book; poll `GET /jobs/{job_id}`, then fetch the proposed
    moves from `GET /jobs/{job_id}/result`."""
    params = RebalanceJobParams(
        time_limit_s=body.time_limit_s or request.app.state.settings.solve_time_limit_s,
        role=identity.role,
        **body.model_dump(exclude={"time_limit_s"}),
    )
    chosen = body.model_dump(exclude={"time_limit_s"}, exclude_none=True)
    budget = ", ".join(f"{k} {v}" for k, v in chosen.items()) or "the policy's move budget"
    what = f"the whole book, {budget}, {params.time_limit_s:g} s"
    return submit(request, identity, rebalance_job.KIND, params, rebalance_job.work, what)
