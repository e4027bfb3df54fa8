"""Trades for a placement level: more placed, never worse on what is held."""

import math

from builders import package, policy, provider, scenario
from hypothesis import given
from test_property import SETTINGS, framework_books, pair_table
from test_reassign import PLACEMENT, cascade_start, placements, plan_of

from allocator.goals import peak_utilisation
from allocator.policy import Goal
from allocator.reassign import Held
from allocator.repack import Repacking
from allocator.solve import LexicographicModel
from allocator.validate import check_allocation


def traded(book, where, goal, held=(), until=None, solved=(), relocate=False) -> dict[str, str]:
    pairs, rules = pair_table(book)
    plan = plan_of(book, pairs, where)
    repacking = Repacking(pairs, rules, plan, Held(tuple(held), 0), tuple(solved))
    repacking.place_more(goal, tries=10_000, deadline=math.inf, until=until, relocate=relocate)
    return placements(book, pairs, repacking.chosen)


def test_a_longer_package_takes_the_place_of_a_shorter_one_which_moves_where_it_fits():
    """A has room for 60 minutes, B for 30. S (30) holds A, and L (60) fits nowhere."""
    book = scenario(
        [provider("A", morning=60), provider("B", morning=30)],
        [package("S", minutes=30), package("L", minutes=60, excluded=["B"])],
    )
    assert traded(book, {"S": "A"}, Goal.HOURS_PLACED) == {"L": "A", "S": "B"}


def test_the_displaced_package_is_left_out_when_nothing_else_has_room():
    book = scenario([provider("A", morning=60)], [package("S", minutes=30), package("L")])
    assert traded(book, {"S": "A"}, Goal.HOURS_PLACED) == {"L": "A"}


def test_a_clock_already_past_stops_the_trades_and_says_so():
    """The clock is only a guard: past it, no trade is tried and the caller is told."""
    book = scenario([provider("A", morning=60)], [package("S", minutes=30), package("L")])
    pairs, rules = pair_table(book)
    plan = plan_of(book, pairs, {"S": "A"})
    repacking = Repacking(pairs, rules, plan, Held((), 0), ())
    assert repacking.place_more(Goal.HOURS_PLACED, tries=10_000, deadline=-math.inf)
    assert placements(book, pairs, repacking.chosen) == {"S": "A"}
    assert not repacking.place_more(Goal.HOURS_PLACED, tries=10_000, deadline=math.inf)
    assert placements(book, pairs, repacking.chosen) == {"L": "A"}


def test_trades_asked_to_relocate_move_a_person_in_care_to_make_room():
    """A and B have 60 minutes each; J, in care, holds A, which alone can take the urgent K.
    With people in care held, K may not take J's place; trades that may relocate (as the
    urgent level's do) move J to B, and trades that may not leave K out."""
    book = scenario(
        [provider("A", morning=60), provider("B", morning=60)],
        [package("J", current="A"), package("K", urgency="hospital_discharge", excluded=["B"])],
    )
    held = [(Goal.EXISTING_CARE, 1)]
    where = {"J": "A"}
    assert traded(book, where, Goal.URGENT_HOURS, held, relocate=True) == {"J": "B", "K": "A"}
    assert traded(book, where, Goal.URGENT_HOURS, held) == where


def test_relocating_moves_several_people_in_care_when_no_one_of_them_frees_enough():
    """The urgent U needs all of A's 120 minutes, which J and K, both in care, hold; J could
    go to B, K to C, each with 60 minutes free. Neither move alone lets U in; both do."""
    book = scenario(
        [provider("A", morning=120), provider("B", morning=60), provider("C", morning=60)],
        [
            package("J", current="A", excluded=["C"]),
            package("K", current="A", excluded=["B"]),
            package("U", minutes=120, urgency="hospital_discharge", excluded=["B", "C"]),
        ],
    )
    held = [(Goal.EXISTING_CARE, 2)]
    where = {"J": "A", "K": "A"}
    moved = traded(book, where, Goal.URGENT_HOURS, held, relocate=True)
    assert moved == {"J": "B", "K": "C", "U": "A"}


def test_the_urgent_levels_trades_set_aside_what_no_level_counts_and_put_it_back():
    """A, B and C have 60 minutes each. J, in care with A, could go to B, which the routine N
    holds; N could go to B or C; the urgent U only to A. Moving J to B to let U in takes N
    out of the way first: the urgent level counts neither N nor where it goes, so its trades
    set N aside, and put it back after where it still fits (C). The hours level counts N and
    sets nothing aside; nor does a level held that is minimised (cost), which moving N could
    worsen."""
    book = scenario(
        [provider(p, morning=60) for p in "ABC"],
        [
            package("J", current="A", excluded=["C"]),
            package("N", excluded=["A"]),
            package("U", urgency="hospital_discharge", excluded=["B", "C"]),
        ],
        policy(("existing_care", "urgent_hours", "hours_placed", "cost")),
    )
    pairs, rules = pair_table(book)
    model = LexicographicModel(pairs, rules)
    model._hold(Goal.EXISTING_CARE, 1)
    plan = plan_of(book, pairs, {"J": "A", "N": "B"})

    urgent, _ = model._plans.traded(Goal.URGENT_HOURS, plan, tries=1_000, deadline=math.inf)
    hours, _ = model._plans.traded(Goal.HOURS_PLACED, plan, tries=1_000, deadline=math.inf)

    assert placements(book, pairs, urgent) == {"J": "B", "U": "A", "N": "C"}
    assert check_allocation(book, placements(book, pairs, urgent)) == []
    assert placements(book, pairs, hours) == {"J": "A", "N": "B"}
    model._hold(Goal.COST, int(model.evaluate(Goal.COST, plan)))
    assert not model._plans.uncounted(Goal.URGENT_HOURS).any()


