"""Write a policy as the commented TOML file a council publishes.

A generated scenario's rule must read like one a commissioner signed off: every section says what
it does, in comments, and the file reads back as exactly the policy it was written from
(`tests/test_scenario_writer.py` checks the round trip).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from allocator.policy import MoveBudget, Policy

WIDTH = 99
"""Comment lines wrap here, inside the project's line length."""

_FILTER_NOTES = {
    "zone": "offer only providers that serve the person's zone",
    "cqc_floor": "no new packages to providers rated below this",
    "embargo": "no new packages to a provider under embargo",
    "specialism": "the provider must have every specialism the person needs",
    "exclusions": "never offer a person to a provider they have excluded",
    "double_up": "two-carer calls only to providers who can staff them",
    "same_gender": "a carer gender request: hard (a bar), soft (a preference) or off",
}


@dataclass(frozen=True)
class PolicyNotes:
    """The words around the rules: why the framework is set up as it is."""

    preamble: str
    """What this rule is and whose it is, first in the file."""
    zones: str = ""
    """How the zones were drawn."""
    zone_notes: Mapping[str, str] = field(default_factory=dict)
    """Per zone, e.g. the wards it is made of."""
    cascade: str = ""
    rotations: str = ""
    lots: str = ""


def policy_toml(policy: Policy, notes: PolicyNotes) -> str:
    """The policy as TOML, with `notes` as comments; `tomllib` reads it back as `policy`."""
    parts = [
        comment(notes.preamble)
        + "\n"
        + f"name = {_quoted(policy.name)}\nversion = {_quoted(policy.version)}\n",
        _goals(policy),
        comment("Referrals whose hours the urgent_hours goal places first.")
        + f"\nurgent = {_array([u.value for u in policy.urgent])}\n",
    ]
    if policy.specialisms is not None:
        parts.append(
            comment("The specialisms this framework recognises; any other is an input error.")
            + f"\nspecialisms = {_array(policy.specialisms, per_line=3)}\n"
        )
    parts += [_hard_filters(policy), _cascade(policy, notes.cascade), _zones(policy, notes)]
    if policy.rotations:
        parts.append(_rotations(policy, notes.rotations))
    if policy.lots:
        parts.append(_lots(policy, notes.lots))
    if policy.moves != MoveBudget():
        parts.append(_moves(policy.moves))
    return "\n".join(parts)


def comment(text: str) -> str:
    """`text` as wrapped `#` lines; blank lines in it start new paragraphs."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    return "\n#\n".join(
        textwrap.fill(
            " ".join(p.split()),
            width=WIDTH,
            initial_indent="# ",
            subsequent_indent="# ",
            break_on_hyphens=False,
            break_long_words=False,
        )
        for p in paragraphs
    )


def _goals(policy: Policy) -> str:
    width = max(len(g.value) for g in policy.goals)
    listing = "\n".join(f"#   {g.value:<{width}}  {g.description}" for g in policy.goals)
    intro = comment(
        "What the allocator tries to achieve, most important first. A later goal is only "
        "pursued among the allocations that do as well as possible on every earlier one."
    )
    values = _array([g.value for g in policy.goals], per_line=4)
    return f"{intro}\n{listing}\ngoals = {values}\n"


def _hard_filters(policy: Policy) -> str:
    filters = policy.hard_filters
    values = {
        "zone": _bool(filters.zone),
        "cqc_floor": _quoted(filters.cqc_floor.value) if filters.cqc_floor else None,
        "embargo": _bool(filters.embargo),
        "specialism": _bool(filters.specialism),
        "exclusions": _bool(filters.exclusions),
        "double_up": _bool(filters.double_up),
        "same_gender": _quoted(filters.same_gender),
    }
    set_lines = {k: f"{k} = {v}" for k, v in values.items() if v is not None}
    width = max(len(line) for line in set_lines.values())
    lines = [f"{line:<{width}}  # {_FILTER_NOTES[key]}" for key, line in set_lines.items()]
    if filters.cqc_floor is None:
        lines.append("# cqc_floor is not set: no rating floor")
    intro = comment(
        "Rules that rule a provider out before any optimisation. A person who already has a "
        "provider may stay with it even if it has since been embargoed or fallen below the "
        "rating floor."
    )
    return intro + "\n[hard_filters]\n" + "\n".join(lines) + "\n"


def _cascade(policy: Policy, note: str) -> str:
    text = note or "Call-off order: the tiers in the order they are called off, then rank."
    return f"{comment(text)}\n[cascade]\ntiers = {_array(policy.cascade.tiers)}\n"


def _zones(policy: Policy, notes: PolicyNotes) -> str:
    intro = comment(
        "Zones, by postcode prefix (sector or district): a person's zone is the zone listing "
        "the longest prefix of their postcode, unless the package names its zone."
        + (f"\n\n{notes.zones}" if notes.zones else "")
    )
    blocks = []
    for zone, definition in policy.zones.items():
        note = notes.zone_notes.get(zone)
        head = f"{comment(note)}\n" if note else ""
        blocks.append(
            f"{head}[zones.{_key(zone)}]\npostcodes = {_array(definition.postcodes, per_line=8)}\n"
        )
    return intro + "\n" + "\n".join(blocks)


def _rotations(policy: Policy, note: str) -> str:
    text = note or (
        "Week on / week off: in each zone, the provider on its week takes at least `share` of "
        "the new referrals it could take."
    )
    blocks = [
        f"[[rotations]]\nzone = {_quoted(r.zone)}\non = {_quoted(r.on)}\noff = {_quoted(r.off)}\n"
        f"share = {r.share!r}\n"
        for r in policy.rotations
    ]
    return comment(text) + "\n" + "\n".join(blocks)


def _lots(policy: Policy, note: str) -> str:
    text = note or "Named groups of providers, optionally capped in total carer hours a week."
    blocks = []
    for lot in policy.lots:
        block = f"[[lots]]\nname = {_quoted(lot.name)}\nproviders = {_array(lot.providers, 6)}\n"
        if lot.max_weekly_hours is not None:
            block += f"max_weekly_hours = {lot.max_weekly_hours:g}\n"
        blocks.append(block)
    return comment(text) + "\n" + "\n".join(blocks)


def _moves(budget: MoveBudget) -> str:
    text = (
        "Move budget: at most max_moves people (and max_share of those in care) leave a "
        "current provider that could keep them; each move must save cost_gbp a week; with "
        "bridging_home, stop-gap placements outside the zone's first tier are brought home."
    )
    fields = [
        f"{name} = {_bool(value) if isinstance(value, bool) else repr(value)}"
        for name, value in budget.model_dump().items()
        if value is not None
    ]
    return comment(text) + "\n[moves]\n" + "\n".join(fields) + "\n"


def _array(values: Sequence[object], per_line: int = 0) -> str:
    items = [_quoted(v) if isinstance(v, str) else str(v) for v in values]
    if not per_line or len(items) <= per_line:
        return "[" + ", ".join(items) + "]"
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "[\n" + ",\n".join(f"    {line}" for line in lines) + ",\n]"


def _quoted(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _key(name: str) -> str:
    """A bare TOML key where the name allows one, else a quoted key."""
    bare = name.replace("-", "").replace("_", "").isalnum() and name.isascii()
    return name if bare else _quoted(name)


def _bool(value: bool) -> str:
    return "true" if value else "false"
