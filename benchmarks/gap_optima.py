"""Public optima benchmark: solve every GAP instance against its published best-known value.

    python -m benchmarks.gap_optima [--instances DIR] [--time-limit 60]
                                    [--families orlib,A,B,C,D,E]
                                    [--out benchmarks/results/gap_optima.csv]

Prints one line per (instance, sense) and a summary per family, and writes the rows to `--out`,
each with the run's record (date, machine, command, versions) and how many cores other processes
kept busy while it was solved (`other_cores`: a busy machine slows the solver, and solves that
stop on the clock are then not reproducible). Every answer is checked by `check_gap_assignment`
and every bound against the best-known value: a wrong answer or an impossible bound is printed,
recorded and makes the command fail.
"""

from __future__ import annotations

import argparse
import re
import resource
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from allocator.gap import solve_gap
from allocator.gap_instance import GapInstance, check_gap_assignment, gap_cost
from allocator.io.gap_files import read_best_known, read_gap_file
from benchmarks.machine import REPO_ROOT, CpuWatch, run_record

DEFAULT_INSTANCES = REPO_ROOT.parent / "shared" / "data" / "gap" / "instances"
FAMILIES = ("orlib", "A", "B", "C", "D", "E")


@dataclass(frozen=True)
class Entry:
    """One row of best_known.csv: an instance, a sense and its published value."""

    file: str
    instance_index: int
    name: str
    sense: str
    m: int
    n: int
    best_known: int
    proven_optimal: bool

    @property
    def family(self) -> str:
        return family_of(self.file)

    @property
    def order(self) -> tuple[int, list[int | str], int, str]:
        """Families in the usual order, files in natural order (gap2 before gap10)."""
        return (
            FAMILIES.index(self.family),
            natural_key(self.file),
            self.instance_index,
            self.sense,
        )


@dataclass(frozen=True)
class Row:
    """One solve, as written to the CSV."""

    family: str
    file: str
    name: str
    sense: str
    m: int
    n: int
    best_known: int
    proven_optimal: bool
    value: int | None
    bound: int | None
    gap_pct: float | None
    """Distance from the best-known value in %, positive when worse."""
    optimal: bool
    seconds: float
    reproducible: bool
    other_cores: float
    """Cores other processes kept busy during the solve (0 on a machine to itself)."""
    problems: str
    """Empty unless the answer failed the independent check or the bound is impossible."""


def family_of(file: str) -> str:
    """'orlib' for OR-Library gap1..12; otherwise the type letter that starts the file's name
    (chu1997 a–d, yagiura2004 c, d, e)."""
    if file.startswith("orlib/"):
        return "orlib"
    return Path(file).name[0].upper()


def gap_pct(value: int | None, best_known: int, sense: str) -> float | None:
    """Signed distance from the best-known value in %: positive means worse than it."""
    if value is None:
        return None
    worse_by = value - best_known if sense == "min" else best_known - value
    return 100.0 * worse_by / max(abs(best_known), 1)


def solve_row(instance: GapInstance, entry: Entry, time_limit_s: float, seed: int) -> Row:
    """Solve one instance in one sense and check the answer independently."""
    watch = CpuWatch(resource.RUSAGE_SELF)
    result = solve_gap(instance, entry.sense, time_limit_s, seed=seed)
    other_cores = watch.others_cores()
    problems = []
    if result.assignment is not None:
        problems += check_gap_assignment(instance, result.assignment)
        if not problems and gap_cost(instance, result.assignment) != result.value:
            problems.append(f"reported value {result.value} is not the assignment's cost")
    if result.bound is not None and (
        (entry.sense == "min" and result.bound > entry.best_known)
        or (entry.sense == "max" and result.bound < entry.best_known)
    ):
        problems.append(f"bound {result.bound} excludes the best-known {entry.best_known}")
    return Row(
        family=entry.family,
        file=entry.file,
        name=instance.name,
        sense=entry.sense,
        m=instance.agents,
        n=instance.jobs,
        best_known=entry.best_known,
        proven_optimal=entry.proven_optimal,
        value=result.value,
        bound=result.bound,
        gap_pct=gap_pct(result.value, entry.best_known, entry.sense),
        optimal=result.optimal,
        seconds=round(result.seconds, 2),
        reproducible=result.reproducible,
        other_cores=other_cores,
        problems="; ".join(problems),
    )


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Per family: how many solves, mean and max gap to best known, how many proved optimal,
    how many reached the best-known value, mean seconds."""
    grouped = rows.groupby("family", sort=False)
    summary = pd.DataFrame(
        {
            "solves": grouped.size(),
            "mean_gap_pct": grouped["gap_pct"].mean().round(3),
            "max_gap_pct": grouped["gap_pct"].max().round(3),
            "at_best_known": grouped["gap_pct"].apply(lambda g: int((g <= 1e-9).sum())),
            "proved_optimal": grouped["optimal"].sum(),
            "mean_seconds": grouped["seconds"].mean().round(1),
        }
    )
    return summary.reset_index()


def natural_key(text: str) -> list[int | str]:
    """gap2 before gap10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=Path, default=DEFAULT_INSTANCES)
    parser.add_argument(
        "--best-known", type=Path, help="default: best_known.csv beside the instances folder"
    )
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per solve")
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "gap_optima.csv"
    )
    args = parser.parse_args(argv)
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    unknown = set(families) - set(FAMILIES)
    if unknown:
        parser.error(f"unknown families {sorted(unknown)}; choose from {','.join(FAMILIES)}")
    table = read_best_known(args.best_known or args.instances.parent / "best_known.csv")
    entries = [Entry(**record) for record in table.to_dict(orient="records")]
    entries = sorted((e for e in entries if e.family in families), key=lambda e: e.order)
    record = run_record("benchmarks.gap_optima", sys.argv[1:] if argv is None else argv)
    rows = []
    files: dict[str, list[GapInstance]] = {}
    for entry in entries:
        if entry.file not in files:
            files[entry.file] = read_gap_file(args.instances / entry.file)
        row = solve_row(
            files[entry.file][entry.instance_index - 1], entry, args.time_limit, args.seed
        )
        rows.append(row)
        print(_line(row), flush=True)
        if row.problems:
            print(f"  WRONG: {row.problems}", flush=True)
    results = pd.DataFrame([record | asdict(row) for row in rows])
    print()
    print(summarise(results).to_string(index=False))
    print(f"\n{record['date']}, {record['machine']}, OR-Tools {record['ortools']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results.to_csv(args.out, index=False)
    print(f"wrote {args.out}")
    return 1 if any(row.problems for row in rows) else 0


def _line(row: Row) -> str:
    gap = "   n/a" if row.gap_pct is None else f"{row.gap_pct:6.3f}"
    return (
        f"{row.family:5} {row.name:10} {row.sense}  value {row.value!s:>7}"
        f"  best {row.best_known:>7}  gap {gap} %  bound {row.bound!s:>7}"
        f"  optimal {'yes' if row.optimal else 'no ':3}  {row.seconds:5.1f} s"
    )


if __name__ == "__main__":
    raise SystemExit(main())
