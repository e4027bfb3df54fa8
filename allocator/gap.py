"""Solving the generalised assignment problem (GAP): the capacity-limited core of placing care
packages, and the external yardstick of the solver.

Public instances with known optima (OR-Library, Chu & Beasley 1997, Yagiura et al. 2004) are read
by `allocator.gap_instance`, which also checks answers independently of this module.
"""

from __future__ import annotations

import dataclasses
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np
from ortools.linear_solver import pywraplp
from ortools.sat.python import cp_model
from ortools.util.python.solve_interrupter import SolveInterrupter

from allocator.gap_core import CORE_ROUNDS, core_pairs, solve_cores
from allocator.gap_highs import solve_with_highs
from allocator.gap_instance import GapInstance
from allocator.gap_knapsacks import KnapsackBound, knapsack_bound, may_improve
from allocator.gap_local_search import iterations_for, tabu_search

Sense = Literal["min", "max"]

WORK_PER_SECOND = 0.6
"""Deterministic work units budgeted per second of the time limit. Search stops on work, not on
the clock, so the answer does not depend on machine load. On the idle 2-core reference machine
each of the two solvers does about 1 unit a second, so the wall clock stays a guard; with another
busy process on the machine the rate fell to 0.3–0.5, and the largest instances then stop on the
clock (the result says so)."""

EXACT_SHARE = 0.15
"""Share of the work for the first exact solve of the whole model: it proves the small and
loosely packed instances optimal at once, and hands the rest a first assignment."""

SEARCH_SHARE = 0.65
"""Share for the search rounds (tabu search, then neighbourhood search); the rest goes to the
final exact solve, which starts from the best assignment on a model reduced by the Lagrangian
bound."""

TABU_SHARE = 0.45
"""Share of the search work for the tabu search, which escapes the local optima the exact
re-solves of a few agents stall in (type D); the neighbourhood search then polishes its best."""

SEARCH_ROUNDS = 2
"""Rounds of tabu search then neighbourhood search, each from the best assignment so far with
its own seed: walks with different seeds end far apart (0.6–0.9 % above the best known on d20100
at equal length), so shorter rounds with fresh seeds pay. Mean gap after the search on d10100,
d10200, d20100 and d20200: one round 0.46 %, two 0.43 % (earlier walk settings); two 0.40 %,
three 0.41 % (these)."""

NEARLY_CLOSED = 0.006
"""Relative gap below which the first exact solve has nearly closed the instance: the search
rounds then take `SEARCH_SHARE_WHEN_CLOSE`, leaving the final exact solve (on a model the
Lagrangian bound reduces the more, the smaller the gap) the rest. Measured gaps after the first
exact solve: b10200 0.11 %, c10200 0.53 %, d05100 0.14 %, d05200 0.07 % against d10200 0.73 %,
d10100 1.2 %, d20100 2.8 %."""

SEARCH_SHARE_WHEN_CLOSE = 0.45
"""The search's share on a nearly closed instance: with it b10200 and c10200 are proved optimal
(2827, 2806) where 0.65 left them one above (0.6 closed b10200 only)."""

SEARCH_SHARE_WHEN_STUCK = 0.85
"""Share of the remaining work for the search when the first exact solve found no assignment at
all (80 × 1600 instances): a second exact solve of the whole model is then little use either."""

WALL_GUARD = 1.5
"""How much more than its share of the remaining wall time a phase may take before the clock
stops it (the work budget normally does first)."""

NEIGHBOURHOOD_WORK = 0.1
"""Work allowed to re-solve one neighbourhood: most are solved to optimality well within it."""

NEIGHBOURHOOD_ROUND_WORK = 0.03
"""Work charged per round of parallel neighbourhoods on top of the longest sub-solve's: CP-SAT
spends about 25 ms setting up each small model that its work count does not include."""

FIRST_NEIGHBOURHOOD_AGENTS = 3
"""Agents per neighbourhood at the start: three agents' jobs (30–60) re-solve in milliseconds."""

HIGHS_NODES_PER_WORK = 250
"""HiGHS's branch-and-bound nodes per unit of work in the final exact solve, a count so that it
stops the same way on any machine. Measured at a 60 s limit on the reference machine: on c20400
its 1,766 nodes took 24 s of the 28 s left, ending at the best known (4782; CP-SAT alone stayed at
4787); 150 nodes a unit ended there too but stopped sooner. On larger models (c15900 and up) the
clock stops it first, and the result says so."""

HIGHS_MIN_PRUNED = 0.1
"""Share of the pairs the LP's Lagrangian bound must rule out for HiGHS to join the final exact
solve, or to work on its model beside the tabu walk (`_highs_can_gain`). Where it rules out
almost none, the LP bound is weak against the gap left and branch and bound does not close it:
on type D (none ruled out) HiGHS improved nothing in 60 s runs and only ran to the clock; on the
1600-job instances (0.05 % ruled out) it did not finish the root node. Measured share ruled out:
c15900 76 %, c20400 66 %, c201600 56 %, c60900 35 %, e40400 38 %, e60900 23 %."""

