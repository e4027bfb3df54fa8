"""Neighbourhoods of a few providers that share people: everyone they serve or could serve and
who is not placed elsewhere, for an exact re-solve with the rest of the plan fixed.

RINS frees only the pairs where the plan and the relaxation disagree, and trades move one or a
few packages at a time. On a full book what blocks more hours is a chain of moves among the
providers of neighbouring zones: re-solving three providers' people exactly finds it. So does
what keeps people with their carers once the hours are held: a person goes back to their
provider only if whoever took their place moves on. Providers are grouped by the people they
could both serve, so a group's freed people have somewhere to go within it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from allocator.goals import PairTable


class ProviderGroups:
    """Random groups of providers that share eligible people, and the pairs each group frees."""

    def __init__(self, pairs: PairTable, size: int, seed: Sequence[int]) -> None:
        self.pairs = pairs
        self.size = size
        self.rng = np.random.default_rng(seed)
        providers = len(pairs.scenario.providers)
        eligible = np.zeros((len(pairs.scenario.packages), providers), dtype=np.float32)
        eligible[pairs.package, pairs.provider] = 1.0
        self.shared = eligible.T @ eligible
        """People each two providers could both serve (none with itself)."""
        np.fill_diagonal(self.shared, 0.0)

    def group(self, first_of: np.ndarray | None = None) -> list[int]:
        """A random provider (of `first_of`, where it names any), then providers drawn in
        proportion to the people they share with the group so far, until there are `size` (or
        none shares anyone more)."""
        if first_of is not None and len(first_of):
            group = [int(self.rng.choice(first_of))]
        else:
            group = [int(self.rng.integers(len(self.shared)))]
        while len(group) < self.size:
            weights = self.shared[group].sum(axis=0)
            weights[group] = 0.0
            total = weights.sum()
            if total == 0:
                break
            group.append(int(self.rng.choice(len(weights), p=weights / total)))
        return group

    def free(self, plan: np.ndarray, group: list[int]) -> np.ndarray:
        """The pairs a re-solve of `group` may change: for each package `plan` leaves out or
        places within the group, its pairs with the group's providers and its place in `plan`."""
        pairs = self.pairs
        in_group = np.isin(pairs.provider, group)
        packages = len(pairs.scenario.packages)
        placed = np.bincount(pairs.package[plan], minlength=packages) > 0
        within = np.bincount(pairs.package[plan & in_group], minlength=packages) > 0
        movable = (within | ~placed)[pairs.package]
        return (in_group | plan) & movable
