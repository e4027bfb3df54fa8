"""Brokerage requests: one package, or today's batch, placed into a book whose placements hold.

A request never moves anyone already placed, and an open offer keeps its capacity until it is
answered. So a request is solved as a small scenario of its own: its packages against what the
held placements leave each provider (and each capped lot), with the same filters, goals and
explanations as a full solve. One package's shortlist then costs milliseconds on any size of book.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from allocator.allocate import allocate
from allocator.book import BookArrays
from allocator.eligibility import Eligibility, eligibility
from allocator.errors import InputError, ScenarioError
from allocator.explain import Explainer
from allocator.framework_rules import FrameworkRules
from allocator.goals import PairTable
from allocator.model import BANDS, Band, CarePackage, Provider
from allocator.policy import Lot, Policy
from allocator.result import Allocation, Placement, Strategy, Unplaced
from allocator.scenario import Scenario
from allocator.solve import SolveParams


@dataclass(frozen=True)
class HeldBook:
    """A resolved book with every placement (and open offer) holding its provider's capacity."""

    scenario: Scenario
    holds: Mapping[str, str]
    """Package id -> the provider whose capacity it holds: its placement, else its open offer."""
    moving: Mapping[str, str]
    """Package id -> the provider an open move offer would take a placed package to: it holds
    room there too, on top of its placement's, until the offer is answered."""
    load: np.ndarray
    """(providers × bands) weekly carer minutes held."""

    @classmethod
    def of(cls, scenario: Scenario, offers: Mapping[str, str] | None = None) -> HeldBook:
        """`offers` (package id -> provider id) are open offers, which hold capacity too: a
        waiting package's where it is offered, a placed package's (a move) beside its own."""
        holds = {k.id: k.current_provider for k in scenario.packages if k.current_provider}
        moving: dict[str, str] = {}
        for package_id, provider_id in (offers or {}).items():
            placed = holds.setdefault(package_id, provider_id)
            if placed != provider_id:
                moving[package_id] = provider_id
        return cls.holding(scenario, holds, moving)

    @classmethod
    def holding(
        cls, scenario: Scenario, holds: Mapping[str, str], moving: Mapping[str, str]
    ) -> HeldBook:
        """The book with these holds (as the fields say), each of its package's minutes."""
        index = {p.id: i for i, p in enumerate(scenario.providers)}
        load = np.zeros((len(scenario.providers), len(BANDS)), dtype=np.int64)
        for held in (holds, moving):
            for package_id, provider_id in held.items():
                load[index[provider_id]] += _need(scenario.package_by_id[package_id])
        return cls(scenario, holds, moving, load)

    def request(self, package_ids: Sequence[str]) -> Scenario:
        """These packages against what everyone else's placements leave.

        Each provider offers its capacity, and its weekly cap, less what others hold; each capped
        lot likewise. A requested package that already holds capacity (at one provider, or at two
        while a move is offered) releases it for the request.
        """
        missing = [i for i in package_ids if i not in self.scenario.package_by_id]
        if missing or len(set(package_ids)) != len(package_ids):
            raise ScenarioError(_request_errors(package_ids, missing))
        released = [
            (package_id, held[package_id])
            for package_id in package_ids
            for held in (self.holds, self.moving)
            if package_id in held
        ]
        if released:
            index = {p.id: i for i, p in enumerate(self.scenario.providers)}
            load = self.load.copy()
            for package_id, provider_id in released:
                load[index[provider_id]] -= _need(self.scenario.package_by_id[package_id])
            policy, providers = self._left_by(load)
        else:
            policy, providers = self._left_by_all
        packages = tuple(self.scenario.package_by_id[i] for i in package_ids)
        return Scenario.model_construct(policy=policy, providers=providers, packages=packages)

    @cached_property
    def _left_by_all(self) -> tuple[Policy, tuple[Provider, ...]]:
        """What every request of packages holding nothing sees: computed once per book."""
        return self._left_by(self.load)

    def _left_by(self, load: np.ndarray) -> tuple[Policy, tuple[Provider, ...]]:
        """The policy (its capped lots) and providers with what `load` holds taken out."""
        providers = self.scenario.providers
        held = {p.id: int(load[i].sum()) for i, p in enumerate(providers)}
        policy = self.scenario.policy.model_copy(
            update={"lots": tuple(_lot_left(lot, held) for lot in self.scenario.policy.lots)}
        )
        return policy, tuple(_left(p, load[i]) for i, p in enumerate(providers))


