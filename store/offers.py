"""The offer lifecycle brokers run: offer, accept or decline (or withdraw), start, hand back.

Each step is one write transaction (`store.database.write_transaction`) that checks the state
it starts from, changes the book, bumps its version and appends an audit event, so two brokers
racing for the last capacity of a provider can never both win, and the trail always says why
the book is as it is. Locks are taken in one order (providers by id, then the package, then the
offer) so that concurrent steps on PostgreSQL never deadlock.

    package  waiting --make_offer--> offered --accept_offer--> placed --hand_back--> waiting
             offered --decline_offer or withdraw_offer--> waiting
    offer    offered --> accepted --start_placement--> started --hand_back--> handed_back
             offered --> declined | withdrawn; accepted --hand_back--> handed_back
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from allocator.eligibility import CAPACITY, eligibility
from allocator.model import CarePackage, Provider
from allocator.scenario import Scenario
from store import audit
from store.book_state import bump_version
from store.capacity import lot_mates, shortfalls
from store.database import lock_rows, write_transaction
from store.errors import Conflict, Ineligible, InvalidTransition, NotFound
from store.policies import StoredPolicy, active_policy
from store.records import package_of, provider_of
from store.tables import OfferRow, OfferState, PackageRow, PackageState, ProviderRow


@dataclass(frozen=True)
class Offer:
    id: int
    package_id: str
    provider_id: str
    state: OfferState
    reason: str | None
    actor: str
    created_at: datetime
    updated_at: datetime


def make_offer(
    session_factory: sessionmaker[Session], package_id: str, provider_id: str, actor: str, role: str
) -> Offer:
    """Offer a waiting package to a provider that may take it and has room; the offer holds
    the room until it is answered.

    Raises NotFound, InvalidTransition (the package is not waiting), Ineligible (a hard filter
    of the policy in force rules the pair out, a decline included) or Conflict naming each band
    or cap that ran out.
    """
    with write_transaction(session_factory) as session:
        policy = active_policy(session)
        lock_rows(session, ProviderRow.id, {provider_id} | lot_mates(policy.policy, provider_id))
        lock_rows(session, PackageRow.id, [package_id])
        provider_row = _get(session, ProviderRow, "provider", provider_id)
        package_row = _get(session, PackageRow, "package", package_id)
        if package_row.state != PackageState.WAITING:
            raise InvalidTransition(f"package {package_id} is {package_row.state}, not waiting")
        provider = provider_of(provider_row)
        package = package_of(package_row, declined_providers(session, package_id))
        _check_eligible(policy, provider, package)
        need = package.carer_minutes_by_band()
        short = shortfalls(session, policy.policy, provider, need)
        if short:
            raise Conflict(f"no room for package {package_id} with {provider_id}", tuple(short))
        offer = OfferRow(
            package_id=package_id, provider_id=provider_id, state=OfferState.OFFERED, actor=actor
        )
        session.add(offer)
        package_row.state = PackageState.OFFERED
        hours = sum(need.values()) / 60
        return _done(
            session,
            offer,
            package_row,
            policy,
            actor,
            role,
            "make_offer",
            f"offered to {provider_id}: {hours:.2f} carer hours a week held until answered",
        )


def accept_offer(
    session_factory: sessionmaker[Session], offer_id: int, actor: str, role: str
) -> Offer:
    """The provider takes the package: it is placed there."""
    with write_transaction(session_factory) as session:
        offer, package_row = _locked_offer(session, offer_id)
        _expect(offer, OfferState.OFFERED, "accepted")
        offer.state = OfferState.ACCEPTED
        _place(package_row, offer.provider_id)
        return _done(
            session,
            offer,
            package_row,
            active_policy(session),
            actor,
            role,
            "accept_offer",
            f"accepted by {offer.provider_id}: placed there",
        )


def decline_offer(
    session_factory: sessionmaker[Session], offer_id: int, reason: str, actor: str, role: str
) -> Offer:
    """The provider declines, saying why: the package waits again and is never offered to that
    provider again (`declined_providers`)."""
    reason = _required(reason)
    with write_transaction(session_factory) as session:
        offer, package_row = _locked_offer(session, offer_id)
        _expect(offer, OfferState.OFFERED, "declined")
        offer.state = OfferState.DECLINED
        offer.reason = reason
        package_row.state = PackageState.WAITING
        return _done(
            session,
            offer,
            package_row,
            active_policy(session),
            actor,
            role,
            "decline_offer",
            f"declined by {offer.provider_id}: {reason}; not to be offered there again",
        )


def withdraw_offer(
    session_factory: sessionmaker[Session],
    offer_id: int,
    actor: str,
    role: str,
    reason: str | None = None,
) -> Offer:
    """The broker takes an unanswered offer back: the package waits again, the pair stays open."""
    with write_transaction(session_factory) as session:
        offer, package_row = _locked_offer(session, offer_id)
        _expect(offer, OfferState.OFFERED, "withdrawn")
        offer.state = OfferState.WITHDRAWN
        offer.reason = reason
        package_row.state = PackageState.WAITING
        return _done(
            session,
            offer,
            package_row,
            active_policy(session),
            actor,
            role,
            "withdraw_offer",
            f"withdrawn from {offer.provider_id}" + (f": {reason}" if reason else ""),
        )


def start_placement(
    session_factory: sessionmaker[Session], offer_id: int, actor: str, role: str
) -> Offer:
    """Care has started under an accepted offer."""
    with write_transaction(session_factory) as session:
        offer, package_row = _locked_offer(session, offer_id)
        _expect(offer, OfferState.ACCEPTED, "started")
        offer.state = OfferState.STARTED
        return _done(
            session,
            offer,
            package_row,
            active_policy(session),
            actor,
            role,
            "start_placement",
            f"care started with {offer.provider_id}",
        )


def hand_back(
    session_factory: sessionmaker[Session], package_id: str, reason: str, actor: str, role: str
) -> Offer | None:
    """The provider can no longer staff a placed package: it waits again from today, with no
    current provider (and no pin). The offer that placed it, if any, becomes `handed_back` and is
    returned; a placement imported with the book has none, and the audit trail alone keeps it.
    """
    reason = _required(reason)
    with write_transaction(session_factory) as session:
        policy = active_policy(session)
        provider_id = _get(session, PackageRow, "package", package_id).provider_id
        if provider_id is None:
            raise InvalidTransition(f"package {package_id} is not placed; nothing to hand back")
        lock_rows(session, ProviderRow.id, [provider_id])
        lock_rows(session, PackageRow.id, [package_id])
        package_row = _get(session, PackageRow, "package", package_id, refresh=True)
        if package_row.provider_id != provider_id:
            raise Conflict(f"package {package_id} moved while being handed back; try again")
        offer = session.scalar(
            select(OfferRow)
            .where(
                OfferRow.package_id == package_id,
                OfferRow.provider_id == provider_id,
                OfferRow.state.in_([OfferState.ACCEPTED, OfferState.STARTED]),
            )
            .order_by(OfferRow.id.desc())
            .with_for_update()
        )
        _place(package_row, None)
        explanation = f"handed back by {provider_id}: {reason}; waiting again from today"
        if offer is not None:
            offer.state = OfferState.HANDED_BACK
            offer.reason = reason
            return _done(session, offer, package_row, policy, actor, role, "hand_back", explanation)
        inputs = {"package_id": package_id, "provider_id": provider_id, "reason": reason}
        _audit(session, package_row, policy, actor, role, "hand_back", inputs, explanation)
        return None


def get_offer(session: Session, offer_id: int) -> Offer:
    return _offer(_get(session, OfferRow, "offer", offer_id))


def list_offers(
    session: Session,
    package_id: str | None = None,
    provider_id: str | None = None,
    state: OfferState | None = None,
) -> list[Offer]:
    """Offers oldest first, optionally for one package, one provider or in one state."""
    query = select(OfferRow).order_by(OfferRow.id)
    if package_id is not None:
        query = query.where(OfferRow.package_id == package_id)
    if provider_id is not None:
        query = query.where(OfferRow.provider_id == provider_id)
    if state is not None:
        query = query.where(OfferRow.state == state)
    return [_offer(row) for row in session.scalars(query)]


def declined_providers(session: Session, package_id: str) -> set[str]:
    """Providers that have declined the package: the pair is excluded from then on."""
    query = select(OfferRow.provider_id).where(
        OfferRow.package_id == package_id, OfferRow.state == OfferState.DECLINED
    )
    return set(session.scalars(query))


def _check_eligible(policy: StoredPolicy, provider: Provider, package: CarePackage) -> None:
    """The core's hard filters for this one pair; room is checked apart, against live numbers."""
    pair = Scenario(policy=policy.policy, providers=(provider,), packages=(package,))
    rules = eligibility(pair)
    reasons = tuple(
        f"{provider.id} {rule.describe(pair, 0, 0)}"
        for rule in rules.rules_failing(0, 0)
        if rule is not CAPACITY
    )
    if reasons:
        raise Ineligible(package.id, provider.id, reasons)


