"""One CP-SAT model over the eligible pairs, optimised goal by goal in the policy's order.

Lexicographic: solve a level, fix its value as a constraint, go to the next, hinting the previous
solution so each level starts from the last. Search is interleaved with a fixed seed and budgeted
in deterministic work, not seconds, so the same inputs give the same answer on any machine that
finishes its work within the wall-clock limit (the result says when one did not).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from allocator.framework_rules import SHARE_SCALE, FrameworkRules, RotationRule
from allocator.goals import FAIRNESS_SCALE, MAXIMISED, PairTable, goal_value
from allocator.highs import solve_binary
from allocator.linear_rows import LinearObjective, LinearRows, Submodel
from allocator.lp_bound import LpOutcome, LpRelaxation, first_in_cascade
from allocator.model import BANDS
from allocator.policy import Goal
from allocator.provider_groups import ProviderGroups
from allocator.reassign import REASSIGNABLE, Held, Reassignment
from allocator.repack import PLACEMENT
from allocator.rounding import Rounding
from allocator.search_start import solve_within

EXACT_INTEGER_LIMIT = 2**53
"""CP-SAT reports objectives as doubles: beyond this, integers are no longer exact."""

WORK_PER_SECOND = 0.3
"""CP-SAT deterministic work units budgeted per second of the time limit. Search stops on work,
not on the clock, so its answer does not depend on machine load. On the 2-core reference
machine the examples' 60 s solves end in 21-39 s, at 0.2 as at 0.3 (most levels' searches stop
when a round finds nothing, not on work), which leaves the wall-clock limit as a guard that a
machine 50 % slower still does not reach. The small council's are bound by work: at 0.3 its
hours level ends 0.45-0.50 % from its bound (1.23-1.36 % at 0.2), keeping 150-163 people with
their provider instead of 183-187, as the policy ranks hours placed first. Not on a
county-sized book: CP-SAT's first batch of interleaved tasks cannot be cut and outruns a small
budget (at 20,000 packages the urgent level's RINS round, budgeted 2.8 units, used 8.2-9.5 in
the 13 s its share allowed), so the clock stops those searches, and the level says so (see
`stopped_by_clock`)."""

MIN_LEVEL_WALL_S = 0.5
"""A level that starts with less wall time than this left is not searched (nor, on a book not
sifted, with less than its last relaxation took: `_least_level_s`)."""

SEARCH_SETUP_S_PER_PAIR = 1e-5
"""Wall time CP-SAT takes per eligible pair to load and presolve the model before it searches
(measured on the county preset: 2.4 s at 20,000 packages, 242,255 pairs; 11.6 s at 50,000,
1,464,774 pairs). A search given less wall time than that would find nothing and overrun the
limit, so it is not started, nor is a level with less time left in all (its relaxation and
rounding alone would overrun: at 20,000 packages the last level started with 0.5 s left and
took 1.3 s)."""

MIN_LEVEL_WORK = 0.5
"""Work every level gets even when earlier levels overran theirs (CP-SAT stops a little after
its limit), so the last goals are still optimised rather than starved."""

LP_SHARE = 0.6
"""Most of a level's wall time its relaxation may take: past that, the level goes on with the
bound the relaxation's prices give so far and the plan of its last round. (At 20,000 packages
the urgent level's relaxation takes 8-9.5 s of a share of about 18 s; with 0.5 it was cut
short in one run of four, and the level ended 3.0 % from its bound instead of 2.35 %.)"""

LP_FLOOR_S = 2.0
"""Wall time every level's relaxation may take, whatever its share (but never past the limit):
its bound is what makes the level's gap mean something, and on a council of a few thousand
packages it takes about a second."""

RINS_SHARE = 0.7
"""Share of a level's budget spent searching around the relaxation's solution first."""

RINS_ROUND_WORK = 5.0
"""Deterministic work per round of that search: enough to solve a neighbourhood well, small
enough to take several rounds as the plan and the relaxation come together."""

ROUNDING_SHARE = 0.3
"""Most of a level's wall time those roundings may take (a pass is a greedy over every package:
0.25-0.4 s at 20,000 packages, where the hours level's 12 passes took 2.6-3.8 s against 3.2 s
allowed at 0.2, and cut short it ended 0.87 % from its bound instead of 0.57 %)."""

REASSIGN_SHARE = 0.3
"""Most of a level's wall time its shifts and swaps may take, before its relaxation."""

REASSIGN_TRIES_PER_SECOND = 5_000
"""Moves (and trades) tried per second of that share, counted from the level's share of the
whole limit, not of the time left: the budget that stops the shifts and swaps, so their plan
does not depend on the machine's load, nor on how long the levels before took (the wall clock
only guards them, and a level it stops says so). A try takes 30-90 µs on the 2-core reference
machine (34 µs at 20,000 packages' cascade level; at least 80 µs at Rotherham's cost level,
where at 10,000 a second the moves took 1.84 s of a 2.27 s share), so this stops them at about
half their share.
"""

MIN_REASSIGN_TRIES = 2_000
"""Tries every level gets, however short its share, so that one reached with only a moment
left still tries its best moves."""

WHOLE = 1e-6
"""A pair the relaxation sets within this of 1 (or of 0) counts as placed (or not)."""

PLAIN_ROUNDED = frozenset({Goal.URGENT_HOURS})
"""Levels whose search may start from the rounding of the relaxation's plain vertex (the RINS
guide) rather than of the nudged one, where that places more (`_rins_from_best_rounding`). The
nudged vertex keeps people in care with their providers, in the way of urgent newcomers; the
plain one moves them. Measured with seeds 0-2 against the build before: Rotherham's urgent level
at a 5 s limit reached its optimum instead of ending 4.7-5.9 % from its bound; Rotherham, Bury,
the small council and the county preset at 1,000 packages gave the same plans at 60 s; at 5,000
packages (seed 1) the urgent level ended 2.22 % from its bound instead of 3.22 %, but 2,955
people stayed with their provider instead of 3,499 (a later level, which the policy ranks
below). The hours level's plain vertex is not solved within its 5 s share, and at 60 s
rounding it as well, tried on every placement level, placed no more hours and kept fewer
people with their provider."""

GROUPED = PLACEMENT | {Goal.CONTINUITY}
"""Levels that re-solve a few providers' people at a time (`_regrouped`) on a book not sifted.
At continuity, bringing a person back to their provider means moving whoever took their place,
with the hours placed held: a chain among a few providers that RINS and single moves rarely
find. Measured at 60 s, seeds 0-2, against the placement levels alone: the small council kept
165, 176 and 176 people with their provider (149, 158, 154), Bury 470, 466 and 609 (466, 463,
592), Rotherham 512, 514 and 535 (509, 508, 529), the county preset at 1,000 packages 604
(531), with the same hours placed (every level before continuity within its spread between
seeds). HiGHS, given the small council's continuity level for 60 s from the plan without the
groups, finds 185 and a bound of 190, and from the plan with them nothing better than 165; given
Rotherham's for 120 s, nothing better than 509 or 512 (its bound 753)."""

GROUP_SIZE = 3
"""Providers per neighbourhood of `_regrouped`: measured on Rotherham's hours level at 60 s
(10 s of neighbourhoods, seed 0, from 2.05 % from its bound), groups of 3 at 0.1 units of work
ended 1.29 % from the bound, of 2 at 0.1 units 1.40 %, of 4 at 0.5 units 1.47 %, of 6 at 0.5
units 1.62 %."""

