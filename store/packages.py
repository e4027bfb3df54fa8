"""Packages in the book: created, changed and read as the core's `CarePackage` records.

Where a package is placed moves only through offers and hand-backs (`store.offers`), so a change
here may alter the care needed but never the placement.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.geography import PostcodeIndex
from allocator.model import CarePackage
from store.book_state import bump_version
from store.errors import Conflict, NotFound, Refused
from store.policies import active_policy
from store.records import (
    BookPackage,
    book_package_of,
    fill_package_row,
    resolve_package,
    validated,
)
from store.tables import PackageRow, PackageState, ProviderRow

PLACEMENT_FIELDS = ("id", "current_provider")
"""Fields `update_package` may not change."""
DERIVED_FROM_POSTCODE = ("zone", "lat", "lon")


def create_package(
    session: Session,
    package: CarePackage | Mapping[str, Any],
    postcodes: PostcodeIndex | None = None,
) -> BookPackage:
    """Add a package: placed if it names its current provider, else waiting since its referral.

    Pydantic's ValidationError for a bad record; ScenarioError when it does not fit the policy in
    force or the book (unknown zone, provider or postcode).
    """
    record = validated(CarePackage, package)
    if session.get(PackageRow, record.id) is not None:
        raise Conflict(f"package {record.id!r} already exists")
    resolved = _resolved(session, record, postcodes)
    placed = resolved.current_provider is not None
    row = PackageRow(
        state=PackageState.PLACED if placed else PackageState.WAITING,
        provider_id=resolved.current_provider,
        waiting_since=None if placed else resolved.referral_date,
    )
    fill_package_row(row, resolved)
    session.add(row)
    session.flush()
    bump_version(session, row)
    return book_package_of(row)


def update_package(
    session: Session,
    package_id: str,
    changes: Mapping[str, Any],
    postcodes: PostcodeIndex | None = None,
) -> BookPackage:
    """Change fields of a package's record (visits after a review, a new exclusion, ...).

    A new postcode without a zone or coordinates gets them afresh from the policy and tables.
    """
    row = session.get(PackageRow, package_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise NotFound("package", package_id)
    for name in PLACEMENT_FIELDS:
        if name in changes and changes[name] != row.record.get(name):
            raise Refused(f"{name} cannot be changed here: placements move through offers")
    merged = {**row.record, **changes, "current_provider": row.provider_id}
    if "postcode" in changes and not set(DERIVED_FROM_POSTCODE) & set(changes):
        merged = {k: v for k, v in merged.items() if k not in DERIVED_FROM_POSTCODE}
    fill_package_row(row, _resolved(session, CarePackage.model_validate(merged), postcodes))
    bump_version(session, row)
    return book_package_of(row)


def get_package(session: Session, package_id: str) -> BookPackage:
    row = session.get(PackageRow, package_id)
    if row is None:
        raise NotFound("package", package_id)
    return book_package_of(row)


def list_packages(
    session: Session, state: PackageState | None = None, provider_id: str | None = None
) -> list[BookPackage]:
    """Packages by id, optionally only those in `state` or placed with `provider_id`."""
    query = select(PackageRow).order_by(PackageRow.id)
    if state is not None:
        query = query.where(PackageRow.state == state)
    if provider_id is not None:
        query = query.where(PackageRow.provider_id == provider_id)
    return [book_package_of(row) for row in session.scalars(query)]


def _resolved(
    session: Session, package: CarePackage, postcodes: PostcodeIndex | None
) -> CarePackage:
    provider_ids = session.scalars(select(ProviderRow.id))
    return resolve_package(active_policy(session).policy, package, provider_ids, postcodes)
