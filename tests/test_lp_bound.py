"""The LP relaxation: hand-made cases whose relaxed optimum is known."""

import math
from unittest import mock

import numpy as np
from builders import package, policy, provider, scenario
from ortools.math_opt.io.python import mps_converter
from ortools.math_opt.python import mathopt
from test_property import pair_table

from allocator import lp_bound
from allocator.lp_bound import LpOutcome, LpRelaxation
from allocator.policy import Goal
from allocator.solve import LexicographicModel


def test_a_knapsack_the_relaxation_cannot_close_gives_the_fractional_bound() -> None:
    # 90 morning minutes, packages of 60 and 45: one fits, the LP fills the 90 with a fraction.
    book = scenario(
        [provider("A", morning=90)], [package("K1"), package("K2", minutes=45)], policy()
    )
    pairs, rules = pair_table(book)
    relaxed = LpRelaxation(pairs, rules).solve(Goal.HOURS_PLACED, 10)

    assert relaxed.value == 90
    assert relaxed.integer_bound(maximise=True) == 90
    assert int(((relaxed.x > 0) & (relaxed.x < 1)).sum()) == 1


def test_limits_are_cut_to_what_whole_packages_can_fill() -> None:
    # 90 morning minutes and two 60-minute packages: whole packages fill 60 or 120, so the
    # relaxation's room is 60 and its bound the integer optimum (it was 90 before the cut).
    book = scenario([provider("A", morning=90)], [package("K1"), package("K2")], policy())
    pairs, rules = pair_table(book)
    relaxed = LpRelaxation(pairs, rules).solve(Goal.HOURS_PLACED, 10)

    assert relaxed.integer_bound(maximise=True) == 60
    assert sorted(relaxed.x.tolist()) == [0.0, 1.0]


def test_a_pinned_load_is_kept_out_of_the_common_divisor() -> None:
    # A pinned 45-minute package uses 45 of 150; the free 60-minute packages fill 60 or 120 of
    # the 105 left, so the room is 45 + 60: one free package, not the LP's 1.75.
    book = scenario(
        [provider("A", morning=150)],
        [
            package("P", minutes=45, current="A", pinned=True),
            package("K1"),
            package("K2"),
        ],
        policy(),
    )
    pairs, rules = pair_table(book)
    relaxation = LpRelaxation(pairs, rules)

    assert relaxation.upper[3 + 0] == 105  # the morning row, after the three package rows
    assert relaxation.solve(Goal.HOURS_PLACED, 10).integer_bound(maximise=True) == 105


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


def test_the_integer_programme_has_the_integer_optimum_and_keeps_the_held_levels() -> None:
    # 90 morning minutes, packages of 60 and an urgent 45: whole, the 60 is the best (the
    # relaxation fills the 90); with 45 urgent minutes held, the 45 is all that fits.
    book = scenario(
        [provider("A", morning=90)],
        [package("K"), package("U", minutes=45, urgency="hospital_discharge")],
        policy(),
    )
    pairs, rules = pair_table(book)
    relaxation = LpRelaxation(pairs, rules)
    assert relaxation.solve(Goal.HOURS_PLACED, 10).value == 90

    assert integer_optimum(relaxation.integer_programme(Goal.HOURS_PLACED)) == 60
    relaxation.hold(Goal.URGENT_HOURS, 45)
    assert integer_optimum(relaxation.integer_programme(Goal.HOURS_PLACED)) == 45


def integer_optimum(programme: str) -> float:
    """A MIP solver's proved optimum of an MPS programme."""
    model = mathopt.Model.from_model_proto(mps_converter.mps_to_model_proto(programme))
    result = mathopt.solve(model, mathopt.SolverType.HIGHS)
    assert result.termination.reason is mathopt.TerminationReason.OPTIMAL
    return result.objective_value()


def test_the_peak_bound_spreads_the_held_load_over_the_capacity() -> None:
    # 120 and 240 morning minutes, two 60-minute packages. Placing nothing loads no one; with
    # both placed, the relaxation loads A and B in proportion (40 and 80 minutes): a third of
    # each, 333.3 per mille, where whole packages load someone to a half.
    book = scenario(
        [provider("A", morning=120), provider("B", morning=240)],
        [package("K1"), package("K2")],
        policy(),
    )
    pairs, rules = pair_table(book)
    relaxation = LpRelaxation(pairs, rules)
    assert relaxation.solve(Goal.FAIRNESS, 10).integer_bound(maximise=False) == 0

    relaxation.hold(Goal.HOURS_PLACED, 120)
    relaxed = relaxation.solve(Goal.FAIRNESS, 10)
    assert relaxed.integer_bound(maximise=False) == 334
    assert relaxed.x is None  # a bound alone: fairness has no value per pair to round by


