"""Packages as the service lists them: filtered in SQL, a page at a time, and only those a
provider may see when a provider asks (placed with it, or offered to it and not yet answered).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import Session

from store.records import BookPackage, book_package_of
from store.tables import OfferRow, OfferState, PackageRow, PackageState


def search_packages(
    session: Session,
    *,
    state: PackageState | None = None,
    zone: str | None = None,
    visible_to: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[BookPackage]:
    """Packages by id, optionally in one state or zone, or visible to one provider."""
    query = select(PackageRow).order_by(PackageRow.id).offset(offset).limit(limit)
    if state is not None:
        query = query.where(PackageRow.state == state)
    if zone is not None:
        query = query.where(PackageRow.zone == zone)
    if visible_to is not None:
        query = _visible_to(query, visible_to)
    return [book_package_of(row) for row in session.scalars(query)]


def is_visible_to(session: Session, package_id: str, provider_id: str) -> bool:
    """Whether the package is placed with the provider or offered to it now."""
    query = _visible_to(select(PackageRow.id).where(PackageRow.id == package_id), provider_id)
    return session.scalar(query) is not None


def waiting_since(session: Session) -> dict[str, date]:
    """Package id -> since when it has waited, for every package waiting or offered."""
    query = select(PackageRow.id, PackageRow.waiting_since).where(
        PackageRow.waiting_since.is_not(None)
    )
    return {package_id: since for package_id, since in session.execute(query)}


def _visible_to(query: Select, provider_id: str) -> Select:
    offered = exists().where(
        OfferRow.package_id == PackageRow.id,
        OfferRow.provider_id == provider_id,
        OfferRow.state == OfferState.OFFERED,
    )
    return query.where(or_(PackageRow.provider_id == provider_id, offered))
