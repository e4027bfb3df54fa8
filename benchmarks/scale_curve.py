"""How solve time, memory and quality grow with the council: the county preset at several sizes.

`python -m benchmarks.scale_curve [--packages 1000,5000,20000,50000] [--time-limit 60] [--seed 1]
[--audit-limit 600] [--out benchmarks/results/scale_curve.csv]`

Each size is drawn from the county preset (Essex: 12 districts, providers scaled with packages)
and solved three ways with the same time limit, each in its own process (`benchmarks.run_one`):
the allocator's optimiser, the brokers' cascade, and a plain one-shot CP-SAT model
(`benchmarks.plain_cpsat`). Every plan's hours placed is measured against one yardstick, the
hours-placed LP relaxation, which no plan can beat, so the gaps of different solvers compare.
The optimiser's cost is audited after its solve against the cost level's LP relaxation with the
plan's earlier levels held (`run_one.cost_audit`), which its 60 s leave no time for at county size.
A size that fails (out of memory, over time, refused) is reported with its error; the others run.
Rows of sizes not run this time are kept in the CSV, so the curve can be filled in over several
runs; each row records its own date, machine and command.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from allocator.generator.generate import generate_council, solve_memory_gb
from allocator.generator.presets import GeneratorData, preset
from allocator.io.generated_files import write_generated
from allocator.io.generator_tables import load_england_lsoas, load_generator_tables
from benchmarks.machine import REPO_ROOT, CpuWatch, memory_gib, run_record

DEFAULT_SIZES = (1_000, 5_000, 20_000, 50_000)
DEFAULT_OUT = REPO_ROOT / "benchmarks" / "results" / "scale_curve.csv"
SOLVERS = ("ours", "cascade", "plain")
PRESET = "county"
COUNTY_PACKAGES = 7_500
"""The county preset's packages at scale 1: a size of N packages is scale N / 7,500."""
MEMORY_SHARE = 0.8
"""Refuse a size the generator predicts needs more than this share of RAM, as `allocator
generate` does: an out-of-memory kill on a shared machine hurts more than the benchmark."""
YARDSTICK_SHARE = 0.5
"""Of a run's timeout, what the LP bound's simplex may take: it is the yardstick, not a
competitor, so it gets more than the solvers' limit; the rest is reading and building."""

AUDIT_LIMIT_S = 600.0
"""What the cost audit's LP may take, after our solve: at 20,000 packages it converges in
about 4 minutes; a larger book reports the bound reached in this time, still valid."""


def run_timeout_s(time_limit_s: float) -> float:
    """How long one run may take before it is stopped and reported as failed: model build and
    explanations come on top of the solver's limit, and grow with the size."""
    return 4 * time_limit_s + 300


class RunFailed(Exception):
    """A run that produced no result: killed, timed out, or crashed."""


@dataclass
class Row:
    """One solver at one size. Hours are carer hours a week; gaps are in % of the bound."""

    packages: int
    solver: str
    providers: int | None = None
    pairs: int | None = None
    """Eligible (package, provider) pairs: one Boolean each in both CP-SAT models."""
    status: str | None = None
    wall_s: float | None = None
    """Arrays, filters, model build, solve (and explanations, for the allocator's strategies);
    reading the scenario is `load_s`."""
    load_s: float | None = None
    peak_rss_mb: float | None = None
    """The run's process at its largest, reading the scenario included."""
    predicted_gb: float | None = None
    """What `allocator generate` predicts the solve needs (it refuses past 80 % of RAM)."""
    placed_hours: float | None = None
    urgent_placed_hours: float | None = None
    existing_packages: int | None = None
    """People already in care with some provider: the optimiser's first goal keeps them placed;
    the plain model is free to drop them for more hours."""
    existing_placed: int | None = None
    kept_with_current: int | None = None
    """People in care the plan keeps with their current provider (the continuity goal)."""
    cost_gbp_per_week: float | None = None
    """At each provider's rate for the package's zone."""
    lp_bound_hours: float | None = None
    """No plan can place more: the hours-placed LP relaxation with nothing held."""
    gap_to_lp_pct: float | None = None
    hours_level_value_h: float | None = None
    hours_level_bound_h: float | None = None
    hours_level_gap_pct: float | None = None
    cost_level_value_gbp: float | None = None
    cost_level_bound_gbp: float | None = None
    cost_level_gap_pct: float | None = None
    cost_audit_gap_pct: float | None = None
    """Ours against the cost level's LP, solved after the run with the plan's earlier levels
    held (`run_one.cost_audit`): the solve's own cost bound, where its limit allowed one."""
    cost_audit_s: float | None = None
    cost_audit_timed_out: bool | None = None
    """The audit stopped on its limit: its bound is valid, but looser than the LP's."""
    levels_gap_pct: str | None = None
    """Every level of ours, as `goal gap%` separated by `; `."""
    reproducible: bool | None = None
    violations: int | None = None
    """Hard-rule violations the independent validator finds in the plan (should be 0)."""
    other_cores: float | None = None
    """Cores other processes kept busy during the run, on average: contention, if above 0."""
    error: str | None = None


