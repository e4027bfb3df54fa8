"""The offer lifecycle brokers run: offer → accepted or declined (or withdrawn) → started, and a
provider's hand-back, which returns the package to the waiting list with its history. A move (a
placed package offered to another provider, as a rebalance job proposes) runs the same course
while the person's care goes on where it is; only its acceptance moves them.

Each step is one transaction of the store that checks where it starts from, so two brokers racing
for a provider's last room never both win: the loser gets 409 with what ran out and a fresh
shortlist for the package, from the book as the winner left it. A decline removes the pair for
good and answers with the next best option. A provider's key may answer, start and hand back only
its own offers and placements, and sees no other provider's (not where a move would take the
person from, nor why).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from pydantic import Field

from allocator.brokerage import Shortlist, shortlists
from allocator.result import Placement, Unplaced
from api.audit_trail import record_change
from api.auth import Broker, BrokerOrProvider, Caller, provider_scope
from api.routers.packages import BookPackageOut, shown_to
from api.schema import KEYED, Answer, BookId, RequestBody, RowId, documented
from store.api_keys import KeyIdentity
from store.database import write_transaction
from store.errors import Conflict, Ineligible, NotFound, Shortfall
from store.offers import (
    Offer,
    accept_offer,
    decline_offer,
    get_offer,
    hand_back,
    list_offers,
    make_move_offer,
    make_offer,
    start_placement,
    withdraw_offer,
)
from store.packages import get_package
from store.tables import OfferKind, OfferState

router = APIRouter(tags=["offers"], responses=KEYED)

Reason = Annotated[str, Field(min_length=1, max_length=2000)]
"""Required, and not blank."""


class OfferRequest(RequestBody):
    package_id: BookId
    provider_id: BookId


class MoveRequest(RequestBody):
    package_id: BookId
    """A placed package, not pinned."""
    provider_id: BookId
    """The provider to move it to."""
    job_id: str | None = Field(default=None, min_length=1, max_length=32)
    """The rebalance job that proposed the move: the offer carries its explanation."""


class WithReason(RequestBody):
    reason: Reason


class Withdrawal(RequestBody):
    reason: str | None = Field(default=None, max_length=2000)


class OfferRefused(Answer):
    """Why the offer was not made, and where the package could go instead now."""

    detail: str
    shortfalls: list[Shortfall] = []
    """Each band or cap that ran out (the room was taken, perhaps by another broker just now)."""
    reasons: list[str] = []
    """The policy's hard filters that rule the provider out."""
    shortlist: Shortlist | None = None
    """A fresh shortlist for the package, from the book as it is now."""


class Declined(Answer):
    offer: Offer
    next_best: Placement | None
    """Where a fresh shortlist now recommends the package, the decliner excluded (not shown to a
    provider's key)."""
    unplaced: Unplaced | None
    """Why no provider has room for it now, when none has."""


class HandedBack(Answer):
    package: BookPackageOut
    offer: Offer | None
    """The offer that placed it (None for a placement imported with the book)."""


REFUSED = {
    **documented(404),
    status.HTTP_409_CONFLICT: {
        "model": OfferRefused,
        "description": "The provider has no room (with a fresh shortlist), is ruled out by the "
        "policy, or the package is not in a state that allows the offer.",
    },
}


@router.post(
    "/offers", status_code=status.HTTP_201_CREATED, response_model=Offer, responses=REFUSED
)
def offer(body: OfferRequest, request: Request, identity: Broker) -> Offer | JSONResponse:
    """Offer a waiting package to a provider; the offer holds the room until it is answered."""
    sessions, who = request.app.state.sessions, (identity.label, identity.role)
    try:
        return make_offer(sessions, body.package_id, body.provider_id, *who)
    except Conflict as refused:
        answer = _refusal(request, identity, body.package_id, body.provider_id, refused)
    return JSONResponse(answer.model_dump(mode="json"), status.HTTP_409_CONFLICT)


@router.post("/moves", status_code=status.HTTP_201_CREATED, response_model=Offer, responses=REFUSED)
def move(body: MoveRequest, request: Request, identity: Broker) -> Offer | JSONResponse:
    """Offer a placed package to another provider: a move offer. The person stays placed, their
    care going on, while the offer holds the room at the new provider (the package holds both
    until it is answered); accepted, they move and the old room is freed; declined or withdrawn,
    nothing changes (a decline excludes the pair, as for any offer). 404 for an unknown job; 409
    when the package is pinned, not placed, already with that provider or has an open offer, the
    job proposed no such move, the provider is ruled out (`reasons`) or has no room
    (`shortfalls`)."""
    sessions, who = request.app.state.sessions, (identity.label, identity.role)
    try:
        return make_move_offer(sessions, body.package_id, body.provider_id, *who, body.job_id)
    except Conflict as refused:
        answer = _refusal(request, identity, body.package_id, body.provider_id, refused)
    return JSONResponse(answer.model_dump(mode="json"), status.HTTP_409_CONFLICT)


