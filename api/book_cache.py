"""The held book in memory, rebuilt only when the store's version has moved on.

A shortlist must answer in milliseconds on a 20,000-package book, so it cannot read the book from
the database each time; it reads one number (the book's version) and reuses the book it built for
that version. Every change to the book, by this process or any other, moves the version on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from allocator.brokerage import HeldBook
from store.book import load_scenario_from_db
from store.book_state import book_version
from store.offers import list_offers
from store.policies import active_policy
from store.tables import OfferState


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
        if view is not None and view.version == version:
            return view
        with self._lock:
            if self._view is None or self._view.version != version:
                self._view = self._build()
            return self._view

    def _build(self) -> BookView:
        """Read everything in one transaction, so the version matches what was read."""
        with self._sessions() as session, session.begin():
            version = book_version(session)
            scenario = load_scenario_from_db(session)
            offers = {
                o.package_id: o.provider_id for o in list_offers(session, state=OfferState.OFFERED)
            }
            label = active_policy(session).label
        return BookView(version, label, HeldBook.of(scenario, offers))
