"""The core of the GAP (each job's cheapest agents at the LP's prices) and HiGHS on it: the core
holds what it should, its solves stay inside it and never lose the best assignment, and inside
solve_gap it never claims a bound it has not proved for the whole problem."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from test_gap import brute_force
from test_gap_local_search import packed_instance, skip_the_first_exact_solve

import allocator.gap as gap_module
from allocator.gap import solve_gap
from allocator.gap_core import core_pairs, solve_cores
from allocator.gap_instance import check_gap_assignment, gap_cost


def test_core_holds_each_jobs_cheapest_fitting_agents_and_the_best_assignment() -> None:
    reduced = np.array([[0.0, 5.0, 1.0], [2.0, 0.0, 0.0], [1.0, 3.0, 4.0]])
    fits = np.array([[True, True, True], [True, True, False], [False, True, True]])
    best = np.array([1, 2, 0])
    core = core_pairs(reduced, fits, best, agents_per_job=2)
    expected = np.array([[True, False, True], [True, True, False], [False, True, True]])
    np.testing.assert_array_equal(core, expected)


def test_core_solves_stay_in_their_core_and_never_lose_the_start() -> None:
    rng = np.random.default_rng(5)
    for k in range(8):
        instance, start = packed_instance(rng, k, m=4, n=9)
        fits = instance.weight <= instance.capacity[:, None]
        reduced = rng.random(fits.shape)
        cores = [core_pairs(reduced, fits, start, agents) for agents in (1, 2, 4)]
        outcomes = solve_cores(
            instance.cost, instance.weight, instance.capacity, cores, start, 10_000, 10.0
        )
        for core, outcome in zip(cores, outcomes, strict=True):
            assignment = outcome.assignment
            assert check_gap_assignment(instance, assignment) == []
            assert core[assignment, np.arange(instance.jobs)].all()
            assert gap_cost(instance, assignment) <= gap_cost(instance, start)
        whole = outcomes[-1]
        assert gap_cost(instance, whole.assignment) == brute_force(instance, "min")


def test_core_solves_improve_the_best_but_claim_no_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cores of one agent a job: where the optimum lies outside the core, HiGHS's bound is the
    core's, above the problem's optimum; the search must not take it as its bound (taking it
    fails this test)."""
    monkeypatch.setattr(gap_module, "CORE_ROUNDS", ((1,),))
    rng = np.random.default_rng(8)
    outside = 0
    for k in range(8):
        instance, start = packed_instance(rng, k, m=4, n=9)
        fits = instance.weight <= instance.capacity[:, None]
        search = gap_module._Search(
            cost=instance.cost,
            weight=instance.weight,
            capacity=instance.capacity,
            seed=0,
            workers=1,
            deadline=time.monotonic() + 30,
            best=start,
        )
        lagrangian = gap_module._lagrangian(search, fits)
        core = core_pairs(lagrangian.reduced, fits, start, agents_per_job=1)
        gap_module._core_rounds(search, lagrangian, fits)
        assert check_gap_assignment(instance, search.best) == []
        assert search.value <= gap_cost(instance, start)
        assert search.bound == -math.inf
        optimum = brute_force(instance, "min")
        outside += search.value > optimum and core[search.best, np.arange(instance.jobs)].all()
    assert outside


@pytest.mark.parametrize("sense", ["min", "max"])
def test_solve_gap_with_core_rounds_reaches_the_optimum_and_a_true_bound(
    sense: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Core rounds on every instance, on cores of one agent a job, in place of the final exact
    solve: the path runs, the answer is still the brute-force optimum (the search rounds find it
    on these small instances) and the bound is never past it. That the cores' bounds are not
    taken is the test above: here the search's best lies inside each core, so a core's bound
    would be the optimum itself."""
    core_rounds, rounds = gap_module._core_rounds, []

    def counted(search: gap_module._Search, *args: object, **kwargs: object) -> None:
        rounds.append(search.value)
        core_rounds(search, *args, **kwargs)

    skip_the_first_exact_solve(monkeypatch)
    monkeypatch.setattr(gap_module, "CORE_MIN_JOBS", 1)
    monkeypatch.setattr(gap_module, "CORE_ROUNDS", ((1,),))
    monkeypatch.setattr(gap_module, "_core_rounds", counted)
    rng = np.random.default_rng(23)
    for k in range(10):
        instance, _ = packed_instance(rng, k, 3, 6)
        optimum = brute_force(instance, sense)
        result = solve_gap(instance, sense, time_limit_s=5)
        assert check_gap_assignment(instance, result.assignment) == []
        assert result.value == optimum
        assert result.bound <= optimum if sense == "min" else result.bound >= optimum
    assert rounds
