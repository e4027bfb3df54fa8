"""Providers in the book: created, changed and read as the core's `Provider` records.

An embargo, a lifted embargo or new capacity by band is a plain change of the record; what it
does to offers is decided when an offer is made (`store.offers`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.geography import PostcodeIndex
from allocator.model import Provider
from store.book_state import bump_version
from store.errors import Conflict, NotFound, Refused
from store.policies import active_policy
from store.records import fill_provider_row, provider_of, resolve_provider, validated
from store.tables import ProviderRow

LOCATION = ("lat", "lon")


def create_provider(
    session: Session,
    provider: Provider | Mapping[str, Any],
    postcodes: PostcodeIndex | None = None,
) -> Provider:
    """Add a provider; pydantic's ValidationError for a bad record, ScenarioError when it does
    not fit the policy in force (unknown zone or specialism) or its postcode is unknown."""
    record = validated(Provider, provider)
    if session.get(ProviderRow, record.id) is not None:
        raise Conflict(f"provider {record.id!r} already exists")
    resolved = resolve_provider(
        active_policy(session).policy, record, _provider_ids(session), postcodes
    )
    row = ProviderRow()
    fill_provider_row(row, resolved)
    session.add(row)
    session.flush()
    bump_version(session, row)
    return resolved


def update_provider(
    session: Session,
    provider_id: str,
    changes: Mapping[str, Any],
    postcodes: PostcodeIndex | None = None,
) -> Provider:
    """Change fields of a provider's record, e.g. `{"status": "embargoed"}` or
    `{"capacity_minutes": {"morning": 900, ...}}`; validated as `create_provider` is."""
    row = _locked(session, provider_id)
    if changes.get("id", provider_id) != provider_id:
        raise Refused("a provider's id cannot change")
    merged = {**row.record, **changes}
    if "base_postcode" in changes and not set(LOCATION) & set(changes):
        merged = {k: v for k, v in merged.items() if k not in LOCATION}
    resolved = resolve_provider(
        active_policy(session).policy,
        Provider.model_validate(merged),
        _provider_ids(session),
        postcodes,
    )
    fill_provider_row(row, resolved)
    bump_version(session, row)
    return resolved


def get_provider(session: Session, provider_id: str) -> Provider:
    row = session.get(ProviderRow, provider_id)
    if row is None:
        raise NotFound("provider", provider_id)
    return provider_of(row)


def list_providers(session: Session) -> list[Provider]:
    """Every provider, by id."""
    return [
        provider_of(row) for row in session.scalars(select(ProviderRow).order_by(ProviderRow.id))
    ]


def _locked(session: Session, provider_id: str) -> ProviderRow:
    row = session.get(ProviderRow, provider_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise NotFound("provider", provider_id)
    return row


def _provider_ids(session: Session) -> list[str]:
    return list(session.scalars(select(ProviderRow.id)))
