"""Sentences a broker can read: why each package went where it did, and why others went nowhere.

A placement is explained against its best alternative: the policy's goals are compared in priority
order and the first that differs decided it; if the alternative was better there, it lost on
capacity. An unplaced package is diagnosed by running its providers through the hard filters in
the order a broker would, then through what capacity is left once the plan is made.
"""

from __future__ import annotations

import numpy as np

from allocator.eligibility import CAPACITY, RULES, ZONE, Eligibility
from allocator.framework_rules import FrameworkRules
from allocator.goals import (
    FAIRNESS_SCALE,
    PREFERENCES,
    PairTable,
    peak_utilisation,
    preference_matrix,
    preferences_requested,
)
from allocator.model import BANDS, CarePackage, Provider
from allocator.policy import Goal
from allocator.result import Placement, Strategy, Unplaced

_PREFERENCE_MISSING = {
    "gender": "cannot guarantee a {gender} carer",
    "language": "has no carers who speak {language}",
    "preferred_provider": "is not the person's preferred provider",
}


class Explainer:
    """Explains one finished plan: `chosen` marks the pairs placed."""

    def __init__(
        self,
        pairs: PairTable,
        eligibility: Eligibility,
        rules: FrameworkRules,
        chosen: np.ndarray,
        strategy: Strategy,
    ) -> None:
        self.pairs = pairs
        self.scenario = pairs.scenario
        self.eligibility = eligibility
        self.chosen = chosen
        self.strategy = strategy
        self.goals = tuple(g for g in self.scenario.policy.goals if g is not Goal.FAIRNESS)
        self.keys = pairs.ranking_key(self.goals)
        self.preferences = preference_matrix(self.scenario)
        self.requested = preferences_requested(self.scenario)
        self.rules = rules
        self.room = rules.room(pairs, chosen)
        self.residual, self.residual_total = self.room.band, self.room.total
        self.rotation_counts = rules.rotation_counts(pairs, chosen, self.room)
        self.peak = peak_utilisation(pairs, chosen)
        current = int(pairs.is_current.sum())
        limit = self.scenario.policy.moves.limit(current)
        self.moves_left = (
            None if limit is None else limit - current + int(chosen[pairs.is_current].sum())
        )
        """Moves the policy's budget still allows in this plan (None: no budget)."""
        starts = np.searchsorted(pairs.package, np.arange(len(self.scenario.packages) + 1))
        self.rows_of = [np.arange(starts[k], starts[k + 1]) for k in range(len(starts) - 1)]

    def placements(self) -> list[Placement]:
        return [self._placement(int(i)) for i in np.flatnonzero(self.chosen)]

    def unplaced(self) -> list[Unplaced]:
        placed = set(self.pairs.package[self.chosen].tolist())
        return [self.diagnose(k) for k in range(len(self.scenario.packages)) if k not in placed]

    # -- placements ---------------------------------------------------------------------------

    def _placement(self, i: int) -> Placement:
        pairs, k, p = self.pairs, int(self.pairs.package[i]), int(self.pairs.provider[i])
        package, provider = self.scenario.packages[k], self.scenario.providers[p]
        decided_by, reason, alternative, why_not = self._decision(i, k)
        return Placement(
            package_id=package.id,
            provider_id=provider.id,
            zone=package.zone or "",
            carer_minutes=int(pairs.minutes[i]),
            cost_gbp_per_week=round(int(pairs.cost_pence[i]) / 100, 2),
            travel_km=round(int(pairs.travel_m[i]) / 1000, 2),
            cascade_step=int(pairs.cascade_step[i]) + 1,
            kept_current=bool(pairs.is_current[i]),
            preferences_met=int(self.preferences[k, p].sum()),
            preferences_requested=int(self.requested[k].sum()),
            decided_by=decided_by,
            reason=reason,
            best_alternative=alternative.id if alternative else None,
            why_not_alternative=why_not,
        )

    def _decision(self, i: int, k: int) -> tuple[str, str, Provider | None, str | None]:
        """(decided_by, reason, best alternative, why the alternative lost)."""
        package = self.scenario.packages[k]
        chosen = self.scenario.providers[self.pairs.provider[i]]
        if package.pinned:
            return (
                "pinned",
                f"Pinned to its current provider {chosen.name}; pinned placements never move.",
                None,
                None,
            )
        others = [j for j in self.rows_of[k] if j != i]
        if not others:
            return (
                "only option",
                f"{chosen.name} is the only provider that could take it: {self._rejections(k)}.",
                None,
                None,
            )
        j = self._best_alternative(i, others)
        alternative = self.scenario.providers[self.pairs.provider[j]]
        if self.strategy is Strategy.CASCADE:
            why = self._shortfall_text(k, int(self.pairs.provider[j]), i)
            return (
                "cascade order",
                f"Offered down the cascade; {self.label(i)} was the first with room.",
                alternative,
                why or "it came later in the cascade",
            )
        decided_by, why = self.why_below(i, j)
        if decided_by == "tie":
            return (
                "tie",
                f"{chosen.name} and {alternative.name} are equally good under the policy.",
                alternative,
                why,
            )
        goal = Goal(decided_by)
        position = self.scenario.policy.goals.index(goal) + 1
        reason = (
            f"Placed with {self.label(i)}. Decided by goal {position} ({goal.description}): "
            f"{self.label(j)} {why}."
        )
        return goal.value, reason, alternative, why

    def why_below(self, i: int, j: int) -> tuple[str, str]:
        """(the goal that decided, or "tie"; why option j of the same package is worse than the
        chosen row i): the first goal in the policy's order that tells them apart, or the
        capacity that kept j out where j would have been better."""
        k, p = int(self.pairs.package[i]), int(self.pairs.provider[j])
        short = self._shortfall_text(k, p, i)
        level = self._first_difference(i, j)
        fairness = self._fairness_text(i, j, level) if short is None else None
        if fairness is not None:
            return Goal.FAIRNESS.value, fairness
        if level is None:
            chosen = self.scenario.providers[self.pairs.provider[i]]
            return "tie", (
                short
                or f"it is equal on every goal, and the tie went to {chosen.name} by the fixed seed"
            )
        goal = self.goals[level]
        alternative_better = self.keys[j, level] < self.keys[i, level]
        return goal.value, (
            short if alternative_better and short else self._difference_text(goal, k, i, j)
        )

    def _fairness_text(self, i: int, j: int, level: int | None) -> str | None:
        """Why the alternative lost on fairness, if fairness ranks above the first goal that
        tells the two apart and moving the package there would raise the plan's peak load."""
        goals = self.scenario.policy.goals
        if Goal.FAIRNESS not in goals:
            return None
        if level is not None and goals.index(self.goals[level]) < goals.index(Goal.FAIRNESS):
            return None
        p = int(self.pairs.provider[j])
        capacity = int(self.pairs.arrays.capacity[p].sum())
        if capacity == 0:
            return None
        load = capacity - int(self.residual[p].sum()) + int(self.pairs.minutes[i])
        moved = -(-load * FAIRNESS_SCALE // capacity)
        if moved <= self.peak:
            return None
        return (
            f"would then be loaded to {moved / 10:.1f}% of its weekly capacity, above the "
            f"plan's peak of {self.peak / 10:.1f}%"
        )

    def _best_alternative(self, i: int, others: list[int]) -> int:
        if self.strategy is Strategy.CASCADE:
            earlier = [j for j in others if self._offer_key(j) < self._offer_key(i)]
            return (
                max(earlier, key=self._offer_key) if earlier else min(others, key=self._offer_key)
            )
        return min(others, key=lambda j: (*self.keys[j].tolist(), int(self.pairs.provider[j])))

    def _offer_key(self, j: int) -> tuple[int, ...]:
        pairs = self.pairs
        return (
            not pairs.is_current[j],
            int(pairs.cascade_step[j]),
            int(pairs.travel_m[j]),
            int(pairs.provider[j]),
        )

    def _first_difference(self, i: int, j: int) -> int | None:
        differs = np.flatnonzero(self.keys[i] != self.keys[j])
        return int(differs[0]) if len(differs) else None

    def _difference_text(self, goal: Goal, k: int, i: int, j: int) -> str:
        pairs = self.pairs
        match goal:
            case Goal.CONTINUITY:
                return "is not the person's current provider"
            case Goal.CASCADE:
                later, earlier = self._cascade_label(j), self._cascade_label(i)
                return f"comes later in the cascade ({later} against {earlier})"
            case Goal.PREFERENCES:
                return self._preference_text(k, int(pairs.provider[i]), int(pairs.provider[j]))
            case Goal.COST:
                pounds = (int(pairs.cost_pence[j]) - int(pairs.cost_pence[i])) / 100
                if pounds <= 0 and pairs.move_pence[j] > pairs.move_pence[i]:
                    charge = int(pairs.move_pence[j]) / 100
                    return (
                        f"would save only £{-pounds:,.2f} a week by moving the person, not the "
                        f"£{charge:,.2f} a week the policy asks of a move"
                    )
                return f"costs £{pounds:,.2f} a week more"
            case Goal.TRAVEL:
                km = (int(pairs.travel_m[j]) - int(pairs.travel_m[i])) / 1000
                return f"is based {km:.1f} km further away"
        return f"does worse on {goal.value}"

    def _preference_text(self, k: int, chosen: int, alternative: int) -> str:
        package = self.scenario.packages[k]
        lost = self.preferences[k, chosen] & ~self.preferences[k, alternative]
        reasons = [
            _PREFERENCE_MISSING[name].format(
                gender=package.gender_preference,
                language=(package.language or "").replace("_", " ").title(),
            )
            for name, missing in zip(PREFERENCES, lost, strict=True)
            if missing
        ]
        return " and ".join(reasons) or "meets fewer of the person's preferences"

    def label(self, i: int) -> str:
        """A provider as brokers name it for this package: name, cascade place, current or not."""
        provider = self.scenario.providers[self.pairs.provider[i]]
        current = ", current provider" if self.pairs.is_current[i] else ""
        return f"{provider.name} ({self._cascade_label(i)}{current})"

    def _cascade_label(self, i: int) -> str:
        provider = self.scenario.providers[self.pairs.provider[i]]
        service = provider.service_in(self.scenario.packages[self.pairs.package[i]].zone or "")
        if service is None:
            return "outside the zone's cascade"
        rank = f", rank {service.rank}" if service.rank else ""
        return f"tier {service.tier}{rank}"

    def _shortfall_text(self, k: int, p: int, chosen: int) -> str | None:
        """Why provider p could not take package k, placed at row `chosen`, in the plan."""
        need = self.pairs.arrays.need[k]
        for b, band in enumerate(BANDS):
            if need[b] > self.residual[p, b]:
                left = max(int(self.residual[p, b]), 0)
                if left == 0:
                    return (
                        f"was full in the {band} band (this package needs {int(need[b]):,} minutes)"
                    )
                return (
                    f"had only {left:,} of the {int(need[b]):,} {band} minutes this package "
                    "needs left"
                )
        if need.sum() > self.residual_total[p]:
            return (
                f"had only {int(self.residual_total[p]) / 60:.1f} hours left under its weekly cap"
            )
        if self.pairs.is_current[chosen] and self.moves_left is not None and self.moves_left <= 0:
            return (
                "would move the person from their current provider, and the plan already makes "
                "every move the policy's move budget allows"
            )
        return self._framework_text(k, p, chosen)

    def _framework_text(self, k: int, p: int, chosen: int | None = None) -> str | None:
        """Why a lot cap or a rotation kept package k (placed at row `chosen`, if it is) from
        provider p, if one did."""
        need = self.pairs.arrays.need[k]
        minutes = int(need.sum())
        for lot, left in zip(self.rules.lots, self.room.lot, strict=True):
            if p in lot.providers and left < minutes:
                return (
                    f"belongs to the {lot.name} lot, which had only {max(left, 0) / 60:.1f} "
                    "hours a week left under its cap"
                )
        rows = self.rows_of[k][self.pairs.provider[self.rows_of[k]] == p]
        for rule, (on, off) in zip(self.rules.rotations, self.rotation_counts, strict=True):
            leaves_on = chosen is not None and chosen in rule.on_rows
            share = f"{rule.share_per_mille / 10:g}%"
            if len(rows) and rows[0] in rule.off_rows:
                if leaves_on:
                    blocked = not rule.allows(on - 1, off + 1)
                else:
                    blocked = not rule.allows(on, off + 1) and self.room.fits(rule.on, need)
                if blocked:
                    return (
                        f"is the week-off provider in {rule.zone}, and the week-on provider must "
                        f"take at least {share} of the zone's new referrals"
                    )
            elif leaves_on and not rule.allows(on - 1, off):
                return (
                    f"would take the referral from the week-on provider in {rule.zone}, which "
                    f"must keep at least {share} of the zone's new referrals"
                )
        return None

    def _rejections(self, k: int) -> str:
        rejected = np.flatnonzero(~self.eligibility.eligible[k])
        texts = []
        for p in rejected[:3]:
            rule = self.eligibility.first_failing_rule(k, int(p))
            assert rule is not None
            texts.append(
                f"{self.scenario.providers[p].name} {rule.describe(self.scenario, k, int(p))}"
            )
        more = f"; and {len(rejected) - 3} more" if len(rejected) > 3 else ""
        return "; ".join(texts) + more if texts else "there are no other providers"

    # -- unplaced -----------------------------------------------------------------------------

    def diagnose(self, k: int) -> Unplaced:
        """Why package k is not placed in this plan."""
        package = self.scenario.packages[k]
        code, text = self._diagnosis(k, package)
        if code == "capacity" and self.moves_left is not None and self.moves_left <= 0:
            text += (
                " The policy's move budget is spent, so no one in care could be moved to make room."
            )
        return Unplaced(
            package_id=package.id,
            zone=package.zone or "",
            urgency=package.urgency.value,
            carer_minutes=int(self.pairs.arrays.need[k].sum()),
            reason_code=code,
            diagnosis=text,
        )

    def _diagnosis(self, k: int, package: CarePackage) -> tuple[str, str]:
        candidates = np.ones(len(self.scenario.providers), dtype=bool)
        zone = package.zone
        for rule in RULES:
            if rule.key not in self.eligibility.masks:
                continue
            remaining = candidates & self.eligibility.masks[rule.key][k]
            if not remaining.any():
                return rule.key, self._funnel_text(rule.key, k, candidates, zone)
            candidates = remaining
        return self._capacity_diagnosis(k, np.flatnonzero(candidates))

    def _funnel_text(self, key: str, k: int, candidates: np.ndarray, zone: str | None) -> str:
        package = self.scenario.packages[k]
        names = [self.scenario.providers[p].name for p in np.flatnonzero(candidates)]
        among = (
            f"Of the providers serving zone {zone}"
            if ZONE.key in self.eligibility.masks
            else "Of the framework's providers"
        )
        match key:
            case "zone":
                return f"No provider on the framework serves zone {zone}."
            case "embargo":
                return f"{among}, all are under embargo ({', '.join(names)})."
            case "cqc_floor":
                floor = self.scenario.policy.hard_filters.cqc_floor
                rating = floor.label if floor else ""
                return f"{among}, none still eligible is rated {rating} or better."
            case "specialism":
                needed = " and ".join(t.replace("_", " ") for t in package.specialisms)
                return f"{among}, none has the {needed} specialism."
            case "double_up":
                return f"{among}, none can staff double-up calls."
            case "same_gender":
                return f"{among}, none can guarantee a {package.gender_preference} carer."
            case "exclusions":
                return f"All eligible providers are excluded for this person ({', '.join(names)})."
            case "pinned":
                return f"It is pinned to {package.current_provider}, which cannot take it."
            case CAPACITY.key:
                return self._too_big_text(k, np.flatnonzero(candidates))
        return f"No provider passes the {key} rule."

    def _too_big_text(self, k: int, candidates: np.ndarray) -> str:
        need = self.pairs.arrays.need[k]
        capacity = self.pairs.arrays.capacity[candidates]
        for b, band in enumerate(BANDS):
            if need[b] > capacity[:, b].max():
                best = candidates[int(np.argmax(capacity[:, b]))]
                return (
                    f"No eligible provider offers enough {band} capacity in all: the largest, "
                    f"{self.scenario.providers[best].name}, offers {int(capacity[:, b].max()):,} "
                    f"{band} minutes a week against the {int(need[b]):,} needed."
                )
        short_bands = (need[None, :] > capacity).sum(axis=1)
        if short_bands.any():
            closest = int(np.argmin(np.where(short_bands > 0, short_bands, len(BANDS) + 1)))
            bands = " and ".join(
                band for b, band in enumerate(BANDS) if need[b] > capacity[closest, b]
            )
            return (
                "No eligible provider offers enough capacity in every band this package needs: "
                f"the closest, {self.scenario.providers[candidates[closest]].name}, has too "
                f"little in the {bands} band."
            )
        return "No eligible provider's weekly cap is large enough for this package."

    def _capacity_diagnosis(self, k: int, candidates: np.ndarray) -> tuple[str, str]:
        need = self.pairs.arrays.need[k]
        short = np.maximum(need[None, :] - self.residual[candidates], 0)
        short_total = np.maximum(need.sum() - self.residual_total[candidates], 0)
        shortfall = short.sum(axis=1) + short_total
        blocked = {
            int(c): text
            for c, gap in zip(candidates, shortfall, strict=True)
            if gap == 0 and (text := self._framework_text(k, int(c))) is not None
        }
        if blocked and len(blocked) == (shortfall == 0).sum():
            p, text = next(iter(blocked.items()))
            return "framework", (
                f"{self.scenario.providers[p].name} had room in every band but {text}; "
                "no other eligible provider had room."
            )
        if (shortfall == 0).any():
            roomy = self.scenario.providers[candidates[int(np.argmin(shortfall))]].name
            return "not_chosen", (
                f"{roomy} had room for it, but placing it was not chosen at the policy's goal "
                "levels (a higher goal used the capacity differently, or the time limit was "
                "reached)."
            )
        closest = int(np.argmin(shortfall))
        provider = self.scenario.providers[candidates[closest]]
        all_short = [band for b, band in enumerate(BANDS) if (short[:, b] > 0).all()]
        bands = " and ".join(f"{band}" for band in all_short)
        gaps = " and ".join(
            f"{int(short[closest, b]):,} minutes short in the {band} band"
            for b, band in enumerate(BANDS)
            if short[closest, b] > 0
        )
        if short_total[closest] > 0:
            gaps = ", ".join(
                filter(
                    None, [gaps, f"{int(short_total[closest]) / 60:.1f} hours over its weekly cap"]
                )
            )
        where = f"full in the {bands} band" if all_short else "full"
        count = len(candidates)
        if count == 1:
            return "capacity", f"The only eligible provider, {provider.name}, is {gaps}."
        return "capacity", (
            f"All {count} eligible providers are {where}; the closest, {provider.name}, is {gaps}."
        )