CORE_MIN_JOBS = 1000
"""Jobs from which the search rounds give up `CORE_SHARE` of the work, and the core rounds
(`allocator.gap_core`: HiGHS on each job's cheapest agents) take the place of the final exact
solve: the 1600-job instances, where the Lagrangian bound rules out almost no pair, the tabu walk
gets a few hundred iterations and the final exact solve gained 3 on one of six in a 60 s run. On
the 900-job instances the final exact solve, with HiGHS on the reduced model, already gets what a
core does (c15900 11343, c30900 9985, c60900 9334 from a core against 11342, 9987, 9333), and
below that the first exact solve proves most instances."""

CORE_SHARE = 0.35
"""Share of the work the search rounds give up where the core rounds run. The core rounds have
no work budget of their own (HiGHS stops on its node count); they take the wall time left."""

CORE_NODES = 1
"""HiGHS's branch-and-bound nodes on a core: the root node alone, whose heuristics find the
gains. More nodes cost far more time and found nothing more (from solve_gap's 20 s answers,
Intel Xeon, 2026-12-04): c401600's core of 3 agents a job gave 17148 at the root in 10 s and
after 10 nodes in 22 s; e401600's gave 178462 in 8 s and 17 s after 4 nodes. The root's time is
the model's, so the wall clock stays only a guard."""

BESIDE_WALK_MIN_JOBS = 900
"""Jobs from which HiGHS works beside the tabu walk (`_beside_walk`), on the core the walk leaves
idle (below, a second walk takes it). It may run until the walk's wall guard, longer than the
walk, and so delay what follows; below 900 jobs that is the final exact solve, which proves most
of them. Measured on types C and E at 60 s (AMD EPYC, 2026-12-05, against build b253577 the same
morning), HiGHS beside every walk: from 900 jobs e30900 100429 (100456), e401600 178300
(178369), c801600 16292 (16298), c30900 9986 (9987), c60900 9333 (9334), but e801600 176848
(176836) and c401600 17148 (17147); below, e40400 44578 (44638), but e10100 no longer proved,
e20100 8451 (8436, proved) and c10400 proved at 60.0 s (47.5 s)."""

KNAPSACK_SHARE = 0.05
"""Most of the work for the knapsack Lagrangian bound after the first exact solve
(`allocator.gap_knapsacks`); below `CORE_MIN_JOBS` jobs the subgradient steps of most instances
stop on their own within it (about 3.1 × 10⁹ cells at 60 s), e30900's, 3.8 × 10⁹ unbudgeted, on
it. Not from there: the core rounds take the final exact solve's place, so
nothing prunes by it, and the 1600-job instances of type E used all of it (e801600's bound rose
from 176781 to 176817, and the solve ended at 176865 against 176848 without it; one 60 s run,
seed 0)."""

EXACT_PAIRS_PER_JOB = 4.0
"""Pairs per job the bounds leave in the final exact solve's model at or below which the search
rounds end early, leaving their work to it: with the knapsack bound, c40400's model from the
first round's 4246 holds 1,205 of 16,000 pairs, on which the final exact solve proves 4244 in
19.5 s, where the second round found nothing (60 s, seed 0)."""

CELLS_PER_WORK = 1.7e9
"""Dynamic-programme cells the knapsack bound fills per unit of work: about 1 ns a cell on the
reference machine (0.8-1.6 ns measured on ten instances, d10100 to c801600), at
`WORK_PER_SECOND`."""

LP_PARAMETERS = "use_dual_simplex: true"
"""GLOP's dual simplex: 4 s rather than 12 s on the 80 × 1600 relaxation."""


@dataclass(frozen=True)
class GapResult:
    """The best assignment found and how good it is proved to be.

    `bound` is what the solver proved: no assignment is cheaper (min) or dearer (max) than it.
    `value` and `assignment` are None when no feasible assignment was found; `bound` is None only
    when none exists. `reproducible` is False when a phase stopped on the wall clock rather than
    on its deterministic work budget, so a rerun with the same seed may differ.
    """

    name: str
    sense: Sense
    value: int | None
    assignment: np.ndarray | None
    bound: int | None
    optimal: bool
    seconds: float
    reproducible: bool


@dataclass
class _Search:
    """The state shared by the phases, in minimisation form (costs negated for max)."""

    cost: np.ndarray
    weight: np.ndarray
    capacity: np.ndarray
    seed: int
    workers: int
    deadline: float
    best: np.ndarray | None = None
    bound: float = -math.inf
    reproducible: bool = True

    @property
    def value(self) -> int | None:
        """Cost of the best assignment so far (minimisation form)."""
        if self.best is None:
            return None
        return int(self.cost[self.best, np.arange(self.cost.shape[1])].sum())

    def offer(self, assignment: np.ndarray | None) -> None:
        """Keep `assignment` if it is better than the best so far."""
        if assignment is None:
            return
        value = int(self.cost[assignment, np.arange(self.cost.shape[1])].sum())
        if self.best is None or value < self.value:
            self.best = assignment

    @property
    def proved(self) -> int | None:
        """The bound as an integer (costs are integers), or None when proved infeasible."""
        if self.bound == math.inf:
            return None
        return math.ceil(self.bound - 1e-6) if self.bound > -math.inf else None

    @property
    def solved(self) -> bool:
        """Proved optimal, or proved infeasible."""
        if self.bound == math.inf:
            return True
        return self.value is not None and self.proved is not None and self.value <= self.proved


