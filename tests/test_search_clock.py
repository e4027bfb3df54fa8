"""A search the wall clock stops must say so, whatever work it had used: that flag is what
tells users a plan may differ on another run or machine."""

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from test_property import pair_table
from test_provider_groups import continuity_chain_book
from test_reassign import plan_of

from allocator.cascade import cascade_allocation
from allocator.io.scenario_files import load_scenario
from allocator.lp_bound import LpOutcome
from allocator.policy import Goal
from allocator.rounding import Rounding
from allocator.solve import Budget, LexicographicModel, SolveParams, stopped_by_clock

BURY = Path(__file__).resolve().parents[1] / "data" / "examples" / "bury"


def test_a_search_the_clock_stopped_after_its_budget_was_spent_says_so() -> None:
    # CP-SAT's first interleaved batch cannot be cut: on Bury's hours level a budget of one unit
    # used 2.8 in 3 s; a 2 s clock stopped its RINS round at 1.64 units, and the whole model at
    # 0.89 in one CI run: how far a clock gets depends on the machine.
    budget = Budget(work=1.0, wall_s=2.0)

    assert stopped_by_clock(2.0, 1.64, budget)  # the clock, with the budget already spent
    assert stopped_by_clock(2.0, 0.89, budget)  # the clock, before the budget was spent
    assert not stopped_by_clock(1.2, 2.8, budget)  # the work, overrun, well before the clock
    assert not stopped_by_clock(0.4, 1.0, budget)  # the work, exactly


def test_a_level_whose_search_the_clock_stops_says_so() -> None:
    # Bury's hours level with a 1 s clock: the first batch alone takes about 3 s.
    pairs, rules = pair_table(load_scenario(BURY))
    model = LexicographicModel(pairs, rules)
    model._set_objective(Goal.HOURS_PLACED, maximise=True)
    budget = Budget(work=1.0, wall_s=1.0)
    start = cascade_allocation(pairs, rules)

    _, outcome, _ = model._solve_level(Goal.HOURS_PLACED, True, 1, budget, SolveParams(), start)

    assert not outcome.optimal and outcome.hit_wall_clock


def test_no_time_left_for_a_search_means_no_second_relaxation_to_guide_it(monkeypatch) -> None:
    # The plain relaxation only guides the search after it; at a 5 s limit Rotherham's hours
    # level solved it and so reached its search after the limit.
    pairs, rules = pair_table(load_scenario(BURY))
    model = LexicographicModel(pairs, rules)
    start = cascade_allocation(pairs, rules)
    relaxed = model.relaxation.solve(Goal.HOURS_PLACED, 10.0, start)
    monkeypatch.setattr(model.relaxation, "solve", lambda *_, **__: pytest.fail("solved again"))

    guide = model._rins_guide(Goal.HOURS_PLACED, relaxed, start, wall_s=relaxed.seconds)

    assert relaxed.x is not None and guide is relaxed.x


def test_a_relaxation_stopped_at_the_deadline_is_not_followed_by_the_plain_one(monkeypatch):
    # The plain relaxation is the fallback of a nudged one the clock stopped; given the level's
    # relaxation time again past the deadline, a 10 s solve of Rotherham ended 0.65 s late.
    pairs, rules = pair_table(load_scenario(BURY))
    model = LexicographicModel(pairs, rules)
    start = cascade_allocation(pairs, rules)
    calls: list[tuple[float, bool]] = []

    def solve(goal, wall_s, plan, nudge=True):
        calls.append((wall_s, nudge))
        return LpOutcome(None, wall_s, timed_out=True)

    monkeypatch.setattr(model.relaxation, "solve", solve)

    model._relaxation(Goal.HOURS_PLACED, 1.0, start, deadline=time.monotonic() - 1)
    model._relaxation(Goal.HOURS_PLACED, 1.0, start, deadline=time.monotonic() + 0.5)

    assert calls[0] == (1.0, True)
    assert calls[1] == (1.0, True)
    assert not calls[2][1] and 0 < calls[2][0] <= 0.5  # the plain one, within the deadline
    assert len(calls) == 3


class _Clock:
    """A wall clock that moves only when the test says, so how long each relaxation takes is
    the test's choice, not the machine's."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


def _fake_clock(monkeypatch) -> _Clock:
    """The clock the solve and its moves (`allocator.reassign`) now read."""
    clock = _Clock()
    monkeypatch.setattr("allocator.solve.time", clock)
    monkeypatch.setattr("allocator.reassign.time", clock)
    return clock


def _clocked(monkeypatch) -> tuple[LexicographicModel, np.ndarray, _Clock]:
    """Bury's model, the cascade's plan, and the clock the solve now reads."""
    pairs, rules = pair_table(load_scenario(BURY))
    clock = _fake_clock(monkeypatch)
    return LexicographicModel(pairs, rules), cascade_allocation(pairs, rules), clock


@dataclass
class _Searches:
    within: list[bool] = field(default_factory=list)
    """Whether each level's last search got no more wall time than was left."""
    groups: int = 0
    """Provider groups searched."""


