"""The published allocation rule: hard filters, the cascade and the ordered goals, as data.

A policy is versioned so that every decision can cite the exact rule that made it. Goals are a
lexicographic priority: a lower goal can never buy back anything from a higher one.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from allocator.model import MAX_WEEKLY_MINUTES, CqcRating, Urgency


class Goal(StrEnum):
    """Goals the solver can pursue; the policy orders them."""

    EXISTING_CARE = "existing_care"
    URGENT_HOURS = "urgent_hours"
    HOURS_PLACED = "hours_placed"
    CONTINUITY = "continuity"
    CASCADE = "cascade"
    PREFERENCES = "preferences"
    COST = "cost"
    TRAVEL = "travel"
    FAIRNESS = "fairness"

    @property
    def description(self) -> str:
        return _GOAL_DESCRIPTIONS[self]


_GOAL_DESCRIPTIONS = {
    Goal.EXISTING_CARE: "keep everyone already receiving care placed",
    Goal.URGENT_HOURS: "place as many urgent hours as possible",
    Goal.HOURS_PLACED: "place as many hours as possible",
    Goal.CONTINUITY: "keep people with their current provider",
    Goal.CASCADE: "respect the cascade (tier, then rank)",
    Goal.PREFERENCES: "meet person-centred preferences",
    Goal.COST: "keep the weekly cost down",
    Goal.TRAVEL: "keep providers close to the people they serve",
    Goal.FAIRNESS: "spread volume fairly (lowest possible peak utilisation)",
}

DEFAULT_GOALS: tuple[Goal, ...] = tuple(Goal)


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HardFilters(_Section):
    """Which rules remove a provider from a package's options before any optimisation."""

    zone: bool = True
    cqc_floor: CqcRating | None = CqcRating.REQUIRES_IMPROVEMENT
    embargo: bool = True
    specialism: bool = True
    exclusions: bool = True
    double_up: bool = True
    same_gender: Literal["hard", "soft", "off"] = "soft"


class Cascade(_Section):
    """How call-off order is read from the providers' tiers and ranks in each zone."""

    tiers: tuple[int, ...] = (1, 2, 3)
    """Tiers in the order they are called off; a provider in an unlisted tier is called last."""


class ZoneDefinition(_Section):
    postcodes: tuple[str, ...] = ()
    """Postcode prefixes (district 'S66' or sector 'S66 1') that fall in the zone."""

    @field_validator("postcodes")
    @classmethod
    def _upper(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(" ".join(v.upper().split()) for v in values)


class Rotation(_Section):
    """Week on / week off (Bury): in `zone`, the provider on its week takes at least `share` of
    the new referrals placed with the pair that it is eligible for (counted in packages)."""

    zone: str = Field(min_length=1)
    on: str = Field(min_length=1)
    off: str = Field(min_length=1)
    share: float = Field(default=0.8, gt=0, le=1)

    @model_validator(mode="after")
    def _two_providers(self) -> Rotation:
        if self.on == self.off:
            raise ValueError("the week-on and week-off providers must differ")
        return self


class Lot(_Section):
    """A named group of providers (e.g. borough-wide backup), optionally capped in total."""

    name: str = Field(min_length=1)
    providers: tuple[str, ...] = Field(min_length=1)
    max_weekly_hours: float | None = Field(default=None, ge=0, le=MAX_WEEKLY_MINUTES / 60)


class MoveBudget(_Section):
    """How far a solve may disturb people already in care (nightly rebalancing).

    People suffer when their carers change, so a plan moves at most `max_moves` people, and at
    most `max_share` of those in care, from a current provider that could keep them (losing the
    placement counts as a move too); pinned packages never move. A book its providers can no
    longer hold (capacity cut below what is placed) forces moves, which come on top. Each move
    also costs `cost_gbp` at the cost goal, in pounds a week: a move made for cost alone must save
    more than that a week. With `bridging_home`, continuity does not hold a bridging placement (a
    stop-gap with a provider outside the first tier of the person's zone), so a solve brings it
    home, down the cascade, when capacity allows. Unset, a rebalance brings them home and any
    other solve holds them (it is not looking for moves).
    """

    max_moves: int | None = Field(default=None, ge=0)
    max_share: float | None = Field(default=None, ge=0, le=1)
    cost_gbp: float = Field(default=0.0, ge=0)
    bridging_home: bool | None = None

    def limit(self, in_care: int) -> int | None:
        """Most of `in_care` people a plan may move; None when unlimited."""
        limits = [] if self.max_moves is None else [self.max_moves]
        if self.max_share is not None:
            limits.append(math.floor(self.max_share * in_care + 1e-9))
        return min(limits) if limits else None


class Policy(_Section):
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    goals: tuple[Goal, ...] = DEFAULT_GOALS
    urgent: tuple[Urgency, ...] = (Urgency.HOSPITAL_DISCHARGE,)
    """Urgency levels whose hours the urgent_hours goal places first."""
    hard_filters: HardFilters = HardFilters()
    cascade: Cascade = Cascade()
    zones: dict[str, ZoneDefinition] = Field(min_length=1)
    specialisms: tuple[str, ...] | None = None
    """The framework's vocabulary of specialisms; when given, anything else is an input error."""
    rotations: tuple[Rotation, ...] = ()
    lots: tuple[Lot, ...] = ()
    moves: MoveBudget = MoveBudget()

    @model_validator(mode="after")
    def _goals_once(self) -> Policy:
        if len(set(self.goals)) != len(self.goals):
            raise ValueError("each goal may appear only once in goals")
        for rotation in self.rotations:
            if rotation.zone not in self.zones:
                raise ValueError(f"rotation zone {rotation.zone!r} is not one of the zones")
        if len({r.zone for r in self.rotations}) != len(self.rotations):
            raise ValueError("a zone may have only one rotation")
        if len({lot.name for lot in self.lots}) != len(self.lots):
            raise ValueError("lot names must be unique")
        owner: dict[str, str] = {}
        for zone, definition in self.zones.items():
            for prefix in definition.postcodes:
                if prefix in owner and owner[prefix] != zone:
                    raise ValueError(
                        f"postcode prefix {prefix} is in zones {owner[prefix]} and {zone}"
                    )
                owner[prefix] = zone
        return self

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"

    def zone_for_postcode(self, postcode: str) -> str | None:
        """The zone whose longest listed prefix (sector before district) matches the postcode."""
        outward, inward = postcode.split(" ")
        for prefix in (f"{outward} {inward[0]}", outward):
            for zone, definition in self.zones.items():
                if prefix in definition.postcodes:
                    return zone
        return None

    def tier_position(self, tier: int) -> int:
        return (
            self.cascade.tiers.index(tier)
            if tier in self.cascade.tiers
            else len(self.cascade.tiers)
        )
