"""The status quo: what brokers do by hand today, as the baseline every gain is measured against.

Existing placements stay where they are. Then the queue is worked in order (most urgent first,
then longest waiting), and each package is offered down its zone's cascade (tier, then rank;
unranked providers nearest first) until a provider with enough capacity in every band takes it.
A package whose current provider can still hold it is kept there before anyone else is asked.
"""

from __future__ import annotations

import numpy as np

from allocator.goals import PairTable
from allocator.model import URGENCY_ORDER


def queue_order(pairs: PairTable) -> list[int]:
    """Package indices: existing placements first, then by urgency, referral date and id."""
    packages = pairs.scenario.packages
    return sorted(
        range(len(packages)),
        key=lambda k: (
            not packages[k].pinned,
            packages[k].current_provider is None,
            URGENCY_ORDER.index(packages[k].urgency),
            packages[k].referral_date,
            packages[k].id,
        ),
    )


def cascade_allocation(pairs: PairTable) -> np.ndarray:
    """Bool over pairs: the placements the manual cascade would make."""
    arrays = pairs.arrays
    residual = arrays.capacity.copy()
    residual_total = np.where(arrays.max_minutes >= 0, arrays.max_minutes, np.iinfo(np.int64).max)
    chosen = np.zeros(len(pairs), dtype=bool)
    offer_order = np.lexsort(
        (pairs.provider, pairs.travel_m, pairs.cascade_step, ~pairs.is_current, pairs.package)
    )
    starts = np.searchsorted(pairs.package[offer_order], np.arange(len(pairs.scenario.packages) + 1))
    for k in queue_order(pairs):
        need = arrays.need[k]
        for i in offer_order[starts[k] : starts[k + 1]]:
            p = pairs.provider[i]
            if (need <= residual[p]).all() and need.sum() <= residual_total[p]:
                residual[p] -= need
                residual_total[p] -= need.sum()
                chosen[i] = True
                break
    return chosen