def solve_gap(
    instance: GapInstance,
    sense: Sense,
    time_limit_s: float,
    seed: int = 0,
    workers: int = 2,
) -> GapResult:
    """Solve the GAP in the given sense within `time_limit_s` wall seconds.

    Phases chosen by measurement on the public instances: an exact CP-SAT solve of the whole
    model (proves the small and loosely packed instances at once); a Lagrangian bound that keeps
    each agent's knapsack (`allocator.gap_knapsacks`); then rounds of a tabu search through
    capacity-infeasible assignments (`allocator.gap_local_search`: it escapes the local
    optima that exact re-solves of a few agents stall in), with HiGHS or a second walk on the
    core it leaves idle, followed by a neighbourhood search that re-solves the jobs of a few
    agents at a time exactly (it finds far better assignments on tightly packed instances than
    the whole-model search does); then an exact solve from the best assignment on the model
    reduced by both Lagrangian bounds, or, on the largest instances, HiGHS's root node on
    cores of each job's cheapest agents (`allocator.gap_core`). The bound is the best of the LP
    (GLOP) bound, the knapsack bound and what CP-SAT and HiGHS prove on reduced models. Search
    is budgeted in deterministic work (the tabu search in iterations, HiGHS in nodes, the
    knapsack bound in dynamic-programme cells), so the same seed gives the same answer on any
    machine that finishes within the time limit.
    """
    started = time.monotonic()
    if sense not in ("min", "max"):
        raise ValueError(f"sense must be 'min' or 'max', got {sense!r}")
    search = _Search(
        cost=instance.cost if sense == "min" else -instance.cost,
        weight=instance.weight,
        capacity=instance.capacity,
        seed=seed,
        workers=max(workers, 1),
        deadline=started + time_limit_s,
    )
    work = time_limit_s * WORK_PER_SECOND
    fits = instance.weight <= instance.capacity[:, None]
    if instance.jobs == 0:
        search.best, search.bound = np.zeros(0, dtype=np.int64), 0.0
    elif not fits.any(axis=0).all():
        search.bound = math.inf
    else:
        _run_phases(search, fits, work)
    sign = 1 if sense == "min" else -1
    value = search.value
    bound = None if search.proved is None else sign * search.proved
    return GapResult(
        name=instance.name,
        sense=sense,
        value=None if value is None else sign * value,
        assignment=search.best,
        bound=bound,
        optimal=search.solved and value is not None,
        seconds=time.monotonic() - started,
        reproducible=search.reproducible,
    )


@dataclass(frozen=True)
class _Lagrangian:
    """The LP relaxation's capacity prices v, turned into a bound that holds whatever GLOP's
    tolerances: for any v ≥ 0, L(v) = Σ_j min_i (c_ij + v_i·w_ij) − Σ_i v_i·b_i is a lower bound,
    and at the LP's optimal prices it equals the LP bound."""

    value: float
    reduced: np.ndarray
    """How much giving job j to agent i raises L(v) above its minimum (inf where it cannot)."""
    rounded: np.ndarray
    """The LP's agent for each job it places whole, m (no agent) for the few it splits."""
    job_prices: np.ndarray
    """The LP's price of each job's row: where the knapsack bound's steps start."""
    knapsacks: KnapsackBound | None = None
    """The bound that keeps each agent's knapsack, once computed: stronger, and it rules out
    more pairs."""

    def may_improve(self, value: int) -> np.ndarray:
        """Pairs that can appear in an assignment cheaper than `value` by either bound; the
        others cannot."""
        keep = may_improve(self.value, self.reduced, value)
        if self.knapsacks is not None:
            keep &= self.knapsacks.may_improve(value)
        return keep


