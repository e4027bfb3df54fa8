"""What takes the core the GAP's tabu walk leaves idle. HiGHS joins only where it can gain, its
assignment counts, its bound counts only where it holds for the whole problem, and inside
solve_gap the answer is still the optimum, proved. Elsewhere a second walk takes the core, and
the better of the two walks counts."""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
import pytest
from test_gap import assert_solved, brute_force
from test_gap_local_search import packed_instance, skip_the_first_exact_solve, walk

import allocator.gap as gap_module
from allocator.gap_core import core_pairs
from allocator.gap_instance import GapInstance, check_gap_assignment, gap_cost
from allocator.gap_local_search import iterations_for


def search_from(
    instance: GapInstance, start: np.ndarray | None, workers: int = 2
) -> gap_module._Search:
    return gap_module._Search(
        cost=instance.cost,
        weight=instance.weight,
        capacity=instance.capacity,
        seed=0,
        workers=workers,
        deadline=time.monotonic() + 30,
        best=start,
    )


class Walk(NamedTuple):
    """One tabu search the solver made: where it started, what worked beside it, where its
    second walk started, and the best value after it."""

    start: np.ndarray
    beside: gap_module._Exact | None
    second_start: np.ndarray | None
    value_after: int | None


def spied_walks(monkeypatch: pytest.MonkeyPatch) -> list[Walk]:
    """Every tabu search the solver makes from now on, recorded as it ends."""
    tabu_search, walks = gap_module._tabu_search, []

    def recorded(
        search: gap_module._Search,
        start: np.ndarray,
        work: float,
        seed: int,
        share: float,
        beside: gap_module._Exact | None = None,
        second_start: np.ndarray | None = None,
    ) -> float:
        used = tabu_search(search, start, work, seed, share, beside, second_start)
        walks.append(Walk(start, beside, second_start, search.value))
        return used

    monkeypatch.setattr(gap_module, "_tabu_search", recorded)
    return walks


@pytest.mark.parametrize("bounds", [False, True])
def test_highs_beside_a_walk_of_no_steps_gives_its_optimum(bounds: bool) -> None:
    """A walk with no work leaves the start; HiGHS, on every pair, finds the optimum, which the
    search takes, with HiGHS's proof only where its pairs bound the whole problem (not on a
    core: `bounds` False)."""
    rng = np.random.default_rng(31)
    improved = 0
    for k in range(8):
        instance, start = packed_instance(rng, k, m=4, n=9)
        fits = instance.weight <= instance.capacity[:, None]
        search = search_from(instance, start)
        beside = gap_module._Exact(fits, nodes=10_000, bounds=bounds)
        gap_module._tabu_search(search, start, work=0.0, seed=0, share=1.0, beside=beside)
        optimum = brute_force(instance, "min")
        assert check_gap_assignment(instance, search.best) == []
        assert search.value == optimum
        assert search.proved == (optimum if bounds else None)
        improved += search.value < gap_cost(instance, start)
    assert improved


@pytest.mark.parametrize(("workers", "fresh"), [(1, False), (2, False), (2, True)])
def test_a_second_walk_takes_the_idle_core_where_highs_does_not(workers: int, fresh: bool) -> None:
    """With two workers and no HiGHS beside it, the search ends at the better of its walk and
    one with seed `seed + SEARCH_ROUNDS`, from the best or, `fresh`, from the `second_start`
    given; with one worker, at its own walk's end."""
    rng = np.random.default_rng(8)
    first_better = second_better = 0
    for k in range(12):
        instance, start = packed_instance(rng, k, m=8, n=60)
        work, seed = 0.001, 3  # about 50 iterations: short enough for walks to end apart
        iterations = iterations_for(instance.agents, instance.jobs, work)
        other = walk(instance, start, 64, seed=100 + k).assignment if fresh else start
        starts_and_seeds = ((start, seed), (other, seed + gap_module.SEARCH_ROUNDS))
        ends = [
            gap_cost(instance, walk(instance, begin, iterations, s).assignment)
            for begin, s in starts_and_seeds
        ]
        search = search_from(instance, start, workers)
        second_start = other if fresh else None
        gap_module._tabu_search(search, start, work, seed, share=1.0, second_start=second_start)
        assert check_gap_assignment(instance, search.best) == []
        assert search.value == (min(ends) if workers == 2 else ends[0]), instance.name
        second_better += ends[1] < ends[0]
        first_better += ends[0] < ends[1]
    assert second_better and first_better


