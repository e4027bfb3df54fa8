"""The GAP's knapsack Lagrangian bound: at given prices, exact knapsacks and forcing penalties
(checked by enumerating every subset); after its steps, a bound at least the LP's and never
above the optimum; a pruning that keeps every assignment reaching its target; and inside
solve_gap, a search bound raised to it and a reduced model no larger than the LP's."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterator

import numpy as np
import pytest
from test_gap import brute_force, random_instance
from test_gap_beside_walk import search_from
from test_gap_local_search import packed_instance

import allocator.gap as gap_module
from allocator.gap_instance import GapInstance
from allocator.gap_knapsacks import MAX_TABLE_CELLS, KnapsackBound, knapsack_bound

NO_CLOCK = math.inf
PLENTY = 1e12
"""More dynamic-programme cells than any test's steps fill: the steps stop on their own."""

TWO_HEAVY_TWO_LIGHT = GapInstance(
    name="two heavy, two light",
    cost=np.array([[1, 1, 1, 1], [3, 3, 3, 3]]),
    weight=np.array([[7, 7, 3, 3], [7, 7, 3, 3]]),
    capacity=np.array([10, 10]),
)
"""Each agent holds at most two of the jobs, so the cheap agent takes two and the dear one two:
the optimum is 2 + 6 = 8, and so is the knapsack bound. The LP fills the cheap agent with both
light jobs and 4/7 of a heavy one: 48/7."""


def bound_of(instance: GapInstance, prices: np.ndarray, target: float, cells: float):
    fits = instance.weight <= instance.capacity[:, None]
    return knapsack_bound(
        instance.cost, instance.weight, instance.capacity, fits, prices, target, cells, NO_CLOCK
    )


def best_knapsack(instance: GapInstance, agent: int, prices: np.ndarray, forced: int = -1):
    """The agent's least Σ (cost − price) over every subset of jobs within its capacity (with
    `forced` in it), by enumeration."""
    n = instance.jobs
    best = math.inf
    for chosen in itertools.product((0, 1), repeat=n):
        x = np.array(chosen, dtype=bool)
        if forced >= 0 and not x[forced]:
            continue
        if instance.weight[agent, x].sum() <= instance.capacity[agent]:
            best = min(best, float((instance.cost[agent, x] - prices[x]).sum()))
    return best


def lp_of(instance: GapInstance) -> gap_module._Lagrangian:
    fits = instance.weight <= instance.capacity[:, None]
    return gap_module._lagrangian(search_from(instance, None, workers=1), fits)


def test_at_given_prices_the_bound_and_penalties_are_those_of_exact_knapsacks() -> None:
    rng = np.random.default_rng(3)
    for k in range(25):
        instance = random_instance(rng, k) if k % 2 else packed_instance(rng, k, 3, 6)[0]
        prices = rng.uniform(-5, 40, size=instance.jobs)
        bound = bound_of(instance, prices, target=0.0, cells=0.0)
        assert bound.steps == 0
        knapsacks = [best_knapsack(instance, i, prices) for i in range(instance.agents)]
        assert bound.value == pytest.approx(prices.sum() + sum(knapsacks), abs=1e-9)
        for i, j in itertools.product(range(instance.agents), range(instance.jobs)):
            if instance.weight[i, j] > instance.capacity[i]:
                assert bound.penalty[i, j] == math.inf
            else:
                forced = best_knapsack(instance, i, prices, forced=j) - knapsacks[i]
                assert bound.penalty[i, j] == pytest.approx(forced, abs=1e-9), (k, i, j)


def test_steps_from_the_lp_prices_close_the_hand_made_gap() -> None:
    lp = lp_of(TWO_HEAVY_TWO_LIGHT)
    assert lp.value == pytest.approx(48 / 7)
    bound = bound_of(TWO_HEAVY_TWO_LIGHT, lp.job_prices, target=8.0, cells=PLENTY)
    assert 7.9 < bound.value <= 8 + 1e-9
    assert brute_force(TWO_HEAVY_TWO_LIGHT, "min") == 8


def packed_with_lps(
    seed: int, count: int, jobs: int
) -> Iterator[tuple[GapInstance, np.ndarray, gap_module._Lagrangian]]:
    """`count` packed instances of 3 agents and `jobs` jobs, each with its start and its LP."""
    rng = np.random.default_rng(seed)
    for k in range(count):
        instance, start = packed_instance(rng, k, 3, jobs)
        yield instance, start, lp_of(instance)


def test_the_bound_lies_between_the_lp_and_the_optimum() -> None:
    stronger = 0
    for instance, start, lp in packed_with_lps(seed=12, count=15, jobs=7):
        target = float((instance.cost[start, np.arange(instance.jobs)]).sum())
        bound = bound_of(instance, lp.job_prices, target, PLENTY)
        optimum = brute_force(instance, "min")
        assert lp.value - 1e-6 <= bound.value <= optimum + 1e-6, instance.name
        stronger += bound.value > lp.value + 0.5
    assert stronger  # on packed instances the knapsacks must often gain on the LP