def test_a_pinned_load_sets_the_least_peak() -> None:
    # A pinned 60 minutes fill A's 60: A is at 1000 per mille whatever else is placed.
    book = scenario(
        [provider("A", morning=60), provider("B", morning=240)],
        [package("P", current="A", pinned=True), package("K")],
        policy(),
    )
    pairs, rules = pair_table(book)

    assert LpRelaxation(pairs, rules).solve(Goal.FAIRNESS, 10).integer_bound(False) == 1000


def test_bounds_round_towards_the_feasible_side_only_past_the_tolerance() -> None:
    assert LpOutcome(41.9999999999, 0).integer_bound(maximise=True) == 42
    assert LpOutcome(41.7, 0).integer_bound(maximise=True) == 41
    assert LpOutcome(41.3, 0).integer_bound(maximise=False) == 42
    assert LpOutcome(None, 0).integer_bound(maximise=True) is None


def test_any_duals_give_a_bound_no_plan_can_beat() -> None:
    # Packages of 60 and 45 minutes, one 90-minute provider: the relaxed optimum is 90 minutes.
    book = scenario(
        [provider("A", morning=90)], [package("K1"), package("K2", minutes=45)], policy()
    )
    pairs, rules = pair_table(book)
    relaxation = LpRelaxation(pairs, rules)
    rows = relaxation.matrix.shape[0]
    for duals in np.random.default_rng(0).normal(0, 50, size=(200, rows)):
        assert relaxation._dual_bound(Goal.HOURS_PLACED, duals) >= 90 - 1e-9
    # At the optimal prices (a morning minute worth 1, no package row priced) the bound is tight.
    optimal = np.array([0.0, 0.0, 1.0] + [0.0] * (rows - 3))
    assert relaxation._dual_bound(Goal.HOURS_PLACED, optimal) == 90


def test_a_level_held_below_its_best_is_held_as_one_row() -> None:
    # Two urgent packages, room for one: holding 60 urgent minutes leaves 30 for the other.
    book = scenario(
        [provider("A", morning=90)],
        [
            package("U1", urgency="hospital_discharge"),
            package("U2", minutes=45, urgency="hospital_discharge"),
        ],
        policy(),
    )
    pairs, rules = pair_table(book)
    relaxation = LpRelaxation(pairs, rules)
    relaxation.hold(Goal.URGENT_HOURS, 60)

    assert relaxation.matrix.shape[0] == 2 + 5 + 1  # packages, bands, the held level
    assert relaxation.solve(Goal.HOURS_PLACED, 10).integer_bound(maximise=True) == 90


def test_a_level_that_places_all_it_counts_is_held_package_by_package() -> None:
    book = scenario(
        [provider("A", morning=120)],
        [package("U", urgency="hospital_discharge"), package("R1"), package("R2")],
        policy(),
    )
    pairs, rules = pair_table(book)
    relaxation = LpRelaxation(pairs, rules)
    relaxation.hold(Goal.URGENT_HOURS, 60)

    assert relaxation.matrix.shape[0] == 3 + 5  # no extra row: U's own row must be whole
    relaxed = relaxation.solve(Goal.HOURS_PLACED, 10)
    assert relaxed.integer_bound(maximise=True) == 120
    assert relaxed.x[pairs.package == 0].sum() == 1.0  # U, the first package, placed whole


def test_sifting_stopped_by_its_round_cap_is_no_time_out() -> None:
    """The cap stops every machine at the same round, so the result stays reproducible; the
    bound from the first round's prices is still a bound."""
    book = scenario(
        [provider("A", rank=1, morning=60), provider("B", rank=2, morning=60)],
        [package(f"K{k}", minutes=45) for k in range(3)],
        policy(),
    )
    pairs, rules = pair_table(book)
    with (
        mock.patch.object(lp_bound, "SIFTING_PAIRS", 0),
        mock.patch.object(lp_bound, "FIRST_PAIRS", 1),
        mock.patch.object(lp_bound, "SIFTING_ROUNDS", 1),
    ):
        relaxed = LpRelaxation(pairs, rules).solve(Goal.HOURS_PLACED, 10)
    assert not relaxed.timed_out
    assert relaxed.integer_bound(maximise=True) >= 120  # the true optimum: two of three fit


def sifting_book():
    """Four 45-minute packages; A (rank 1) and B (rank 2) have 90 morning minutes each, and K0
    has been with B: the optimum places all four, two each."""
    return scenario(
        [provider("A", rank=1, morning=90), provider("B", rank=2, morning=90)],
        [package("K0", minutes=45, current="B")]
        + [package(f"K{k}", minutes=45) for k in range(1, 4)],
        policy(),
    )


