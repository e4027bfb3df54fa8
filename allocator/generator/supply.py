"""The providers: where they are based, what they can do, their price, rating and capacity.

The preset fixes each provider's place in the framework (`ProviderPlan`: zones, tier, rank, size);
everything else is drawn here. Capacity is set against the packages' need: each zone's supply in a
band is its need times the band's capacity-to-need ratio, cut where the zone is rural, and split
among the providers serving the zone by size, so the market is short the way real ones are
(morning and tea-time first, rural edges worst).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from allocator.generator.demand import DraftPackage
from allocator.generator.parameters import CQC_FLOOR, SupplyParameters
from allocator.generator.places import CouncilPlaces
from allocator.generator.sampling import choose, pick, quota
from allocator.model import BANDS, Band, CqcRating, ProviderStatus, ZoneService


@dataclass(frozen=True)
class ProviderPlan:
    """A provider's place in the framework, fixed by the preset before anything is drawn."""

    id: str
    group: str
    """The framework part it belongs to, e.g. 'tier1', 'tier2', 'main', 'backup', 'spot'."""
    services: tuple[ZoneService, ...]
    size: float
    """Relative share of the supply of each zone it serves (a rank-1 tier-1 provider is 1.0)."""
    named: bool = False
    """Named by the cascade at rank 1 or in a rotation: never Inadequate or embargoed, always
    offers night calls."""
    specialisms: tuple[str, ...] | None = None
    """Fixed specialisms (a specialist lot); None to draw them."""

    @property
    def tier(self) -> int:
        return min(s.tier for s in self.services)

    @property
    def zones(self) -> tuple[str, ...]:
        return tuple(s.zone for s in self.services)


@dataclass
class DraftProvider:
    """A provider while it is being drawn; `allocator.model.Provider` once complete."""

    plan: ProviderPlan
    name: str
    home: int
    """Row of its base postcode in `CouncilPlaces.postcodes`."""
    base_postcode: str
    double_up: bool
    specialisms: tuple[str, ...]
    languages: tuple[str, ...]
    same_gender: bool
    night: bool
    cqc_rating: CqcRating
    status: ProviderStatus
    rate_gbp_per_hour: float
    zone_rates_gbp_per_hour: dict[str, float] = field(default_factory=dict)
    max_weekly_hours: float | None = None
    capacity_minutes: np.ndarray = field(default_factory=lambda: np.zeros(len(BANDS), np.int64))
    """Weekly carer minutes per band, in `BANDS` order."""

    @property
    def id(self) -> str:
        return self.plan.id

    @property
    def open_to_new(self) -> bool:
        """May take new packages: active and at or above the CQC floor."""
        return self.status is ProviderStatus.ACTIVE and self.cqc_rating.score >= CQC_FLOOR.score


_NAME_WORDS = (
    "Alder", "Ash", "Aspen", "Beech", "Birch", "Blackthorn", "Bramble", "Briar", "Cedar",
    "Cherry", "Clover", "Damson", "Elder", "Elm", "Fern", "Fir", "Foxglove", "Hawthorn", "Hazel",
    "Heather", "Holly", "Honeysuckle", "Hornbeam", "Ivy", "Juniper", "Larch", "Laurel", "Lavender",
    "Lime", "Linden", "Magnolia", "Maple", "Meadow", "Myrtle", "Oak", "Olive", "Orchard", "Poplar",
    "Primrose", "Rowan", "Sage", "Sorrel", "Spruce", "Sycamore", "Teasel", "Thistle", "Willow",
    "Yew",
)  # fmt: skip
_NAME_ENDINGS = (
    "Homecare", "Home Support", "Care at Home", "Care Services", "Community Care", "Care Group",
    "Support Services", "Home Care Agency",
)  # fmt: skip


def provider_names(rng: np.random.Generator, count: int) -> list[str]:
    """`count` distinct invented trading names."""
    combos = [f"{w} {e}" for e in _NAME_ENDINGS for w in _NAME_WORDS]
    order = rng.permutation(len(combos))
    return [
        combos[order[i % len(combos)]] + (f" {i // len(combos) + 1}" if i >= len(combos) else "")
        for i in range(count)
    ]


