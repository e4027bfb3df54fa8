"""What a strategy returns: placements and unplaced packages, each explained, and statistics."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from allocator.solve import LevelOutcome


class Strategy(StrEnum):
    OPTIMISE = "optimise"
    CASCADE = "cascade"


@dataclass(frozen=True)
class Placement:
    package_id: str
    provider_id: str
    zone: str
    carer_minutes: int
    cost_gbp_per_week: float
    travel_km: float
    cascade_step: int
    """1 for the first step of the zone's cascade (tier 1 rank 1, or tier 1 where unranked)."""
    kept_current: bool
    preferences_met: int
    preferences_requested: int
    decided_by: str
    """The policy goal (or rule) that settled this provider over the best alternative."""
    reason: str
    best_alternative: str | None
    why_not_alternative: str | None


@dataclass(frozen=True)
class Unplaced:
    package_id: str
    zone: str
    urgency: str
    carer_minutes: int
    reason_code: str
    diagnosis: str


@dataclass(frozen=True)
class Allocation:
    strategy: Strategy
    policy: str
    placements: tuple[Placement, ...]
    unplaced: tuple[Unplaced, ...]
    levels: tuple[LevelOutcome, ...]
    """Per goal level: value, bound and gap (empty for the cascade, which does not optimise)."""
    seconds: float

    @property
    def assignment(self) -> dict[str, str]:
        return {p.package_id: p.provider_id for p in self.placements}

    @property
    def reproducible(self) -> bool:
        """False if a level stopped on the wall clock: a slower machine may answer otherwise."""
        return not any(level.hit_wall_clock for level in self.levels)
