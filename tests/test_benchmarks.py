"""The benchmarks' own logic at a tiny size: every row complete, no plan beyond the LP bound, and
a plain CP-SAT baseline that keeps every hard rule it models, so its figures compare fairly."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from unittest import mock

import pandas as pd
import pytest
from builders import package, provider, scenario
from test_property import pair_table

from allocator.allocate import allocate
from allocator.goals import PairTable
from allocator.io.scenario_files import load_scenario
from allocator.lp_bound import LpRelaxation
from allocator.policy import Goal
from allocator.result import Strategy
from allocator.solve import SolveParams
from allocator.validate import check_allocation

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY = 200
TIME_LIMIT_S = 1.0
OURS_ONLY = {
    "hours_level_value_h",
    "hours_level_bound_h",
    "hours_level_gap_pct",
    "cost_level_value_gbp",
    "cost_level_bound_gbp",
    "cost_level_gap_pct",
    "levels_gap_pct",
    "cost_audit_gap_pct",
    "cost_audit_s",
    "cost_audit_timed_out",
}


@pytest.fixture(scope="module")
def benchmarks() -> Iterator[tuple[ModuleType, ModuleType]]:
    """(scale_curve, plain_cpsat): the benchmarks are scripts beside the package, not installed."""
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(REPO_ROOT))
        yield (
            importlib.import_module("benchmarks.scale_curve"),
            importlib.import_module("benchmarks.plain_cpsat"),
        )


@pytest.fixture(scope="module")
def tiny_county(tmp_path_factory: pytest.TempPathFactory, benchmarks) -> Path:
    scale_curve, _ = benchmarks
    folder, _ = scale_curve.county_scenario(TINY, 1, tmp_path_factory.mktemp("county"))
    return folder


def test_a_tiny_scale_curve_has_complete_rows_and_no_plan_beyond_the_lp_bound(
    benchmarks, tmp_path: Path
) -> None:
    scale_curve, _ = benchmarks
    rows = scale_curve.measure_size(TINY, TIME_LIMIT_S, 1, tmp_path, audit_limit_s=30.0)
    assert [row.solver for row in rows] == list(scale_curve.SOLVERS)
    for row in rows:
        values = vars(row)
        expected = set(values) - {"error"} - (set() if row.solver == "ours" else OURS_ONLY)
        assert row.error is None, row.error
        assert all(values[name] is not None for name in expected), values
        assert row.packages == TINY and row.violations == 0
        assert row.gap_to_lp_pct >= 0 and row.placed_hours <= row.lp_bound_hours
        assert row.hours_level_gap_pct is None or row.hours_level_gap_pct >= 0
        assert row.cost_audit_gap_pct is None or row.cost_audit_gap_pct >= 0

    out = tmp_path / "curve.csv"
    record = {"date": "today", "machine": "this one", "command": "test", "ortools": "x"}
    scale_curve.write_csv(rows, record, out)
    scale_curve.write_csv(rows, record, out)  # a size run again replaces its rows
    smaller = [dataclasses.replace(row, packages=TINY - 1) for row in rows]
    scale_curve.write_csv(smaller, record, out)  # another size's rows are added
    table = pd.read_csv(out)
    assert list(table["packages"]) == [TINY - 1] * 3 + [TINY] * 3
    assert list(table["solver"]) == list(scale_curve.SOLVERS) * 2
    assert set(record) <= set(table.columns)


def test_the_cost_audit_bounds_the_plan_at_least_as_tightly_as_the_solve_could(
    benchmarks,
) -> None:
    # The audit holds each earlier level at what the final plan achieves, which later levels'
    # moves can only have improved on the values the solve held: a smaller set of plans, so a
    # bound no lower than the same relaxation with the solve's held values, and never above
    # the plan's cost.
    run_one = importlib.import_module("benchmarks.run_one")
    scenario = load_scenario(REPO_ROOT / "data" / "examples" / "small_council")
    allocation = allocate(scenario, Strategy.OPTIMISE, SolveParams(time_limit_s=5.0))
    audit = run_one.cost_audit(scenario, allocation.assignment, 30.0)
    pairs, rules = pair_table(scenario)
    as_held = LpRelaxation(pairs, rules)
    for level in allocation.levels[: scenario.policy.goals.index(Goal.COST)]:
        as_held.hold(level.goal, level.value)
    [cost] = [level for level in allocation.levels if level.goal is Goal.COST]
    held_bound = as_held.solve(Goal.COST, 30.0, nudge=False).integer_bound(maximise=False)

    assert not audit["cost_audit_timed_out"]
    assert audit["cost_audit_value_pence"] <= cost.value
    assert held_bound <= audit["cost_audit_bound_pence"] <= audit["cost_audit_value_pence"]

    # Fairness, not linear, is left out of the relaxation: ranked before cost, it changes nothing.
    goals = [g for g in scenario.policy.goals if g is not Goal.FAIRNESS]
    goals.insert(goals.index(Goal.COST), Goal.FAIRNESS)
    fair_first = scenario.model_copy(
        update={"policy": scenario.policy.model_copy(update={"goals": tuple(goals)})}
    )
    assert run_one.cost_audit(fair_first, allocation.assignment, 30.0) == audit | {
        "cost_audit_s": mock.ANY
    }


def test_a_run_that_dies_is_reported_with_its_error(benchmarks, tmp_path: Path) -> None:
    scale_curve, _ = benchmarks
    with pytest.raises(scale_curve.RunFailed, match="exit 1: .*not a scenario folder"):
        scale_curve.run_solver(tmp_path / "missing", "cascade", TIME_LIMIT_S, 60)


def test_the_plain_cpsat_baseline_keeps_every_hard_rule(benchmarks, tiny_county: Path) -> None:
    """On the generated county (pins, hour caps) and on Bury's capped lot (its rotations, which
    the baseline leaves out, removed from the policy)."""
    _, plain_cpsat = benchmarks
    bury = load_scenario(REPO_ROOT / "data" / "examples" / "bury")
    policy = bury.policy.model_copy(update={"rotations": ()})
    no_rotations = bury.model_copy(update={"policy": policy})
    for book in (load_scenario(tiny_county), no_rotations):
        outcome = plain_cpsat.solve_plain(book, TIME_LIMIT_S)
        assert outcome.status in ("OPTIMAL", "FEASIBLE")
        assert outcome.assignment, "places something"
        assert check_allocation(book, outcome.assignment) == []
        placed = sum(book.package_by_id[k].carer_minutes_per_week for k in outcome.assignment)
        assert placed == outcome.objective_minutes <= outcome.bound_minutes


def test_the_mip_reference_starts_from_our_plan_and_bounds_it(benchmarks, tmp_path: Path) -> None:
    """The small council's hours level: HiGHS never reports less than the optimiser (it starts
    from its plan), its bound is at least its plan and at most the LP's, and a second level's
    row joins the first in the CSV while a rerun replaces its own."""
    mip_reference = importlib.import_module("benchmarks.mip_reference")  # on the fixture's path
    row = mip_reference.measure("small_council", Goal.HOURS_PLACED, 2.0, 5.0)

    assert row["held"].startswith("existing_care 217; urgent_hours ")
    assert row["ours"] <= row["mip_value"] <= row["mip_bound"] <= row["ours_bound"]
    assert row["ours_below_mip_pct"] >= 0

    out = tmp_path / "mip.csv"
    mip_reference.write_row(row, out)
    mip_reference.write_row(row | {"level": "continuity"}, out)
    mip_reference.write_row(row | {"ours": 0}, out)
    table = pd.read_csv(out)
    assert sorted(table["level"]) == ["continuity", "hours_placed"]
    assert table.loc[table["level"] == "hours_placed", "ours"].tolist() == [0]


def test_the_mip_reference_reads_a_minimised_level_in_its_own_sense(benchmarks) -> None:
    """The small council's cascade level (fewer steps down the cascade is better): HiGHS's plan
    is at most ours, its bound at most its plan and at least the LP's, and every percentage
    counts in the level's favour."""
    mip_reference = importlib.import_module("benchmarks.mip_reference")  # on the fixture's path
    row = mip_reference.measure("small_council", Goal.CASCADE, 2.0, 5.0)

    ours, value, bound, lp = row["ours"], row["mip_value"], row["mip_bound"], row["ours_bound"]
    assert ours >= value >= bound >= lp
    assert row["ours_below_mip_pct"] == round(100 * (ours - value) / value, 3)
    assert row["mip_gap_pct"] == round(100 * (value - bound) / value, 3)
    assert row["lp_over_mip_bound_pct"] == round(100 * (bound - lp) / bound, 3)


