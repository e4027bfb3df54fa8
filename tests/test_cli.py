"""The `allocator` command, run in-process, and the all-or-nothing writing of result files.

The optimise-and-compare run of the shipped example takes a few seconds, so it runs once per module
(its output captured with `redirect_stdout`, as `capsys` is per test); the cheaper cascade runs and
the failure cases use `capsys`.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest
from rich.errors import MarkupError

from allocator import cli
from allocator.allocate import allocate
from allocator.io import folders, result_files
from allocator.io.scenario_files import load_scenario
from allocator.kpis import compute_kpis
from allocator.model import Band
from allocator.result import Strategy
from allocator.scenario import Scenario
from allocator.solve import SolveParams
from allocator.validate import check_allocation

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "examples" / "small_council"
POLICY_LABEL = "Small council home care framework (generated) v2026.1"
ZONES = ("North", "Central", "South")
FILES = (
    "allocation.json",
    "allocations.csv",
    "hours_by_zone_band.csv",
    "kpis.json",
    "unplaced.csv",
    "utilisation.csv",
)


def squash(text: str) -> str:
    """Text without whitespace, so phrases can be found however rich wrapped the lines."""
    return "".join(text.split())


def shows(output: str, phrase: str) -> bool:
    return squash(phrase) in squash(output)


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def placements_of(out: Path) -> dict[str, str]:
    frame = read_csv(out / "allocations.csv")
    return dict(zip(frame["package_id"], frame["provider_id"], strict=True))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    out: Path


@pytest.fixture(scope="module")
def example() -> Scenario:
    return load_scenario(EXAMPLE)


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> Run:
    out = tmp_path_factory.mktemp("cli") / "out"
    stdout, stderr = io.StringIO(), io.StringIO()
    args = ["allocate", str(EXAMPLE), "--out", str(out), "--compare", "--time-limit", "5"]
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cli.main(args)
    return Run(code, stdout.getvalue(), stderr.getvalue(), out)


# -- allocate --compare ----------------------------------------------------------------------


def test_allocate_compare_succeeds_and_writes_every_file(compared: Run) -> None:
    assert compared.code == 0
    assert compared.stderr == ""
    assert sorted(p.name for p in compared.out.iterdir()) == sorted((*FILES, "comparison.csv"))
    assert not [p.name for p in compared.out.parent.iterdir() if p.name != "out"]


def test_allocate_prints_the_summary(compared: Run, example: Scenario) -> None:
    placed = placements_of(compared.out)
    placed_hours = sum(example.package_by_id[k].carer_minutes_per_week for k in placed) / 60
    demand_hours = sum(k.carer_minutes_per_week for k in example.packages) / 60
    out = compared.stdout
    assert shows(out, f"optimise under {POLICY_LABEL}: placed {len(placed)} of 300 packages")
    assert shows(out, f"{placed_hours:,.1f} of {demand_hours:,.1f} carer hours a week")
    assert shows(out, f"({demand_hours - placed_hours:,.1f} unmet)")
    assert shows(out, "Unmet / demand carer hours a week, by zone and band")
    for zone in ZONES:
        assert shows(out, zone)
    assert shows(out, "Goal levels, in the policy's priority order")
    levels = squash(out).split(squash("Goal levels"), 1)[1]
    position = 0
    for goal in example.policy.goals:  # each goal's row, in the policy's order
        position = levels.index(goal.value, position) + len(goal.value)
    assert shows(out, "optimise against cascade")
    assert shows(out, "placed carer hours / week")
    assert shows(out, f"Wrote 7 files to {compared.out}")


def test_every_package_is_placed_or_unplaced_exactly_once(compared: Run, example: Scenario) -> None:
    placed = read_csv(compared.out / "allocations.csv")["package_id"].tolist()
    unplaced = read_csv(compared.out / "unplaced.csv")["package_id"].tolist()
    counts = Counter(placed + unplaced)
    assert set(counts) == {k.id for k in example.packages}
    assert set(counts.values()) == {1}


def test_written_allocations_pass_the_independent_validator(
    compared: Run, example: Scenario
) -> None:
    placements = placements_of(compared.out)
    assert len(placements) > 0
    assert check_allocation(example, placements) == []


def test_allocations_csv_rows_match_the_scenario(compared: Run, example: Scenario) -> None:
    frame = read_csv(compared.out / "allocations.csv")
    assert list(frame.columns[:4]) == ["package_id", "provider_id", "zone", "carer_minutes"]
    for row in frame.to_dict("records"):
        package = example.package_by_id[row["package_id"]]
        assert row["zone"] == package.zone
        assert int(row["carer_minutes"]) == package.carer_minutes_per_week
        assert row["kept_current"] == str(row["provider_id"] == package.current_provider)
    pinned = {k.id: k.current_provider for k in example.packages if k.pinned}
    assert {k: v for k, v in placements_of(compared.out).items() if k in pinned} == pinned


def test_kpis_and_allocation_json_agree_with_the_csvs(compared: Run, example: Scenario) -> None:
    placed = placements_of(compared.out)
    unplaced = read_csv(compared.out / "unplaced.csv")["package_id"].tolist()
    kpis = json.loads((compared.out / "kpis.json").read_text("utf-8"))
    assert kpis["strategy"] == "optimise"
    assert kpis["kpis"]["packages"] == 300
    assert kpis["kpis"]["packages_placed"] == len(placed)
    assert kpis["kpis"]["packages_unplaced"] == len(unplaced)
    assert [level["goal"] for level in kpis["levels"]] == [g.value for g in example.policy.goals]

    document = json.loads((compared.out / "allocation.json").read_text("utf-8"))
    assert (document["strategy"], document["policy"]) == ("optimise", POLICY_LABEL)
    assert {p["package_id"]: p["provider_id"] for p in document["placements"]} == placed
    assert [u["package_id"] for u in document["unplaced"]] == unplaced
    assert document["kpis"] == kpis["kpis"] and document["levels"] == kpis["levels"]
    baseline = document["baseline"]
    assert (baseline["strategy"], baseline["policy"], baseline["levels"]) == (
        "cascade",
        POLICY_LABEL,
        [],
    )
    cascade = {p["package_id"]: p["provider_id"] for p in baseline["placements"]}
    assert len(cascade) + len(baseline["unplaced"]) == 300
    assert check_allocation(example, cascade) == []


def test_comparison_csv_has_both_strategies(compared: Run) -> None:
    frame = pd.read_csv(compared.out / "comparison.csv", index_col="measure")
    assert list(frame.columns) == ["optimise", "cascade"]
    document = json.loads((compared.out / "allocation.json").read_text("utf-8"))
    for measure in ("packages", "packages_placed", "placed_hours", "unmet_hours"):
        assert frame.loc[measure, "optimise"] == pytest.approx(document["kpis"][measure])
        assert frame.loc[measure, "cascade"] == pytest.approx(document["baseline"]["kpis"][measure])
    assert frame.loc["packages_placed", "cascade"] == len(document["baseline"]["placements"])


def test_hours_by_zone_band_add_up(compared: Run, example: Scenario) -> None:
    placed = placements_of(compared.out)
    demand: Counter[tuple[str, str]] = Counter()
    met: Counter[tuple[str, str]] = Counter()
    for package in example.packages:
        for band, minutes in package.carer_minutes_by_band().items():
            demand[package.zone, band.value] += minutes
            if package.id in placed:
                met[package.zone, band.value] += minutes
    frame = pd.read_csv(compared.out / "hours_by_zone_band.csv")
    assert list(frame.columns) == ["zone", "band", "demand_hours", "placed_hours", "unmet_hours"]
    rows = {(r.zone, r.band): r for r in frame.itertuples()}
    assert {key for key, minutes in demand.items() if minutes > 0} <= set(rows)
    for key, row in rows.items():
        assert row.demand_hours == pytest.approx(demand[key] / 60, abs=0.005)
        assert row.placed_hours == pytest.approx(met[key] / 60, abs=0.005)
        assert row.unmet_hours == pytest.approx((demand[key] - met[key]) / 60, abs=0.005)


def test_utilisation_matches_the_placements(compared: Run, example: Scenario) -> None:
    load: Counter[tuple[str, str]] = Counter()
    for package_id, provider_id in placements_of(compared.out).items():
        for band, minutes in example.package_by_id[package_id].carer_minutes_by_band().items():
            load[provider_id, band.value] += minutes
    frame = pd.read_csv(compared.out / "utilisation.csv")
    assert list(frame.columns) == [
        "provider_id",
        "band",
        "capacity_hours",
        "placed_hours",
        "utilisation",
    ]
    rows = {(r.provider_id, r.band): r for r in frame.itertuples()}
    assert set(load) <= set(rows)
    for (provider_id, band), row in rows.items():
        capacity = example.provider_by_id[provider_id].capacity(Band(band))
        assert row.capacity_hours == pytest.approx(capacity / 60, abs=5e-5)
        assert row.placed_hours == pytest.approx(load[provider_id, band] / 60, abs=5e-5)
        assert row.placed_hours <= row.capacity_hours + 1e-9


# -- allocate --strategy cascade -------------------------------------------------------------


def test_cascade_strategy(
    tmp_path: Path, example: Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cascade"
    code = cli.main(["allocate", str(EXAMPLE), "--out", str(out), "--strategy", "cascade"])
    captured = capsys.readouterr()
    assert (code, captured.err) == (0, "")
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    placed = placements_of(out)
    assert shows(captured.out, f"cascade under {POLICY_LABEL}: placed {len(placed)} of 300")
    for zone in ZONES:
        assert shows(captured.out, zone)
    assert not shows(captured.out, "Goal levels")
    assert not shows(captured.out, " against ")
    assert shows(captured.out, f"Wrote 6 files to {out}")
    assert json.loads((out / "kpis.json").read_text("utf-8"))["strategy"] == "cascade"
    unplaced = read_csv(out / "unplaced.csv")["package_id"].tolist()
    assert sorted([*placed, *unplaced]) == sorted(k.id for k in example.packages)
    assert check_allocation(example, placed) == []


def test_a_json_scenario_runs_too(
    tmp_path: Path, example: Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(example.model_dump_json(), encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["allocate", str(path), "--out", str(out), "--strategy", "cascade"]) == 0
    reference = tmp_path / "reference"
    assert (
        cli.main(["allocate", str(EXAMPLE), "--out", str(reference), "--strategy", "cascade"]) == 0
    )
    capsys.readouterr()
    assert placements_of(out) == placements_of(reference)


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["allocate", str(EXAMPLE)])
    assert exited.value.code == 2
    assert "--out" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        cli.main(["allocate", str(EXAMPLE), "--out", "x", "--strategy", "random"])
    assert exited.value.code == 2


# -- a bad scenario --------------------------------------------------------------------------


def _edit_csv(path: Path, row_id: str, **cells: str) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns, rows = list(reader.fieldnames or []), list(reader)
    for row in rows:
        if row["id"] == row_id:
            row.update(cells)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """The example with errors in both CSVs and the policy."""
    folder = tmp_path / "broken"
    shutil.copytree(EXAMPLE, folder)
    _edit_csv(folder / "packages.csv", "PKG-0003", referral_date="2026-13-01")
    _edit_csv(folder / "packages.csv", "PKG-0004", visits="daily brunch 30")
    _edit_csv(folder / "providers.csv", "T2-04", max_weekly_hours="lots")
    policy = folder / "policy.toml"
    text = policy.read_text("utf-8")
    policy.write_text(text.replace('same_gender = "soft"', 'same_gender = "often"'), "utf-8")
    return folder


BROKEN_ERRORS = (
    "packages.csv, row 3, field 'referral_date': Input should be a valid date",
    "packages.csv, row 4, field 'visits': unknown time band 'brunch' in 'daily brunch 30'",
    "policy.toml, field 'hard_filters.same_gender': Input should be 'hard', 'soft' or 'off' "
    "(got 'often')",
    "providers.csv, row 13, field 'max_weekly_hours': Input should be a valid number",
)


def test_a_bad_scenario_exits_2_lists_every_error_and_writes_nothing(
    tmp_path: Path, broken: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results" / "deeper" / "out"
    code = cli.main(["allocate", str(broken), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert shows(captured.err, "scenario rejected with 4 errors:")
    for error in BROKEN_ERRORS:
        assert shows(captured.err, error), error
    assert not (tmp_path / "results").exists()


def test_a_bad_scenario_leaves_old_results_untouched(
    tmp_path: Path, broken: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results" / "out"
    out.mkdir(parents=True)
    (out / "allocations.csv").write_text("package_id,provider_id\nOLD-1,P1\n", "utf-8")
    (out / "notes.txt").write_text("kept\n", "utf-8")
    before = snapshot(out)
    assert cli.main(["allocate", str(broken), "--out", str(out)]) == 2
    assert shows(capsys.readouterr().err, BROKEN_ERRORS[1])
    assert snapshot(out) == before
    assert [p.name for p in out.parent.iterdir()] == ["out"]


def test_a_missing_scenario_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-scenario"
    assert cli.main(["allocate", str(missing), "--out", str(tmp_path / "out")]) == 2
    assert shows(capsys.readouterr().err, f"{missing}: not a scenario folder or .json file")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("visits", ["daily morning 30 [am]", "daily morning 30 [/b]"])
def test_error_text_is_printed_verbatim(
    tmp_path: Path, visits: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "s"
    shutil.copytree(EXAMPLE, folder)
    _edit_csv(folder / "packages.csv", "PKG-0004", visits=visits)
    try:
        code = cli.main(["allocate", str(folder), "--out", str(tmp_path / "out")])
    except MarkupError:
        code = None
    assert code == 2
    assert shows(capsys.readouterr().err, f"cannot read call '{visits}'")


# -- result files are never half-written -----------------------------------------------------


@pytest.fixture(scope="module")
def cascade_result(example: Scenario) -> tuple:
    allocation = allocate(example, Strategy.CASCADE, SolveParams(time_limit_s=5))
    return allocation, compute_kpis(example, allocation)


@pytest.fixture
def old_results(tmp_path: Path) -> Path:
    out = tmp_path / "results" / "out"
    out.mkdir(parents=True)
    (out / "allocations.csv").write_text("package_id,provider_id\nOLD-1,P1\n", "utf-8")
    (out / "kpis.json").write_text('{"old": true}\n', "utf-8")
    return out


def test_write_results_replaces_the_folder_whole(old_results: Path, cascade_result: tuple) -> None:
    allocation, kpis = cascade_result
    written = result_files.write_results(old_results, allocation, kpis)
    assert [p.name for p in written] == sorted(FILES)
    assert sorted(p.name for p in old_results.iterdir()) == sorted(FILES)
    assert "OLD-1" not in (old_results / "allocations.csv").read_text("utf-8")
    assert [p.name for p in old_results.parent.iterdir()] == ["out"]


def _fail_on_call(number: int, real: Callable[..., Any]) -> tuple[Callable[..., Any], list]:
    """`real`, except that its `number`-th call raises OSError; and the list of calls made."""
    calls: list[tuple[Any, ...]] = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) == number:
            raise OSError("disk full")
        return real(*args, **kwargs)

    return failing, calls


@pytest.mark.parametrize(
    ("module", "name", "number"),
    [
        (result_files, "_records", 2),  # after allocations.csv is written, before unplaced.csv
        (result_files, "comparison_table", 1),  # after the four CSVs
        (result_files, "allocation_document", 2),  # writing the baseline's part of allocation.json
        (folders, "_swap_into_place", 1),  # everything staged, nothing moved yet
    ],
)
def test_a_failure_part_way_leaves_old_results_intact(
    monkeypatch: pytest.MonkeyPatch,
    old_results: Path,
    cascade_result: tuple,
    module: ModuleType,
    name: str,
    number: int,
) -> None:
    allocation, kpis = cascade_result
    before = snapshot(old_results)
    failing, calls = _fail_on_call(number, getattr(module, name))
    monkeypatch.setattr(module, name, failing)
    with pytest.raises(OSError, match="disk full"):
        result_files.write_results(old_results, allocation, kpis, baseline=(allocation, kpis))
    assert len(calls) == number
    assert snapshot(old_results) == before
    assert [p.name for p in old_results.parent.iterdir()] == ["out"]


def test_a_failure_with_no_old_results_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cascade_result: tuple
) -> None:
    allocation, kpis = cascade_result
    failing, _ = _fail_on_call(1, result_files.allocation_document)
    monkeypatch.setattr(result_files, "allocation_document", failing)
    out = tmp_path / "results" / "out"
    with pytest.raises(OSError, match="disk full"):
        result_files.write_results(out, allocation, kpis)
    assert list((tmp_path / "results").iterdir()) == []


def test_a_failing_cli_run_leaves_old_results_intact(
    monkeypatch: pytest.MonkeyPatch, old_results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(old_results)
    failing, _ = _fail_on_call(2, result_files._records)  # allocations.csv written, then fail
    monkeypatch.setattr(result_files, "_records", failing)
    with pytest.raises(OSError, match="disk full"):
        cli.main(["allocate", str(EXAMPLE), "--out", str(old_results), "--strategy", "cascade"])
    capsys.readouterr()
    assert snapshot(old_results) == before
    assert [p.name for p in old_results.parent.iterdir()] == ["out"]


def test_a_failure_while_swapping_leaves_old_results_in_place(
    monkeypatch: pytest.MonkeyPatch, old_results: Path, cascade_result: tuple
) -> None:
    allocation, kpis = cascade_result
    before = snapshot(old_results)
    real_replace = Path.replace

    def replace(self: Path, target: Path) -> Path:  # the staged folder cannot be moved in
        if (
            self.parent == old_results.parent
            and self.name.startswith(".out.")
            and (".old." not in self.name)
        ):
            raise OSError("device busy")
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", replace)
    with pytest.raises(OSError, match="device busy"):
        result_files.write_results(old_results, allocation, kpis)
    monkeypatch.undo()
    assert old_results.is_dir() and snapshot(old_results) == before
    assert [p.name for p in old_results.parent.iterdir()] == ["out"]
