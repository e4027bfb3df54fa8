"""What-if capacity testing at scale: a 100-scenario sweep of the Rotherham example on 1 and 2
workers (the speed-up), and a national study of the `england` preset (every council's book solved
once, as a study of one scenario per council): total time and peak memory.

The sweep is capacity x0.70 to x1.29 in steps of 0.01 (60 scenarios) and demand x0.80 to x1.19
(40), each a full solve with `--time-limit` seconds, through the same `run_study` that
`allocator whatif` uses: a local process pool, or `--dask local` for a Dask LocalCluster. The
national study draws the preset at `--england-scale` (1 = the issue's 650,000 people), solves
every council with `run_books` and reports the time, the peak resident memory of this process
and its workers together, and the placed and unmet hours summed over England.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from allocator.generator.generate import generate_council
from allocator.generator.presets import GeneratorData, preset
from allocator.io.generated_files import write_generated
from allocator.io.generator_tables import load_england_lsoas, load_generator_tables
from allocator.io.scenario_files import load_scenario
from allocator.solve import SolveParams
from allocator.whatif import Study, expand
from allocator.whatif.sweep import run_books, run_study
from benchmarks.machine import CpuWatch, TreeMemory, run_record

ROTHERHAM = Path(__file__).resolve().parents[1] / "data" / "examples" / "rotherham"
DEFAULT_OUT = Path(__file__).parent / "results" / "whatif_sweep.csv"


def sweep_study() -> Study:
    """100 scenarios: capacity x0.70-x1.29 and demand x0.80-x1.19, in steps of 0.01."""
    capacity = [round(0.70 + 0.01 * i, 2) for i in range(60)]
    demand = [round(0.80 + 0.01 * i, 2) for i in range(40)]
    return Study.model_validate(
        {
            "name": "Rotherham: 100 capacity and demand levels",
            "seed": 1,
            "scenario": [
                {
                    "name": "Capacity",
                    "capacity": [{"scale": 1.0}],
                    "sweep": {"change": "capacity", "values": capacity},
                },
                {
                    "name": "Demand",
                    "demand": [{"scale": 1.0}],
                    "sweep": {"change": "demand", "values": demand},
                },
            ],
        }
    )


def measure_sweep(workers: int, dask: str | None, time_limit: float) -> dict[str, object]:
    base = load_scenario(ROTHERHAM)
    variants = expand(sweep_study())
    watch = CpuWatch(resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)  # the pool is the run
    with TreeMemory() as memory:
        began = time.monotonic()
        outcomes = run_study(base, variants, SolveParams(time_limit_s=time_limit), workers, dask)
        seconds = time.monotonic() - began
    solved = [o for o in outcomes if o.ok]
    return {
        "study": "Rotherham sweep",
        "execution": f"Dask {dask}" if dask else "local pool",
        "workers": workers,
        "scenarios": len(variants),
        "solved": len(solved) - 1,
        "reproducible": sum(bool(o.summary.get("reproducible")) for o in solved),
        "packages": len(base.packages) * len(outcomes),
        "wall_s": round(seconds, 1),
        "s_per_scenario": round(seconds / len(outcomes), 2),
        "peak_mb": round(memory.peak_mb),
        "placed_hours": round(sum(o.summary["placed_hours"] for o in solved)),
        "unmet_hours": round(sum(o.summary["unmet_hours"] for o in solved)),
        "other_cores": watch.others_cores(),
    }


def measure_england(
    workers: int, dask: str | None, time_limit: float, scale: float, seed: int
) -> dict[str, object]:
    chosen = preset("england")
    data = GeneratorData(load_generator_tables, load_england_lsoas)
    watch = CpuWatch(resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)  # the pool is the run
    with tempfile.TemporaryDirectory(prefix="england_") as workdir, TreeMemory() as memory:
        began = time.monotonic()
        councils = [
            (code, generate_council(spec, np.random.default_rng([seed, int(code[1:])])))
            for code, spec in chosen.specs(data, scale)
        ]
        command = f"allocator generate england --seed {seed} --scale {scale:g}"
        folders = write_generated(Path(workdir), chosen, command, councils, chosen.sector_homes)
        books = {folder.name: load_scenario(folder) for folder in folders}
        prepared = time.monotonic() - began
        outcomes = run_books(books, SolveParams(time_limit_s=time_limit), workers, dask)
        seconds = time.monotonic() - began
    solved = [o for o in outcomes if o.ok]
    return {
        "study": f"England x{scale:g}",
        "execution": f"Dask {dask}" if dask else "local pool",
        "workers": workers,
        "scenarios": len(books),
        "solved": len(solved),
        "reproducible": sum(bool(o.summary.get("reproducible")) for o in solved),
        "packages": sum(len(b.packages) for b in books.values()),
        "wall_s": round(seconds, 1),
        "prepare_s": round(prepared, 1),
        "s_per_scenario": round((seconds - prepared) / max(len(books), 1), 2),
        "peak_mb": round(memory.peak_mb),
        "placed_hours": round(sum(o.summary["placed_hours"] for o in solved)),
        "unmet_hours": round(sum(o.summary["unmet_hours"] for o in solved)),
        "other_cores": watch.others_cores(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=5.0, help="per scenario (default 5)")
    parser.add_argument("--workers", default="1,2", help="sweep worker counts (default 1,2)")
    parser.add_argument("--dask", help="'local' or a scheduler address (default: process pool)")
    parser.add_argument("--england-scale", type=float, default=1.0, help="0 skips the study")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="CSV (default %(default)s)")
    args = parser.parse_args(argv)
    record = run_record("benchmarks.whatif_sweep", sys.argv[1:] if argv is None else argv)
    console = Console(width=180)
    console.print(f"{record['machine']}; {record['date']}")
    rows = []
    for workers in (int(w) for w in args.workers.split(",")):
        console.print(f"Rotherham sweep, {workers} worker(s) ...")
        rows.append(measure_sweep(workers, args.dask, args.time_limit))
    if args.england_scale > 0:
        workers = max(int(w) for w in args.workers.split(","))
        console.print(f"England x{args.england_scale:g}, {workers} worker(s) ...")
        rows.append(
            measure_england(workers, args.dask, args.time_limit, args.england_scale, args.seed)
        )
    first = rows[0]["wall_s"]
    for row in rows:
        if row["study"] == "Rotherham sweep":
            row["speed_up"] = round(float(first) / float(row["wall_s"]), 2)  # type: ignore[arg-type]
    table = pd.DataFrame([row | record for row in rows])
    _print(table, console)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    console.print(f"Wrote {args.out}")
    return 0


def _print(table: pd.DataFrame, console: Console) -> None:
    shown = [
        c for c in table.columns if c not in ("date", "machine", "command", "ortools", "python")
    ]
    out = Table(title="What-if studies")
    for column in shown:
        out.add_column(column, justify="left" if column in ("study", "execution") else "right")
    for _, row in table.iterrows():
        out.add_row(*("" if pd.isna(row[c]) else f"{row[c]}" for c in shown))
    console.print(out)


if __name__ == "__main__":
    raise SystemExit(main())