def county_scenario(packages: int, seed: int, out: Path) -> tuple[Path, float]:
    """Draw the county preset at `packages` packages into `out`; return it and the predicted
    solve memory in GB."""
    chosen = preset(PRESET)
    data = GeneratorData(load_generator_tables, load_england_lsoas)
    scale = packages / COUNTY_PACKAGES
    [(code, spec)] = chosen.specs(data, scale)
    generated = generate_council(spec, np.random.default_rng([seed, int(code[1:])]))
    command = f"allocator generate {PRESET} --seed {seed} --scale {scale:g}"
    [folder] = write_generated(out, chosen, command, [(code, generated)], chosen.sector_homes)
    return folder, solve_memory_gb(spec)


def run_solver(
    folder: Path, solver: str, time_limit_s: float, timeout: float, audit_limit_s: float = 0.0
) -> tuple[dict[str, Any], float]:
    """One `benchmarks.run_one` process, stopped after `timeout` seconds (plus the audit's
    limit): its JSON record, and the cores other processes took meanwhile. RunFailed says
    why there is no record."""
    command = [sys.executable, "-m", "benchmarks.run_one", str(folder), "--solver", solver]
    command += ["--time-limit", str(time_limit_s), "--audit-limit", str(audit_limit_s)]
    timeout += audit_limit_s
    watch = CpuWatch(resource.RUSAGE_CHILDREN)
    try:
        done = subprocess.run(
            command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise RunFailed(f"timed out after {timeout:.0f} s") from None
    if done.returncode != 0:
        raise RunFailed(_failure(done.returncode, done.stderr))
    return json.loads(done.stdout.strip().splitlines()[-1]), watch.others_cores()


def measure_size(
    packages: int, time_limit_s: float, seed: int, workdir: Path, audit_limit_s: float = 0.0
) -> list[Row]:
    """Every solver's row at one size; a failure is written into the rows it affects."""
    rows = [Row(packages, solver) for solver in SOLVERS]
    try:
        folder, predicted_gb = county_scenario(packages, seed, workdir / f"county_{packages}")
    except Exception as error:  # whatever stops one size is reported; the next size runs
        return [_failed(row, f"generating: {error}") for row in rows]
    limit_gb = memory_gib() * 2**30 / 1e9 * MEMORY_SHARE
    for row in rows:
        row.predicted_gb = round(predicted_gb, 2)
    if predicted_gb > limit_gb:
        refusal = f"refused: predicted {predicted_gb:.1f} GB, over {limit_gb:.1f} GB"
        return [_failed(row, refusal) for row in rows]
    bound_minutes, pairs, lp_error = _lp_bound(folder, time_limit_s)
    for row in rows:
        row.pairs, row.error = pairs, lp_error
        try:
            audit = audit_limit_s if row.solver == "ours" else 0.0
            record, row.other_cores = run_solver(
                folder, row.solver, time_limit_s, run_timeout_s(time_limit_s), audit
            )
        except RunFailed as failure:
            _failed(row, str(failure))
            continue
        if record["status"] == "unknown":  # CP-SAT's word for "no plan within the limit"
            _failed(row, f"no plan within {time_limit_s:g} s")
            continue
        _fill(row, record, bound_minutes)
    return rows


def _lp_bound(folder: Path, time_limit_s: float) -> tuple[int | None, int | None, str | None]:
    """(bound in carer minutes, eligible pairs, error): computed once per size, for all rows."""
    try:
        timeout = run_timeout_s(time_limit_s)
        record, _ = run_solver(folder, "lp_bound", timeout * YARDSTICK_SHARE, timeout)
    except RunFailed as failure:
        return None, None, f"LP bound: {failure}"
    bound = record["lp_bound_minutes"]
    return bound, record["pairs"], None if bound is not None else "LP bound: not solved"


def _fill(row: Row, record: dict[str, Any], bound_minutes: int | None) -> None:
    """The row's figures from a run's record, with the gap to the size's LP bound."""
    copied = ("providers", "status", "wall_s", "load_s", "peak_rss_mb", "reproducible")
    for name in (
        *copied,
        "existing_packages",
        "existing_placed",
        "kept_with_current",
        "violations",
    ):
        setattr(row, name, record[name])
    row.cost_gbp_per_week = round(record["cost_pence"] / 100, 2)
    row.pairs = record.get("pairs") or row.pairs
    row.placed_hours = round(record["placed_minutes"] / 60, 2)
    row.urgent_placed_hours = round(record["urgent_placed_minutes"] / 60, 2)
    if bound_minutes is not None:
        row.lp_bound_hours = round(bound_minutes / 60, 2)
        row.gap_to_lp_pct = _pct(bound_minutes - record["placed_minutes"], bound_minutes)
    levels = {level["goal"]: level for level in record["levels"]}
    if "hours_placed" in levels:
        level = levels["hours_placed"]
        row.hours_level_value_h = round(level["value"] / 60, 2)
        row.hours_level_bound_h = round(level["bound"] / 60, 2)
        row.hours_level_gap_pct = round(100 * level["gap"], 3)
    if "cost" in levels:
        level = levels["cost"]
        row.cost_level_value_gbp = round(level["value"] / 100, 2)
        row.cost_level_bound_gbp = round(level["bound"] / 100, 2)
        row.cost_level_gap_pct = round(100 * level["gap"], 3)
    if record.get("cost_audit_bound_pence") is not None:
        value, bound = record["cost_audit_value_pence"], record["cost_audit_bound_pence"]
        row.cost_audit_gap_pct = _pct(value - bound, value)
        row.cost_audit_s = record["cost_audit_s"]
        row.cost_audit_timed_out = record["cost_audit_timed_out"]
    if levels:
        row.levels_gap_pct = "; ".join(f"{g} {100 * v['gap']:.3g}" for g, v in levels.items())


def _pct(part: int, whole: int) -> float:
    return round(100 * part / whole, 3) if whole else 0.0


def _failed(row: Row, error: str) -> Row:
    row.status = "failed"
    row.error = error
    return row


def _failure(returncode: int, stderr: str) -> str:
    """Why a run died: a kill by signal 9 is almost always the kernel's out-of-memory killer."""
    if returncode == -9:
        return "killed (signal 9: out of memory?)"
    if returncode < 0:
        return f"killed by signal {-returncode}"
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return f"exit {returncode}: {lines[-1] if lines else 'no message'}"


def write_csv(rows: list[Row], record: dict[str, str], out: Path) -> None:
    """Write the rows (each with the run's record) to `out`, keeping earlier rows of other
    sizes."""
    table = pd.DataFrame([asdict(row) | record for row in rows])
    if out.exists():
        earlier = pd.read_csv(out)
        kept = earlier[~earlier["packages"].isin(table["packages"])]
        if len(kept):
            table = pd.concat([table, kept], ignore_index=True)
    order = table["solver"].map({s: i for i, s in enumerate(SOLVERS)})
    table = table.assign(_order=order).sort_values(["packages", "_order"]).drop(columns="_order")
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)


