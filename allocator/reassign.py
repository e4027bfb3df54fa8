"""Moving placed packages between providers: better plans for the goals that depend on where a
package is placed, not whether it is (continuity, cascade, preferences, cost, travel).

On a county-sized book these levels come after the placement levels have filled the providers'
capacity, their relaxations stop on the clock and CP-SAT has no time to start, so without this
they keep the plan the hours level left (at 20,000 packages, 2,283 people in care moved from
their provider, 923 of whom a single swap would take home). Two kinds of move, both keeping every
package placed, so every placement level keeps its value:

- a *shift*: one package to another of its providers with room;
- a *swap*: two packages exchange providers, each eligible for the other's, when both fit.

Each move is checked against every capacity (bands, weekly caps, lots), the held levels (within
the slack the plan has over each), the move budget and a held fairness peak, so the plan stays
feasible throughout. Packages a rotation rule counts, and the week-on providers whose room
decides what it counts, are left where they are.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from allocator.framework_rules import FrameworkRules
from allocator.goals import MAXIMISED, PairTable, per_mille
from allocator.policy import Goal

REASSIGNABLE: frozenset[Goal] = frozenset(
    {Goal.CONTINUITY, Goal.CASCADE, Goal.PREFERENCES, Goal.COST, Goal.TRAVEL}
)
"""The goals a package's provider decides (placing it or not is decided by the levels before)."""


@dataclass(frozen=True)
class Held:
    """What a plan must keep: levels already solved, and the move budget."""

    levels: tuple[tuple[Goal, int], ...]
    least_kept: int


