"""Hard filters: which providers may take which packages, before any optimisation.

Each filter is a named rule of the policy and yields a (packages × providers) boolean mask, so the
whole book is filtered with array operations and every rejected pair can later be traced to the
rule that rejected it. Keeping a package with its current provider is exempt from the rules that
govern new call-offs (zone, CQC floor, embargo); a pinned package may go nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from allocator.book import BookArrays
from allocator.model import BANDS, ProviderStatus
from allocator.scenario import Scenario


@dataclass(frozen=True)
class Rule:
    """A hard filter as the policy names it, with the sentence a broker reads when it bites."""

    key: str
    exempts_current: bool
    describe: Callable[[Scenario, int, int], str]


def _zone_text(s: Scenario, k: int, p: int) -> str:
    return f"does not serve zone {s.packages[k].zone}"


def _cqc_text(s: Scenario, k: int, p: int) -> str:
    floor = s.policy.hard_filters.cqc_floor
    assert floor is not None
    return f"is rated {s.providers[p].cqc_rating.label}, below the policy floor of {floor.label}"


def _embargo_text(s: Scenario, k: int, p: int) -> str:
    return "is under embargo (no new packages)"


def _specialism_text(s: Scenario, k: int, p: int) -> str:
    missing = sorted(set(s.packages[k].specialisms) - set(s.providers[p].specialisms))
    return f"has no {' or '.join(t.replace('_', ' ') for t in missing)} specialism"


def _exclusion_text(s: Scenario, k: int, p: int) -> str:
    return "is excluded for this person"


def _double_up_text(s: Scenario, k: int, p: int) -> str:
    return "cannot staff double-up calls"


def _gender_text(s: Scenario, k: int, p: int) -> str:
    return f"cannot guarantee a {s.packages[k].gender_preference} carer"


def _pinned_text(s: Scenario, k: int, p: int) -> str:
    return f"is not the current provider of this pinned package ({s.packages[k].current_provider})"


def _capacity_text(s: Scenario, k: int, p: int) -> str:
    need = s.packages[k].carer_minutes_by_band()
    provider = s.providers[p]
    for band in BANDS:
        if need[band] > provider.capacity(band):
            return (
                f"offers only {provider.capacity(band):,} {band} minutes a week in all, "
                f"less than the {need[band]:,} this package needs"
            )
    return f"is capped at {provider.max_weekly_hours:g} hours a week, less than this package needs"


ZONE = Rule("zone", True, _zone_text)
CQC_FLOOR = Rule("cqc_floor", True, _cqc_text)
EMBARGO = Rule("embargo", True, _embargo_text)
SPECIALISM = Rule("specialism", False, _specialism_text)
EXCLUSIONS = Rule("exclusions", False, _exclusion_text)
DOUBLE_UP = Rule("double_up", False, _double_up_text)
SAME_GENDER = Rule("same_gender", False, _gender_text)
PINNED = Rule("pinned", False, _pinned_text)
CAPACITY = Rule("capacity", False, _capacity_text)
"""Not a policy filter: a pair whose need exceeds the provider's whole capacity can never fit."""