def _record_searches(
    monkeypatch, model, clock: _Clock, deadline: float, group_s: float = 0.0
) -> _Searches:
    """Stand in for CP-SAT: record each level's last search (`_Searches`), count the provider
    groups, each taking `group_s` on the clock, and search nothing."""
    searches = _Searches()

    def search(goal, maximise, scale, budget, params, incumbent, model_=None):
        if model_ is None:
            searches.within.append(budget.wall_s <= deadline - clock.now)
        else:
            searches.groups += 1
            clock.now += group_s
        return incumbent, model._unsearched(goal, maximise, incumbent, late=False), 0.0

    monkeypatch.setattr(model, "_solve_level", search)
    return searches


def test_no_level_starts_a_relaxation_or_a_search_it_has_no_time_for(monkeypatch) -> None:
    # Rotherham at 60 s, seed 2: the travel level started its relaxation with 1.6 s left, took
    # 1.5 s for nothing, then searched for the 0.9 s set before it, ending at 60.8 s.
    model, start, clock = _clocked(monkeypatch)
    deadline = 2.6
    relaxed_with: list[float] = []  # time left as each relaxation starts
    searches = _record_searches(monkeypatch, model, clock, deadline)

    def relax(goal, wall_s, plan, nudge=True):
        relaxed_with.append(round(deadline - clock.now, 6))
        clock.now += 1.0
        return LpOutcome(None, 1.0)

    monkeypatch.setattr(model.relaxation, "solve", relax)
    goals = [Goal.HOURS_PLACED, Goal.CONTINUITY, Goal.CASCADE, Goal.COST]

    _, outcomes = model.solve(goals, SolveParams(time_limit_s=2.6), start, deadline=deadline)

    # Continuity is proved without a solve (the cascade keeps everyone with their provider).
    assert relaxed_with == [2.6, 1.6]  # not the cost level's, with 0.6 s left for 1 s
    assert searches.within == [True, True]
    assert [o.hit_wall_clock for o in outcomes[2:]] == [False, True]  # cascade in time, cost late


def test_a_rounding_gets_no_more_time_than_is_left(monkeypatch) -> None:
    # The rounding's share was set as the level began, before a relaxation that may take most of
    # what is left (`LP_FLOOR_S`): at 5 s Rotherham's hours level relaxed for 1.3 s of 1.9.
    model, start, clock = _clocked(monkeypatch)
    deadline = 1.2
    rounded_within: list[bool] = []
    searches = _record_searches(monkeypatch, model, clock, deadline)

    def relax(goal, wall_s, plan, nudge=True):
        clock.now += 1.0
        return LpOutcome(None, 1.0, x=plan.astype(float))

    def rounding(self, goal, chosen, x, wall_s, tries):
        rounded_within.append(wall_s <= deadline - clock.now)
        return chosen, False

    monkeypatch.setattr(model.relaxation, "solve", relax)
    monkeypatch.setattr(Rounding, "better_of", rounding)
    monkeypatch.setattr(model, "_rins_guide", lambda goal, relaxed, *_: relaxed.x)
    monkeypatch.setattr(model, "_rins_from_best_rounding", lambda *a: (a[-2], 0.0, False))

    model.solve([Goal.HOURS_PLACED], SolveParams(time_limit_s=1.2), start, deadline=deadline)

    assert rounded_within == [True]
    assert searches.within == [True]


@pytest.mark.parametrize(("deadline", "stretch"), [(60.0, 2), (12.0, 1)])
def test_continuity_groups_may_take_the_wall_time_the_levels_after_it_leave(
    monkeypatch, deadline: float, stretch: int
) -> None:
    # At 60 s the levels after continuity end on their work, not their wall (Bury's solve ended
    # at 47 s), while its groups, a count, were stopped by the clock (40 at about 0.25 s each).
    # At short limits the levels after need their wall time: continuity draws no more groups.
    book = continuity_chain_book()
    pairs, rules = pair_table(book)
    clock = _fake_clock(monkeypatch)
    model = LexicographicModel(pairs, rules)
    start = plan_of(book, pairs, {"P": "B", "W1": "A", "W2": "C"})  # P away from A
    searches = _record_searches(monkeypatch, model, clock, deadline, group_s=0.5)
    monkeypatch.setattr(model.relaxation, "solve", lambda *_, **__: LpOutcome(None, 0.0))
    goals = [Goal.CONTINUITY, Goal.CASCADE, Goal.COST, Goal.TRAVEL]

    _, outcomes = model.solve(goals, SolveParams(time_limit_s=deadline), start, deadline=deadline)

    planned_s = deadline * 10 / (10 + 3 * 4)  # continuity's share of the limit (`TIME_WEIGHT`)
    assert searches.groups == int(planned_s * stretch)  # every one: 27 s of them at 60 s
    assert searches.within and all(searches.within) and clock.now <= deadline
    assert not any(outcome.hit_wall_clock for outcome in outcomes)
