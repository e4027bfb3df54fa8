"""Write an allocation's result files: CSV for spreadsheets, JSON for systems.

All files are written into a temporary folder beside the target and moved into place at the end,
so a failure part-way leaves the previous results untouched and never a half-written set.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.io.folders import write_folder
from allocator.kpis import Kpis
from allocator.result import Allocation, Placement, Unplaced


def allocation_document(allocation: Allocation, kpis: Kpis) -> dict[str, Any]:
    """The whole result as plain JSON-ready data (also the API's response shape)."""
    return {
        "strategy": allocation.strategy.value,
        "policy": allocation.policy,
        "reproducible": allocation.reproducible,
        "kpis": kpis.summary,
        "levels": [
            {**dataclasses.asdict(level), "goal": level.goal.value, "gap": level.gap}
            for level in allocation.levels
        ],
        "placements": [dataclasses.asdict(p) for p in allocation.placements],
        "unplaced": [dataclasses.asdict(u) for u in allocation.unplaced],
    }


def comparison_table(kpis: dict[str, Kpis]) -> pd.DataFrame:
    """One row per summary measure, one column per strategy."""
    return pd.DataFrame({name: k.summary for name, k in kpis.items()}).rename_axis("measure")


def write_results(
    out_dir: Path,
    allocation: Allocation,
    kpis: Kpis,
    baseline: tuple[Allocation, Kpis] | None = None,
) -> list[Path]:
    """Write the result files into `out_dir` (replacing it whole); return the paths written."""
    return write_folder(
        out_dir, lambda folder: write_result_files(folder, allocation, kpis, baseline)
    )


def write_result_files(
    folder: Path,
    allocation: Allocation,
    kpis: Kpis,
    baseline: tuple[Allocation, Kpis] | None = None,
) -> None:
    """The result files, written into `folder` as it is (a staging folder, see write_folder)."""
    _records(allocation.placements, Placement).to_csv(folder / "allocations.csv", index=False)
    _records(allocation.unplaced, Unplaced).to_csv(folder / "unplaced.csv", index=False)
    kpis.utilisation.to_csv(folder / "utilisation.csv", index=False, float_format="%.4f")
    kpis.by_zone_band.to_csv(folder / "hours_by_zone_band.csv", index=False, float_format="%.2f")
    document = allocation_document(allocation, kpis)
    if baseline is not None:
        base_allocation, base_kpis = baseline
        document["baseline"] = allocation_document(base_allocation, base_kpis)
        table = comparison_table(
            {allocation.strategy.value: kpis, base_allocation.strategy.value: base_kpis}
        )
        table.to_csv(folder / "comparison.csv")
    (folder / "kpis.json").write_text(
        json.dumps(
            {"strategy": document["strategy"], "kpis": kpis.summary, "levels": document["levels"]},
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    (folder / "allocation.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def _records(items: tuple[Any, ...], kind: type) -> pd.DataFrame:
    columns = [field.name for field in dataclasses.fields(kind)]
    return pd.DataFrame([dataclasses.asdict(item) for item in items], columns=columns)
