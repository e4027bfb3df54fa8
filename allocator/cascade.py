"""The status quo: what brokers do by hand today, as the baseline every gain is measured against.

Existing placements stay where they are. Then people in care whose provider can no longer take
them are placed, then the queue is worked in order (most urgent first, then longest waiting),
and each package is offered down its zone's cascade (tier, then rank; unranked providers nearest
first) until a provider with enough capacity in every band takes it.
A package whose current provider can still hold it is kept there before anyone else is asked.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from allocator.framework_rules import FrameworkRules
from allocator.goals import PairTable
from allocator.model import URGENCY_ORDER


def queue_order(pairs: PairTable) -> list[int]:
    """Package indices: pinned first, then people in care whose current provider can keep them,
    then people in care who must move (their provider can no longer take them: they come
    before new referrals, but never take the room of someone who could stay), then the rest;
    each group by urgency, referral date and id."""
    packages = pairs.scenario.packages
    keepable = np.zeros(len(packages), dtype=bool)
    keepable[pairs.package[pairs.is_current]] = True
    return sorted(
        range(len(packages)),
        key=lambda k: (
            not packages[k].pinned,
            packages[k].current_provider is None,
            not keepable[k],
            URGENCY_ORDER.index(packages[k].urgency),
            packages[k].referral_date,
            packages[k].id,
        ),
    )


def cascade_allocation(pairs: PairTable, rules: FrameworkRules) -> np.ndarray:
    """Bool over pairs: the placements the manual cascade would make."""
    offers = (pairs.provider, pairs.travel_m, pairs.cascade_step, ~pairs.is_current)
    return place_greedily(pairs, rules, np.zeros(len(pairs), dtype=bool), offers)


def place_greedily(
    pairs: PairTable,
    rules: FrameworkRules,
    chosen: np.ndarray,
    offer_keys: tuple[np.ndarray, ...],
    package_order: Sequence[int] | None = None,
) -> np.ndarray:
    """`chosen` plus each unplaced package, in `package_order` (default: the queue's), with its
    first provider that has room.

    A package's providers are offered in the order of `offer_keys` (numpy lexsort keys, last key
    most significant). Existing placements in `chosen` keep their capacity. A provider "has room"
    when its bands, its weekly cap, its lot's cap and its zone's rotation all allow the package.
    """
    arrays = pairs.arrays
    chosen = chosen.copy()
    room = rules.room(pairs, chosen)
    counts = rules.rotation_counts(pairs, chosen, room)
    as_off = {int(i): n for n, rule in enumerate(rules.rotations) for i in rule.off_rows}
    as_on = {int(i): n for n, rule in enumerate(rules.rotations) for i in rule.on_rows}
    placed = np.zeros(len(pairs.scenario.packages), dtype=bool)
    placed[pairs.package[chosen]] = True
    offer_order = np.lexsort((*offer_keys, pairs.package))
    starts = np.searchsorted(
        pairs.package[offer_order], np.arange(len(pairs.scenario.packages) + 1)
    )
    for k in queue_order(pairs) if package_order is None else package_order:
        if placed[k]:
            continue
        need = arrays.need[k]
        offers = offer_order[starts[k] : starts[k + 1]]
        for i in offers[room.fitting(pairs.provider[offers], need)]:
            p = int(pairs.provider[i])
            if i in as_off:
                rule, (on, off) = rules.rotations[as_off[i]], counts[as_off[i]]
                if room.fits(rule.on, need):
                    if not rule.allows(on, off + 1):
                        continue
                    counts[as_off[i]] = (on, off + 1)
            if i in as_on:
                on, off = counts[as_on[i]]
                counts[as_on[i]] = (on + 1, off)
            room.take(p, need)
            chosen[i] = True
            break
    return chosen