def test_a_weekly_cap_not_a_band_is_the_room_a_trade_frees():
    """A has 120 morning minutes but a weekly cap of 60, filled by N and M (30 each, free to go
    to B). J, in care with A (60, A only), fits A's band but not its cap: only displacing both
    N and M, which then move to B, makes room."""
    book = scenario(
        [provider("A", morning=120, max_weekly_hours=1), provider("B", morning=120)],
        [
            package("J", current="A", excluded=["B"]),
            package("N", minutes=30),
            package("M", minutes=30),
        ],
    )
    where = {"N": "A", "M": "A"}
    assert traded(book, where, Goal.EXISTING_CARE) == {"J": "A", "N": "B", "M": "B"}


def test_a_held_level_keeps_the_person_it_counts():
    """S is in care with A: with the existing-care level held, L may not take S's place."""
    book = scenario(
        [provider("A", morning=60)], [package("S", minutes=30, current="A"), package("L")]
    )
    where = {"S": "A"}
    assert traded(book, where, Goal.HOURS_PLACED, held=[(Goal.EXISTING_CARE, 1)]) == where
    assert traded(book, where, Goal.HOURS_PLACED) == {"L": "A"}


def test_several_packages_make_room_for_one_worth_more_than_all_of_them():
    """The urgent U needs all of A's 90 minutes, which three routine packages hold."""
    routine = [package(f"R{i}", minutes=30) for i in range(3)]
    book = scenario(
        [provider("A", morning=90)],
        [*routine, package("U", minutes=90, urgency="hospital_discharge")],
    )
    where = {f"R{i}": "A" for i in range(3)}
    assert traded(book, where, Goal.URGENT_HOURS) == {"U": "A"}
    assert traded(book, where, Goal.HOURS_PLACED) == where  # 90 minutes either way


def test_a_repair_moves_a_package_a_held_level_counts_to_make_room():
    """J, in care with A, is left out; A is full with the urgent K, which B has room for.
    With urgent hours held, K cannot be left out, but a repair moves it to B. Trades for
    more (no `until`) do not move others, so they leave J out."""
    book = scenario(
        [provider("A", morning=60), provider("B", morning=60)],
        [
            package("J", current="A", excluded=["B"]),
            package("K", urgency="hospital_discharge"),
        ],
    )
    held = [(Goal.URGENT_HOURS, 60)]
    where = {"K": "A"}
    repaired = traded(book, where, Goal.EXISTING_CARE, held, until=1)
    assert repaired == {"J": "A", "K": "B"}
    assert traded(book, where, Goal.EXISTING_CARE, held) == where


def test_the_package_a_solved_level_counts_is_displaced_last():
    """L (45) needs 30 more minutes than A has left, which either of the 30-minute packages
    frees. With urgent hours solved before, L takes the routine R's place, not the urgent U's;
    with no level solved, the first one A holds (U) goes."""
    book = scenario(
        [provider("A", morning=75)],
        [package("U", minutes=30, urgency="hospital_discharge"), package("R", minutes=30)]
        + [package("L", minutes=45)],
    )
    where = {"U": "A", "R": "A"}
    solved = (Goal.URGENT_HOURS,)
    assert traded(book, where, Goal.HOURS_PLACED, solved=solved) == {"U": "A", "L": "A"}
    assert traded(book, where, Goal.HOURS_PLACED) == {"R": "A", "L": "A"}


@SETTINGS
@given(framework_books())
def test_trades_keep_every_hard_rule_and_every_held_level(book):
    """From the cascade's plan, each placement goal in turn, holding the ones before."""
    pairs, rules, model, plan = cascade_start(book)
    held: list[tuple[Goal, int]] = []
    for goal in PLACEMENT:
        before = model.evaluate(goal, plan)
        solved = tuple(g for g, _ in held)
        repacking = Repacking(pairs, rules, plan, Held(tuple(held), 0), solved)
        repacking.place_more(goal, tries=5_000, deadline=math.inf)
        plan = repacking.chosen
        after = model.evaluate(goal, plan)
        assert after >= before
        for g, value in held:
            assert model.evaluate(g, plan) >= value, g
        held.append((goal, after))
    assert check_allocation(book, placements(book, pairs, plan)) == []
    assert peak_utilisation(pairs, plan) <= 1000