def draw_providers(
    rng: np.random.Generator,
    plans: Sequence[ProviderPlan],
    places: CouncilPlaces,
    params: SupplyParameters,
    languages: dict[str, float],
) -> list[DraftProvider]:
    """Everything about each provider except its capacity."""
    names = provider_names(rng, len(plans))
    embargoed = _embargoes(rng, plans, params)
    low, high = params.rate_range_gbp_per_hour
    providers = []
    for plan, name, embargo in zip(plans, names, embargoed, strict=True):
        home = places.sample_office(rng, plan.zones)
        if plan.specialisms is not None:
            specialisms = plan.specialisms
        else:
            specialisms = tuple(s for s, p in params.specialism_shares.items() if rng.random() < p)
        spoken: tuple[str, ...] = ()
        if languages and rng.random() < params.language_share:
            spoken = tuple(sorted({pick(rng, languages) for _ in range(int(rng.integers(1, 3)))}))
        ratings = dict(params.cqc_shares)
        if plan.named:
            ratings.pop(CqcRating.INADEQUATE)
        base_rate = rng.normal(params.rate_mean_gbp_per_hour, params.rate_sd_gbp_per_hour)
        rate = float(np.clip(base_rate + params.rate_premium_gbp_per_hour[plan.tier], low, high))
        zone_rates = {}
        if len(plan.zones) > 1:
            zone_rates = {
                zone: round(min(rate + params.rural_rate_premium_gbp_per_hour, high), 2)
                for zone in plan.zones
                if places.rural_shares[zone] >= params.rural_rate_zone_share
            }
        double_key = "tier1" if plan.tier == 1 else "other"
        providers.append(
            DraftProvider(
                plan=plan,
                name=name,
                home=home,
                base_postcode=str(places.postcodes.at[home, "postcode"]),
                double_up=bool(rng.random() < params.double_up_share[double_key]),
                specialisms=specialisms,
                languages=spoken,
                same_gender=bool(rng.random() < params.same_gender_share),
                night=plan.named or bool(rng.random() < params.night_share_of_providers),
                cqc_rating=pick(rng, ratings),
                status=ProviderStatus.EMBARGOED if embargo else ProviderStatus.ACTIVE,
                rate_gbp_per_hour=round(rate, 2),
                zone_rates_gbp_per_hour=zone_rates,
            )
        )
    return providers


def _embargoes(
    rng: np.random.Generator, plans: Sequence[ProviderPlan], params: SupplyParameters
) -> np.ndarray:
    candidates = [i for i, plan in enumerate(plans) if not plan.named]
    embargoed = np.zeros(len(plans), dtype=bool)
    count = min(len(candidates), max(1, round(params.embargoed_share * len(plans))))
    for _ in range(count):
        index = choose(rng, candidates)
        candidates.remove(index)
        embargoed[index] = True
    return embargoed


def zone_need(packages: Sequence[DraftPackage], zones: tuple[str, ...]) -> np.ndarray:
    """Weekly carer minutes needed per zone (rows, in `zones` order) and band (columns)."""
    need = np.zeros((len(zones), len(BANDS)), dtype=np.int64)
    row = {zone: i for i, zone in enumerate(zones)}
    for package in packages:
        need[row[package.zone]] += package.minutes_by_band()
    return need


def set_capacities(
    rng: np.random.Generator,
    providers: Sequence[DraftProvider],
    packages: Sequence[DraftPackage],
    places: CouncilPlaces,
    params: SupplyParameters,
) -> None:
    """Each zone's supply per band split among the providers serving it, by size."""
    zones = places.zones
    need = zone_need(packages, zones).astype(float)
    rural = np.array([places.rural_shares[z] for z in zones])
    ratio = np.array([params.capacity_to_need[b] for b in BANDS])
    supply = need * ratio[None, :] * (1 - params.rural_capacity_loss * rural)[:, None]

    zone_total = need.sum(axis=1)
    weight = np.zeros((len(providers), len(zones)))
    for i, provider in enumerate(providers):
        served = [zones.index(z) for z in provider.plan.zones]
        spread = zone_total[served] / max(zone_total[served].sum(), 1.0)
        jitter = rng.uniform(1 - params.capacity_jitter, 1 + params.capacity_jitter)
        weight[i, served] = provider.plan.size * jitter * spread
    night = np.array([p.night for p in providers])
    step = params.capacity_step_minutes
    for b, band in enumerate(BANDS):
        share = weight * night[:, None] if band is Band.NIGHT else weight
        totals = share.sum(axis=0)
        split = np.divide(share, totals, out=np.zeros_like(share), where=totals > 0)
        minutes = split @ supply[:, b]
        for provider, value in zip(providers, minutes, strict=True):
            provider.capacity_minutes[b] = int(round(value / step)) * step
    _cap_hours(rng, providers, params)


def _cap_hours(
    rng: np.random.Generator, providers: Sequence[DraftProvider], params: SupplyParameters
) -> None:
    """A weekly hour cap below capacity for `capped_share` of the providers not named by the
    framework."""
    candidates = [p for p in providers if not p.plan.named]
    for provider, capped in zip(
        candidates, quota(rng, len(candidates), params.capped_share), strict=True
    ):
        if capped:
            hours = provider.capacity_minutes.sum() / 60 * params.cap_share_of_capacity
            provider.max_weekly_hours = float(round(hours))
