"""Rules that bind groups of placements, not single pairs: lot caps and week-on/week-off rotations.

A lot cap (Bury's backup providers: 600 hours a week between them) limits the total carer minutes
placed with a group of providers. A rotation (Bury's neighbourhoods) says that the provider on
its week takes at least a share of the zone's new referrals that it can take: the week-off provider
may take a referral the week-on provider could take only within the remaining share, unless the
week-on provider has no room left for it. Both are read from the policy once, as index arrays over
the eligible pairs, for the model, the greedy strategies and the explanations alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.book import cap_minutes
from allocator.goals import PairTable
from allocator.policy import Rotation

SHARE_SCALE = 1000
"""Rotation shares are enforced in whole per-mille so the constraint stays integral."""

UNCAPPED = np.iinfo(np.int64).max // 4


@dataclass(frozen=True)
class LotCap:
    name: str
    providers: np.ndarray
    """Provider indices in the lot."""
    max_minutes: int


@dataclass(frozen=True)
class RotationRule:
    zone: str
    on: int
    off: int
    share_per_mille: int
    on_rows: np.ndarray
    """Pair rows: the zone's new referrals placed with the week-on provider."""
    off_rows: np.ndarray
    """Pair rows: those referrals the week-on provider could take, with the week-off provider."""

    def allows(self, placed_on: int, placed_off: int) -> bool:
        """Whether these counts keep the week-on provider at or above its share."""
        return SHARE_SCALE * placed_on >= self.share_per_mille * (placed_on + placed_off)


@dataclass
class Room:
    """What each provider (and capped lot) has left in a plan, in weekly carer minutes."""

    band: np.ndarray
    """(providers × bands)."""
    total: np.ndarray
    """(providers,) left under each provider's weekly cap (huge where uncapped)."""
    lot: np.ndarray
    """(capped lots,)."""
    in_lot: np.ndarray
    """(providers × capped lots): which capped lots each provider belongs to."""

    def fits(self, p: int, need: np.ndarray) -> bool:
        minutes = int(need.sum())
        return bool(
            (need <= self.band[p]).all()
            and minutes <= self.total[p]
            and (self.lot[self.in_lot[p]] >= minutes).all()
        )

    def fitting(self, providers: np.ndarray, need: np.ndarray) -> np.ndarray:
        """`fits` for one package's need at many providers at once: the mask of those with room
        (a greedy over every package asks this of each package's providers in turn)."""
        minutes = int(need.sum())
        ok = (need <= self.band[providers]).all(axis=1) & (minutes <= self.total[providers])
        if self.lot.size:
            ok &= ~(self.in_lot[providers] & (self.lot < minutes)).any(axis=1)
        return ok

    def left(self, p: int) -> np.ndarray:
        """Provider p's room per band, then under its weekly cap and its lots' caps: what
        `uses` measures a package against (it fits where it uses no more than this)."""
        lot = self.lot[self.in_lot[p]].min(initial=UNCAPPED)
        return np.concatenate([self.band[p], [self.total[p], lot]])

    @staticmethod
    def uses(need: np.ndarray) -> np.ndarray:
        """What packages with these band needs (one per row) take of `left`'s room: per band,
        then their minutes under the weekly cap and under the lots' caps."""
        minutes = need.sum(axis=-1, keepdims=True)
        return np.concatenate([need, minutes, minutes], axis=-1)

    def take(self, p: int, need: np.ndarray) -> None:
        minutes = int(need.sum())
        self.band[p] -= need
        self.total[p] -= minutes
        self.lot[self.in_lot[p]] -= minutes


@dataclass(frozen=True)
class FrameworkRules:
    lots: tuple[LotCap, ...]
    rotations: tuple[RotationRule, ...]

    @classmethod
    def of(cls, pairs: PairTable) -> FrameworkRules:
        scenario = pairs.scenario
        index = {p.id: i for i, p in enumerate(scenario.providers)}
        lots = tuple(
            LotCap(
                lot.name,
                np.array([index[p] for p in lot.providers], dtype=np.int64),
                cap_minutes(lot.max_weekly_hours),
            )
            for lot in scenario.policy.lots
            if lot.max_weekly_hours is not None
        )
        return cls(lots, tuple(_rotation(pairs, r, index) for r in scenario.policy.rotations))

    def room(self, pairs: PairTable, chosen: np.ndarray) -> Room:
        """What is left once the pairs in `chosen` are placed."""
        arrays = pairs.arrays
        band = arrays.capacity.copy()
        np.subtract.at(band, pairs.provider[chosen], arrays.need[pairs.package[chosen]])
        placed = np.bincount(
            pairs.provider[chosen], weights=pairs.minutes[chosen], minlength=len(band)
        ).astype(np.int64)
        total = np.where(arrays.max_minutes >= 0, arrays.max_minutes, UNCAPPED) - placed
        lot = np.array(
            [lot.max_minutes - int(placed[lot.providers].sum()) for lot in self.lots],
            dtype=np.int64,
        )
        in_lot = np.zeros((len(band), len(self.lots)), dtype=bool)
        for n, capped in enumerate(self.lots):
            in_lot[capped.providers, n] = True
        return Room(band, total, lot, in_lot)

    def rotation_counts(
        self, pairs: PairTable, chosen: np.ndarray, room: Room
    ) -> list[tuple[int, int]]:
        """Per rotation: (referrals with the week-on provider, referrals with the week-off
        provider that count against the share: those the week-on provider had room for)."""
        need = pairs.arrays.need
        return [
            (
                int(chosen[rule.on_rows].sum()),
                sum(
                    1
                    for i in rule.off_rows[chosen[rule.off_rows]]
                    if room.fits(rule.on, need[pairs.package[i]])
                ),
            )
            for rule in self.rotations
        ]


def _rotation(pairs: PairTable, rule: Rotation, index: dict[str, int]) -> RotationRule:
    scenario = pairs.scenario
    new_in_zone = np.array(
        [k.zone == rule.zone and k.current_provider is None for k in scenario.packages], dtype=bool
    )
    on, off = index[rule.on], index[rule.off]
    candidate = new_in_zone[pairs.package]
    on_rows = np.flatnonzero(candidate & (pairs.provider == on))
    takeable = np.zeros(len(scenario.packages), dtype=bool)
    takeable[pairs.package[on_rows]] = True
    off_rows = np.flatnonzero(candidate & (pairs.provider == off) & takeable[pairs.package])
    return RotationRule(rule.zone, on, off, round(rule.share * SHARE_SCALE), on_rows, off_rows)
