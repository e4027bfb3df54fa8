"""An independent check of an allocation against the published hard rules.

Written without the solver, eligibility or cascade code so that the test suite can hold every
result to the rules as stated, not as implemented. Everything is recomputed from the raw records
(visits' days, minutes and carers) rather than through the models' helper methods.

The rules, each reported under its name:

- ``unknown_package`` / ``unknown_provider``: every id in the placements exists in the scenario.
- Pair filters, for a placed package K with provider P, each only when enabled in
  ``policy.hard_filters``:
  - ``zone``: P serves K's zone. Exempt when P is K's current provider (bridging placements).
  - ``cqc_floor``: P's CQC rating is at or above the floor. Exempt when P is K's current provider.
  - ``embargo``: P is active. Exempt when P is K's current provider (it stops new work only).
  - ``specialism``: P has every specialism K requires.
  - ``exclusions``: P is not among K's excluded providers.
  - ``double_up``: if any visit of K needs two carers, P can staff double-up calls.
  - ``same_gender``: when set to "hard" and K states a gender preference, P can meet it.
- ``pinned``: a pinned package is placed, and with its current provider. Placed there, it is an
  existing fact and exempt from every pair filter; placed anywhere else it is a new placement and
  the pair filters apply as usual.
- ``capacity`` (always): per provider and band, the weekly carer minutes placed (days x minutes x
  carers, so a double-up call counts twice) do not exceed the provider's capacity in that band.
- ``max_weekly_hours`` (when the provider sets one): the weekly carer minutes placed across all
  bands do not exceed the cap in hours x 60 (within 1e-6 minutes, for float caps).
- ``lot_cap`` (each policy lot with a cap): the weekly carer minutes placed with the lot's
  providers together do not exceed its cap in hours x 60.
- ``rotation`` (each policy rotation): of the zone's new referrals (no current provider) placed
  with the week-on or week-off provider, the week-on provider has at least the share. A referral
  with the week-off provider counts only if the week-on provider could take it (it passes the
  pair filters and fits its whole weekly capacity in every band and under its cap) and still has
  room for it in this plan (in every band, under its weekly cap and under its lots' caps).
- ``move_budget`` (when the policy's ``moves`` sets ``max_moves`` or ``max_share``): of the people
  whose current provider could keep them (the pair passes the pair filters), at most
  min(max_moves, floor(max_share x their number)) are placed elsewhere or not at all. Checked only
  when the current placements on their own break no capacity, hour or lot cap: a book its
  providers can no longer hold forces moves beyond the budget.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from allocator.model import BANDS, Band, CarePackage, Provider, ProviderStatus
from allocator.policy import HardFilters
from allocator.scenario import Scenario

_TOLERANCE_MINUTES = 1e-6


@dataclass(frozen=True)
class Violation:
    rule: str
    package_id: str | None
    provider_id: str | None
    message: str


def check_allocation(scenario: Scenario, placements: Mapping[str, str]) -> list[Violation]:
    """Every hard-rule violation in `placements` (package id -> provider id), in a stable order."""
    packages = {k.id: k for k in scenario.packages}
    providers = {p.id: p for p in scenario.providers}
    filters = scenario.policy.hard_filters
    found: list[Violation] = []
    load: dict[str, dict[Band, int]] = defaultdict(lambda: dict.fromkeys(BANDS, 0))

    for package_id, provider_id in placements.items():
        package = packages.get(package_id)
        provider = providers.get(provider_id)
        if package is None:
            found.append(
                Violation(
                    "unknown_package",
                    package_id,
                    provider_id,
                    f"Package {package_id} is not in the scenario.",
                )
            )
        if provider is None:
            found.append(
                Violation(
                    "unknown_provider",
                    package_id,
                    provider_id,
                    f"Provider {provider_id} is not in the scenario.",
                )
            )
        if package is None or provider is None:
            continue
        if not (package.pinned and provider.id == package.current_provider):
            found.extend(_pair_violations(filters, package, provider))
        for visit in package.visits:
            load[provider.id][visit.band] += len(visit.days) * visit.minutes * visit.carers

    for package in scenario.packages:
        if package.pinned and placements.get(package.id) != package.current_provider:
            where = placements.get(package.id)
            state = "is not placed" if where is None else f"is placed with {where}"
            found.append(
                Violation(
                    "pinned",
                    package.id,
                    package.current_provider,
                    f"Pinned package {package.id} {state}; it must stay with "
                    f"its current provider {package.current_provider}.",
                )
            )

    for provider_id, minutes in load.items():
        found.extend(_load_violations(providers[provider_id], minutes))
    found.extend(_lot_violations(scenario, load))
    found.extend(_rotation_violations(scenario, placements, load))
    found.extend(_move_violations(scenario, placements))

    # Stable: one provider's capacity violations stay in band order (morning first).
    return sorted(found, key=lambda v: (v.rule, v.package_id or "", v.provider_id or ""))


def _pair_violations(
    filters: HardFilters, package: CarePackage, provider: Provider
) -> list[Violation]:
    """The pair filters, as the policy enables them, for one placed package."""
    current = provider.id == package.current_provider
    failures: list[tuple[str, str]] = []
    if filters.zone and not current and all(z.zone != package.zone for z in provider.zones):
        failures.append(("zone", f"does not serve zone {package.zone}"))
    floor = filters.cqc_floor
    if floor is not None and not current and provider.cqc_rating.score < floor.score:
        failures.append(
            ("cqc_floor", f"is rated {provider.cqc_rating.value}, below the floor {floor.value}")
        )
    if filters.embargo and not current and provider.status != ProviderStatus.ACTIVE:
        failures.append(("embargo", f"is {provider.status.value} and may take no new packages"))
    missing = sorted(set(package.specialisms) - set(provider.specialisms))
    if filters.specialism and missing:
        failures.append(("specialism", f"lacks the specialisms {', '.join(missing)}"))
    if filters.exclusions and provider.id in package.excluded_providers:
        failures.append(("exclusions", "is on the package's exclusion list"))
    if filters.double_up and not provider.double_up and any(v.carers == 2 for v in package.visits):
        failures.append(("double_up", "cannot staff the package's two-carer calls"))
    if (
        filters.same_gender == "hard"
        and package.gender_preference is not None
        and not provider.same_gender
    ):
        failures.append(
            (
                "same_gender",
                f"cannot meet the preference for a {package.gender_preference.value} carer",
            )
        )
    return [
        Violation(
            rule,
            package.id,
            provider.id,
            f"Package {package.id} is placed with {provider.id}, which {reason}.",
        )
        for rule, reason in failures
    ]


def _load_violations(provider: Provider, minutes: Mapping[Band, int]) -> list[Violation]:
    """Band capacity and the weekly-hours cap for one provider's placed carer minutes."""
    found: list[Violation] = []
    for band, used in minutes.items():
        offered = provider.capacity(band)
        if used > offered:
            found.append(
                Violation(
                    "capacity",
                    None,
                    provider.id,
                    f"Provider {provider.id} has {used} {band.value} carer minutes "
                    f"placed against {offered} offered: {used - offered} over.",
                )
            )
    total = sum(minutes.values())
    cap = provider.max_weekly_hours
    if cap is not None and total > cap * 60 + _TOLERANCE_MINUTES:
        found.append(
            Violation(
                "max_weekly_hours",
                None,
                provider.id,
                f"Provider {provider.id} has {total} carer minutes placed against "
                f"a cap of {cap:g} hours ({cap * 60:g} minutes): "
                f"{total - cap * 60:g} over.",
            )
        )
    return found


