"""Each level reports the value the final plan gets on it, not only what its own search found."""

from builders import package, policy, provider, scenario
from test_property import pair_table
from test_reassign import plan_of

from allocator.policy import Goal
from allocator.solve import LevelOutcome, LexicographicModel


def test_a_level_reports_what_the_final_plan_gets_on_it() -> None:
    # The urgent level's search stopped at U alone (120 urgent minutes, bound 180); a later
    # level placed V too, which the urgent level counts as well.
    book = scenario(
        [provider("A", morning=240)],
        [
            package("U", minutes=120, urgency="hospital_discharge"),
            package("V", minutes=60, urgency="hospital_discharge"),
        ],
        policy(("urgent_hours", "hours_placed")),
    )
    pairs, rules = pair_table(book)
    model = LexicographicModel(pairs, rules)
    level = LevelOutcome(Goal.URGENT_HOURS, True, 120, 180, False, 1.0, hit_wall_clock=True)

    final = model._of_plan(level, plan_of(book, pairs, {"U": "A", "V": "A"}))
    unchanged = model._of_plan(level, plan_of(book, pairs, {"U": "A"}))

    assert (final.value, final.bound, final.optimal, final.gap) == (180, 180, True, 0.0)
    assert final.hit_wall_clock  # how the level's search ended still stands
    assert unchanged == level