def _get(session: Session, table: type[Any], kind: str, key: object, refresh: bool = False) -> Any:
    row = session.get(table, key, populate_existing=refresh)
    if row is None:
        raise NotFound(kind, key)
    return row


def _locked_offer(session: Session, offer_id: int) -> tuple[OfferRow, PackageRow]:
    """The offer and its package, read again after their provider and package are locked."""
    found = _get(session, OfferRow, "offer", offer_id)
    lock_rows(session, ProviderRow.id, [found.provider_id])
    lock_rows(session, PackageRow.id, [found.package_id])
    session.refresh(found, with_for_update=True)
    return found, _get(session, PackageRow, "package", found.package_id, refresh=True)


def _expect(offer: OfferRow, state: OfferState, step: str) -> None:
    if offer.state != state:
        raise InvalidTransition(f"offer {offer.id} is {offer.state}; only {state} can be {step}")


def _required(reason: str) -> str:
    if not reason or not reason.strip():
        raise ValueError("a reason is required")
    return reason.strip()


def _place(row: PackageRow, provider_id: str | None) -> None:
    """Set the placement column and keep the record's `current_provider` (and pin) in step."""
    record = {**row.record, "current_provider": provider_id}
    if provider_id is None:
        record["pinned"] = False
        row.pinned = False
        row.state = PackageState.WAITING
        row.waiting_since = date.today()
    else:
        row.state = PackageState.PLACED
        row.waiting_since = None
    row.provider_id = provider_id
    row.record = record