def _minutes_by_band(package: CarePackage) -> dict[Band, int]:
    need = dict.fromkeys(BANDS, 0)
    for visit in package.visits:
        need[visit.band] += len(visit.days) * visit.minutes * visit.carers
    return need


def _lot_violations(scenario: Scenario, load: Mapping[str, Mapping[Band, int]]) -> list[Violation]:
    found = []
    for lot in scenario.policy.lots:
        if lot.max_weekly_hours is None:
            continue
        total = sum(sum(load[p].values()) for p in lot.providers if p in load)
        if total > lot.max_weekly_hours * 60 + _TOLERANCE_MINUTES:
            found.append(
                Violation(
                    "lot_cap",
                    None,
                    None,
                    f"Lot {lot.name} has {total} carer minutes placed against a cap of "
                    f"{lot.max_weekly_hours:g} hours ({lot.max_weekly_hours * 60:g} minutes).",
                )
            )
    return found


def _could_take(filters: HardFilters, package: CarePackage, provider: Provider) -> bool:
    need = _minutes_by_band(package)
    cap = provider.max_weekly_hours
    return (
        not _pair_violations(filters, package, provider)
        and all(need[band] <= provider.capacity(band) for band in BANDS)
        and (cap is None or sum(need.values()) <= cap * 60 + _TOLERANCE_MINUTES)
    )


