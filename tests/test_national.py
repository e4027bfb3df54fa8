"""A national study: every council's book solved side by side and tabled, with the total; a
broken council rejected before any solve."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from allocator.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "examples" / "small_council"


def _councils(tmp_path: Path) -> Path:
    folder = tmp_path / "england"
    for name in ("E0001", "E0002"):
        shutil.copytree(EXAMPLE, folder / name)
    return folder


def test_every_council_is_solved_and_totalled(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = main(["national", str(_councils(tmp_path)), "--out", str(out), "--time-limit", "2"])
    assert code == 0
    table = pd.read_csv(out / "councils.csv")
    assert list(table["scenario"]) == ["E0001", "E0002", "all councils"]
    assert (table["status"] == "solved").all()
    councils = table.iloc[:2]
    assert table.iloc[2]["placed_hours"] == pytest.approx(councils["placed_hours"].sum())
    assert (out / "unmet_hours.png").stat().st_size > 0


def test_a_broken_council_is_named_before_any_solve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _councils(tmp_path)
    packages = folder / "E0002" / "packages.csv"
    packages.write_text(packages.read_text().replace("S63 6DZ", "NOT A POSTCODE", 1))
    out = tmp_path / "out"
    assert main(["national", str(folder), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "E0002" in error and "packages.csv" in error and "postcode" in error
    assert not out.exists()
