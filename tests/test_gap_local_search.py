"""The GAP tabu search: feasible, never worse than its start, deterministic, and, inside
solve_gap, never in the way of the exact optimum.

Instances are small and random, built around a hidden feasible assignment so a feasible start is
known; optima come from the brute force of test_gap.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_gap import assert_solved, brute_force

import allocator.gap as gap_module
from allocator.gap_instance import GapInstance, check_gap_assignment, gap_cost
from allocator.gap_knapsacks import knapsack_bound
from allocator.gap_local_search import (
    NO_ASSIGNMENT,
    TabuOutcome,
    _iterate,
    iterations_for,
    tabu_search,
)

ROOT = Path(__file__).resolve().parents[1]


def packed_instance(
    rng: np.random.Generator, k: int, m: int, n: int
) -> tuple[GapInstance, np.ndarray]:
    """m agents × n jobs, tightly packed around a hidden feasible assignment, which is returned
    as the start; costs fall as weights rise (as in Chu & Beasley type D), so cheap is heavy."""
    weight = rng.integers(1, 30, size=(m, n))
    cost = 40 - weight + rng.integers(-5, 6, size=(m, n))
    start = rng.integers(0, m, size=n)
    load = np.bincount(start, weights=weight[start, np.arange(n)], minlength=m).astype(int)
    capacity = load + rng.integers(0, 6, size=m)
    return GapInstance(f"packed-{k}", cost, weight, capacity), start


def walk(instance: GapInstance, start: np.ndarray, iterations: int, seed: int = 0) -> TabuOutcome:
    return tabu_search(instance.cost, instance.weight, instance.capacity, start, iterations, seed)


def test_walk_is_feasible_and_never_worse_than_its_start() -> None:
    rng = np.random.default_rng(7)
    for k in range(30):
        m, n = int(rng.integers(2, 6)), int(rng.integers(2, 40))
        instance, start = packed_instance(rng, k, m, n)
        outcome = walk(instance, start, iterations=300, seed=k)
        assert check_gap_assignment(instance, outcome.assignment) == [], instance.name
        assert gap_cost(instance, outcome.assignment) <= gap_cost(instance, start), instance.name
        assert outcome.iterations == 300 and not outcome.hit_wall_clock


def test_walk_repairs_an_overloaded_or_unplaced_start() -> None:
    """Everything on agent 0, or nothing placed (agent m): any answer must be feasible."""
    rng = np.random.default_rng(11)
    repaired = 0
    for k in range(20):
        instance, _ = packed_instance(rng, k, 4, 20)
        for start in (np.zeros(20, dtype=np.int64), np.full(20, 4, dtype=np.int64)):
            outcome = walk(instance, start, iterations=400, seed=k)
            if outcome.assignment is not None:
                repaired += 1
                assert check_gap_assignment(instance, outcome.assignment) == [], instance.name
    assert repaired >= 30


def test_same_seed_same_walk() -> None:
    rng = np.random.default_rng(3)
    instance, start = packed_instance(rng, 0, 6, 60)
    first, second = (walk(instance, start, iterations=500, seed=5) for _ in range(2))
    np.testing.assert_array_equal(first.assignment, second.assignment)


def test_walk_finds_the_optimum_of_tiny_instances() -> None:
    rng = np.random.default_rng(2026)
    for k in range(15):
        instance, start = packed_instance(rng, k, 3, 6)
        outcome = walk(instance, start, iterations=500, seed=k)
        assert gap_cost(instance, outcome.assignment) == brute_force(instance, "min"), instance


def test_clock_guard_stops_the_walk_and_says_so() -> None:
    rng = np.random.default_rng(1)
    instance, start = packed_instance(rng, 0, 5, 50)
    outcome = tabu_search(
        instance.cost, instance.weight, instance.capacity, start, 1000, 0, deadline=0.0
    )
    assert outcome.hit_wall_clock and outcome.iterations == 0
    np.testing.assert_array_equal(outcome.assignment, start)


def test_budget_is_a_count_that_falls_with_instance_size() -> None:
    assert iterations_for(20, 100, 1.0) > iterations_for(20, 200, 1.0) > 0
    assert abs(iterations_for(20, 200, 2.0) - 2 * iterations_for(20, 200, 1.0)) <= 1
    assert iterations_for(20, 0, 1.0) == 0


def skip_the_first_exact_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every solve_gap skip its first exact solve, and run every search round however
    small the final exact solve's model, so the later phases run even on tiny instances that
    the first would prove at once."""
    monkeypatch.setattr(gap_module, "EXACT_PAIRS_PER_JOB", 0.0)
    solve_exactly = gap_module._solve_exactly
    skipped: list[gap_module._Search] = []

    def skip_first(search: gap_module._Search, *args: object, **kwargs: object) -> float:
        if any(search is earlier for earlier in skipped):
            return solve_exactly(search, *args, **kwargs)
        skipped.append(search)
        return 0.0

    monkeypatch.setattr(gap_module, "_solve_exactly", skip_first)


