"""The domain: providers, care packages and their visits, as immutable validated records.

Everything that crosses the boundary (CSV rows, JSON documents, API bodies) becomes one of these
models, so the rest of the core can trust its input. Derived facts (a package's weekly carer
minutes per band, a provider's place in the cascade) are computed here once, in the domain's words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator


class Band(StrEnum):
    """Time bands of the care day; capacity is offered and consumed per band."""

    MORNING = "morning"
    LUNCH = "lunch"
    TEA = "tea"
    BED = "bed"
    NIGHT = "night"


BANDS: tuple[Band, ...] = tuple(Band)


class Day(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def label(self) -> str:
        return self.value.capitalize()


DAYS: tuple[Day, ...] = tuple(Day)


class Urgency(StrEnum):
    HOSPITAL_DISCHARGE = "hospital_discharge"
    URGENT_COMMUNITY = "urgent_community"
    ROUTINE = "routine"


URGENCY_ORDER: tuple[Urgency, ...] = tuple(Urgency)
"""Most urgent first: the order brokers work the queue in."""


class CqcRating(StrEnum):
    OUTSTANDING = "outstanding"
    GOOD = "good"
    REQUIRES_IMPROVEMENT = "requires_improvement"
    INADEQUATE = "inadequate"

    @property
    def score(self) -> int:
        """Higher is better, so a policy floor is a simple comparison."""
        return {"outstanding": 3, "good": 2, "requires_improvement": 1, "inadequate": 0}[self.value]

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class ProviderStatus(StrEnum):
    ACTIVE = "active"
    EMBARGOED = "embargoed"


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"


_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")
_SECTOR = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)\s+([0-9])$")


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(
            "must be 1-64 letters, digits, '_', '-' or '.', starting with a letter or digit"
        )
    return value


def normalise_postcode(value: str) -> str:
    """Upper-case with one space before the inward code, e.g. 's662ab' -> 'S66 2AB'.

    A council that shares less than the full postcode gives the sector ('cm1 1' -> 'CM1 1'); it
    needs its space, since without it 'CM11' would be a district.
    """
    sector = _SECTOR.match(value.strip().upper())
    if sector:
        return f"{sector[1]} {sector[2]}"
    compact = re.sub(r"\s+", "", value).upper()
    if not _POSTCODE.match(compact):
        raise ValueError(f"{value!r} is not a UK postcode")
    return f"{compact[:-3]} {compact[-3:]}"


def _normalise_tag(value: str) -> str:
    """Specialisms and languages are compared as lower-case snake words."""
    return re.sub(r"[\s\-]+", "_", value.strip().lower())


def _normalise_tags(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({_normalise_tag(v) for v in values if v.strip()}))


def _sorted_ids(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(values)))


def _sorted_days(values: tuple[Day, ...]) -> tuple[Day, ...]:
    return tuple(sorted(set(values), key=DAYS.index))


Identifier = Annotated[str, AfterValidator(_check_id)]
Postcode = Annotated[str, AfterValidator(normalise_postcode)]
Tags = Annotated[tuple[str, ...], AfterValidator(_normalise_tags)]
"""A set of lower-case tags, kept sorted so that output is byte-for-byte reproducible."""
Identifiers = Annotated[tuple[Identifier, ...], AfterValidator(_sorted_ids)]
Days = Annotated[tuple[Day, ...], Field(min_length=1), AfterValidator(_sorted_days)]
Latitude = Annotated[float, Field(ge=49.0, le=61.0)]
Longitude = Annotated[float, Field(ge=-9.0, le=3.0)]


MAX_WEEKLY_MINUTES = 100_000_000
"""Far above any provider (Essex's whole market is about 8 million carer minutes a week), and
far enough below 2**63 that sums over a book can never overflow the solver's integers."""


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Visit(_Record):
    """One call in the weekly pattern: on these days, in this band, this long, 1 or 2 carers."""

    days: Days
    band: Band
    minutes: int = Field(gt=0, le=600)
    carers: Literal[1, 2] = 1

    @property
    def carer_minutes_per_week(self) -> int:
        """What the visit takes from capacity: a double-up call counts twice."""
        return len(self.days) * self.minutes * self.carers


class ZoneService(_Record):
    """A provider's place on the framework in one zone: its tier and, where ranked, its rank."""

    zone: str = Field(min_length=1)
    tier: int = Field(ge=1, le=9)
    rank: int | None = Field(default=None, ge=1)


class Provider(_Record):
    id: Identifier
    name: str = Field(min_length=1)
    zones: tuple[ZoneService, ...] = Field(min_length=1)
    base_postcode: Postcode
    capacity_minutes: Mapping[Band, Annotated[int, Field(ge=0, le=MAX_WEEKLY_MINUTES)]]
    """Weekly carer minutes the provider offers this framework, per band."""
    double_up: bool = False
    specialisms: Tags = ()
    languages: Tags = ()
    same_gender: bool = True
    """Whether it can meet a request for a carer of the person's chosen gender."""
    rate_gbp_per_hour: float = Field(gt=0, le=200)
    zone_rates_gbp_per_hour: Mapping[str, Annotated[float, Field(gt=0, le=200)]] = Field(
        default_factory=dict
    )
    cqc_rating: CqcRating
    status: ProviderStatus = ProviderStatus.ACTIVE
    max_weekly_hours: float | None = Field(default=None, ge=0, le=MAX_WEEKLY_MINUTES / 60)
    lat: Latitude | None = None
    lon: Longitude | None = None

    @model_validator(mode="after")
    def _zones_once(self) -> Provider:
        seen = [z.zone for z in self.zones]
        if len(seen) != len(set(seen)):
            raise ValueError(f"zone listed twice in {', '.join(seen)}")
        unknown = set(self.zone_rates_gbp_per_hour) - set(seen)
        if unknown:
            raise ValueError(f"zone rate given for zones not served: {', '.join(sorted(unknown))}")
        return self

    def capacity(self, band: Band) -> int:
        return int(self.capacity_minutes.get(band, 0))

    def service_in(self, zone: str) -> ZoneService | None:
        return next((z for z in self.zones if z.zone == zone), None)

    def rate_in(self, zone: str) -> float:
        return float(self.zone_rates_gbp_per_hour.get(zone, self.rate_gbp_per_hour))


class CarePackage(_Record):
    """A person's weekly care, identified only by a pseudonymous reference and a postcode."""

    id: Identifier
    postcode: Postcode
    zone: str | None = None
    visits: tuple[Visit, ...] = Field(min_length=1)
    specialisms: Tags = ()
    gender_preference: Gender | None = None
    language: str | None = None
    preferred_provider: Identifier | None = None
    excluded_providers: Identifiers = ()
    urgency: Urgency = Urgency.ROUTINE
    referral_date: date
    current_provider: Identifier | None = None
    pinned: bool = False
    """Must stay with its current provider (e.g. end of life, or started in the last fortnight)."""
    lat: Latitude | None = None
    lon: Longitude | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CarePackage:
        if self.pinned and self.current_provider is None:
            raise ValueError("a pinned package must name its current_provider")
        if self.language is not None:
            object.__setattr__(self, "language", _normalise_tag(self.language) or None)
        return self

    @property
    def carer_minutes_per_week(self) -> int:
        return sum(v.carer_minutes_per_week for v in self.visits)

    def carer_minutes_by_band(self) -> dict[Band, int]:
        need = dict.fromkeys(BANDS, 0)
        for visit in self.visits:
            need[visit.band] += visit.carer_minutes_per_week
        return need

    @property
    def needs_double_up(self) -> bool:
        return any(v.carers == 2 for v in self.visits)

    @property
    def calls_per_day(self) -> float:
        return sum(len(v.days) for v in self.visits) / 7
