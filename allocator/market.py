"""The market at a glance: carer hours needed against carer hours offered, by zone and time band.

Commissioners ask where the market is short before they ask how to allocate. This reads a
resolved scenario only (no solve, no file I/O), so it is cheap enough to run on every scenario.

Hours are carer hours a week: a double-up call counts twice, as it does against capacity.

Capacity is offered per provider and band, not per zone, so it is attributed to zones by a rule:
a provider serving several zones has each band's capacity split across those zones in proportion
to that band's demand in them (where none of its zones needs that band, equally). This is where
the capacity would go if it followed the need; the zone totals always add up to the providers'.

Weekly hour caps bind before band capacity: a capped provider's bands, and the members of a capped
lot, are scaled down in proportion so that no more is counted than the framework lets them take.

Capacity closed to new packages (an embargoed provider, when the policy's embargo filter is on,
or one rated below the policy's CQC floor) is listed apart and left out of the balance: such a
provider keeps its existing clients but cannot take anyone new.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from allocator.book import cap_minutes
from allocator.model import BANDS, Provider, ProviderStatus
from allocator.scenario import Scenario

ALL = "all"
"""The zone or band label of a total row."""

COLUMNS = (
    "demand_hours",
    "capacity_hours",
    "closed_capacity_hours",
    "balance_hours",
    "capacity_ratio",
)
"""demand; capacity open to new packages; capacity closed to them; capacity - demand (negative
is a shortfall); capacity / demand (NaN where nothing is needed)."""


@dataclass(frozen=True)
class Market:
    """Demand against capacity for one scenario, in carer hours a week."""

    by_zone_band: pd.DataFrame
    """zone, band and COLUMNS, one row per zone (policy order) and band (every band)."""
    by_band: pd.DataFrame
    """band and COLUMNS, every zone together."""
    by_zone: pd.DataFrame
    """zone and COLUMNS, every band together."""
    counts: dict[str, int]
    """packages, urgent_packages, double_up_packages, four_call_packages, existing_placements,
    pinned_packages, providers, closed_providers."""

    def table(self) -> pd.DataFrame:
        """Every row in one long table, totals labelled `all`: the layout of `market.csv`."""
        rows = []
        for zone, group in self.by_zone_band.groupby("zone", sort=False):
            rows.append(group)
            rows.append(self.by_zone[self.by_zone["zone"] == zone].assign(band=ALL))
        rows.append(self.by_band.assign(zone=ALL))
        rows.append(_with_balance(_totals(self.by_band)).assign(zone=ALL, band=ALL))
        return pd.concat(rows, ignore_index=True)[["zone", "band", *COLUMNS]]


def is_closed(provider: Provider, scenario: Scenario) -> bool:
    """Whether the policy lets the provider take no new packages (embargo, or below CQC floor)."""
    filters = scenario.policy.hard_filters
    embargoed = filters.embargo and provider.status is ProviderStatus.EMBARGOED
    below_floor = (
        filters.cqc_floor is not None and provider.cqc_rating.score < filters.cqc_floor.score
    )
    return embargoed or below_floor


def describe_market(scenario: Scenario) -> Market:
    """Demand, capacity and their balance per zone and band, and the scenario's counts."""
    zones = list(scenario.policy.zones)
    demand = _demand_minutes(scenario, zones)
    usable = usable_capacity_minutes(scenario)
    open_minutes = np.zeros_like(demand)
    closed_minutes = np.zeros_like(demand)
    for provider in scenario.providers:
        share = _attributed(provider, usable[provider.id], demand, zones)
        if is_closed(provider, scenario):
            closed_minutes += share
        else:
            open_minutes += share
    by_zone_band = pd.DataFrame(
        {
            "zone": [z for z in zones for _ in BANDS],
            "band": [b.value for _ in zones for b in BANDS],
            "demand_hours": demand.ravel() / 60,
            "capacity_hours": open_minutes.ravel() / 60,
            "closed_capacity_hours": closed_minutes.ravel() / 60,
        }
    )
    by_zone_band = _with_balance(by_zone_band)
    by_band = _with_balance(_totals(by_zone_band, "band"))
    by_zone = _with_balance(_totals(by_zone_band, "zone"))
    return Market(by_zone_band, by_band, by_zone, _counts(scenario))


