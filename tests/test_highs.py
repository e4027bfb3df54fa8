"""The 0-1 programme solved by HiGHS: known optima on small cases, and bounds on the safe side."""

import itertools

import numpy as np
import pytest
from scipy import sparse

from allocator.highs import BinaryProgramme, solve_binary


def knapsack(values, weights, capacity, maximise=True, pinned=()) -> BinaryProgramme:
    """One capacity row; the items in `pinned` fixed in."""
    x_lower = np.zeros(len(values))
    x_lower[list(pinned)] = 1.0
    return BinaryProgramme(
        objective=np.asarray(values, dtype=float),
        matrix=sparse.csr_matrix(np.asarray([weights], dtype=float)),
        row_lower=np.array([-np.inf]),
        row_upper=np.array([float(capacity)]),
        x_lower=x_lower,
        maximise=maximise,
    )


def brute_force(values, weights, capacity, pinned=()) -> int:
    best = -1
    for chosen in itertools.product((0, 1), repeat=len(values)):
        if any(not chosen[i] for i in pinned):
            continue
        if np.dot(chosen, weights) <= capacity:
            best = max(best, int(np.dot(chosen, values)))
    return best


@pytest.mark.parametrize("seed", range(8))
def test_solved_to_the_end_it_reaches_the_brute_force_optimum_and_proves_it(seed) -> None:
    rng = np.random.default_rng(seed)
    values = rng.integers(1, 40, size=9)
    weights = rng.integers(1, 20, size=9)
    capacity = int(weights.sum() // 2)
    pinned = (int(rng.integers(9)),)

    outcome = solve_binary(knapsack(values, weights, capacity, pinned=pinned), None, 10_000, 30)

    optimum = brute_force(values, weights, capacity, pinned)
    assert outcome.optimal
    assert int(values[outcome.x].sum()) == optimum
    assert outcome.x[pinned[0]]
    assert optimum <= outcome.bound < optimum + 1  # a maximisation's bound is never below


def test_a_minimisation_bound_is_never_above_the_optimum() -> None:
    """Cover a demand of 10 at least cost: items (cost, size) (4, 6), (5, 5), (3, 4); the
    optimum is 7, the first and the last (sizes 6 + 4)."""
    programme = BinaryProgramme(
        objective=np.array([4.0, 5.0, 3.0]),
        matrix=sparse.csr_matrix(np.array([[6.0, 5.0, 4.0]])),
        row_lower=np.array([10.0]),
        row_upper=np.array([np.inf]),
        x_lower=np.zeros(3),
    )

    outcome = solve_binary(programme, None, 10_000, 30)

    assert outcome.optimal
    assert list(outcome.x) == [True, False, True]
    assert 7 - 1 < outcome.bound <= 7  # never above the optimum, loosened by the slack only


def test_one_node_from_a_feasible_hint_returns_a_plan_at_least_as_good() -> None:
    """The root node alone (as the hours level runs it) never loses the plan it starts from,
    and its bound holds for what it returns."""
    rng = np.random.default_rng(11)
    values = rng.integers(1, 100, size=60)
    weights = rng.integers(1, 50, size=60)
    capacity = int(weights.sum() // 3)
    hint = np.zeros(60, dtype=bool)
    hint[np.argsort(weights)[:5]] = True
    assert weights[hint].sum() <= capacity

    outcome = solve_binary(knapsack(values, weights, capacity), hint, 1, 30)

    assert outcome.x is not None
    assert weights[outcome.x].sum() <= capacity
    assert values[outcome.x].sum() >= values[hint].sum()
    assert outcome.bound >= values[outcome.x].sum()


def test_an_infeasible_programme_says_so() -> None:
    programme = knapsack([1, 1], [5, 5], capacity=4, pinned=(0,))

    outcome = solve_binary(programme, None, 100, 30)

    assert outcome.infeasible
    assert outcome.x is None
    assert outcome.bound == -np.inf  # a maximisation with no plan: nothing is reachable
