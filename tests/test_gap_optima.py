"""The public-optima benchmark end to end on a folder laid out as the shared one: a multi-problem
file read problem by problem, both senses, each row against its brute-forced optimum; a best-known
value that no assignment reaches is reported as wrong and fails the command."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
from test_gap import brute_force

from allocator.gap_instance import parse_gap

REPO_ROOT = Path(__file__).resolve().parents[1]
COLUMNS = "file,instance_index,name,sense,m,n,best_known,proven_optimal"
PROBLEMS = """2
2 3
4 2 7
3 5 1
2 3 4
3 2 2
5 6
2 2
1 9
8 2
3 4
2 3
4 4
"""
"""Two problems in OR-Library's multi-problem layout: 2 agents × 3 jobs, then 2 × 2."""


@pytest.fixture(scope="module")
def gap_optima() -> ModuleType:
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(REPO_ROOT))
        return importlib.import_module("benchmarks.gap_optima")


def shared_layout(tmp_path: Path, best_known: dict[tuple[int, str], int]) -> Path:
    """`instances/orlib/gapx.txt` and, beside `instances/`, a best_known.csv with these values
    per (problem, sense); returns the instances folder."""
    instances = tmp_path / "instances"
    (instances / "orlib").mkdir(parents=True)
    (instances / "orlib" / "gapx.txt").write_text(PROBLEMS)
    rows = [
        f"orlib/gapx.txt,{k},gapx-{k},{sense},2,{3 if k == 1 else 2},{value},true"
        for (k, sense), value in best_known.items()
    ]
    (tmp_path / "best_known.csv").write_text("\n".join([COLUMNS, *rows]) + "\n")
    return instances


def optima() -> dict[tuple[int, str], int]:
    """Each problem's optimum in each sense, over every assignment."""
    return {
        (k, sense): brute_force(problem, sense)
        for k, problem in enumerate(parse_gap(PROBLEMS, "gapx"), start=1)
        for sense in ("min", "max")
    }


def run(gap_optima: ModuleType, instances: Path, out: Path) -> int:
    return gap_optima.main(["--instances", str(instances), "--time-limit", "5", "--out", str(out)])


def test_every_problem_and_sense_is_solved_to_its_optimum(gap_optima, tmp_path: Path) -> None:
    known = optima()
    out = tmp_path / "rows.csv"

    assert run(gap_optima, shared_layout(tmp_path, known), out) == 0

    rows = pd.read_csv(out, keep_default_na=False)
    assert len(rows) == 4
    assert set(rows["family"]) == {"orlib"}
    for row in rows.itertuples():
        problem = int(row.name.removeprefix("gapx-"))
        assert row.value == known[problem, row.sense] == row.best_known
        assert row.gap_pct == 0 and row.optimal and row.problems == ""


def test_a_best_known_value_no_assignment_reaches_fails_the_command(
    gap_optima, tmp_path: Path
) -> None:
    known = optima()
    impossible = known[1, "min"] - 1  # below the optimum: the proved bound excludes it
    instances = shared_layout(tmp_path, {(1, "min"): impossible, (2, "max"): known[2, "max"]})
    out = tmp_path / "rows.csv"

    assert run(gap_optima, instances, out) == 1

    rows = pd.read_csv(out, keep_default_na=False).set_index("name")
    assert rows.loc["gapx-1", "problems"] == (
        f"bound {known[1, 'min']} excludes the best-known {impossible}"
    )
    assert rows.loc["gapx-1", "gap_pct"] == pytest.approx(100 / impossible)
    assert rows.loc["gapx-2", "problems"] == ""
