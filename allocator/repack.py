"""Placing more: packages a placement level counts, and a plan leaves out, take the place of
placed packages worth less to that level, which then go wherever else they still fit.

Rounding a relaxed solution leaves out the packages the relaxation splits between providers
(about 300 at 20,000 packages), and on a full book none of them fits anywhere whole: every
provider of their zone is full in the morning band, so moving a placed package to another
provider to make room finds nothing either (measured: no gain at 20,000 packages). Trading
does: a package worth more to the level takes the place of one or a few worth less. The trades
keep every level already held (within the slack the plan has over it), the move budget and a
held fairness peak, as the shifts and swaps of `allocator.reassign` do.

They also repair a rounding that falls short of a level already held: the rounding of the
relaxed solution alone leaves out some people in care, but once repaired it does better than a
rounding that anchors them where the last plan had them (at 20,000 packages' urgent level it
placed 1,466,355 urgent minutes with 27 people in care left out; repaired and traded, it ends
at 1,452,390, against 1,443,960 for the anchored rounding after trades and 1,413,570 before).
"""

from __future__ import annotations

import time

import numpy as np

from allocator.framework_rules import FrameworkRules, Room
from allocator.goals import PairTable
from allocator.policy import Goal
from allocator.reassign import Held, Reassignment, signed_worth

PLACEMENT: frozenset[Goal] = frozenset({Goal.EXISTING_CARE, Goal.URGENT_HOURS, Goal.HOURS_PLACED})
"""The levels that count whether a package is placed, not where."""

MAX_DROPPED = 8
"""Most placed packages one newcomer may displace. Measured at 20,000 packages' hours level,
in a first version whose repairs did not move packages to make room: with four, the repair
left one of 25 people in care out; with ten, it placed all 31 (another run's plan)."""

SINGLE_TRIES = 3
"""Single packages a newcomer tries to displace, cheapest first, before a group of them."""


