"""What each goal counts, per eligible (package, provider) pair, as integer arrays.

Every goal but fairness is a sum over placements, so one coefficient per pair defines it; the same
numbers order a package's options in explanations and shortlists. Units are in the names: carer
minutes a week, pence a week, metres.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from allocator.book import BookArrays
from allocator.eligibility import Eligibility, eligibility
from allocator.geography import great_circle_km
from allocator.policy import Goal
from allocator.scenario import Scenario

MAXIMISED: frozenset[Goal] = frozenset(
    {Goal.EXISTING_CARE, Goal.URGENT_HOURS, Goal.HOURS_PLACED, Goal.CONTINUITY, Goal.PREFERENCES}
)
FAIRNESS_SCALE = 1000
"""Fairness is measured in per-mille of a provider's weekly capacity."""

SEPARABLE: tuple[Goal, ...] = tuple(g for g in Goal if g is not Goal.FAIRNESS)


def per_mille(load: np.ndarray, capacity: np.ndarray | int) -> np.ndarray:
    """Load in per-mille of (positive) capacity, rounded up as the model's fairness goal does."""
    return np.ceil(load * FAIRNESS_SCALE / capacity - 1e-9)


def peak_utilisation(pairs: PairTable, chosen: np.ndarray) -> int:
    """Highest provider load in per-mille of weekly capacity, rounded up as the model does."""
    load = np.bincount(
        pairs.provider[chosen],
        weights=pairs.minutes[chosen],
        minlength=len(pairs.scenario.providers),
    )
    capacity = pairs.arrays.capacity.sum(axis=1)
    with_capacity = capacity > 0
    if not with_capacity.any():
        return 0
    return int(per_mille(load[with_capacity], capacity[with_capacity]).max(initial=0))


def goal_value(pairs: PairTable, goal: Goal, chosen: np.ndarray) -> int:
    """The goal's value for a choice of pairs, computed without the solver."""
    if goal is Goal.FAIRNESS:
        return peak_utilisation(pairs, chosen)
    return int(pairs.coefficients(goal)[chosen].sum())


@dataclass(frozen=True)
class PairTable:
    """The eligible pairs with every per-pair quantity the model, explanations and reports use."""

    scenario: Scenario
    arrays: BookArrays
    package: np.ndarray
    provider: np.ndarray

    @classmethod
    def of(cls, allowed: Eligibility, arrays: BookArrays) -> PairTable:
        package, provider = allowed.pairs
        return cls(allowed.scenario, arrays, package.astype(np.int64), provider.astype(np.int64))

    @classmethod
    def of_scenario(cls, scenario: Scenario) -> PairTable:
        """Every eligible pair of `scenario`, for callers that need the pairs alone (`allocate`
        also keeps the filters' reasons, to explain its plan)."""
        arrays = BookArrays.of(scenario)
        return cls.of(eligibility(scenario, arrays), arrays)

    def __len__(self) -> int:
        return len(self.package)

    @cached_property
    def minutes(self) -> np.ndarray:
        """Weekly carer minutes of the pair's package."""
        return self.arrays.need.sum(axis=1)[self.package]

    @cached_property
    def urgent(self) -> np.ndarray:
        urgent = set(self.scenario.policy.urgent)
        flags = np.array([k.urgency in urgent for k in self.scenario.packages], dtype=bool)
        return flags[self.package]

    @cached_property
    def has_current(self) -> np.ndarray:
        """The pair's package is already in care with some provider."""
        return self.arrays.current.any(axis=1)[self.package]

    @cached_property
    def is_current(self) -> np.ndarray:
        return self.arrays.current[self.package, self.provider]

    @cached_property
    def pinned(self) -> np.ndarray:
        """The pair's package is pinned (its only eligible pair is its current placement)."""
        flags = np.array([k.pinned for k in self.scenario.packages], dtype=bool)
        return flags[self.package]

    @cached_property
    def cascade_step(self) -> np.ndarray:
        """0 for the first step of the package's zone cascade, 1 for the next, and so on."""
        return cascade_steps(self.scenario, self.arrays)[self.package, self.provider]

    @cached_property
    def preferences_met(self) -> np.ndarray:
        return preference_matrix(self.scenario).sum(axis=2)[self.package, self.provider]

    @cached_property
    def cost_pence(self) -> np.ndarray:
        """Weekly cost of the package at the provider's rate for the package's zone."""
        rate = zone_rate_matrix(self.scenario, self.arrays)[self.package, self.provider]
        return np.rint(self.minutes * rate * 100 / 60).astype(np.int64)

    @cached_property
    def bridging(self) -> np.ndarray:
        """The pair is a stop-gap: its provider is outside the first tier of the package's zone
        (a later tier, or not serving the zone at all)."""
        first = self.scenario.policy.cascade.tiers[:1]
        position = {zone: z for z, zone in enumerate(self.arrays.zones)}
        home = np.zeros((len(position), len(self.scenario.providers)), dtype=bool)
        for p, provider in enumerate(self.scenario.providers):
            for service in provider.zones:
                if service.zone in position and service.tier in first:
                    home[position[service.zone], p] = True
        return ~home[self.arrays.package_zone[self.package], self.provider]

    @cached_property
    def move_pence(self) -> np.ndarray:
        """What the policy charges the cost goal for moving the person to this provider: the
        weekly saving a move must beat (0 for staying put, and for people not yet in care)."""
        charge = round(self.scenario.policy.moves.cost_gbp * 100)
        return np.where(self.has_current & ~self.is_current, charge, 0).astype(np.int64)

    @cached_property
    def travel_m(self) -> np.ndarray:
        """Great-circle metres from the provider's base to the person's home."""
        packages, providers = self.scenario.packages, self.scenario.providers
        lat_k = np.array([k.lat for k in packages], dtype=float)
        lon_k = np.array([k.lon for k in packages], dtype=float)
        lat_p = np.array([p.lat for p in providers], dtype=float)
        lon_p = np.array([p.lon for p in providers], dtype=float)
        km = great_circle_km(
            lat_k[self.package], lon_k[self.package], lat_p[self.provider], lon_p[self.provider]
        )
        return np.rint(np.asarray(km) * 1000).astype(np.int64)

    def coefficients(self, goal: Goal) -> np.ndarray:
        """The goal's value per pair (counted in its own sense: see MAXIMISED)."""
        match goal:
            case Goal.EXISTING_CARE:
                return self.has_current.astype(np.int64)
            case Goal.URGENT_HOURS:
                return np.where(self.urgent, self.minutes, 0)
            case Goal.HOURS_PLACED:
                return self.minutes
            case Goal.CONTINUITY:
                if self.scenario.policy.moves.bridging_home:
                    return (self.is_current & ~self.bridging).astype(np.int64)
                return self.is_current.astype(np.int64)
            case Goal.CASCADE:
                return self.cascade_step
            case Goal.PREFERENCES:
                return self.preferences_met
            case Goal.COST:
                return self.cost_pence + self.move_pence
            case Goal.TRAVEL:
                return self.travel_m
        raise ValueError(f"{goal} is not a per-pair goal")

    def ranking_key(self, goals: tuple[Goal, ...]) -> np.ndarray:
        """(pairs × separable goals), lower always better: the lexicographic order of options."""
        columns = [
            -self.coefficients(g) if g in MAXIMISED else self.coefficients(g)
            for g in goals
            if g in SEPARABLE
        ]
        return np.stack(columns, axis=1) if columns else np.zeros((len(self), 0), dtype=np.int64)


