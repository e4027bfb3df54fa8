"""A what-if study: named sets of changes to a base book, and the sweeps that multiply them.

Commissioners ask "what if provider X exits, morning capacity in a zone falls 20 %, demand grows
5 %?". A study answers many such questions against one base book; each `[[scenario]]` of the file
is a `WhatIf`, and `expand` turns it (and its sweep, if any) into plain `Variant`s, one solve each.

The file (TOML; `allocator.io.whatif_files` reads it, `data/examples/whatif/` has examples)::

    name = "Winter capacity test"
    seed = 1                                 # demand samples; the same file gives the same books

    [[scenario]]
    name = "T1-NOR-1 exits"
    remove_providers = ["T1-NOR-1"]          # its people need a new provider (`displaced`)

    [[scenario]]
    name = "T2-04 embargoed"
    embargo_providers = ["T2-04"]            # no new packages; existing care stays

    [[scenario]]
    name = "Morning capacity in North -20%"
    capacity = [{ scale = 0.8, zones = ["North"], bands = ["morning"] }]

    [[scenario]]
    name = "Discharges in South +5%"
    demand = [{ scale = 1.05, zones = ["South"], urgency = ["hospital_discharge"] }]

    [[scenario]]
    name = "Rates +3%"
    rates = [{ scale = 1.03 }]

    [[scenario]]
    name = "S66 1 moves to North"
    zones = [{ postcodes = ["S66 1"], to = "North" }]

    [[scenario]]
    name = "A new tier-2 provider"
    [[scenario.add_providers]]               # one table per provider
    id = "NEW-1"
    name = "New Care"
    zones = "North:2"
    base_postcode = "S60 2UR"
    morning_minutes = 2000
    rate_gbp_per_hour = 24.50
    cqc_rating = "good"

    [[scenario]]
    name = "Cost before cascade"
    policy = "cost_first.toml"               # relative to the what-if file

    [[scenario]]
    name = "Capacity sweep"
    capacity = [{ scale = 1.0 }]
    sweep = { change = "capacity", from = 0.7, to = 1.3, step = 0.1 }   # or values = [0.8, 1.2]

What each change does (in this order within a scenario, so later changes see earlier ones):

- `policy`: replaces the rule; the book's zones must all still exist in it.
- `zones`: each postcode prefix (district `S66` or sector `S66 1`) leaves whatever zone lists it
  (a district takes its listed sectors with it) and joins `to`; every package whose postcode
  falls under it moves to `to`, whatever zone it had.
- `remove_providers`: the provider leaves the market. Its people lose their current provider and
  any pin (they are `displaced` and need a new one); it leaves lots, and rotations naming it end.
- `embargo_providers`: no new packages; existing placements stay (an embargo ends no care).
- `add_providers`: the columns of a `providers.csv` row, as TOML values (lists as TOML lists or
  `a; b` text); placed on the map from `base_postcode`, or `lat` and `lon`.
- `capacity`: weekly carer minutes x `scale`, rounded down to whole minutes, in the providers
  named (default all) that serve one of `zones` (default any), in `bands` (default all). Hour
  caps are framework terms and stay. A pinned package its provider can no longer hold in some
  band loses its pin (`unpinned`): it stays with the provider only if the solver can keep it.
- `rates`: hourly rates x `scale`, to the penny: the provider's rate and zone rates, or with
  `zones` only its rates in those zones.
- `demand`: the packages in scope (in `zones`, of `urgency`; default all) x `scale`. Growth adds
  copies of a random sample of them (new people with the same needs, waiting for a provider,
  named `<id>.w1`, `.w2`...); a shrink removes a random sample, people still waiting first.
  Samples are nested: a larger growth adds a superset of a smaller one's people, so a sweep's
  curve is not sampling noise.
- `sweep`: sets the `scale` of every change of kind `change` to each of `from`, `from + step`,
  ... `to` (or each of `values`), one variant each, named e.g. "Capacity sweep (capacity x0.70)".

Scales run from 0 to 10 (rates above 0). A study may expand into at most `max_scenarios` variants
(`MAX_SCENARIOS` unless the caller says otherwise); past that it is rejected before any work.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from allocator.model import Band, CarePackage, Provider, Urgency
from allocator.policy import Policy

MAX_SCENARIOS = 1_000
"""Most variants one study may expand into: a mistyped step should not queue a million solves."""

ChangeKind = Literal["capacity", "demand", "rates"]
"""The changes a sweep can vary: those with a `scale`."""


def _normalise_prefix(value: str) -> str:
    prefix = " ".join(value.upper().split())
    outward, _, sector = prefix.partition(" ")
    valid_outward = 2 <= len(outward) <= 4 and outward[0].isalpha() and outward.isalnum()
    if not valid_outward or (sector and not (len(sector) == 1 and sector.isdigit())):
        raise ValueError(f"{value!r} is not a postcode district ('S66') or sector ('S66 1')")
    return prefix


PostcodePrefix = Annotated[str, AfterValidator(_normalise_prefix)]


def postcode_under(postcode: str, prefix: str) -> bool:
    """Whether a postcode (or a sector, as some councils share) is in the district or sector."""
    outward, inward = postcode.split(" ")
    return prefix in (outward, f"{outward} {inward[0]}")


def prefix_within(inner: str, prefix: str) -> bool:
    """Whether a prefix is `prefix` itself or, when `prefix` is a district, one of its sectors."""
    return inner == prefix or inner.startswith(prefix + " ")


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class CapacityChange(_Part):
    """Weekly carer minutes x `scale` for the providers and bands in scope."""

    scale: float = Field(ge=0, le=10)
    providers: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    """Providers serving any of these zones (their whole capacity: it is not split by zone)."""
    bands: tuple[Band, ...] = ()

    def covers(self, provider: Provider) -> bool:
        return _named(provider.id, self.providers) and _serves_any(provider, self.zones)


class DemandChange(_Part):
    """The number of packages in scope x `scale`, by sampled copies or removals."""

    scale: float = Field(ge=0, le=10)
    zones: tuple[str, ...] = ()
    urgency: tuple[Urgency, ...] = ()

    def covers(self, package: CarePackage) -> bool:
        return _named(package.zone, self.zones) and _named(package.urgency, self.urgency)


class RateChange(_Part):
    """Hourly rates x `scale`, rounded to the penny."""

    scale: float = Field(gt=0, le=10)
    providers: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    """Only the rates paid in these zones, for the providers serving them."""

    def covers(self, provider: Provider) -> bool:
        return _named(provider.id, self.providers) and _serves_any(provider, self.zones)


def _named(value: object, names: tuple[object, ...]) -> bool:
    """An empty filter lets everything through."""
    return not names or value in names


def _serves_any(provider: Provider, zones: tuple[str, ...]) -> bool:
    return not zones or any(provider.service_in(zone) for zone in zones)


class ZoneMove(_Part):
    """Postcode prefixes that move to zone `to` (a redrawn boundary)."""

    postcodes: tuple[PostcodePrefix, ...] = Field(min_length=1)
    to: str = Field(min_length=1)


class Sweep(_Part):
    """One variant per value of the `scale` of every `change` of a kind."""

    change: ChangeKind
    start: float | None = Field(default=None, ge=0, le=10, alias="from")
    to: float | None = Field(default=None, ge=0, le=10)
    step: float | None = Field(default=None, gt=0)
    values: tuple[Annotated[float, Field(ge=0, le=10)], ...] | None = Field(
        default=None, min_length=1
    )

    @model_validator(mode="after")
    def _range_or_values(self) -> Sweep:
        bounds = (self.start, self.to, self.step)
        if self.values is not None:
            if any(b is not None for b in bounds):
                raise ValueError("give either values or from, to and step, not both")
            if len(set(self.values)) != len(self.values):
                raise ValueError("each value may appear only once")
            return self
        if any(b is None for b in bounds):
            raise ValueError("give values, or all of from, to and step")
        start, to, _ = self._range()
        if to < start:
            raise ValueError("to must not be below from")
        return self

    def _range(self) -> tuple[float, float, float]:
        """from, to and step, which the validator makes sure are set when values is not."""
        assert self.start is not None and self.to is not None and self.step is not None
        return self.start, self.to, self.step

    @property
    def count(self) -> int:
        """How many variants, worked out without listing them (a tiny step could be millions)."""
        if self.values is not None:
            return len(self.values)
        start, to, step = self._range()
        return math.floor((to - start) / step + 1e-9) + 1

    def scales(self) -> tuple[float, ...]:
        if self.values is not None:
            return self.values
        start, _, step = self._range()
        # Rounded so that 0.7 + 3 x 0.1 is 1.0, not 0.9999999999999999, in names and in floors.
        return tuple(round(start + i * step, 9) for i in range(self.count))


class WhatIf(_Part):
    """One `[[scenario]]` of the file; fields are in the order the changes are applied."""

    name: str = Field(min_length=1)
    policy: Policy | None = None
    zones: tuple[ZoneMove, ...] = ()
    remove_providers: tuple[str, ...] = ()
    embargo_providers: tuple[str, ...] = ()
    add_providers: tuple[Provider, ...] = ()
    capacity: tuple[CapacityChange, ...] = ()
    rates: tuple[RateChange, ...] = ()
    demand: tuple[DemandChange, ...] = ()
    sweep: Sweep | None = None

    @field_validator("sweep")
    @classmethod
    def _sweeps_a_change_it_has(cls, sweep: Sweep | None, info: ValidationInfo) -> Sweep | None:
        # A kind that failed its own validation is missing from `info.data`: nothing to add.
        if sweep is None or sweep.change not in info.data:
            return sweep
        if not info.data[sweep.change]:
            raise ValueError(
                f"sweeps {sweep.change}, but the scenario has no {sweep.change} change"
            )
        if sweep.change == "rates" and min(sweep.scales()) <= 0:
            raise ValueError("a rates scale must be above 0")
        return sweep

    @property
    def variant_count(self) -> int:
        return self.sweep.count if self.sweep is not None else 1

    def variant_names(self) -> list[str]:
        if self.sweep is None:
            return [self.name]
        scales = self.sweep.scales()
        places = next(
            (p for p in range(2, 9) if len({f"{s:.{p}f}" for s in scales}) == len(scales)), 9
        )
        return [f"{self.name} ({self.sweep.change} x{s:.{places}f})" for s in scales]


class Study(_Part):
    """A what-if file: the scenarios to compare against one base book."""

    name: str = Field(min_length=1)
    seed: int = Field(default=0, ge=0)
    """Seeds demand sampling, with each scenario's number: the same file gives the same books."""
    scenarios: tuple[WhatIf, ...] = Field(min_length=1, alias="scenario")

    def numbered(self) -> dict[int, WhatIf]:
        """Scenarios by their 1-based position in the file, as errors and seeds name them."""
        return dict(enumerate(self.scenarios, start=1))