def test_pruning_keeps_every_assignment_that_reaches_the_target() -> None:
    pruned = 0
    for instance, _, lp in packed_with_lps(seed=21, count=12, jobs=6):
        optimum = brute_force(instance, "min")
        target = optimum + 4
        keep = bound_of(instance, lp.job_prices, target, PLENTY).may_improve(target)
        jobs = np.arange(instance.jobs)
        for agents in itertools.product(range(instance.agents), repeat=instance.jobs):
            chosen = np.array(agents)
            loads = np.bincount(chosen, instance.weight[chosen, jobs], instance.agents)
            if (loads <= instance.capacity).all() and instance.cost[chosen, jobs].sum() < target:
                assert keep[chosen, jobs].all(), (instance.name, agents)
        pruned += int((~keep).sum())
    assert pruned


def test_knapsacks_too_large_for_their_tables_are_left_to_the_lp() -> None:
    n = 4
    wide = GapInstance("wide", np.ones((2, n)), np.ones((2, n)), np.full(2, MAX_TABLE_CELLS // n))
    assert bound_of(wide, np.zeros(n), target=4.0, cells=PLENTY) is None


def test_the_search_takes_the_knapsack_bound_and_prunes_by_both() -> None:
    rng = np.random.default_rng(5)
    for k in range(6):
        instance, start = packed_instance(rng, k, 4, 9)
        fits = instance.weight <= instance.capacity[:, None]
        lp = lp_of(instance)
        search = search_from(instance, start, workers=1)
        search.bound = lp.value
        tightened, work = gap_module._with_knapsacks(search, lp, fits, work=1.0, remaining=5.0)
        assert isinstance(tightened.knapsacks, KnapsackBound)
        assert tightened.knapsacks.value >= lp.value - 1e-6
        assert search.bound == max(tightened.knapsacks.value, lp.value)
        assert work == tightened.knapsacks.cells / gap_module.CELLS_PER_WORK
        value = search.value
        both = tightened.may_improve(value)
        assert (both == lp.may_improve(value) & tightened.knapsacks.may_improve(value)).all()
        assert search.proved <= brute_force(instance, "min")


def searched_packed(
    k: int, jobs: int = 9, optimal: bool = True
) -> tuple[gap_module._Search, gap_module._Lagrangian]:
    """A packed instance's search from its optimal assignment (or the hidden one it was packed
    around), with both bounds computed."""
    instance, start = packed_instance(np.random.default_rng(40 + k), k, 4, jobs)
    if optimal:
        start = gap_module.solve_gap(instance, "min", time_limit_s=5).assignment
    fits = instance.weight <= instance.capacity[:, None]
    search = search_from(instance, start)
    lagrangian, _ = gap_module._with_knapsacks(search, lp_of(instance), fits, 1.0, 5.0)
    return search, lagrangian


def test_highs_joins_by_the_lp_prices_pruning_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The knapsack bound prunes type D far more than the LP's prices, but HiGHS gains nothing
    there: whether it joins is decided as before, by the LP's prices."""
    search, lagrangian = searched_packed(3)
    fits = search.weight <= search.capacity[:, None]
    lp_only = dataclasses.replace(lagrangian, knapsacks=None)
    by_lp = 1 - gap_module._reduced(search, lp_only, fits).sum() / fits.sum()
    by_both = 1 - gap_module._reduced(search, lagrangian, fits).sum() / fits.sum()
    assert 0 < by_lp < by_both  # each bound prunes, the knapsacks' the more
    monkeypatch.setattr(gap_module, "HIGHS_MIN_PRUNED", (by_lp + by_both) / 2)
    assert not gap_module._highs_can_gain(search, lagrangian, fits)
    monkeypatch.setattr(gap_module, "HIGHS_MIN_PRUNED", by_lp)
    assert gap_module._highs_can_gain(search, lagrangian, fits)
    assert not gap_module._highs_can_gain(search, None, fits)


def test_search_rounds_end_early_once_the_exact_model_is_small(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After a round, a final model of at most `EXACT_PAIRS_PER_JOB` pairs a job ends the rounds
    (never where the core rounds take the final solve's place); otherwise every round runs."""
    walks: list[int] = []

    def counted(search: gap_module._Search, *args: object, **kwargs: object) -> float:
        walks.append(1)
        return 0.0

    monkeypatch.setattr(gap_module, "_tabu_search", counted)
    monkeypatch.setattr(gap_module, "_neighbourhood_search", lambda *args, **kwargs: 0.0)
    for per_job, jobs, rounds in [(0.0, 8, 2), (1e9, 8, 1), (1e9, 9, 2)]:
        search, lagrangian = searched_packed(1, jobs, optimal=False)
        assert not search.solved
        fits = search.weight <= search.capacity[:, None]
        monkeypatch.setattr(gap_module, "EXACT_PAIRS_PER_JOB", per_job)
        monkeypatch.setattr(gap_module, "CORE_MIN_JOBS", 9)  # 9 jobs: the core rounds' size
        walks.clear()
        gap_module._search_rounds(search, search.best, 1.0, 2.0, lagrangian, fits)
        assert len(walks) == rounds, (per_job, jobs)
