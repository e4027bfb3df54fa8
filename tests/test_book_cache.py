"""The service's held book catches up with the store row by row, and is always exactly the book
a full read gives: after any sequence of offers and moves and their answers, hand-backs, pins,
provider and package changes, policy switches and imports, on SQLite or (when configured)
PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, suppress
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test
from sqlalchemy.orm import Session
from test_store_support import POLICY_TOML, Book, any_book, fill, package, provider

from allocator.errors import ScenarioError
from allocator.model import ProviderStatus
from api.book_cache import BookCache, BookView
from store.book import changes_since
from store.book_state import bump_version
from store.database import snapshot, write_transaction
from store.errors import StoreError
from store.offers import (
    accept_offer,
    decline_offer,
    hand_back,
    list_offers,
    make_move_offer,
    make_offer,
    start_placement,
    withdraw_offer,
)
from store.packages import create_package, list_packages, update_package
from store.policies import add_policy
from store.providers import create_provider, get_provider, update_provider
from store.tables import OfferState, PackageState

SECOND_POLICY_TOML = POLICY_TOML.replace('version = "1"', 'version = "2"') + (
    "\n[hard_filters]\nembargo = false\n"
)
"""The same framework with embargoes lifted: a switch changes what every provider may take."""
PROVIDERS = ("P1", "P2", "P3")
NEW_PROVIDERS = ("P0", "P9")
"""P0 sorts first, so adding it moves every provider's row of the held load."""
PACKAGES = ("K1", "K2", "K3", "K4", "K5")
NEW_PACKAGES = ("K0", "K6")
BROKER = ("alice", "broker")
DESK = ("desk", "provider")


def import_book(book: Book) -> None:
    """P1-P3 with room for two or three morning hours; K1 placed with P1, K2 pinned to P2."""
    fill(
        book,
        [provider("P1", morning=180), provider("P2", morning=120), provider("P3", morning=60)],
        [
            package("K1", current_provider="P1"),
            package("K2", current_provider="P2", pinned=True),
            package("K3"),
            package("K4", minutes=30),
            package("K5", minutes=45, band="tea"),
        ],
    )


@pytest.fixture(params=["sqlite", "postgres"])
def book(request: pytest.FixtureRequest, tmp_path: Path):
    with any_book(request.param, tmp_path) as book:
        import_book(book)
        yield book


def assert_as_read_whole(view: BookView, book: Book) -> None:
    fresh = BookCache(book.sessions).view()
    assert (view.version, view.policy_version) == (fresh.version, fresh.policy_version)
    assert view.book.scenario.policy == fresh.book.scenario.policy
    assert view.book.scenario.providers == fresh.book.scenario.providers
    assert view.book.scenario.packages == fresh.book.scenario.packages
    assert view.book.holds == fresh.book.holds
    assert view.book.moving == fresh.book.moving
    assert view.book.load.dtype == fresh.book.load.dtype
    assert np.array_equal(view.book.load, fresh.book.load)


def offers_in(book: Book, state: OfferState) -> list[int]:
    with book.sessions() as session:
        return [offer.id for offer in list_offers(session, state=state)]


def packages_in(book: Book, state: PackageState) -> list[str]:
    with book.sessions() as session:
        return [found.id for found in list_packages(session, state)]


def change(book: Book, step: Callable[[Session], object]) -> None:
    with write_transaction(book.sessions) as session:
        step(session)


def refused() -> AbstractContextManager[None]:
    """A step the store refuses leaves the book as it was, which the cache must see too."""
    return suppress(StoreError, ScenarioError, ValueError)


nth = st.integers(0, 5)
"""Which of the packages or offers a step needs (counting round)."""
providers = st.sampled_from(PROVIDERS + NEW_PROVIDERS)
packages = st.sampled_from(PACKAGES + NEW_PACKAGES)


