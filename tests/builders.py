"""Tiny builders for hand-made scenarios, and a `solve` that always checks the hard rules.

Everything is placed by coordinates given directly (no postcode table): people live at `HOME`
and providers sit due north of it, so a provider's travel is exactly `km_north(...)` and can be
worked out by hand. A visit defaults to one call on Monday, so its carer minutes are simply
`minutes x carers`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from allocator.allocate import allocate
from allocator.geography import EARTH_RADIUS_KM, PostcodeIndex
from allocator.model import (
    Band,
    CarePackage,
    CqcRating,
    Day,
    Gender,
    Provider,
    ProviderStatus,
    Urgency,
    Visit,
    ZoneService,
)
from allocator.policy import Goal, HardFilters, Policy
from allocator.resolve import resolve
from allocator.result import Allocation, Placement, Strategy, Unplaced
from allocator.scenario import Scenario
from allocator.solve import SolveParams
from allocator.validate import check_allocation

HOME_LAT, HOME_LON = 53.40, -1.35
"""Where every person lives unless a test says otherwise (Rotherham)."""

ZONES = ("North", "South")
PARAMS = SolveParams(time_limit_s=10, seed=0)
NO_POSTCODES = PostcodeIndex({}, {}, {})
"""Every record carries coordinates, so `resolve` never needs to look a postcode up."""

OPTIMISE = Strategy.OPTIMISE
CASCADE = Strategy.CASCADE


def travel_m(lat_offset: float) -> int:
    """Metres from `HOME` to a point `lat_offset` degrees due north, as the allocator rounds it."""
    return round(EARTH_RADIUS_KM * math.radians(lat_offset) * 1000)


def visit(band: str = "morning", minutes: int = 60, carers: int = 1, days: str = "mon") -> Visit:
    """One call; `days` is a comma list such as "mon" or "mon,tue"."""
    return Visit(
        days=tuple(Day(d) for d in days.split(",")), band=Band(band), minutes=minutes, carers=carers
    )


def provider(
    pid: str,
    *,
    rank: int | None = None,
    tier: int = 1,
    zones: Iterable[str] = ("North",),
    capacity: Mapping[str, int] | None = None,
    morning: int | None = None,
    north_of_home: float = 0.01,
    rate: float = 20.0,
    cqc: str = "good",
    status: str = "active",
    double_up: bool = False,
    **fields: Any,
) -> Provider:
    """A provider serving `zones` at `tier` (and `rank`), `north_of_home` degrees north of HOME.

    `morning=N` is shorthand for `capacity={"morning": N}`; with neither, every band has 10,000.
    """
    if capacity is None:
        capacity = {"morning": morning} if morning is not None else dict.fromkeys(Band, 10_000)
    return Provider(
        id=pid,
        name=f"Provider {pid}",
        zones=tuple(ZoneService(zone=z, tier=tier, rank=rank) for z in zones),
        base_postcode="S60 2UR",
        capacity_minutes={Band(b): m for b, m in capacity.items()},
        double_up=double_up,
        rate_gbp_per_hour=rate,
        cqc_rating=CqcRating(cqc),
        status=ProviderStatus(status),
        lat=HOME_LAT + north_of_home,
        lon=HOME_LON,
        **fields,
    )


def package(
    kid: str,
    *,
    minutes: int = 60,
    band: str = "morning",
    carers: int = 1,
    visits: Iterable[Visit] | None = None,
    zone: str = "North",
    urgency: str = "routine",
    referred: date = date(2026, 1, 5),
    current: str | None = None,
    pinned: bool = False,
    excluded: Iterable[str] = (),
    specialisms: Iterable[str] = (),
    gender: str | None = None,
    **fields: Any,
) -> CarePackage:
    """A package at HOME needing, by default, one Monday call of `minutes` in `band`."""
    return CarePackage(
        id=kid,
        postcode="S66 2AA",
        zone=zone,
        visits=tuple(visits) if visits is not None else (visit(band, minutes, carers),),
        specialisms=tuple(specialisms),
        gender_preference=Gender(gender) if gender else None,
        excluded_providers=tuple(excluded),
        urgency=Urgency(urgency),
        referral_date=referred,
        current_provider=current,
        pinned=pinned,
        lat=HOME_LAT,
        lon=HOME_LON,
        **fields,
    )


DOMAIN_GOALS = (
    "urgent_hours",
    "hours_placed",
    "continuity",
    "cascade",
    "preferences",
    "cost",
    "travel",
    "fairness",
)
"""The common order of priorities in the domain notes, most important first. Tests name it
explicitly rather than rely on the library's default, so they state the rule they hold it to."""


def policy(goals: Iterable[str] = DOMAIN_GOALS, **filters: Any) -> Policy:
    """A policy with the domain's goal order (or `goals`) and default filters but `filters`."""
    return Policy(
        name="Test framework",
        version="1",
        goals=tuple(Goal(g) for g in goals),
        zones={z: {} for z in ZONES},
        hard_filters=HardFilters(**filters),
    )


def scenario(
    providers: Iterable[Provider], packages: Iterable[CarePackage], rules: Policy | None = None
) -> Scenario:
    """A resolved scenario: `resolve` checks every cross-reference and that pins fit."""
    raw = Scenario(policy=rules or policy(), providers=tuple(providers), packages=tuple(packages))
    return resolve(raw, NO_POSTCODES)


def solve(scenario: Scenario, strategy: Strategy = OPTIMISE) -> Allocation:
    """Allocate, then hold the result to the independent checker of the published hard rules."""
    allocation = allocate(scenario, strategy, PARAMS)
    violations = check_allocation(scenario, allocation.assignment)
    assert violations == [], "\n".join(v.message for v in violations)
    placed = set(allocation.assignment)
    unplaced = {u.package_id for u in allocation.unplaced}
    assert len(placed) == len(allocation.placements), "a package was placed twice"
    assert placed.isdisjoint(unplaced), "a package is both placed and unplaced"
    assert placed | unplaced == {k.id for k in scenario.packages}, "a package went missing"
    return allocation


def minutes_by_package(allocation: Allocation) -> dict[str, int]:
    return {p.package_id: p.carer_minutes for p in allocation.placements}


def placement(allocation: Allocation, package_id: str) -> Placement:
    return next(p for p in allocation.placements if p.package_id == package_id)


def unplaced(allocation: Allocation, package_id: str) -> Unplaced:
    return next(u for u in allocation.unplaced if u.package_id == package_id)


def level_values(allocation: Allocation) -> dict[str, int]:
    return {level.goal.value: level.value for level in allocation.levels}
