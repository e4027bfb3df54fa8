"""Neighbourhoods of a few providers, and the exact re-solves of them on a placement level and
at continuity."""

import itertools

import numpy as np
from builders import package, policy, provider, scenario
from test_property import brute_force_top_levels, pair_table
from test_reassign import placements, plan_of

from allocator import solve
from allocator.goals import PairTable
from allocator.policy import Goal
from allocator.provider_groups import ProviderGroups
from allocator.rounding import Rounding
from allocator.solve import LexicographicModel, SolveParams
from allocator.validate import check_allocation


def chain_book(goals=("hours_placed",), q_urgency="routine"):
    """A (60 morning minutes) and B (120) share P (60, either); Q (120) only B can serve, and C
    (60) serves only R. Placing Q takes a chain: P from B to A, then Q at B."""
    return scenario(
        [provider("A", morning=60), provider("B", morning=120), provider("C", morning=60)],
        [
            package("P", minutes=60, excluded=["C"]),
            package("Q", minutes=120, excluded=["A", "C"], urgency=q_urgency),
            package("R", minutes=60, excluded=["A", "B"]),
        ],
        policy(goals),
    )


def urgent_book(rng: np.random.Generator):
    """Four providers, eight packages (every third urgent), each excluding one provider at
    random: small enough to brute-force."""
    return scenario(
        [provider(name, morning=int(rng.integers(60, 240))) for name in "ABCD"],
        [
            package(
                f"K{i}",
                minutes=int(rng.choice([30, 60, 90, 120])),
                urgency="hospital_discharge" if i % 3 == 0 else "routine",
                excluded=[str(rng.choice(list("ABCD")))],
            )
            for i in range(8)
        ],
        policy(("urgent_hours", "hours_placed")),
    )


def urgent_held(book) -> tuple[PairTable, LexicographicModel, int, int]:
    """The book's pairs and model, with urgent minutes held at their brute-force optimum; that
    optimum and the hours one."""
    urgent, hours, _ = brute_force_top_levels(book)
    pairs, rules = pair_table(book)
    model = LexicographicModel(pairs, rules)
    model._hold(Goal.URGENT_HOURS, urgent)
    return pairs, model, urgent, hours


def regrouped(
    model: LexicographicModel, goal: Goal, plan: np.ndarray, groups: int = 1
) -> tuple[np.ndarray, bool]:
    """`plan` after `groups` re-solves at the maximised level `goal`, the clock never stopping
    them, and whether it did."""
    model._set_objective(goal, True)
    return model._regrouped(
        goal, True, plan, SolveParams(seed=0), groups=groups, stop_at=float("inf")
    )


def test_groups_join_only_providers_that_share_people() -> None:
    book = chain_book()
    pairs, _ = pair_table(book)
    groups = ProviderGroups(pairs, size=2, seed=(0, 0))
    names = [p.id for p in book.providers]

    drawn = {tuple(sorted(names[p] for p in groups.group())) for _ in range(50)}

    assert drawn == {("A", "B"), ("C",)}  # C shares no one, so it stays alone


def test_a_group_frees_its_own_and_the_unplaced_people_and_fixes_the_rest() -> None:
    book = chain_book()
    pairs, _ = pair_table(book)
    groups = ProviderGroups(pairs, size=2, seed=(0, 0))
    plan = plan_of(book, pairs, {"P": "B", "R": "C"})
    a, b = 0, 1

    free = groups.free(plan, [a, b])

    freed = {
        (book.packages[k].id, book.providers[p].id)
        for k, p in zip(pairs.package[free], pairs.provider[free], strict=True)
    }
    assert freed == {("P", "A"), ("P", "B"), ("Q", "B")}  # R stays at C, outside the group


def test_regrouping_finds_the_chain_no_single_move_makes() -> None:
    book = chain_book()
    pairs, rules = pair_table(book)
    model = LexicographicModel(pairs, rules)
    plan = plan_of(book, pairs, {"P": "B", "R": "C"})

    found, cut_short = regrouped(model, Goal.HOURS_PLACED, plan, groups=4)

    assert not cut_short
    assert placements(book, pairs, found) == {"P": "A", "Q": "B", "R": "C"}  # the optimum


def test_a_group_of_every_provider_re_solves_to_the_exact_optimum(monkeypatch) -> None:
    """With every provider in the group, one re-solve is the whole level, solved exactly: it
    must match the brute-force optimum, urgent minutes held first."""
    monkeypatch.setattr(solve, "GROUP_SIZE", 4)
    rng = np.random.default_rng(3)
    for _ in range(6):
        pairs, model, urgent, hours = urgent_held(urgent_book(rng))

        found, _ = regrouped(model, Goal.HOURS_PLACED, np.zeros(len(pairs), dtype=bool))

        assert model.evaluate(Goal.URGENT_HOURS, found) == urgent
        assert model.evaluate(Goal.HOURS_PLACED, found) == hours