class Reassignment:
    """A plan being improved by shifts and swaps, with the room and slack it leaves."""

    def __init__(
        self, pairs: PairTable, rules: FrameworkRules, chosen: np.ndarray, held: Held
    ) -> None:
        self.pairs = pairs
        self.chosen = chosen.copy()
        self.room = rules.room(pairs, chosen)
        self.need = pairs.arrays.need
        packages, providers = len(pairs.scenario.packages), len(pairs.scenario.providers)
        self.at = np.full(packages, -1, dtype=np.int64)
        self.at[pairs.package[chosen]] = np.flatnonzero(chosen)
        self.members: list[set[int]] = [set() for _ in range(providers)]
        for k, p in zip(pairs.package[chosen], pairs.provider[chosen], strict=True):
            self.members[p].add(int(k))
        self.pair_of = np.full((packages, providers), -1, dtype=np.int32)
        """Each (package, provider)'s pair, -1 where not eligible: a swap looks up the pairs of
        every package at one provider with another."""
        self.pair_of[pairs.package, pairs.provider] = np.arange(len(pairs), dtype=np.int32)
        self.frozen = pairs.pinned | _rotation_rows(pairs, rules)
        levels = [(goal, value) for goal, value in held.levels if goal is not Goal.FAIRNESS]
        self.signed = [signed_worth(pairs, goal) for goal, _ in levels]
        """Each held level per pair, higher better; `slack`: how far the plan is above each."""
        self.slack = np.array(
            [
                signed[chosen].sum() - (value if goal in MAXIMISED else -value)
                for signed, (goal, value) in zip(self.signed, levels, strict=True)
            ],
            dtype=np.int64,
        )
        self.current = pairs.is_current.astype(np.int64)
        self.kept_slack = int(self.current[chosen].sum()) - held.least_kept
        peaks = [v for g, v in held.levels if g is Goal.FAIRNESS]
        self.peak = peaks[0] if peaks else None
        self.capacity = pairs.arrays.capacity.sum(axis=1)
        self.load = np.bincount(
            pairs.provider[chosen], weights=pairs.minutes[chosen], minlength=providers
        ).astype(np.int64)

    def improve(self, goal: Goal, tries: int, deadline: float) -> bool:
        """Shift and swap while some move improves `goal`, for at most `tries` moves tried;
        whether the clock (`deadline`), not the tries, stopped it first."""
        worth = signed_worth(self.pairs, goal)
        while True:
            moved = False
            for r in self._wishes(worth):
                if tries <= 0:
                    return False
                if time.monotonic() > deadline:
                    return True
                tries -= 1
                moved |= self._try(int(r), worth)
            if not moved:
                return False

    def _wishes(self, worth: np.ndarray) -> np.ndarray:
        """Pairs whose package is placed elsewhere for less, best gain first."""
        pairs = self.pairs
        placed = self.at[pairs.package]
        movable = (placed >= 0) & ~self.chosen & ~self.frozen
        movable[movable] &= ~self.frozen[placed[movable]]
        rows = np.flatnonzero(movable)
        gain = worth[rows] - worth[placed[rows]]
        rows, gain = rows[gain > 0], gain[gain > 0]
        return rows[np.argsort(-gain, kind="stable")]

    def _try(self, r: int, worth: np.ndarray) -> bool:
        """Move pair r's package to r's provider, alone or swapping with one placed there."""
        pairs = self.pairs
        j = int(pairs.package[r])
        a = int(self.at[j])
        if worth[r] <= worth[a]:
            return False  # an earlier move already placed it as well
        p, q = int(pairs.provider[a]), int(pairs.provider[r])
        if self.room.fits(q, self.need[j]) and self._shift_keeps(r, a, q):
            self._apply(r, a)
            return True
        partners = np.fromiter(self.members[q], dtype=np.int64, count=len(self.members[q]))
        back = self.pair_of[partners, p]
        partners, back = partners[back >= 0], back[back >= 0]  # those eligible with p
        there = self.at[partners]
        gain = worth[r] - worth[a] + worth[back] - worth[there]
        ok = (gain > 0) & ~self.frozen[there] & ~self.frozen[back]
        partners, there, back, gain = partners[ok], there[ok], back[ok], gain[ok]
        if not len(partners):
            return False
        ok = self._swap_fits(j, partners, p, q)
        ok &= self._keeps_swap(r, a, back, there, j, partners, p, q)
        if not ok.any():
            return False
        best = int(np.argmax(np.where(ok, gain, np.iinfo(np.int64).min)))
        self._apply(r, a)
        self._apply(int(back[best]), int(there[best]))
        return True

    def _swap_fits(self, j: int, partners: np.ndarray, p: int, q: int) -> np.ndarray:
        """For each partner k at q: whether j at q and k at p both fit once they trade."""
        room, need = self.room, self.need
        mine, theirs = need[j], need[partners]
        fits = (room.band[q] + theirs - mine >= 0).all(axis=1)
        fits &= (room.band[p] + mine - theirs >= 0).all(axis=1)
        change = theirs.sum(axis=1) - mine.sum()  # what q gains in room, p loses
        fits &= (room.total[q] + change >= 0) & (room.total[p] - change >= 0)
        only_q = room.in_lot[q] & ~room.in_lot[p]
        only_p = room.in_lot[p] & ~room.in_lot[q]
        fits &= (room.lot[only_q] + change[:, None] >= 0).all(axis=1)
        fits &= (room.lot[only_p] - change[:, None] >= 0).all(axis=1)
        return fits

    def _shift_keeps(self, r: int, a: int, q: int) -> bool:
        """Whether shifting pair a's package to pair r (at q) keeps every held level, the move
        budget and the fairness peak."""
        for signed, slack in zip(self.signed, self.slack, strict=True):
            if signed[r] - signed[a] < -slack:
                return False
        if self.current[r] - self.current[a] < -self.kept_slack:
            return False
        minutes = int(self.pairs.minutes[r])
        return self._under_peak(np.array([self.load[q] + minutes]), q).all()

    def _keeps_swap(
        self,
        r: int,
        a: int,
        back: np.ndarray,
        there: np.ndarray,
        j: int,
        partners: np.ndarray,
        p: int,
        q: int,
    ) -> np.ndarray:
        """For each partner: whether the swap keeps every held level, the move budget and the
        fairness peak."""
        ok = np.ones(len(back), dtype=bool)
        for signed, slack in zip(self.signed, self.slack, strict=True):
            ok &= signed[r] - signed[a] + signed[back] - signed[there] >= -slack
        kept = self.current[r] - self.current[a] + self.current[back] - self.current[there]
        ok &= kept >= -self.kept_slack
        change = self.need[partners].sum(axis=1) - self.need[j].sum()
        ok &= self._under_peak(self.load[q] - change, q)
        ok &= self._under_peak(self.load[p] + change, p)
        return ok

    def _under_peak(self, load: np.ndarray, provider: int) -> np.ndarray:
        """Whether `provider` at each of these loads stays within a held fairness peak."""
        if self.peak is None or self.capacity[provider] <= 0:
            return np.ones(len(load), dtype=bool)
        return per_mille(load, self.capacity[provider]) <= self.peak

    def _apply(self, r: int, a: int) -> None:
        """Move pair a's package to pair r (same package), updating room, slack and loads."""
        self._remove(a)
        self._add(r)

    def _add(self, r: int) -> None:
        """Place pair r's (unplaced) package there, updating room, slack and loads."""
        pairs = self.pairs
        k, p = int(pairs.package[r]), int(pairs.provider[r])
        self.room.take(p, self.need[k])
        self.load[p] += int(pairs.minutes[r])
        self.members[p].add(k)
        self.chosen[r] = True
        self.at[k] = r
        for n, signed in enumerate(self.signed):
            self.slack[n] += signed[r]
        self.kept_slack += int(self.current[r])

    def _remove(self, a: int) -> None:
        """Unplace pair a's package, updating room, slack and loads."""
        pairs = self.pairs
        k, p = int(pairs.package[a]), int(pairs.provider[a])
        self.room.take(p, -self.need[k])
        self.load[p] -= int(pairs.minutes[a])
        self.members[p].discard(k)
        self.chosen[a] = False
        self.at[k] = -1
        for n, signed in enumerate(self.signed):
            self.slack[n] -= signed[a]
        self.kept_slack -= int(self.current[a])


def signed_worth(pairs: PairTable, goal: Goal) -> np.ndarray:
    """The goal per pair, higher better."""
    coefficients = pairs.coefficients(goal).astype(np.int64)
    return coefficients if goal in MAXIMISED else -coefficients


def _rotation_rows(pairs: PairTable, rules: FrameworkRules) -> np.ndarray:
    """Pairs a rotation rule counts, and every pair of a provider whose load decides whether
    the week-on provider has room (itself, and its lots' other members)."""
    frozen = np.zeros(len(pairs), dtype=bool)
    for rule in rules.rotations:
        frozen[rule.on_rows] = True
        frozen[rule.off_rows] = True
        deciding = [rule.on]
        for lot in rules.lots:
            if rule.on in lot.providers:
                deciding.extend(lot.providers.tolist())
        frozen[np.isin(pairs.provider, deciding)] = True
    return frozen
