"""A Lagrangian bound for the GAP that keeps each agent's knapsack (Fisher, Jaikumar & Van
Wassenhove 1986), with prices found by subgradient steps (Held, Wolfe & Crowder 1974).

Pricing each job's assign-exactly-once row at u_j leaves one 0-1 knapsack per agent:
L(u) = Σ_j u_j + Σ_i min {Σ_j (c_ij − u_j)·x_ij : Σ_j w_ij·x_ij ≤ b_i}. Any u gives a lower
bound, and at the LP's job prices it is already at least the LP's, since each knapsack is solved
in integers where the LP takes its convex hull. On the tightly packed instances that difference
is most of the LP's gap: on c40400 the LP gives 4231.98, this bound 4243.18 (optimum 4244;
1,000 steps aimed at 4246); on d10100 6323.46 and 6341.44 (best known 6347).

Forcing job j onto agent i raises agent i's knapsack, and so the bound, by a penalty computed
exactly from dynamic programmes over the agent's other jobs; a pair whose penalty lifts the bound
past a target cannot be in any assignment that reaches the target. Those penalties rule out far
more pairs than the LP's reduced costs: on c40400, for assignments below 4246, all but 1,224 of
16,000 pairs, where the LP's reduced costs keep 5,335.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from allocator.compiled import compiled

STEPS = 1000
"""Most subgradient steps; most instances stop sooner, when the step size has shrunk below
`SMALLEST_STEP`, or on their budget of dynamic-programme cells. Counts, so the bound is the same
on every machine."""

FIRST_STEP = 1.0
"""Polyak step factor at the start: each step moves the prices by this share of the distance to
the target value, along the subgradient."""

STALL_STEPS = 20
"""Steps without a better bound after which the step factor halves."""

SMALLEST_STEP = 1e-4
"""Step factor below which the steps stop: further ones move the bound by almost nothing."""

CHECK_CLOCK_EVERY = 25
"""Steps between looks at the wall-clock guard."""

MAX_TABLE_CELLS = 5_000_000
"""Largest jobs × (capacity + 1) table a knapsack may need: the dynamic programmes grow with the
capacity, and instances with very large capacities are left to the LP's bound."""


@dataclass(frozen=True)
class KnapsackBound:
    """The best bound the steps reached, and each pair's penalty at its prices."""

    value: float
    """L(u) at the best prices met: no assignment costs less."""
    penalty: np.ndarray
    """How much giving job j to agent i raises L(u) above `value` (inf where it does not fit)."""
    steps: int
    cells: float
    """Dynamic-programme cells the steps filled: the work they did, whatever the machine."""
    hit_wall_clock: bool
    """The wall-clock guard, not the steps or the step size, stopped the subgradient."""

    def may_improve(self, value: int) -> np.ndarray:
        """Pairs that can appear in an assignment cheaper than `value`; the others cannot."""
        return may_improve(self.value, self.penalty, value)


def may_improve(bound: float, penalty: np.ndarray, value: int) -> np.ndarray:
    """Pairs whose penalty, added to a Lagrangian `bound`, leaves room for an assignment cheaper
    than `value` (costs are integers; the tolerance absorbs the prices' rounding)."""
    tolerance = 1e-6 * max(1.0, abs(value))
    return bound + penalty <= value - 1 + tolerance


def knapsack_bound(
    cost: np.ndarray,
    weight: np.ndarray,
    capacity: np.ndarray,
    fits: np.ndarray,
    prices: np.ndarray,
    target: float,
    cells: float,
    deadline: float,
) -> KnapsackBound | None:
    """Subgradient steps from the job `prices` (the LP's serve well) towards `target` (the cost
    of the best assignment known, or an estimate above the bound), until their dynamic
    programmes have filled about `cells` cells; None where a knapsack's table would exceed
    `MAX_TABLE_CELLS`. `deadline` (time.monotonic() seconds) is only a guard."""
    m, n = cost.shape
    widest = int(capacity.max(initial=0)) + 1
    if n * widest > MAX_TABLE_CELLS:
        return None
    cost = np.ascontiguousarray(cost, dtype=np.float64)
    weight = np.ascontiguousarray(weight, dtype=np.int64)
    capacity = np.ascontiguousarray(capacity, dtype=np.int64)
    fits = np.ascontiguousarray(fits)
    current = np.array(prices, dtype=np.float64)
    best = current.copy()
    # best value, step factor, steps without gain, cells filled
    state = np.array([-np.inf, FIRST_STEP, 0.0, 0.0])
    steps, clock = 0, False
    while steps < STEPS and state[1] >= SMALLEST_STEP and state[3] < cells:
        if time.monotonic() > deadline:
            clock = True
            break
        chunk = min(CHECK_CLOCK_EVERY, STEPS - steps)
        steps += _steps(
            cost,
            weight,
            capacity,
            fits,
            current,
            best,
            state,
            float(target),
            chunk,
            STALL_STEPS,
            SMALLEST_STEP,
            cells,
        )
    if steps == 0:
        state[0] = _bound_at(cost, weight, capacity, fits, best)
    penalty = np.empty((m, n))
    _penalties(cost, weight, capacity, fits, best, penalty)
    return KnapsackBound(float(state[0]), penalty, steps, float(state[3]), clock)


