"""The LP relaxation: hand-made cases whose relaxed optimum is known."""

from builders import package, policy, provider, scenario
from test_property import pair_table

from allocator.lp_bound import LpOutcome, LpRelaxation
from allocator.policy import Goal


def test_a_knapsack_the_relaxation_cannot_close_gives_the_fractional_bound() -> None:
    # One provider with 90 morning minutes and two 60-minute packages: one fits, the LP takes 1.5.
    book = scenario([provider("A", morning=90)], [package("K1"), package("K2")], policy())
    pairs, rules = pair_table(book)
    relaxed = LpRelaxation(pairs, rules).solve(Goal.HOURS_PLACED, 10)

    assert relaxed.value == 90
    assert relaxed.integer_bound(maximise=True) == 90
    assert sorted(relaxed.x.tolist()) == [0.5, 1.0]


def test_a_held_level_constrains_the_next() -> None:
    # Placing the urgent 60 minutes leaves room for nothing else with the 60-minute provider.
    book = scenario(
        [provider("A", morning=60)],
        [package("U", urgency="hospital_discharge"), package("R", minutes=45)],
        policy(),
    )
    pairs, rules = pair_table(book)
    relaxation = LpRelaxation(pairs, rules)
    relaxation.hold(Goal.URGENT_HOURS, 60)

    assert relaxation.solve(Goal.HOURS_PLACED, 10).integer_bound(maximise=True) == 60


def test_bounds_round_towards_the_feasible_side_only_past_the_tolerance() -> None:
    assert LpOutcome(41.9999999999, 0).integer_bound(maximise=True) == 42
    assert LpOutcome(41.7, 0).integer_bound(maximise=True) == 41
    assert LpOutcome(41.3, 0).integer_bound(maximise=False) == 42
    assert LpOutcome(None, 0).integer_bound(maximise=True) is None
