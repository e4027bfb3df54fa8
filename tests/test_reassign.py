"""Shifts and swaps of placed packages: better on the goal, never worse on what is held."""

import dataclasses
from unittest import mock

import numpy as np
from builders import package, policy, provider, scenario
from hypothesis import given
from test_property import SETTINGS, framework_books, pair_table

from allocator import lp_bound
from allocator.cascade import cascade_allocation
from allocator.goals import MAXIMISED, peak_utilisation
from allocator.lp_bound import LpRelaxation
from allocator.policy import Goal, Policy, Rotation
from allocator.reassign import REASSIGNABLE, Held, Reassignment
from allocator.solve import LexicographicModel, SolveParams
from allocator.validate import check_allocation

PLACEMENT = (Goal.EXISTING_CARE, Goal.URGENT_HOURS, Goal.HOURS_PLACED)
FOREVER = float("inf")


def plan_of(book, pairs, where: dict[str, str]) -> np.ndarray:
    """The plan placing each package id at the provider id given."""
    package_ids = [k.id for k in book.packages]
    provider_ids = [p.id for p in book.providers]
    return np.array(
        [
            where.get(package_ids[k]) == provider_ids[p]
            for k, p in zip(pairs.package, pairs.provider, strict=True)
        ]
    )


def placements(book, pairs, plan: np.ndarray) -> dict[str, str]:
    return {
        book.packages[k].id: book.providers[p].id
        for k, p in zip(pairs.package[plan], pairs.provider[plan], strict=True)
    }


def improved(book, where: dict[str, str], goal: Goal, held=(), least_kept=0) -> dict[str, str]:
    pairs, rules = pair_table(book)
    plan = Reassignment(pairs, rules, plan_of(book, pairs, where), Held(tuple(held), least_kept))
    assert plan.improve(goal, tries=10_000, deadline=FOREVER) is False
    return placements(book, pairs, plan.chosen)


def cascade_start(book):
    """The book's pairs, rules and model, and the cascade's plan: where property tests of
    improving a plan start."""
    pairs, rules = pair_table(book)
    return pairs, rules, LexicographicModel(pairs, rules), cascade_allocation(pairs, rules)


def two_full_providers(**a_options):
    """A and B each hold one 60-minute morning call. J is in care with A but placed at B; the
    new package K is at A."""
    return scenario(
        [provider("A", morning=60, **a_options), provider("B", morning=60, north_of_home=0.05)],
        [package("J", current="A"), package("K")],
    )


def test_a_swap_takes_a_person_home_when_neither_provider_has_room():
    book = two_full_providers()
    assert improved(book, {"J": "B", "K": "A"}, Goal.CONTINUITY) == {"J": "A", "K": "B"}


def test_a_shift_is_enough_where_the_home_provider_has_room():
    book = two_full_providers(capacity={"morning": 120})
    assert improved(book, {"J": "B", "K": "A"}, Goal.CONTINUITY) == {"J": "A", "K": "A"}


def test_no_swap_makes_a_held_level_worse():
    """Taking J home (A, £30 an hour) sends the 45-minute K to B (£20): £45 a week instead of
    £42.50. With cost held where it is, J stays; with it not held, J goes home."""
    book = scenario(
        [provider("A", morning=60, rate=30), provider("B", morning=60, rate=20)],
        [package("J", current="A"), package("K", minutes=45)],
    )
    pairs, _ = pair_table(book)
    where = {"J": "B", "K": "A"}
    cost = int(pairs.coefficients(Goal.COST)[plan_of(book, pairs, where)].sum())
    assert improved(book, where, Goal.CONTINUITY, held=[(Goal.COST, cost)]) == where
    assert improved(book, where, Goal.CONTINUITY) == {"J": "A", "K": "B"}


def test_a_held_fairness_peak_stops_a_shift_that_would_load_a_provider_past_it():
    """A has room for both, but both at A would load it to 1000 per mille, past a held 500."""
    book = two_full_providers(capacity={"morning": 120})
    where = {"J": "B", "K": "A"}
    assert improved(book, where, Goal.CONTINUITY, held=[(Goal.FAIRNESS, 500)]) == where


