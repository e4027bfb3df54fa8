"""The GAP benchmark core: reading the OR-Library format, solving, and checking answers.

The solver is held to exact optima found by brute force on tiny random instances and to the
published optima of OR-Library gap1; its bound must never be on the wrong side of the optimum,
also when a time limit stops it early. The reader is run on every shipped instance file.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from allocator.gap import solve_gap
from allocator.gap_instance import GapInstance, check_gap_assignment, gap_cost, parse_gap
from allocator.io.gap_files import read_best_known, read_gap_file

GAP_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gap"
needs_shared = pytest.mark.skipif(not GAP_DATA.is_dir(), reason="../shared/data/gap is absent")

TINY = GapInstance(
    name="tiny",
    cost=np.array([[4, 1, 3], [2, 5, 2]]),
    weight=np.array([[3, 2, 2], [1, 2, 3]]),
    capacity=np.array([4, 4]),
)
"""Two agents, three jobs; the cheapest feasible assignment (1, 0, 1) costs 5, the dearest 10."""

SINGLE_TEXT = """2 3
4 1 3
2 5 2
3 2 2
1 2 3
4 4
"""


# --- reading ------------------------------------------------------------------------------------


def test_single_problem_text_reads_as_one_instance_whatever_the_line_breaks() -> None:
    for text in (SINGLE_TEXT, " ".join(SINGLE_TEXT.split()), SINGLE_TEXT.replace(" ", "\n")):
        (instance,) = parse_gap(text, "tiny")
        assert instance.name == "tiny"
        np.testing.assert_array_equal(instance.cost, TINY.cost)
        np.testing.assert_array_equal(instance.weight, TINY.weight)
        np.testing.assert_array_equal(instance.capacity, TINY.capacity)


def test_multi_problem_text_reads_every_block() -> None:
    text = "2\n" + SINGLE_TEXT + "1 2\n7 8\n1 1\n5\n"
    first, second = parse_gap(text, "pair")
    assert (first.name, first.agents, first.jobs) == ("pair-1", 2, 3)
    assert (second.name, second.agents, second.jobs) == ("pair-2", 1, 2)
    np.testing.assert_array_equal(second.cost, [[7, 8]])
    np.testing.assert_array_equal(second.capacity, [5])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            SINGLE_TEXT.replace("5 2", "5 x"),
            "bad.txt: not a GAP file; read as one problem: problem 1, token 8 (line 3): "
            "'x' is not an integer",
        ),
        (
            "2\n" + SINGLE_TEXT + "1 2\n7 8\n1 1.5\n5\n",
            "read as P problems: problem 2, token 23 (line 10): '1.5' is not an integer",
        ),
        (
            SINGLE_TEXT + "9\n",
            "read as one problem: problem 1: too many tokens, 1 left over from token 17 (line 7)",
        ),
        (
            "2\n" + SINGLE_TEXT + "1 2\n7 8\n1 1\n",
            "read as P problems: problem 2: too few tokens, it needs tokens up to 24 but the "
            "file ends at token 23",
        ),
        ("2 -3\n", "read as one problem: problem 1, token 2 (line 1): negative size n=-3"),
        (
            SINGLE_TEXT.replace("1 2 3", "1 -2 3"),
            "read as one problem: problem 1, token 13 (line 5): negative weight -2",
        ),
        ("", "read as one problem: problem 1, token 1: the file ends before the sizes m n"),
    ],
)
def test_bad_text_is_rejected_naming_source_problem_and_token(text: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_gap(text, "bad.txt")
    assert str(error.value).startswith("bad.txt: ")
    assert message in str(error.value)


def test_neither_reading_fitting_reports_both() -> None:
    with pytest.raises(ValueError, match="read as one problem: .*; read as P problems: "):
        parse_gap("1 2 3", "short")


def test_read_gap_file_names_problems_by_file_stem(tmp_path: Path) -> None:
    (tmp_path / "gapx.txt").write_text("2\n" + SINGLE_TEXT + SINGLE_TEXT)
    (tmp_path / "d0503").write_text(SINGLE_TEXT)
    assert [i.name for i in read_gap_file(tmp_path / "gapx.txt")] == ["gapx-1", "gapx-2"]
    assert [i.name for i in read_gap_file(tmp_path / "d0503")] == ["d0503"]


@needs_shared
def test_every_shipped_file_reads_with_the_listed_counts_and_sizes() -> None:
    table = read_best_known(GAP_DATA / "best_known.csv")
    for file, rows in table.groupby("file"):
        instances = read_gap_file(GAP_DATA / "instances" / file)
        assert len(instances) == rows["instance_index"].max(), file
        for row in rows.itertuples():
            instance = instances[row.instance_index - 1]
            assert (instance.agents, instance.jobs) == (row.m, row.n), (file, row.instance_index)


def test_instance_validation_names_the_problem() -> None:
    with pytest.raises(ValueError, match="weight has shape"):
        GapInstance("x", np.zeros((2, 3)), np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match=r"capacity has shape \(3,\), expected \(2,\)"):
        GapInstance("x", np.zeros((2, 3)), np.zeros((2, 3)), np.zeros(3))
    weight = np.zeros((2, 3))
    weight[1, 2] = -1
    with pytest.raises(ValueError, match=r"weight\[1\]\[2\] = -1 is negative"):
        GapInstance("x", np.zeros((2, 3)), weight, np.zeros(2))
    with pytest.raises(ValueError, match=r"capacity\[0\] = -4 is negative"):
        GapInstance("x", np.zeros((2, 3)), np.zeros((2, 3)), np.array([-4, 1]))


# --- checking -----------------------------------------------------------------------------------


def test_checker_accepts_a_feasible_assignment_and_costs_it() -> None:
    assert check_gap_assignment(TINY, np.array([1, 0, 1])) == []
    assert gap_cost(TINY, np.array([1, 0, 1])) == 5


def test_checker_catches_unassigned_out_of_range_and_over_capacity() -> None:
    assert check_gap_assignment(TINY, np.array([-1, 0, 2])) == [
        "job 0 is not assigned to an agent 0..1 (got -1)",
        "job 2 is not assigned to an agent 0..1 (got 2)",
    ]
    assert check_gap_assignment(TINY, np.array([0, 0, 0])) == [
        "agent 0 is over capacity: its jobs use 7 of 4"
    ]
    assert check_gap_assignment(TINY, np.array([0, 1])) == [
        "assignment has shape (2,), expected (3,)"
    ]
    with pytest.raises(ValueError, match="valid agent"):
        gap_cost(TINY, np.array([0, 1, 5]))


# --- solving ------------------------------------------------------------------------------------


def brute_force(instance: GapInstance, sense: str) -> int | None:
    """The optimum over every assignment (None when none is feasible)."""
    choices = np.array(list(itertools.product(range(instance.agents), repeat=instance.jobs)))
    jobs = np.arange(instance.jobs)
    loads = np.stack(
        [np.where(choices == i, instance.weight[i], 0).sum(axis=1) for i in range(instance.agents)]
    )
    feasible = (loads <= instance.capacity[:, None]).all(axis=0)
    if not feasible.any():
        return None
    costs = instance.cost[choices, jobs].sum(axis=1)[feasible]
    return int(costs.min() if sense == "min" else costs.max())


def random_instance(rng: np.random.Generator, k: int) -> GapInstance:
    """Up to 3 agents × 6 jobs, capacities from loose to infeasible."""
    m, n = int(rng.integers(1, 4)), int(rng.integers(1, 7))
    weight = rng.integers(0, 10, size=(m, n))
    capacity = rng.integers(0, int(weight.sum() / m * 1.2) + 2, size=m)
    return GapInstance(f"random-{k}", rng.integers(-5, 20, size=(m, n)), weight, capacity)


def assert_solved(instance: GapInstance, sense: str, optimum: int | None) -> None:
    result = solve_gap(instance, sense, time_limit_s=5)
    assert result.value == optimum, instance
    if optimum is None:
        assert result.bound is None and result.assignment is None and not result.optimal
        return
    assert result.optimal and result.bound == optimum
    assert check_gap_assignment(instance, result.assignment) == []
    assert gap_cost(instance, result.assignment) == optimum


def test_solver_matches_brute_force_on_tiny_random_instances() -> None:
    rng = np.random.default_rng(2024)
    for k in range(20):
        instance = random_instance(rng, k)
        for sense in ("min", "max"):
            assert_solved(instance, sense, brute_force(instance, sense))


def test_solver_handles_the_degenerate_cases() -> None:
    assert_solved(TINY, "min", 5)
    assert_solved(TINY, "max", 10)
    nobody = GapInstance("nobody", np.ones((2, 1)), np.full((2, 1), 9), np.array([3, 4]))
    assert_solved(nobody, "min", None)
    no_agents = GapInstance("no agents", np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0))
    assert_solved(no_agents, "max", None)
    no_jobs = GapInstance("no jobs", np.zeros((2, 0)), np.zeros((2, 0)), np.array([1, 1]))
    assert_solved(no_jobs, "min", 0)


@needs_shared
def test_solver_finds_the_published_gap1_optima_in_both_senses() -> None:
    table = read_best_known(GAP_DATA / "best_known.csv")
    instances = read_gap_file(GAP_DATA / "instances" / "orlib" / "gap1.txt")
    for row in table[table["file"] == "orlib/gap1.txt"].itertuples():
        assert_solved(instances[row.instance_index - 1], row.sense, row.best_known)


@needs_shared
def test_bound_stays_on_the_right_side_when_stopped_early() -> None:
    """d05100 (tightly packed, optimum 6353) is not solved in 1 s: the answer is feasible, no
    better than the optimum, and the bound no higher; a rerun with the seed gives the same."""
    (instance,) = read_gap_file(GAP_DATA / "instances" / "chu1997" / "d05100")
    first, second = (solve_gap(instance, "min", time_limit_s=1.0) for _ in range(2))
    assert check_gap_assignment(instance, first.assignment) == []
    assert first.bound <= 6353 <= first.value
    if first.reproducible and second.reproducible:
        assert first.value == second.value
        np.testing.assert_array_equal(first.assignment, second.assignment)
