"""Rounded plans send back home the people they move for no reason (`LexicographicModel._homed`).

Each case: K has been with provider A; a plan has moved K to B. Whether K goes back depends on
A's room and on whether the move back costs any goal already held or being solved.
"""

import numpy as np
import pytest
from builders import package, policy, provider, scenario
from test_property import pair_table

from allocator.policy import Goal
from allocator.scenario import Scenario
from allocator.solve import LexicographicModel


def moved_plan(book: Scenario, placements: dict[str, str]) -> tuple[LexicographicModel, np.ndarray]:
    """The model of `book`, and the plan placing each package with the provider named."""
    pairs, rules = pair_table(book)
    model = LexicographicModel(pairs, rules)
    package_ids = [k.id for k in book.packages]
    provider_ids = [p.id for p in book.providers]
    plan = np.zeros(len(pairs), dtype=bool)
    for kid, pid in placements.items():
        row = (pairs.package == package_ids.index(kid)) & (
            pairs.provider == provider_ids.index(pid)
        )
        plan[np.flatnonzero(row)] = True
    return model, plan


def placed_with(model: LexicographicModel, plan: np.ndarray, kid: str) -> str:
    book = model.pairs.scenario
    k = [p.id for p in book.packages].index(kid)
    (row,) = np.flatnonzero(plan & (model.pairs.package == k))
    return book.providers[model.pairs.provider[row]].id


def test_a_person_moved_for_no_reason_goes_back_to_their_provider() -> None:
    book = scenario(
        [provider("A", rank=1), provider("B", rank=2)], [package("K", current="A")], policy()
    )
    model, plan = moved_plan(book, {"K": "B"})

    homed = model._homed(plan, Goal.HOURS_PLACED)

    assert placed_with(model, homed, "K") == "A"
    assert homed.sum() == 1


def test_a_person_stays_moved_when_their_provider_has_no_room() -> None:
    # A's 60 morning minutes went to W, who is new: K cannot go back without W leaving.
    book = scenario(
        [provider("A", rank=1, morning=60), provider("B", rank=2)],
        [package("K", current="A"), package("W")],
        policy(),
    )
    model, plan = moved_plan(book, {"K": "B", "W": "A"})

    homed = model._homed(plan, Goal.HOURS_PLACED)

    assert np.array_equal(homed, plan)


def test_a_swap_is_left_to_the_search() -> None:
    # K1 (from A) fills B, and K2 (from B) fills A: neither can go back alone.
    book = scenario(
        [provider("A", rank=1, morning=60), provider("B", rank=2, morning=60)],
        [package("K1", current="A"), package("K2", current="B")],
        policy(),
    )
    model, plan = moved_plan(book, {"K1": "B", "K2": "A"})

    homed = model._homed(plan, Goal.HOURS_PLACED)

    assert placed_with(model, homed, "K1") == "B"
    assert placed_with(model, homed, "K2") == "A"


@pytest.mark.parametrize(("home_rate", "away_rate", "ends_with"), [(30, 20, "B"), (20, 30, "A")])
def test_a_person_goes_back_only_if_that_costs_no_level_already_held(
    home_rate: float, away_rate: float, ends_with: str
) -> None:
    # Cost comes before continuity in this rule: K goes back to A only if A costs no more.
    book = scenario(
        [provider("A", rank=1, rate=home_rate), provider("B", rank=2, rate=away_rate)],
        [package("K", current="A")],
        policy(("hours_placed", "cost", "continuity")),
    )
    model, plan = moved_plan(book, {"K": "B"})
    model._hold(Goal.HOURS_PLACED, 60)
    model._hold(Goal.COST, model.evaluate(Goal.COST, plan))

    assert placed_with(model, model._homed(plan, Goal.CONTINUITY), "K") == ends_with
