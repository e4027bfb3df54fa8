"""Rows to the core's records and back, and the core's own checks on records the book takes in.

The JSON record is the core model dumped whole; the columns beside it are derived from it here
and nowhere else, so the two cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from allocator.errors import InputError, ScenarioError
from allocator.geography import PostcodeIndex
from allocator.io.geo_tables import load_postcode_index
from allocator.model import CarePackage, Provider
from allocator.policy import Policy
from allocator.resolve import Sources, resolve_records
from store.tables import PackageRow, PackageState, ProviderRow

NO_POSTCODES = PostcodeIndex({}, {}, {})


@dataclass(frozen=True)
class BookPackage:
    """A package as the book holds it: the core's record (whose `current_provider` is the
    placement) and where it stands in brokerage."""

    package: CarePackage
    state: PackageState
    waiting_since: date | None
    updated_at: datetime

    @property
    def id(self) -> str:
        return self.package.id

    @property
    def provider_id(self) -> str | None:
        return self.package.current_provider


def provider_of(row: ProviderRow) -> Provider:
    return Provider.model_validate(row.record)


def package_of(row: PackageRow, excluded: Iterable[str] = ()) -> CarePackage:
    """The core's record with the placement from the column and `excluded` added (declines)."""
    return _placed(row.record, row.provider_id, excluded)


def package_of_json(
    record_json: str, provider_id: str | None, excluded: Collection[str] = ()
) -> CarePackage:
    """`package_of` for a record read as JSON text, which pydantic parses and checks in one pass
    (a third faster than from a dict, and the whole book's load is mostly this). The stored
    record already has the column's placement, so only a package with declines is checked twice."""
    package = CarePackage.model_validate_json(record_json)
    if package.current_provider == provider_id and set(excluded) <= set(package.excluded_providers):
        return package
    return _placed(json.loads(record_json), provider_id, excluded)


def _placed(
    record: Mapping[str, Any], provider_id: str | None, excluded: Iterable[str]
) -> CarePackage:
    placed = dict(record)
    placed["current_provider"] = provider_id
    placed["excluded_providers"] = sorted({*placed.get("excluded_providers", ()), *excluded})
    return CarePackage.model_validate(placed)


def book_package_of(row: PackageRow) -> BookPackage:
    return BookPackage(package_of(row), PackageState(row.state), row.waiting_since, row.updated_at)


def fill_provider_row(row: ProviderRow, provider: Provider) -> None:
    row.id = provider.id
    row.name = provider.name
    row.status = provider.status.value
    row.record = provider.model_dump(mode="json")


def fill_package_row(row: PackageRow, package: CarePackage) -> None:
    """Everything but `state`, `provider_id` and `waiting_since`, which brokerage moves."""
    assert package.zone is not None, "store resolved packages only"
    row.id = package.id
    row.zone = package.zone
    row.urgency = package.urgency.value
    row.referral_date = package.referral_date
    row.pinned = package.pinned
    for band, minutes in package.carer_minutes_by_band().items():
        setattr(row, f"{band.value}_minutes", minutes)
    row.record = package.model_dump(mode="json")


Record = TypeVar("Record", Provider, CarePackage)


def validated(model: type[Record], given: Record | Mapping[str, Any]) -> Record:
    """The record as the core's model; pydantic's ValidationError lists what is wrong."""
    return given if isinstance(given, model) else model.model_validate(given)


def resolve_provider(
    policy: Policy,
    provider: Provider,
    provider_ids: Iterable[str],
    postcodes: PostcodeIndex | None = None,
) -> Provider:
    """The provider checked against the policy (zones, specialisms, lots naming the book's
    `provider_ids`) and placed on the map."""
    known = tuple((0, pid) for pid in sorted({*provider_ids, provider.id}))
    resolved, _, errors = resolve_records(
        policy, [provider], [], _postcodes([provider], postcodes), Sources(provider_ids=known)
    )
    _raise(errors)
    return resolved[0]


def resolve_package(
    policy: Policy,
    package: CarePackage,
    provider_ids: Iterable[str],
    postcodes: PostcodeIndex | None = None,
) -> CarePackage:
    """The package checked against the policy and the book's providers, with its zone and place."""
    known = tuple((0, pid) for pid in sorted(set(provider_ids)))
    sources = Sources(provider_ids=known, package_ids=((1, package.id),))
    _, resolved, errors = resolve_records(
        policy, [], [package], _postcodes([package], postcodes), sources
    )
    _raise(errors)
    return resolved[0]


def _postcodes(records: list[Any], given: PostcodeIndex | None) -> PostcodeIndex:
    """The postcode tables only when a record has no coordinates (loading them takes a while)."""
    if given is not None:
        return given
    if all(r.lat is not None and r.lon is not None for r in records):
        return NO_POSTCODES
    return load_postcode_index()


def _raise(errors: list[InputError]) -> None:
    if errors:
        raise ScenarioError(errors)
