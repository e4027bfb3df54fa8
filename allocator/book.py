"""The book (providers, packages, current placements) as arrays, computed once per scenario."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from allocator.model import BANDS
from allocator.scenario import Scenario


def cap_minutes(hours: float) -> int:
    """Whole minutes within a cap given in hours (4.1 h is 246 minutes despite float rounding)."""
    return math.floor(hours * 60 + 1e-6)


@dataclass(frozen=True)
class BookArrays:
    """The book as arrays: what every filter, goal and constraint is computed from."""

    need: np.ndarray
    """(packages × bands) weekly carer minutes."""
    capacity: np.ndarray
    """(providers × bands) weekly carer minutes."""
    max_minutes: np.ndarray
    """(providers,) cap on total weekly minutes; -1 where uncapped."""
    current: np.ndarray
    """(packages × providers) bool: the pair is the package's current placement."""
    zones: tuple[str, ...]
    """Every zone named by a package or a provider, sorted."""
    package_zone: np.ndarray
    """(packages,) index into `zones` of each package's zone."""

    @classmethod
    def of(cls, scenario: Scenario) -> BookArrays:
        providers, packages = scenario.providers, scenario.packages
        index = {p.id: i for i, p in enumerate(providers)}
        need = np.array(
            [list(pkg.carer_minutes_by_band().values()) for pkg in packages], dtype=np.int64
        ).reshape(len(packages), len(BANDS))
        capacity = np.array(
            [[p.capacity(b) for b in BANDS] for p in providers], dtype=np.int64
        ).reshape(len(providers), len(BANDS))
        max_minutes = np.array(
            [
                -1 if p.max_weekly_hours is None else cap_minutes(p.max_weekly_hours)
                for p in providers
            ],
            dtype=np.int64,
        )
        current = np.zeros((len(packages), len(providers)), dtype=bool)
        for k, pkg in enumerate(packages):
            if pkg.current_provider in index:
                current[k, index[pkg.current_provider]] = True
        zones = tuple(
            sorted({z.zone for p in providers for z in p.zones} | {k.zone or "" for k in packages})
        )
        position = {z: i for i, z in enumerate(zones)}
        package_zone = np.array([position[k.zone or ""] for k in packages], dtype=np.int64)
        return cls(need, capacity, max_minutes, current, zones, package_zone)
