"""Brokerage requests: a ranked, explained shortlist and a recommended allocation for one package
or a batch, against the book as it stands (placements and open offers keep their capacity).

Every answer is a decision on the record: the audit trail gets one event per package, citing the
request's hash (the request, the book's version and the policy's), so the same request on the
same book and policy can be shown to give the same answer.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import Field, field_validator

from allocator.brokerage import Shortlist, recommend, shortlists
from allocator.result import Placement, Unplaced
from api.auth import Broker
from api.book_cache import BookView
from api.schema import KEYED, Answer, BookId, Level, RequestBody, documented
from store import audit
from store.api_keys import KeyIdentity
from store.database import write_transaction
from store.errors import NotFound

router = APIRouter(prefix="/brokerage", tags=["brokerage"], responses=KEYED)


class BrokerageRequest(RequestBody):
    package_ids: list[BookId] = Field(min_length=1)
    """One package for a shortlist, or today's batch to be placed together."""

    @field_validator("package_ids")
    @classmethod
    def _once_each(cls, ids: list[str]) -> list[str]:
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"listed more than once: {', '.join(repeated)}")
        return ids


class Recommendation(Answer):
    placements: list[Placement]
    unplaced: list[Unplaced]
    levels: list[Level]
    """Per goal level of a batch solve: value, best bound and gap (empty for one package, whose
    recommendation is its shortlist's first option with room)."""


class BrokerageAnswer(Answer):
    book_version: int
    policy: str
    inputs_hash: str
    shortlists: list[Shortlist]
    recommendation: Recommendation


@router.post("/requests", responses=documented(404))
def request_placements(
    body: BrokerageRequest, request: Request, identity: Broker
) -> BrokerageAnswer:
    """Shortlist every package and recommend where each should go, placed together."""
    limit = request.app.state.settings.batch_limit
    if len(body.package_ids) > limit:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "package_ids"),
                    "msg": f"at most {limit} packages a request; submit a solve job for more",
                    "type": "too_long",
                }
            ]
        )
    view: BookView = request.app.state.books.view()
    unknown = [i for i in body.package_ids if i not in view.book.scenario.package_by_id]
    if unknown:
        raise NotFound("package", ", ".join(unknown))
    lists = shortlists(view.book, body.package_ids)
    answer = BrokerageAnswer(
        book_version=view.version,
        policy=view.policy_version,
        inputs_hash=audit.inputs_hash(
            {"request": body, "book": view.version, "policy": view.policy_version}
        ),
        shortlists=lists,
        recommendation=_recommendation(view, body.package_ids, lists),
    )
    _record(request, identity, answer)
    return answer


def _recommendation(
    view: BookView, package_ids: list[str], lists: list[Shortlist]
) -> Recommendation:
    if len(package_ids) == 1:
        (only,) = lists
        return Recommendation(
            placements=[only.recommended] if only.recommended else [],
            unplaced=[only.unplaced] if only.unplaced else [],
            levels=[],
        )
    allocation = recommend(view.book, package_ids)
    return Recommendation(
        placements=list(allocation.placements),
        unplaced=list(allocation.unplaced),
        levels=[Level.model_validate(level, from_attributes=True) for level in allocation.levels],
    )


def _record(request: Request, identity: KeyIdentity, answer: BrokerageAnswer) -> None:
    """One audit event per package: where it was recommended, and why."""
    outcome = {p.package_id: (p.provider_id, p.reason) for p in answer.recommendation.placements}
    outcome |= {u.package_id: (None, u.diagnosis) for u in answer.recommendation.unplaced}
    with write_transaction(request.app.state.sessions) as session:
        for shortlist in answer.shortlists:
            provider_id, why = outcome[shortlist.package_id]  # each is placed or diagnosed
            audit.record(
                session,
                actor=identity.label,
                role=identity.role,
                action="recommend",
                package_id=shortlist.package_id,
                inputs_hash=answer.inputs_hash,
                policy_version=answer.policy,
                result={
                    "recommended": provider_id,
                    "book_version": answer.book_version,
                    "shortlist": [o.provider_id for o in shortlist.options],
                },
                explanation=why,
            )