def test_book_parts_are_the_providers_a_chain_of_eligible_pairs_links(benchmarks) -> None:
    """Two zones served apart are two parts, and a package no provider may take is in neither;
    one provider serving both zones joins them, and gives that package a provider."""
    book_parts = importlib.import_module("benchmarks.book_parts")  # on the fixture's path
    packages = [
        package("n1"),
        package("n2"),
        package("s1", zone="South"),
        package("x", excluded=["A"]),
    ]
    apart = [provider("A"), provider("B", zones=["South"])]
    joined = [*apart, provider("C", zones=["North", "South"])]
    split, whole = (
        book_parts.book_parts(name, PairTable.of_scenario(scenario(providers, packages)))
        for name, providers in (("apart", apart), ("joined", joined))
    )
    assert (split.parts, split.largest_packages, split.largest_providers) == (2, 2, 1)
    assert (split.packages, split.providers, split.no_provider) == (4, 2, 1)
    assert (whole.parts, whole.largest_packages, whole.largest_providers) == (1, 4, 3)
    assert whole.no_provider == 0


def test_the_real_framework_examples_are_each_solved_both_ways_and_checked(
    benchmarks, tmp_path: Path
) -> None:
    """Every example, optimiser and cascade, with its record and every hard rule kept; the
    optimiser, starting from the cascade's plan, never places fewer urgent hours."""
    real_frameworks = importlib.import_module("benchmarks.real_frameworks")  # fixture's path
    out = tmp_path / "real.csv"

    assert real_frameworks.main(["--time-limit", "1", "--out", str(out)]) == 0

    rows = pd.read_csv(out)
    assert list(zip(rows["example"], rows["strategy"], strict=True)) == [
        (example, strategy)
        for example in real_frameworks.EXAMPLES
        for strategy in ("optimise", "cascade")
    ]
    assert (rows["violations"] == 0).all()
    command = f"python -m benchmarks.real_frameworks --time-limit 1 --out {out}"
    assert (rows["command"] == command).all()
    for _, pair in rows.groupby("example"):
        optimised, cascade = pair.set_index("strategy").loc[["optimise", "cascade"]].itertuples()
        assert optimised.urgent_placed_hours >= cascade.urgent_placed_hours
        assert optimised.hours_level_gap_pct >= 0 and pd.isna(cascade.hours_level_gap_pct)


def test_the_hint_abort_benchmark_counts_both_ways_solves(benchmarks, tmp_path: Path) -> None:
    """Both ways solve, with limits drawn around where presolve ends, and a search stopped by
    `solve_within` never aborts (CP-SAT's own limit may, by chance: its count is not fixed)."""
    hint_abort = importlib.import_module("benchmarks.hint_abort")  # on the fixture's path
    out = tmp_path / "aborts.csv"

    assert hint_abort.main(["--seconds", "2", "--workers", "2", "--out", str(out)]) == 0

    rows = pd.read_csv(out).set_index("way")
    assert list(rows.index) == list(hint_abort.WAYS)
    assert (rows["solves"] > 0).all()
    assert rows.loc["solve_within", "aborts"] == 0
    assert (rows["limit_low_s"] < rows["limit_high_s"]).all()
    assert rows["command"].iloc[0].startswith("python -m benchmarks.hint_abort")
