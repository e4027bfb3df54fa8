"""One what-if variant applied to a base book: a new resolved book, and whom the change touches.

Pure: the base is never changed (its records are frozen and every change makes a copy), so many
variants can be built from one base side by side, and the same variant always gives the same book.
The result goes through `resolve` like any other book, so a variant that breaks a rule the solver
relies on fails here, by name, rather than mid-solve.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from allocator.geography import PostcodeIndex
from allocator.model import BANDS, Band, CarePackage, Provider, ProviderStatus
from allocator.policy import Policy, ZoneDefinition
from allocator.resolve import resolve
from allocator.scenario import Scenario
from allocator.whatif.study import (
    CapacityChange,
    DemandChange,
    RateChange,
    Variant,
    ZoneMove,
    postcode_under,
    prefix_within,
)

NO_POSTCODES = PostcodeIndex({}, {}, {})
"""Every record of a resolved book is on the map already, so nothing needs looking up."""

Providers = tuple[Provider, ...]
Packages = tuple[CarePackage, ...]


@dataclass(frozen=True)
class Applied:
    """A variant's book, and the people the change itself touched (the report's "who is
    affected", before any solve moves anyone)."""

    scenario: Scenario
    displaced: tuple[str, ...] = ()
    """Packages whose current provider left the market: they need a new one."""
    unpinned: tuple[str, ...] = ()
    """Pinned packages their provider no longer has the capacity to hold: free to move."""
    rezoned: tuple[str, ...] = ()
    """Packages whose postcode the redraw put in another zone."""
    added_packages: tuple[str, ...] = ()
    removed_packages: tuple[str, ...] = ()


def apply(base: Scenario, variant: Variant) -> Applied:
    """The book `variant` describes; ScenarioError if the changed book is not a valid one.

    The changes are applied in the order the module `allocator.whatif.study` describes.
    """
    changes = variant.changes
    policy, packages, rezoned = _redraw(changes.policy or base.policy, base.packages, changes.zones)
    policy, providers, packages, displaced = _remove(
        policy, base.providers, packages, frozenset(changes.remove_providers)
    )
    providers = _embargo(providers, frozenset(changes.embargo_providers)) + changes.add_providers
    for capacity in changes.capacity:
        providers = tuple(scaled_capacity(p, capacity) for p in providers)
    packages, unpinned = _unpin_overflow(providers, packages)
    for rates in changes.rates:
        providers = tuple(scaled_rates(p, rates) for p in providers)
    for index, demand in enumerate(changes.demand):
        # One stream per change, the same for every value of a sweep: its samples are nested.
        rng = np.random.default_rng([variant.seed, variant.number, index])
        packages = _scaled_demand(packages, demand, rng)
    book = resolve(Scenario(policy=policy, providers=providers, packages=packages), NO_POSTCODES)
    before, after = set(base.package_by_id), set(book.package_by_id)
    return Applied(
        scenario=book,
        displaced=displaced,
        unpinned=unpinned,
        rezoned=rezoned,
        added_packages=tuple(k.id for k in book.packages if k.id not in before),
        removed_packages=tuple(k.id for k in base.packages if k.id not in after),
    )


def scaled_capacity(provider: Provider, change: CapacityChange) -> Provider:
    """The provider with the change made, if in its scope: whole minutes, rounded down (no one
    staffs a fraction of a minute)."""
    if not change.covers(provider):
        return provider
    bands = change.bands or BANDS
    minutes = {
        band: _floor(provider.capacity(band) * change.scale)
        if band in bands
        else provider.capacity(band)
        for band in BANDS
    }
    return provider.model_copy(update={"capacity_minutes": minutes})


def scaled_rates(provider: Provider, change: RateChange) -> Provider:
    """The provider with the change made, if in its scope: rates to the penny, all of them, or
    with `zones` only those paid there."""
    if not change.covers(provider):
        return provider
    if change.zones:
        zone_rates = {
            zone: round(provider.rate_in(zone) * change.scale, 2)
            for zone in change.zones
            if provider.service_in(zone)
        }
        return provider.model_copy(
            update={"zone_rates_gbp_per_hour": {**provider.zone_rates_gbp_per_hour, **zone_rates}}
        )
    return provider.model_copy(
        update={
            "rate_gbp_per_hour": round(provider.rate_gbp_per_hour * change.scale, 2),
            "zone_rates_gbp_per_hour": {
                zone: round(rate * change.scale, 2)
                for zone, rate in provider.zone_rates_gbp_per_hour.items()
            },
        }
    )


def _floor(minutes: float) -> int:
    # 0.29 x 100 is 28.999999999999996 in floating point: the tolerance keeps it 29.
    return math.floor(minutes + 1e-9)


