"""A neighbourhood's model written over its free pairs alone (`LinearRows.restricted`) has the
same best plans as the whole model with the other pairs fixed, on random books."""

import numpy as np
from builders import package, policy, provider, scenario
from hypothesis import given
from hypothesis import strategies as st
from test_framework_rules import rotation_book
from test_property import SETTINGS, framework_books, pair_table
from test_reassign import placements, plan_of

from allocator.goals import MAXIMISED
from allocator.linear_rows import Submodel
from allocator.policy import Goal
from allocator.solve import Budget, LexicographicModel, SolveParams

EXACT = Budget(work=100.0, wall_s=60.0)
"""Enough for CP-SAT to prove these small models optimal."""


def optimum(model: LexicographicModel, goal: Goal, plan: np.ndarray, sub: Submodel | None):
    """The best value of `goal` CP-SAT proves over `sub` (default: the whole), and its plan."""
    maximise = goal in MAXIMISED
    found, outcome, _ = model._solve_level(
        goal, maximise, 1, EXACT, SolveParams(workers=1), plan, sub
    )
    assert outcome.optimal
    return outcome.value, found


def held_model(book) -> tuple[LexicographicModel, np.ndarray]:
    """The book's model with its best hours placed held, and a plan that reaches them."""
    model = LexicographicModel(*pair_table(book))
    model._set_objective(Goal.HOURS_PLACED, True)
    hours, plan = optimum(model, Goal.HOURS_PLACED, np.asarray(model.pairs.pinned), None)
    model._hold(Goal.HOURS_PLACED, hours)
    return model, plan


@given(
    book=framework_books().filter(lambda b: not b.policy.rotations),
    goal=st.sampled_from([Goal.COST, Goal.FAIRNESS, Goal.CONTINUITY]),
    seed=st.integers(0, 2**16),
    by_provider=st.booleans(),
)
@SETTINGS
def test_a_neighbourhood_alone_has_the_optimum_of_the_whole_with_the_rest_fixed(
    book, goal, seed, by_provider
) -> None:
    """Pairs freed at random, or a random half of the providers' (as provider groups free
    them: the other providers' rows then have no free pair, and only their loads bound the
    peak)."""
    model, plan = held_model(book)
    if goal is not Goal.FAIRNESS:  # a held peak: a row of the peak alone, kept in every model
        model._hold(Goal.FAIRNESS, model.evaluate(Goal.FAIRNESS, plan))
    rng = np.random.default_rng(seed)
    if by_provider:
        free = rng.random(len(book.providers))[model.pairs.provider] < 0.5
    else:
        free = rng.random(len(plan)) < 0.5
    model._set_objective(goal, goal in MAXIMISED)

    small = model._neighbourhood(free, plan)
    whole = Submodel(model._fixed_outside(free, plan), model._whole.pairs, model._x_index)
    value, found = optimum(model, goal, plan, small)

    assert small.pairs.tolist() == np.flatnonzero(free).tolist()
    assert value == optimum(model, goal, plan, whole)[0]
    assert model.evaluate(goal, found) == value
    assert (found[~free] == plan[~free]).all()  # the fixed pairs kept their values
    assert model._accepts(found, SolveParams())  # and the whole model accepts the plan


def test_with_a_rotation_rule_a_neighbourhood_fixes_the_rest_of_the_whole() -> None:
    """A rotation rule is not a linear row, so the neighbourhood keeps the whole model."""
    model, plan = held_model(rotation_book(on_minutes=120))
    free = np.arange(len(plan)) % 2 == 0

    neighbourhood = model._neighbourhood(free, plan)

    assert neighbourhood.pairs.tolist() == list(range(len(plan)))
    assert len(neighbourhood.model.proto.constraints) > len(model.model.proto.constraints)


def test_a_held_peak_binds_a_neighbourhood_whose_free_pairs_it_does_not_name() -> None:
    """K0 is fixed at A, K1 free between A (cheaper) and B; fairness is held at the peak of one
    package each (half of either's capacity). The held peak is a row of the peak variable alone,
    with no free pair: dropped, K1 would join K0 at A, over the held peak."""
    book = scenario(
        [provider("A", morning=120, rate=15.0), provider("B", morning=120, rate=30.0)],
        [package("K0", minutes=60), package("K1", minutes=60)],
        policy(("hours_placed", "fairness", "cost")),
    )
    pairs, rules = pair_table(book)
    model = LexicographicModel(pairs, rules)
    plan = plan_of(book, pairs, {"K0": "A", "K1": "B"})
    model._hold(Goal.HOURS_PLACED, model.evaluate(Goal.HOURS_PLACED, plan))
    model._hold(Goal.FAIRNESS, model.evaluate(Goal.FAIRNESS, plan))
    model._set_objective(Goal.COST, False)
    free = np.array([book.packages[k].id == "K1" for k in pairs.package])

    _, found = optimum(model, Goal.COST, plan, model._neighbourhood(free, plan))

    assert placements(book, pairs, found) == {"K0": "A", "K1": "B"}
