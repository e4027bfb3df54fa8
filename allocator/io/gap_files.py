"""Read the public GAP benchmark files (`instances/**`) and their best-known table."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from allocator.gap_instance import GapInstance, parse_gap

BEST_KNOWN_COLUMNS = [
    "file",
    "instance_index",
    "name",
    "sense",
    "m",
    "n",
    "best_known",
    "proven_optimal",
]


def read_gap_file(path: Path | str) -> list[GapInstance]:
    """The problems in one instance file, named `<stem>-k` (e.g. `gap1-3`) in a multi-problem
    file and `<stem>` (e.g. `d20200`) in a single-problem one. Errors name the full path."""
    path = Path(path)
    instances = parse_gap(path.read_text(), str(path))
    if len(instances) == 1:
        return [dataclasses.replace(instances[0], name=path.stem)]
    return [
        dataclasses.replace(instance, name=f"{path.stem}-{k}")
        for k, instance in enumerate(instances, start=1)
    ]


def read_best_known(path: Path | str) -> pd.DataFrame:
    """`best_known.csv`: one row per (file, instance_index, sense), typed, columns checked.

    `file` is relative to the `instances/` folder; `instance_index` is 1-based.
    """
    table = pd.read_csv(path, dtype={"file": str, "name": str, "sense": str})
    missing = [column for column in BEST_KNOWN_COLUMNS if column not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    senses = set(table["sense"]) - {"min", "max"}
    if senses:
        raise ValueError(f"{path}: sense must be 'min' or 'max', found {sorted(senses)}")
    table = table[BEST_KNOWN_COLUMNS].astype(
        {"instance_index": int, "m": int, "n": int, "best_known": int}
    )
    table["proven_optimal"] = table["proven_optimal"].astype(str).str.lower().eq("true")
    return table
