"""Draw a whole scenario: the council's places, its framework, the packages and the providers.

The draw is a fixed sequence on one seeded generator, so the same preset, seed and scale always
give the same scenario. The result is built from the core's own models and resolved by the core
(zones from the published sector map, coordinates, every reference checked), so a generated
scenario is held to exactly the rules a council's file would be.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.generator.current_care import (
    Market,
    draw_preferences,
    place_existing,
)
from allocator.generator.demand import DraftPackage, draw_packages, draw_specialisms
from allocator.generator.frameworks import Framework, Shape
from allocator.generator.parameters import (
    BYTES_PER_PACKAGE_PROVIDER_PAIR,
    CQC_FLOOR,
    POLICY_GOALS,
    SPECIALISMS,
    DemandParameters,
    SupplyParameters,
)
from allocator.generator.places import CouncilPlaces
from allocator.generator.supply import DraftProvider, draw_providers, set_capacities
from allocator.model import BANDS, CarePackage, Provider
from allocator.policy import Cascade, HardFilters, Policy, ZoneDefinition


@dataclass(frozen=True)
class CouncilSpec:
    """Everything that differs between councils: where, how big, and how its framework works."""

    places: CouncilPlaces
    shape: Shape
    packages: int
    """How many packages to draw (the preset's figure times the scale)."""
    scale: float
    demand: DemandParameters
    supply: SupplyParameters
    policy_name: str
    policy_version: str


@dataclass(frozen=True)
class GeneratedScenario:
    """A drawn scenario in the core's terms, with the places and framework it was drawn from."""

    providers: tuple[Provider, ...]
    packages: tuple[CarePackage, ...]
    policy: Policy
    places: CouncilPlaces
    framework: Framework


def generate_council(spec: CouncilSpec, rng: np.random.Generator) -> GeneratedScenario:
    """One council's scenario, drawn in a fixed order from `rng`."""
    places = spec.places
    framework = spec.shape.build(places, spec.scale, spec.packages)
    packages = draw_packages(rng, places, spec.demand, spec.packages)
    providers = draw_providers(
        rng, framework.plans, places, spec.supply, dict(spec.demand.languages)
    )
    set_capacities(rng, providers, packages, places, spec.supply)
    market = Market(providers, places.zones, SPECIALISMS)
    draw_specialisms(
        rng, packages, spec.demand, lambda drafts: market.can_take_new(drafts).any(axis=1)
    )
    place_existing(rng, packages, market, spec.demand, _lot_caps(framework))
    draw_preferences(rng, packages, market, spec.demand)
    return GeneratedScenario(
        providers=tuple(_provider(p) for p in providers),
        packages=tuple(_package(k, places) for k in packages),
        policy=_policy(spec, framework),
        places=places,
        framework=framework,
    )


def solve_memory_gb(spec: CouncilSpec) -> float:
    """Roughly what solving the scenario would need: its eligible pairs (each package with every
    provider serving its zone) at `BYTES_PER_PACKAGE_PROVIDER_PAIR` each."""
    framework = spec.shape.build(spec.places, spec.scale, spec.packages)
    serving = {zone: 0 for zone in spec.places.zones}
    for plan in framework.plans:
        for zone in plan.zones:
            serving[zone] += 1
    pairs = sum(share * spec.packages * serving[z] for z, share in spec.places.zone_shares.items())
    return pairs * BYTES_PER_PACKAGE_PROVIDER_PAIR / 1e9


def _lot_caps(framework: Framework) -> dict[str, tuple[tuple[str, ...], float]]:
    """Capped lots as (members, weekly carer minutes), the form `place_existing` checks."""
    return {
        lot.name: (lot.providers, lot.max_weekly_hours * 60)
        for lot in framework.lots
        if lot.max_weekly_hours is not None
    }


def _policy(spec: CouncilSpec, framework: Framework) -> Policy:
    places = spec.places
    zones = {
        zone: ZoneDefinition(
            postcodes=tuple(sorted(s for s, z in places.sector_zone.items() if z == zone))
        )
        for zone in places.zones
    }
    return Policy(
        name=spec.policy_name,
        version=spec.policy_version,
        goals=POLICY_GOALS,
        hard_filters=HardFilters(cqc_floor=CQC_FLOOR),
        cascade=Cascade(tiers=framework.tiers),
        zones=zones,
        specialisms=SPECIALISMS,
        rotations=framework.rotations,
        lots=framework.lots,
    )


def _provider(draft: DraftProvider) -> Provider:
    return Provider(
        id=draft.id,
        name=draft.name,
        zones=draft.plan.services,
        base_postcode=draft.base_postcode,
        capacity_minutes=dict(zip(BANDS, draft.capacity_minutes.tolist(), strict=True)),
        double_up=draft.double_up,
        specialisms=draft.specialisms,
        languages=draft.languages,
        same_gender=draft.same_gender,
        rate_gbp_per_hour=draft.rate_gbp_per_hour,
        zone_rates_gbp_per_hour=draft.zone_rates_gbp_per_hour,
        cqc_rating=draft.cqc_rating,
        status=draft.status,
        max_weekly_hours=draft.max_weekly_hours,
    )


def _package(draft: DraftPackage, places: CouncilPlaces) -> CarePackage:
    """The package at its home's coordinates (a small area's centroid where the home is only
    known to its postcode sector)."""
    home = places.postcodes.loc[draft.home]
    return CarePackage(
        id=draft.id,
        postcode=draft.postcode,
        visits=draft.visits,
        specialisms=draft.specialisms,
        gender_preference=draft.gender_preference,
        language=draft.language,
        preferred_provider=draft.preferred_provider,
        excluded_providers=draft.excluded_providers,
        urgency=draft.urgency,
        referral_date=draft.referral_date,
        current_provider=draft.current_provider,
        pinned=draft.pinned,
        lat=float(home["lat"]),
        lon=float(home["lon"]),
    )
