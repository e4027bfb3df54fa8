"""Brokerage requests against a held book: shortlists, batch recommendations, and that neither ever
takes capacity someone else already holds."""

from __future__ import annotations

import pytest
from builders import PARAMS, package, policy, provider, scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from allocator.brokerage import HeldBook, recommend, shortlists
from allocator.errors import ScenarioError
from allocator.model import Band
from allocator.policy import Lot, Rotation
from allocator.validate import check_allocation


def _book(**offers: str) -> HeldBook:
    """A (rank 1, 120 morning minutes) and B (rank 2) in North; C serves only South."""
    providers = [
        provider("A", rank=1, morning=120),
        provider("B", rank=2, morning=600),
        provider("C", zones=("South",)),
        provider("E", rank=3, status="embargoed"),
    ]
    packages = [
        package("held", minutes=90, current="A"),
        package("new", minutes=60),
        package("other", minutes=30),
    ]
    return HeldBook.of(scenario(providers, packages), offers)


def test_shortlist_ranks_by_the_policy_and_puts_full_providers_last() -> None:
    (shortlist,) = shortlists(_book(), ["new"])
    assert shortlist.recommended.provider_id == "B"
    assert [(o.provider_id, o.has_room) for o in shortlist.options] == [("B", True), ("A", False)]
    full = shortlist.options[1]
    assert full.decided_by == "cascade"
    assert "had only 30 of the 60 morning minutes this package needs left" in full.reason
    assert {(r.provider_id, r.rule) for r in shortlist.ruled_out} == {
        ("C", "zone"),
        ("E", "embargo"),
    }


def test_an_open_offer_holds_capacity_and_the_request_releases_its_own() -> None:
    (free,) = shortlists(_book(), ["other"])
    assert free.recommended.provider_id == "A"
    (held,) = shortlists(_book(new="A"), ["other"])
    assert held.recommended.provider_id == "B"
    (own,) = shortlists(_book(other="A"), ["other"])
    assert own.recommended.provider_id == "A"


def test_an_open_move_holds_room_at_both_providers_until_the_request_releases_both() -> None:
    book = _book(held="B")  # "held" (90 minutes, placed with A) is offered a move to B
    assert (book.holds["held"], dict(book.moving)) == ("A", {"held": "B"})
    assert book.load[:2, 0].tolist() == [90, 90]  # A's and B's morning minutes
    (other,) = shortlists(book, ["other"])  # A keeps "held" while the move is open
    assert other.recommended.provider_id == "A"
    morning = {p.id: p.capacity(Band.MORNING) for p in book.request(["new"]).providers}
    assert (morning["A"], morning["B"]) == (30, 510)
    morning = {p.id: p.capacity(Band.MORNING) for p in book.request(["held"]).providers}
    assert (morning["A"], morning["B"]) == (120, 600)


def test_a_package_with_no_room_anywhere_has_no_recommendation_but_a_reason() -> None:
    book = HeldBook.of(
        scenario([provider("A", morning=60)], [package("held", current="A"), package("new")])
    )
    (shortlist,) = shortlists(book, ["new"])
    assert shortlist.recommended is None and shortlist.unplaced is not None
    assert [o.has_room for o in shortlist.options] == [False]
    assert shortlist.options[0].reason.startswith("No provider has room for it now.")


def test_a_capped_lot_counts_what_its_providers_already_hold() -> None:
    rules = policy().model_copy(
        update={"lots": (Lot(name="backup", providers=("B",), max_weekly_hours=2),)}
    )
    book = HeldBook.of(
        scenario(
            [provider("A", rank=1, morning=0), provider("B", rank=2)],
            [package("held", minutes=90, current="B"), package("new", minutes=60)],
            rules,
        )
    )
    (shortlist,) = shortlists(book, ["new"])
    assert shortlist.recommended is None and shortlist.unplaced is not None
    assert (
        "backup lot, which had only 0.5 hours a week left under its cap"
        in shortlist.options[0].reason
    )


