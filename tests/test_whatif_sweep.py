"""Running a what-if study: the base and every variant solved, locally or on a real Dask
LocalCluster with the same results, a failing variant reported while the others complete, and the
comparison naming who each scenario affects."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from builders import PARAMS, package, provider, scenario

from allocator.cli import main
from allocator.scenario import Scenario
from allocator.whatif import Study, expand
from allocator.whatif.compare import compare
from allocator.whatif.sweep import BASE, Outcome, run_study, solve_variant

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "examples" / "small_council"


def _book() -> Scenario:
    """A (rank 1) and B (rank 2) in North, an hour of mornings each; C in South."""
    return scenario(
        [
            provider("A", rank=1, morning=60),
            provider("B", rank=2, morning=60),
            provider("C", zones=("South",), morning=60),
        ],
        [
            package("inA", current="A"),
            package("new1"),
            package("new2"),
            package("south", zone="South"),
        ],
    )


def _study(*scenarios: dict) -> Study:
    return Study.model_validate({"name": "Test", "seed": 1, "scenario": list(scenarios)})


STUDY = _study(
    {"name": "A exits", "remove_providers": ["A"]},
    {
        "name": "Morning capacity",
        "capacity": [{"scale": 1.0}],
        "sweep": {"change": "capacity", "values": [0.0, 2.0]},
    },
)


def test_a_study_solves_the_base_and_every_variant_in_order() -> None:
    outcomes = run_study(_book(), expand(STUDY), PARAMS, workers=2)
    assert [o.name for o in outcomes] == [
        BASE,
        "A exits",
        "Morning capacity (capacity x0.00)",
        "Morning capacity (capacity x2.00)",
    ]
    assert all(o.ok for o in outcomes)
    placed = {o.name: o.summary["packages_placed"] for o in outcomes}
    assert placed == {
        BASE: 3,  # inA stays with A, a newcomer takes B, south takes C
        "A exits": 2,  # inA, displaced, competes for B's hour; south still takes C
        "Morning capacity (capacity x0.00)": 0,
        "Morning capacity (capacity x2.00)": 4,
    }


def test_the_comparison_names_everyone_a_scenario_affects() -> None:
    comparison = compare(run_study(_book(), expand(STUDY), PARAMS, workers=1))
    exits = comparison.affected[comparison.affected["scenario"] == "A exits"]
    assert dict(zip(exits["package_id"], exits["change"], strict=True))["inA"] == "displaced"
    row = comparison.scenarios.set_index("scenario").loc["Morning capacity (capacity x0.00)"]
    assert row["placed_hours_change"] == -3.0
    assert row["people_affected"] == 3


def test_a_dask_local_cluster_gives_the_same_results_as_the_local_pool() -> None:
    local = compare(run_study(_book(), expand(STUDY), PARAMS, workers=2))
    dask = compare(run_study(_book(), expand(STUDY), PARAMS, workers=2, dask="local"))
    columns = ["scenario", "status", "placed_hours", "unmet_hours", "cost_gbp_per_week"]
    pd.testing.assert_frame_equal(local.scenarios[columns], dask.scenarios[columns])
    pd.testing.assert_frame_equal(local.affected, dask.affected)


def test_a_failing_variant_is_reported_and_the_others_complete() -> None:
    """A provider added in a zone the policy does not have: the book is invalid (the reader
    would have refused the study; here the variant reaches the solver unchecked)."""
    broken = _study(
        {"name": "fine", "capacity": [{"scale": 2.0}]},
        {
            "name": "broken",
            "add_providers": [
                provider("X", zones=("Nowhere",)).model_dump(mode="json"),
            ],
        },
    )
    outcomes = run_study(_book(), expand(broken), PARAMS, workers=2)
    by_name = {o.name: o for o in outcomes}
    assert by_name["fine"].ok
    assert not by_name["broken"].ok and "Nowhere" in by_name["broken"].error
    row = compare(outcomes).scenarios.set_index("scenario").loc["broken"]
    assert row["status"] == "failed" and "Nowhere" in row["error"]


def test_solving_a_variant_never_raises() -> None:
    outcome = solve_variant(
        _book(), expand(_study({"name": "x", "remove_providers": ["A"]}))[0], PARAMS
    )
    assert isinstance(outcome, Outcome) and outcome.ok


def test_the_command_writes_the_comparison_and_a_self_contained_page(tmp_path: Path) -> None:
    study = tmp_path / "study.toml"
    study.write_text(
        'name = "Two questions"\n'
        '[[scenario]]\nname = "T1-CEN-1 exits"\nremove_providers = ["T1-CEN-1"]\n'
        '[[scenario]]\nname = "Mornings"\ncapacity = [{ scale = 1.0, bands = ["morning"] }]\n'
        'sweep = { change = "capacity", values = [0.8, 1.2] }\n'
    )
    out = tmp_path / "out"
    code = main(
        ["whatif", str(study), "--base", str(EXAMPLE), "--out", str(out), "--time-limit", "2"]
    )
    assert code == 0
    table = pd.read_csv(out / "comparison.csv")
    assert list(table["scenario"]) == [
        "base",
        "T1-CEN-1 exits",
        "Mornings (capacity x0.80)",
        "Mornings (capacity x1.20)",
    ]
    assert (table["status"] == "solved").all()
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2
    assert json.loads((out / "comparison.json").read_text())["study"] == "Two questions"


def test_a_study_with_mistakes_is_refused_before_any_solve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = tmp_path / "study.toml"
    study.write_text(
        'name = "Typos"\n'
        '[[scenario]]\nname = "gone"\nremove_providers = ["NOBODY"]\n'
        '[[scenario]]\nname = "bands"\ncapacity = [{ scale = 0.5, bands = ["brunch"] }]\n'
    )
    out = tmp_path / "out"
    assert main(["whatif", str(study), "--base", str(EXAMPLE), "--out", str(out)]) == 2
    errors = capsys.readouterr().err
    assert "NOBODY" in errors and "brunch" in errors
    assert not out.exists()
