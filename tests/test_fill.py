"""The fill of a level that maximises: what still fits is placed before the whole model is
searched, and a fill that reaches the level's bound spares that search."""

from test_property import pair_table
from test_provider_groups import chain_book, searches_spied
from test_reassign import placements, plan_of

from allocator.policy import Goal
from allocator.solve import LexicographicModel, SolveParams


def test_a_level_the_fill_takes_to_its_bound_is_proved_without_a_search(monkeypatch) -> None:
    """Q fits at B, but the rounding, RINS and the groups leave it out: the fill places it,
    every hour the relaxation allows, and the whole model is never searched."""
    book = chain_book()
    pairs, rules = pair_table(book)
    model = LexicographicModel(pairs, rules)
    searched = searches_spied(monkeypatch)
    unchanged = lambda self, goal, maximise, chosen, *a, **kw: (chosen, False)  # noqa: E731
    monkeypatch.setattr(LexicographicModel, "_regrouped", unchanged)
    start = plan_of(book, pairs, {"P": "A", "R": "C"})

    plan, [outcome] = model.solve([Goal.HOURS_PLACED], SolveParams(time_limit_s=10), start)

    assert placements(book, pairs, plan) == {"P": "A", "Q": "B", "R": "C"}
    assert outcome.optimal and outcome.value == outcome.bound == 240
    assert not searched
