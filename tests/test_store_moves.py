"""Move offers in the store: a placed package offered to another provider holds room at both until
it is answered; acceptance moves it (ending the offer that placed it) and nothing else does; a
rebalance job's proposal travels with the offer; and a move racing a placement for a provider's
last room never lets both win, in threads or processes, on SQLite or (when configured) PostgreSQL.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from test_store_support import any_book, fill, package, provider, race_processes, sqlite_book

from store.capacity import committed_minutes
from store.database import write_transaction
from store.errors import Conflict, InvalidTransition, NotFound
from store.jobs import create_job, mark_running, succeed
from store.move_proposals import REBALANCE
from store.offers import (
    accept_offer,
    hand_back,
    list_offers,
    make_move_offer,
    make_offer,
    start_placement,
)
from store.packages import get_package, update_package
from store.tables import OfferKind, OfferState, PackageState

BROKER = ("alice", "broker")
DESK = ("desk", "provider")
ROUNDS = 10
SIDES = ("move", "place")


@pytest.fixture
def book(tmp_path: Path):
    """K1 placed with P1 (60 morning minutes, full); P2 and P3 have room for one such call."""
    with sqlite_book(tmp_path) as book:
        fill(
            book,
            [provider("P1", morning=60), provider("P2", morning=60), provider("P3", morning=60)],
            [package("K1", current_provider="P1"), package("K2")],
        )
        yield book


def morning_used(book) -> dict[str, int]:
    with book.sessions() as session:
        committed = committed_minutes(session, ["P1", "P2", "P3"])
    return {pid: used["morning"] for pid, used in committed.items()}


def placed_with(book, package_id: str) -> tuple[PackageState, str | None]:
    with book.sessions() as session:
        found = get_package(session, package_id)
    return found.state, found.provider_id


def test_a_move_holds_both_rooms_and_acceptance_ends_the_offer_that_placed_it(book) -> None:
    placing = make_offer(book.sessions, "K2", "P2", *BROKER)
    accept_offer(book.sessions, placing.id, *DESK)
    start_placement(book.sessions, placing.id, *DESK)
    move = make_move_offer(book.sessions, "K2", "P3", *BROKER)
    assert (move.kind, move.from_provider_id, move.state) == (
        OfferKind.MOVE,
        "P2",
        OfferState.OFFERED,
    )
    assert placed_with(book, "K2") == (PackageState.PLACED, "P2")
    assert morning_used(book) == {"P1": 60, "P2": 60, "P3": 60}
    accept_offer(book.sessions, move.id, *DESK)
    assert placed_with(book, "K2") == (PackageState.PLACED, "P3")
    assert morning_used(book) == {"P1": 60, "P2": 0, "P3": 60}
    with book.sessions() as session:
        ended = list_offers(session, package_id="K2")[0]
    assert (ended.state, ended.reason) == (OfferState.MOVED, f"moved to P3 (offer {move.id})")
    assert start_placement(book.sessions, move.id, *DESK).state is OfferState.STARTED


def test_a_package_pinned_since_the_move_was_offered_does_not_move(book) -> None:
    move = make_move_offer(book.sessions, "K1", "P2", *BROKER)
    with write_transaction(book.sessions) as session:
        update_package(session, "K1", {"pinned": True})
    with pytest.raises(InvalidTransition, match="pinned"):
        accept_offer(book.sessions, move.id, *DESK)
    assert placed_with(book, "K1") == (PackageState.PLACED, "P1")


def test_a_hand_back_withdraws_the_open_move(book) -> None:
    move = make_move_offer(book.sessions, "K1", "P2", *BROKER)
    hand_back(book.sessions, "K1", "carers left", *DESK)
    with book.sessions() as session:
        (withdrawn,) = list_offers(session, package_id="K1")
    assert (withdrawn.id, withdrawn.state) == (move.id, OfferState.WITHDRAWN)
    assert placed_with(book, "K1") == (PackageState.WAITING, None)
    assert morning_used(book) == {"P1": 0, "P2": 0, "P3": 0}


def rebalance_job(book, moves: list[dict[str, Any]], kind: str = REBALANCE) -> str:
    with write_transaction(book.sessions) as session:
        job = create_job(session, kind, {}, "alice")
        mark_running(session, job.id)
        succeed(session, job.id, {"moves": moves})
    return job.id


MOVE = {"package_id": "K1", "from_provider": "P1", "to_provider": "P2"}
MOVE |= {"frees": "room at P1", "gains": "places waiting people in its room"}


def test_a_move_cites_the_rebalance_job_that_proposed_it(book) -> None:
    job_id = rebalance_job(book, [MOVE])
    with pytest.raises(NotFound):
        make_move_offer(book.sessions, "K1", "P2", *BROKER, job_id="nope")
    with pytest.raises(InvalidTransition, match="proposed no move of K1 to P3"):
        make_move_offer(book.sessions, "K1", "P3", *BROKER, job_id=job_id)
    move = make_move_offer(book.sessions, "K1", "P2", *BROKER, job_id=job_id)
    assert (move.job_id, move.proposal) == (
        job_id,
        "frees room at P1; places waiting people in its room",
    )


@pytest.mark.parametrize(
    ("moves", "kind", "refused"),
    [
        ([{**MOVE, "from_provider": "P3"}], REBALANCE, "it is placed with P1 now"),
        ([MOVE], "solve", "no finished rebalance"),
    ],
    ids=["proposed from elsewhere", "not a rebalance"],
)
def test_a_job_that_did_not_propose_this_move_is_refused(
    book, moves: list[dict[str, Any]], kind: str, refused: str
) -> None:
    job_id = rebalance_job(book, moves, kind)
    with pytest.raises(Conflict if kind == REBALANCE else InvalidTransition, match=refused):
        make_move_offer(book.sessions, "K1", "P2", *BROKER, job_id=job_id)
    with book.sessions() as session:
        assert list_offers(session) == []


def fill_race(book) -> None:
    """Round r: R{r} has room for one 60-minute morning call; M{r} is placed with its home H{r}
    and W{r} waits, each needing that call."""
    homes = [provider(f"H{r:02}", morning=60) for r in range(ROUNDS)]
    rooms = [provider(f"R{r:02}", morning=60) for r in range(ROUNDS)]
    fill(
        book,
        homes + rooms,
        [package(f"M{r:02}", current_provider=f"H{r:02}") for r in range(ROUNDS)]
        + [package(f"W{r:02}") for r in range(ROUNDS)],
    )


def race(sessions: sessionmaker[Session], side: str, barrier: Any) -> list[bool]:
    """Whether this broker won each round: "move" offers M{r} a move, "place" offers W{r}."""
    won = []
    for r in range(ROUNDS):
        barrier.wait(timeout=60)
        try:
            if side == "move":
                make_move_offer(sessions, f"M{r:02}", f"R{r:02}", f"broker-{side}", "broker")
            else:
                make_offer(sessions, f"W{r:02}", f"R{r:02}", f"broker-{side}", "broker")
            won.append(True)
        except Conflict:
            won.append(False)
    return won


def check_one_winner_per_round(book, outcomes: dict[str, Any]) -> None:
    assert all(isinstance(o, list) for o in outcomes.values()), outcomes
    assert [outcomes["move"][r] + outcomes["place"][r] for r in range(ROUNDS)] == [1] * ROUNDS
    with book.sessions() as session:
        rooms = committed_minutes(session, [f"R{r:02}" for r in range(ROUNDS)])
        homes = committed_minutes(session, [f"H{r:02}" for r in range(ROUNDS)])
    assert all(used["morning"] == 60 for used in rooms.values())
    assert all(used["morning"] == 60 for used in homes.values())  # a move holds its home too


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_move_and_a_placement_racing_for_the_last_room_never_both_win(
    kind: str, tmp_path: Path
) -> None:
    with any_book(kind, tmp_path) as book:
        fill_race(book)
        barrier = threading.Barrier(2)
        with ThreadPoolExecutor(2) as pool:
            futures = {side: pool.submit(race, book.sessions, side, barrier) for side in SIDES}
            outcomes = {side: future.result() for side, future in futures.items()}
        check_one_winner_per_round(book, outcomes)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_racing_processes_never_double_book_with_a_move(kind: str, tmp_path: Path) -> None:
    with any_book(kind, tmp_path) as book:
        fill_race(book)
        book.engine.dispose()  # no connection may cross the fork
        outcomes = race_processes(book.url, SIDES, race)
        check_one_winner_per_round(book, outcomes)
