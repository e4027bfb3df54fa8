"""Tabu search with strategic oscillation for the GAP (Díaz & Fernández 2001), with the short
ejection chains of Yagiura, Ibaraki & Glover (2004).

Exact re-solves of a few agents' jobs get stuck on tightly packed instances (Chu & Beasley type
D): the improving changes reach across many agents. This search walks through infeasible
assignments instead: each agent's overload is priced, its price rising while the agent is
overloaded and every price falling while the walk is feasible, so the walk oscillates across the
capacity boundary where the good assignments lie. Its moves are shifts (a job to another agent),
swaps (two jobs of different agents exchange agents) and ejection chains (job j takes the place
of job k, which moves on to a third agent); the chains matter most: on d20100, 20,000
iterations from a greedy start end 1.4 % above the best known without them, 0.8 % with. Each
iteration scores every move of a sample of jobs and makes the best one that is not tabu.

The iterations run in loops compiled by Numba: an iteration scores up to n² swaps and chains,
and as numpy array operations it took 0.32 ms on d20100 and 14.6 ms on c801600, against 0.055
and 2.3 ms compiled. The random draws (sampled jobs, tenures) are made by numpy between stretches
of compiled iterations, so the walk is budgeted in iterations and seeded, and its answer does not
depend on the machine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from allocator.compiled import compiled

SAMPLE_JOBS = 200
"""Jobs whose swaps and chains are scored each iteration (all of them when there are at most this
many): there are n² of each, too many to score on the 1600-job instances."""

PRICE_STEP = 0.02
"""Relative change of the overload prices after each iteration (0.01–0.1 did equally well on
type D, within the spread between seeds)."""

TENURE = (0.01, 0.04)
"""A moved job may not return to its agent for a random share of n iterations in this range
(tenures three times as long ended 0.1–0.2 points worse on type D)."""

RESTART_AFTER = 5
"""Without a better feasible assignment for this many iterations per job, go back to the best one
(intensify around it) with the prices reset."""

PAIR_S = 4.0e-9
SHIFT_S = 9.0e-9
"""Seconds an iteration takes on the reference machine per swap-and-chain pair and per shift it
scores (fitted to 12 instances from d05100 to c801600: 0.042 to 2.3 ms, each within 6 %); only
used to turn a share of the time limit into an iteration count, never to decide what the walk
does."""

CLOCK_CHECK_EVERY = 64
"""Iterations between looks at the wall-clock guard (each look also draws their random
numbers)."""

NO_ASSIGNMENT = np.iinfo(np.int64).max
"""The best cost while the walk has met no feasible assignment."""


@dataclass(frozen=True)
class TabuOutcome:
    """The best feasible assignment the walk met (None when it met none), the iterations it made,
    and whether the wall-clock guard stopped it before its budget."""

    assignment: np.ndarray | None
    iterations: int
    hit_wall_clock: bool


def iterations_for(agents: int, jobs: int, seconds: float) -> int:
    """Iterations that take about `seconds` on the reference machine for an agents × jobs
    instance: a count, so the walk it budgets is the same on every machine."""
    seconds_each = PAIR_S * min(SAMPLE_JOBS, jobs) * jobs + SHIFT_S * agents * jobs
    return max(int(seconds / seconds_each), 0) if seconds_each > 0 else 0


def tabu_search(
    cost: np.ndarray,
    weight: np.ndarray,
    capacity: np.ndarray,
    start: np.ndarray,
    iterations: int,
    seed: int,
    deadline: float | None = None,
) -> TabuOutcome:
    """Minimise Σ_j cost[a_j, j] within the agents' capacities, walking `iterations` moves from
    `start` (agent per job; it may overload agents, and agent m means none: such a job starts
    where it weighs least).

    The answer is never worse than `start` when `start` is feasible, and the same arguments give
    the same answer. `deadline` (time.monotonic() seconds) is only a guard: reaching it stops the
    walk early and says so.
    """
    m, n = cost.shape
    rng = np.random.default_rng(seed)
    weight = np.asarray(weight, dtype=np.int64)
    jobs = np.arange(n)
    current = np.where(start < m, start, np.argmin(weight, axis=0)).astype(np.int64)
    load = np.bincount(current, weights=weight[current, jobs], minlength=m).astype(np.int64)
    best = current.copy()
    best_cost = NO_ASSIGNMENT if np.any(load > capacity) else int(cost[current, jobs].sum())
    if m < 2 or n == 0:
        return TabuOutcome(_found(best, best_cost), 0, False)
    # writable copies, job × agent and agent × job, so the compiled loops read rows in order
    cost_by_agent = np.array(cost, dtype=np.int64, order="C")
    weight_by_agent = np.array(weight, order="C")
    capacity = np.array(capacity, dtype=np.int64)
    initial_price = _initial_price(cost, weight)
    price = np.full(m, initial_price)
    tabu_until = np.zeros((n, m), dtype=np.int64)
    low, high = (max(int(share * n), 1) for share in TENURE)
    restart = max(int(RESTART_AFTER * n), 50)
    by_job = (np.ascontiguousarray(cost_by_agent.T), np.ascontiguousarray(weight_by_agent.T))
    arrays = (*by_job, cost_by_agent, weight_by_agent, capacity, current, load, best, tabu_until)
    tally = np.array([best_cost, 0], dtype=np.int64)  # best cost, iterations since it improved
    for first in range(0, iterations, CLOCK_CHECK_EVERY):
        if deadline is not None and time.monotonic() > deadline:
            return TabuOutcome(_found(best, int(tally[0])), first, True)
        count = min(CLOCK_CHECK_EVERY, iterations - first)
        rows = _sampled(rng, n, count)
        tenures = rng.integers(low, high + 1, size=count, dtype=np.int64)
        _iterate(arrays, price, tally, first, rows, tenures, initial_price, restart)
    return TabuOutcome(_found(best, int(tally[0])), iterations, False)


def _found(best: np.ndarray, best_cost: int) -> np.ndarray | None:
    """The best assignment, or None while the walk has met no feasible one."""
    return None if best_cost == NO_ASSIGNMENT else best


def _sampled(rng: np.random.Generator, n: int, count: int) -> np.ndarray:
    """For each of `count` iterations, the jobs whose swaps and chains it scores: all n, or
    `SAMPLE_JOBS` of them drawn without replacement."""
    sample = min(SAMPLE_JOBS, n)
    if sample == n:
        return np.tile(np.arange(n, dtype=np.int64), (count, 1))
    keys = rng.random((count, n))
    return np.ascontiguousarray(np.argpartition(keys, sample - 1, axis=1)[:, :sample])


@compiled()
def _move(current, load, weight, tabu_until, job, agent, until):
    """Give `job` to `agent` and forbid its return to the agent it leaves until `until`."""
    leaves = current[job]
    load[leaves] -= weight[job, leaves]
    load[agent] += weight[job, agent]
    current[job] = agent
    tabu_until[job, leaves] = until


@compiled(
    "void(Tuple((int64[:, ::1], int64[:, ::1], int64[:, ::1], int64[:, ::1], int64[::1],"
    " int64[::1], int64[::1], int64[::1], int64[:, ::1])), float64[::1], int64[::1], int64,"
    " int64[:, ::1], int64[::1], float64, int64)"
)
def _iterate(arrays, price, tally, first_iteration, rows, tenures, initial_price, restart):
    """Make one iteration per row of `rows` (the jobs whose swaps and chains it scores), updating
    in place the walk's `arrays` (cost and weight job × agent and agent × job, capacity, current
    assignment, load, best assignment, job × agent tabu), its prices and its `tally` (best cost,
    iterations since it improved).

    Each iteration scores, against the current assignment and prices: every shift; for each
    sampled job j and each job k of another agent, the swap of j and k and the chain in which j
    takes k's place and k goes to its best arrival elsewhere. A tabu move counts only when it
    reaches a feasible assignment better than the best (aspiration; not for chains)."""
    cost, weight, cost_by_agent, weight_by_agent, capacity, current, load, best, tabu_until = arrays
    best_cost, since_best = tally
    n, m = cost.shape
    highest_price = initial_price * 1e6  # a walk stuck infeasible must not overflow its prices
    own_cost = np.empty(n, np.int64)
    own_weight = np.empty(n, np.int64)
    leaving = np.empty(n, np.int64)
    leaving_score = np.empty(n)
    over = np.empty(m, np.int64)
    first = np.zeros(n, np.int64)
    first_score = np.empty(n)
    second = np.zeros(n, np.int64)
    second_score = np.empty(n)
    room = np.empty(n, np.int64)
    over_of = np.empty(n, np.int64)
    price_of = np.empty(n)
    for step in range(tenures.size):
        it = first_iteration + step
        total_over = 0
        for i in range(m):
            over[i] = max(load[i] - capacity[i], 0)
            total_over += over[i]
        current_cost = 0
        for j in range(n):
            a = current[j]
            own_cost[j] = cost[j, a]
            own_weight[j] = weight[j, a]
            current_cost += own_cost[j]
            # change in the overload of j's agent when j leaves it
            leaving[j] = max(load[a] - own_weight[j] - capacity[a], 0) - over[a]
            leaving_score[j] = price[a] * leaving[j]

        # shifts, and each job's best and second-best arrival elsewhere (for the chains)
        shift_best, shift_job, shift_agent = np.inf, 0, 0
        for j in range(n):
            a = current[j]
            first_score[j] = second_score[j] = np.inf
            for i in range(m):
                if i == a:
                    continue
                arriving = max(load[i] + weight[j, i] - capacity[i], 0) - over[i]
                shift_cost = cost[j, i] - own_cost[j]
                allowed = tabu_until[j, i] <= it
                arrive = cost[j, i] + price[i] * arriving
                if allowed or (
                    total_over + arriving + leaving[j] == 0
                    and current_cost + shift_cost < best_cost
                ):
                    score = shift_cost + price[i] * arriving + leaving_score[j]
                    if score < shift_best:
                        shift_best, shift_job, shift_agent = score, j, i
                if not allowed:
                    continue
                if arrive < first_score[j]:
                    second[j], second_score[j] = first[j], first_score[j]
                    first[j], first_score[j] = i, arrive
                elif arrive < second_score[j]:
                    second[j], second_score[j] = i, arrive

        # swaps and chains: sampled job j takes the place of job k of another agent
        swap_best, swap_job, swap_other = np.inf, 0, 0
        chain_best, chain_job, chain_other, chain_onward = np.inf, 0, 0, 0
        for k in range(n):
            b = current[k]
            room[k] = load[b] - own_weight[k] - capacity[b]
            over_of[k] = over[b]
            price_of[k] = price[b]
        for r in range(rows.shape[1]):
            j = rows[step, r]
            a = current[j]
            room_left = load[a] - own_weight[j] - capacity[a]
            base = leaving_score[j] - own_cost[j]
            cost_at_a = cost_by_agent[a]
            weight_at_a = weight_by_agent[a]
            cost_of_j = cost[j]
            weight_of_j = weight[j]
            tabu_of_j = tabu_until[j]
            for k in range(n):
                b = current[k]
                if b == a:
                    continue
                to_b = tabu_of_j[b] <= it
                # change in the overload of k's agent when j takes k's place
                col_over = max(room[k] + weight_of_j[b], 0) - over_of[k]
                col_score = price_of[k] * col_over
                row_over = max(room_left + weight_at_a[k], 0) - over[a]
                swap_cost = cost_of_j[b] + cost_at_a[k] - own_cost[j] - own_cost[k]
                if (to_b and tabu_until[k, a] <= it) or (
                    total_over + row_over + col_over == 0 and current_cost + swap_cost < best_cost
                ):
                    score = swap_cost + price[a] * row_over + col_score
                    if score < swap_best:
                        swap_best, swap_job, swap_other = score, j, k
                if to_b:
                    clash = first[k] == a
                    onward_score = second_score[k] if clash else first_score[k]
                    score = cost_of_j[b] - own_cost[k] + base + col_score + onward_score
                    if score < chain_best:
                        onward = second[k] if clash else first[k]
                        chain_best, chain_job, chain_other, chain_onward = score, j, k, onward

        if min(shift_best, swap_best, chain_best) == np.inf:
            tabu_until[:] = 0
            continue
        until = it + tenures[step]
        if chain_best < min(shift_best, swap_best):
            _move(current, load, weight, tabu_until, chain_job, current[chain_other], until)
            _move(current, load, weight, tabu_until, chain_other, chain_onward, until)
        elif shift_best <= swap_best:
            _move(current, load, weight, tabu_until, shift_job, shift_agent, until)
        else:
            agent_of_job, agent_of_other = current[swap_job], current[swap_other]
            _move(current, load, weight, tabu_until, swap_job, agent_of_other, until)
            _move(current, load, weight, tabu_until, swap_other, agent_of_job, until)

        since_best += 1
        overloaded = False
        for i in range(m):
            if load[i] > capacity[i]:
                overloaded = True
                price[i] = min(price[i] * (1 + PRICE_STEP), highest_price)
        if not overloaded:
            price /= 1 + PRICE_STEP
            value = 0
            for j in range(n):
                value += cost[j, current[j]]
            if value < best_cost:
                best[:] = current
                best_cost, since_best = value, 0
        if since_best >= restart and best_cost != NO_ASSIGNMENT:
            current[:] = best
            load[:] = 0
            for j in range(n):
                load[current[j]] += weight[j, current[j]]
            price[:] = initial_price
            since_best = 0
            tabu_until[:] = 0
    tally[0], tally[1] = best_cost, since_best


def _initial_price(cost: np.ndarray, weight: np.ndarray) -> float:
    """Cost per unit of weight that makes a typical overload cost about a typical saving."""
    spread = float(np.mean(cost.max(axis=0) - cost.min(axis=0)))
    return max(spread, 1.0) / max(float(np.mean(weight)), 1.0)
