"""How much room a provider has left, from what is placed with it and what it has been offered.

Room is counted in weekly carer minutes per band (a double-up call counts twice), summed in SQL
over the packages placed with a provider and over its open offers: an offer holds its capacity
until it is accepted (then the placement holds it), declined or withdrawn. Caps in hours (the
provider's own, and a capped lot's over all its providers) count every band together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocator.book import cap_minutes
from allocator.model import BANDS, Band, Provider
from allocator.policy import Policy
from store.errors import Shortfall
from store.tables import BAND_COLUMNS, OfferRow, OfferState, PackageRow


def committed_minutes(session: Session, provider_ids: Iterable[str]) -> dict[str, dict[Band, int]]:
    """Per provider and band: minutes placed with it plus minutes of its open offers."""
    ids = sorted(set(provider_ids))
    committed = {pid: dict.fromkeys(BANDS, 0) for pid in ids}
    sums = [func.coalesce(func.sum(BAND_COLUMNS[band]), 0) for band in BANDS]
    placed = (
        select(PackageRow.provider_id, *sums)
        .where(PackageRow.provider_id.in_(ids))
        .group_by(PackageRow.provider_id)
    )
    offered = (
        select(OfferRow.provider_id, *sums)
        .join(PackageRow, PackageRow.id == OfferRow.package_id)
        .where(OfferRow.provider_id.in_(ids), OfferRow.state == OfferState.OFFERED)
        .group_by(OfferRow.provider_id)
    )
    for query in (placed, offered):
        for provider_id, *minutes in session.execute(query):
            for band, used in zip(BANDS, minutes, strict=True):
                committed[provider_id][band] += int(used)
    return committed


def lot_mates(policy: Policy, provider_id: str) -> set[str]:
    """Providers sharing a capped lot with `provider_id` (itself included when it has one)."""
    return {
        member
        for lot in policy.lots
        if lot.max_weekly_hours is not None and provider_id in lot.providers
        for member in lot.providers
    }


def shortfalls(
    session: Session, policy: Policy, provider: Provider, need: Mapping[Band, int]
) -> list[Shortfall]:
    """Every limit that `need` (weekly minutes by band) would break at `provider`; empty if it
    fits: each band's capacity, the provider's weekly hours cap and each capped lot's."""
    committed = committed_minutes(session, {provider.id} | lot_mates(policy, provider.id))
    used = committed[provider.id]
    found = [
        Shortfall(provider.id, band.value, need[band], provider.capacity(band) - used[band])
        for band in BANDS
        if need.get(band, 0) > 0 and need[band] > provider.capacity(band) - used[band]
    ]
    total = sum(need.values())
    if provider.max_weekly_hours is not None:
        free = cap_minutes(provider.max_weekly_hours) - sum(used.values())
        if total > free:
            found.append(Shortfall(provider.id, "max_weekly_hours", total, free))
    for lot in policy.lots:
        if lot.max_weekly_hours is None or provider.id not in lot.providers:
            continue
        lot_used = sum(sum(committed[member].values()) for member in lot.providers)
        free = cap_minutes(lot.max_weekly_hours) - lot_used
        if total > free:
            found.append(Shortfall(provider.id, f"lot {lot.name}", total, free))
    return found