GROUP_WORK = 0.1
"""CP-SAT work (one worker) per neighbourhood: more, smaller re-solves gained more in the same
time (groups of 3 as in `GROUP_SIZE`: 0.1 units 1.29 %, 0.2 units 1.33 %)."""

GROUPS_PER_SECOND = 1
"""Neighbourhoods per second of a grouped level's planned share of the limit: a count, not a
time, so the plan does not depend on the machine; the clock only guards it. Their work is not
drawn from the level's work budget, so the levels after get the same budgets as without them
(the solve takes longer instead: below). Measured on the placement levels with seeds 0-2 at 60 s
against none: Rotherham's hours level 1.45-1.52 % from its bound (2.05-2.12 %), Bury's
0.25-0.32 % (0.27-0.42 %), the small council's 0.29-0.34 % (0.45-0.50 %), the county preset's at
1,000 packages 0.89-1.30 % (1.35-1.57 %) with its urgent level 2.75-3.08 % (3.08-4.06 %). Two a
second there took Rotherham to 1.30 % (seed 0) but its solve to 57.6 s, the hours level's
neighbourhoods stopped by the clock; one a second ends it at 50.6-57.2 s (across runs on an
otherwise idle machine), still on work, not on the clock. Continuity draws more at long limits
(`GROUP_STRETCH`). Since neighbourhoods are written over their free pairs (`_neighbourhood`),
three a second take Rotherham's hours level to 0.58-0.72 % from its bound at 60 s (0.78-0.87 %
at one), but gained nothing on the county preset at 1,000 packages and lost at 5,000 (0.663 %
against 0.647 %), and Bury's groups still copy the whole model (benchmarks/README.md)."""

GROUP_ROUNDS = {Goal.HOURS_PLACED: 3}
"""Most rounds of provider groups (`GROUPS_PER_SECOND` each) a level draws, each after the first
only while the round before gained, where neighbourhoods are written over their free pairs
(`_neighbourhood`). Traced at 60 s, seeds 0-2, with the rule on every book (ad-hoc, on build
8e34cc1), against one round: Rotherham's hours level ended 0.58, 0.72 and 0.70 % from its bound
(0.87, 0.85, 0.78 %), the small council's 0.23, 0.30 and 0.23 % (0.23, 0.30, 0.34 %); the county
preset (seed 1, solve seed 0) 0.654 % at 1,000 packages (the same) and 0.653 % at 5,000
(0.647 %), its cost level bounded at both. Three a second every round (`GROUPS_PER_SECOND`)
gained as much on Rotherham but left the 5,000-package cost level without a bound. Not where a
rotation rule keeps the groups on a copy of the whole model: Bury's further rounds were stopped
by the clock in every solve (its plans no longer reproducible) for little (its hours level
0.247, 0.258 and 0.258 % against 0.247, 0.262 and 0.258 %)."""

MIN_GROUPS = 5
"""Fewest neighbourhoods worth drawing: fewer (one or two a level at a 5 s limit) gain little
and take time the next level's relaxation and rounding need. Measured at 5 s with one or two a
level, seeds 0-2: Bury's hours level 0.88-1.02 % from its bound (0.98-1.09 % without), but two
runs of Rotherham's seed 2 ended 2.12 % (714 people kept with their provider) and 2.57 % (339
kept), the hours level's rounding cut short by the clock. The brokerage batch setting (10 s) still
draws five at the hours level."""

LEAST_GROUPS = {Goal.URGENT_HOURS: MIN_GROUPS}
"""Provider groups a level draws however short the limit (on a book not sifted): the urgent
level, where what RINS and the fill leave is a few urgent packages that only a chain of moves
places. Measured at 5 s, seeds 0-2 (`real_frameworks`, two runs, 2026-12-05): the small
council placed 279.0-283.25, 286.0 and 286.0 of 286.0 urgent hours a week (270.2, 279.0, 270.2)
and Bury's seed 0 907.8 of 932.2 (904.2, the others' optimum); Rotherham's seed 2 ended its
hours level 2.45 % from its bound in one run (2.06 % in the other and before). At 10 s every
urgent level of the three examples reached its optimum (traced), where Rotherham's seed 0 had
placed 985.25 of 1,001.0. From about 15 s the urgent level draws five or more anyway.

The groups the floor adds start from a provider that could serve an urgent package the plan
leaves out (`_regrouped`'s `focused`). Measured with `real_frameworks` at 5 s and 10 s, seeds
0-2, against the build before in the same hour (2026-12-05): every urgent level of the three
examples reached its optimum, the small council's seed 0 at 5 s placing 286.0 urgent hours a
week (283.25) and its hours level ending 1.14 % from its bound (1.93 %); of the other seventeen
solves, five placed 1.5 to 5.75 hours a week fewer and one 0.5 more. Every group started there
(7996417, reverted) cost the 5,000-package county book urgent hours at 60 s; these start there
only where fewer than `MIN_GROUPS` are planned, so 60 s solves are unchanged."""

GROUP_SHARE = 0.7
"""Share of the level's wall time left that the neighbourhoods may take before the clock stops
them, as RINS takes `RINS_SHARE`: the level's last search keeps the rest. At continuity little
follows them: Bury's 20 there (0.2-0.26 s each at 60 s, before `GROUP_STRETCH` doubled them and
their wall) were stopped by the clock at 0.5 and 0.6 with seeds 1 and 2, and finished at 0.7,
with the same plans."""

ROOTED = frozenset({Goal.HOURS_PLACED})
"""Levels where HiGHS's root node works on a core of the level (`_rooted`) before the provider
groups. Measured at 60 s: Rotherham's hours level ended 0.81-0.88 % from its bound with seeds
0-2 instead of 1.45-1.52 %, the county preset's at 1,000 packages 0.65 % instead of 1.30 %;
at the urgent level it found nothing the groups do not (Rotherham 59,745 urgent minutes against
the groups' 60,060, the optimum) and took 1-14 s."""

ROOT_PROVIDERS = 2
"""Providers per package, first in cascade order, in the core HiGHS's root node works on,
beside the plan's pairs and the relaxation's (on Rotherham's hours level from a 60 s plan: 2
gained 0.27 % in 8 s, 3 0.18 % in 18 s, every pair 0.37 % in 114 s)."""

ROOT_MAX_PAIRS = 5_000
"""Largest core worth a root node: its time grows with the core (about 2 ms a pair on the
examples: Rotherham 2,820 pairs 5.5 s), and at 5,000 packages (10,770 pairs) the root had not
finished in 12 s."""

ROOT_WORK_PER_PAIR = 0.0007
"""Deterministic work charged to the solve per pair of a root's core (about 2 ms a pair at
`WORK_PER_SECOND`), so the later levels' budgets give back some of the time it takes."""

ROOT_MIN_S = 20.0
"""Least planned share of the limit (seconds) at which a level runs HiGHS's root: at shorter
limits the root would take most of the level's time."""

ROOT_OBJECTIVE_SCALE = 1_000
"""The level's objective is given to HiGHS in thousandths of a minute. HiGHS's root finds its
plans with a sub-MIP after its cuts, and what it finds moves with the objective's scale, without
a pattern we know of; measured on the hours level of four books at 60 s, seed 0 (minutes placed
by the root, in minutes and in thousandths): Rotherham 691,125 and 693,930, Bury 701,955 both,
the small council 191,445 and 191,550, the county preset at 1,000 packages 814,410 and 814,785;
the roots took 1.7-10.2 s in minutes, 1.6-6.6 s in thousandths."""

