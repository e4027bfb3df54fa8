"""`allocator generate PRESET [--seed N] [--scale S] [--out DIR]`: draw a realistic scenario."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from allocator.errors import ScenarioError
from allocator.generator.generate import generate_council, solve_memory_gb
from allocator.generator.places import GeneratorDataError, england_councils
from allocator.generator.presets import PRESETS, GeneratorData, preset
from allocator.io.generated_files import summary, write_generated
from allocator.io.generator_tables import load_england_lsoas, load_generator_tables
from allocator.io.scenario_files import load_scenario

DEFAULT_OUT = Path("out")
MAX_SCALE = 1_000.0
"""Past this, even one council would be millions of packages: refused before any work."""


def register(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "generate",
        help="write a realistic scenario drawn from real geography and published figures",
        description="; ".join(f"{name}: {p.summary}" for name, p in PRESETS.items()),
    )
    run.add_argument("preset", help=f"one of {', '.join(PRESETS)}")
    run.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    run.add_argument(
        "--scale", type=float, default=1.0, help="multiply packages and providers (default 1)"
    )
    run.add_argument(
        "--out", type=Path, help="folder to write, replaced whole (default: out/PRESET)"
    )
    run.add_argument(
        "--council",
        action="append",
        metavar="CODE",
        help="england only: draw just this council (repeatable), e.g. E08000018",
    )
    run.add_argument(
        "--list", action="store_true", help="england only: list the council codes and stop"
    )
    run.add_argument(
        "--memory-limit-gb",
        type=float,
        default=_physical_memory_gb() * 0.8,
        help="refuse a scale whose largest scenario would need more to solve (default: 80%% "
        "of this machine's memory)",
    )
    run.set_defaults(run=_generate)


def _generate(args: argparse.Namespace) -> int:
    console, errors = Console(), Console(stderr=True, soft_wrap=True)
    data = GeneratorData(load_generator_tables, load_england_lsoas)
    try:
        chosen = preset(args.preset)
        if args.list or args.council:
            _england_only(chosen.name, "--list" if args.list else "--council")
        if args.list:
            console.print(england_councils(load_england_lsoas()).to_string(index=False))
            return 0
        specs = chosen.specs(data, _checked_scale(args.scale), args.council)
        _check_memory(specs, args.memory_limit_gb)
    except GeneratorDataError as refused:
        errors.print(f"allocator generate: {refused}", markup=False, highlight=False)
        return 2
    out = args.out if args.out is not None else DEFAULT_OUT / chosen.name
    command = _command(args)
    scenarios = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task(f"drawing {chosen.name}", total=len(specs))
        for code, spec in specs:
            rng = np.random.default_rng([args.seed, int(code[1:])])
            scenarios.append((code, generate_council(spec, rng)))
            progress.advance(task)
    folders = write_generated(out, chosen, command, scenarios, chosen.sector_homes)
    for folder in folders:  # the core's own reader is the judge of what was written
        try:
            load_scenario(folder)
        except ScenarioError as rejected:
            errors.print(f"{folder}: generated scenario rejected: {rejected}", markup=False)
            return 1
    totals = [summary(g) for _, g in scenarios]
    console.print(
        f"Wrote {len(folders)} scenario(s) to {out}: "
        f"{sum(t['packages'] for t in totals):,} packages, "
        f"{sum(t['carer_hours_per_week'] for t in totals):,.0f} carer hours a week, "
        f"{sum(t['providers'] for t in totals):,} providers",
        highlight=False,
    )
    return 0


def _england_only(name: str, option: str) -> None:
    if name != "england":
        raise GeneratorDataError(f"{option} applies to the england preset only")


def _checked_scale(scale: float) -> float:
    if not 0 < scale <= MAX_SCALE:
        raise GeneratorDataError(f"--scale must be above 0 and at most {MAX_SCALE:g}; got {scale}")
    return scale


def _check_memory(specs: list, limit_gb: float) -> None:
    code, spec = max(specs, key=lambda item: solve_memory_gb(item[1]))
    need = solve_memory_gb(spec)
    if need > limit_gb:
        raise GeneratorDataError(
            f"council {code} would have {spec.packages:,} packages and need about {need:.1f} GB "
            f"to solve, over the {limit_gb:.1f} GB limit; lower --scale or raise "
            "--memory-limit-gb"
        )


def _command(args: argparse.Namespace) -> str:
    parts = ["allocator generate", args.preset, f"--seed {args.seed}"]
    if args.scale != 1.0:
        parts.append(f"--scale {args.scale:g}")
    parts += [f"--council {code}" for code in args.council or ()]
    return " ".join(parts)


def _physical_memory_gb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