def usable_capacity_minutes(scenario: Scenario) -> dict[str, dict[str, float]]:
    """Each provider's weekly carer minutes per band, after its own and its lots' hour caps.

    A cap binds on the total across bands, so the bands are scaled down together, in proportion.
    """
    offered = {p.id: {b.value: float(p.capacity(b)) for b in BANDS} for p in scenario.providers}
    scale = {}
    for provider in scenario.providers:
        total = sum(offered[provider.id].values())
        cap = None if provider.max_weekly_hours is None else cap_minutes(provider.max_weekly_hours)
        scale[provider.id] = _shrink(total, cap)
    lot_scale = dict.fromkeys(scale, 1.0)
    for lot in scenario.policy.lots:
        if lot.max_weekly_hours is None:
            continue
        members = [p for p in lot.providers if p in offered]
        total = sum(scale[p] * sum(offered[p].values()) for p in members)
        factor = _shrink(total, cap_minutes(lot.max_weekly_hours))
        for p in members:
            lot_scale[p] = min(lot_scale[p], factor)
    return {
        pid: {band: minutes * scale[pid] * lot_scale[pid] for band, minutes in bands.items()}
        for pid, bands in offered.items()
    }


def _shrink(total: float, cap: int | None) -> float:
    return 1.0 if cap is None or total <= cap else cap / total


def _demand_minutes(scenario: Scenario, zones: list[str]) -> np.ndarray:
    """(zones × bands) carer minutes a week; a double-up call counts twice."""
    row = {zone: i for i, zone in enumerate(zones)}
    demand = np.zeros((len(zones), len(BANDS)))
    for package in scenario.packages:
        if package.zone is None:
            raise ValueError(f"package {package.id} has no zone: resolve the scenario first")
        demand[row[package.zone]] += list(package.carer_minutes_by_band().values())
    return demand


def _attributed(
    provider: Provider, minutes: dict[str, float], demand: np.ndarray, zones: list[str]
) -> np.ndarray:
    """(zones × bands) the provider's capacity, spread over the zones it serves by each band's
    demand there (where none of them needs the band, equally)."""
    served = np.array([zone in {z.zone for z in provider.zones} for zone in zones])
    share = np.zeros_like(demand)
    if not served.any():
        return share
    need = demand[served]
    totals = need.sum(axis=0)
    weights = np.where(totals > 0, need / np.where(totals > 0, totals, 1), 1 / served.sum())
    share[served] = weights * np.array([minutes[b.value] for b in BANDS])
    return share


def _totals(frame: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    sums = ["demand_hours", "capacity_hours", "closed_capacity_hours"]
    if by is None:
        return frame[sums].sum().to_frame().T
    return frame.groupby(by, sort=False)[sums].sum().reset_index()


def _with_balance(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["balance_hours"] = frame["capacity_hours"] - frame["demand_hours"]
    frame["capacity_ratio"] = frame["capacity_hours"] / frame["demand_hours"].where(
        frame["demand_hours"] > 0
    )
    return frame


def _counts(scenario: Scenario) -> dict[str, int]:
    packages, urgent = scenario.packages, scenario.policy.urgent
    return {
        "packages": len(packages),
        "urgent_packages": sum(k.urgency in urgent for k in packages),
        "double_up_packages": sum(k.needs_double_up for k in packages),
        "four_call_packages": sum(k.calls_per_day >= 4 for k in packages),
        "existing_placements": sum(k.current_provider is not None for k in packages),
        "pinned_packages": sum(k.pinned for k in packages),
        "providers": len(scenario.providers),
        "closed_providers": sum(is_closed(p, scenario) for p in scenario.providers),
    }