def test_later_rounds_start_their_second_walk_where_the_rounds_began(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first round's second walk starts from the best; every later round's from the
    assignment the rounds began with, though the first round has improved on it."""
    rng = np.random.default_rng(12)
    instance, start = packed_instance(rng, 0, m=6, n=40)
    fits = instance.weight <= instance.capacity[:, None]
    search = search_from(instance, start)
    lagrangian = gap_module._lagrangian(search, fits)
    walks = spied_walks(monkeypatch)
    gap_module._search_rounds(search, start, 0.05, 0.1, lagrangian, fits)
    assert len(walks) == gap_module.SEARCH_ROUNDS >= 2
    assert walks[0].second_start is None
    assert all(walk.second_start is start for walk in walks[1:])
    assert walks[0].value_after < gap_cost(instance, start)  # the first round did improve


@pytest.mark.parametrize("large", [False, True])
def test_with_no_assignment_yet_the_first_walks_start_from_the_lps_rounding(
    monkeypatch: pytest.MonkeyPatch, large: bool
) -> None:
    """Before any assignment, round one's walk starts from the LP's rounding, which leaves split
    jobs unplaced, and repairs it; from `CORE_MIN_JOBS` jobs no walk runs in round one, and
    round two's walk starts from the assignment the neighbourhood search made of the rounding."""
    if large:
        monkeypatch.setattr(gap_module, "CORE_MIN_JOBS", 40)
    rng = np.random.default_rng(12)
    spied, split = spied_walks(monkeypatch), 0
    for k in range(4):
        instance, _ = packed_instance(rng, k, m=6, n=40)
        fits = instance.weight <= instance.capacity[:, None]
        search = search_from(instance, None)
        lagrangian = gap_module._lagrangian(search, fits)
        rounding, earlier = lagrangian.rounded, len(spied)
        gap_module._search_rounds(search, rounding, 0.05, 0.1, lagrangian, fits)
        walks = spied[earlier:]
        assert check_gap_assignment(instance, search.best) == []
        if large:
            assert len(walks) == gap_module.SEARCH_ROUNDS - 1
            assert check_gap_assignment(instance, walks[0].start) == []
        else:
            assert walks[0].start is rounding and walks[0].value_after is not None
        split += bool((rounding == instance.agents).any())
    assert split  # some rounding did leave jobs unplaced


def test_highs_joins_the_walk_only_where_it_can_gain(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(4)
    instance, start = packed_instance(rng, 0, m=4, n=9)
    fits = instance.weight <= instance.capacity[:, None]
    lagrangian = gap_module._lagrangian(search_from(instance, start), fits)

    def beside(workers: int = 2) -> gap_module._Exact | None:
        search = search_from(instance, start, workers)
        return gap_module._beside_walk(search, lagrangian, fits, work=2.0)

    monkeypatch.setattr(gap_module, "HIGHS_MIN_PRUNED", 0.0)
    monkeypatch.setattr(gap_module, "BESIDE_WALK_MIN_JOBS", 10)
    assert beside() is None  # 9 jobs: too few
    monkeypatch.setattr(gap_module, "BESIDE_WALK_MIN_JOBS", 9)
    monkeypatch.setattr(gap_module, "HIGHS_MIN_PRUNED", 1.01)  # the bound prunes too little
    assert beside() is None
    monkeypatch.setattr(gap_module, "HIGHS_MIN_PRUNED", 0.0)
    assert beside(workers=1) is None  # no idle core
    reduced = beside()
    search = search_from(instance, start)
    np.testing.assert_array_equal(reduced.allowed, gap_module._reduced(search, lagrangian, fits))
    assert reduced.nodes == 2 * gap_module.HIGHS_NODES_PER_WORK and reduced.bounds
    monkeypatch.setattr(gap_module, "CORE_MIN_JOBS", 9)  # a large instance: the smaller core
    core = beside()
    agents = gap_module.CORE_ROUNDS[0][0]
    np.testing.assert_array_equal(core.allowed, core_pairs(lagrangian.reduced, fits, start, agents))
    assert core.nodes == gap_module.CORE_NODES and not core.bounds


@pytest.mark.parametrize("sense", ["min", "max"])
def test_solve_gap_with_highs_beside_every_walk_proves_the_brute_force_optimum(
    sense: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    skip_the_first_exact_solve(monkeypatch)
    monkeypatch.setattr(gap_module, "HIGHS_MIN_PRUNED", 0.0)
    monkeypatch.setattr(gap_module, "BESIDE_WALK_MIN_JOBS", 1)
    walks = spied_walks(monkeypatch)
    rng = np.random.default_rng(57)
    for k in range(10):
        instance, _ = packed_instance(rng, k, 3, 6)
        assert_solved(instance, sense, brute_force(instance, sense))
    assert any(walk.beside is not None for walk in walks)
