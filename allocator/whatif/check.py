"""Check a study against its base book before any solve, and report every mistake at once.

Types, ranges and the spelling of bands and urgencies are checked when the models are built. This
step checks what needs the book: the providers, zones and postcodes a scenario names exist in it,
added providers are new and on the map, a replacement policy still covers the book, rates stay
within what a provider may charge, and the study stays within its size limit. A commissioner fixes
the file once, before a sweep of a thousand solves starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Literal

from pydantic import ValidationError

from allocator.errors import InputError
from allocator.model import Provider
from allocator.policy import Policy
from allocator.scenario import Scenario
from allocator.whatif.apply import scaled_rates
from allocator.whatif.study import MAX_SCENARIOS, WhatIf, postcode_under, prefix_within

Report = Callable[[str, str], None]
"""Records an error at a field of the scenario being checked."""


def check(
    base: Scenario,
    scenarios: Mapping[int, WhatIf],
    source: str,
    max_scenarios: int = MAX_SCENARIOS,
) -> list[InputError]:
    """Every problem with `scenarios` (by their 1-based number in the file `source`) on `base`."""
    errors = _size_errors(scenarios, source, max_scenarios)
    errors += _name_errors(scenarios, source, max_scenarios)
    for number, what_if in scenarios.items():
        errors += check_scenario(base, what_if, number, source)
    return errors


def check_scenario(base: Scenario, what_if: WhatIf, number: int, source: str) -> list[InputError]:
    """Every problem one scenario has with the base book: names it lacks, providers added that it
    has, a policy that does not cover it, rates past what a provider may charge."""
    errors: list[InputError] = []

    def report(field: str, message: str) -> None:
        errors.append(InputError(source, number, field, message))

    policy = what_if.policy or base.policy
    book_ids = {p.id for p in base.providers}
    known = book_ids | {p.id for p in what_if.add_providers}
    zones = set(policy.zones)
    if what_if.policy is not None:
        _policy_covers(base, what_if.policy, known, report)
    for n, move in enumerate(what_if.zones):
        _known(f"zones[{n}].to", "zone", [move.to], zones, report)
        for prefix in move.postcodes:
            if not _anywhere(prefix, base, policy):
                report(
                    f"zones[{n}].postcodes",
                    f"{prefix} is in no zone of the policy and no package is there",
                )
    _known("remove_providers", "provider", what_if.remove_providers, book_ids, report)
    _known("embargo_providers", "provider", what_if.embargo_providers, known, report)
    _added(what_if.add_providers, book_ids, policy, report)
    for n, capacity in enumerate(what_if.capacity):
        _known(f"capacity[{n}].providers", "provider", capacity.providers, known, report)
        _known(f"capacity[{n}].zones", "zone", capacity.zones, zones, report)
    # Rate changes compound, and a sweep's highest value is the one that could go too far.
    priced = [*base.providers, *what_if.add_providers]
    for n, rates in enumerate(what_if.rates):
        _known(f"rates[{n}].providers", "provider", rates.providers, known, report)
        _known(f"rates[{n}].zones", "zone", rates.zones, zones, report)
        if what_if.sweep is not None and what_if.sweep.change == "rates":
            rates = rates.model_copy(update={"scale": max(what_if.sweep.scales())})
        priced = [scaled_rates(provider, rates) for provider in priced]
        for provider in priced:
            _rates_allowed(provider, f"rates[{n}].scale", report)
    for n, demand in enumerate(what_if.demand):
        _known(f"demand[{n}].zones", "zone", demand.zones, zones, report)
    return errors


def _size_errors(
    scenarios: Mapping[int, WhatIf], source: str, max_scenarios: int
) -> list[InputError]:
    total = sum(w.variant_count for w in scenarios.values())
    if total <= max_scenarios:
        return []
    alone = [
        InputError(
            source,
            number,
            "sweep",
            f"expands to {w.variant_count:,} scenarios, more than the limit of {max_scenarios:,}",
        )
        for number, w in scenarios.items()
        if w.variant_count > max_scenarios
    ]
    return alone or [
        InputError(
            source,
            None,
            "scenario",
            f"the file expands to {total:,} scenarios, more than the limit of {max_scenarios:,}",
        )
    ]


def _name_errors(
    scenarios: Mapping[int, WhatIf], source: str, max_scenarios: int
) -> list[InputError]:
    """Names must be unique: the comparison is reported by name. (A sweep past the limit is
    reported as such, and its names are not listed.)"""
    first: dict[str, int] = {}
    errors = []
    for number, what_if in scenarios.items():
        if what_if.variant_count > max_scenarios:
            continue
        for name in what_if.variant_names():
            if name in first and first[name] != number:
                message = f"scenario {first[name]} is also named {name!r}"
                errors.append(InputError(source, number, "name", message))
            first.setdefault(name, number)
    return errors


def _known(
    field: str,
    kind: Literal["provider", "zone"],
    names: Iterable[str],
    known: set[str],
    report: Report,
) -> None:
    where = "the policy" if kind == "zone" else "the book"
    for name in names:
        if name not in known:
            report(field, f"no {kind} {name!r} in {where}")


def _anywhere(prefix: str, base: Scenario, policy: Policy) -> bool:
    """Whether a postcode prefix means anything here: a zone lists it, part of it or the district
    it is part of, or someone lives under it. Anything else is most likely a typing slip."""
    listed = [p for zone in policy.zones.values() for p in zone.postcodes]
    return any(prefix_within(p, prefix) or prefix_within(prefix, p) for p in listed) or any(
        postcode_under(k.postcode, prefix) for k in base.packages
    )


def _policy_covers(base: Scenario, policy: Policy, known: set[str], report: Report) -> None:
    """A replacement policy must know every zone, provider and specialism the book uses."""
    used_zones = {s.zone for p in base.providers for s in p.zones}
    used_zones |= {k.zone for k in base.packages if k.zone is not None}
    for zone in sorted(used_zones - set(policy.zones)):
        report("policy", f"zone {zone!r} of the book is not a zone of policy {policy.label}")
    named = [(f"lot {lot.name}", pid) for lot in policy.lots for pid in lot.providers]
    named += [(f"the rotation in {r.zone}", pid) for r in policy.rotations for pid in (r.on, r.off)]
    for where, pid in named:
        if pid not in known:
            report("policy", f"{where} names provider {pid!r}, which is not in the book")
    if policy.specialisms is not None:
        used = {s for record in (*base.providers, *base.packages) for s in record.specialisms}
        for specialism in sorted(used - set(policy.specialisms)):
            report("policy", f"specialism {specialism!r} of the book is not one of the policy's")


def _added(added: tuple[Provider, ...], book_ids: set[str], policy: Policy, report: Report) -> None:
    seen: set[str] = set()
    for n, provider in enumerate(added):
        field = f"add_providers[{n}]"
        if provider.id in book_ids:
            report(f"{field}.id", f"provider {provider.id!r} is already in the book")
        elif provider.id in seen:
            report(f"{field}.id", f"provider {provider.id!r} is added twice")
        seen.add(provider.id)
        for service in provider.zones:
            if service.zone not in policy.zones:
                report(f"{field}.zones", f"no zone {service.zone!r} in the policy")
        for specialism in provider.specialisms:
            if policy.specialisms is not None and specialism not in policy.specialisms:
                report(f"{field}.specialisms", f"no specialism {specialism!r} in the policy")
        if provider.lat is None or provider.lon is None:
            report(
                f"{field}.base_postcode",
                f"unknown postcode {provider.base_postcode!r}: give lat and lon",
            )


def _rates_allowed(provider: Provider, field: str, report: Report) -> None:
    """The provider model's own limits say what a rate may be."""
    try:
        Provider.model_validate(provider.model_dump())
    except ValidationError as invalid:
        for problem in invalid.errors():
            where = ".".join(str(part) for part in problem["loc"])
            report(field, f"{provider.id}'s {where} would be {problem['input']}: {problem['msg']}")