COLUMNS = (
    ("packages", "packages", "{:,}"),
    ("solver", "solver", "{}"),
    ("providers", "providers", "{:,}"),
    ("pairs", "pairs", "{:,}"),
    ("wall_s", "wall s", "{:.1f}"),
    ("peak_rss_mb", "peak MB", "{:,.0f}"),
    ("placed_hours", "placed h", "{:,.0f}"),
    ("urgent_placed_hours", "urgent h", "{:,.0f}"),
    ("existing_placed", "existing placed", "{:,}"),
    ("existing_packages", "of existing", "{:,}"),
    ("kept_with_current", "kept with provider", "{:,}"),
    ("cost_gbp_per_week", "£ a week", "{:,.0f}"),
    ("lp_bound_hours", "LP bound h", "{:,.0f}"),
    ("gap_to_lp_pct", "gap to LP %", "{:.2f}"),
    ("hours_level_gap_pct", "hours level gap %", "{:.2f}"),
    ("cost_level_gap_pct", "cost level gap %", "{:.2f}"),
    ("cost_audit_gap_pct", "cost gap to LP after %", "{:.2f}"),
    ("reproducible", "reproducible", "{}"),
    ("violations", "violations", "{}"),
    ("other_cores", "others' cores", "{:.2f}"),
    ("error", "error", "{}"),
)
"""(field, heading, format) of the printed table; the CSV has every field."""
WIDE = 220
"""Console width when printing to a file or pipe, where rich would otherwise wrap at 80."""


def print_table(rows: list[Row], console: Console) -> None:
    table = Table(title="Scale curve: county preset", title_justify="left")
    for _, heading, _ in COLUMNS:
        table.add_column(heading, justify="left" if heading in ("solver", "error") else "right")
    for row in rows:
        values = asdict(row)
        table.add_row(*(_cell(values[name], form) for name, _, form in COLUMNS))
    console.print(table)


def _cell(value: object, form: str) -> str:
    if value is None:
        return ""
    return form.format(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--packages",
        default=",".join(str(n) for n in DEFAULT_SIZES),
        help="comma-separated sizes (default %(default)s)",
    )
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument(
        "--audit-limit",
        type=float,
        default=AUDIT_LIMIT_S,
        help="seconds for the cost audit of our plan, after each solve (default %(default)s)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="CSV (default %(default)s)")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.packages.split(",")]
    record = run_record("benchmarks.scale_curve", sys.argv[1:] if argv is None else argv)
    console = Console() if sys.stdout.isatty() else Console(width=WIDE)
    console.print(f"{record['machine']}; OR-Tools {record['ortools']}; {record['date']}")
    rows: list[Row] = []
    for packages in sizes:
        with tempfile.TemporaryDirectory(prefix=f"scale_curve_{packages}_") as workdir:
            console.print(f"{packages:,} packages ...")
            rows += measure_size(
                packages, args.time_limit, args.seed, Path(workdir), args.audit_limit
            )
    print_table(rows, console)
    write_csv(rows, record, args.out)
    console.print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
