"""Lot caps and week-on / week-off rotations: hand-made cases with known answers.

Every result goes through `builders.solve`, which holds it to the independent validator.
"""

import pytest
from builders import CASCADE, level_values, package, policy, provider, scenario, solve

from allocator.errors import ScenarioError
from allocator.policy import Policy, Rotation
from allocator.validate import check_allocation


def with_rules(base: Policy, **rules: object) -> Policy:
    return Policy.model_validate({**base.model_dump(), **rules})


# -- lot caps ---------------------------------------------------------------------------------


def backup_book(cap_hours: float | None):
    """Three 60-minute referrals that only the two backup providers (in one lot) can take."""
    lot = {"name": "backup", "providers": ["B1", "B2"], "max_weekly_hours": cap_hours}
    return scenario(
        [provider("B1", tier=2, morning=120), provider("B2", tier=2, morning=120)],
        [package(f"K{n}") for n in range(3)],
        with_rules(policy(), lots=[lot]),
    )


@pytest.mark.parametrize("strategy", [None, CASCADE])
def test_a_lot_cap_limits_what_its_providers_take_together(strategy):
    book = backup_book(cap_hours=2)
    allocation = solve(book) if strategy is None else solve(book, strategy)

    assert len(allocation.assignment) == 2
    (left,) = allocation.unplaced
    assert left.reason_code == "framework"
    assert "belongs to the backup lot, which had only 0.0 hours a week left under its cap" in (
        left.diagnosis
    )


def test_an_uncapped_lot_is_only_a_label():
    assert len(solve(backup_book(cap_hours=None)).assignment) == 3


def test_the_validator_catches_a_lot_over_its_cap():
    book = backup_book(cap_hours=2)
    violations = check_allocation(book, {"K0": "B1", "K1": "B1", "K2": "B2"})

    assert [v.rule for v in violations] == ["lot_cap"]


# -- rotations --------------------------------------------------------------------------------


def rotation_book(on_minutes: int, referrals: int = 5, goals=("hours_placed", "preferences")):
    """A is on its week (rank 1), B off (rank 2); each referral would rather have B."""
    return scenario(
        [provider("A", rank=1, morning=on_minutes), provider("B", rank=2, morning=600)],
        [package(f"K{n}", preferred_provider="B") for n in range(referrals)],
        with_rules(policy(goals), rotations=[Rotation(zone="North", on="A", off="B")]),
    )


def test_the_week_on_provider_keeps_its_share_when_it_has_room():
    allocation = solve(rotation_book(on_minutes=600))

    assert sorted(allocation.assignment.values()) == ["A", "A", "A", "A", "B"]
    assert level_values(allocation) == {"hours_placed": 300, "preferences": 1}


def test_without_the_rotation_preferences_send_everyone_to_the_week_off_provider():
    book = rotation_book(on_minutes=600)
    free = scenario(book.providers, book.packages, policy(("hours_placed", "preferences")))

    assert set(solve(free).assignment.values()) == {"B"}


def test_the_week_off_provider_takes_what_the_week_on_provider_has_no_room_for():
    allocation = solve(rotation_book(on_minutes=120))

    assert sorted(allocation.assignment.values()) == ["A", "A", "B", "B", "B"]
    assert level_values(allocation)["hours_placed"] == 300


def test_the_cascade_offers_the_week_on_provider_first_and_keeps_the_rotation():
    allocation = solve(rotation_book(on_minutes=120), CASCADE)

    assert sorted(allocation.assignment.values()) == ["A", "A", "B", "B", "B"]


def test_existing_placements_do_not_count_towards_the_rotation():
    book = rotation_book(on_minutes=600, referrals=1)
    existing = package("E", current="B", preferred_provider="B")
    book = scenario(book.providers, (*book.packages, existing), book.policy)
    allocation = solve(book)

    assert allocation.assignment == {"K0": "A", "E": "B"}


def test_the_validator_catches_a_week_on_provider_below_its_share():
    book = rotation_book(on_minutes=600)
    violations = check_allocation(book, {f"K{n}": "B" for n in range(5)} | {"K0": "A"})

    assert [v.rule for v in violations] == ["rotation"]
    assert "has 1 of 5 new referrals it had room for, below its share of 80%" in (
        violations[0].message
    )


def test_a_rotation_naming_an_unknown_provider_is_an_input_error():
    book = rotation_book(on_minutes=600)
    bad = with_rules(book.policy, rotations=[Rotation(zone="North", on="A", off="GHOST")])

    with pytest.raises(ScenarioError) as rejected:
        scenario(book.providers, book.packages, bad)

    (error,) = rejected.value.errors
    assert (error.field, error.message) == ("rotations[0].off", "no provider has id 'GHOST'")


def test_a_referral_the_week_on_provider_may_not_take_is_free_for_the_week_off_provider():
    book = scenario(
        [provider("A", rank=1, morning=600), provider("B", rank=2, morning=600)],
        [package("K0", excluded=("A",)), package("K1", excluded=("A",))],
        with_rules(policy(), rotations=[Rotation(zone="North", on="A", off="B")]),
    )

    assert solve(book).assignment == {"K0": "B", "K1": "B"}


def test_the_cascade_keeps_the_rotation_even_when_the_week_off_provider_ranks_first():
    book = scenario(
        [provider("A", rank=2, morning=600), provider("B", rank=1, morning=600)],
        [package(f"K{n}") for n in range(5)],
        with_rules(policy(), rotations=[Rotation(zone="North", on="A", off="B")]),
    )
    allocation = solve(book, CASCADE)

    assert allocation.assignment == {"K0": "A", "K1": "A", "K2": "A", "K3": "A", "K4": "B"}


def test_a_placement_the_rotation_forced_is_explained_by_the_rotation():
    """The week-off provider is cheaper, but moving the only referral there would leave the
    week-on provider with none of them (below even a 50 % share): the rotation, not cost,
    decided it."""
    book = scenario(
        [provider("A", rank=1, morning=600, rate=25), provider("B", rank=1, morning=600)],
        [package("K0")],
        with_rules(
            policy(("hours_placed", "cost")),
            rotations=[Rotation(zone="North", on="A", off="B", share=0.5)],
        ),
    )
    (placed,) = solve(book).placements

    assert placed.provider_id == "A" and placed.best_alternative == "B"
    assert placed.why_not_alternative == (
        "is the week-off provider in North, and the week-on provider must take at least 50% "
        "of the zone's new referrals"
    )


def test_a_referral_the_share_needs_with_the_week_on_provider_is_explained_by_the_rotation():
    """Found by the property test: K0 could go to C for less, but the week-off provider has K1,
    so K0 is the week-on provider's only referral and moving it would break the 50 % share."""
    book = scenario(
        [
            provider("A", rank=1, capacity={"tea": 120, "bed": 120}, rate=16),
            provider("B", rank=1, capacity={"bed": 120}, rate=14),
            provider("C", rank=1, capacity={"tea": 120}, rate=15),
        ],
        [package("K0", minutes=15, band="tea"), package("K1", minutes=15, band="bed")],
        with_rules(
            policy(("hours_placed", "cost")),
            rotations=[Rotation(zone="North", on="A", off="B", share=0.5)],
        ),
    )
    placed = {p.package_id: p for p in solve(book).placements}

    assert placed["K0"].provider_id == "A" and placed["K0"].best_alternative == "C"
    assert placed["K0"].why_not_alternative == (
        "would take the referral from the week-on provider in North, which must keep at least "
        "50% of the zone's new referrals"
    )