class Repacking(Reassignment):
    """A plan gaining on a placement level by trades, with the room and slack it leaves."""

    def __init__(
        self,
        pairs: PairTable,
        rules: FrameworkRules,
        chosen: np.ndarray,
        held: Held,
        solved: tuple[Goal, ...],
        caps: bool = True,
    ) -> None:
        super().__init__(pairs, rules, chosen, held)
        self.caps = caps
        """Whether the room a newcomer lacks counts weekly and lot caps, not only bands (see
        `_take_place`)."""
        self.tries = 0
        """Tries left (see `place_more`)."""
        self.relocate = False
        """Whether a newcomer may take the place of a package moved elsewhere (see
        `place_more`)."""
        self.solved = [signed_worth(pairs, goal) for goal in solved]
        """Per pair, what it is worth to each level solved before: packages worth more to the
        first are displaced last, then to the second, and so on (a repair of one level may
        displace packages another counts, and should displace as few as it can)."""

    def set_aside(self, uncounted: np.ndarray) -> np.ndarray:
        """Take out of the plan the placed pairs of `uncounted` that are not frozen (see
        `Reassignment`), and return them: packages no level counts so far, set aside so that
        their room is free to trade with (see `Rounding.traded`)."""
        aside = np.flatnonzero(self.chosen & uncounted & ~self.frozen)
        for a in aside:
            self._remove(int(a))
        return aside

    def place_more(
        self,
        goal: Goal,
        tries: int,
        deadline: float,
        until: int | None = None,
        relocate: bool = False,
    ) -> bool:
        """Trade while some trade gains on `goal`, for at most `tries` tries (a newcomer, or a
        package moved to make room for one: a budget of work, not of time, so the plan does
        not depend on the machine's load), or until the plan's value reaches `until` (a
        repair: then a newcomer may also take the place of a package that moves to another
        provider with room, a search too slow for every newcomer of a level, worth it for the
        few a repair must place; `relocate` asks for it without a repair). Whether the clock
        (`deadline`), a guard, stopped it first."""
        self.relocate = relocate or until is not None
        self.tries = tries
        worth = signed_worth(self.pairs, goal)
        value = int(worth[self.chosen].sum())
        while True:
            before = value
            for r in self._newcomers(worth):
                if self.tries <= 0 or (until is not None and value >= until):
                    return False
                if time.monotonic() > deadline:
                    return True
                self.tries -= 1
                if self.at[self.pairs.package[r]] < 0:
                    value += self._take_place(int(r), worth)
            if value == before:
                return False

    def _newcomers(self, worth: np.ndarray) -> np.ndarray:
        """Pairs of unplaced packages that could gain by a trade, most worth first.

        A quick test over all of them at once: the provider must have, among the packages it
        could displace, some worth less, and enough room per band with all of them gone.
        Without it the hours level tries 47,000 pairs per pass at 20,000 packages."""
        pairs = self.pairs
        rows = np.flatnonzero((self.at[pairs.package] < 0) & (worth > 0) & ~self.frozen)
        if self.relocate:  # few newcomers, which may move others: beyond this test
            return rows[np.argsort(-worth[rows], kind="stable")]
        placed = np.flatnonzero(self.chosen & ~self.frozen)
        placed = placed[self.current[placed] <= self.kept_slack]
        alone = np.ones(len(placed), dtype=bool)  # displaceable with no help from a newcomer
        counts = np.zeros(len(rows), dtype=bool)  # newcomers that count for a held level
        for signed, slack in zip(self.signed, self.slack, strict=True):
            alone &= signed[placed] <= slack
            counts |= signed[rows] > 0
        could = np.zeros(len(rows), dtype=bool)
        for displaceable, newcomers in ((placed[alone], ~counts), (placed, counts)):
            could[newcomers] = self._room_if_displaced(rows[newcomers], displaceable, worth)
        rows = rows[could]
        return rows[np.argsort(-worth[rows], kind="stable")]

    def _room_if_displaced(
        self, rows: np.ndarray, displaceable: np.ndarray, worth: np.ndarray
    ) -> np.ndarray:
        """For each pair in `rows`: whether its package fits at its provider as it is, or
        might once the `displaceable` placements there are gone, some worth less."""
        pairs, providers = self.pairs, len(self.members)
        freeable = np.zeros((providers, self.need.shape[1]), dtype=np.int64)
        np.add.at(freeable, pairs.provider[displaceable], self.need[pairs.package[displaceable]])
        cheapest = np.full(providers, np.iinfo(np.int64).max)
        np.minimum.at(cheapest, pairs.provider[displaceable], worth[displaceable])
        p, need = pairs.provider[rows], self.need[pairs.package[rows]]
        fits = (need <= self.room.band[p]).all(axis=1)
        freed = (cheapest[p] < worth[rows]) & (need <= self.room.band[p] + freeable[p]).all(axis=1)
        return fits | freed

    def _take_place(self, r: int, worth: np.ndarray) -> int:
        """Place pair r's package at its provider, displacing one or a few placed there that
        are worth less (the cheapest first, and those a solved level counts last), which then
        go elsewhere if they fit; the gain, 0 if no trade gains. The room it needs is per band
        and under the provider's weekly cap and its lots' caps (`Room.uses`): counting bands
        alone, the Rotherham example's rounding left out a person in care whose provider had
        room in every band but was 2,055 minutes short under its weekly cap, and no repair
        could place them. Without `caps` (on a sifted book: see `Rounding.traded`),
        bands alone."""
        pairs = self.pairs
        k, p = int(pairs.package[r]), int(pairs.provider[r])
        if self.room.fits(p, self.need[k]) and self._keeps_added(r):
            self._add(r)
            return int(worth[r])
        relocated = self._relocated(r, worth) if self.relocate else 0
        if relocated:
            return relocated
        members = self._members_at(p)
        there = self.at[members]
        uses = self._uses(members)
        short = self._short(k, p)
        relief = np.minimum(uses, short).sum(axis=1)
        ok = (worth[there] < worth[r]) & ~self.frozen[there] & ((relief > 0) | ~short.any())
        for signed, slack in zip(self.signed, self.slack, strict=True):
            ok &= signed[r] - signed[there] >= -slack
        ok &= self.current[r] - self.current[there] >= -self.kept_slack
        members, there, relief, uses = members[ok], there[ok], relief[ok], uses[ok]
        order = np.lexsort((-relief, *(w[there] for w in self.solved[::-1]), worth[there]))
        covers = (uses[order] >= short).all(axis=1)
        groups = [[int(i)] for i in order[covers][:SINGLE_TRIES]]
        groups.append(_group(uses, order, short))
        for group in groups:
            gain = self._displace(r, there[group], worth)
            if gain:
                return gain + sum(self._elsewhere(int(j), p, worth) for j in members[group])
        return 0

    def _relocated(self, r: int, worth: np.ndarray) -> int:
        """Place pair r's package at its provider by moving packages placed there to other
        providers of theirs with room: one whose room alone would do (the smallest first),
        else a few, those freeing most of the room it lacks first; the gain, 0 if none does.
        Moving a few placed 4 to 6 more urgent packages on the Rotherham example, where the
        last few left out each needed room two or three people in care held: at a 5 s limit,
        seeds 0-2, its urgent level ended 4.7-5.9 % from its bound (5.6-6.5 % moving one), at
        60 s at its optimum with every seed (0, 0 and 1.9 %)."""
        pairs = self.pairs
        k, p = int(pairs.package[r]), int(pairs.provider[r])
        members = self._members_at(p)
        members = members[~self.frozen[self.at[members]]]
        short, uses = self._short(k, p), self._uses(members)
        alone = (uses >= short).all(axis=1)
        smallest = np.argsort(self.need[members[alone]].sum(axis=1), kind="stable")
        for j in members[alone][smallest]:
            gain = self._moved_for(r, [int(j)], worth)
            if gain or self.tries <= 0:
                return gain
        relief = np.minimum(uses, short).sum(axis=1)
        most = np.argsort(-relief, kind="stable")[: np.count_nonzero(relief)]
        return self._moved_for(r, members[most][:MAX_DROPPED].tolist(), worth)

    def _moved_for(self, r: int, movers: list[int], worth: np.ndarray) -> int:
        """Move the `movers`, one by one, each to its first other provider with room, until
        pair r's package fits at its provider, and place it there; the gain, or 0 with every
        move undone if it still does not fit (or the tries run out)."""
        pairs = self.pairs
        k, p = int(pairs.package[r]), int(pairs.provider[r])
        moves: list[tuple[int, int]] = []
        for j in movers:
            if self.tries <= 0:
                break
            self.tries -= 1
            a, rows = int(self.at[j]), self.pair_of[j]
            providers = self._other_providers(j, p)
            for q in providers[self.room.fitting(providers, self.need[j])]:
                if self._shift_keeps(int(rows[q]), a, int(q)):
                    self._apply(int(rows[q]), a)
                    moves.append((int(rows[q]), a))
                    break
            if self.room.fits(p, self.need[k]) and self._keeps_added(r):
                self._add(r)
                return int(worth[r])
        for moved_to, moved_from in reversed(moves):
            self._apply(moved_from, moved_to)
        return 0

    def _uses(self, packages: np.ndarray) -> np.ndarray:
        """What these packages take of a provider's room (see `Room.uses`; bands alone
        without `caps`)."""
        need = self.need[packages]
        return Room.uses(need) if self.caps else need

    def _short(self, k: int, p: int) -> np.ndarray:
        """What package k lacks of room at provider p, in the terms of `_uses`."""
        room = self.room.left(p) if self.caps else self.room.band[p]
        return np.maximum(self._uses(np.array(k)) - room, 0)

    def _displace(self, r: int, drop: np.ndarray, worth: np.ndarray) -> int:
        """Unplace the pairs `drop` and place r instead, if that gains and keeps every held
        level; the gain, or 0 with the plan unchanged."""
        if not len(drop) or worth[drop].sum() >= worth[r]:
            return 0
        for signed, slack in zip(self.signed, self.slack, strict=True):
            if signed[r] - signed[drop].sum() < -slack:
                return 0
        if self.current[r] - self.current[drop].sum() < -self.kept_slack:
            return 0
        for a in drop:
            self._remove(int(a))
        if self.room.fits(int(self.pairs.provider[r]), self.need[self.pairs.package[r]]) and (
            self._keeps_added(r)
        ):
            self._add(r)
            return int(worth[r] - worth[drop].sum())
        for a in drop:
            self._add(int(a))
        return 0

    def _elsewhere(self, k: int, not_at: int, worth: np.ndarray) -> int:
        """Place package k at its first other provider with room, if that keeps every held
        level; the gain."""
        rows = self.pair_of[k]
        providers = self._other_providers(k, not_at)
        for q in providers[self.room.fitting(providers, self.need[k])]:
            r = int(rows[q])
            if self._keeps_added(r):
                self._add(r)
                return int(worth[r])
        return 0

    def _members_at(self, p: int) -> np.ndarray:
        """The packages placed at provider p."""
        return np.fromiter(self.members[p], dtype=np.int64, count=len(self.members[p]))

    def _other_providers(self, k: int, not_at: int) -> np.ndarray:
        """Package k's providers other than `not_at`, where its pair is not frozen."""
        rows = self.pair_of[k]
        providers = np.flatnonzero(rows >= 0)
        return providers[(providers != not_at) & ~self.frozen[rows[providers]]]

    def _keeps_added(self, r: int) -> bool:
        """Whether placing pair r (its package unplaced) keeps every held level and the
        fairness peak."""
        for signed, slack in zip(self.signed, self.slack, strict=True):
            if signed[r] < -slack:
                return False
        q = int(self.pairs.provider[r])
        return bool(self._under_peak(np.array([self.load[q] + self.pairs.minutes[r]]), q).all())


def _group(uses: np.ndarray, order: np.ndarray, short: np.ndarray) -> list[int]:
    """The first few placed packages in `order` that together free the `short` room, by what
    each `uses` of it (see `Room.uses`)."""
    group, left = [], short.copy()
    for i in order[: MAX_DROPPED * 4]:
        if (left <= 0).all() or len(group) == MAX_DROPPED:
            break
        if (np.minimum(uses[i], left) > 0).any():
            group.append(int(i))
            left -= uses[i]
    return group if len(group) > 1 and (left <= 0).all() else []