@router.get("/offers")
def list_all(
    request: Request,
    identity: Caller,
    package_id: str | None = None,
    provider_id: str | None = None,
    state: OfferState | None = None,
    kind: OfferKind | None = None,
) -> list[Offer]:
    """Offers oldest first, optionally for one package, provider, state or kind; a provider's
    key lists only its own."""
    own = provider_scope(identity)
    if own is not None and provider_id not in (None, own):
        return []
    with request.app.state.sessions() as session:
        found = list_offers(session, package_id, own or provider_id, state, kind)
    return [shown_offer(identity, o) for o in found]


@router.get("/offers/{offer_id}", responses=documented(404))
def get_one(offer_id: RowId, request: Request, identity: Caller) -> Offer:
    """One offer; a provider's key sees only its own."""
    return _own_offer(request, identity, offer_id)


@router.post("/offers/{offer_id}/accept", responses=documented(404, 409))
def accept(offer_id: RowId, request: Request, identity: BrokerOrProvider) -> Offer:
    """The provider takes the package: it is placed there (moved, for a move offer)."""
    _own_offer(request, identity, offer_id)
    accepted = accept_offer(request.app.state.sessions, offer_id, identity.label, identity.role)
    return shown_offer(identity, accepted)


@router.post("/offers/{offer_id}/decline", responses=documented(404, 409))
def decline(
    offer_id: RowId, body: WithReason, request: Request, identity: BrokerOrProvider
) -> Declined:
    """The provider declines, saying why: the package waits again, is never offered to that
    provider again, and the answer names the next best option."""
    _own_offer(request, identity, offer_id)
    declined = decline_offer(
        request.app.state.sessions, offer_id, body.reason, identity.label, identity.role
    )
    if provider_scope(identity) is not None:
        return Declined(offer=shown_offer(identity, declined), next_best=None, unplaced=None)
    (fresh,) = _fresh_shortlists(request, declined.package_id)
    return Declined(offer=declined, next_best=fresh.recommended, unplaced=fresh.unplaced)


@router.post("/offers/{offer_id}/withdraw", responses=documented(404, 409))
def withdraw(
    offer_id: RowId, request: Request, identity: Broker, body: Withdrawal | None = None
) -> Offer:
    """Take back an unanswered offer: the package waits again and the pair stays open."""
    reason = body.reason if body is not None else None
    return withdraw_offer(
        request.app.state.sessions, offer_id, identity.label, identity.role, reason
    )


@router.post("/offers/{offer_id}/start", responses=documented(404, 409))
def start(offer_id: RowId, request: Request, identity: BrokerOrProvider) -> Offer:
    """Care has started under an accepted offer."""
    _own_offer(request, identity, offer_id)
    started = start_placement(request.app.state.sessions, offer_id, identity.label, identity.role)
    return shown_offer(identity, started)


@router.post("/packages/{package_id}/hand-back", responses=documented(404, 409))
def hand_back_package(
    package_id: str, body: WithReason, request: Request, identity: BrokerOrProvider
) -> HandedBack:
    """The provider can no longer staff a placed package: it waits again from today, with its
    history kept. A provider's key may hand back only what is placed with it."""
    own = provider_scope(identity)
    sessions = request.app.state.sessions
    if own is not None:
        with sessions() as session:
            if get_package(session, package_id).provider_id != own:
                raise NotFound("package", package_id)
    handed = hand_back(sessions, package_id, body.reason, identity.label, identity.role)
    with sessions() as session:
        package = get_package(session, package_id)
    offer = None if handed is None else shown_offer(identity, handed)
    return HandedBack(package=shown_to(identity, package), offer=offer)


def _own_offer(request: Request, identity: KeyIdentity, offer_id: int) -> Offer:
    """The offer, if this key may see it (a provider's key only its own: 404 for others)."""
    with request.app.state.sessions() as session:
        found = get_offer(session, offer_id)
    own = provider_scope(identity)
    if own is not None and found.provider_id != own:
        raise NotFound("offer", offer_id)
    return shown_offer(identity, found)


def shown_offer(identity: KeyIdentity, offer: Offer) -> Offer:
    """The offer as this key may see it: a provider is not told where a move comes from, nor
    the rebalance's reasons (which name other providers)."""
    if provider_scope(identity) is None or offer.kind is OfferKind.PLACEMENT:
        return offer
    return dataclasses.replace(offer, from_provider_id=None, proposal=None)


def _fresh_shortlists(request: Request, package_id: str) -> list[Shortlist]:
    """From the book as it is now (the cache rebuilds it when its version has moved)."""
    return shortlists(request.app.state.books.view().book, [package_id])


def _refusal(
    request: Request, identity: KeyIdentity, package_id: str, provider_id: str, refused: Conflict
) -> OfferRefused:
    """The 409 answer, on the record: the refused attempt is a decision too."""
    (fresh,) = _fresh_shortlists(request, package_id)
    reasons = list(refused.reasons) if isinstance(refused, Ineligible) else []
    answer = OfferRefused(
        detail=str(refused), shortfalls=list(refused.shortfalls), reasons=reasons, shortlist=fresh
    )
    recommended = fresh.recommended.provider_id if fresh.recommended else None
    with write_transaction(request.app.state.sessions) as session:
        record_change(
            session,
            identity,
            "offer_refused",
            {"package_id": package_id, "provider_id": provider_id},
            {"shortfalls": answer.shortfalls, "reasons": reasons, "recommended": recommended},
            f"not offered to {provider_id}: {refused}",
            package_id=package_id,
        )
    return answer