def test_sifting_starts_people_in_care_with_their_provider_alone() -> None:
    pairs, rules = pair_table(sifting_book())
    with (
        mock.patch.object(lp_bound, "SIFTING_PAIRS", 0),
        mock.patch.object(lp_bound, "FIRST_PAIRS", 2),
    ):
        columns = LpRelaxation(pairs, rules)._first_columns(None)

    in_care = pairs.package == 0
    assert columns[in_care].tolist() == pairs.is_current[in_care].tolist()
    assert columns[~in_care].all()  # the waiting packages start with both their providers


def test_a_sifted_level_starts_from_the_pairs_the_last_level_placed() -> None:
    pairs, rules = pair_table(sifting_book())
    with (
        mock.patch.object(lp_bound, "SIFTING_PAIRS", 0),
        mock.patch.object(lp_bound, "FIRST_PAIRS", 1),
    ):
        relaxation = LpRelaxation(pairs, rules)
        first = relaxation._first_columns(None)
        relaxed = relaxation.solve(Goal.HOURS_PLACED, 10)
        then = relaxation._first_columns(None)

    placed = relaxed.x > 0
    assert (placed & ~first).any()  # the optimum needed pairs the first round lacked
    assert (then == (first | placed)).all()


def test_sifting_one_pair_a_round_still_reaches_the_optimum() -> None:
    pairs, rules = pair_table(sifting_book())
    whole = LpRelaxation(pairs, rules).solve(Goal.HOURS_PLACED, 10)
    with (
        mock.patch.object(lp_bound, "SIFTING_PAIRS", 0),
        mock.patch.object(lp_bound, "FIRST_PAIRS", 1),
        mock.patch.object(lp_bound, "SIFTING_BATCH", 1),
    ):
        sifted = LpRelaxation(pairs, rules).solve(Goal.HOURS_PLACED, 10)

    assert whole.integer_bound(maximise=True) == 180
    assert sifted.integer_bound(maximise=True) == 180
    assert not sifted.timed_out


def test_a_round_adds_the_pairs_that_pay_most_and_none_it_has() -> None:
    pairs, rules = pair_table(sifting_book())
    relaxation = LpRelaxation(pairs, rules)
    objective = pairs.coefficients(Goal.HOURS_PLACED).astype(float)
    objective[pairs.package == 2] *= 2  # K2 pays twice what the others do at zero prices
    has = pairs.package == 1
    duals = np.zeros(relaxation.matrix.shape[0])
    with mock.patch.object(lp_bound, "SIFTING_BATCH", 2):
        paying = relaxation._paying(Goal.HOURS_PLACED, objective, duals, has)

    assert paying.sum() == 2
    assert (pairs.package[paying] == 2).all()  # both of K2's pairs tie as its best
    assert not (paying & has).any()


def test_a_nudged_relaxation_out_of_time_falls_back_to_the_plain_one() -> None:
    # When the clock stops the nudged relaxation, the level solves the plain one (the quicker)
    # and keeps its bound and solution, marked as stopped by the clock.
    book = scenario([provider("A", morning=90)], [package("K1"), package("K2", minutes=45)])
    pairs, rules = pair_table(book)
    model = LexicographicModel(pairs, rules)
    solve = LpRelaxation.solve

    def nudged_out_of_time(self, goal, wall_s, plan=None, nudge=True):
        if nudge:
            return LpOutcome(None, wall_s, timed_out=True)
        return solve(self, goal, wall_s, plan, nudge)

    with mock.patch.object(LpRelaxation, "solve", nudged_out_of_time):
        relaxed = model._relaxation(Goal.HOURS_PLACED, 10, np.zeros(len(pairs), bool), math.inf)

    assert relaxed.value == 90 and relaxed.timed_out
    assert np.isclose(relaxed.x @ pairs.minutes, 90)


def test_a_peak_bound_out_of_time_is_not_solved_again() -> None:
    # Fairness has no nudged relaxation to fall back from: out of time, it stays without a bound.
    book = scenario([provider("A", morning=90)], [package("K1")])
    pairs, rules = pair_table(book)
    model = LexicographicModel(pairs, rules)
    stopped = LpOutcome(None, 10, timed_out=True)

    with mock.patch.object(LpRelaxation, "_peak_bound", return_value=stopped) as peak_bound:
        relaxed = model._relaxation(Goal.FAIRNESS, 10, np.zeros(len(pairs), bool), math.inf)

    assert peak_bound.call_count == 1
    assert relaxed.value is None and relaxed.timed_out


def test_a_sifted_book_has_no_peak_bound() -> None:
    # A county book's whole LP takes the simplex minutes: its fairness level keeps CP-SAT's bound.
    book = scenario([provider("A", morning=120)], [package("K1")], policy())
    pairs, rules = pair_table(book)
    with mock.patch.object(lp_bound, "SIFTING_PAIRS", 0):
        relaxed = LpRelaxation(pairs, rules).solve(Goal.FAIRNESS, 10)

    assert relaxed.value is None and not relaxed.timed_out
