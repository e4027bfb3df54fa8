"""Solving a study's variants side by side: a local process pool, or a Dask cluster.

Each variant is a full solve of its own book, independent of the others, so they spread across
processes (and machines) with nothing shared but the base book, sent to each worker once. A variant
that fails (its changes make an invalid book, or the solve breaks) becomes a failed outcome with
its error; the others still complete. The base book is solved too, as the yardstick.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from allocator.allocate import allocate
from allocator.kpis import compute_kpis
from allocator.result import Strategy
from allocator.scenario import Scenario
from allocator.solve import SolveParams
from allocator.whatif.apply import apply
from allocator.whatif.study import Variant

BASE = "base"
"""The name of the outcome for the base book itself."""


@dataclass(frozen=True)
class Outcome:
    """One solved book, reduced to what the comparison needs (small enough to send back)."""

    name: str
    number: int
    """The variant's `[[scenario]]` number in the file; 0 for the base book."""
    error: str | None = None
    summary: dict[str, float] = field(default_factory=dict)
    by_zone_band: list[dict[str, Any]] = field(default_factory=list)
    assignment: dict[str, str] = field(default_factory=dict)
    touched: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """What the changes did before any solve: displaced, unpinned, rezoned, added, removed."""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def solve_variant(base: Scenario, variant: Variant | None, params: SolveParams) -> Outcome:
    """The variant's book solved (the base book itself for None); never raises."""
    began = time.monotonic()
    name, number = (BASE, 0) if variant is None else (variant.name, variant.number)
    try:
        touched: dict[str, tuple[str, ...]] = {}
        book = base
        if variant is not None:
            applied = apply(base, variant)
            book = applied.scenario
            touched = {
                "displaced": applied.displaced,
                "unpinned": applied.unpinned,
                "rezoned": applied.rezoned,
                "added": applied.added_packages,
                "removed": applied.removed_packages,
            }
        allocation = allocate(book, Strategy.OPTIMISE, params)
        kpis = compute_kpis(book, allocation)
        return Outcome(
            name=name,
            number=number,
            summary={**kpis.summary, "reproducible": float(allocation.reproducible)},
            by_zone_band=kpis.by_zone_band.to_dict("records"),
            assignment=allocation.assignment,
            touched=touched,
            seconds=time.monotonic() - began,
        )
    except Exception as failure:  # a failed variant is reported, never fatal to the study
        detail = "".join(traceback.format_exception_only(failure)).strip()
        return Outcome(name, number, error=detail, seconds=time.monotonic() - began)


def solve_book(name: str, book: Scenario, params: SolveParams) -> Outcome:
    """One book of a study of many (a national study: one per council), solved as it is."""
    outcome = solve_variant(book, None, params)
    return dataclasses.replace(outcome, name=name)


Progress = Callable[[Outcome], None]
"""Called as each outcome arrives (in completion order)."""


def run_study(
    base: Scenario,
    variants: list[Variant],
    params: SolveParams,
    workers: int = 2,
    dask: str | None = None,
    progress: Progress | None = None,
) -> list[Outcome]:
    """The base book's outcome, then every variant's, in the study's order.

    `dask`: None for a local process pool of `workers`; "local" for a Dask LocalCluster of
    `workers` processes; otherwise the address of a running Dask scheduler.
    """
    with _executor(workers, dask) as pool:
        shared = pool.share(base)
        tasks = [(solve_variant, (shared, v, params)) for v in [None, *variants]]
        names = [(BASE, 0)] + [(v.name, v.number) for v in variants]
        return _gather(pool, tasks, names, progress)


def run_books(
    books: dict[str, Scenario],
    params: SolveParams,
    workers: int = 2,
    dask: str | None = None,
    progress: Progress | None = None,
) -> list[Outcome]:
    """Every book solved as it is, in the order given (e.g. every council of England)."""
    with _executor(workers, dask) as pool:
        tasks = [(solve_book, (name, book, params)) for name, book in books.items()]
        return _gather(pool, tasks, [(name, 0) for name in books], progress)


Task = tuple[Callable[..., Outcome], tuple[Any, ...]]


def _gather(
    pool: _Pool, tasks: list[Task], names: list[tuple[str, int]], progress: Progress | None
) -> list[Outcome]:
    """Run the tasks; their outcomes in task order, a failed one for a task whose worker died."""
    pending = {pool.submit(function, *args): i for i, (function, args) in enumerate(tasks)}
    outcomes: list[Outcome | None] = [None] * len(tasks)
    for done in pool.completed(list(pending)):
        index = pending[done]
        try:
            outcomes[index] = done.result()
        except Exception as failure:  # a lost worker fails its own task only
            outcomes[index] = Outcome(*names[index], error=f"the worker failed: {failure!r}")
        if progress:
            progress(outcomes[index])
    return [o for o in outcomes if o is not None]


class _Pool:
    """What a study needs of an executor: share an object with every worker, submit a task,
    and hear of each as it completes."""

    def __init__(self, submit: Callable[..., Any], completed: Callable, share: Callable) -> None:
        self.submit, self.completed, self.share = submit, completed, share


@contextmanager
def _executor(workers: int, dask: str | None) -> Iterator[_Pool]:
    if dask is None:
        context = multiprocessing.get_context("spawn")  # no inherited threads or locks
        with futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            yield _Pool(pool.submit, futures.as_completed, lambda shared: shared)
        return
    from distributed import as_completed  # imported only when asked for: it is slow to load

    with _dask_client(dask, workers) as client:
        # The base book goes to every worker once, not with each task.
        yield _Pool(
            lambda function, *args: client.submit(function, *args, pure=False),
            as_completed,
            lambda shared: client.scatter(shared, broadcast=True),
        )


@contextmanager
def _dask_client(address: str, workers: int) -> Iterator[Any]:
    """A client of the scheduler at `address`, or of a LocalCluster of `workers` processes."""
    from distributed import Client, LocalCluster

    if address != "local":
        with Client(address) as connected:
            yield connected
        return
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as local,
        Client(local) as connected,
    ):
        yield connected