@dataclass(frozen=True)
class Option:
    """One provider for the package, in the policy's order."""

    rank: int
    provider_id: str
    provider_name: str
    has_room: bool
    cascade_step: int
    kept_current: bool
    cost_gbp_per_week: float
    travel_km: float
    preferences_met: int
    decided_by: str
    """For rank 1, the goal that put it first; below, the goal (or "capacity") it lost on."""
    reason: str


@dataclass(frozen=True)
class RuledOut:
    provider_id: str
    provider_name: str
    rule: str
    reason: str


@dataclass(frozen=True)
class Shortlist:
    package_id: str
    policy: str
    recommended: Placement | None
    """The first option with room, explained as a placement; None when no provider has room."""
    unplaced: Unplaced | None
    """Why nobody can take it now, when no provider has room or every one is ruled out."""
    options: tuple[Option, ...]
    ruled_out: tuple[RuledOut, ...]


def shortlists(book: HeldBook, package_ids: Sequence[str]) -> list[Shortlist]:
    """Each package's providers ranked by the policy, as if it were the only request.

    Options with room come first, in the order of the policy's per-pair goals (fairness, which
    depends on the whole plan, only explains); each says why it ranks below the first. A provider
    that is merely full stays an option without room; the hard filters' rejections are listed
    with their rule.
    """
    scenario = book.request(package_ids)
    arrays = BookArrays.of(scenario)
    allowed = eligibility(scenario, _ignore_capacity(arrays))
    pairs = PairTable.of(allowed, arrays)
    rules = FrameworkRules.of(pairs)
    room = _room_now(pairs, rules)
    keys = pairs.ranking_key(scenario.policy.goals)
    return [_shortlist(pairs, allowed, rules, room, keys, k) for k in range(len(scenario.packages))]


BATCH_PARAMS = SolveParams(time_limit_s=10.0, workers=1)
"""A batch is small: one deterministic worker proves each level sooner than a portfolio of eight
(50 packages: 0.24 s against 1.2 s, the same plan)."""


def recommend(
    book: HeldBook, package_ids: Sequence[str], params: SolveParams = BATCH_PARAMS
) -> Allocation:
    """The batch placed together by the full lexicographic solve, everyone else held."""
    return allocate(book.request(package_ids), Strategy.OPTIMISE, params)


def _room_now(pairs: PairTable, rules: FrameworkRules) -> np.ndarray:
    """Bool over pairs: the provider could take the package alone, within its bands, caps, lots
    and its zone's rotation (a week-off provider is offered a referral only when the week-on
    provider has no room for it)."""
    room = rules.room(pairs, np.zeros(len(pairs), dtype=bool))
    need = pairs.arrays.need
    fits = np.array(
        [room.fits(int(p), need[k]) for k, p in zip(pairs.package, pairs.provider, strict=True)],
        dtype=bool,
    )
    for rule in rules.rotations:
        for i in rule.off_rows:
            if not rule.allows(0, 1) and room.fits(rule.on, need[pairs.package[i]]):
                fits[i] = False
    return fits


