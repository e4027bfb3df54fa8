"""The measures commissioners read, computed the same way for every strategy and for the live book.

Hours are carer hours a week (a double-up call counts twice, as it does against capacity and in
what the council pays).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd

from allocator.brokerage import HeldBook
from allocator.model import BANDS, URGENCY_ORDER, CarePackage, Urgency
from allocator.result import Allocation
from allocator.scenario import Scenario

PLACED = "placed"
OFFERED = "offered"


@dataclass(frozen=True)
class Kpis:
    summary: dict[str, float]
    by_zone_band: pd.DataFrame
    """zone, band, demand_hours, placed_hours, unmet_hours."""
    utilisation: pd.DataFrame
    """provider_id, band, capacity_hours, placed_hours, utilisation (0-1; NaN where no capacity)."""


def compute_kpis(scenario: Scenario, allocation: Allocation) -> Kpis:
    need = _need_rows(scenario, {PLACED: allocation.assignment})
    return Kpis(
        _summary(scenario, allocation, need),
        _by_zone_band(need, [PLACED]),
        _utilisation(scenario, need, [PLACED]),
    )


@dataclass(frozen=True)
class ZoneBandHours:
    zone: str
    band: str
    demand_hours: float
    placed_hours: float
    offered_hours: float
    """Held by offers not yet answered: part of the unmet hours until accepted."""
    unmet_hours: float


@dataclass(frozen=True)
class BandUse:
    provider_id: str
    band: str
    capacity_hours: float
    placed_hours: float
    offered_hours: float
    utilisation: float | None
    """Placed hours over capacity (0-1); None where the provider offers no capacity."""


@dataclass(frozen=True)
class Waiting:
    package_id: str
    zone: str
    urgency: str
    carer_hours: float
    waiting_since: date
    waiting_days: int
    offered_to: str | None
    """The provider considering it now, if it has been offered."""


@dataclass(frozen=True)
class BookKpis:
    as_of: date
    summary: dict[str, int | float]
    """Counts of packages (placed, offered, waiting), hours a week, and days waited."""
    by_zone_band: tuple[ZoneBandHours, ...]
    waiting: tuple[Waiting, ...]
    """The waiting list in the order brokers work it: most urgent, then longest waiting, first."""
    utilisation: tuple[BandUse, ...]


def book_kpis(book: HeldBook, waiting_since: Mapping[str, date], today: date) -> BookKpis:
    """The live book's measures: what is placed, what is offered and who is waiting how long.

    `waiting_since` (package id -> date) says since when each unplaced package has waited (its
    referral, or the day it was handed back); a package missing from it counts from its referral.
    """
    scenario = book.scenario
    placed = {k.id: k.current_provider for k in scenario.packages if k.current_provider}
    offered = {k: p for k, p in book.holds.items() if k not in placed}
    need = _need_rows(scenario, {PLACED: placed, OFFERED: offered})
    by_zone_band = _by_zone_band(need, [PLACED, OFFERED])
    utilisation = _utilisation(scenario, need, [PLACED, OFFERED])
    waiting = sorted(
        (
            _waiting(k, waiting_since.get(k.id, k.referral_date), today, offered.get(k.id))
            for k in scenario.packages
            if k.id not in placed
        ),
        key=lambda w: (URGENCY_ORDER.index(Urgency(w.urgency)), w.waiting_since, w.package_id),
    )
    days = [w.waiting_days for w in waiting]
    summary = {
        "packages": len(scenario.packages),
        "packages_placed": len(placed),
        "packages_offered": len(offered),
        "packages_waiting": len(waiting) - len(offered),
        "demand_hours": _total(need["hours"]),
        "placed_hours": _total(need["placed_hours"]),
        "offered_hours": _total(need["offered_hours"]),
        "unmet_hours": _total(need["hours"] - need["placed_hours"]),
        "longest_wait_days": max(days, default=0),
        "mean_wait_days": round(sum(days) / len(days), 1) if days else 0.0,
    }
    return BookKpis(
        as_of=today,
        summary=summary,
        by_zone_band=tuple(ZoneBandHours(**row) for row in _records(by_zone_band)),
        waiting=tuple(waiting),
        utilisation=tuple(BandUse(**row) for row in _records(utilisation)),
    )


def _waiting(package: CarePackage, since: date, today: date, offered_to: str | None) -> Waiting:
    return Waiting(
        package_id=package.id,
        zone=package.zone or "",
        urgency=package.urgency.value,
        carer_hours=round(package.carer_minutes_per_week / 60, 2),
        waiting_since=since,
        waiting_days=(today - since).days,
        offered_to=offered_to,
    )


def _need_rows(scenario: Scenario, holds: Mapping[str, Mapping[str, str]]) -> pd.DataFrame:
    """One row per package and band it needs: package_id, zone, band, hours and, for each kind
    of hold (package id -> provider id), `<kind>_with` (the provider) and `<kind>_hours`."""
    rows = [
        (k.id, k.zone or "", band.value, minutes / 60)
        for k in scenario.packages
        for band, minutes in k.carer_minutes_by_band().items()
        if minutes
    ]
    need = pd.DataFrame(rows, columns=["package_id", "zone", "band", "hours"])
    for kind, held in holds.items():
        need[f"{kind}_with"] = need["package_id"].map(held)
        need[f"{kind}_hours"] = need["hours"].where(need[f"{kind}_with"].notna(), 0.0)
    return need


def _by_zone_band(need: pd.DataFrame, kinds: Sequence[str]) -> pd.DataFrame:
    """zone, band, demand_hours, `<kind>_hours` for each kind, unmet_hours (demand not placed)."""
    held = [f"{kind}_hours" for kind in kinds]
    table = (
        need.groupby(["zone", "band"], sort=False)[["hours", *held]]
        .sum()
        .rename(columns={"hours": "demand_hours"})
        .reindex(
            pd.MultiIndex.from_product(
                [sorted(need["zone"].unique()), [b.value for b in BANDS]], names=["zone", "band"]
            ),
            fill_value=0.0,
        )
        .reset_index()
    )
    table["unmet_hours"] = table["demand_hours"] - table["placed_hours"]
    return table[table["demand_hours"] > 0].reset_index(drop=True)


def _utilisation(scenario: Scenario, need: pd.DataFrame, kinds: Sequence[str]) -> pd.DataFrame:
    """provider_id, band, capacity_hours, `<kind>_hours` for each kind, utilisation (placed
    hours over capacity; NaN where there is none)."""
    table = pd.DataFrame(
        [(p.id, band.value, p.capacity(band) / 60) for p in scenario.providers for band in BANDS],
        columns=["provider_id", "band", "capacity_hours"],
    )
    for kind in kinds:
        held = need[need[f"{kind}_with"].notna()].groupby([f"{kind}_with", "band"])["hours"].sum()
        table[f"{kind}_hours"] = [
            float(held.get((p, b), 0.0))
            for p, b in zip(table["provider_id"], table["band"], strict=True)
        ]
    table["utilisation"] = table["placed_hours"] / table["capacity_hours"].where(
        table["capacity_hours"] > 0
    )
    return table


def _records(table: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as plain dicts, hours to two decimals and NaN as None."""
    return [
        {
            k: None if isinstance(v, float) and math.isnan(v) else _rounded(k, v)
            for k, v in row.items()
        }
        for row in table.to_dict("records")
    ]


