"""Two brokers racing for a provider's last capacity: exactly one wins, every time, whether they
race in two threads or two processes, on SQLite or (when configured) PostgreSQL.

Each round has its own provider with room for one 60-minute morning call and two packages that
each need it; both brokers start the round together (a barrier) and offer their package.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from test_store_support import any_book, fill, package, provider, race_processes

from store.capacity import committed_minutes
from store.errors import Conflict
from store.offers import list_offers, make_offer
from store.tables import OfferState

ROUNDS = 20
SIDES = ("A", "B")


def fill_race(book) -> None:
    fill(
        book,
        [provider(f"R{r:02}", morning=60) for r in range(ROUNDS)],
        [package(f"{side}{r:02}") for side in SIDES for r in range(ROUNDS)],
    )


def offer_each_round(sessions: sessionmaker[Session], side: str, barrier: Any) -> list[bool]:
    """Whether this broker's offer won, round by round; anything but a Conflict propagates."""
    won = []
    for r in range(ROUNDS):
        barrier.wait(timeout=60)
        try:
            make_offer(sessions, f"{side}{r:02}", f"R{r:02}", f"broker-{side}", "broker")
            won.append(True)
        except Conflict:
            won.append(False)
    return won


def check_one_winner_per_round(book, outcomes: dict[str, list[bool]]) -> None:
    assert all(isinstance(o, list) for o in outcomes.values()), outcomes
    wins = [sum(outcomes[side][r] for side in SIDES) for r in range(ROUNDS)]
    assert wins == [1] * ROUNDS
    with book.sessions() as session:
        offered = list_offers(session, state=OfferState.OFFERED)
        committed = committed_minutes(session, [f"R{r:02}" for r in range(ROUNDS)])
    assert Counter(o.provider_id for o in offered) == {f"R{r:02}": 1 for r in range(ROUNDS)}
    assert all(used["morning"] == 60 for used in committed.values())


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_racing_threads_never_double_book(kind: str, tmp_path: Path) -> None:
    with any_book(kind, tmp_path) as book:
        fill_race(book)
        barrier = threading.Barrier(len(SIDES))
        with ThreadPoolExecutor(len(SIDES)) as pool:
            futures = {
                side: pool.submit(offer_each_round, book.sessions, side, barrier) for side in SIDES
            }
            outcomes = {side: future.result() for side, future in futures.items()}
        check_one_winner_per_round(book, outcomes)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_racing_processes_never_double_book(kind: str, tmp_path: Path) -> None:
    with any_book(kind, tmp_path) as book:
        fill_race(book)
        book.engine.dispose()  # no connection may cross the fork
        outcomes = race_processes(book.url, SIDES, offer_each_round)
        check_one_winner_per_round(book, outcomes)