def _run_phases(search: _Search, fits: np.ndarray, work: float) -> None:
    """Exact solve, the knapsack bound, rounds of tabu search and neighbourhood search, then an
    exact solve on the reduced model (from `CORE_MIN_JOBS` jobs, core rounds instead); stop once
    proved.

    Each phase may take a share of the remaining wall time in proportion to its work, with
    `WALL_GUARD` to spare, so a phase stops on the clock only on a much slower or busier machine.
    """
    lagrangian = _lagrangian(search, fits)
    if lagrangian is not None:
        search.bound = max(search.bound, lagrangian.value)
    used = _solve_exactly(search, fits, work * EXACT_SHARE, share=WALL_GUARD * EXACT_SHARE)
    if search.solved:
        return
    large = lagrangian is not None and fits.shape[1] >= CORE_MIN_JOBS
    if lagrangian is not None and not large:
        budget = work * KNAPSACK_SHARE
        lagrangian, knapsack_work = _with_knapsacks(search, lagrangian, fits, budget, work - used)
        used += knapsack_work
        if search.solved:
            return
    kept_for_cores = work * CORE_SHARE if large else 0.0
    start = search.best if search.best is not None or lagrangian is None else lagrangian.rounded
    if start is not None:
        gap = math.inf if search.value is None else search.value - search.bound
        nearly_closed = gap < NEARLY_CLOSED * abs(search.value or 0)
        search_work = work * (SEARCH_SHARE_WHEN_CLOSE if nearly_closed else SEARCH_SHARE)
        if search.best is None:
            search_work = (work - used) * SEARCH_SHARE_WHEN_STUCK
        search_work = max(search_work - kept_for_cores, 0.0)
        used += _search_rounds(search, start, search_work, work - used, lagrangian, fits)
        if search.solved:
            return
    if large and search.best is not None:
        _core_rounds(search, lagrangian, fits)
        return
    keep = _reduced(search, lagrangian, fits)
    rest = max(work - used, 0.0)
    nodes = int(rest * HIGHS_NODES_PER_WORK) if _highs_can_gain(search, lagrangian, fits) else 0
    _solve_exactly(search, keep, rest, share=1.0, nodes=nodes)


def _with_knapsacks(
    search: _Search, lagrangian: _Lagrangian, fits: np.ndarray, work: float, remaining: float
) -> tuple[_Lagrangian, float]:
    """The Lagrangian with the knapsack bound added (`work` at most, out of the `remaining`
    work), its steps aimed at the best assignment's cost (or, with none yet, 1 % above the LP's
    bound); the search's bound raised to it. Returns the work used."""
    target = search.value
    if target is None:
        target = lagrangian.value + max(1.0, 0.01 * abs(lagrangian.value))
    share = min(WALL_GUARD * work / max(remaining, 1e-9), 1.0)
    deadline = time.monotonic() + max(search.deadline - time.monotonic(), 0.0) * share
    knapsacks = knapsack_bound(
        search.cost,
        search.weight,
        search.capacity,
        fits,
        lagrangian.job_prices,
        target,
        work * CELLS_PER_WORK,
        deadline,
    )
    if knapsacks is None:
        return lagrangian, 0.0
    search.bound = max(search.bound, knapsacks.value)
    search.reproducible &= not knapsacks.hit_wall_clock
    tightened = dataclasses.replace(lagrangian, knapsacks=knapsacks)
    return tightened, knapsacks.cells / CELLS_PER_WORK


def _reduced(search: _Search, lagrangian: _Lagrangian | None, fits: np.ndarray) -> np.ndarray:
    """The pairs that fit and, by the Lagrangian bounds, may appear in an assignment better than
    the best so far, and the best's own: every better assignment lies among them."""
    keep = fits.copy()
    if lagrangian is not None and search.best is not None:
        keep &= lagrangian.may_improve(search.value)
        keep[search.best, np.arange(fits.shape[1])] = True
    return keep


def _highs_can_gain(search: _Search, lagrangian: _Lagrangian | None, fits: np.ndarray) -> bool:
    """Whether the LP's prices alone rule out `HIGHS_MIN_PRUNED` of the pairs, where HiGHS can
    gain on the reduced model. Not the knapsack bound's: it rules out a quarter to two thirds
    of some type D instances' pairs, and HiGHS joining there ran d05200's and d10100's final
    exact solves to the clock with no gain (60 s, seed 0)."""
    if lagrangian is None:
        return False
    by_lp = _reduced(search, dataclasses.replace(lagrangian, knapsacks=None), fits)
    return float(1 - by_lp.sum() / max(fits.sum(), 1)) >= HIGHS_MIN_PRUNED


def _search_rounds(
    search: _Search,
    start: np.ndarray,
    work: float,
    remaining: float,
    lagrangian: _Lagrangian | None,
    fits: np.ndarray,
) -> float:
    """`SEARCH_ROUNDS` rounds of tabu search and neighbourhood search sharing `work`, out of the
    `remaining` work of the solve; each phase may take its part of the remaining wall time, with
    `WALL_GUARD` to spare. HiGHS works beside each walk where it can gain (`_beside_walk`).
    Where it does not, the second walk of every round after the first starts afresh from the
    rounds' first assignment: walks from the best one stall in its basin (on d20100 neither of
    round two's walks left it), and a fresh walk samples another.

    With no assignment yet, `start` is the LP's rounding, which leaves its split jobs unplaced,
    and the first round's walks start from it: they cross infeasible assignments anyway. On
    e60900 (60 s, seed 0) the walk reached 100432 in 5.8 s, where the neighbourhood search's
    repair of the rounding had reached 101502 in 12 s, and the solve ended at 100334, not
    100444. Not from `CORE_MIN_JOBS` jobs, where a walk gets a few hundred iterations: there
    the first round's neighbourhood search repairs the rounding, with the walk's part of the
    work too (walks from the rounding ended c801600 at 16300, not 16292, and c401600, e401600
    and e801600 one or two worse). Returns the work used."""
    used = 0.0
    first = search.best
    for round_ in range(SEARCH_ROUNDS):
        seed = search.seed + round_
        tabu_work = work * TABU_SHARE / SEARCH_ROUNDS
        walks_from = search.best
        if walks_from is None and fits.shape[1] < CORE_MIN_JOBS:
            walks_from = start
        if walks_from is not None:
            share = min(WALL_GUARD * tabu_work / max(remaining - used, 1e-9), 1.0)
            beside = _beside_walk(search, lagrangian, fits, tabu_work)
            fresh = first if round_ else None
            used += _tabu_search(search, walks_from, tabu_work, seed, share, beside, fresh)
            if search.solved:
                break
            tabu_work = 0.0
        lns_work = work * (1 - TABU_SHARE) / SEARCH_ROUNDS + tabu_work
        share = WALL_GUARD * lns_work / max(remaining - used, 1e-9)
        begin = search.best if search.best is not None else start
        used += _neighbourhood_search(search, begin, lns_work, seed, share=min(share, 1.0))
        if search.solved or _within_exact_reach(search, lagrangian, fits):
            break
    return used