def continuity_chain_book():
    """P, in care with A, sits at B; W1 holds A's room and could go to C; W2 holds C's and could
    go to B. Every provider is full, so P goes home only if all three move: a cycle no single
    shift or swap makes."""
    return scenario(
        [provider(name, morning=60) for name in "ABC"],
        [
            package("P", current="A", excluded=["C"]),
            package("W1", excluded=["B"]),
            package("W2", excluded=["A"]),
        ],
        policy(("existing_care", "hours_placed", "continuity")),
    )


def test_regrouping_brings_a_person_home_round_a_cycle_with_the_hours_held() -> None:
    book = continuity_chain_book()
    pairs, rules = pair_table(book)
    model = LexicographicModel(pairs, rules)
    plan = plan_of(book, pairs, {"P": "B", "W1": "A", "W2": "C"})
    model._hold(Goal.EXISTING_CARE, model.evaluate(Goal.EXISTING_CARE, plan))
    model._hold(Goal.HOURS_PLACED, model.evaluate(Goal.HOURS_PLACED, plan))

    found, cut_short = regrouped(model, Goal.CONTINUITY, plan)

    assert not cut_short
    assert placements(book, pairs, found) == {"P": "A", "W1": "C", "W2": "B"}


def in_care_book(rng: np.random.Generator):
    """Three providers, five packages of which about half are in care with a random provider,
    each excluding another at random: small enough to enumerate every plan."""
    names = list("ABC")
    packages = []
    for i in range(5):
        current = str(rng.choice(names)) if rng.random() < 0.5 else None
        others = [n for n in names if n != current]
        packages.append(
            package(
                f"K{i}",
                minutes=int(rng.choice([30, 60, 90])),
                current=current,
                excluded=[str(rng.choice(others))],
            )
        )
    return scenario(
        [provider(name, morning=int(rng.integers(60, 180))) for name in names],
        packages,
        policy(("existing_care", "hours_placed", "continuity")),
    )


def brute_force_continuity(book) -> tuple[int, int, int]:
    """The best (people in care placed, minutes placed, people kept with their provider),
    lexicographically, over every plan the independent validator passes."""
    minutes = {k.id: sum(v.minutes * len(v.days) for v in k.visits) for k in book.packages}
    options = [[None] + [p.id for p in book.providers] for _ in book.packages]
    best = (-1, -1, -1)
    for choice in itertools.product(*options):
        assignment = {k.id: p for k, p in zip(book.packages, choice, strict=True) if p}
        if check_allocation(book, assignment):
            continue
        in_care = [k for k in book.packages if k.current_provider and k.id in assignment]
        best = max(
            best,
            (
                len(in_care),
                sum(minutes[k] for k in assignment),
                sum(assignment[k.id] == k.current_provider for k in in_care),
            ),
        )
    return best


def test_a_group_of_every_provider_keeps_the_most_people_with_their_provider(monkeypatch) -> None:
    """With every provider in the group, one re-solve is the whole continuity level, the levels
    before it held at their optimum: it must keep as many people with their provider as the
    best plan by enumeration, and hold the levels before. (A random book can leave a provider
    sharing no one, which a drawn group would leave alone, so the group is set.)"""
    monkeypatch.setattr(ProviderGroups, "group", lambda self, first_of=None: [0, 1, 2])
    rng = np.random.default_rng(5)
    for _ in range(5):
        book = in_care_book(rng)
        in_care, hours, kept = brute_force_continuity(book)
        pairs, rules = pair_table(book)
        model = LexicographicModel(pairs, rules)
        model._hold(Goal.EXISTING_CARE, in_care)
        model._hold(Goal.HOURS_PLACED, hours)

        found, _ = regrouped(model, Goal.CONTINUITY, np.zeros(len(pairs), dtype=bool))

        assert model.evaluate(Goal.EXISTING_CARE, found) == in_care
        assert model.evaluate(Goal.HOURS_PLACED, found) == hours
        assert model.evaluate(Goal.CONTINUITY, found) == kept
        assert check_allocation(book, placements(book, pairs, found)) == []


def searches_spied(monkeypatch) -> list:
    """The reassignments, roundings and RINS made to find nothing; returns the list to which
    each CP-SAT search (`_solve_level`) adds what it searched (None: the whole model)."""
    unchanged = lambda self, goal, chosen, *rest: (chosen, False)  # noqa: E731
    monkeypatch.setattr(LexicographicModel, "_reassigned", unchanged)
    monkeypatch.setattr(Rounding, "better_of", unchanged)
    monkeypatch.setattr(
        LexicographicModel, "_rins_from_best_rounding", lambda self, *a: (a[-2], 0.0, False)
    )
    searched = []
    solve_level = LexicographicModel._solve_level

    def spy(self, *args):
        searched.append(args[6] if len(args) > 6 else None)
        return solve_level(self, *args)

    monkeypatch.setattr(LexicographicModel, "_solve_level", spy)
    return searched