class Brokerage(RuleBasedStateMachine):
    """A day's changes to the book in any order, with the service's cache looked at in between
    (so some refreshes take in one change and some many)."""

    def __init__(self, book: Book) -> None:
        super().__init__()
        self.book = book
        import_book(book)
        self.cache = BookCache(book.sessions)
        self.cache.view()

    def waiting(self) -> list[str]:
        return packages_in(self.book, PackageState.WAITING)

    def offered(self) -> list[int]:
        return offers_in(self.book, OfferState.OFFERED)

    @precondition(lambda self: self.waiting())
    @rule(i=nth, provider_id=providers)
    def offer(self, i: int, provider_id: str) -> None:
        waiting = self.waiting()
        with refused():
            make_offer(self.book.sessions, waiting[i % len(waiting)], provider_id, *BROKER)

    def movable(self) -> list[tuple[str, str]]:
        """(package, provider) of each placed package that is not pinned."""
        with self.book.sessions() as session:
            placed = list_packages(session, PackageState.PLACED)
        return [(k.id, k.provider_id) for k in placed if not k.package.pinned]

    @precondition(lambda self: self.movable())
    @rule(i=nth, j=nth)
    def offer_move(self, i: int, j: int) -> None:
        movable = self.movable()
        package_id, current = movable[i % len(movable)]
        elsewhere = [p for p in PROVIDERS if p != current]
        with refused():
            make_move_offer(self.book.sessions, package_id, elsewhere[j % 2], *BROKER)

    @precondition(lambda self: self.offered())
    @rule(i=nth, answer=st.sampled_from(["accept", "decline", "withdraw"]))
    def answer(self, i: int, answer: str) -> None:
        offered = self.offered()
        offer_id = offered[i % len(offered)]
        if answer == "accept":
            with refused():  # a move of a package pinned since it was offered
                accept_offer(self.book.sessions, offer_id, *DESK)
        elif answer == "decline":
            decline_offer(self.book.sessions, offer_id, "no carers", *DESK)
        else:
            withdraw_offer(self.book.sessions, offer_id, *BROKER)

    @precondition(lambda self: offers_in(self.book, OfferState.ACCEPTED))
    @rule(i=nth)
    def start(self, i: int) -> None:
        accepted = offers_in(self.book, OfferState.ACCEPTED)
        start_placement(self.book.sessions, accepted[i % len(accepted)], *DESK)

    @precondition(lambda self: packages_in(self.book, PackageState.PLACED))
    @rule(i=nth)
    def hand_back(self, i: int) -> None:
        placed = packages_in(self.book, PackageState.PLACED)
        hand_back(self.book.sessions, placed[i % len(placed)], "carers left", *DESK)

    @rule(provider_id=providers, morning=st.sampled_from([0, 60, 120, 240]))
    def new_capacity(self, provider_id: str, morning: int) -> None:
        with refused(), write_transaction(self.book.sessions) as session:
            capacity = dict(get_provider(session, provider_id).capacity_minutes)
            update_provider(
                session, provider_id, {"capacity_minutes": {**capacity, "morning": morning}}
            )

    @rule(provider_id=providers)
    def embargo_or_lift(self, provider_id: str) -> None:
        with refused(), write_transaction(self.book.sessions) as session:
            embargoed = get_provider(session, provider_id).status == "embargoed"
            update_provider(
                session, provider_id, {"status": "active" if embargoed else "embargoed"}
            )

    @rule(provider_id=st.sampled_from(NEW_PROVIDERS))
    def new_provider(self, provider_id: str) -> None:
        with refused():
            change(self.book, lambda session: create_provider(session, provider(provider_id)))

    @rule(package_id=st.sampled_from(NEW_PACKAGES), provider_id=st.none() | providers)
    def new_package(self, package_id: str, provider_id: str | None) -> None:
        made = package(package_id, minutes=30, current_provider=provider_id)
        with refused():
            change(self.book, lambda session: create_package(session, made))

    @rule(package_id=packages, minutes=st.sampled_from([15, 30, 60]))
    def review(self, package_id: str, minutes: int) -> None:
        visits = [{"days": ["mon", "fri"], "band": "morning", "minutes": minutes}]
        with refused():
            change(
                self.book, lambda session: update_package(session, package_id, {"visits": visits})
            )

    @rule(package_id=packages, pinned=st.booleans())
    def pin(self, package_id: str, pinned: bool) -> None:
        with refused():
            change(
                self.book,
                lambda session: update_package(session, package_id, {"pinned": pinned}),
            )

    @rule(package_id=packages, provider_id=providers)
    def exclude(self, package_id: str, provider_id: str) -> None:
        excluded = {"excluded_providers": [provider_id]}
        with refused():
            change(self.book, lambda session: update_package(session, package_id, excluded))

    @rule(text=st.sampled_from([POLICY_TOML, SECOND_POLICY_TOML]))
    def switch_policy(self, text: str) -> None:
        change(self.book, lambda session: add_policy(session, text, activate=True))

    @rule()
    def import_again(self) -> None:
        import_book(self.book)

    @rule()
    def look(self) -> None:
        assert_as_read_whole(self.cache.view(), self.book)

    def teardown(self) -> None:
        self.look()


