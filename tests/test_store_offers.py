"""The offer lifecycle: each step's effect on the book, its audit event, and every refusal
(no room by band, by the provider's cap or by a lot's; a hard filter; a step out of order)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from test_store_support import LOT_POLICY_TOML, fill, package, provider, sqlite_book

from store.audit import events_for_package
from store.book import load_scenario_from_db
from store.book_state import book_version
from store.errors import Conflict, Ineligible, InvalidTransition, NotFound, Refused
from store.offers import (
    accept_offer,
    decline_offer,
    hand_back,
    list_offers,
    make_offer,
    start_placement,
    withdraw_offer,
)
from store.packages import get_package
from store.tables import OfferState, PackageState

BROKER = ("alice", "broker")
NORTH_DESK = ("north-desk", "provider")


@pytest.fixture
def book(tmp_path: Path):
    """P1 and P2 with room for one 60-minute morning call each; K1-K3 need one each."""
    with sqlite_book(tmp_path) as book:
        fill(
            book,
            [provider("P1", morning=60), provider("P2", morning=60)],
            [package("K1"), package("K2"), package("K3")],
        )
        yield book


def state_of(book, package_id: str) -> tuple[PackageState, str | None]:
    with book.sessions() as session:
        found = get_package(session, package_id)
    return found.state, found.provider_id


def version(book) -> int:
    with book.sessions() as session:
        return book_version(session)


def test_offer_accept_start_hand_back_with_the_trail_by_package(book) -> None:
    start = version(book)
    offer = make_offer(book.sessions, "K1", "P1", *BROKER)
    assert offer.state is OfferState.OFFERED
    assert state_of(book, "K1") == (PackageState.OFFERED, None)
    accepted = accept_offer(book.sessions, offer.id, *NORTH_DESK)
    assert accepted.state is OfferState.ACCEPTED
    assert state_of(book, "K1") == (PackageState.PLACED, "P1")
    with book.sessions() as session:
        assert load_scenario_from_db(session).package_by_id["K1"].current_provider == "P1"
    assert start_placement(book.sessions, offer.id, *NORTH_DESK).state is OfferState.STARTED
    handed = hand_back(book.sessions, "K1", "carers left the area", *NORTH_DESK)
    assert handed is not None
    assert (handed.id, handed.state, handed.reason) == (
        offer.id,
        OfferState.HANDED_BACK,
        "carers left the area",
    )
    with book.sessions() as session:
        back = get_package(session, "K1")
        events = events_for_package(session, "K1")
        history = list_offers(session, package_id="K1")
        assert load_scenario_from_db(session).package_by_id["K1"].current_provider is None
    assert (back.state, back.provider_id, back.waiting_since) == (
        PackageState.WAITING,
        None,
        date.today(),
    )
    assert [o.state for o in history] == [OfferState.HANDED_BACK]
    assert [(e.action, e.actor, e.role) for e in events] == [
        ("make_offer", "alice", "broker"),
        ("accept_offer", "north-desk", "provider"),
        ("start_placement", "north-desk", "provider"),
        ("hand_back", "north-desk", "provider"),
    ]
    assert all(e.policy_version == "Store test framework v1" for e in events)
    assert events[-1].result["offer"]["state"] == "handed_back"
    assert "carers left the area" in events[-1].explanation
    assert len({e.inputs_hash for e in events}) == 4
    assert version(book) == start + 4


def test_a_declined_pair_is_excluded_from_then_on(book) -> None:
    offer = make_offer(book.sessions, "K1", "P1", *BROKER)
    with pytest.raises(Refused, match="reason"):
        decline_offer(book.sessions, offer.id, "  ", *NORTH_DESK)
    declined = decline_offer(book.sessions, offer.id, "no dementia-trained carers", *NORTH_DESK)
    assert (declined.state, declined.reason) == (OfferState.DECLINED, "no dementia-trained carers")
    assert state_of(book, "K1") == (PackageState.WAITING, None)
    with book.sessions() as session:
        scenario = load_scenario_from_db(session)
        events = events_for_package(session, "K1")
    assert scenario.package_by_id["K1"].excluded_providers == ("P1",)
    assert scenario.package_by_id["K2"].excluded_providers == ()
    assert events[-1].action == "decline_offer"
    with pytest.raises(Ineligible, match="excluded for this person"):
        make_offer(book.sessions, "K1", "P1", *BROKER)
    assert make_offer(book.sessions, "K1", "P2", *BROKER).state is OfferState.OFFERED


def test_a_withdrawn_offer_frees_the_room_and_leaves_the_pair_open(book) -> None:
    offer = make_offer(book.sessions, "K1", "P1", *BROKER)
    with pytest.raises(Conflict):
        make_offer(book.sessions, "K2", "P1", *BROKER)
    withdraw_offer(book.sessions, offer.id, *BROKER, reason="sent to the wrong provider")
    assert state_of(book, "K1") == (PackageState.WAITING, None)
    assert make_offer(book.sessions, "K2", "P1", *BROKER).state is OfferState.OFFERED
    with book.sessions() as session:
        assert load_scenario_from_db(session).package_by_id["K1"].excluded_providers == ()


def test_the_last_morning_minutes_go_to_the_first_offer_only(book) -> None:
    make_offer(book.sessions, "K1", "P1", *BROKER)
    with pytest.raises(Conflict) as refused:
        make_offer(book.sessions, "K2", "P1", *BROKER)
    [short] = refused.value.shortfalls
    assert (short.provider_id, short.limit, short.needed_minutes, short.free_minutes) == (
        "P1",
        "morning",
        60,
        0,
    )
    assert "P1's morning capacity" in str(refused.value)
    assert state_of(book, "K2") == (PackageState.WAITING, None)


def test_a_placement_holds_its_room_as_the_offer_did(book) -> None:
    accept_offer(book.sessions, make_offer(book.sessions, "K1", "P1", *BROKER).id, *NORTH_DESK)
    with pytest.raises(Conflict, match="morning"):
        make_offer(book.sessions, "K2", "P1", *BROKER)
    hand_back(book.sessions, "K1", "no carers", *NORTH_DESK)
    assert make_offer(book.sessions, "K2", "P1", *BROKER).state is OfferState.OFFERED


def test_every_band_short_is_named(tmp_path: Path) -> None:
    need = package(
        "K1",
        visits=[
            {"days": ["mon"], "band": "morning", "minutes": 60},
            {"days": ["mon"], "band": "tea", "minutes": 30},
        ],
    )
    with sqlite_book(tmp_path) as book:
        fill(book, [provider("P1", morning=30, tea=0)], [need])
        with pytest.raises(Conflict) as refused:
            make_offer(book.sessions, "K1", "P1", *BROKER)
    assert [(s.limit, s.free_minutes) for s in refused.value.shortfalls] == [
        ("morning", 30),
        ("tea", 0),
    ]


def test_the_providers_weekly_hours_cap_is_kept(tmp_path: Path) -> None:
    with sqlite_book(tmp_path) as book:
        fill(book, [provider("P1", max_weekly_hours=1.5)], [package("K1"), package("K2")])
        make_offer(book.sessions, "K1", "P1", *BROKER)
        with pytest.raises(Conflict) as refused:
            make_offer(book.sessions, "K2", "P1", *BROKER)
    [short] = refused.value.shortfalls
    assert (short.limit, short.needed_minutes, short.free_minutes) == ("max_weekly_hours", 60, 30)


def test_a_capped_lot_counts_all_its_providers(tmp_path: Path) -> None:
    with sqlite_book(tmp_path) as book:
        fill(
            book,
            [provider("LOT-A"), provider("LOT-B"), provider("P1")],
            [package("K1"), package("K2", current_provider="LOT-B"), package("K3")],
            LOT_POLICY_TOML,
        )
        make_offer(book.sessions, "K1", "LOT-A", *BROKER)
        with pytest.raises(Conflict) as refused:
            make_offer(book.sessions, "K3", "LOT-A", *BROKER)
        assert make_offer(book.sessions, "K3", "P1", *BROKER).state is OfferState.OFFERED
    [short] = refused.value.shortfalls
    assert (short.limit, short.needed_minutes, short.free_minutes) == ("lot backup", 60, 0)


def test_an_embargoed_provider_gets_no_new_offers(tmp_path: Path) -> None:
    with sqlite_book(tmp_path) as book:
        fill(book, [provider("P1", status="embargoed")], [package("K1")])
        with pytest.raises(Ineligible, match="under embargo"):
            make_offer(book.sessions, "K1", "P1", *BROKER)
        assert state_of(book, "K1") == (PackageState.WAITING, None)


def test_steps_out_of_order_are_refused_and_change_nothing(book) -> None:
    offer = make_offer(book.sessions, "K1", "P1", *BROKER)
    before = version(book)
    with pytest.raises(InvalidTransition, match="not waiting"):
        make_offer(book.sessions, "K1", "P2", *BROKER)
    with pytest.raises(InvalidTransition):
        start_placement(book.sessions, offer.id, *NORTH_DESK)
    with pytest.raises(InvalidTransition, match="not placed"):
        hand_back(book.sessions, "K1", "no carers", *NORTH_DESK)
    decline_offer(book.sessions, offer.id, "no carers", *NORTH_DESK)
    for step in (accept_offer, start_placement):
        with pytest.raises(InvalidTransition, match="declined"):
            step(book.sessions, offer.id, *NORTH_DESK)
    with pytest.raises(InvalidTransition):
        withdraw_offer(book.sessions, offer.id, *BROKER)
    with pytest.raises(NotFound):
        accept_offer(book.sessions, 999, *NORTH_DESK)
    with pytest.raises(NotFound):
        make_offer(book.sessions, "K1", "NOBODY", *BROKER)
    assert version(book) == before + 1
    with book.sessions() as session:
        assert [e.action for e in events_for_package(session, "K1")] == [
            "make_offer",
            "decline_offer",
        ]


def test_an_imported_placement_can_be_handed_back(tmp_path: Path) -> None:
    with sqlite_book(tmp_path) as book:
        fill(book, [provider("P1")], [package("K1", current_provider="P1", pinned=True)])
        assert hand_back(book.sessions, "K1", "contract ended", *NORTH_DESK) is None
        with book.sessions() as session:
            back = load_scenario_from_db(session).package_by_id["K1"]
            [event] = events_for_package(session, "K1")
    assert (back.current_provider, back.pinned) == (None, False)
    assert (event.action, event.result["offer"]) == ("hand_back", None)