def _within_exact_reach(search: _Search, lagrangian: _Lagrangian | None, fits: np.ndarray) -> bool:
    """Whether the final exact solve's model is small enough (`EXACT_PAIRS_PER_JOB`) to be
    worth the search's remaining rounds: never where the core rounds take its place."""
    if lagrangian is None or search.best is None or fits.shape[1] >= CORE_MIN_JOBS:
        return False
    pairs = _reduced(search, lagrangian, fits).sum()
    return bool(pairs <= EXACT_PAIRS_PER_JOB * fits.shape[1])


def _beside_walk(
    search: _Search, lagrangian: _Lagrangian | None, fits: np.ndarray, work: float
) -> _Exact | None:
    """What HiGHS solves while the tabu walk runs: the model the final exact solve would take,
    where HiGHS would join it (`HIGHS_MIN_PRUNED`; `work` in nodes, `HIGHS_NODES_PER_WORK`), or
    from `CORE_MIN_JOBS` jobs the first core round's smaller core at its root. None where HiGHS
    would only run to the clock (type D), below `BESIDE_WALK_MIN_JOBS` jobs, or with one
    worker."""
    if lagrangian is None or search.best is None or search.workers < 2:
        return None
    if fits.shape[1] < BESIDE_WALK_MIN_JOBS:
        return None
    if fits.shape[1] >= CORE_MIN_JOBS:
        core = core_pairs(lagrangian.reduced, fits, search.best, CORE_ROUNDS[0][0])
        return _Exact(core, CORE_NODES, bounds=False)
    if not _highs_can_gain(search, lagrangian, fits):
        return None
    keep = _reduced(search, lagrangian, fits)
    return _Exact(keep, int(work * HIGHS_NODES_PER_WORK), bounds=True)


@dataclass(frozen=True)
class _Exact:
    """HiGHS's part in a phase: the pairs it may use, its branch-and-bound nodes, and whether
    its bound holds for the whole problem (every better assignment lies among the pairs)."""

    allowed: np.ndarray
    nodes: int
    bounds: bool


def _core_rounds(search: _Search, lagrangian: _Lagrangian, fits: np.ndarray) -> None:
    """HiGHS from the best assignment on the cores of each of `CORE_ROUNDS` in turn, one core per
    worker; each round may take its part of the wall time left, with `WALL_GUARD` to spare. Only
    their assignments count: a core's bound does not hold for the whole problem."""
    for done, agents in enumerate(CORE_ROUNDS):
        cores = [
            core_pairs(lagrangian.reduced, fits, search.best, agents_per_job)
            for agents_per_job in agents[: search.workers]
        ]
        share = min(WALL_GUARD / (len(CORE_ROUNDS) - done), 1.0)
        wall_s = max(search.deadline - time.monotonic(), 0.01) * share
        outcomes = solve_cores(
            search.cost, search.weight, search.capacity, cores, search.best, CORE_NODES, wall_s
        )
        for outcome in outcomes:
            search.offer(outcome.assignment)
            search.reproducible &= not outcome.hit_wall_clock


def _lagrangian(search: _Search, fits: np.ndarray) -> _Lagrangian | None:
    """Solve the LP relaxation with GLOP; None if it does not reach an optimum."""
    lp = pywraplp.Solver.CreateSolver("GLOP")
    m, n = fits.shape
    job_rows = [lp.Constraint(1.0, 1.0) for _ in range(n)]
    capacity_rows = [lp.Constraint(-lp.infinity(), float(b)) for b in search.capacity.tolist()]
    objective = lp.Objective()
    agents, jobs = np.nonzero(fits)
    weights, costs = search.weight[agents, jobs].tolist(), search.cost[agents, jobs].tolist()
    x = []
    for i, j, w, c in zip(agents.tolist(), jobs.tolist(), weights, costs, strict=True):
        x.append(lp.NumVar(0.0, 1.0, ""))
        job_rows[j].SetCoefficient(x[-1], 1.0)
        capacity_rows[i].SetCoefficient(x[-1], float(w))
        objective.SetCoefficient(x[-1], float(c))
    objective.SetMinimization()
    lp.SetSolverSpecificParametersAsString(LP_PARAMETERS)
    if lp.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    prices = np.maximum([-row.dual_value() for row in capacity_rows], 0.0)
    priced = np.where(fits, search.cost + prices[:, None] * search.weight, np.inf)
    cheapest = priced.min(axis=0)
    value = float(cheapest.sum() - prices @ search.capacity)
    whole = np.array([var.solution_value() for var in x]) > 1 - 1e-6
    rounded = np.full(n, m, dtype=np.int64)
    rounded[jobs[whole]] = agents[whole]
    return _Lagrangian(value=value, reduced=priced - cheapest, rounded=rounded, job_prices=cheapest)