def _rounded(column: str, value: object) -> object:
    if column.endswith("_hours"):
        return round(float(value), 2)
    return round(float(value), 4) if column == "utilisation" else value


def _total(hours: pd.Series) -> float:
    return round(float(hours.sum()), 2)


def _summary(scenario: Scenario, allocation: Allocation, need: pd.DataFrame) -> dict[str, float]:
    urgent_ids = {k.id for k in scenario.packages if k.urgency in scenario.policy.urgent}
    is_urgent = need["package_id"].isin(urgent_ids)
    placements = allocation.placements
    existing = [k for k in scenario.packages if k.current_provider is not None]
    requested = sum(p.preferences_requested for p in placements)
    return {
        "packages": len(scenario.packages),
        "packages_placed": len(placements),
        "packages_unplaced": len(allocation.unplaced),
        "demand_hours": _total(need["hours"]),
        "placed_hours": _total(need["placed_hours"]),
        "unmet_hours": _total(need["hours"] - need["placed_hours"]),
        "urgent_demand_hours": _total(need.loc[is_urgent, "hours"]),
        "urgent_placed_hours": _total(need.loc[is_urgent, "placed_hours"]),
        "cost_gbp_per_week": round(sum(p.cost_gbp_per_week for p in placements), 2),
        "mean_travel_km": round(sum(p.travel_km for p in placements) / len(placements), 2)
        if placements
        else 0.0,
        "preferences_requested": requested,
        "preferences_met": sum(p.preferences_met for p in placements),
        "existing_placements": len(existing),
        "kept_with_current_provider": sum(p.kept_current for p in placements),
        "placed_at_first_cascade_step": sum(p.cascade_step == 1 for p in placements),
        "solve_seconds": round(allocation.seconds, 3),
    }
