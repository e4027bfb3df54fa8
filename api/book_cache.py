"""The held book in memory, brought up to date only when the store's version has moved on.

A shortlist must answer in milliseconds on a 20,000-package book, so it cannot read the book from
the database each time; it reads one number (the book's version) and reuses the book it holds for
that version. Every change to the book, by this process or any other, moves the version on and
stamps the rows it changed, so catching up reads just those: milliseconds, where reading the whole
book takes a second (at start-up, and after an import or a policy switch, which change it whole).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import TypeVar

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from allocator.brokerage import HeldBook
from allocator.model import CarePackage, Provider
from allocator.scenario import Scenario
from store.book import BookChanges, changes_since, load_scenario_from_db, open_offers
from store.book_state import book_version
from store.database import snapshot
from store.policies import active_policy

Record = TypeVar("Record", Provider, CarePackage)


@dataclass(frozen=True)
class BookView:
    version: int
    policy_version: str
    """The active policy's label (name and version), cited by every decision."""
    book: HeldBook


class BookCache:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory
        self._view: BookView | None = None
        self._lock = threading.Lock()

    def view(self) -> BookView:
        """The book as of now: the cached one if nothing changed since it was built."""
        with self._sessions() as session:
            version = book_version(session)
        view = self._view
        if view is not None and view.version >= version:
            return view
        with self._lock:
            if self._view is None or self._view.version < version:
                self._view = self._read(self._view)
            return self._view

    def _read(self, stale: BookView | None) -> BookView:
        """`stale` caught up with what changed since its version, or the whole book read again;
        in one snapshot, so the version matches what was read."""
        with snapshot(self._sessions) as session:
            changes = None if stale is None else changes_since(session, stale.version)
            if changes is None:
                scenario = load_scenario_from_db(session)
                book = HeldBook.of(scenario, open_offers(session))
                return BookView(book_version(session), active_policy(session).label, book)
        assert stale is not None
        return BookView(changes.version, stale.policy_version, _caught_up(stale.book, changes))


def _caught_up(book: HeldBook, changes: BookChanges) -> HeldBook:
    """`book` with `changes` in place: equal to `HeldBook.of` on the whole changed book, at the
    cost of the changes. The changed packages' holds alone, before and after, say what they held
    and now hold; providers are only ever added or changed here (an import, which removes them,
    is read whole)."""
    scenario = Scenario.model_construct(
        policy=book.scenario.policy,
        providers=_replaced(book.scenario.provider_by_id, changes.providers),
        packages=_replaced(book.scenario.package_by_id, changes.packages),
    )
    old = book.scenario.package_by_id
    was = [old[k.id] for k in changes.packages if k.id in old]
    before = HeldBook.holding(_with(scenario, was), _of(book.holds, was), _of(book.moving, was))
    after = HeldBook.of(_with(scenario, changes.packages), changes.open_offers)
    load = _rows_for(book.load, book.scenario.providers, scenario.providers)
    holds, moving = dict(book.holds), dict(book.moving)
    for package in changes.packages:
        holds.pop(package.id, None)
        moving.pop(package.id, None)
    holds.update(after.holds)
    moving.update(after.moving)
    return HeldBook(scenario, holds, moving, load - before.load + after.load)


def _of(held: Mapping[str, str], packages: Iterable[CarePackage]) -> dict[str, str]:
    """The holds of these packages."""
    return {k.id: held[k.id] for k in packages if k.id in held}


def _replaced(by_id: Mapping[str, Record], changed: Iterable[Record]) -> tuple[Record, ...]:
    """The records (`by_id` is in id order) with `changed` in place of those of the same id and
    new ones added, in id order: sorted again only when some are new."""
    merged = {**by_id, **{r.id: r for r in changed}}
    if len(merged) == len(by_id):
        return tuple(merged.values())
    return tuple(sorted(merged.values(), key=attrgetter("id")))


def _with(scenario: Scenario, packages: Iterable[CarePackage]) -> Scenario:
    return Scenario.model_construct(
        policy=scenario.policy, providers=scenario.providers, packages=tuple(packages)
    )


def _rows_for(
    load: np.ndarray, providers: tuple[Provider, ...], now: tuple[Provider, ...]
) -> np.ndarray:
    """`load`, whose rows follow `providers`, with rows following `now` (which may add some)."""
    index = {p.id: i for i, p in enumerate(now)}
    moved = np.zeros((len(now), load.shape[1]), dtype=load.dtype)
    moved[[index[p.id] for p in providers]] = load
    return moved
