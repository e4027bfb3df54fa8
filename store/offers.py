"""The offer lifecycle brokers run: offer, accept or decline (or withdraw), start, hand back;
for a waiting package (a placement) or a placed one going to another provider (a move).

Each step is one write transaction (`store.database.write_transaction`) that checks the state
it starts from, changes the book, bumps its version and appends an audit event, so two brokers
racing for the last capacity of a provider can never both win, and the trail always says why
the book is as it is. Locks are taken in one order (providers by id, then the package, then the
offer) so that concurrent steps on PostgreSQL never deadlock.

While a move offer is open the package stays placed, its care going on, and the offer holds the
room at the new provider: the package holds capacity at both until the offer is answered.
Accepted, it is placed with the new provider (its old room is freed, and the offer that placed
it there ends as `moved`); declined or withdrawn, nothing changes. A declined move excludes the
pair as a declined placement does: a provider that turned the person down is not asked again, so
no later rebalance proposes the same move either.

    package  waiting --make_offer--> offered --accept_offer--> placed --hand_back--> waiting
             offered --decline_offer or withdraw_offer--> waiting
             placed --make_move_offer, then accept_offer--> placed with the new provider
    offer    offered --> accepted --start_placement--> started --hand_back--> handed_back
             offered --> declined | withdrawn; accepted --hand_back--> handed_back
             accepted | started --a move offer accepted--> moved
             offered (a move) --hand_back of its package--> withdrawn
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from allocator.eligibility import CAPACITY, eligibility
from allocator.model import Band, CarePackage, Provider
from allocator.scenario import Scenario
from store import audit
from store.book_state import bump_version
from store.capacity import lot_mates, shortfalls
from store.database import lock_rows, write_transaction
from store.errors import Conflict, Ineligible, InvalidTransition, NotFound, Refused
from store.move_proposals import proposed_move
from store.policies import StoredPolicy, active_policy
from store.records import package_of, provider_of
from store.tables import OfferKind, OfferRow, OfferState, PackageRow, PackageState, ProviderRow


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
    kind: OfferKind
    from_provider_id: str | None
    """A move's provider, with which the package stays placed until the move is accepted."""
    job_id: str | None
    """The rebalance job that proposed the move, if one did."""
    proposal: str | None
    """What that job said the move frees and gains."""


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
        policy, package_row, provider = _locked_pair(session, package_id, provider_id)
        if package_row.state != PackageState.WAITING:
            raise InvalidTransition(f"package {package_id} is {package_row.state}, not waiting")
        package = package_of(package_row, declined_providers(session, package_id))
        need = _room(session, policy, provider, package)
        offer = OfferRow(
            package_id=package_id, provider_id=provider_id, state=OfferState.OFFERED, actor=actor
        )
        session.add(offer)
        package_row.state = PackageState.OFFERED
        return _done(
            session,
            offer,
            package_row,
            policy,
            actor,
            role,
            "make_offer",
            f"offered to {provider_id}: {_hours(need)} carer hours a week held until answered",
        )


def make_move_offer(
    session_factory: sessionmaker[Session],
    package_id: str,
    provider_id: str,
    actor: str,
    role: str,
    job_id: str | None = None,
) -> Offer:
    """Offer a placed package to another provider that may take it and has room; its care goes
    on where it is until the offer is accepted, and the offer holds the room meanwhile. `job_id`
    names the rebalance job that proposed the move: the offer carries its explanation.

    Raises what `make_offer` raises, InvalidTransition when the package is not placed, is pinned,
    is placed with that provider already or has an open offer, and what `proposed_move` raises.
    """
    with write_transaction(session_factory) as session:
        policy, package_row, provider = _locked_pair(session, package_id, provider_id)
        from_id = _movable(session, package_row, provider_id)
        proposal = (
            None
            if job_id is None
            else proposed_move(session, job_id, package_id, from_id, provider_id)
        )
        # Going elsewhere is a new call-off: what exempts staying with the current provider
        # (zone, CQC floor, embargo) does not apply.
        package = package_of(package_row, declined_providers(session, package_id)).model_copy(
            update={"current_provider": None}
        )
        need = _room(session, policy, provider, package)
        offer = OfferRow(
            package_id=package_id,
            provider_id=provider_id,
            state=OfferState.OFFERED,
            actor=actor,
            kind=OfferKind.MOVE,
            from_provider_id=from_id,
            job_id=job_id,
            proposal=proposal,
        )
        session.add(offer)
        return _done(
            session,
            offer,
            package_row,
            policy,
            actor,
            role,
            "make_move_offer",
            f"move from {from_id} to {provider_id} offered: {_hours(need)} carer hours a week "
            f"held at {provider_id} until answered, care going on with {from_id} meanwhile"
            + _why(offer),
        )


