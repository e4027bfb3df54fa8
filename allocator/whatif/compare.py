"""A study's outcomes side by side: what each scenario places and leaves unmet, at what cost and
travel, how many people it moves from the base plan, and who exactly is affected.

Every figure is measured against the base book's own plan, solved the same way in the same run.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from allocator.whatif.sweep import BASE, Outcome

MEASURES = (
    "placed_hours",
    "unmet_hours",
    "urgent_placed_hours",
    "packages_placed",
    "cost_gbp_per_week",
    "mean_travel_km",
)
"""The summary figures compared, each also as a change from the base."""


@dataclass(frozen=True)
class Comparison:
    scenarios: pd.DataFrame
    """One row per scenario (the base first): status, error, MEASURES and their changes, people
    moved and affected, seconds."""
    by_zone_band: pd.DataFrame
    """scenario, zone, band, demand_hours, placed_hours, unmet_hours."""
    affected: pd.DataFrame
    """scenario, package_id, base_provider, provider, change: one row per person a scenario
    touches (displaced, moved, newly unplaced, newly placed, added, removed, rezoned)."""


def compare(outcomes: list[Outcome]) -> Comparison:
    """Compare every outcome with the base's (the outcome named BASE, which must have solved)."""
    base = next(o for o in outcomes if o.name == BASE)
    if not base.ok:
        raise ValueError(f"the base book did not solve: {base.error}")
    rows, zone_rows, affected = [], [], []
    for outcome in outcomes:
        people = _affected(base, outcome) if outcome.ok else []
        affected += people
        rows.append(_row(base, outcome, people))
        zone_rows += [{"scenario": outcome.name, **r} for r in outcome.by_zone_band]
    return Comparison(
        scenarios=pd.DataFrame(rows),
        by_zone_band=pd.DataFrame(
            zone_rows,
            columns=["scenario", "zone", "band", "demand_hours", "placed_hours", "unmet_hours"],
        ),
        affected=pd.DataFrame(
            affected, columns=["scenario", "package_id", "base_provider", "provider", "change"]
        ),
    )


def _row(base: Outcome, outcome: Outcome, people: list[dict[str, str | None]]) -> dict:
    row: dict[str, object] = {
        "scenario": outcome.name,
        "number": outcome.number,
        "status": "solved" if outcome.ok else "failed",
        "error": outcome.error or "",
    }
    for measure in MEASURES:
        value = outcome.summary.get(measure) if outcome.ok else None
        row[measure] = value
        row[f"{measure}_change"] = (
            None if value is None else round(value - base.summary[measure], 2)
        )
    row["moved_from_base"] = sum(p["change"] == "moved" for p in people) if outcome.ok else None
    row["people_affected"] = len({p["package_id"] for p in people}) if outcome.ok else None
    row["reproducible"] = bool(outcome.summary.get("reproducible", 0)) if outcome.ok else None
    row["seconds"] = round(outcome.seconds, 2)
    return row


def _affected(base: Outcome, outcome: Outcome) -> list[dict[str, str | None]]:
    """Everyone whose provider differs from the base plan's, and everyone the changes touched."""
    before, after = base.assignment, outcome.assignment
    found: dict[str, str] = {}
    for kind, ids in outcome.touched.items():
        for package_id in ids:
            found.setdefault(package_id, kind)
    for package_id in sorted(set(before) | set(after)):
        was, now = before.get(package_id), after.get(package_id)
        if package_id in found or was == now:
            continue
        if was is None:
            found[package_id] = "newly placed"
        elif now is None:
            found[package_id] = "newly unplaced"
        else:
            found[package_id] = "moved"
    return [
        {
            "scenario": outcome.name,
            "package_id": package_id,
            "base_provider": before.get(package_id),
            "provider": after.get(package_id),
            "change": change,
        }
        for package_id, change in sorted(found.items())
    ]