def test_the_move_budget_stops_a_cheaper_shift_that_would_move_someone_from_home():
    """J is at home with A; B is cheaper and has room. Cost moves J to B unless the move
    budget keeps one person at home."""
    book = scenario(
        [provider("A", morning=60, rate=30), provider("B", morning=120, rate=15)],
        [package("J", current="A"), package("K")],
    )
    where = {"J": "A", "K": "B"}
    assert improved(book, where, Goal.COST) == {"J": "B", "K": "B"}
    assert improved(book, where, Goal.COST, least_kept=1) == where


def test_a_rotation_keeps_the_week_on_providers_share_however_much_cheaper_the_other_is():
    """A is on its week in North and must take every new referral it has room for; B, off its
    week, is cheaper and has room. Without the rule, cost would move N to B."""
    providers = [provider("A", morning=60, rate=30), provider("B", morning=60, rate=15)]
    packages = [package("N")]
    book = scenario(providers, packages)
    assert improved(book, {"N": "A"}, Goal.COST) == {"N": "B"}
    week_on = Rotation(zone="North", on="A", off="B", share=1.0)
    rules = Policy.model_validate({**book.policy.model_dump(), "rotations": [week_on]})
    assert improved(scenario(providers, packages, rules), {"N": "A"}, Goal.COST) == {"N": "A"}


def test_a_sifted_level_too_short_for_its_relaxation_moves_and_swaps_instead():
    """On a county-sized (sifted) book whose last relaxation took longer than the continuity
    level's share, that level's relaxation is not started, and the swap still takes J home.
    U (only at A, which is full) keeps the hours level from being proved without a relaxation."""
    book = scenario(
        [provider("A", morning=60), provider("B", morning=60, north_of_home=0.05)],
        [package("J", current="A"), package("K"), package("U", excluded=["B"])],
        policy(("hours_placed", "continuity")),
    )
    pairs, rules = pair_table(book)
    relaxed: list[Goal] = []
    original = LpRelaxation.solve

    def slow(self, goal, *args, **kwargs):
        relaxed.append(goal)
        return dataclasses.replace(original(self, goal, *args, **kwargs), seconds=1e6)

    model = LexicographicModel(pairs, rules)
    start = plan_of(book, pairs, {"J": "B", "K": "A"})
    with (
        mock.patch.object(lp_bound, "SIFTING_PAIRS", 0),
        mock.patch.object(LpRelaxation, "solve", slow),
    ):
        plan, outcomes = model.solve(book.policy.goals, SolveParams(time_limit_s=10), start)

    assert relaxed == [Goal.HOURS_PLACED]
    assert placements(book, pairs, plan) == {"J": "A", "K": "B"}
    assert [o.value for o in outcomes] == [120, 1]


@SETTINGS
@given(framework_books())
def test_moves_keep_every_hard_rule_every_held_level_and_every_placement(book):
    """From the cascade's plan, each reassignable goal in turn, holding the ones before."""
    pairs, rules, model, plan = cascade_start(book)
    placed = set(pairs.package[plan].tolist())
    held = [(g, model.evaluate(g, plan)) for g in PLACEMENT]
    for goal in [g for g in Goal if g in REASSIGNABLE]:
        before = model.evaluate(goal, plan)
        state = Reassignment(pairs, rules, plan, Held(tuple(held), 0))
        state.improve(goal, tries=5_000, deadline=FOREVER)
        plan = state.chosen
        after = model.evaluate(goal, plan)
        assert (after >= before) if goal in MAXIMISED else (after <= before)
        for g, value in held:
            now = model.evaluate(g, plan)
            assert (now >= value) if g in MAXIMISED else (now <= value), g
        held.append((goal, after))
    assert set(pairs.package[plan].tolist()) == placed
    assert check_allocation(book, placements(book, pairs, plan)) == []
    assert peak_utilisation(pairs, plan) <= 1000
