"""Nightly rebalancing: the whole book re-optimised within the policy's move budget, and every
move it proposes explained by what it frees and what it gains.

The solve is the ordinary lexicographic one; what makes it a rebalance is the policy's `moves`
section (at most so many people moved, a charge per move at the cost goal, bridging placements
brought home). Nothing is applied here: a move is a proposal a broker accepts, or not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from allocator.allocate import allocate
from allocator.geography import PostcodeIndex
from allocator.policy import MoveBudget
from allocator.resolve import resolve
from allocator.result import Allocation, Placement, Strategy
from allocator.scenario import Scenario
from allocator.solve import SolveParams

DEFAULT_SHARE = 0.05
"""The share of people in care a rebalance moves at most when neither the policy nor the run
sets a limit: an unlimited rebalance could move anyone for the slightest gain."""


@dataclass(frozen=True)
class Move:
    package_id: str
    from_provider: str
    to_provider: str | None
    """None when the plan drops the person's care (only when the policy's goals allow it)."""
    carer_minutes: int
    frees: str
    """What leaving the current provider makes room for."""
    gains: str
    """What the move buys, at the highest goal it serves."""
    decided_by: str
    """That goal."""
    travel_change_km: float
    """Positive when the new provider is further away."""
    cost_change_gbp_per_week: float


@dataclass(frozen=True)
class Rebalance:
    allocation: Allocation
    moves: tuple[Move, ...]
    newly_placed: tuple[str, ...]
    """Packages waiting before (the list and hand-backs) that the plan places."""
    waiting_before: int
    waiting_after: int
    hours_newly_placed: float
    travel_saved_km: float
    """Over the people moved: their providers' distance before less after."""
    people_affected: int
    """Moved or newly placed."""


def move_budget(
    policy_budget: MoveBudget,
    max_moves: int | None = None,
    max_share: float | None = None,
    cost_gbp: float | None = None,
    bridging_home: bool | None = None,
) -> MoveBudget:
    """The policy's budget with this run's choices (those given) in its place; at most
    DEFAULT_SHARE of the people in care moved when neither sets a limit, and bridging
    placements brought home unless one says not to."""
    changes = {
        "max_moves": max_moves,
        "max_share": max_share,
        "cost_gbp": cost_gbp,
        "bridging_home": bridging_home,
    }
    budget = policy_budget.model_copy(update={k: v for k, v in changes.items() if v is not None})
    if budget.max_moves is None and budget.max_share is None:
        budget = budget.model_copy(update={"max_share": DEFAULT_SHARE})
    if budget.bridging_home is None:
        budget = budget.model_copy(update={"bridging_home": True})
    return MoveBudget.model_validate(budget.model_dump())


def rebalance(
    scenario: Scenario, budget: MoveBudget, params: SolveParams, pin: Collection[str] = ()
) -> Rebalance:
    """Re-optimise `scenario` (resolved) under `budget` in place of its policy's own; the
    packages in `pin` (e.g. care started in the last fortnight) are pinned for this run
    (ScenarioError if their providers could not hold them all)."""
    policy = scenario.policy.model_copy(update={"moves": budget})
    packages = tuple(
        k.model_copy(update={"pinned": True}) if k.id in pin and k.current_provider else k
        for k in scenario.packages
    )
    book = scenario.model_copy(update={"policy": policy, "packages": packages})
    if pin:  # the pins must fit their providers, as the reader checks for the book's own
        book = resolve(book, PostcodeIndex({}, {}, {}))
    before = allocate(book, Strategy.CASCADE).placements  # what is placed today, with its figures
    allocation = allocate(book, Strategy.OPTIMISE, params)
    current = {k.id: k.current_provider for k in book.packages if k.current_provider}
    placed = {p.package_id: p for p in allocation.placements}
    newly = tuple(p.package_id for p in allocation.placements if p.package_id not in current)
    arrivals: dict[str, list[Placement]] = defaultdict(list)
    for package_id in newly:
        arrivals[placed[package_id].provider_id].append(placed[package_id])
    today = {p.package_id: p for p in before if p.kept_current}
    urgent = {k.id for k in book.packages if k.urgency in policy.urgent}
    moves = tuple(
        _move(
            package_id,
            provider_id,
            placed.get(package_id),
            today.get(package_id),
            arrivals.get(provider_id, []),
            urgent,
        )
        for package_id, provider_id in sorted(current.items())
        if package_id not in placed or placed[package_id].provider_id != provider_id
    )
    waiting = [k for k in book.packages if k.current_provider is None]
    return Rebalance(
        allocation=allocation,
        moves=moves,
        newly_placed=newly,
        waiting_before=len(waiting),
        waiting_after=len(allocation.unplaced),
        hours_newly_placed=round(sum(placed[i].carer_minutes for i in newly) / 60, 2),
        travel_saved_km=round(-sum(m.travel_change_km for m in moves), 2),
        people_affected=len(moves) + len(newly),
    )


def _move(
    package_id: str,
    provider_id: str,
    after: Placement | None,
    before: Placement | None,
    came: list[Placement],
    urgent: set[str],
) -> Move:
    hours = sum(p.carer_minutes for p in came) / 60
    frees = (
        f"room at {provider_id}, where {len(came)} waiting package(s) are placed "
        f"({', '.join(p.package_id for p in came[:5])}{', ...' if len(came) > 5 else ''}; "
        f"{hours:.1f} carer hours a week)"
        if came
        else f"its place at {provider_id}"
    )
    decided_by, gains = _gain(after, before, came, urgent)
    travel = after.travel_km - before.travel_km if after and before else 0.0
    cost = after.cost_gbp_per_week - before.cost_gbp_per_week if after and before else 0.0
    return Move(
        package_id=package_id,
        from_provider=provider_id,
        to_provider=after.provider_id if after else None,
        carer_minutes=after.carer_minutes if after else (before.carer_minutes if before else 0),
        frees=frees,
        gains=gains,
        decided_by=decided_by,
        travel_change_km=round(travel, 2),
        cost_change_gbp_per_week=round(cost, 2),
    )


def _gain(
    after: Placement | None, before: Placement | None, came: list[Placement], urgent: set[str]
) -> tuple[str, str]:
    """(goal, sentence): what the move buys, highest goal first: room for waiting people
    (urgent ones first), a bridging placement brought home, a lower cost, a shorter journey."""
    if after is None:
        return "", "nothing: the person's care is dropped"
    if came:
        urgent_came = [p for p in came if p.package_id in urgent]
        if urgent_came:
            hours = sum(p.carer_minutes for p in urgent_came) / 60
            return "urgent_hours", f"places {hours:.1f} urgent carer hours a week in its room"
        return "hours_placed", "places waiting people in its room"
    if before is not None:
        if after.cascade_step < before.cascade_step:
            return "cascade", (
                f"brings the person home from a bridging placement (cascade step "
                f"{before.cascade_step} to {after.cascade_step})"
            )
        if after.cost_gbp_per_week < before.cost_gbp_per_week:
            saved = before.cost_gbp_per_week - after.cost_gbp_per_week
            return "cost", f"saves £{saved:,.2f} a week"
        if after.travel_km < before.travel_km:
            return "travel", f"{before.travel_km - after.travel_km:.1f} km closer to home"
    return after.decided_by, after.reason
