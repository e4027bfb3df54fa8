"""Write a rebalance's proposals: moves as CSV and JSON, a short summary a broker can read, and
the plan's usual result files beside them (all at once, like every output folder)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.io.folders import write_folder
from allocator.io.result_files import allocation_document, write_result_files
from allocator.kpis import Kpis
from allocator.rebalance import Move, Rebalance


def rebalance_document(result: Rebalance, kpis: Kpis) -> dict[str, Any]:
    return {
        "summary": summary_figures(result),
        "moves": [dataclasses.asdict(m) for m in result.moves],
        "newly_placed": list(result.newly_placed),
        "plan": allocation_document(result.allocation, kpis),
    }


def summary_figures(result: Rebalance) -> dict[str, float | int | bool]:
    return {
        "moves_proposed": len(result.moves),
        "hours_newly_placed": result.hours_newly_placed,
        "waiting_before": result.waiting_before,
        "waiting_after": result.waiting_after,
        "travel_saved_km": result.travel_saved_km,
        "people_affected": result.people_affected,
        "reproducible": result.allocation.reproducible,
    }


def summary_text(result: Rebalance) -> str:
    """The night's proposals in a paragraph and a list, for the morning's brokers."""
    figures = summary_figures(result)
    lines = [
        f"# Rebalance under {result.allocation.policy}",
        "",
        f"- {figures['moves_proposed']} moves proposed; {figures['people_affected']} people "
        "affected (moved or newly placed).",
        f"- Waiting list: {result.waiting_before} before, {result.waiting_after} after; "
        f"{result.hours_newly_placed:,.1f} carer hours a week newly placed.",
        f"- Travel saved by the moves: {result.travel_saved_km:,.1f} km.",
        "",
        "Nothing is applied until a broker accepts a move.",
        "",
    ]
    for move in result.moves:
        to = move.to_provider or "no provider"
        lines.append(f"## {move.package_id}: {move.from_provider} to {to}")
        lines.append(f"Frees {move.frees}; {move.gains}.")
        lines.append("")
    return "\n".join(lines)


def write_rebalance(out_dir: Path, result: Rebalance, kpis: Kpis) -> list[Path]:
    def fill(folder: Path) -> None:
        write_result_files(folder, result.allocation, kpis)
        columns = [field.name for field in dataclasses.fields(Move)]
        moves = pd.DataFrame([dataclasses.asdict(m) for m in result.moves], columns=columns)
        moves.to_csv(folder / "moves.csv", index=False)
        document = rebalance_document(result, kpis)
        (folder / "rebalance.json").write_text(json.dumps(document, indent=2) + "\n", "utf-8")
        (folder / "summary.md").write_text(summary_text(result), encoding="utf-8")

    return write_folder(out_dir, fill)
