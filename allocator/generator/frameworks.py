"""Who is on each framework: the providers' places (zones, tier, rank, size) and the lots.

A framework is fixed before anything is drawn, from its published shape (Rotherham: 3 zones x 3
tier-1 providers, tier 2 across wider areas, a learning-disability lot; Bury: a week-on / week-off
pair per neighbourhood and capped borough-wide backups) or, for councils whose framework is not
published, from a generic ranked-cascade shape sized by demand. Sizes are relative shares of a
zone's supply (a rank-1 tier-1 provider is 1.0); `supply.set_capacities` turns them into minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from allocator.generator.places import CouncilPlaces
from allocator.generator.sampling import apportion
from allocator.generator.supply import ProviderPlan
from allocator.model import ZoneService
from allocator.policy import Lot, Rotation

SPECIALIST_LOT_SPECIALISMS = ("learning_disability", "mental_health")
"""Assumption: the specialist lot's providers support learning disability and mental health."""


@dataclass(frozen=True)
class Framework:
    """The providers' places, and the framework rules that bind groups of them."""

    plans: tuple[ProviderPlan, ...]
    tiers: tuple[int, ...]
    """The cascade's call-off order."""
    rotations: tuple[Rotation, ...] = ()
    lots: tuple[Lot, ...] = ()


class Shape(Protocol):
    """A framework's shape: builds its providers' places for a council at a scale."""

    def build(self, places: CouncilPlaces, scale: float, packages: int) -> Framework: ...


@dataclass(frozen=True)
class RotherhamShape:
    """Rotherham's published framework: tier 1 is each zone's three ranked providers; tier 2
    providers cover wider areas; a specialist lot (learning disability) is called off last."""

    tier1_sizes: tuple[float, ...] = (1.0, 0.8, 0.65)
    """Assumption: rank 1 is the largest provider of its zone."""
    tier2_providers: int = 30
    """figures.csv: 46 home care providers work in Rotherham; 9 are tier 1 and a few are
    specialist, so about 30 tier-2 providers (at scale 1; more at larger scales)."""
    tier2_size: float = 0.09
    """Assumption: a tier-2 provider is small (tier 1 delivers most hours)."""
    specialist_providers: int = 4
    """Assumption: the learning-disability lot has four providers, borough-wide."""
    specialist_size: float = 0.06

    def build(self, places: CouncilPlaces, scale: float, packages: int) -> Framework:
        zones, code = places.zones, zone_codes(places.zones)
        plans = [
            ProviderPlan(
                id=f"T1-{code[zone]}-{rank}",
                group="tier1",
                services=(ZoneService(zone=zone, tier=1, rank=rank),),
                size=size,
                named=rank == 1,
            )
            for zone in zones
            for rank, size in enumerate(self.tier1_sizes, start=1)
        ]
        # Tier-2 areas cycle through each pair of neighbouring zones and the whole borough.
        areas = [zones[i : i + 2] for i in range(len(zones) - 1)] + [zones]
        for n in range(max(1, round(self.tier2_providers * scale))):
            plans.append(
                ProviderPlan(
                    id=f"T2-{n + 1:02d}",
                    group="tier2",
                    services=tuple(ZoneService(zone=z, tier=2) for z in areas[n % len(areas)]),
                    size=self.tier2_size,
                )
            )
        specialists = [
            ProviderPlan(
                id=f"LD-{n + 1}",
                group="specialist",
                services=tuple(ZoneService(zone=z, tier=3) for z in zones),
                size=self.specialist_size,
                specialisms=SPECIALIST_LOT_SPECIALISMS,
            )
            for n in range(self.specialist_providers)
        ]
        if not specialists:
            return Framework(tuple(plans), tiers=(1, 2))
        lot = Lot(name="learning_disability", providers=tuple(p.id for p in specialists))
        return Framework(tuple(plans + specialists), tiers=(1, 2, 3), lots=(lot,))