def cascade_steps(scenario: Scenario, arrays: BookArrays) -> np.ndarray:
    """(packages × providers) step of each provider in the package's zone cascade.

    Providers are called off by tier (in the policy's tier order), then by rank; unranked providers
    of one tier share a step. A provider that does not serve the zone comes after every step.
    """
    policy = scenario.policy
    position = {zone: z for z, zone in enumerate(arrays.zones)}
    keys: list[dict[int, tuple[int, int]]] = [{} for _ in arrays.zones]
    for p, provider in enumerate(scenario.providers):
        for service in provider.zones:
            if service.zone in position:
                key = (policy.tier_position(service.tier), service.rank or 10**6)
                keys[position[service.zone]][p] = key
    steps = np.zeros((len(arrays.zones), len(scenario.providers)), dtype=np.int64)
    for z, zone_keys in enumerate(keys):
        order = {key: step for step, key in enumerate(sorted(set(zone_keys.values())))}
        steps[z, :] = len(order)
        for p, key in zone_keys.items():
            steps[z, p] = order[key]
    return steps[arrays.package_zone].reshape(len(scenario.packages), len(scenario.providers))


def zone_rate_matrix(scenario: Scenario, arrays: BookArrays) -> np.ndarray:
    """(packages × providers) hourly rate in GBP the provider charges in the package's zone."""
    providers = scenario.providers
    by_zone = np.tile(
        np.array([p.rate_gbp_per_hour for p in providers], dtype=float), (len(arrays.zones), 1)
    )
    position = {zone: z for z, zone in enumerate(arrays.zones)}
    for p, provider in enumerate(providers):
        for zone, rate in provider.zone_rates_gbp_per_hour.items():
            if zone in position:
                by_zone[position[zone], p] = rate
    return by_zone[arrays.package_zone]


PREFERENCES: tuple[str, ...] = ("gender", "language", "preferred_provider")


def preference_matrix(scenario: Scenario) -> np.ndarray:
    """(packages × providers × preference) bool: which of the person's preferences the pair meets.

    A gender request counts here only when the policy treats same-gender as soft.
    """
    packages, providers = scenario.packages, scenario.providers
    requested = preferences_requested(scenario)
    can_gender = np.array([p.same_gender for p in providers], dtype=bool)
    languages = sorted({lang for p in providers for lang in p.languages})
    speaks = np.zeros((len(languages) + 1, len(providers)), dtype=bool)
    for p, provider in enumerate(providers):
        speaks[[languages.index(lang) for lang in provider.languages], p] = True
    language = np.array(
        [
            languages.index(k.language) if k.language in languages else len(languages)
            for k in packages
        ],
        dtype=np.int64,
    )
    ids = np.array([p.id for p in providers], dtype=object)
    preferred = np.array([k.preferred_provider for k in packages], dtype=object)
    met = np.stack(
        [
            requested[:, :1] & can_gender[None, :],
            speaks[language].reshape(len(packages), len(providers)),
            preferred[:, None] == ids[None, :],
        ],
        axis=2,
    )
    return met.reshape(len(packages), len(providers), len(PREFERENCES))


def preferences_requested(scenario: Scenario) -> np.ndarray:
    """(packages × preference) bool: preferences each person expressed that the policy counts."""
    soft_gender = scenario.policy.hard_filters.same_gender == "soft"
    return np.array(
        [
            (
                soft_gender and k.gender_preference is not None,
                k.language is not None,
                k.preferred_provider is not None,
            )
            for k in scenario.packages
        ],
        dtype=bool,
    ).reshape(len(scenario.packages), len(PREFERENCES))