@compiled()
def _knapsacks(cost, weight, capacity, fits, prices, take):
    """L(prices) and the cells its dynamic programmes filled; in `take` each agent's best
    knapsack at those prices."""
    m, n = cost.shape
    widest = 0
    for i in range(m):
        widest = max(widest, capacity[i])
    best = np.empty(widest + 1)
    chose = np.empty((n, widest + 1), dtype=np.bool_)  # each row cleared before it is used
    items = np.empty(n, dtype=np.int64)
    total = prices.sum()
    filled = 0.0
    for i in range(m):
        room = capacity[i]
        best[: room + 1] = 0.0
        count = 0
        for j in range(n):
            take[i, j] = False
            if fits[i, j] and cost[i, j] < prices[j]:  # only jobs worth taking at these prices
                items[count] = j
                count += 1
        filled += count * (room + 1.0)
        for t in range(count):
            j = items[t]
            gain = cost[i, j] - prices[j]
            w = weight[i, j]
            chose[t, : room + 1] = False
            for c in range(room, w - 1, -1):
                if best[c - w] + gain < best[c]:
                    best[c] = best[c - w] + gain
                    chose[t, c] = True
        total += best[room]
        c = room
        for t in range(count - 1, -1, -1):
            if chose[t, c]:
                take[i, items[t]] = True
                c -= weight[i, items[t]]
    return total, filled


@compiled()
def _bound_at(cost, weight, capacity, fits, prices):
    """L(prices) alone."""
    return _knapsacks(cost, weight, capacity, fits, prices, np.zeros(cost.shape, np.bool_))[0]


@compiled()
def _steps(
    cost, weight, capacity, fits, prices, best_prices, state, target, steps, stall, smallest, cells
):
    """Up to `steps` Polyak steps from `prices` (updated in place); `state` holds the best bound
    met (its prices in `best_prices`), the step factor, the steps since the bound last rose and
    the cells filled. The factor halves after `stall` steps without a gain; returns the steps
    made, fewer once it falls below `smallest` or the cells reach `cells`."""
    m, n = cost.shape
    take = np.zeros((m, n), dtype=np.bool_)
    for done in range(steps):
        if state[1] < smallest or state[3] >= cells:
            return done
        value, filled = _knapsacks(cost, weight, capacity, fits, prices, take)
        state[3] += filled
        if value > state[0]:
            state[0] = value
            best_prices[:] = prices
            state[2] = 0.0
        else:
            state[2] += 1.0
            if state[2] >= stall:
                state[1] /= 2.0
                state[2] = 0.0
        slope = np.ones(n)  # each job's row: 1 − the agents that take it
        for i in range(m):
            for j in range(n):
                if take[i, j]:
                    slope[j] -= 1.0
        norm = (slope * slope).sum()
        if norm == 0.0:  # every job taken once: the knapsacks form an optimal assignment
            state[1] = 0.0
            return done + 1
        distance = max(target - value, 1e-6 * max(1.0, abs(target)))
        prices += state[1] * distance / norm * slope
    return steps


@compiled()
def _penalties(cost, weight, capacity, fits, prices, out):
    """For each pair, how much forcing it into its agent's knapsack raises that knapsack's
    optimum at `prices`: from the best knapsack of the jobs before it and of those after it
    (tables over the jobs worth taking), combined at every split of the room left."""
    m, n = cost.shape
    items = np.empty(n, dtype=np.int64)
    position = np.empty(n, dtype=np.int64)
    for i in range(m):
        room = capacity[i]
        count = 0
        for j in range(n):
            position[j] = -1
            if fits[i, j] and cost[i, j] < prices[j]:
                items[count] = j
                position[j] = count
                count += 1
        before = np.zeros((count + 1, room + 1))
        after = np.zeros((count + 1, room + 1))
        for t in range(count):
            j = items[t]
            gain, w = cost[i, j] - prices[j], weight[i, j]
            before[t + 1] = before[t]
            for c in range(w, room + 1):
                before[t + 1, c] = min(before[t + 1, c], before[t, c - w] + gain)
        for t in range(count - 1, -1, -1):
            j = items[t]
            gain, w = cost[i, j] - prices[j], weight[i, j]
            after[t] = after[t + 1]
            for c in range(w, room + 1):
                after[t, c] = min(after[t, c], after[t + 1, c - w] + gain)
        optimum = before[count, room]
        for j in range(n):
            if not fits[i, j]:
                out[i, j] = np.inf
                continue
            left = room - weight[i, j]
            t = position[j]
            if t < 0:
                rest = before[count, left]
            else:
                rest = np.inf
                for c in range(left + 1):
                    rest = min(rest, before[t, c] + after[t + 1, left - c])
            out[i, j] = cost[i, j] - prices[j] + rest - optimum