@dataclass(frozen=True)
class Eligibility:
    """The eligible (package, provider) pairs, and per rule the mask of pairs it lets through."""

    scenario: Scenario
    masks: dict[str, np.ndarray]
    """Rule key -> (packages × providers) bool, True where the rule allows the pair."""
    eligible: np.ndarray
    """(packages × providers) bool: every rule allows the pair."""

    @cached_property
    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(package index, provider index) of every eligible pair, package-major and sorted."""
        return np.nonzero(self.eligible)

    def first_failing_rule(self, k: int, p: int) -> Rule | None:
        return next((r for r in RULES if r.key in self.masks and not self.masks[r.key][k, p]), None)

    def rules_failing(self, k: int, p: int) -> list[Rule]:
        return [r for r in RULES if r.key in self.masks and not self.masks[r.key][k, p]]


RULES: tuple[Rule, ...] = (
    PINNED,
    ZONE,
    EMBARGO,
    CQC_FLOOR,
    SPECIALISM,
    DOUBLE_UP,
    SAME_GENDER,
    EXCLUSIONS,
    CAPACITY,
)
"""The order in which a broker would rule a provider out, used to pick the reason to show."""


def _tag_matrix(tag_sets: list[tuple[str, ...]], vocabulary: list[str]) -> np.ndarray:
    position = {t: i for i, t in enumerate(vocabulary)}
    matrix = np.zeros((len(tag_sets), len(vocabulary)), dtype=bool)
    for row, tags in enumerate(tag_sets):
        matrix[row, [position[t] for t in tags]] = True
    return matrix


def _policy_masks(scenario: Scenario, arrays: BookArrays) -> dict[str, np.ndarray]:
    """One mask per enabled policy filter (True = allowed), before exemptions."""
    filters = scenario.policy.hard_filters
    packages, providers = scenario.packages, scenario.providers
    shape = (len(packages), len(providers))
    masks: dict[str, np.ndarray] = {}
    if filters.zone:
        served = _tag_matrix(
            [tuple(z.zone for z in p.zones) for p in providers], list(arrays.zones)
        )
        masks[ZONE.key] = served[:, arrays.package_zone].T.reshape(shape)
    if filters.cqc_floor is not None:
        ok = np.array(
            [p.cqc_rating.score >= filters.cqc_floor.score for p in providers], dtype=bool
        )
        masks[CQC_FLOOR.key] = np.broadcast_to(ok, shape)
    if filters.embargo:
        ok = np.array([p.status is ProviderStatus.ACTIVE for p in providers], dtype=bool)
        masks[EMBARGO.key] = np.broadcast_to(ok, shape)
    if filters.specialism:
        vocabulary = sorted({t for x in (*packages, *providers) for t in x.specialisms})
        required = _tag_matrix([k.specialisms for k in packages], vocabulary).astype(np.int64)
        offered = _tag_matrix([p.specialisms for p in providers], vocabulary).astype(np.int64)
        masks[SPECIALISM.key] = (required @ (1 - offered).T) == 0
    if filters.exclusions:
        index = {p.id: i for i, p in enumerate(providers)}
        ok = np.ones(shape, dtype=bool)
        for k, pkg in enumerate(packages):
            ok[k, [index[x] for x in pkg.excluded_providers if x in index]] = False
        masks[EXCLUSIONS.key] = ok
    if filters.double_up:
        needs = np.array([k.needs_double_up for k in packages], dtype=bool)
        can = np.array([p.double_up for p in providers], dtype=bool)
        masks[DOUBLE_UP.key] = ~needs[:, None] | can[None, :]
    if filters.same_gender == "hard":
        wants = np.array([k.gender_preference is not None for k in packages], dtype=bool)
        can = np.array([p.same_gender for p in providers], dtype=bool)
        masks[SAME_GENDER.key] = ~wants[:, None] | can[None, :]
    return masks


def eligibility(scenario: Scenario, arrays: BookArrays | None = None) -> Eligibility:
    """Apply the policy's hard filters (and the pins) to every (package, provider) pair."""
    arrays = arrays or BookArrays.of(scenario)
    masks = _policy_masks(scenario, arrays)
    exempt = {r.key for r in RULES if r.exempts_current}
    for key in list(masks):
        if key in exempt:
            masks[key] = masks[key] | arrays.current
    pinned = np.array([k.pinned for k in scenario.packages], dtype=bool)
    masks[PINNED.key] = ~pinned[:, None] | arrays.current
    for key in list(masks):
        if key != PINNED.key:
            masks[key] = masks[key] | (pinned[:, None] & arrays.current)
    fits = (arrays.need[:, None, :] <= arrays.capacity[None, :, :]).all(axis=2)
    capped = arrays.max_minutes >= 0
    fits &= ~capped[None, :] | (arrays.need.sum(axis=1)[:, None] <= arrays.max_minutes[None, :])
    masks[CAPACITY.key] = fits
    eligible = np.logical_and.reduce(list(masks.values()))
    return Eligibility(scenario, masks, eligible)