def accept_offer(
    session_factory: sessionmaker[Session], offer_id: int, actor: str, role: str
) -> Offer:
    """The provider takes the package: it is placed there (a move's old room is freed)."""
    with write_transaction(session_factory) as session:
        offer, package_row = _locked_offer(session, offer_id)
        _expect(offer, OfferState.OFFERED, "accepted")
        action, explanation = "accept_offer", f"accepted by {offer.provider_id}: placed there"
        if offer.kind == OfferKind.MOVE:
            _move_away(session, offer, package_row)
            action = "accept_move"
            explanation = (
                f"move accepted by {offer.provider_id}: placed there, its room with "
                f"{offer.from_provider_id} freed" + _why(offer)
            )
        offer.state = OfferState.ACCEPTED
        _place(package_row, offer.provider_id)
        return _done(
            session,
            offer,
            package_row,
            active_policy(session),
            actor,
            role,
            action,
            explanation,
        )


def decline_offer(
    session_factory: sessionmaker[Session], offer_id: int, reason: str, actor: str, role: str
) -> Offer:
    """The provider declines, saying why: the package waits again (a move's stays where it is
    placed) and is never offered to that provider again (`declined_providers`)."""
    reason = _required(reason)
    with write_transaction(session_factory) as session:
        offer, package_row = _locked_offer(session, offer_id)
        _expect(offer, OfferState.OFFERED, "declined")
        offer.state = OfferState.DECLINED
        offer.reason = reason
        action = "decline_offer"
        explanation = f"declined by {offer.provider_id}: {reason}; not to be offered there again"
        if offer.kind == OfferKind.MOVE:
            action = "decline_move"
            explanation = (
                f"move declined by {offer.provider_id}: {reason}; staying with "
                f"{offer.from_provider_id}, and not to be offered to {offer.provider_id} again"
                + _why(offer)
            )
        else:
            package_row.state = PackageState.WAITING
        return _done(
            session,
            offer,
            package_row,
            active_policy(session),
            actor,
            role,
            action,
            explanation,
        )


def withdraw_offer(
    session_factory: sessionmaker[Session],
    offer_id: int,
    actor: str,
    role: str,
    reason: str | None = None,
) -> Offer:
    """The broker takes an unanswered offer back: the package waits again (a move's stays where
    it is placed), the pair stays open."""
    with write_transaction(session_factory) as session:
        offer, package_row = _locked_offer(session, offer_id)
        _expect(offer, OfferState.OFFERED, "withdrawn")
        offer.state = OfferState.WITHDRAWN
        offer.reason = reason
        action = "withdraw_offer"
        explanation = f"withdrawn from {offer.provider_id}" + (f": {reason}" if reason else "")
        if offer.kind == OfferKind.MOVE:
            action = "withdraw_move"
            explanation += f"; staying with {offer.from_provider_id}" + _why(offer)
        else:
            package_row.state = PackageState.WAITING
        return _done(
            session,
            offer,
            package_row,
            active_policy(session),
            actor,
            role,
            action,
            explanation,
        )


def start_placement(
    session_factory: sessionmaker[Session], offer_id: int, actor: str, role: str
) -> Offer:
    """Care has started under an accepted offer (after a move: with the new provider)."""
    with write_transaction(session_factory) as session:
        offer, package_row = _locked_offer(session, offer_id)
        _expect(offer, OfferState.ACCEPTED, "started")
        offer.state = OfferState.STARTED
        explanation = f"care started with {offer.provider_id}"
        if offer.kind == OfferKind.MOVE:
            explanation += f", moved from {offer.from_provider_id}" + _why(offer)
        return _done(
            session,
            offer,
            package_row,
            active_policy(session),
            actor,
            role,
            "start_placement",
            explanation,
        )