def _solve_exactly(
    search: _Search, allowed: np.ndarray, work: float, share: float, nodes: int = 0
) -> float:
    """CP-SAT on the whole model restricted to `allowed` pairs, from the best assignment so far;
    with `nodes`, and two workers or more, HiGHS for that many nodes in place of the second.

    Every assignment better than the best one so far must lie inside `allowed`, and the best one
    does too, so the solvers' bounds hold for the whole problem. `share` is the part of the
    remaining wall time this solve may take. Returns the work used.
    """
    model = _PairModel.build(search.cost, search.weight, search.capacity, allowed, search.best)
    wall_s = max(search.deadline - time.monotonic(), 0.01) * share
    work = max(work, 0.01)
    if nodes and search.workers >= 2:
        outcome = _beside_highs(search, model, allowed, work, wall_s, nodes)
    else:
        outcome = model.solve_portfolio(search.workers, search.seed, work, wall_s)
    search.offer(outcome.assignment)
    if outcome.infeasible:
        search.bound = math.inf
    else:
        search.bound = max(search.bound, outcome.bound)
    search.reproducible &= not outcome.hit_wall_clock
    return outcome.work


@dataclass(frozen=True)
class _Outcome:
    """One CP-SAT solve: the assignment found (agent per job, or None) and what was proved."""

    assignment: np.ndarray | None
    bound: float
    optimal: bool
    infeasible: bool
    work: float
    hit_wall_clock: bool


PORTFOLIO = ({}, {"linearization_level": 2})
"""Parameters of the parallel exact solvers (more workers repeat the first with other seeds).
Independent single-worker solves are each deterministic, unlike CP-SAT's own parallel search,
and on these instances they prove optimality sooner than its interleaved two-worker search
(b10200: 8 s against over 30 s). The second has the stronger LP, which wins on some type C."""

PORTFOLIO_WORK_RATE = (1.0, 0.7)
"""Work each solver may use per unit of budget: the stronger LP does less work a second."""


@dataclass(frozen=True)
class _PairModel:
    """min Σ c·x, one agent per job, Σ_j w·x ≤ b per agent, over the allowed (agent, job) pairs.

    `agents[k]`, `jobs[k]` name the pair of variable `x[k]`.
    """

    model: cp_model.CpModel
    cost: np.ndarray
    agents: np.ndarray
    jobs: np.ndarray
    x: list[cp_model.IntVar]

    @staticmethod
    def build(
        cost: np.ndarray,
        weight: np.ndarray,
        capacity: np.ndarray,
        allowed: np.ndarray,
        hint: np.ndarray | None,
    ) -> _PairModel:
        """The model over the `allowed` pairs, starting from `hint` (agent per job) if given."""
        model = cp_model.CpModel()
        agents, jobs = np.nonzero(allowed)
        x = [model.new_bool_var("") for _ in range(agents.size)]
        by_job = np.argsort(jobs, kind="stable")
        for group in np.split(by_job, np.cumsum(np.bincount(jobs, minlength=cost.shape[1]))[:-1]):
            model.add_exactly_one(x[k] for k in group)
        by_agent = np.cumsum(np.bincount(agents, minlength=cost.shape[0]))[:-1]
        for group in np.split(np.arange(agents.size), by_agent):
            if group.size:
                uses = weight[agents[group], jobs[group]].tolist()
                limit = int(capacity[agents[group[0]]])
                model.add(cp_model.LinearExpr.weighted_sum([x[k] for k in group], uses) <= limit)
        model.minimize(cp_model.LinearExpr.weighted_sum(x, cost[agents, jobs].tolist()))
        if hint is not None:
            for var, chosen in zip(x, (hint[jobs] == agents).tolist(), strict=True):
                model.add_hint(var, chosen)
        return _PairModel(model, cost, agents, jobs, x)

    def solve(
        self, work: float, wall_s: float, seed: int, parameters: dict[str, int] | None = None
    ) -> _Outcome:
        """One single-worker CP-SAT solve, stopped by `work` (wall seconds only as a guard)."""
        return self._solve(cp_model.CpSolver(), work, wall_s, seed, parameters or {})

    def solve_portfolio(self, workers: int, seed: int, work: float, wall_s: float) -> _Outcome:
        """`workers` single-worker solves in parallel, merged: the best assignment, the best
        bound. When one proves optimality the others are stopped and its answer is taken."""
        solvers = [cp_model.CpSolver() for _ in range(workers)]
        settings = [
            (PORTFOLIO[k], PORTFOLIO_WORK_RATE[k]) if k < len(PORTFOLIO) else (PORTFOLIO[0], 1.0)
            for k in range(workers)
        ]

        def run(k: int) -> _Outcome:
            parameters, rate = settings[k]
            outcome = self._solve(solvers[k], work * rate, wall_s, seed + k, parameters)
            if outcome.optimal or outcome.infeasible:
                for other in solvers:
                    other.stop_search()
            return outcome

        with ThreadPoolExecutor(workers) as pool:
            outcomes = list(pool.map(run, range(workers)))
        return _merge(outcomes, self)

    def _solve(
        self,
        solver: cp_model.CpSolver,
        work: float,
        wall_s: float,
        seed: int,
        parameters: dict[str, int],
    ) -> _Outcome:
        solver.parameters.max_deterministic_time = work
        solver.parameters.max_time_in_seconds = wall_s
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = seed
        for name, value in parameters.items():
            setattr(solver.parameters, name, value)
        status = solver.solve(self.model)
        assignment = None
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            chosen = np.array([solver.boolean_value(var) for var in self.x], dtype=bool)
            assignment = np.empty(self.cost.shape[1], dtype=np.int64)
            assignment[self.jobs[chosen]] = self.agents[chosen]
        finished = status in (cp_model.OPTIMAL, cp_model.INFEASIBLE)
        return _Outcome(
            assignment=assignment,
            bound=math.inf if status == cp_model.INFEASIBLE else solver.best_objective_bound,
            optimal=status == cp_model.OPTIMAL,
            infeasible=status == cp_model.INFEASIBLE,
            work=solver.deterministic_time,
            hit_wall_clock=not finished and solver.wall_time >= wall_s * 0.98,
        )


