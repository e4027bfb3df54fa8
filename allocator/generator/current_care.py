"""Who cares for whom today, and the choices people make about providers.

Existing clients are given a current provider that could keep them under the policy (zone,
specialism, double-up; an embargo or a poor rating stops new packages, not existing care) and
whose capacity, and lot cap, still holds all its clients; a few are pinned. Then preferences and
exclusions are drawn, never leaving a person with no one to be offered to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from allocator.generator.demand import DraftPackage
from allocator.generator.parameters import DemandParameters
from allocator.generator.sampling import choose, labels, quota
from allocator.generator.supply import DraftProvider
from allocator.model import BANDS, Gender


class Market:
    """The providers as arrays, to check many (package, provider) pairs at once."""

    def __init__(
        self, providers: Sequence[DraftProvider], zones: tuple[str, ...], specialisms: Sequence[str]
    ) -> None:
        self.providers = list(providers)
        self.zones = zones
        self._bit = {name: 1 << i for i, name in enumerate(specialisms)}
        self.tier = np.zeros((len(providers), len(zones)), dtype=np.int64)
        """Tier of each provider in each zone; 0 where it does not serve the zone."""
        for i, provider in enumerate(providers):
            for service in provider.plan.services:
                self.tier[i, zones.index(service.zone)] = service.tier
        self.skills = np.array([self._bits(p.specialisms) for p in providers], dtype=np.int64)
        self.double_up = np.array([p.double_up for p in providers], dtype=bool)
        self.open = np.array([p.open_to_new for p in providers], dtype=bool)
        self.capacity = np.array([p.capacity_minutes for p in providers], dtype=np.int64)
        self.cap = np.array(
            [np.inf if p.max_weekly_hours is None else p.max_weekly_hours * 60 for p in providers]
        )
        """Weekly carer minutes each provider may take in all (inf where uncapped)."""
        self.index = {p.id: i for i, p in enumerate(providers)}

    def _bits(self, tags: Sequence[str]) -> int:
        return sum(self._bit[t] for t in tags)

    def can_keep(self, packages: Sequence[DraftPackage]) -> np.ndarray:
        """(packages x providers): the provider could be the package's current one."""
        zone = np.array([self.zones.index(p.zone) for p in packages], dtype=np.int64)
        needs = np.array([self._bits(p.specialisms) for p in packages], dtype=np.int64)
        double = np.array([p.needs_double_up for p in packages], dtype=bool)
        mask = self.tier.T[zone] > 0
        mask &= (needs[:, None] & ~self.skills[None, :]) == 0
        mask &= ~double[:, None] | self.double_up[None, :]
        for row, package in enumerate(packages):
            for excluded in package.excluded_providers:
                mask[row, self.index[excluded]] = False
        return mask

    def can_take_new(self, packages: Sequence[DraftPackage]) -> np.ndarray:
        """(packages x providers): the provider may be offered the package as a new call-off."""
        return self.can_keep(packages) & self.open[None, :]


def place_existing(
    rng: np.random.Generator,
    packages: Sequence[DraftPackage],
    market: Market,
    params: DemandParameters,
    lot_caps_minutes: Mapping[str, tuple[tuple[str, ...], float]],
) -> None:
    """A current provider for each existing client whose capacity (and caps) hold it, chosen
    in proportion to the provider's spare minutes and the weight of its tier in the zone."""
    existing = [p for p in packages if p.existing]
    keep = market.can_keep(existing)
    load = np.zeros_like(market.capacity)
    tier_weight = np.array([0.0, *(params.existing_tier_weight.get(t, 0.0) for t in range(1, 10))])
    lot_of = np.full(len(market.providers), -1)
    lots = list(lot_caps_minutes.values())
    for number, (members, _) in enumerate(lots):
        for member in members:
            lot_of[market.index[member]] = number
    lot_load = np.zeros(len(lots))
    lot_cap = np.array([cap for _, cap in lots], dtype=float)
    placed = []
    for row, package in enumerate(existing):
        need = package.minutes_by_band()
        zone = market.zones.index(package.zone)
        fits = keep[row] & np.all(load + need[None, :] <= market.capacity, axis=1)
        fits &= load.sum(axis=1) + need.sum() <= market.cap
        if len(lots):
            room = np.append(lot_cap - lot_load, np.inf)[lot_of] >= need.sum()
            fits &= room
        spare = (market.capacity - load).sum(axis=1).clip(min=0)
        weight = np.where(fits, tier_weight[market.tier[:, zone]] * spare, 0.0)
        if weight.sum() <= 0:
            continue  # no one can hold it today: it waits on the list
        chosen = int(rng.choice(len(weight), p=weight / weight.sum()))
        package.current_provider = market.providers[chosen].id
        load[chosen] += need
        if lot_of[chosen] >= 0:
            lot_load[lot_of[chosen]] += need.sum()
        placed.append(package)
    for package, pinned in zip(
        placed, quota(rng, len(placed), params.pinned_share_of_existing), strict=True
    ):
        package.pinned = bool(pinned)


def draw_preferences(
    rng: np.random.Generator,
    packages: Sequence[DraftPackage],
    market: Market,
    params: DemandParameters,
) -> None:
    """Gender and language requests, a preferred provider and an excluded one."""
    count = len(packages)
    gender = quota(rng, count, params.gender_preference_share)
    female = iter(quota(rng, int(gender.sum()), params.female_share_of_gender_preferences))
    language = quota(rng, count, params.language_share)
    spoken = iter(labels(rng, int(language.sum()), params.languages))
    excluded = quota(rng, count, params.excluded_provider_share)
    preferred = quota(rng, count, params.preferred_provider_share)
    for index, package in enumerate(packages):
        if gender[index]:
            package.gender_preference = Gender.FEMALE if next(female) else Gender.MALE
        if language[index]:
            package.language = next(spoken)
        if excluded[index]:
            _exclude_one(rng, package, market)
        if preferred[index]:
            options = np.flatnonzero(market.can_take_new([package])[0])
            if len(options):
                package.preferred_provider = market.providers[choose(rng, options)].id


def _exclude_one(rng: np.random.Generator, package: DraftPackage, market: Market) -> None:
    """Exclude a provider of the person's zone, unless it is their current provider or the
    only one who could take them."""
    new = market.can_take_new([package])[0]
    zone = market.zones.index(package.zone)
    options = [
        i
        for i in np.flatnonzero(market.tier[:, zone] > 0)
        if market.providers[i].id != package.current_provider and new.sum() - new[i] >= 1
    ]
    if options:
        package.excluded_providers = (market.providers[choose(rng, options)].id,)


def band_load(packages: Sequence[DraftPackage], market: Market) -> np.ndarray:
    """Existing minutes per provider and band (rows in market order, columns in `BANDS`)."""
    load = np.zeros((len(market.providers), len(BANDS)), dtype=np.int64)
    for package in packages:
        if package.current_provider is not None:
            load[market.index[package.current_provider]] += package.minutes_by_band()
    return load
