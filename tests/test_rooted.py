"""HiGHS's root node on a core of a placement level (`LexicographicModel._rooted`)."""

import numpy as np
from test_framework_rules import rotation_book
from test_property import pair_table
from test_provider_groups import chain_book, urgent_book, urgent_held
from test_reassign import placements, plan_of

from allocator import solve
from allocator.policy import Goal
from allocator.solve import LexicographicModel, SolveParams
from allocator.validate import check_allocation

PARAMS = SolveParams(seed=0)


def test_the_root_finds_the_chain_no_single_move_makes() -> None:
    book = chain_book()
    pairs, rules = pair_table(book)
    model = LexicographicModel(pairs, rules)
    plan = plan_of(book, pairs, {"P": "B", "R": "C"})

    rooted, cut_short, work = model._rooted(Goal.HOURS_PLACED, plan, PARAMS, wall_s=60)

    assert not cut_short
    assert placements(book, pairs, rooted) == {"P": "A", "Q": "B", "R": "C"}  # the optimum
    assert work == len(pairs) * solve.ROOT_WORK_PER_PAIR  # every pair is in this core


def test_a_core_too_large_is_not_solved(monkeypatch) -> None:
    monkeypatch.setattr(solve, "ROOT_MAX_PAIRS", 1)
    book = chain_book()
    pairs, rules = pair_table(book)
    plan = plan_of(book, pairs, {"P": "B", "R": "C"})

    rooted, cut_short, work = LexicographicModel(pairs, rules)._rooted(
        Goal.HOURS_PLACED, plan, PARAMS, wall_s=60
    )

    assert (rooted is plan, cut_short, work) == (True, False, 0.0)


def test_root_plans_keep_the_held_level_and_every_rule_and_never_beat_the_optimum() -> None:
    """On random books with urgent minutes held at their brute-force optimum: whatever the root
    returns keeps them, passes the independent validator, and places no more than the
    brute-force optimum of hours; it never returns a plan worse than its start."""
    rng = np.random.default_rng(5)
    for _ in range(8):
        book = urgent_book(rng)
        pairs, model, urgent, hours = urgent_held(book)
        start = _urgent_first(model, pairs)

        rooted, _, _ = model._rooted(Goal.HOURS_PLACED, start, PARAMS, wall_s=60)

        assert model.evaluate(Goal.URGENT_HOURS, rooted) >= urgent
        assert (
            model.evaluate(Goal.HOURS_PLACED, start)
            <= model.evaluate(Goal.HOURS_PLACED, rooted)
            <= hours
        )
        assert check_allocation(book, placements(book, pairs, rooted)) == []


def _urgent_first(model: LexicographicModel, pairs) -> np.ndarray:
    """A plan at the urgent level's optimum, from CP-SAT on that level alone."""
    model._set_objective(Goal.URGENT_HOURS, True)
    budget = solve.Budget(work=10.0, wall_s=30.0)
    start = np.zeros(len(pairs), dtype=bool)
    plan, outcome, _ = model._solve_level(Goal.URGENT_HOURS, True, 1, budget, PARAMS, start)
    assert outcome.optimal
    return plan


def test_a_plan_that_breaks_a_rotation_is_not_accepted() -> None:
    """The programme HiGHS solves leaves rotations out, so the whole model checks its plans:
    A is on its week and must take its share of the referrals."""
    book = rotation_book(on_minutes=600)
    pairs, rules = pair_table(book)
    model = LexicographicModel(pairs, rules)
    everyone = [f"K{n}" for n in range(5)]

    all_off = plan_of(book, pairs, dict.fromkeys(everyone, "B"))
    shared = plan_of(book, pairs, {**dict.fromkeys(everyone, "A"), "K4": "B"})

    assert not model._accepts(all_off, PARAMS)
    assert model._accepts(shared, PARAMS)
    assert check_allocation(book, placements(book, pairs, all_off)) != []


def test_a_root_plan_the_whole_model_refuses_is_not_taken(monkeypatch) -> None:
    """The root's better plan on the chain book (see above) is dropped when the whole model
    does not accept it, as it would not one that breaks a rotation (test above): the start
    stays."""
    monkeypatch.setattr(LexicographicModel, "_accepts", lambda self, plan, params: False)
    book = chain_book()
    pairs, rules = pair_table(book)
    plan = plan_of(book, pairs, {"P": "B", "R": "C"})

    rooted, _, _ = LexicographicModel(pairs, rules)._rooted(
        Goal.HOURS_PLACED, plan, PARAMS, wall_s=60
    )

    assert placements(book, pairs, rooted) == {"P": "B", "R": "C"}