def hand_back(
    session_factory: sessionmaker[Session], package_id: str, reason: str, actor: str, role: str
) -> Offer | None:
    """The provider can no longer staff a placed package: it waits again from today, with no
    current provider (and no pin). The offer that placed it, if any, becomes `handed_back` and is
    returned; a placement imported with the book has none, and the audit trail alone keeps it.
    An open move offer of the package is withdrawn: it was a move from a placement now ended.
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
        offer = _placing_offer(session, package_id, provider_id)
        _place(package_row, None)
        explanation = f"handed back by {provider_id}: {reason}; waiting again from today"
        move = _open_offer(session, package_id)
        if move is not None:
            move.state = OfferState.WITHDRAWN
            move.reason = f"handed back by {provider_id} before the move was answered"
            explanation += f"; the move offer to {move.provider_id} withdrawn"
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
    kind: OfferKind | None = None,
) -> list[Offer]:
    """Offers oldest first, optionally for one package, one provider, in one state or of one
    kind."""
    query = select(OfferRow).order_by(OfferRow.id)
    if package_id is not None:
        query = query.where(OfferRow.package_id == package_id)
    if provider_id is not None:
        query = query.where(OfferRow.provider_id == provider_id)
    if state is not None:
        query = query.where(OfferRow.state == state)
    if kind is not None:
        query = query.where(OfferRow.kind == kind)
    return [_offer(row) for row in session.scalars(query)]


def declined_providers(session: Session, package_id: str) -> set[str]:
    """Providers that have declined the package: the pair is excluded from then on."""
    query = select(OfferRow.provider_id).where(
        OfferRow.package_id == package_id, OfferRow.state == OfferState.DECLINED
    )
    return set(session.scalars(query))


def _locked_pair(
    session: Session, package_id: str, provider_id: str
) -> tuple[StoredPolicy, PackageRow, Provider]:
    """The policy in force, the package and the provider, read once the provider (with those
    sharing a capped lot with it, whose room it shares) and the package are locked."""
    policy = active_policy(session)
    lock_rows(session, ProviderRow.id, {provider_id} | lot_mates(policy.policy, provider_id))
    lock_rows(session, PackageRow.id, [package_id])
    provider = provider_of(_get(session, ProviderRow, "provider", provider_id))
    return policy, _get(session, PackageRow, "package", package_id), provider


def _room(
    session: Session, policy: StoredPolicy, provider: Provider, package: CarePackage
) -> dict[Band, int]:
    """The package's weekly carer minutes by band, once the provider may take it (Ineligible
    otherwise) and has room for them beside everything it holds (Conflict otherwise)."""
    _check_eligible(policy, provider, package)
    need = package.carer_minutes_by_band()
    short = shortfalls(session, policy.policy, provider, need)
    if short:
        raise Conflict(f"no room for package {package.id} with {provider.id}", tuple(short))
    return need


def _movable(session: Session, package_row: PackageRow, provider_id: str) -> str:
    """The provider the package is placed with, if it may be offered to `provider_id`."""
    package_id = package_row.id
    if package_row.state != PackageState.PLACED:
        raise InvalidTransition(f"package {package_id} is {package_row.state}, not placed")
    if package_row.pinned:
        raise InvalidTransition(
            f"package {package_id} is pinned to {package_row.provider_id}: it never moves"
        )
    if package_row.provider_id == provider_id:
        raise InvalidTransition(f"package {package_id} is placed with {provider_id} already")
    open_offer = _open_offer(session, package_id)
    if open_offer is not None:
        raise InvalidTransition(
            f"package {package_id} has an open offer ({open_offer.id}); answer or withdraw it first"
        )
    assert package_row.provider_id is not None
    return package_row.provider_id


def _move_away(session: Session, offer: OfferRow, package_row: PackageRow) -> None:
    """End the placement a move offer takes the package from (a pin made meanwhile forbids it)."""
    if package_row.pinned:
        raise InvalidTransition(
            f"package {package_row.id} has been pinned to {offer.from_provider_id} since the "
            "move was offered: it never moves; withdraw the offer"
        )
    assert offer.from_provider_id is not None
    ended = _placing_offer(session, package_row.id, offer.from_provider_id)
    if ended is not None:
        ended.state = OfferState.MOVED
        ended.reason = f"moved to {offer.provider_id} (offer {offer.id})"


def _open_offer(session: Session, package_id: str) -> OfferRow | None:
    """The package's offer not yet answered, if any (there is at most one)."""
    return session.scalar(
        select(OfferRow)
        .where(OfferRow.package_id == package_id, OfferRow.state == OfferState.OFFERED)
        .with_for_update()
    )


def _placing_offer(session: Session, package_id: str, provider_id: str) -> OfferRow | None:
    """The accepted offer that placed the package with the provider, if it came by one."""
    return session.scalar(
        select(OfferRow)
        .where(
            OfferRow.package_id == package_id,
            OfferRow.provider_id == provider_id,
            OfferRow.state.in_([OfferState.ACCEPTED, OfferState.STARTED]),
        )
        .order_by(OfferRow.id.desc())
        .with_for_update()
    )


def _why(offer: OfferRow) -> str:
    """The rebalance job's explanation of a move offer, if a job proposed it."""
    return (
        ""
        if offer.job_id is None
        else f"; proposed by rebalance job {offer.job_id}: {offer.proposal}"
    )


def _hours(need: dict[Band, int]) -> str:
    return f"{sum(need.values()) / 60:.2f}"


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
        raise Refused("a reason is required")
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
    if offer.kind == OfferKind.MOVE:
        inputs |= {"from_provider_id": offer.from_provider_id, "job_id": offer.job_id}
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
        OfferKind(row.kind),
        row.from_provider_id,
        row.job_id,
        row.proposal,
    )
