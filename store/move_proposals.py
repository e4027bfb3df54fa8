"""The moves a rebalance job proposed, as a broker cites one when offering it (`store.offers`).

A rebalance job applies nothing: its result lists moves, each explained by what it frees and
gains. A move offer citing the job carries that explanation through the offer's every step, and
is refused when the job proposed no such move, or proposed it from where the package no longer is.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from store.errors import Conflict, InvalidTransition
from store.jobs import get_job
from store.tables import JobState

REBALANCE = "rebalance"
"""The kind of job that proposes moves."""


def proposed_move(
    session: Session, job_id: str, package_id: str, from_provider_id: str, to_provider_id: str
) -> str:
    """What moving the package between these providers frees and gains, as the rebalance job
    `job_id` said; NotFound without such a job, InvalidTransition when it is no finished rebalance
    or proposed no such move, Conflict when it proposed it from another provider."""
    job = get_job(session, job_id)
    if job.kind != REBALANCE or job.state is not JobState.SUCCEEDED or job.result is None:
        raise InvalidTransition(f"job {job_id} is no finished rebalance ({job.kind}, {job.state})")
    for move in job.result["moves"]:
        if (move["package_id"], move["to_provider"]) != (package_id, to_provider_id):
            continue
        if move["from_provider"] != from_provider_id:
            raise Conflict(
                f"job {job_id} proposed moving {package_id} from {move['from_provider']}, "
                f"but it is placed with {from_provider_id} now"
            )
        return f"frees {move['frees']}; {move['gains']}"
    raise InvalidTransition(f"job {job_id} proposed no move of {package_id} to {to_provider_id}")
