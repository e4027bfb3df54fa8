"""Plans made without the solver that keep the levels already solved: a level's relaxed solution
rounded, trades that place more, and a fill of whatever still fits.

A level's relaxation places most packages whole, so its rounding starts the level's search far
closer to the optimum than search finds alone. What makes rounding more than one greedy pass is
the levels held before it: a rounding that drops a package they count falls short of them, and
is no plan for this level. The solver (`allocator.solve`) calls these between its searches.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from allocator.cascade import place_greedily, queue_order
from allocator.framework_rules import FrameworkRules
from allocator.goals import MAXIMISED, PairTable, goal_value
from allocator.policy import Goal
from allocator.reassign import Held
from allocator.repack import PLACEMENT, Repacking

ROUNDING_PASSES = 32
"""Roundings of a relaxed solution, each anchoring the held packages the last one dropped,
before anchoring them all."""

REPAIR_TRIES = 10
"""A repair of a rounding may try this many times the tries its level's trades get: the few
packages it must place take many quick tries of moving others (at 20,000 packages' hours level
the urgent repair took 177,000 tries, 22 µs each, where the level's trades get 21,000)."""

RELOCATING = frozenset({Goal.URGENT_HOURS})
"""Levels whose trades may also move a placed package to another provider with room, to make
room for a newcomer, as a repair does (`Repacking.place_more`), on a book not sifted: their
newcomers are few (83 urgent packages in the Rotherham example), and what stands in their way
is mostly people in care, whom a trade may not displace but may move. Measured with seeds 0-2:
Rotherham's urgent level at a 5 s limit ended 18.2-19.8 % from its bound instead of
19.4-20.8 %, the county preset's at 1,000 packages and 60 s 3.9-5.2 % instead of 4.4-6.2 %,
with more hours placed too; Rotherham and the small council at 60 s did not change. At 20,000
packages (sifted) the urgent level placed 3,045 minutes fewer: its many newcomers spend the
tries on moves that fail. The hours level's newcomers are every package left out, too many
for this slower search."""


@dataclass(frozen=True)
class Rounding:
    """Roundings, trades and fills of plans for `pairs` that keep `held`: the levels solved so
    far and the move budget. On a `sifted` (county-sized) book trades count bands alone, never
    relocate and set nothing aside (see `traded`), and only one rounding is tried."""

    pairs: PairTable
    rules: FrameworkRules
    held: Held
    sifted: bool

    def evaluate(self, goal: Goal, chosen: np.ndarray) -> int:
        """The goal's value for a plan."""
        return goal_value(self.pairs, goal, chosen)

    def better_of(
        self, goal: Goal, chosen: np.ndarray, x: np.ndarray, wall_s: float, tries: int
    ) -> tuple[np.ndarray, bool]:
        """`chosen`, or the relaxation's plan rounded, if that keeps every level already solved
        and does better on `goal`: a start far closer to the optimum than search finds alone.

        Rounding can drop a package a held level counts (two packages the relaxation splits
        between the same providers may not both fit whole), and so fall short of that level.
        Each package dropped is then anchored where the plan has it and the rest rounded again,
        until the held levels are kept: at worst every counted package stays where the plan has
        it, which keeps them all. (A level held as a sum, not package by package, may be kept
        with packages dropped, so the anchoring stops once the levels are kept, not once no
        package is dropped: at 20,000 packages the hours level's rounding took 32 passes, 10 s,
        before, and 12 passes, 3.9 s, after.) If the wall clock (`wall_s`) or the passes end
        the anchoring first, a rounding with the held levels' packages first comes next, far
        better than anchoring every counted package (measured on the hours level cut after one
        pass: at 20,000 packages 16,595,385 minutes against 16,557,825, at Rotherham 688,620
        against 670,440); where the anchoring keeps the held levels, that rounding never did
        better (every level of Rotherham, Bury, the small council and 20,000 packages).

        On a placement level (not on a sifted book) a second rounding promotes each package
        dropped instead: rounded before every other, it goes where the relaxation has most of
        it, not where the last plan had it, taking less of the room the relaxation gave others.
        Trades then place more on both (`_repacked`, with `tries` and `wall_s` again as their
        guard), and the best is kept. Measured on the Rotherham example at a 5 s limit, seed
        0: the urgent level's promoted rounding placed 42,840 urgent minutes against 34,965
        anchored (46,830 and 41,580 after trades). On a sifted book it gained nothing at
        20,000 packages and took 2.3 s of the urgent level. Also returns whether the wall
        clock, not the passes or the tries, ended the anchoring or the trades.
        """
        counted = self.counted_by_held(chosen)
        order = self.rounding_order(x)
        stop_at = time.monotonic() + wall_s
        first = self.rounded(x, np.zeros_like(chosen), order)
        promote = goal in PLACEMENT and not self.sifted
        ways = (False, True) if promote else (False,)
        roundings = [self.kept_rounding(x, first, counted, order, way, stop_at) for way in ways]
        cut_short = any(clock for _, clock in roundings)
        candidate = roundings[0][0]
        if goal in PLACEMENT:
            kept = [plan for plan, _ in roundings]
            candidate, clock = self._repacked(goal, kept, first, tries, time.monotonic() + wall_s)
            cut_short |= clock
        if self.breaks_held(candidate) or not self.improves(goal, candidate, chosen):
            return chosen, cut_short
        return candidate, cut_short

    def kept_rounding(
        self,
        x: np.ndarray,
        first: np.ndarray,
        counted: np.ndarray,
        order: list[int],
        promote: bool,
        stop_at: float,
    ) -> tuple[np.ndarray, bool]:
        """A rounding of `x` that keeps the held levels, from the `first` pass's, and whether
        the clock (`stop_at`) ended the passes: each package of `counted` a pass drops is
        anchored where the plan has it or, with `promote`, rounded first (see `better_of`)."""
        anchor = np.zeros(len(self.pairs), dtype=bool)
        promoted: list[int] = []
        candidate, cut_short = first, False
        for _ in range(ROUNDING_PASSES - 1):
            if not self.breaks_held(candidate):
                return candidate, cut_short
            dropped = self._dropped(counted, candidate)
            if promote:
                new = np.setdiff1d(self.pairs.package[dropped], promoted).tolist()
                if not new:
                    break
                promoted += new
            else:
                anchor |= dropped
            cut_short = time.monotonic() > stop_at
            if cut_short:
                break
            candidate = self.rounded(x, anchor, _promoted(order, promoted))
        if self.breaks_held(candidate):
            candidate = self.rounded(x, anchor, self.rounding_order(x, held_first=True))
        if self.breaks_held(candidate):
            candidate = self.rounded(x, counted, order)
        return candidate, cut_short

    def _repacked(
        self, goal: Goal, kept: list[np.ndarray], first: np.ndarray, tries: int, deadline: float
    ) -> tuple[np.ndarray, bool]:
        """The best on `goal`, after trades (see `allocator.repack`), of the roundings that keep
        the held levels (`kept`) and the first, which anchors nothing, once trades for the held
        levels it falls short of have restored them.

        The first is usually the better: anchoring a package where the last plan had it takes
        room the relaxation gave others. Measured at 20,000 packages' hours level: the first
        placed 16,652,625 minutes but left out 32 people in care and 3,690 urgent minutes;
        repaired, then traded, 16,615,275, against 16,592,115 for the anchored rounding after
        trades (16,586,265 before). Where the repair fails, the others remain. Also returns
        whether the clock (`deadline`) stopped the repair or a trade."""
        repaired, clock = self._repaired(goal, first, tries, deadline)
        plans = []
        for plan in (*kept, repaired):
            if plan is not None and not self.breaks_held(plan):
                traded, stopped = self.traded(goal, plan, tries, deadline)
                plans.append(traded)
                clock |= stopped
        if not plans:
            return kept[0], clock
        return max(plans, key=lambda plan: self.evaluate(goal, plan)), clock

    def traded(
        self,
        goal: Goal,
        plan: np.ndarray,
        tries: int,
        deadline: float,
        held: Held | None = None,
        until: int | None = None,
        level: Goal | None = None,
    ) -> tuple[np.ndarray, bool]:
        """`plan` after trades that gain on `goal` (see `allocator.repack`) and keep `held`
        (default: every level held), up to `until`, and whether the clock stopped them.

        The packages that neither the level being solved (`level`, default `goal`) nor any
        level held counts are set aside while trading, and put back after wherever they still
        fit: their room is what the newcomers lack. At the urgent level, what blocks an urgent
        package is mostly people in care, who may only move, and their other providers are
        full of packages that level does not count; moving one there took two trades no single
        trade finds. Measured on the Rotherham example at a 5 s limit, seeds 0-2: the urgent
        level ended 5.6-6.5 % from its bound instead of 18.0-20.6 %; at 60 s, on the three
        examples and the county preset at 1,000 and 5,000 packages, within the spread between
        seeds. Not on a sifted book (see below)."""
        held = held or self.held
        solved = tuple(g for g, _ in self.held.levels)
        # On a sifted book, trades count bands alone, never relocate (see `RELOCATING`) and set
        # nothing aside: counting caps there placed 1,365 urgent minutes more at 20,000 packages,
        # and setting aside 0.16 % more, and the hours level, holding them, then ended 0.61 % and
        # 0.60 % from its bound instead of 0.45 %.
        small = not self.sifted
        repacking = Repacking(self.pairs, self.rules, plan, held, solved, caps=small)
        uncounted = self.uncounted(level or goal) if small else np.zeros_like(plan)
        aside = repacking.set_aside(uncounted)
        relocate = goal in RELOCATING and small
        clock = repacking.place_more(goal, tries, deadline, until, relocate)
        return self._put_back(repacking.chosen, aside), clock

    def uncounted(self, level: Goal) -> np.ndarray:
        """The pairs of packages that neither `level` nor a level held counts, nor the move
        budget (people in care): none while a level held is minimised, which putting them
        back elsewhere could worsen."""
        goals = [g for g, _ in self.held.levels] + [level]
        if not all(g in MAXIMISED for g in goals):
            return np.zeros(len(self.pairs), dtype=bool)
        counted = self.counted_packages(goals)
        counted[self.pairs.package[self.pairs.has_current]] = True
        return ~counted[self.pairs.package]

    def _put_back(self, plan: np.ndarray, aside: np.ndarray) -> np.ndarray:
        """`plan` with the packages of the `aside` pairs placed again, in queue order, where
        they still fit: at their own provider first, then as a fill would offer them."""
        if not len(aside):
            return plan
        other = np.ones(len(self.pairs), dtype=bool)
        other[aside] = False
        queue = np.asarray(queue_order(self.pairs))
        order = queue[np.isin(queue, self.pairs.package[aside])].tolist()
        return place_greedily(self.pairs, self.rules, plan, (*self.offers(), other), order)

    def offers(self) -> tuple[np.ndarray, ...]:
        """Keys offering each package its providers in the policy's order of goals, as a fill
        offers them (`place_greedily`'s `offer_keys`, the first goal most significant)."""
        keys = self.pairs.ranking_key(tuple(self.pairs.scenario.policy.goals))
        return tuple(keys.T[::-1])

    def _repaired(
        self, level: Goal, plan: np.ndarray, tries: int, deadline: float
    ) -> tuple[np.ndarray | None, bool]:
        """`plan` traded, level by level, back up to each held level it falls short of (with
        those it keeps held), or None if it still falls short of one; and whether the clock
        stopped a repair. `level` is the level being solved (see `traded`)."""
        if not self.breaks_held(plan):
            return None, False
        clock = False
        for goal, value in self.held.levels:
            if goal not in MAXIMISED or self.evaluate(goal, plan) >= value:
                continue
            kept = tuple((g, v) for g, v in self.held.levels if not self._falls_short(g, v, plan))
            held = Held(kept, self.held.least_kept)
            plan, stopped = self.traded(
                goal, plan, tries * REPAIR_TRIES, deadline, held, until=value, level=level
            )
            clock |= stopped
        return (None if self.breaks_held(plan) else plan), clock

    def _dropped(self, counted: np.ndarray, plan: np.ndarray) -> np.ndarray:
        """The pairs of `counted` whose package `plan` does not place."""
        placed = np.zeros(len(self.pairs.scenario.packages), dtype=bool)
        placed[self.pairs.package[plan]] = True
        return counted & ~placed[self.pairs.package]

    def improves(self, goal: Goal, plan: np.ndarray, than: np.ndarray) -> bool:
        """Whether `plan` does strictly better than `than` on `goal`."""
        now, then = self.evaluate(goal, plan), self.evaluate(goal, than)
        return (now > then) if goal in MAXIMISED else (now < then)

    def breaks_held(self, plan: np.ndarray) -> bool:
        """Whether `plan` falls short of the value some held level must keep, or moves more
        people than the move budget allows."""
        if int(plan[self.pairs.is_current].sum()) < self.held.least_kept:
            return True
        return any(self._falls_short(held, value, plan) for held, value in self.held.levels)

    def _falls_short(self, goal: Goal, value: int, plan: np.ndarray) -> bool:
        """Whether `plan` does worse on `goal` than `value`."""
        achieved = self.evaluate(goal, plan)
        return (achieved < value) if goal in MAXIMISED else (achieved > value)

    def counted_by_held(self, plan: np.ndarray) -> np.ndarray:
        """The pairs of `plan` whose package a held maximised level counts."""
        counted = self.counted_packages([held for held, _ in self.held.levels])
        return plan & counted[self.pairs.package]

    def counted_packages(self, goals: Sequence[Goal]) -> np.ndarray:
        """Per package, whether one of these goals, where maximised, counts it."""
        counted = np.zeros(len(self.pairs.scenario.packages), dtype=bool)
        for goal in goals:
            if goal in MAXIMISED:
                counted[self.pairs.package[self.pairs.coefficients(goal) > 0]] = True
        return counted

    def rounding_order(self, x: np.ndarray, held_first: bool = False) -> list[int]:
        """The packages in the order a rounding of the relaxed solution `x` places them.

        The packages the relaxation places whole go first: together they fit, as they are part
        of a solution that respects every capacity. Then the rest, those that count towards the
        levels already held first (in the levels' order), the most fully placed first.
        `held_first` puts the held levels' packages first of all: that keeps those levels at
        the first pass, but rounds worse as the only rounding (at 20,000 packages the urgent
        level ended 3.0 % from its bound instead of 2.4 %, and Rotherham's 3.9 % instead of
        1.6 %). Computed once per rounding, not per pass: it does not depend on the anchor.
        """
        pairs = self.pairs
        fullest = np.zeros(len(pairs.scenario.packages))
        np.maximum.at(fullest, pairs.package, np.round(x, 6))
        queue_rank = np.empty(len(fullest), dtype=np.int64)
        queue_rank[queue_order(pairs)] = np.arange(len(fullest))
        counts = []
        for held, _ in self.held.levels:
            if held in MAXIMISED:
                worth = np.zeros(len(fullest))
                np.maximum.at(worth, pairs.package, self.pairs.coefficients(held))
                counts.append(-worth)
        whole = fullest >= 1
        first = (~whole, *counts[::-1]) if held_first else (*counts[::-1], ~whole)
        return np.lexsort((queue_rank, -fullest, *first)).tolist()

    def rounded(self, x: np.ndarray, anchor: np.ndarray, order: list[int]) -> np.ndarray:
        """A plan from a relaxed solution: the packages in `order` (see `rounding_order`),
        each offered its providers in order of their share (then as the cascade would offer
        them), after the pinned pairs and `anchor`."""
        pairs = self.pairs
        share = np.round(x, 6)
        keys = (pairs.provider, pairs.travel_m, pairs.cascade_step, ~pairs.is_current, -share)
        return place_greedily(pairs, self.rules, pairs.pinned | anchor, keys, order)

    def filled(
        self, goal: Goal, chosen: np.ndarray, tries: int, stop_at: float
    ) -> tuple[np.ndarray, bool]:
        """`chosen` with any package that still fits somewhere placed, then, on a placement
        level, trades for more (`traded`, for `tries`, with `stop_at` as a guard), if that does
        better; and whether the clock stopped the trades.

        Adding a placement never lowers a maximised goal, so while every level so far maximises,
        this can only improve the plan; it closes the gap a time-limited search leaves behind.
        It runs before the level's search of the whole model as well as after: a fill that
        reaches the bound spares that search (Rotherham at 5 s: the urgent level then reaches
        its optimum about 2.5 s into the solve, where the search had run to 3.3 s for nothing;
        the hours level then ends 2.06-2.12 % from its bound in most runs, where half of ten
        solves without the fill ended 2.5 % or more, though seed 2 has ended 2.45 % in later
        runs)."""
        filled = place_greedily(self.pairs, self.rules, chosen, self.offers())
        clock = False
        if goal in PLACEMENT:
            filled, clock = self.traded(goal, filled, tries, stop_at)
        return (filled if self.improves(goal, filled, chosen) else chosen), clock


def _promoted(order: list[int], promoted: list[int]) -> list[int]:
    """`order` with the `promoted` packages first, in their own order."""
    if not promoted:
        return order
    first = set(promoted)
    return promoted + [k for k in order if k not in first]
