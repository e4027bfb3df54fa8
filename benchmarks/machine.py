"""Where and when a benchmark ran, recorded beside every result so a table can be trusted later.

Times and memory mean little without the machine, the solver's version and the exact command; and
on a shared machine, without how much of the CPU other work took while they were measured.
"""

from __future__ import annotations

import os
import platform
import resource
import shlex
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import ortools
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    """CPU model, usable cores and RAM, e.g. 'AMD EPYC, 2 cores, 23.5 GiB RAM'."""
    return f"{_cpu_model()}, {len(os.sched_getaffinity(0))} cores, {memory_gib():.1f} GiB RAM"


def memory_gib() -> float:
    """Physical memory, from /proc/meminfo."""
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 2**20
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def run_record(module: str, args: list[str]) -> dict[str, str]:
    """Date (UTC), machine, the command as typed from the repository root, and versions."""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "command": shlex.join(["python", "-m", module, *args]),
        "ortools": ortools.__version__,
        "python": platform.python_version(),
    }


def write_table(table: pd.DataFrame, module: str, argv: list[str] | None, out: Path) -> None:
    """Print `table`, then write it to `out` as CSV with the run's record (`run_record`, of
    `argv`, or the command line's) on every row."""
    print(table.to_string(index=False))
    record = run_record(module, sys.argv[1:] if argv is None else argv)
    table.assign(**record).to_csv(out, index=False)
    print(f"wrote {out}")


class CpuWatch:
    """How many cores other processes kept busy while something was timed.

    The machine's busy CPU time over the interval, less the CPU time of what is timed (this
    process, or the children it waited for), per second of wall clock: 0 when the run had the
    machine to itself. The load average cannot say this, as it counts the run too.
    """

    def __init__(self, *who: int) -> None:
        """`who`: whose CPU is the run's (default this process; add RUSAGE_CHILDREN for a pool
        of workers it waits for)."""
        self.who = who or (resource.RUSAGE_SELF,)
        self.busy, self.mine, self.began = busy_cpu_s(), self._mine(), time.monotonic()

    def others_cores(self) -> float:
        wall = time.monotonic() - self.began
        others = busy_cpu_s() - self.busy - (self._mine() - self.mine)
        return round(max(others / wall, 0.0), 2) if wall > 0 else 0.0

    def _mine(self) -> float:
        usages = [resource.getrusage(who) for who in self.who]
        return sum(usage.ru_utime + usage.ru_stime for usage in usages)


def busy_cpu_s() -> float:
    """CPU seconds every process on the machine has spent busy since boot (from /proc/stat)."""
    fields = _read("/proc/stat").split("\n", 1)[0].split()[1:]
    if not fields:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _cpu_model() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


def tree_pids(root: int) -> list[int]:
    """`root` and every process descended from it (pool workers, a server's workers)."""
    parent: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, ppid in parent.items() if ppid in frontier]
        tree += frontier
    return tree


def tree_status_mb(root: int, field: str) -> float:
    """A /proc/PID/status memory field (e.g. VmRSS, VmHWM) summed over the process tree, in MB."""
    total = 0.0
    for pid in tree_pids(root):
        for line in _read(f"/proc/{pid}/status").splitlines():
            if line.startswith(f"{field}:"):
                total += int(line.split()[1]) / 1024
    return total


def tree_cpu_s(root: int) -> float:
    """CPU seconds the process tree's live processes have used so far."""
    ticks = 0
    for pid in tree_pids(root):
        fields = _read(f"/proc/{pid}/stat").rsplit(")", 1)[-1].split()
        if len(fields) > 12:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class TreeMemory:
    """The peak resident memory of a process tree, sampled twice a second in a thread (a
    worker's own peak is lost when it exits, so the sum must be watched while it runs)."""

    def __init__(self, root: int | None = None) -> None:
        self.root = os.getpid() if root is None else root
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            self.peak_mb = max(self.peak_mb, tree_status_mb(self.root, "VmRSS"))
