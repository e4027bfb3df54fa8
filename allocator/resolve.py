"""From a scenario as given to one the solver can trust: every cross-reference checked, every
package in a known zone, everyone placed on the map.

Record-level checks (types, ranges, formats) happen when the models are built; this step checks
what no single record can: duplicate ids, references to providers that do not exist, zones the
policy does not know, postcodes we cannot place, pinned placements that no longer fit. Every
problem is collected, so a broker fixes the file once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from allocator.book import cap_minutes
from allocator.errors import InputError, ScenarioError
from allocator.geography import PostcodeIndex
from allocator.model import BANDS, CarePackage, Provider
from allocator.policy import Policy
from allocator.scenario import Scenario


@dataclass(frozen=True)
class Sources:
    """Where each part of the scenario came from, so errors can name the file."""

    providers: str = "providers"
    packages: str = "packages"
    policy: str = "policy"
    provider_rows: tuple[int, ...] | None = None
    """The input row of each provider, where rows that failed to parse were left out."""
    package_rows: tuple[int, ...] | None = None
    provider_ids: tuple[tuple[int, str], ...] | None = None
    """(row, id) of every provider given, including rows that failed to parse, so duplicate and
    reference checks are not fooled by one bad cell elsewhere in a row."""
    package_ids: tuple[tuple[int, str], ...] | None = None

    def provider_row(self, index: int) -> int:
        return self.provider_rows[index] if self.provider_rows else index + 1

    def package_row(self, index: int) -> int:
        return self.package_rows[index] if self.package_rows else index + 1


def resolve(scenario: Scenario, postcodes: PostcodeIndex, sources: Sources = Sources()) -> Scenario:
    """The scenario with zones and coordinates filled in; raises ScenarioError listing all problems.

    Row numbers in errors are 1-based positions in the providers and packages lists.
    """
    providers, packages, errors = resolve_records(
        scenario.policy, scenario.providers, scenario.packages, postcodes, sources
    )
    if errors:
        raise ScenarioError(errors)
    return scenario.model_copy(update={"providers": providers, "packages": packages})


def resolve_records(
    policy: Policy | None,
    providers: Sequence[Provider],
    packages: Sequence[CarePackage],
    postcodes: PostcodeIndex,
    sources: Sources,
) -> tuple[tuple[Provider, ...], tuple[CarePackage, ...], list[InputError]]:
    """Resolve what can be resolved and collect every problem; checks needing the policy are
    skipped when it is None (itself invalid), so the other files' errors still come out."""
    provider_ids = sources.provider_ids or tuple(
        (sources.provider_row(i), p.id) for i, p in enumerate(providers)
    )
    package_ids = sources.package_ids or tuple(
        (sources.package_row(i), k.id) for i, k in enumerate(packages)
    )
    errors = _duplicate_errors(sources.providers, "provider", provider_ids)
    errors += _duplicate_errors(sources.packages, "package", package_ids)
    resolved_providers = _resolve_providers(policy, providers, postcodes, sources, errors)
    known = {given for _, given in provider_ids}
    if policy is not None:
        errors += _policy_reference_errors(policy, known, sources)
    resolved_packages = _resolve_packages(policy, packages, known, postcodes, sources, errors)
    if not errors:
        errors += _pinned_capacity(resolved_providers, resolved_packages, sources)
    if not errors and policy is not None:
        errors += _pinned_lots(policy, resolved_packages, sources)
    return resolved_providers, resolved_packages, errors


def _policy_reference_errors(policy: Policy, known: set[str], sources: Sources) -> list[InputError]:
    """Rotations and lots must name providers that exist."""
    named = [
        (f"rotations[{n}].{role}", getattr(rule, role))
        for n, rule in enumerate(policy.rotations)
        for role in ("on", "off")
    ] + [
        (f"lots[{n}].providers", provider)
        for n, lot in enumerate(policy.lots)
        for provider in lot.providers
    ]
    return [
        InputError(sources.policy, None, field, f"no provider has id {provider!r}")
        for field, provider in named
        if provider not in known
    ]


def _duplicate_errors(source: str, kind: str, ids: tuple[tuple[int, str], ...]) -> list[InputError]:
    counts = Counter(given for _, given in ids)
    return [
        InputError(source, row, "id", f"duplicate {kind} id {given!r}")
        for row, given in ids
        if counts[given] > 1
    ]


def _resolve_providers(
    policy: Policy | None,
    providers: Sequence[Provider],
    postcodes: PostcodeIndex,
    sources: Sources,
    errors: list[InputError],
) -> tuple[Provider, ...]:
    resolved = []
    for index, provider in enumerate(providers):

        def error(field: str, message: str, row: int = sources.provider_row(index)) -> None:
            errors.append(InputError(sources.providers, row, field, message))

        for service in provider.zones:
            if policy is not None and service.zone not in policy.zones:
                error("zones", f"zone {service.zone!r} is not a zone of policy {policy.label}")
        _check_vocabulary(provider.specialisms, policy, error)
        update = {}
        if provider.lat is None or provider.lon is None:
            location = postcodes.locate(provider.base_postcode)
            if location is None:
                error("base_postcode", f"unknown postcode {provider.base_postcode!r}")
            else:
                update = {"lat": location.lat, "lon": location.lon}
        resolved.append(provider.model_copy(update=update))
    return tuple(resolved)