def assert_packed_optima_proved(sense: str, seed: int, jobs: int) -> None:
    """solve_gap proves the brute-force optimum of ten packed instances of 3 agents."""
    rng = np.random.default_rng(seed)
    for k in range(10):
        instance, _ = packed_instance(rng, k, 3, jobs)
        assert_solved(instance, sense, brute_force(instance, sense))


@pytest.mark.parametrize("sense", ["min", "max"])
def test_solve_gap_with_the_walk_still_reaches_the_brute_force_optimum(
    sense: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk and the neighbourhood search run before the final exact solve even on these
    tiny instances; the answer is still the optimum, proved."""
    tabu_walk, walks = gap_module._tabu_search, []

    def counted(search: gap_module._Search, *args: object, **kwargs: object) -> float:
        walks.append(search.value)
        return tabu_walk(search, *args, **kwargs)

    skip_the_first_exact_solve(monkeypatch)
    monkeypatch.setattr(gap_module, "_tabu_search", counted)
    assert_packed_optima_proved(sense, seed=99, jobs=6)
    assert walks


def best_first_move(
    cost: np.ndarray, weight: np.ndarray, capacity: np.ndarray, agents: np.ndarray, price: float
) -> np.ndarray:
    """The assignment after the walk's first move, by brute force over every shift, swap and
    chain with the walk's scores (nothing tabu yet, one price for all): a chain only if it
    scores strictly best, else a shift if it scores no worse than the best swap."""
    m, n = cost.shape
    load = np.bincount(agents, weights=weight[agents, np.arange(n)], minlength=m)
    over = np.maximum(load - capacity, 0)

    def change(agent: int, out: int | None, into: int | None) -> float:
        """Overload change of `agent` when job `out` leaves it and job `into` arrives."""
        new = load[agent] - (weight[agent, out] if out is not None else 0)
        new += weight[agent, into] if into is not None else 0
        return max(new - capacity[agent], 0) - over[agent]

    moves: dict[str, list[tuple[float, dict[int, int]]]] = {"shift": [], "swap": [], "chain": []}
    for j in range(n):
        a = agents[j]
        leave = -cost[a, j] + price * change(a, j, None)
        for i in set(range(m)) - {a}:
            moves["shift"].append((cost[i, j] + price * change(i, None, j) + leave, {j: i}))
        for k in range(n):
            b = agents[k]
            if b == a:
                continue
            into_b = cost[b, j] - cost[b, k] + price * change(b, k, j)
            swap = into_b + cost[a, k] - cost[a, j] + price * change(a, j, k)
            moves["swap"].append((swap, {j: b, k: a}))
            for t in set(range(m)) - {a, b}:
                onward = cost[t, k] + price * change(t, None, k)
                moves["chain"].append((into_b + leave + onward, {j: b, k: t}))
    best = {kind: min(found, key=lambda move: move[0]) for kind, found in moves.items() if found}
    shift, swap = best["shift"], best.get("swap", (np.inf, {}))
    chosen = shift if shift[0] <= swap[0] else swap
    if "chain" in best and best["chain"][0] < chosen[0]:
        chosen = best["chain"]
    after = agents.copy()
    for job, agent in chosen[1].items():
        after[job] = agent
    return after


def test_the_compiled_iteration_makes_the_best_scored_move() -> None:
    """One iteration of the compiled loop from random assignments, feasible or not, makes the
    move a brute force over every shift, swap and chain scores best."""
    rng = np.random.default_rng(17)
    for _ in range(40):
        m, n = int(rng.integers(3, 6)), int(rng.integers(4, 12))
        weight = rng.integers(1, 20, size=(m, n))
        cost = rng.integers(0, 1000, size=(m, n))
        capacity = rng.integers(10, 40, size=m)
        agents = rng.integers(0, m, size=n)
        price = 7.3
        expected = best_first_move(cost, weight, capacity, agents, price)
        current = agents.astype(np.int64)
        load = np.bincount(current, weights=weight[current, np.arange(n)], minlength=m)
        arrays = (
            np.ascontiguousarray(cost.T, dtype=np.int64),
            np.ascontiguousarray(weight.T, dtype=np.int64),
            cost.astype(np.int64),
            weight.astype(np.int64),
            capacity.astype(np.int64),
            current,
            load.astype(np.int64),
            current.copy(),
            np.zeros((n, m), dtype=np.int64),
        )
        tally = np.array([NO_ASSIGNMENT, 0], dtype=np.int64)
        _iterate(
            arrays,
            np.full(m, price),
            tally,
            0,
            np.arange(n)[None, :],
            np.ones(1, np.int64),
            price,
            10**6,
        )
        np.testing.assert_array_equal(current, expected)


UNSUPPORTED = 3
"""The script's exit status where this Numba ignores `NUMBA_CACHE_LOCATOR_CLASSES`."""

NO_CACHE_ANYWHERE = """
import sys
import numpy as np
from numba import njit

def probe():
    return 0

try:  # the setting must leave Numba nowhere to cache, or this test proves nothing
    njit(cache=True)(probe)
    sys.exit({unsupported})
except RuntimeError:
    pass
from allocator.gap_knapsacks import knapsack_bound
from allocator.gap_local_search import tabu_search
cost, weight, capacity, start = (np.array(a) for a in {arrays})
outcome = tabu_search(cost, weight, capacity, start, 300, 4)
print(outcome.assignment.tolist())
fits = weight <= capacity[:, None]
print(knapsack_bound(cost, weight, capacity, fits, cost.min(axis=0), 1e9, 1e6, 1e12).value)
"""


def test_the_walk_runs_where_numba_can_cache_nowhere(tmp_path: Path) -> None:
    """A read-only install whose user has no writable home leaves Numba no cache directory; it
    then refuses `cache=True` at import. The walk and the knapsack bound compile afresh
    instead, and give the same answers."""
    instance, start = packed_instance(np.random.default_rng(6), 0, 5, 30)
    arrays = [a.tolist() for a in (instance.cost, instance.weight, instance.capacity, start)]
    script = tmp_path / "walk_without_cache.py"
    script.write_text(NO_CACHE_ANYWHERE.format(arrays=arrays, unsupported=UNSUPPORTED))
    environment = {**os.environ, "NUMBA_CACHE_LOCATOR_CLASSES": "ZipCacheLocator"}
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), environment.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, str(script)], env=environment, capture_output=True, text=True
    )
    if done.returncode == UNSUPPORTED:
        pytest.skip("this Numba has no NUMBA_CACHE_LOCATOR_CLASSES to take its cache away")
    assert done.returncode == 0, done.stderr
    expected = walk(instance, start, iterations=300, seed=4).assignment.tolist()
    fits = instance.weight <= instance.capacity[:, None]
    prices = instance.cost.min(axis=0)
    bound = knapsack_bound(
        instance.cost, instance.weight, instance.capacity, fits, prices, 1e9, 1e6, 1e12
    )
    assert done.stdout.splitlines() == [str(expected), str(bound.value)]