ROOT_SHARE = 0.5
"""Share of the level's wall time left that the root may take before the clock stops it."""

TIME_WEIGHT = {
    Goal.EXISTING_CARE: 10,
    Goal.URGENT_HOURS: 30,
    Goal.HOURS_PLACED: 30,
    Goal.CONTINUITY: 10,
}
"""Share of the time budget per level (`TIME_WEIGHT_OTHERS` for goals not listed): the placement
levels decide unmet need, the sector's biggest failure, and are the hardest to solve; time a
level does not use passes on. Continuity, whether people keep their carers, takes a third of
what the placement levels leave in the default order; the five levels after it share the rest.
Continuity and those five weigh 30 together, so the placement levels keep the shares they were
tuned with."""

TIME_WEIGHT_OTHERS = 4
"""Weight of each goal `TIME_WEIGHT` does not list (cascade, preferences, cost, travel,
fairness)."""

GROUP_STRETCH = {Goal.CONTINUITY: 2.0}
"""Multiple of a level's provider groups (`GROUPS_PER_SECOND`) and of its share of the wall time
left (never more than all of it), on a book not sifted with `STRETCH_MIN_S` of the limit planned
for the level; its work budget stays its share. Continuity ends far from its bound (11-37 %
at 60 s, though a MIP solver given the level from our 60 s plans kept no one more: most of it is
the bound's slack), its groups are where its gains come from, and they are quick (Bury's
0.2-0.26 s each), but they were stopped by the clock: Bury's 40 at 60 s took about 8 s of the
9 s its share left them, while the levels after it end on their work well before their wall
(Bury's solve ended at 47 s).

Measured at 60 s, seeds 0-2: the small council kept 174, 182 and 179 people with their provider
(165, 176, 176 without the stretch), Bury 488, 487 and 611 (470, 466, 609), Rotherham 518, 518
and 536 (512, 514, 535), with the same hours placed; every Bury and small-council solve is
reproducible, and Rotherham's end at 58.7-59.6 s. Twice the groups with 1.5 times the wall left
Bury's seed 1 stopped by the clock; three times the groups kept no more (small council 175, 184,
180); groups of 4 providers kept fewer (156, 177, 169)."""

STRETCH_MIN_S = 6.0
"""Least planned share of the limit (seconds) at which a level stretches (`GROUP_STRETCH`): at
short limits the levels after continuity are stopped by the clock, not by their work, so what
continuity takes they lose. Measured with seeds 0-2: at 10 s (continuity planned 3.3 s, six
groups stretched against none), stretching left the cost level without a bound in every Bury
and small-council solve (0.14-0.16 % and 0.21-0.24 % from it unstretched); at 30 s, the CLI's
default (10 s planned), it kept more people with their provider in eight of nine solves (small
council 182, 186, 197 against 180, 176, 194), every cost level keeping its bound; at 60 s (20 s
planned) the levels after it end on their work. The threshold lies between 3.3 and 10."""


@dataclass(frozen=True)
class SolveParams:
    time_limit_s: float = 30.0
    """Wall-clock budget for all goal levels together."""
    seed: int = 0
    workers: int = 8
    """CP-SAT subsolvers, interleaved deterministically (on however many cores there are):
    the answer depends on this number, never on the machine. Eight (a portfolio of search
    strategies and neighbourhoods) solve this model far better per second than two."""


@dataclass(frozen=True)
class LevelOutcome:
    """How well one goal level was solved: its value, the best bound known, and the time taken."""

    goal: Goal
    maximise: bool
    value: int
    bound: int
    optimal: bool
    seconds: float
    hit_wall_clock: bool

    @property
    def gap(self) -> float:
        """Relative gap between value and bound (0 when proved optimal)."""
        if self.value == self.bound:
            return 0.0
        return abs(self.bound - self.value) / max(abs(self.bound), abs(self.value), 1)


@dataclass(frozen=True)
class Objective:
    """A linear objective as arrays: a weight per pair, one on the peak utilisation (the
    fairness goal's variable), and a constant."""

    pairs: np.ndarray
    peak: int = 0
    constant: int = 0


@dataclass(frozen=True)
class Budget:
    """One level's allowance: deterministic work (what stops it) and wall seconds (a guard)."""

    work: float
    wall_s: float


Progress = Callable[[int, int, Goal], None]
"""Called with (level index, number of levels, goal) as each level starts."""


