"""The brokerage service under load: one-package shortlists over HTTP on a county-sized book.

A `county` book (default 20,000 packages, seed 1) is imported into a fresh SQLite file and served
by `uvicorn api.app:create_app` (one process, as `allocator serve` runs it). `wrk` (Debian's
package) then posts one-package brokerage requests, each for a waiting package drawn at random,
for `--duration` seconds at each number of open connections; every request is a whole decision
(shortlist, recommendation, audit event written). Then batches of 50 waiting packages are posted
one after another. The table gives latency percentiles, requests per second, errors, the
server's peak memory, and how many cores other processes kept busy meanwhile.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from benchmarks.machine import CpuWatch, run_record, tree_cpu_s, tree_status_mb
from benchmarks.scale_curve import county_scenario
from store import api_keys
from store.book import import_folder, load_scenario_from_db
from store.database import write_transaction
from store.migrate import migrated

DEFAULT_OUT = Path(__file__).parent / "results" / "service_load.csv"
BATCH = 50
BATCHES = 20
PATH = "/brokerage/requests"

WRK_SCRIPT = """
local ids = {%(ids)s}
init = function(args) math.randomseed(%(seed)d + wrk.thread:get("id")) end
setup = function(thread) thread:set("id", math.random(1000000)) end
request = function()
  local body = '{"package_ids":["' .. ids[math.random(#ids)] .. '"]}'
  return wrk.format("POST", "%(path)s",
    {["Content-Type"] = "application/json", ["X-API-Key"] = "%(key)s"}, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p95_us": %%d, ' ..
    '"p99_us": %%d, "max_us": %%d, "errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""
"""wrk's Lua hooks: a random waiting package per request; `done` prints one JSON line."""


@dataclass
class Row:
    packages: int
    kind: str
    workers: int
    connections: int
    seconds: float
    requests: int
    requests_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    server_peak_mb: float
    server_cores: float
    """CPU the service used, in cores (its processes' CPU seconds per second)."""
    other_cores: float
    """Cores busy with anything but the service and the load generator: contention."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=20_000, help="default %(default)s")
    parser.add_argument("--connections", default="1,2,4", help="wrk connections, comma-separated")
    parser.add_argument("--workers", default="1,2", help="service processes, comma-separated")
    parser.add_argument("--duration", type=int, default=60, help="seconds per run (default 60)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="CSV (default %(default)s)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("service_load needs wrk: apt-get install wrk")
    record = run_record("benchmarks.service_load", sys.argv[1:] if argv is None else argv)
    console = Console(width=160)
    console.print(f"{record['machine']}; {record['date']}")
    with tempfile.TemporaryDirectory(prefix="service_load_") as workdir:
        work = Path(workdir)
        url, key, waiting = _book(args.packages, args.seed, work)
        rows = []
        for workers in (int(w) for w in args.workers.split(",")):
            with _Server(url, workers, work / "server.log") as server:
                for connections in (int(c) for c in args.connections.split(",")):
                    console.print(f"{workers} worker(s), {connections} connection(s) ...")
                    rows.append(
                        _shortlists(server, key, waiting, connections, args.duration, args.packages)
                    )
                rows.append(_batches(server, key, waiting, args.packages, args.seed))
    _print(rows, console)
    table = pd.DataFrame([asdict(row) | record for row in rows])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    console.print(f"Wrote {args.out}")
    return 0


def _book(packages: int, seed: int, work: Path) -> tuple[str, str, list[str]]:
    """A database holding the county book; a broker's key; the waiting packages' ids."""
    folder, _ = county_scenario(packages, seed, work / "county")
    url = f"sqlite:///{work / 'book.db'}"
    with migrated(url) as sessions:
        with write_transaction(sessions) as session:
            import_folder(session, folder)
            key = api_keys.create_key(session, "broker", "load test")
        with sessions() as session:
            book = load_scenario_from_db(session)
    return url, key, [k.id for k in book.packages if not k.current_provider]


class _Server:
    """uvicorn in its own process, up once /health answers and the book is in memory."""

    def __init__(self, database_url: str, workers: int, log: Path) -> None:
        self.database_url, self.workers, self.log = database_url, workers, log
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> _Server:
        command = [
            sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory",
            "--port", str(self.port), "--workers", str(self.workers),
            "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
        env = {"ALLOCATOR_DATABASE_URL": self.database_url, "PATH": "/usr/bin:/bin"}
        self.process = subprocess.Popen(
            command, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError(f"the service did not start: {self.log.read_text()}")

    def __exit__(self, *_exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def peak_mb(self) -> float:
        """Peak resident memory of the service's processes, summed."""
        return tree_status_mb(self.process.pid, "VmHWM")

    def cpu_s(self) -> float:
        return tree_cpu_s(self.process.pid)


class _Usage:
    """CPU over an interval: the service's processes, and everything else but the load
    generator (a child this process waits for) and this process."""

    def __init__(self, server: _Server) -> None:
        self.server = server
        self.watch = CpuWatch(resource.RUSAGE_CHILDREN)
        self.mine = _own_cpu_s()
        self.served = server.cpu_s()
        self.began = time.monotonic()

    def cores(self) -> tuple[float, float]:
        """(service cores, other cores)."""
        wall = time.monotonic() - self.began
        served = (self.server.cpu_s() - self.served) / wall
        mine = (_own_cpu_s() - self.mine) / wall
        return round(served, 2), round(max(self.watch.others_cores() - served - mine, 0.0), 2)


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _shortlists(
    server: _Server, key: str, waiting: list[str], connections: int, duration: int, packages: int
) -> Row:
    _post(server, key, waiting[:1])  # the first request builds the in-memory book
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        ids = ",".join(f'"{i}"' for i in waiting)
        script.write(WRK_SCRIPT % {"ids": ids, "seed": connections, "path": PATH, "key": key})
    usage = _Usage(server)
    done = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s",
         script.name, server.base],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    Path(script.name).unlink()
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    seconds = result["duration_us"] / 1e6
    return Row(
        packages=packages,
        kind="one-package shortlist",
        workers=server.workers,
        connections=connections,
        seconds=round(seconds, 1),
        requests=result["requests"],
        requests_per_s=round(result["requests"] / seconds, 1),
        p50_ms=result["p50_us"] / 1000,
        p95_ms=result["p95_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        max_ms=result["max_us"] / 1000,
        errors=result["errors"],
        server_peak_mb=round(server.peak_mb()),
        **dict(zip(("server_cores", "other_cores"), usage.cores(), strict=True)),
    )


def _batches(server: _Server, key: str, waiting: list[str], packages: int, seed: int) -> Row:
    rng = random.Random(seed)
    usage = _Usage(server)
    times, errors = [], 0
    began = time.monotonic()
    for _ in range(BATCHES):
        took, ok = _post(server, key, rng.sample(waiting, BATCH))
        times.append(took)
        errors += not ok
    seconds = time.monotonic() - began
    ms = np.array(times) * 1000
    return Row(
        packages=packages,
        kind=f"batch of {BATCH}",
        workers=server.workers,
        connections=1,
        seconds=round(seconds, 1),
        requests=BATCHES,
        requests_per_s=round(BATCHES / seconds, 2),
        p50_ms=round(float(np.percentile(ms, 50)), 1),
        p95_ms=round(float(np.percentile(ms, 95)), 1),
        p99_ms=round(float(np.percentile(ms, 99)), 1),
        max_ms=round(float(ms.max()), 1),
        errors=errors,
        server_peak_mb=round(server.peak_mb()),
        **dict(zip(("server_cores", "other_cores"), usage.cores(), strict=True)),
    )


def _post(server: _Server, key: str, package_ids: list[str]) -> tuple[float, bool]:
    began = time.monotonic()
    answer = httpx.post(
        f"{server.base}{PATH}",
        json={"package_ids": package_ids},
        headers={"X-API-Key": key},
        timeout=120,
    )
    return time.monotonic() - began, answer.status_code == 200


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


COLUMNS = (
    "kind", "workers", "connections", "seconds", "requests", "requests_per_s", "p50_ms",
    "p95_ms", "p99_ms", "max_ms", "errors", "server_peak_mb", "server_cores", "other_cores",
)  # fmt: skip


def _print(rows: list[Row], console: Console) -> None:
    table = Table(title=f"Brokerage service: {rows[0].packages:,}-package book")
    for name in COLUMNS:
        table.add_column(name, justify="left" if name == "kind" else "right")
    for row in rows:
        values = asdict(row)
        table.add_row(*(f"{values[name]:,}" if name != "kind" else row.kind for name in COLUMNS))
    console.print(table)


if __name__ == "__main__":
    raise SystemExit(main())