@dataclass(frozen=True)
class BuryShape:
    """Bury's published framework: in each neighbourhood two main providers work week on / week
    off (the one on its week takes at least 80 % of the referrals it can), and up to five
    borough-wide backup providers take what the pair cannot, 600 hours a week between them."""

    on_size: float = 1.0
    off_size: float = 1.0
    """Assumption: the two main providers of a neighbourhood are the same size."""
    backup_providers: int = 5
    backup_size: float = 0.15
    """Assumption: a backup provider is about a sixth the size of a main provider, so the five
    could offer more than the lot cap lets them use together (about 900 hours at scale 1)."""
    backup_cap_hours: float = 600.0
    """figures.csv / shared README: backups are capped at 600 hours a week (at scale 1)."""
    on_share: float = 0.8
    """Shared README: the provider on its week takes at least 80 % of referrals."""

    def build(self, places: CouncilPlaces, scale: float, packages: int) -> Framework:
        zones, code = places.zones, zone_codes(places.zones)
        plans, rotations = [], []
        for zone in zones:
            on, off = f"{code[zone]}-A", f"{code[zone]}-B"
            for pid, size in ((on, self.on_size), (off, self.off_size)):
                plans.append(
                    ProviderPlan(
                        id=pid,
                        group="main",
                        services=(ZoneService(zone=zone, tier=1),),
                        size=size,
                        named=True,
                    )
                )
            rotations.append(Rotation(zone=zone, on=on, off=off, share=self.on_share))
        backups = [
            ProviderPlan(
                id=f"BK-{n + 1}",
                group="backup",
                services=tuple(ZoneService(zone=z, tier=2) for z in zones),
                size=self.backup_size,
            )
            for n in range(self.backup_providers)
        ]
        lot = Lot(
            name="backup",
            providers=tuple(p.id for p in backups),
            max_weekly_hours=round(self.backup_cap_hours * scale),
        )
        return Framework(
            tuple(plans + backups), tiers=(1, 2), rotations=tuple(rotations), lots=(lot,)
        )


@dataclass(frozen=True)
class RankedShape:
    """A generic framework for a council whose own is not published: in each zone, ranked tier-1
    providers in proportion to the zone's demand; unranked tier-2 providers each covering a zone
    and its nearest neighbours (how county frameworks with district lots are commonly shaped)."""

    packages_per_tier1: int = 150
    """Assumption: one tier-1 provider per 150 packages of the zone (a provider of 60-80 carers
    holds about that many packages)."""
    min_tier1_per_zone: int = 3
    """Rotherham's published tier 1: three providers per zone, used as the floor."""
    packages_per_tier2: int = 1_000
    """Assumption: one tier-2 provider per 1,000 packages of the council."""
    min_tier2: int = 2
    tier2_zones: int = 3
    """Assumption: a tier-2 provider covers its home zone and the nearest two."""
    tier2_size: float = 0.3
    rank_decay: float = 0.25
    """Assumption: the provider at rank r is 1 / (1 + 0.25 (r - 1)) the size of rank 1."""

    def build(self, places: CouncilPlaces, scale: float, packages: int) -> Framework:
        zones, code = places.zones, zone_codes(places.zones)
        plans = []
        for zone in zones:
            expected = places.zone_shares[zone] * packages
            ranks = max(self.min_tier1_per_zone, round(expected / self.packages_per_tier1))
            plans += [
                ProviderPlan(
                    id=f"T1-{code[zone]}-{rank}",
                    group="tier1",
                    services=(ZoneService(zone=zone, tier=1, rank=rank),),
                    size=1 / (1 + self.rank_decay * (rank - 1)),
                    named=rank == 1,
                )
                for rank in range(1, ranks + 1)
            ]
        nearest = _nearest_zones(places, self.tier2_zones)
        tier2 = max(self.min_tier2, round(packages / self.packages_per_tier2))
        homes = [z for z, n in apportion(places.zone_shares, tier2).items() for _ in range(n)]
        plans += [
            ProviderPlan(
                id=f"T2-{n + 1:03d}",
                group="tier2",
                services=tuple(ZoneService(zone=z, tier=2) for z in nearest[home]),
                size=self.tier2_size,
            )
            for n, home in enumerate(homes)
        ]
        return Framework(tuple(plans), tiers=(1, 2))


def zone_codes(zones: Sequence[str]) -> dict[str, str]:
    """Short distinct upper-case codes for provider ids: the first three letters of each zone,
    lengthened where two zones would share one (e.g. Tonbridge TON, Tunbridge Wells TUN)."""
    letters = {zone: "".join(ch for ch in zone.upper() if ch.isalnum()) for zone in zones}
    for length in range(3, max(len(v) for v in letters.values()) + 1):
        codes = {zone: text[:length] for zone, text in letters.items()}
        if len(set(codes.values())) == len(codes):
            return codes
    return {zone: f"Z{n + 1}" for n, zone in enumerate(zones)}


def _nearest_zones(places: CouncilPlaces, count: int) -> dict[str, tuple[str, ...]]:
    """Each zone with its nearest others, by distance between 60+-weighted centroids."""
    frame = places.postcodes
    centres = {}
    for zone in places.zones:
        rows = frame[frame["zone"] == zone]
        weight = rows["weight"].to_numpy(dtype=float)
        lat = float(np.average(rows["lat"], weights=weight))
        lon = float(np.average(rows["lon"], weights=weight))
        centres[zone] = (lat, lon * np.cos(np.radians(lat)))
    nearest = {}
    for zone, (y, x) in centres.items():
        order = sorted(
            places.zones,
            key=lambda z: ((centres[z][0] - y) ** 2 + (centres[z][1] - x) ** 2, z),
        )
        nearest[zone] = tuple(order[:count])
    return nearest