def _shortlist(
    pairs: PairTable,
    allowed: Eligibility,
    rules: FrameworkRules,
    room: np.ndarray,
    keys: np.ndarray,
    k: int,
) -> Shortlist:
    scenario = pairs.scenario
    package_id, policy = scenario.packages[k].id, scenario.policy.label
    rows = np.flatnonzero(pairs.package == k)
    order = rows[np.lexsort((pairs.provider[rows], *keys[rows].T[::-1], ~room[rows]))]
    ruled_out = tuple(_ruled_out(scenario, allowed, k))
    chosen = np.zeros(len(pairs), dtype=bool)
    if not len(order):
        nowhere = Explainer(pairs, allowed, rules, chosen, Strategy.OPTIMISE).diagnose(k)
        return Shortlist(package_id, policy, None, nowhere, (), ruled_out)
    first = int(order[0])
    chosen[first] = room[first]
    explainer = Explainer(pairs, allowed, rules, chosen, Strategy.OPTIMISE)
    placed = explainer.placements()[0] if room[first] else None
    unplaced = None if placed else explainer.diagnose(k)
    if placed:
        top = (placed.decided_by, placed.reason)
    else:
        top = ("capacity", f"No provider has room for it now. {unplaced.diagnosis}")
    options = [_option(pairs, room, 1, first, *top)]
    for rank, i in enumerate(order[1:].tolist(), start=2):
        decided_by, why = explainer.why_below(first, i)
        reason = f"Below {explainer.label(first)}: {explainer.label(i)} {why}."
        options.append(_option(pairs, room, rank, i, decided_by, reason))
    return Shortlist(package_id, policy, placed, unplaced, tuple(options), ruled_out)


def _option(
    pairs: PairTable, room: np.ndarray, rank: int, i: int, decided_by: str, reason: str
) -> Option:
    provider = pairs.scenario.providers[int(pairs.provider[i])]
    return Option(
        rank=rank,
        provider_id=provider.id,
        provider_name=provider.name,
        has_room=bool(room[i]),
        cascade_step=int(pairs.cascade_step[i]) + 1,
        kept_current=bool(pairs.is_current[i]),
        cost_gbp_per_week=round(int(pairs.cost_pence[i]) / 100, 2),
        travel_km=round(int(pairs.travel_m[i]) / 1000, 2),
        preferences_met=int(pairs.preferences_met[i]),
        decided_by=decided_by,
        reason=reason,
    )


def _ruled_out(scenario: Scenario, allowed: Eligibility, k: int) -> list[RuledOut]:
    ruled = []
    for p in np.flatnonzero(~allowed.eligible[k]):
        rule = allowed.first_failing_rule(k, int(p))
        assert rule is not None
        provider = scenario.providers[int(p)]
        ruled.append(
            RuledOut(provider.id, provider.name, rule.key, rule.describe(scenario, k, int(p)))
        )
    return ruled


def _ignore_capacity(arrays: BookArrays) -> BookArrays:
    """The arrays with room enough for every package, so a provider that is merely full stays an
    option (shown without room) instead of being ruled out as too small."""
    need = arrays.need.max(axis=0, initial=0)
    return BookArrays(
        arrays.need,
        np.maximum(arrays.capacity, need[None, :]),
        np.where(arrays.max_minutes >= 0, np.maximum(arrays.max_minutes, need.sum()), -1),
        arrays.current,
        arrays.zones,
        arrays.package_zone,
    )


def _need(package: CarePackage) -> np.ndarray:
    return np.fromiter(package.carer_minutes_by_band().values(), dtype=np.int64, count=len(BANDS))


def _left(provider: Provider, held: np.ndarray) -> Provider:
    capacity = {
        Band(b): max(provider.capacity(b) - int(m), 0) for b, m in zip(BANDS, held, strict=True)
    }
    cap = provider.max_weekly_hours
    left = None if cap is None else max(cap - int(held.sum()) / 60, 0.0)
    return provider.model_copy(update={"capacity_minutes": capacity, "max_weekly_hours": left})


def _lot_left(lot: Lot, held: Mapping[str, int]) -> Lot:
    if lot.max_weekly_hours is None:
        return lot
    used = sum(held.get(p, 0) for p in lot.providers) / 60
    return lot.model_copy(update={"max_weekly_hours": max(lot.max_weekly_hours - used, 0.0)})


def _request_errors(package_ids: Sequence[str], missing: list[str]) -> list[InputError]:
    errors = [InputError("request", None, "package_ids", f"unknown package {i}") for i in missing]
    repeated = sorted({i for i in package_ids if list(package_ids).count(i) > 1})
    errors += [InputError("request", None, "package_ids", f"{i} listed twice") for i in repeated]
    return errors
