"""Seeded draws that hit shares exactly, so a scenario's marginals are its parameters' values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def pick(rng: np.random.Generator, shares: Mapping[T, float]) -> T:
    """One key, drawn in proportion to its share."""
    keys = list(shares)
    weights = np.array([shares[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=weights / weights.sum()))]


def quota(rng: np.random.Generator, count: int, share: float) -> np.ndarray:
    """A mask of exactly round(share * count) of `count` items, chosen at random."""
    chosen = np.zeros(count, dtype=bool)
    chosen[rng.choice(count, size=round(share * count), replace=False)] = True
    return chosen


def apportion(shares: Mapping[T, float], count: int) -> dict[T, int]:
    """`count` split in the given shares by largest remainders (ties to the earlier key)."""
    keys = list(shares)
    weights = np.array([shares[k] for k in keys], dtype=float)
    exact = weights / weights.sum() * count
    sizes = np.floor(exact).astype(int)
    short = count - int(sizes.sum())
    sizes[np.argsort(-(exact - sizes), kind="stable")[:short]] += 1
    return {k: int(n) for k, n in zip(keys, sizes, strict=True)}


def labels(rng: np.random.Generator, count: int, shares: Mapping[T, float]) -> list[T]:
    """`count` labels in the given shares (largest remainders), shuffled."""
    sizes = apportion(shares, count)
    keys = list(sizes)
    order = rng.permutation(np.repeat(np.arange(len(keys)), list(sizes.values())))
    return [keys[i] for i in order]


def choose(rng: np.random.Generator, items: Sequence[T]) -> T:
    return items[int(rng.integers(len(items)))]