def _resolve_packages(
    policy: Policy | None,
    packages: Sequence[CarePackage],
    provider_ids: set[str],
    postcodes: PostcodeIndex,
    sources: Sources,
    errors: list[InputError],
) -> tuple[CarePackage, ...]:
    resolved = []
    for index, package in enumerate(packages):

        def error(field: str, message: str, row: int = sources.package_row(index)) -> None:
            errors.append(InputError(sources.packages, row, field, message))

        for field in ("preferred_provider", "current_provider"):
            value = getattr(package, field)
            if value is not None and value not in provider_ids:
                error(field, f"no provider has id {value!r}")
        for excluded in package.excluded_providers:
            if excluded not in provider_ids:
                error("excluded_providers", f"no provider has id {excluded!r}")
        if package.pinned and package.current_provider in package.excluded_providers:
            error("pinned", f"pinned to {package.current_provider!r}, which the package excludes")
        _check_vocabulary(package.specialisms, policy, error)
        update: dict[str, object] = {}
        if policy is not None:
            zone = package.zone or policy.zone_for_postcode(package.postcode)
            if package.zone is not None and package.zone not in policy.zones:
                error("zone", f"zone {package.zone!r} is not a zone of policy {policy.label}")
            elif zone is None:
                error(
                    "zone",
                    f"postcode {package.postcode} is in no zone of policy {policy.label}; "
                    "give a zone",
                )
            else:
                update["zone"] = zone
        if package.lat is None or package.lon is None:
            location = postcodes.locate(package.postcode)
            if location is None:
                error("postcode", f"unknown postcode {package.postcode!r}")
            else:
                update |= {"lat": location.lat, "lon": location.lon}
        resolved.append(package.model_copy(update=update))
    return tuple(resolved)


def _check_vocabulary(
    tags: tuple[str, ...], policy: Policy | None, error: Callable[[str, str], None]
) -> None:
    known = policy.specialisms if policy is not None else None
    if known is None:
        return
    for tag in tags:
        if tag not in known:
            error(
                "specialisms", f"specialism {tag!r} is not one of the policy's: {', '.join(known)}"
            )


def _pinned_lots(
    policy: Policy, packages: tuple[CarePackage, ...], sources: Sources
) -> list[InputError]:
    """Pinned placements must fit their lots' caps too."""
    pinned = [k for k in packages if k.pinned]
    errors = []
    for n, lot in enumerate(policy.lots):
        members = set(lot.providers)
        minutes = sum(k.carer_minutes_per_week for k in pinned if k.current_provider in members)
        if lot.max_weekly_hours is not None and minutes > cap_minutes(lot.max_weekly_hours):
            errors.append(
                InputError(
                    sources.policy,
                    None,
                    f"lots[{n}].max_weekly_hours",
                    f"pinned placements with lot {lot.name} need {minutes / 60:.1f} hours "
                    f"but its cap is {lot.max_weekly_hours:g}",
                )
            )
    return errors


def _pinned_capacity(
    providers: tuple[Provider, ...], packages: tuple[CarePackage, ...], sources: Sources
) -> list[InputError]:
    """Pinned placements must fit: the solver may not move them, so nothing else could give."""
    row_of = {p.id: sources.provider_row(i) for i, p in enumerate(providers)}
    by_id = {p.id: p for p in providers}
    load = {(p.id, band): 0 for p in providers for band in BANDS}
    for package in packages:
        if package.pinned and package.current_provider in by_id:
            for band, minutes in package.carer_minutes_by_band().items():
                load[package.current_provider, band] += minutes
    errors = []
    for (provider_id, band), minutes in load.items():
        capacity = by_id[provider_id].capacity(band)
        if minutes > capacity:
            errors.append(
                InputError(
                    sources.providers,
                    row_of[provider_id],
                    f"{band}_minutes",
                    f"pinned placements need {minutes:,} {band} minutes "
                    f"but capacity is {capacity:,}",
                )
            )
    for provider_id, provider in by_id.items():
        total = sum(load[provider_id, band] for band in BANDS)
        if provider.max_weekly_hours is not None and total > provider.max_weekly_hours * 60 + 1e-6:
            errors.append(
                InputError(
                    sources.providers,
                    row_of[provider_id],
                    "max_weekly_hours",
                    f"pinned placements need {total / 60:.1f} hours "
                    f"but the cap is {provider.max_weekly_hours:g}",
                )
            )
    return errors