def test_the_book_caught_up_is_the_book_read_whole(book: Book) -> None:
    run_state_machine_as_test(
        lambda: Brokerage(book),
        settings=settings(
            max_examples=30,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_catching_up_reads_only_the_changed_rows(book: Book) -> None:
    cache = BookCache(book.sessions)
    before = cache.view().book.scenario
    offer = make_offer(book.sessions, "K3", "P1", *BROKER)
    decline_offer(book.sessions, offer.id, "no carers", *DESK)
    change(book, lambda session: update_provider(session, "P2", {"status": "embargoed"}))
    after = cache.view().book.scenario
    assert all(after.package_by_id[k] is before.package_by_id[k] for k in PACKAGES if k != "K3")
    assert after.package_by_id["K3"].excluded_providers == ("P1",)
    assert after.provider_by_id["P1"] is before.provider_by_id["P1"]
    assert after.provider_by_id["P2"].status is ProviderStatus.EMBARGOED
    assert_as_read_whole(cache.view(), book)


def test_a_move_holds_both_rooms_until_answered_and_the_cache_follows_it(book: Book) -> None:
    cache = BookCache(book.sessions)
    cache.view()
    moved = make_move_offer(book.sessions, "K1", "P3", *BROKER)
    view = cache.view()
    assert (view.book.holds["K1"], dict(view.book.moving)) == ("P1", {"K1": "P3"})
    assert_as_read_whole(view, book)
    accept_offer(book.sessions, moved.id, *DESK)
    view = cache.view()
    assert (view.book.holds["K1"], dict(view.book.moving)) == ("P3", {})
    assert_as_read_whole(view, book)
    back = make_move_offer(book.sessions, "K1", "P1", *BROKER)
    decline_offer(book.sessions, back.id, "no carers", *DESK)
    again = make_move_offer(book.sessions, "K1", "P2", *BROKER)
    assert cache.view().book.moving == {"K1": "P2"}
    hand_back(book.sessions, "K1", "carers left", *DESK)
    view = cache.view()
    assert "K1" not in view.book.holds and view.book.moving == {}
    assert view.book.scenario.package_by_id["K1"].excluded_providers == ("P1",)
    assert_as_read_whole(view, book)
    with book.sessions() as session:
        states = [(o.id, o.state) for o in list_offers(session, package_id="K1")]
    assert states == [
        (moved.id, OfferState.HANDED_BACK),
        (back.id, OfferState.DECLINED),
        (again.id, OfferState.WITHDRAWN),
    ]


@pytest.mark.parametrize(
    "whole_change",
    [
        lambda session: add_policy(session, SECOND_POLICY_TOML, activate=True),
        lambda session: bump_version(session),
    ],
    ids=["policy switch", "a change naming no rows"],
)
def test_a_change_to_the_whole_book_is_read_whole(book: Book, whole_change) -> None:
    cache = BookCache(book.sessions)
    before = cache.view()
    change(book, whole_change)
    with snapshot(book.sessions) as session:
        assert changes_since(session, before.version) is None
    after = cache.view()
    assert after.book.scenario.package_by_id["K1"] is not before.book.scenario.package_by_id["K1"]
    assert_as_read_whole(after, book)


def test_the_book_is_in_one_order_whatever_the_databases_collation(book: Book) -> None:
    ids = ["K-2", "K.0", "K1", "K3", "K_1", "k3"]  # en-US collation: K_1, K-2, K.0, K1, k3, K3
    fill(book, [provider("P1"), provider("P-1"), provider("p0")], [package(k) for k in ids])
    cache = BookCache(book.sessions)
    assert [k.id for k in cache.view().book.scenario.packages] == sorted(ids)
    assert [p.id for p in cache.view().book.scenario.providers] == ["P-1", "P1", "p0"]
    change(book, lambda session: create_package(session, package("K-1")))
    assert [k.id for k in cache.view().book.scenario.packages] == sorted([*ids, "K-1"])
    assert_as_read_whole(cache.view(), book)