def _done(
    session: Session,
    offer: OfferRow,
    package: PackageRow,
    policy: StoredPolicy,
    actor: str,
    role: str,
    action: str,
    explanation: str,
) -> Offer:
    session.flush()
    done = _offer(offer)
    inputs = {"offer_id": offer.id, "package_id": offer.package_id}
    inputs |= {"provider_id": offer.provider_id, "reason": offer.reason}
    _audit(session, package, policy, actor, role, action, inputs, explanation, done)
    return done


def _audit(
    session: Session,
    package: PackageRow,
    policy: StoredPolicy,
    actor: str,
    role: str,
    action: str,
    inputs: dict[str, Any],
    explanation: str,
    result: Offer | None = None,
) -> None:
    """Count the change as one to `package` (an offer's change is its package's) and record it."""
    version = bump_version(session, package)
    audit.record(
        session,
        actor=actor,
        role=role,
        action=action,
        package_id=package.id,
        inputs_hash=audit.inputs_hash(
            {"action": action, **inputs, "book_version": version - 1, "policy": policy.label}
        ),
        policy_version=policy.label,
        result={"offer": asdict(result) if result else None, "book_version": version},
        explanation=explanation,
    )


def _offer(row: OfferRow) -> Offer:
    return Offer(
        row.id,
        row.package_id,
        row.provider_id,
        OfferState(row.state),
        row.reason,
        row.actor,
        row.created_at,
        row.updated_at,
    )