def _beside_highs(
    search: _Search, model: _PairModel, allowed: np.ndarray, work: float, wall_s: float, nodes: int
) -> _Outcome:
    """CP-SAT (one worker, default parameters) and HiGHS side by side, each from the best
    assignment so far; the first to prove optimality stops the other."""
    solver = cp_model.CpSolver()
    interrupter = SolveInterrupter()

    def cp_sat() -> _Outcome:
        outcome = model._solve(solver, work, wall_s, search.seed, PORTFOLIO[0])
        if outcome.optimal or outcome.infeasible:
            interrupter.interrupt()
        return outcome

    def highs() -> _Outcome:
        answer = solve_with_highs(
            search.cost,
            search.weight,
            search.capacity,
            allowed,
            search.best,
            nodes,
            wall_s,
            interrupter,
        )
        if answer.optimal or answer.infeasible:
            solver.stop_search()
        return _Outcome(**dataclasses.asdict(answer), work=0.0)

    with ThreadPoolExecutor(2) as pool:
        running = [pool.submit(cp_sat), pool.submit(highs)]
        return _merge([task.result() for task in running], model)


def _merge(outcomes: list[_Outcome], model: _PairModel) -> _Outcome:
    """One outcome from parallel solves of the same model."""
    proved = [o for o in outcomes if o.optimal or o.infeasible]
    if proved:
        return dataclasses.replace(proved[0], work=max(o.work for o in outcomes))
    found = [o for o in outcomes if o.assignment is not None]
    jobs = np.arange(model.cost.shape[1])
    best = min(found, key=lambda o: model.cost[o.assignment, jobs].sum(), default=None)
    return _Outcome(
        assignment=None if best is None else best.assignment,
        bound=max(o.bound for o in outcomes),
        optimal=False,
        infeasible=False,
        work=max(o.work for o in outcomes),
        hit_wall_clock=any(o.hit_wall_clock for o in outcomes),
    )