def test_a_level_the_groups_take_to_its_bound_is_proved_without_a_search_of_the_whole(
    monkeypatch,
) -> None:
    """With the rounding and RINS finding nothing, the groups place every hour the relaxation
    allows; the level is then proved, and the whole model is never searched."""
    book = chain_book()
    pairs, rules = pair_table(book)
    model = LexicographicModel(pairs, rules)
    searched = searches_spied(monkeypatch)
    start = plan_of(book, pairs, {"P": "B", "R": "C"})

    plan, [outcome] = model.solve([Goal.HOURS_PLACED], SolveParams(time_limit_s=10), start)

    assert placements(book, pairs, plan) == {"P": "A", "Q": "B", "R": "C"}
    assert outcome.optimal and outcome.value == outcome.bound == 240
    assert searched and None not in searched  # groups only


def test_the_urgent_level_draws_provider_groups_however_short_the_limit(monkeypatch) -> None:
    """Q, the chain's newcomer, is urgent. At 2 s the urgent level plans one to two seconds,
    one group at one a second, yet draws `MIN_GROUPS`; the four the floor adds start where an
    urgent package waits. They place Q. (The hours level after it, every package then placed,
    is proved before any group.)"""
    book = chain_book(("urgent_hours", "hours_placed"), q_urgency="hospital_discharge")
    pairs, rules = pair_table(book)
    model = LexicographicModel(pairs, rules)
    searches_spied(monkeypatch)
    drawn = []
    regrouped = LexicographicModel._regrouped

    def spy(self, goal, maximise, chosen, params, groups, *rest, focused):
        drawn.append((goal, groups, focused))
        return regrouped(self, goal, maximise, chosen, params, groups, *rest, focused=focused)

    starts = []
    group = ProviderGroups.group

    def first_of_spy(self, first_of=None):
        starts.append(None if first_of is None else [book.providers[p].id for p in first_of])
        return group(self, first_of)

    monkeypatch.setattr(LexicographicModel, "_regrouped", spy)
    monkeypatch.setattr(ProviderGroups, "group", first_of_spy)
    start = plan_of(book, pairs, {"P": "B", "R": "C"})

    plan, outcomes = model.solve(
        [Goal.URGENT_HOURS, Goal.HOURS_PLACED], SolveParams(time_limit_s=2), start
    )

    assert drawn == [(Goal.URGENT_HOURS, solve.MIN_GROUPS, solve.MIN_GROUPS - 1)]
    assert starts[0] == ["B"] and starts[solve.MIN_GROUPS - 1 :] == [None]
    assert placements(book, pairs, plan) == {"P": "A", "Q": "B", "R": "C"}
    assert outcomes[0].optimal


def test_an_urgent_group_starts_at_a_provider_a_waiting_urgent_package_could_have() -> None:
    """Q, urgent and left out, could only have B: groups of one drawn from where urgent
    packages wait are always B; drawn from anywhere, they are every provider in turn."""
    book = chain_book(("urgent_hours", "hours_placed"), q_urgency="hospital_discharge")
    pairs, rules = pair_table(book)
    model = LexicographicModel(pairs, rules)
    plan = plan_of(book, pairs, {"P": "B", "R": "C"})
    groups = ProviderGroups(pairs, 1, (0, 0))

    waiting = model._waiting_providers(Goal.URGENT_HOURS, plan)

    assert [book.providers[p].id for p in waiting] == ["B"]
    assert {tuple(groups.group(waiting)) for _ in range(20)} == {(1,)}
    assert {tuple(groups.group()) for _ in range(50)} == {(0,), (1,), (2,)}


def test_a_further_round_of_groups_is_drawn_only_after_a_round_that_gained(monkeypatch) -> None:
    """Rounds of one group, always A and B: from a plan short of the chain the first round
    gains and a second finds nothing, so no third; from the optimum one round only."""
    monkeypatch.setattr(ProviderGroups, "group", lambda self, first_of=None: [0, 1])
    book = chain_book()
    pairs, rules = pair_table(book)
    model = LexicographicModel(pairs, rules)
    model._set_objective(Goal.HOURS_PLACED, True)
    searches = []
    solve_level = LexicographicModel._solve_level

    def counted(self, *args):
        searches.append(1)
        return solve_level(self, *args)

    monkeypatch.setattr(LexicographicModel, "_solve_level", counted)
    short = plan_of(book, pairs, {"P": "B", "R": "C"})
    params = SolveParams(seed=0)

    found, _ = model._regrouped(Goal.HOURS_PLACED, True, short, params, 1, float("inf"), 3)
    assert placements(book, pairs, found) == {"P": "A", "Q": "B", "R": "C"}
    assert len(searches) == 2

    searches.clear()
    model._regrouped(Goal.HOURS_PLACED, True, found, params, 1, float("inf"), 3)
    assert len(searches) == 1