def test_the_week_off_provider_is_offered_only_when_the_week_on_provider_is_full() -> None:
    rotation = Rotation(zone="North", on="On", off="Off", share=0.8)
    rules = policy().model_copy(update={"rotations": (rotation,)})
    providers = [provider("On", rank=2, morning=60), provider("Off", rank=1)]
    book = HeldBook.of(scenario(providers, [package("new"), package("big", minutes=120)], rules))
    new, big = shortlists(book, ["new", "big"])
    assert new.recommended.provider_id == "On"
    assert big.recommended.provider_id == "Off"


def test_unknown_and_repeated_packages_are_named_together() -> None:
    with pytest.raises(ScenarioError) as rejected:
        shortlists(_book(), ["new", "nobody", "new"])
    assert [str(e) for e in rejected.value.errors] == [
        "request, field 'package_ids': new listed twice",
        "request, field 'package_ids': unknown package nobody",
    ]


def test_a_batch_is_placed_together_within_what_is_left() -> None:
    """Left: A 120 - 90 = 30 minutes, B 600. Both fit only if "other" takes A's last 30."""
    allocation = recommend(_book(), ["new", "other"], PARAMS)
    assert allocation.assignment == {"new": "B", "other": "A"}
    assert all(level.optimal for level in allocation.levels)


def test_the_same_request_on_the_same_book_gives_the_same_answer() -> None:
    first = recommend(_book(), ["new", "other"], PARAMS)
    again = recommend(_book(), ["new", "other"], PARAMS)
    assert first.placements == again.placements


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    capacities=st.lists(st.integers(0, 300), min_size=2, max_size=4),
    needs=st.lists(st.sampled_from([30, 45, 60, 90, 120]), min_size=2, max_size=8),
    held=st.lists(st.integers(-1, 3), min_size=8, max_size=8),
)
def test_held_placements_plus_a_recommendation_keep_every_hard_rule(
    capacities: list[int], needs: list[int], held: list[int]
) -> None:
    """Whatever is held, the batch's plan added to it passes the independent checker."""
    providers = [provider(f"P{i}", rank=i + 1, morning=m) for i, m in enumerate(capacities)]
    packages, used = [], [0] * len(capacities)
    for k, minutes in enumerate(needs):
        p = held[k]
        current = None
        if 0 <= p < len(capacities) and used[p] + minutes <= capacities[p]:
            used[p] += minutes
            current = f"P{p}"
        packages.append(package(f"K{k}", minutes=minutes, current=current))
    book = HeldBook.of(scenario(providers, packages))
    waiting = [k.id for k in packages if k.current_provider is None]
    if not waiting:
        return
    allocation = recommend(book, waiting, PARAMS)
    whole = {k.id: k.current_provider for k in packages if k.current_provider}
    assert set(whole).isdisjoint(allocation.assignment)
    whole.update(allocation.assignment)
    assert check_allocation(book.scenario, whole) == []
    for shortlist in shortlists(book, waiting):
        if shortlist.recommended is not None:
            single = {k: v for k, v in whole.items() if k not in allocation.assignment}
            single[shortlist.package_id] = shortlist.recommended.provider_id
            assert check_allocation(book.scenario, single) == []


def test_a_package_every_provider_rules_out_is_diagnosed() -> None:
    book = HeldBook.of(scenario([provider("A")], [package("lost", zone="South")]))
    (shortlist,) = shortlists(book, ["lost"])
    assert shortlist.options == () and shortlist.recommended is None
    assert shortlist.unplaced is not None
    assert shortlist.unplaced.diagnosis == "No provider on the framework serves zone South."


def test_capacities_beyond_any_market_are_refused_at_the_boundary() -> None:
    with pytest.raises(ValidationError):
        provider("A", morning=10**12)
    with pytest.raises(ValidationError):
        provider("A", max_weekly_hours=1e300)