def _neighbourhood_search(
    search: _Search, start: np.ndarray, work: float, seed: int, share: float
) -> float:
    """Large-neighbourhood search: free the jobs of a few agents and re-place them among those
    agents exactly, keeping the result (it is never worse). Disjoint groups are solved in
    parallel, one per worker, from the same assignment, so their results combine.

    `start` may leave jobs unplaced (agent m, as the LP's split jobs are): every neighbourhood
    then also tries to place them, at a cost higher than any placement can save, which repairs
    tightly packed instances that CP-SAT alone finds no feasible assignment for. The group size
    adapts: it grows while groups are solved to optimality and shrinks when they are not, so each
    sub-solve stays small enough to finish. Returns the work used.
    """
    agents = search.cost.shape[0]
    largest = agents - 1
    if largest < 2:
        return 0.0
    rng = np.random.default_rng(seed)
    size = min(FIRST_NEIGHBOURHOOD_AGENTS, largest)
    current = start.copy()
    used = 0.0
    deadline = time.monotonic() + max(search.deadline - time.monotonic(), 0.0) * share
    with ThreadPoolExecutor(search.workers) as pool:
        while used < work and not search.solved:
            if time.monotonic() > deadline:
                search.reproducible = False
                break
            order = rng.permutation(agents)
            count = min(search.workers, agents // size)
            groups = [order[g * size : (g + 1) * size] for g in range(count)]
            unplaced = np.flatnonzero(current == agents)
            shares = np.array_split(unplaced, count)
            tasks = zip(groups, shares, strict=True)
            outcomes = list(pool.map(lambda task: _resolve(search, current, *task), tasks))
            for outcome in outcomes:
                if outcome is not None:
                    jobs, agent_of_job, solved_by = outcome
                    current[jobs] = agent_of_job
                    search.reproducible &= not solved_by.hit_wall_clock
            if not np.any(current == agents):
                search.offer(current.copy())
            used += NEIGHBOURHOOD_ROUND_WORK + max(
                (o[2].work for o in outcomes if o is not None), default=0.0
            )
            solved = sum(o is not None and o[2].optimal for o in outcomes)
            if solved == len(groups) and rng.random() < 0.2:
                size = min(size + 1, largest)
            elif solved < len(groups) and rng.random() < 0.5:
                size = max(size - 1, 2)
    return used


def _tabu_search(
    search: _Search,
    start: np.ndarray,
    work: float,
    seed: int,
    share: float,
    beside: _Exact | None = None,
    second_start: np.ndarray | None = None,
) -> float:
    """Tabu search from `start` (the best assignment, or the LP's rounding before there is one),
    for as many iterations as take `work` seconds on the reference machine (a count, so the walk
    is the same on any machine); `share` of the remaining wall time is only a guard. With
    `beside`, HiGHS works on those pairs from the same assignment meanwhile, on the core the walk
    leaves idle, until its nodes are done or the same guard; its bound counts only where it
    `bounds` the whole problem. Without it, and with two workers or more, a second walk with seed
    `seed + SEARCH_ROUNDS` takes that core, from `second_start` if given, else from `start`: walks
    with other seeds end far apart, so the better of two gains. Returns the work used."""
    agents, jobs = search.cost.shape
    iterations = iterations_for(agents, jobs, work)
    deadline = time.monotonic() + max(search.deadline - time.monotonic(), 0.0) * share
    model = (search.cost, search.weight, search.capacity)
    with ThreadPoolExecutor(1) as pool:
        highs = second = None
        if beside is not None:
            wall_s = max(deadline - time.monotonic(), 0.01)
            highs = pool.submit(
                solve_with_highs, *model, beside.allowed, start, beside.nodes, wall_s
            )
        elif search.workers >= 2:
            other = start if second_start is None else second_start
            walk = (other, iterations, seed + SEARCH_ROUNDS, deadline)
            second = pool.submit(tabu_search, *model, *walk)
        outcome = tabu_search(*model, start, iterations, seed, deadline)
    for walked in (outcome, None if second is None else second.result()):
        if walked is not None:
            search.offer(walked.assignment)
            search.reproducible &= not walked.hit_wall_clock
    if highs is not None:
        answer = highs.result()
        search.offer(answer.assignment)
        search.reproducible &= not answer.hit_wall_clock
        if beside.bounds:
            search.bound = max(search.bound, answer.bound)
    return work * outcome.iterations / max(iterations, 1)


def _resolve(
    search: _Search, current: np.ndarray, group: np.ndarray, unplaced: np.ndarray
) -> tuple[np.ndarray, np.ndarray, _Outcome] | None:
    """Re-place the jobs of agents `group`, and try to place the `unplaced` jobs, among those
    agents. Returns (jobs, their new agents, outcome), or None unless it is at least as good."""
    agents = search.cost.shape[0]
    jobs = np.union1d(np.flatnonzero(np.isin(current, group)), unplaced)
    if jobs.size == 0:
        return None
    rows = np.append(group, agents) if unplaced.size else group
    cost = _unplaced_row(search.cost)[np.ix_(rows, jobs)]
    weight = _unplaced_row(search.weight, value=0)[np.ix_(rows, jobs)]
    capacity = np.append(search.capacity, 0)[rows]
    position = np.empty(agents + 1, dtype=np.int64)
    position[rows] = np.arange(rows.size)
    hint = position[current[jobs]]
    model = _PairModel.build(cost, weight, capacity, weight <= capacity[:, None], hint)
    wall_s = max(search.deadline - time.monotonic(), 0.01)
    outcome = model.solve(NEIGHBOURHOOD_WORK, wall_s, search.seed)
    if outcome.assignment is None:
        return None
    before = cost[hint, np.arange(jobs.size)].sum()
    after = cost[outcome.assignment, np.arange(jobs.size)].sum()
    return (jobs, rows[outcome.assignment], outcome) if after <= before else None


def _unplaced_row(matrix: np.ndarray, value: int | None = None) -> np.ndarray:
    """`matrix` with a row for 'unplaced' below it: by default a cost so high that placing one
    more job always beats any saving on the others."""
    if value is None:
        spread = int((matrix.max(axis=0) - matrix.min(axis=0)).sum())
        value = spread + int(np.abs(matrix).max()) + 1
    return np.vstack([matrix, np.full((1, matrix.shape[1]), value, dtype=matrix.dtype)])