class Variant(_Part):
    """One book to solve: a scenario, with any sweep replaced by its value."""

    name: str
    number: int = Field(ge=1)
    """The 1-based position of its `[[scenario]]` in the file; variants of a sweep share it."""
    seed: int = Field(ge=0)
    changes: WhatIf


def expand(study: Study, max_scenarios: int = MAX_SCENARIOS) -> list[Variant]:
    """Every variant of the study, sweeps expanded; ValueError past `max_scenarios`."""
    total = sum(w.variant_count for w in study.scenarios)
    if total > max_scenarios:
        raise ValueError(
            f"the study expands to {total:,} scenarios; the limit is {max_scenarios:,}"
        )
    variants = []
    for number, what_if in study.numbered().items():
        names = what_if.variant_names()
        if what_if.sweep is None:
            variants.append(Variant(name=names[0], number=number, seed=study.seed, changes=what_if))
            continue
        for name, scale in zip(names, what_if.sweep.scales(), strict=True):
            changes = _with_scale(what_if, what_if.sweep.change, scale)
            variants.append(Variant(name=name, number=number, seed=study.seed, changes=changes))
    return variants


def _with_scale(what_if: WhatIf, kind: ChangeKind, scale: float) -> WhatIf:
    swept = tuple(c.model_copy(update={"scale": scale}) for c in getattr(what_if, kind))
    return what_if.model_copy(update={kind: swept, "sweep": None})
