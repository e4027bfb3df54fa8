"""Rounding a relaxed solution into a plan that keeps the levels already held."""

import numpy as np
from builders import package, policy, provider, scenario
from test_property import pair_table
from test_reassign import placements, plan_of

from allocator.policy import Goal
from allocator.rounding import Rounding
from allocator.solve import Budget, LexicographicModel, SolveParams


def split_urgent_model() -> tuple[LexicographicModel, dict[str, int]]:
    """A has 120 morning minutes, B 60. The urgent U (120) and N (60) can only go to A, M (60)
    only to B; urgent hours are held at 120, which only U at A gives."""
    book = scenario(
        [provider("A", morning=120), provider("B", morning=60)],
        [
            package("U", minutes=120, urgency="hospital_discharge", excluded=["B"]),
            package("N", minutes=60, excluded=["B"]),
            package("M", minutes=60, excluded=["A"]),
        ],
        policy(("urgent_hours", "hours_placed")),
    )
    pairs, rules = pair_table(book)
    model = LexicographicModel(pairs, rules)
    model._hold(Goal.URGENT_HOURS, 120)
    ids = [p.id for p in book.packages]
    return model, {ids[k]: i for i, k in enumerate(pairs.package)}


def relaxed(row: dict[str, int]) -> np.ndarray:
    """The relaxation's vertex: N and M whole, half of U beside N at A."""
    x = np.zeros(len(row))
    x[row["U"]], x[row["N"]], x[row["M"]] = 0.5, 1.0, 1.0
    return x


def placed(plan: np.ndarray, row: dict[str, int]) -> set[str]:
    return {package_id for package_id, i in row.items() if plan[i]}


def test_whole_packages_first_drop_the_held_urgent_package_and_held_first_keeps_it() -> None:
    model, row = split_urgent_model()
    none = np.zeros(len(row), dtype=bool)

    x = relaxed(row)
    whole_first = model._plans.rounded(x, none, model._plans.rounding_order(x))
    held_first = model._plans.rounded(x, none, model._plans.rounding_order(x, held_first=True))

    assert placed(whole_first, row) == {"N", "M"}  # U no longer fits beside N
    assert model._plans.breaks_held(whole_first)
    assert placed(held_first, row) == {"U", "M"}  # N no longer fits beside U
    assert not model._plans.breaks_held(held_first)


def test_rounding_out_of_time_still_returns_a_plan_that_keeps_the_held_level() -> None:
    model, row = split_urgent_model()
    plan = np.zeros(len(row), dtype=bool)
    plan[row["U"]] = True  # the urgent level's plan: U alone

    rounded, cut_short = model._plans.better_of(
        Goal.HOURS_PLACED, plan, relaxed(row), wall_s=0.0, tries=2_000
    )

    assert cut_short
    assert placed(rounded, row) == {"U", "M"}
    assert model.evaluate(Goal.HOURS_PLACED, rounded) == 180


def test_a_dropped_urgent_package_promoted_goes_where_the_relaxation_has_most_of_it() -> None:
    # A and B have 120 morning minutes each. The relaxation places W (30, A or B) whole at A,
    # V (60, B only) whole at B, and the urgent U (120) three quarters at A. Whole packages
    # first leave U no room; the urgent level's plan had U at B.
    book = scenario(
        [provider("A", morning=120), provider("B", morning=120)],
        [
            package("U", minutes=120, urgency="hospital_discharge"),
            package("W", minutes=30),
            package("V", minutes=60, excluded=["A"]),
        ],
        policy(("urgent_hours", "hours_placed")),
    )
    pairs, rules = pair_table(book)
    model = LexicographicModel(pairs, rules)
    model._hold(Goal.URGENT_HOURS, 120)
    x = 0.75 * plan_of(book, pairs, {"U": "A"}) + 0.25 * plan_of(book, pairs, {"U": "B"})
    x += plan_of(book, pairs, {"W": "A", "V": "B"})
    plan = plan_of(book, pairs, {"U": "B"})
    counted, order = model._plans.counted_by_held(plan), model._plans.rounding_order(x)

    first = model._plans.rounded(x, np.zeros(len(pairs), dtype=bool), order)
    anchored, _ = model._plans.kept_rounding(x, first, counted, order, False, stop_at=float("inf"))
    promoted, _ = model._plans.kept_rounding(x, first, counted, order, True, stop_at=float("inf"))

    assert model._plans.breaks_held(first)  # U dropped by the first pass
    assert placements(book, pairs, anchored) == {"U": "B", "W": "A"}  # V left out
    assert placements(book, pairs, promoted) == {"U": "A", "W": "B", "V": "B"}
    assert model.evaluate(Goal.HOURS_PLACED, promoted) == 210  # every package: the optimum


