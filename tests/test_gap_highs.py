"""HiGHS on the GAP: exact on small instances, its bound never past the optimum, its answers
checked independently, honest when another solver has stopped it, and, inside solve_gap, never
in the way of the proved optimum.

Optima come from the brute force of test_gap; packed instances from test_gap_local_search.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from ortools.util.python.solve_interrupter import SolveInterrupter
from test_gap import brute_force, random_instance
from test_gap_local_search import (
    assert_packed_optima_proved,
    packed_instance,
    skip_the_first_exact_solve,
)

import allocator.gap as gap_module
from allocator.gap_highs import HighsOutcome, _assignment, solve_with_highs
from allocator.gap_instance import GapInstance, check_gap_assignment, gap_cost


def highs(
    instance: GapInstance,
    sense: str,
    hint: np.ndarray | None = None,
    interrupter: SolveInterrupter | None = None,
) -> HighsOutcome:
    """HiGHS on every pair that fits, in minimisation form (costs negated for max), with far
    more nodes and seconds than these small instances need."""
    cost = instance.cost if sense == "min" else -instance.cost
    allowed = instance.weight <= instance.capacity[:, None]
    nodes, wall_s = 10_000, 10.0
    return solve_with_highs(
        cost, instance.weight, instance.capacity, allowed, hint, nodes, wall_s, interrupter
    )


def test_highs_matches_brute_force_and_its_bound_never_passes_the_optimum() -> None:
    rng = np.random.default_rng(11)
    for k in range(25):
        instance = random_instance(rng, k)
        for sense in ("min", "max"):
            optimum = brute_force(instance, sense)
            outcome = highs(instance, sense)
            if optimum is None:
                assert outcome.assignment is None and not outcome.optimal, instance
                continue
            assert outcome.optimal and not outcome.hit_wall_clock, instance
            assert check_gap_assignment(instance, outcome.assignment) == []
            assert gap_cost(instance, outcome.assignment) == optimum
            least = optimum if sense == "min" else -optimum
            assert math.ceil(outcome.bound) == least and outcome.bound <= least


def test_packed_instances_are_solved_to_the_optimum_from_a_hint() -> None:
    rng = np.random.default_rng(5)
    for k in range(8):
        instance, start = packed_instance(rng, k, 3, 7)
        outcome = highs(instance, "min", hint=start)
        assert outcome.optimal
        assert gap_cost(instance, outcome.assignment) == brute_force(instance, "min")


def test_an_interrupted_solve_claims_only_what_it_proved_and_does_not_blame_the_clock() -> None:
    """When CP-SAT has proved the optimum first, it interrupts HiGHS: HiGHS then reports no clock
    stop, so the caller's record stays reproducible, and whatever it does report holds."""
    rng = np.random.default_rng(3)
    for k in range(5):
        instance, start = packed_instance(rng, k, 4, 8)
        optimum = brute_force(instance, "min")
        interrupter = SolveInterrupter()
        interrupter.interrupt()
        outcome = highs(instance, "min", hint=start, interrupter=interrupter)
        assert not outcome.hit_wall_clock and outcome.bound <= optimum
        if outcome.assignment is not None:
            assert check_gap_assignment(instance, outcome.assignment) == []
            cost = gap_cost(instance, outcome.assignment)
            assert cost == optimum if outcome.optimal else cost >= optimum


def test_rounded_choices_that_break_a_rule_are_not_an_assignment() -> None:
    """HiGHS works to tolerances, so its rounded choices are checked before they are used."""
    agents, jobs = np.array([0, 1, 0, 1]), np.array([0, 0, 1, 1])
    weight, capacity = np.array([[3, 3], [2, 2]]), np.array([5, 2])
    fits = _assignment(np.array([True, False, False, True]), agents, jobs, weight, capacity)
    np.testing.assert_array_equal(fits, [0, 1])
    overloaded = np.array([False, True, False, True])
    unplaced = np.array([True, False, False, False])
    twice = np.array([True, True, False, True])
    for chosen in (overloaded, unplaced, twice):
        assert _assignment(chosen, agents, jobs, weight, capacity) is None


@pytest.mark.parametrize("sense", ["min", "max"])
def test_solve_gap_runs_highs_beside_cp_sat_and_still_proves_the_optimum(
    sense: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first exact solve is skipped, so the final one (HiGHS beside CP-SAT where the
    Lagrangian bound prunes) has work left to do; the answer is still the proved optimum."""
    highs_solves: list[HighsOutcome] = []

    def counted(*args: object) -> HighsOutcome:
        outcome = solve_with_highs(*args)
        highs_solves.append(outcome)
        return outcome

    skip_the_first_exact_solve(monkeypatch)
    monkeypatch.setattr(gap_module, "solve_with_highs", counted)
    assert_packed_optima_proved(sense, seed=17, jobs=7)
    assert highs_solves