def _has_room(
    scenario: Scenario,
    provider: Provider,
    package: CarePackage,
    load: Mapping[str, Mapping[Band, int]],
) -> bool:
    """Whether the provider could still fit the package on top of what the plan gives it."""
    used = load.get(provider.id, dict.fromkeys(BANDS, 0))
    need = _minutes_by_band(package)
    extra = sum(need.values())
    if any(used[band] + need[band] > provider.capacity(band) for band in BANDS):
        return False
    cap = provider.max_weekly_hours
    if cap is not None and sum(used.values()) + extra > cap * 60 + _TOLERANCE_MINUTES:
        return False
    for lot in scenario.policy.lots:
        if lot.max_weekly_hours is not None and provider.id in lot.providers:
            lot_used = sum(sum(load[p].values()) for p in lot.providers if p in load)
            if lot_used + extra > lot.max_weekly_hours * 60 + _TOLERANCE_MINUTES:
                return False
    return True


def _rotation_violations(
    scenario: Scenario, placements: Mapping[str, str], load: Mapping[str, Mapping[Band, int]]
) -> list[Violation]:
    providers = {p.id: p for p in scenario.providers}
    filters = scenario.policy.hard_filters
    found = []
    for rule in scenario.policy.rotations:
        week_on = providers[rule.on]
        on = off = 0
        for package in scenario.packages:
            if package.zone != rule.zone or package.current_provider is not None:
                continue
            where = placements.get(package.id)
            if where == rule.on:
                on += 1
            elif (
                where == rule.off
                and _could_take(filters, package, week_on)
                and _has_room(scenario, week_on, package, load)
            ):
                off += 1
        if on < rule.share * (on + off) - 1e-9:
            found.append(
                Violation(
                    "rotation",
                    None,
                    rule.on,
                    f"In {rule.zone} the week-on provider {rule.on} has {on} of {on + off} new "
                    f"referrals it had room for, below its share of {rule.share:.0%}.",
                )
            )
    return found


def _move_violations(scenario: Scenario, placements: Mapping[str, str]) -> list[Violation]:
    budget = scenario.policy.moves
    if budget.max_moves is None and budget.max_share is None:
        return []
    providers = {p.id: p for p in scenario.providers}
    filters = scenario.policy.hard_filters
    keepable = [
        k
        for k in scenario.packages
        if k.current_provider in providers
        and (k.pinned or not _pair_violations(filters, k, providers[k.current_provider]))
    ]
    standing: dict[str, dict[Band, int]] = defaultdict(lambda: dict.fromkeys(BANDS, 0))
    for package in scenario.packages:
        if package.current_provider in providers:
            for visit in package.visits:
                minutes = len(visit.days) * visit.minutes * visit.carers
                standing[package.current_provider][visit.band] += minutes
    overbooked = any(_load_violations(providers[p], m) for p, m in standing.items())
    if overbooked or _lot_violations(scenario, standing):
        return []
    limits = [budget.max_moves] if budget.max_moves is not None else []
    if budget.max_share is not None:
        limits.append(int(budget.max_share * len(keepable) + 1e-9))
    moved = [k.id for k in keepable if placements.get(k.id) != k.current_provider]
    if len(moved) <= min(limits):
        return []
    return [
        Violation(
            "move_budget",
            None,
            None,
            f"{len(moved)} people are moved from a current provider that could keep them "
            f"({', '.join(moved[:5])}{', ...' if len(moved) > 5 else ''}); the budget allows "
            f"{min(limits)}.",
        )
    ]