def urgent_blocked_model():
    """A has 120 morning minutes, B 60. The plan has the routine N (60) at A, where alone the
    urgent U (120) fits; the urgent W (60) fits only at B. The plain vertex places U, the
    nudged one (the plan's) keeps N."""
    book = scenario(
        [provider("A", morning=120), provider("B", morning=60)],
        [
            package("U", minutes=120, urgency="hospital_discharge", excluded=["B"]),
            package("W", minutes=60, urgency="hospital_discharge", excluded=["A"]),
            package("N", minutes=60, excluded=["B"]),
        ],
        policy(("urgent_hours", "hours_placed")),
    )
    pairs, rules = pair_table(book)
    model = LexicographicModel(pairs, rules)
    return model, book, pairs


def search_from_roundings(model, goal, guide, plan, work: float, nudged=None):
    """The level's search from `plan` with `work` units, guided by `guide`; the plan's own
    vertex is `nudged` (by default a copy of the plan)."""
    nudged = plan.astype(float) if nudged is None else nudged
    return model._rins_from_best_rounding(
        guide, nudged, goal, True, Budget(work, 5.0), SolveParams(), plan, tries=2_000
    )


def test_the_urgent_search_starts_from_the_plain_vertex_rounding_where_it_places_more() -> None:
    model, book, pairs = urgent_blocked_model()
    plan = plan_of(book, pairs, {"N": "A"})
    plain = plan_of(book, pairs, {"U": "A"}).astype(float)

    # No work for the search itself: what comes back is where it would have started.
    started, _, _ = search_from_roundings(model, Goal.URGENT_HOURS, plain, plan, 0)
    vertex = plan.astype(float)
    same, _, _ = search_from_roundings(model, Goal.URGENT_HOURS, vertex, plan, 0, vertex)
    hours, _, _ = search_from_roundings(model, Goal.HOURS_PLACED, plain, plan, 0)

    assert placements(book, pairs, started) == {"U": "A", "W": "B"}  # rounded, then traded
    assert (same == plan).all()  # the guide is the plan's own vertex
    assert (hours == plan).all()  # not a level that rounds the plain vertex


def test_a_search_that_gains_nothing_from_the_rounding_runs_from_the_plan_too(monkeypatch) -> None:
    model, book, pairs = urgent_blocked_model()
    plan = plan_of(book, pairs, {"N": "A"})
    rounded = plan_of(book, pairs, {"U": "A"})  # 120 urgent minutes
    best = plan_of(book, pairs, {"U": "A", "W": "B"})  # 180: what the search from the plan finds
    budgets: list[float] = []

    def search(guide, goal, maximise, budget, params, start):
        budgets.append(budget.work)
        return (best if start is plan else start), 1.5, False

    monkeypatch.setattr(Rounding, "better_of", lambda *args: (rounded, False))
    monkeypatch.setattr(model, "_rins", search)

    found, work, _ = search_from_roundings(model, Goal.URGENT_HOURS, rounded * 1.0, plan, 4.0)

    assert found is best
    assert work == 3.0
    assert budgets == [4.0, 2.5]  # the search from the plan gets what the first left


def test_a_search_that_gains_from_the_rounding_is_the_only_one(monkeypatch) -> None:
    model, book, pairs = urgent_blocked_model()
    plan = plan_of(book, pairs, {"N": "A"})
    rounded = plan_of(book, pairs, {"U": "A"})
    best = plan_of(book, pairs, {"U": "A", "W": "B"})
    starts: list[np.ndarray] = []

    def search(guide, goal, maximise, budget, params, start):
        starts.append(start)
        return best, 1.5, False

    monkeypatch.setattr(Rounding, "better_of", lambda *args: (rounded, False))
    monkeypatch.setattr(model, "_rins", search)

    found, work, _ = search_from_roundings(model, Goal.URGENT_HOURS, rounded * 1.0, plan, 4.0)

    assert found is best and work == 1.5
    assert len(starts) == 1 and starts[0] is rounded