class LexicographicModel:
    """The assignment model: one Boolean per eligible pair, capacities per provider and band."""

    def __init__(self, pairs: PairTable, rules: FrameworkRules) -> None:
        self.pairs = pairs
        self.rules = rules
        self.model = cp_model.CpModel()
        self.x = [self.model.new_bool_var(f"x{i}") for i in range(len(pairs))]
        self._x_index = np.array([v.index for v in self.x], dtype=np.int64)
        """Each pair's variable in the model's proto, for writing constraints, hints,
        objectives and fixings as arrays: a Python call per pair costs seconds at county size
        (at 50,000 packages, 1.5 million pairs, building sums term by term took 20 s)."""
        self._whole = Submodel(self.model, np.arange(len(pairs)), self._x_index)
        self.rows = LinearRows(len(pairs), (0, FAIRNESS_SCALE))
        """The model's rows as a matrix, for neighbourhoods' models (`_neighbourhood`); all
        of them unless `_rows_complete` is False (rotation rules are not linear rows)."""
        self._rows_complete = True
        self._objective = LinearObjective(np.zeros(len(pairs), dtype=np.int64), 0, 0, 1.0)
        self._one_provider_each()
        self._capacities()
        self._framework_rules()
        self.peak_utilisation = self.model.new_int_var(0, FAIRNESS_SCALE, "peak_utilisation")
        self._fairness()
        self.relaxation = LpRelaxation(pairs, rules)
        self.held: list[tuple[Goal, int]] = []
        """Levels solved so far, with the values every later plan must keep."""
        self.least_kept = 0
        """People every plan keeps with their current provider (the move budget)."""
        self.search_setup_s = len(pairs) * SEARCH_SETUP_S_PER_PAIR
        """Least wall time worth giving a CP-SAT search of this model (or starting a level)."""

    def _one_provider_each(self) -> None:
        starts = np.flatnonzero(np.diff(self.pairs.package, prepend=-1))
        for group in np.split(np.arange(len(self.pairs)), starts[1:]):
            if len(group) > 1:
                literals = self._x_index[group].tolist()
                self.model.proto.constraints.add().at_most_one.literals.extend(literals)
                self.rows.add(group, np.ones(len(group)), cp_model.INT_MIN, 1)
        rows = np.flatnonzero(self.pairs.pinned)
        self._add_sum(rows, np.ones(len(rows), dtype=np.int64), len(rows), len(rows))

    def _add_sum(
        self, rows: np.ndarray, weights: np.ndarray, lower: int, upper: int, peak: int = 0
    ) -> None:
        """lower ≤ Σ weights · x[rows] + peak · peak_utilisation ≤ upper, in the model and in
        its rows."""
        if not len(rows) and not peak:
            return
        self._write_sum(self.model, rows, weights, lower, upper, peak)
        self.rows.add(rows, weights, lower, upper, peak)

    def _write_sum(
        self,
        model: cp_model.CpModel,
        rows: np.ndarray,
        weights: np.ndarray,
        lower: int,
        upper: int,
        peak: int = 0,
    ) -> None:
        """The row of `_add_sum` written into `model`'s proto as arrays (as `CpModel.add`
        would write it, without a call per term)."""
        linear = model.proto.constraints.add().linear
        linear.vars.extend(self._x_index[rows].tolist())
        linear.coeffs.extend(np.asarray(weights, dtype=np.int64).tolist())
        if peak:
            linear.vars.append(self.peak_utilisation.index)
            linear.coeffs.append(peak)
        linear.domain.extend([lower, upper])

    def _provider_rows(self) -> list[np.ndarray]:
        order = np.argsort(self.pairs.provider, kind="stable")
        bounds = np.searchsorted(
            self.pairs.provider[order], np.arange(len(self.pairs.scenario.providers) + 1)
        )
        return [order[bounds[p] : bounds[p + 1]] for p in range(len(bounds) - 1)]

    def _capacities(self) -> None:
        arrays = self.pairs.arrays
        for p, rows in enumerate(self._provider_rows()):
            need = arrays.need[self.pairs.package[rows]]
            for b in range(len(BANDS)):
                self._at_most(rows, need[:, b], int(arrays.capacity[p, b]))
            if arrays.max_minutes[p] >= 0:
                self._at_most(rows, need.sum(axis=1), int(arrays.max_minutes[p]))

    def _framework_rules(self) -> None:
        for lot in self.rules.lots:
            rows = np.flatnonzero(np.isin(self.pairs.provider, lot.providers))
            self._at_most(rows, self.pairs.minutes[rows], lot.max_minutes)
        for rule in self.rules.rotations:
            if len(rule.off_rows):
                self._rotation(rule)

    def _rotation(self, rule: RotationRule) -> None:
        """The week-on provider keeps its share of the referrals it has room for.

        A week-off placement counts against the share unless it is *exempt*: the week-on
        provider is left without room for that package in some band, under its weekly cap or
        under its lot's cap (an indicator per way of being full, each enforcing the full load).
        """
        self._rows_complete = False
        arrays, pairs = self.pairs.arrays, self.pairs
        mine = np.flatnonzero(pairs.provider == rule.on)
        need = arrays.need[pairs.package[mine]]
        limits = [
            (self._weighted(mine, need[:, b]), need_b, int(arrays.capacity[rule.on, b]))
            for b, need_b in enumerate(arrays.need.T)
        ]
        if arrays.max_minutes[rule.on] >= 0:
            totals = arrays.need.sum(axis=1)
            limits.append(
                (self._weighted(mine, need.sum(axis=1)), totals, int(arrays.max_minutes[rule.on]))
            )
        for lot in self.rules.lots:
            if rule.on in lot.providers:
                rows = np.flatnonzero(np.isin(pairs.provider, lot.providers))
                load = self._weighted(rows, pairs.minutes[rows])
                limits.append((load, arrays.need.sum(axis=1), lot.max_minutes))
        exempt = []
        for i in rule.off_rows:
            k = pairs.package[i]
            full = []
            for load, package_need, limit in limits:
                if package_need[k] > 0:
                    is_full = self.model.new_bool_var(f"full{i}_{len(full)}")
                    self.model.add(load >= limit - int(package_need[k]) + 1).only_enforce_if(
                        is_full
                    )
                    full.append(is_full)
            if full:
                excused = self.model.new_bool_var(f"exempt{i}")
                self.model.add_implication(excused, self.x[i])
                self.model.add_bool_or(full).only_enforce_if(excused)
                exempt.append(excused)
        on = cp_model.LinearExpr.sum([self.x[i] for i in rule.on_rows])
        off = cp_model.LinearExpr.sum([self.x[i] for i in rule.off_rows])
        counted = off - cp_model.LinearExpr.sum(exempt)
        self.model.add(SHARE_SCALE * on >= rule.share_per_mille * (on + counted))

    def _at_most(self, rows: np.ndarray, weights: np.ndarray, limit: int) -> None:
        used = weights > 0
        if weights[used].sum() > limit:
            self._add_sum(rows[used], weights[used], cp_model.INT_MIN, limit)

    def _fairness(self) -> None:
        """Every provider's load, in per-mille of its weekly capacity, is at most the peak."""
        total_capacity = self.pairs.arrays.capacity.sum(axis=1)
        for p, rows in enumerate(self._provider_rows()):
            if len(rows) and total_capacity[p] > 0:
                load = self.pairs.minutes[rows] * FAIRNESS_SCALE
                self._add_sum(rows, load, cp_model.INT_MIN, 0, peak=-int(total_capacity[p]))

    def _weighted(self, rows: np.ndarray, weights: np.ndarray) -> cp_model.LinearExpr:
        return cp_model.LinearExpr.weighted_sum([self.x[i] for i in rows], weights.tolist())

    def magnitude(self, goal: Goal) -> int:
        """An upper bound on the goal's value (all coefficients are non-negative)."""
        if goal is Goal.FAIRNESS:
            return FAIRNESS_SCALE
        best = np.zeros(len(self.pairs.scenario.packages), dtype=np.int64)
        np.maximum.at(best, self.pairs.package, self.pairs.coefficients(goal))
        return int(best.sum())

    def _terms(self, goal: Goal) -> Objective:
        """The goal's objective as arrays."""
        if goal is Goal.FAIRNESS:
            return Objective(np.zeros(len(self.pairs), dtype=np.int64), peak=1)
        return Objective(self.pairs.coefficients(goal).astype(np.int64))

    def _tie_break(self, goal: Goal, following: Sequence[Goal]) -> tuple[int, Objective | None]:
        """(scale, term): optimising `scale * goal + term` is exactly lexicographic in (goal, next).

        The term is the next goal turned to the same sense and kept within [0, R], with
        scale = R + 1, so no amount of it can outweigh one unit of the goal. Each level then
        hands the next a solution that is already good for it, which matters because a level
        fixed at its optimum leaves the solver little room to repair a poor start. Skipped where
        the scaled objective would not be exact in a double.
        """
        if not following:
            return 1, None
        after = following[0]
        reach = self.magnitude(after)
        if (reach + 1) * max(self.magnitude(goal), 1) >= EXACT_INTEGER_LIMIT:
            return 1, None
        term = self._terms(after)
        if (after in MAXIMISED) != (goal in MAXIMISED):
            term = Objective(-term.pairs, -term.peak, reach)
        return reach + 1, term

    def evaluate(self, goal: Goal, chosen: np.ndarray) -> int:
        """The goal's value for a given choice of pairs, computed without the solver."""
        return goal_value(self.pairs, goal, chosen)

    @property
    def _must_keep(self) -> Held:
        """What every plan from here on must keep: the levels held so far and the move budget."""
        return Held(tuple(self.held), self.least_kept)

    @property
    def _plans(self) -> Rounding:
        """Roundings, trades and fills that keep `_must_keep`."""
        return Rounding(self.pairs, self.rules, self._must_keep, self.relaxation.sifted)

    def solve(
        self,
        goals: Sequence[Goal],
        params: SolveParams,
        start: np.ndarray,
        progress: Progress | None = None,
        deadline: float | None = None,
    ) -> tuple[np.ndarray, list[LevelOutcome]]:
        """Optimise each goal in turn from the feasible `start`; return the plan and outcomes.

        The wall clock stops at `deadline` (default: the time limit from now), so the caller
        can count the model's build and what follows the solve in the limit; the
        deterministic work budget is the limit's whatever those take."""
        chosen = start.copy()
        self._limit_moves(start)
        outcomes: list[LevelOutcome] = []
        deadline = time.monotonic() + params.time_limit_s if deadline is None else deadline
        work_left = params.time_limit_s * WORK_PER_SECOND
        relaxation_s = 0.0  # how long the last relaxation that finished took
        for level, goal in enumerate(goals):
            if progress:
                progress(level, len(goals), goal)
            weights = [TIME_WEIGHT.get(g, TIME_WEIGHT_OTHERS) for g in goals[level:]]
            share = weights[0] / sum(weights)
            # Tries count from the level's share of the whole limit, not of the time left, so
            # they do not depend on how long the levels before took; the clock only guards them.
            planned_s = params.time_limit_s * share
            # While every level so far maximises, placing what still fits can only help.
            filling = all(g in MAXIMISED for g in goals[: level + 1])
            fill_tries = _tries(planned_s * ROUNDING_SHARE)
            stretched = not self.relaxation.sifted and planned_s >= STRETCH_MIN_S
            stretch = GROUP_STRETCH.get(goal, 1.0) if stretched else 1.0
            wall_share = min(share * stretch, 1.0)
            budget = Budget(
                work=max(work_left * share, MIN_LEVEL_WORK),
                wall_s=max(_left(deadline), 0.05) * wall_share,
            )
            maximise = goal in MAXIMISED
            value, bound = self.evaluate(goal, chosen), _trivial_bound(self, goal, maximise)
            if value == bound:  # proved without a solve (everyone in care placed, say)
                outcomes.append(_proved(goal, maximise, value, 0.0))
                self._hold(goal, value)
                continue
            relax = self._worth_relaxing(goal, budget, relaxation_s)
            moves_cut = False
            if goal in REASSIGNABLE:
                part = REASSIGN_SHARE if relax else 1.0
                chosen, moves_cut = self._reassigned(
                    goal, chosen, _tries(planned_s * part), budget.wall_s * part, deadline
                )
            if not relax or _left(deadline) < self._least_level_s(relaxation_s):
                outcome = self._unsearched(goal, maximise, chosen)
                outcomes.append(outcome)
                self._hold(goal, outcome.value)
                continue
            lp_wall = max(budget.wall_s * LP_SHARE, min(LP_FLOOR_S, _left(deadline)))
            relaxed = self._relaxation(goal, lp_wall, chosen, deadline)
            cut_short = moves_cut or relaxed.timed_out
            if not relaxed.timed_out:
                relaxation_s = relaxed.seconds
            self._set_objective(goal, maximise)
            if relaxed.x is not None:
                chosen, rounding_cut = self._plans.better_of(
                    goal,
                    chosen,
                    relaxed.x,
                    _within(budget.wall_s * ROUNDING_SHARE, deadline),
                    _tries(planned_s * ROUNDING_SHARE),
                )
                cut_short |= rounding_cut
            lp_bound = relaxed.integer_bound(maximise)
            if lp_bound is not None and self.evaluate(goal, chosen) == lp_bound:
                outcome = _proved(goal, maximise, lp_bound, relaxed.seconds)
            else:
                if relaxed.x is not None:
                    # The relaxation may take more than its share (`LP_FLOOR_S`): the searches
                    # after it get what the limit leaves, so a short limit is kept.
                    guide = self._rins_guide(goal, relaxed, chosen, _left(deadline))
                    rins = Budget(
                        budget.work * RINS_SHARE, _within(budget.wall_s * RINS_SHARE, deadline)
                    )
                    chosen, work, rins_cut = self._rins_from_best_rounding(
                        guide,
                        relaxed.x,
                        goal,
                        maximise,
                        rins,
                        params,
                        chosen,
                        _tries(planned_s * ROUNDING_SHARE),
                    )
                    cut_short |= rins_cut
                    work_left -= work
                    budget = Budget(
                        max(budget.work - work, MIN_LEVEL_WORK / 2),
                        max(_left(deadline), 0.05) * wall_share,
                    )
                if self._worth_rooting(goal, planned_s, chosen, lp_bound):
                    chosen, root_cut, root_work = self._rooted(
                        goal, chosen, params, budget.wall_s * ROOT_SHARE
                    )
                    cut_short |= root_cut
                    work_left -= root_work
                    budget = Budget(budget.work, max(_left(deadline), 0.05) * wall_share)
                planned_groups = int(planned_s * GROUPS_PER_SECOND * stretch)
                groups = max(planned_groups, LEAST_GROUPS.get(goal, 0))
                if goal in GROUPED and not self.relaxation.sifted and groups >= MIN_GROUPS:
                    chosen, groups_cut = self._regrouped(
                        goal,
                        maximise,
                        chosen,
                        params,
                        groups,
                        time.monotonic() + budget.wall_s * GROUP_SHARE,
                        GROUP_ROUNDS.get(goal, 1) if self._rows_complete else 1,
                        focused=groups - planned_groups,
                    )
                    cut_short |= groups_cut
                    budget = Budget(budget.work, max(_left(deadline), 0.05) * wall_share)
                # The budget was set before the relaxation and rounding: never past the limit.
                budget = Budget(budget.work, _within(budget.wall_s, deadline))
                if filling:
                    chosen, fill_cut = self._filled(goal, chosen, budget.wall_s, fill_tries)
                    cut_short |= fill_cut
                # The searches and the fill may have reached the bound: nothing is left to find.
                if lp_bound is not None and self.evaluate(goal, chosen) == lp_bound:
                    outcome = _proved(goal, maximise, lp_bound, relaxed.seconds)
                elif self.relaxation.sifted and budget.work < MIN_LEVEL_WORK:
                    outcome = self._unsearched(goal, maximise, chosen, late=False)
                elif budget.wall_s < self.search_setup_s:
                    outcome = self._unsearched(goal, maximise, chosen)
                else:
                    scale, tie_break = self._tie_break(goal, goals[level + 1 : level + 2])
                    self._set_objective(goal, maximise, scale, tie_break)
                    chosen, outcome, work = self._solve_level(
                        goal, maximise, scale, budget, params, chosen
                    )
                    work_left -= work
                    if filling:
                        chosen, fill_cut = self._filled(goal, chosen, budget.wall_s, fill_tries)
                        cut_short |= fill_cut
                        outcome = self._of_plan(outcome, chosen)
            outcome = _tightened(outcome, lp_bound)
            if cut_short:
                outcome = dataclasses.replace(outcome, hit_wall_clock=True)
            outcomes.append(outcome)
            self._hold(goal, outcome.value)
        return chosen, [self._of_plan(outcome, chosen) for outcome in outcomes]

    def _of_plan(self, outcome: LevelOutcome, plan: np.ndarray) -> LevelOutcome:
        """The level's outcome with the value the final `plan` gets on it: a later level holds
        each earlier one at least at its value, and may do better (Bury at 5 s, seed 0: the
        urgent level placed 53,835 urgent minutes, 1.16 % from its bound, and the plan, after
        the hours level, 54,465, its optimum)."""
        value = self.evaluate(outcome.goal, plan)
        return dataclasses.replace(
            outcome, value=value, optimal=outcome.optimal or value == outcome.bound
        )

    def _least_level_s(self, last_relaxation_s: float) -> float:
        """Least wall time left worth starting a level's relaxation and search with: CP-SAT's
        setup, and on a book not sifted as long as the last relaxation took. A relaxation the
        clock stops there gives neither bound nor plan, and the search after it overran the
        limit (Rotherham at 60 s, seed 2: the travel level started its relaxation with 1.6 s
        left, took 1.5 s for nothing, then searched 0.9 s more, ending at 60.8 s). A sifted
        relaxation stopped on the clock still gives prices and a plan (`LP_SHARE`)."""
        least = max(MIN_LEVEL_WALL_S, self.search_setup_s)
        return least if self.relaxation.sifted else max(least, last_relaxation_s)

    def _worth_relaxing(self, goal: Goal, budget: Budget, last_relaxation_s: float) -> bool:
        """Whether to solve the level's relaxation: not on a sifted book, for a level whose
        plan moves and swaps can improve, when its share is shorter than the last relaxation
        took (it would end with no bound and nothing to round: at 20,000 packages each level
        after the hours level had 2 s for relaxations of 6-10 s)."""
        return not (
            goal in REASSIGNABLE
            and self.relaxation.sifted
            and budget.wall_s * LP_SHARE < last_relaxation_s
        )

    def _reassigned(
        self, goal: Goal, chosen: np.ndarray, tries: int, wall_s: float, deadline: float
    ) -> tuple[np.ndarray, bool]:
        """`chosen` with packages shifted and swapped between providers while that improves
        `goal` (see `allocator.reassign`), for at most `tries` moves tried, `wall_s` and never
        past `deadline`, and whether the clock rather than its tries stopped it. Cheap where
        the relaxation is not: at 20,000 packages the solve now keeps 13,287 people with their
        provider, not 12,584."""
        wall_s = _within(wall_s, deadline)
        if wall_s <= 0:
            return chosen, True
        plan = Reassignment(self.pairs, self.rules, chosen, self._must_keep)
        clock = plan.improve(goal, tries, time.monotonic() + wall_s)
        return plan.chosen, clock

    def _limit_moves(self, start: np.ndarray) -> None:
        """Keep with their current provider all but the policy's move budget of the people
        whose current provider could keep them, or as many as `start` keeps if fewer (a book
        its providers can no longer hold forces moves, and the start shows how many suffice)."""
        current = np.flatnonzero(self.pairs.is_current)
        limit = self.pairs.scenario.policy.moves.limit(len(current))
        if limit is None:
            return
        self.least_kept = min(len(current) - limit, int(start[current].sum()))
        if self.least_kept > 0:
            kept = np.ones(len(current), dtype=np.int64)
            self._add_sum(current, kept, self.least_kept, cp_model.INT_MAX)
            self.relaxation.keep_at_least(current, self.least_kept)

    def _hold(self, goal: Goal, value: int) -> None:
        """Keep `goal` at `value` or better in every later level."""
        self.held.append((goal, value))
        self.relaxation.hold(goal, value)
        terms = self._terms(goal)
        rows = np.flatnonzero(terms.pairs)
        lower, upper = (value, cp_model.INT_MAX) if goal in MAXIMISED else (cp_model.INT_MIN, value)
        self._add_sum(rows, terms.pairs[rows], lower, upper, peak=terms.peak)

    def _unsearched(
        self, goal: Goal, maximise: bool, chosen: np.ndarray, late: bool = True
    ) -> LevelOutcome:
        """A level not searched whole: the plan's value, with only a bound that needs no solve.

        Either out of time (`late`: reached after the limit, with less of its share left than
        CP-SAT's setup takes, or with less than its relaxation would take), so the solve ends
        on time rather than seconds late per level, or, on a county-sized book, with its work
        spent searching around the relaxation: a search of the whole with the floor of work
        left then gets only the model's copy and presolve (measured at 20,000 packages: 4 s a
        level, finding nothing; on a small book that floor still proves or improves a level,
        and costs little)."""
        value = self.evaluate(goal, chosen)
        bound = _trivial_bound(self, goal, maximise)
        return LevelOutcome(goal, maximise, value, bound, value == bound, 0.0, hit_wall_clock=late)

    def _set_objective(
        self, goal: Goal, maximise: bool, scale: int = 1, tie_break: Objective | None = None
    ) -> None:
        """Optimise `scale * goal + tie_break`, written into the model's proto as arrays (as
        `CpModel.maximize` would write it: a maximisation is a negated minimisation), from
        `_objective`, which neighbourhoods' models restrict."""
        term = self._terms(goal)
        weights, peak, constant = term.pairs * scale, term.peak * scale, 0
        if tie_break is not None:
            weights = weights + tie_break.pairs
            peak, constant = peak + tie_break.peak, tie_break.constant
        sign = -1 if maximise else 1
        self._objective = LinearObjective(sign * weights, sign * peak, sign * constant, float(sign))
        rows = np.flatnonzero(weights)
        self.model.clear_objective()
        objective = self.model.proto.objective
        objective.vars.extend(self._x_index[rows].tolist())
        objective.coeffs.extend(self._objective.weights[rows].tolist())
        if peak:
            objective.vars.append(self.peak_utilisation.index)
            objective.coeffs.append(self._objective.peak)
        objective.offset = self._objective.offset
        objective.scaling_factor = self._objective.scaling

    def _rins(
        self,
        x: np.ndarray,
        goal: Goal,
        maximise: bool,
        budget: Budget,
        params: SolveParams,
        chosen: np.ndarray,
    ) -> tuple[np.ndarray, float, bool]:
        """Search only where the plan and the relaxation disagree (RINS), in rounds.

        A pair both place is fixed in, a pair neither places fixed out (`_neighbourhood`): a
        small model that CP-SAT searches far better than the whole. The plan lies in it, so
        each round can only improve; rounds stop when one finds nothing better or the budget is
        spent. The neighbourhood optimises the goal alone: the scaled tie-break of the full
        search slows this one down several-fold. Returns the plan, the work used, and whether
        the wall clock (not the work budget) stopped it.
        """
        used = 0.0
        cut_short = False
        began = time.monotonic()
        while budget.work - used >= MIN_LEVEL_WORK / 2:
            agree_in = chosen & (x >= 1 - WHOLE)
            agree_out = ~chosen & (x <= WHOLE)
            if agree_in.sum() + agree_out.sum() == len(chosen):
                break
            neighbourhood = self._neighbourhood(~(agree_in | agree_out), chosen)
            wall = budget.wall_s - (time.monotonic() - began)
            round_budget = Budget(min(budget.work - used, RINS_ROUND_WORK), wall)
            if wall < max(self.search_setup_s, 1e-3):
                return chosen, used, True
            before = self.evaluate(goal, chosen)
            chosen, outcome, work = self._solve_level(
                goal, maximise, 1, round_budget, params, chosen, neighbourhood
            )
            used += work
            cut_short |= outcome.hit_wall_clock
            if self.evaluate(goal, chosen) == before:
                break
        return chosen, used, cut_short

    def _rins_from_best_rounding(
        self,
        guide: np.ndarray,
        nudged: np.ndarray,
        goal: Goal,
        maximise: bool,
        budget: Budget,
        params: SolveParams,
        chosen: np.ndarray,
        tries: int,
    ) -> tuple[np.ndarray, float, bool]:
        """RINS around `guide` from `chosen` or, on a `PLAIN_ROUNDED` level where the guide is
        not the `nudged` vertex `chosen` was rounded from, from the guide's own rounding if
        that does better (see `Rounding.better_of`).

        That rounding agrees with the guide wherever the guide is whole, so the neighbourhood
        around it is only the guide's fractional pairs, which may hold nothing to gain. The
        search then runs from `chosen` as well, with the budget left, and the better plan is
        kept: on the county preset at 1,000 packages and 60 s, the search from the rounding
        gained nothing (57,480 urgent minutes) and the one from `chosen` reached 60,465.
        Returns the plan, the work used, and whether the wall clock stopped a rounding or a
        search."""
        if goal not in PLAIN_ROUNDED or guide is nudged:
            return self._rins(guide, goal, maximise, budget, params, chosen)
        began = time.monotonic()
        rounded, cut_short = self._plans.better_of(
            goal, chosen, guide, budget.wall_s * ROUNDING_SHARE, tries
        )
        starts = [rounded, chosen] if self._plans.improves(goal, rounded, chosen) else [chosen]
        best, used = starts[0], 0.0
        for start in starts:
            rest = Budget(budget.work - used, budget.wall_s - (time.monotonic() - began))
            found, work, clock = self._rins(guide, goal, maximise, rest, params, start)
            used, cut_short = used + work, cut_short | clock
            if self._plans.improves(goal, found, best):
                best = found
            if self._plans.improves(goal, found, start):
                break
        return best, used, cut_short

    def _regrouped(
        self,
        goal: Goal,
        maximise: bool,
        chosen: np.ndarray,
        params: SolveParams,
        groups: int,
        stop_at: float,
        rounds: int = 1,
        focused: int = 0,
    ) -> tuple[np.ndarray, bool]:
        """`chosen` after rounds of `groups` exact re-solves of a few providers' people each
        (see `allocator.provider_groups`), the rest of the plan fixed, and whether the clock
        (`stop_at`) stopped them: at most `rounds`, each after the first only if the one
        before improved the level. The first `focused` groups of a round start from a provider
        that could serve a package the level counts and the plan leaves out (`LEAST_GROUPS`).
        One worker each, budgeted in work, so the plan is the same on any machine that
        finishes them in time."""
        neighbourhoods = ProviderGroups(
            self.pairs, GROUP_SIZE, (params.seed, list(Goal).index(goal))
        )
        one_worker = dataclasses.replace(params, workers=1)
        for _ in range(rounds):
            before = self.evaluate(goal, chosen)
            for drawn in range(groups):
                wall = stop_at - time.monotonic()
                if wall < max(self.search_setup_s, 1e-3):
                    return chosen, True
                first_of = self._waiting_providers(goal, chosen) if drawn < focused else None
                free = neighbourhoods.free(chosen, neighbourhoods.group(first_of))
                neighbourhood = self._neighbourhood(free, chosen)
                chosen, outcome, _ = self._solve_level(
                    goal, maximise, 1, Budget(GROUP_WORK, wall), one_worker, chosen, neighbourhood
                )
                if outcome.hit_wall_clock:
                    return chosen, True
            if self.evaluate(goal, chosen) == before:
                break
        return chosen, False

    def _waiting_providers(self, goal: Goal, plan: np.ndarray) -> np.ndarray:
        """The providers that could serve a package `goal` counts and `plan` leaves out."""
        counted = self._plans.counted_packages([goal])
        placed = np.bincount(self.pairs.package[plan], minlength=len(counted)) > 0
        waiting = (counted & ~placed)[self.pairs.package]
        return np.unique(self.pairs.provider[waiting])

    def _worth_rooting(
        self, goal: Goal, planned_s: float, chosen: np.ndarray, lp_bound: int | None
    ) -> bool:
        """Whether the level runs HiGHS's root (see `ROOTED`): on a book not sifted, with
        `ROOT_MIN_S` of the limit planned for it, and a plan short of the relaxation's bound."""
        return (
            goal in ROOTED
            and not self.relaxation.sifted
            and planned_s >= ROOT_MIN_S
            and self.evaluate(goal, chosen) != lp_bound
        )

    def _rooted(
        self, goal: Goal, chosen: np.ndarray, params: SolveParams, wall_s: float
    ) -> tuple[np.ndarray, bool, float]:
        """`chosen`, or the plan HiGHS's root node finds from it on a core of the level, if that
        does better and the whole model accepts it; whether the clock stopped HiGHS; and the
        work charged for it (`ROOT_WORK_PER_PAIR`).

        The core is the plan's pairs, the relaxation's, and each package's first
        `ROOT_PROVIDERS` in cascade order: a restriction, so its bound is not the level's. The
        root node alone is a deterministic stop, and its heuristics find chains of moves that
        neither RINS nor the provider groups do. They move people in care freely, which the
        goal allows (Rotherham at 60 s kept 508-529 of 811 with their provider, 668-680
        without the root), and the continuity level after brings few back (512-535 with its
        provider groups, `GROUPED`). With continuity as a tie-break (1 per person kept),
        Rotherham's root was cut by the clock at 10.9 s and the hours level ended 1.01 % from
        its bound, against 0.88 %."""
        core = (
            chosen
            | self.relaxation.support
            | self.pairs.pinned
            | first_in_cascade(self.pairs, ROOT_PROVIDERS)
        )
        pairs = int(core.sum())
        if pairs > ROOT_MAX_PAIRS:
            return chosen, False, 0.0
        objective = self._terms(goal).pairs * ROOT_OBJECTIVE_SCALE
        programme = self.relaxation.programme(core, objective, goal in MAXIMISED)
        outcome = solve_binary(programme, chosen[core], 1, wall_s)
        work = pairs * ROOT_WORK_PER_PAIR
        if outcome.x is None:
            return chosen, outcome.hit_wall_clock, work
        plan = np.zeros_like(chosen)
        plan[core] = outcome.x
        if self._plans.breaks_held(plan) or not self._plans.improves(goal, plan, chosen):
            return chosen, outcome.hit_wall_clock, work
        if not self._accepts(plan, params):
            return chosen, outcome.hit_wall_clock, work
        return plan, outcome.hit_wall_clock, work

    def _accepts(self, plan: np.ndarray, params: SolveParams) -> bool:
        """Whether `plan` meets every constraint of the model, rotation rules and fairness
        included, which the relaxation's rows leave out: CP-SAT's presolve decides it once
        every pair is fixed."""
        fixed = self._fixed_outside(np.zeros_like(plan), plan)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = params.seed
        solver.parameters.max_deterministic_time = MIN_LEVEL_WORK
        return solver.solve(fixed) in (cp_model.OPTIMAL, cp_model.FEASIBLE)

    def _relaxation(
        self, goal: Goal, wall_s: float, chosen: np.ndarray, deadline: float
    ) -> LpOutcome:
        """The level's relaxation, nudged where it can be (see `LpRelaxation.solve`).

        A limit too short for the nudged relaxation falls back to the plain one, the quicker
        (at Rotherham's hours level 0.5 s against 1.5 s), so the level still has a bound and a
        solution to round: at a 5 s limit Rotherham's hours level then placed 687,855 minutes,
        3.5 % from a bound of 712,914, instead of 669,825 against CP-SAT's bound of 827,040.
        The plain one gets what is left before `deadline`, if less than `wall_s`: given
        `wall_s` again, a 10 s solve of Rotherham with one worker ended 0.65 s late."""
        relaxed = self.relaxation.solve(goal, wall_s, chosen)
        stopped = relaxed.timed_out and relaxed.x is None
        # Continuity and fairness are never nudged; a sifted relaxation never is.
        if not stopped or self.relaxation.sifted or goal in (Goal.CONTINUITY, Goal.FAIRNESS):
            return relaxed
        if _left(deadline) <= 0:
            return relaxed
        plain = self.relaxation.solve(goal, _within(wall_s, deadline), chosen, nudge=False)
        return dataclasses.replace(plain, timed_out=True)

    def _rins_guide(
        self, goal: Goal, relaxed: LpOutcome, chosen: np.ndarray, wall_s: float
    ) -> np.ndarray:
        """The relaxed solution to search around: the simplex's own vertex, without the nudge.

        The nudged vertex keeps people where the plan has them, which makes a good rounded
        plan but a narrow neighbourhood: measured on the Rotherham example at 60 s, urgent
        hours reached 966 around the plain vertex and 728 around the nudged one. A sifted
        (county-sized) relaxation is never nudged, and one stopped on the clock is already the
        plain one (see `_relaxation`). Nor is it solved when, of the `wall_s` left, it would
        leave the search no time (at a 5 s limit, Rotherham's hours level reached its search
        after the limit)."""
        nudged = relaxed.x
        if self.relaxation.sifted or goal is Goal.CONTINUITY or relaxed.timed_out:
            return nudged
        if wall_s < relaxed.seconds + self.search_setup_s:
            return nudged
        plain = self.relaxation.solve(goal, wall_s - self.search_setup_s, chosen, nudge=False)
        return nudged if plain.x is None else plain.x

    def _fixed_outside(self, free: np.ndarray, plan: np.ndarray) -> cp_model.CpModel:
        """A copy of the model with every pair not `free` fixed to its value in `plan`: CP-SAT's
        presolve removes them. It reads the whole model to do so, so neighbourhoods are written
        over their free pairs alone where they can be (`_neighbourhood`).

        The fixings are two sums (of the pairs fixed in, equal to their number; of those fixed
        out, equal to zero), written as arrays: presolve fixes every pair in them at once."""
        neighbourhood = self.model.clone()
        for value in (1, 0):
            rows = np.flatnonzero(~free & (plan == bool(value)))
            if len(rows):
                ones = np.ones(len(rows), dtype=np.int64)
                self._write_sum(neighbourhood, rows, ones, value * len(rows), value * len(rows))
        return neighbourhood

    def _neighbourhood(self, free: np.ndarray, plan: np.ndarray) -> Submodel:
        """The model with every pair not `free` fixed to its value in `plan`, optimising the
        objective set last: written over the free pairs alone (`LinearRows.restricted`) where
        every row is linear, else `_fixed_outside`."""
        if self._rows_complete:
            return self.rows.restricted(free, plan, self._objective)
        return dataclasses.replace(self._whole, model=self._fixed_outside(free, plan))

    def _filled(
        self, goal: Goal, chosen: np.ndarray, level_wall_s: float, tries: int
    ) -> tuple[np.ndarray, bool]:
        """The fill (`Rounding.filled`), its trades guarded by `ROUNDING_SHARE` of the level's
        wall time."""
        stop_at = time.monotonic() + level_wall_s * ROUNDING_SHARE
        return self._plans.filled(goal, chosen, tries, stop_at)

    def _solve_level(
        self,
        goal: Goal,
        maximise: bool,
        scale: int,
        budget: Budget,
        params: SolveParams,
        incumbent: np.ndarray,
        searched: Submodel | None = None,
    ) -> tuple[np.ndarray, LevelOutcome, float]:
        """The level's best plan, its outcome, and the deterministic work it used, searching
        `searched` (default: the whole model) from the hint `incumbent`."""
        searched = searched or self._whole
        model = searched.model
        model.clear_hints()
        hint = model.proto.solution_hint
        hint.vars.extend(searched.variables.tolist())
        hint.values.extend(incumbent[searched.pairs].astype(np.int64).tolist())
        solver = cp_model.CpSolver()
        solver.parameters.max_deterministic_time = budget.work
        solver.parameters.num_workers = params.workers
        solver.parameters.interleave_search = True
        solver.parameters.random_seed = params.seed
        began = time.monotonic()
        status = solve_within(solver, model, budget.wall_s)
        seconds = time.monotonic() - began
        work = solver.response_proto.deterministic_time
        incumbent_value = self.evaluate(goal, incumbent)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            solution = np.fromiter(solver.response_proto.solution, dtype=np.int64)
            found = searched.plan(incumbent, solution)
            value = self.evaluate(goal, found)
            if (value >= incumbent_value) if maximise else (value <= incumbent_value):
                incumbent, incumbent_value = found, value
            combined = int(round(solver.best_objective_bound))
            # The tie-break term lies in [0, R] with R < scale.
            bound = combined // scale if maximise else -((scale - 1 - combined) // scale)
        else:
            bound = _trivial_bound(self, goal, maximise)
        optimal = status == cp_model.OPTIMAL or incumbent_value == bound
        outcome = LevelOutcome(
            goal=goal,
            maximise=maximise,
            value=incumbent_value,
            bound=bound,
            optimal=optimal,
            seconds=seconds,
            hit_wall_clock=not optimal and stopped_by_clock(solver.wall_time, work, budget),
        )
        return incumbent, outcome, work


