"""Providers and packages changed one at a time: validated by the core's models and checked
against the policy in force and the book, every change counted in the book's version."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from test_store_support import fill, package, provider, sqlite_book

from allocator.errors import ScenarioError
from allocator.model import ProviderStatus
from store.book import load_scenario_from_db
from store.book_state import book_version
from store.database import write_transaction
from store.errors import Conflict, Ineligible, NotFound
from store.offers import make_offer
from store.packages import create_package, get_package, list_packages, update_package
from store.providers import create_provider, get_provider, list_providers, update_provider
from store.tables import PackageState


@pytest.fixture
def book(tmp_path: Path):
    with sqlite_book(tmp_path) as book:
        fill(book, [provider("P1", morning=60)], [package("K1")])
        yield book


def version(book) -> int:
    with book.sessions() as session:
        return book_version(session)


def test_providers_are_created_read_and_listed(book) -> None:
    start = version(book)
    with write_transaction(book.sessions) as session:
        made = create_provider(session, provider("P2").model_dump(mode="json"))
    with book.sessions() as session:
        assert get_provider(session, "P2") == made
        assert [p.id for p in list_providers(session)] == ["P1", "P2"]
        with pytest.raises(NotFound):
            get_provider(session, "P9")
    assert version(book) == start + 1


def test_bad_or_duplicate_providers_are_refused(book) -> None:
    record = provider("P2").model_dump(mode="json")
    with pytest.raises(ValidationError), write_transaction(book.sessions) as session:
        create_provider(session, record | {"cqc_rating": "superb"})
    atlantis = record | {"zones": [{"zone": "Atlantis", "tier": 1}]}
    with pytest.raises(ScenarioError, match="not a zone"), write_transaction(book.sessions) as s:
        create_provider(s, atlantis)
    with pytest.raises(Conflict, match="already exists"), write_transaction(book.sessions) as s:
        create_provider(s, provider("P1"))
    with book.sessions() as session:
        assert [p.id for p in list_providers(session)] == ["P1"]


def test_an_embargo_and_new_capacity_are_record_updates(book) -> None:
    start = version(book)
    with write_transaction(book.sessions) as session:
        update_provider(session, "P1", {"status": "embargoed"})
    with pytest.raises(Ineligible, match="embargo"):
        make_offer(book.sessions, "K1", "P1", "alice", "broker")
    with write_transaction(book.sessions) as session:
        update_provider(session, "P1", {"status": "active"})
        capacity = get_provider(session, "P1").capacity_minutes
        update_provider(session, "P1", {"capacity_minutes": {**capacity, "morning": 0}})
    with pytest.raises(Conflict, match="morning"):
        make_offer(book.sessions, "K1", "P1", "alice", "broker")
    with book.sessions() as session:
        changed = load_scenario_from_db(session).provider_by_id["P1"]
    assert (changed.status, changed.capacity_minutes["morning"]) == (ProviderStatus.ACTIVE, 0)
    assert version(book) == start + 3
    with pytest.raises(ValidationError), write_transaction(book.sessions) as session:
        update_provider(session, "P1", {"capacity_minutes": {"morning": -5}})
    with pytest.raises(NotFound), write_transaction(book.sessions) as session:
        update_provider(session, "P9", {"status": "embargoed"})


def test_packages_are_created_waiting_or_placed(book) -> None:
    with write_transaction(book.sessions) as session:
        waiting = create_package(session, package("K2", zone=None))
        placed = create_package(session, package("K3", current_provider="P1"))
    assert (waiting.state, waiting.package.zone, waiting.waiting_since) == (
        PackageState.WAITING,
        "North",
        waiting.package.referral_date,
    )
    assert (placed.state, placed.provider_id) == (PackageState.PLACED, "P1")
    with book.sessions() as session:
        assert [k.id for k in list_packages(session, provider_id="P1")] == ["K3"]
        assert [k.id for k in list_packages(session, PackageState.WAITING)] == ["K1", "K2"]
        assert get_package(session, "K3").package.carer_minutes_per_week == 60


def test_bad_packages_are_refused(book) -> None:
    with pytest.raises(ValidationError), write_transaction(book.sessions) as session:
        create_package(session, package("K2").model_dump(mode="json") | {"visits": []})
    with pytest.raises(ScenarioError, match="no provider"), write_transaction(book.sessions) as s:
        create_package(s, package("K2", preferred_provider="P9"))
    with book.sessions() as session:
        assert [k.id for k in list_packages(session)] == ["K1"]


def test_a_package_review_changes_its_need_but_not_its_placement(book) -> None:
    start = version(book)
    longer = [{"days": ["mon", "tue"], "band": "morning", "minutes": 45}]
    with write_transaction(book.sessions) as session:
        reviewed = update_package(session, "K1", {"visits": longer})
    assert reviewed.package.carer_minutes_by_band()["morning"] == 90
    with pytest.raises(Conflict) as refused:
        make_offer(book.sessions, "K1", "P1", "alice", "broker")
    assert refused.value.shortfalls[0].needed_minutes == 90
    with pytest.raises(ValueError, match="through offers"), write_transaction(book.sessions) as s:
        update_package(s, "K1", {"current_provider": "P1"})
    with pytest.raises(NotFound), write_transaction(book.sessions) as session:
        update_package(session, "K9", {"urgency": "routine"})
    assert version(book) == start + 1
