"""The measures commissioners read, computed the same way for every strategy.

Hours are carer hours a week (a double-up call counts twice, as it does against capacity and in
what the council pays).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from allocator.model import BANDS
from allocator.result import Allocation
from allocator.scenario import Scenario


@dataclass(frozen=True)
class Kpis:
    summary: dict[str, float]
    by_zone_band: pd.DataFrame
    """zone, band, demand_hours, placed_hours, unmet_hours."""
    utilisation: pd.DataFrame
    """provider_id, band, capacity_hours, placed_hours, utilisation (0-1; NaN where no capacity)."""


def _need_rows(scenario: Scenario, assignment: dict[str, str]) -> pd.DataFrame:
    rows = [
        (k.id, k.zone or "", band.value, minutes / 60, assignment.get(k.id))
        for k in scenario.packages
        for band, minutes in k.carer_minutes_by_band().items()
        if minutes
    ]
    return pd.DataFrame(rows, columns=["package_id", "zone", "band", "hours", "provider_id"])


def compute_kpis(scenario: Scenario, allocation: Allocation) -> Kpis:
    assignment = allocation.assignment
    need = _need_rows(scenario, assignment)
    need["placed_hours"] = need["hours"].where(need["provider_id"].notna(), 0.0)
    by_zone_band = (
        need.groupby(["zone", "band"], sort=False)[["hours", "placed_hours"]]
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
    by_zone_band["unmet_hours"] = by_zone_band["demand_hours"] - by_zone_band["placed_hours"]
    by_zone_band = by_zone_band[by_zone_band["demand_hours"] > 0].reset_index(drop=True)

    placed = need[need["provider_id"].notna()].groupby(["provider_id", "band"])["hours"].sum()
    utilisation = pd.DataFrame(
        [
            (p.id, band.value, p.capacity(band) / 60, float(placed.get((p.id, band.value), 0.0)))
            for p in scenario.providers
            for band in BANDS
        ],
        columns=["provider_id", "band", "capacity_hours", "placed_hours"],
    )
    utilisation["utilisation"] = utilisation["placed_hours"] / utilisation["capacity_hours"].where(
        utilisation["capacity_hours"] > 0
    )
    return Kpis(_summary(scenario, allocation, need), by_zone_band, utilisation)


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
        "demand_hours": round(float(need["hours"].sum()), 2),
        "placed_hours": round(float(need["placed_hours"].sum()), 2),
        "unmet_hours": round(float((need["hours"] - need["placed_hours"]).sum()), 2),
        "urgent_demand_hours": round(float(need.loc[is_urgent, "hours"].sum()), 2),
        "urgent_placed_hours": round(float(need.loc[is_urgent, "placed_hours"].sum()), 2),
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