def stopped_by_clock(wall_s: float, work: float, budget: Budget) -> bool:
    """Whether the wall clock rather than the work budget ended a search that proved nothing,
    from the seconds and the work it took.

    Work alone cannot tell: CP-SAT's interleaved search does not stop inside its first batch
    of tasks, which can use several times a small budget (Bury's hours-level RINS round: 10.8
    units against 1.9, taking 12 s), so a clock that stops it there finds the budget already
    spent. Such a search, cut at a point that depends on the machine's speed, most likely made
    Bury's plan differ between runs that all claimed to be reproducible."""
    return wall_s >= budget.wall_s * 0.98 or work < budget.work * 0.98


def _left(deadline: float) -> float:
    """Wall seconds left before `deadline` (negative once past it)."""
    return deadline - time.monotonic()


def _within(wall_s: float, deadline: float) -> float:
    """`wall_s`, or what is left before `deadline` if less (never negative): a budget set
    before a phase that may take most of the time left must not outlast the limit."""
    return min(wall_s, max(_left(deadline), 0.0))


def _tries(seconds: float) -> int:
    """Moves or trades to try in a level's planned `seconds`: a budget of tries, not of
    time, so that the plan does not depend on the machine's load."""
    return max(int(seconds * REASSIGN_TRIES_PER_SECOND), MIN_REASSIGN_TRIES)


def _proved(goal: Goal, maximise: bool, value: int, seconds: float) -> LevelOutcome:
    """A level whose plan already meets a bound (the relaxation's, or one needing no solve):
    optimal with no search."""
    return LevelOutcome(goal, maximise, value, value, True, seconds, hit_wall_clock=False)


def _tightened(outcome: LevelOutcome, lp_bound: int | None) -> LevelOutcome:
    """The outcome with the tighter of the search's bound and the relaxation's."""
    if lp_bound is None:
        return outcome
    bound = min(outcome.bound, lp_bound) if outcome.maximise else max(outcome.bound, lp_bound)
    return dataclasses.replace(
        outcome, bound=bound, optimal=outcome.optimal or outcome.value == bound
    )


def _trivial_bound(model: LexicographicModel, goal: Goal, maximise: bool) -> int:
    """A bound needing no search, for a level whose solve returned nothing."""
    if goal is Goal.FAIRNESS:
        return 0
    coefficients = model.pairs.coefficients(goal)
    best = np.zeros(len(model.pairs.scenario.packages), dtype=np.int64)
    if maximise:
        np.maximum.at(best, model.pairs.package, coefficients)
        return int(best.sum())
    return 0