def _redraw(
    policy: Policy, packages: Packages, moves: tuple[ZoneMove, ...]
) -> tuple[Policy, Packages, tuple[str, ...]]:
    """Move postcode prefixes between zones, and the packages living under them with them."""
    if not moves:
        return policy, packages, ()
    listed = {zone: list(definition.postcodes) for zone, definition in policy.zones.items()}
    for move in moves:
        for prefix in move.postcodes:
            # A moved district takes its listed sectors along; a moved sector beats its district.
            for zone, prefixes in listed.items():
                listed[zone] = [p for p in prefixes if not prefix_within(p, prefix)]
            listed[move.to].append(prefix)
    redrawn = policy.model_copy(
        update={"zones": {z: ZoneDefinition(postcodes=tuple(p)) for z, p in listed.items()}}
    )
    moved = [prefix for move in moves for prefix in move.postcodes]
    rezoned = []
    result = []
    for package in packages:
        zone = package.zone
        if any(postcode_under(package.postcode, prefix) for prefix in moved):
            zone = redrawn.zone_for_postcode(package.postcode)
        if zone != package.zone:
            rezoned.append(package.id)
            package = package.model_copy(update={"zone": zone})
        result.append(package)
    return redrawn, tuple(result), tuple(rezoned)


def _remove(
    policy: Policy, providers: Providers, packages: Packages, gone: frozenset[str]
) -> tuple[Policy, Providers, Packages, tuple[str, ...]]:
    """Providers leave the market: their people are displaced, and nothing names them any more."""
    if not gone:
        return policy, providers, packages, ()
    displaced = []
    result = []
    for package in packages:
        update: dict[str, object] = {}
        if package.current_provider in gone:
            update |= {"current_provider": None, "pinned": False}
            displaced.append(package.id)
        if package.preferred_provider in gone:
            update["preferred_provider"] = None
        if gone.intersection(package.excluded_providers):
            update["excluded_providers"] = _without(package.excluded_providers, gone)
        result.append(package.model_copy(update=update) if update else package)
    lots = []
    for lot in policy.lots:
        members = _without(lot.providers, gone)
        if members:
            lots.append(lot.model_copy(update={"providers": members}))
    rotations = tuple(r for r in policy.rotations if not gone.intersection((r.on, r.off)))
    policy = policy.model_copy(update={"lots": tuple(lots), "rotations": rotations})
    kept = tuple(p for p in providers if p.id not in gone)
    return policy, kept, tuple(result), tuple(displaced)


def _without(ids: Iterable[str], gone: frozenset[str]) -> tuple[str, ...]:
    return tuple(i for i in ids if i not in gone)


def _embargo(providers: Providers, embargoed: frozenset[str]) -> Providers:
    return tuple(
        p.model_copy(update={"status": ProviderStatus.EMBARGOED}) if p.id in embargoed else p
        for p in providers
    )


def _unpin_overflow(providers: Providers, packages: Packages) -> tuple[Packages, tuple[str, ...]]:
    """Pins that no longer fit their provider's capacity in a band are lifted, all of them in
    that band, so the solver decides who stays rather than the order of the file."""
    capacity = {p.id: p for p in providers}
    load: Counter[tuple[str | None, Band]] = Counter()
    for package in packages:
        if package.pinned:
            for band, minutes in package.carer_minutes_by_band().items():
                load[package.current_provider, band] += minutes
    over = {(pid, band) for (pid, band), m in load.items() if m > capacity[pid].capacity(band)}
    if not over:
        return packages, ()
    unpinned = []
    result = []
    for package in packages:
        needs = package.carer_minutes_by_band()
        if package.pinned and any((package.current_provider, b) in over for b in needs if needs[b]):
            unpinned.append(package.id)
            package = package.model_copy(update={"pinned": False})
        result.append(package)
    return tuple(result), tuple(unpinned)


def _scaled_demand(packages: Packages, change: DemandChange, rng: np.random.Generator) -> Packages:
    """More people with the same needs as a sample of those in scope, or fewer people."""
    in_scope = [k for k in packages if change.covers(k)]
    sample = [in_scope[i] for i in rng.permutation(len(in_scope))]
    if change.scale >= 1:
        taken = {k.id for k in packages}
        extra = _half_up(len(in_scope) * (change.scale - 1))
        return packages + tuple(_newcomer(sample[j % len(sample)], taken) for j in range(extra))
    sample.sort(key=lambda k: k.current_provider is not None)
    leaving = {k.id for k in sample[: _half_up(len(in_scope) * (1 - change.scale))]}
    return tuple(k for k in packages if k.id not in leaving)


def _half_up(count: float) -> int:
    return math.floor(count + 0.5)


def _newcomer(like: CarePackage, taken: set[str]) -> CarePackage:
    """A new person needing what `like` needs, waiting for a provider, as `<id>.w1`, `.w2`..."""
    copy = 1
    while f"{like.id}.w{copy}" in taken:
        copy += 1
    new_id = f"{like.id}.w{copy}"
    taken.add(new_id)
    return like.model_copy(update={"id": new_id, "current_provider": None, "pinned": False})
