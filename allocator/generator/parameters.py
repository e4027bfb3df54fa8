"""Every assumption the scenario generator makes, named, with its source.

Sources: the shared open data's README and `figures.csv` (cited as "figures.csv"), the project's
domain notes (`domain.md`), or "assumption" (a judgement, kept plausible and stated so that a
reviewer can change it). Presets override fields with `dataclasses.replace`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any, Literal, TypeVar

from allocator.model import Band, CqcRating

K = TypeVar("K")


def _frozen(mapping: Mapping[K, float]) -> Any:
    """A dataclass default that is a read-only mapping (a fresh view per instance)."""
    return field(default_factory=lambda: MappingProxyType(dict(mapping)))


# --- Published figures --------------------------------------------------------------------------

BURY_VISITS_PER_WEEK_2017_18: MappingProxyType[int | str, int] = MappingProxyType(
    {15: 3422, 30: 3495, 45: 984, 60: 454, "longer": 1341}
)
"""figures.csv: Bury's weekly commissioned home care visits by length, 2017-18 (15 min 35 %,
30 min 36 %, 45 min 10 %, 60 min 5 %, over 60 min 14 %)."""

MINIMUM_PRICE_GBP_PER_HOUR_2021_22 = 21.43
"""figures.csv: Homecare Association minimum price for homecare, 2021-22 (the published range's
floor)."""
MINIMUM_PRICE_GBP_PER_HOUR_2025_26 = 32.14
"""figures.csv: Homecare Association minimum price for homecare, 2025-26 (the range's top)."""
COUNCIL_AVERAGE_GBP_PER_HOUR_2025_26 = 24.10
"""figures.csv: average English council fee rate for homecare, 2025-26."""

RURAL_TRAVEL_SHARE_OF_COST = 0.17
"""domain.md: travel is up to 17 % of home care cost in shire counties; used as the share of a
rural carer's paid time lost to travel, so rural areas get that much less care per carer."""

# --- Places -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaceParameters:
    """Where people live: which postcodes are sampled, and what counts as rural."""

    retired_outcodes: tuple[str, ...] = ("S30", "S31")
    """outcodes_rotherham_bury.csv notes: retired districts with terminated postcodes only; no one
    lives at them today."""
    min_sector_share_in_council: float = 0.5
    """Assumption: a postcode sector belongs to the council (sampled, and in its zone map) when
    at least half of the sector's postcodes are in the council; fringe sectors that are mostly a
    neighbour's are left out (under 3 % of Rotherham's 60+ population)."""
    rural_people_per_km2: float = 1_000.0
    """Assumption: a small area (LSOA 2021) with fewer people per km2 (mid-2015 population over
    its boundary's area) is rural. This classes 26 % of Rotherham's 60+ population and 13 % of
    Bury's as rural, in line with Rotherham being 'urban with significant rural' in the ONS
    rural-urban classification and Bury a conurbation borough."""


# --- Demand: the packages -----------------------------------------------------------------------

Schedule = Literal["daily", "weekdays", "some_days"]


@dataclass(frozen=True)
class CallPattern:
    """A kind of package: on which days, and which bands are called on each of them."""

    share: float
    schedule: Schedule
    bands: tuple[Band, ...]


CALL_PATTERNS: tuple[CallPattern, ...] = (
    CallPattern(0.38, "daily", (Band.MORNING, Band.LUNCH, Band.TEA, Band.BED)),
    CallPattern(0.14, "daily", (Band.MORNING, Band.TEA, Band.BED)),
    CallPattern(0.05, "daily", (Band.MORNING, Band.LUNCH, Band.BED)),
    CallPattern(0.13, "daily", (Band.MORNING, Band.BED)),
    CallPattern(0.06, "daily", (Band.MORNING, Band.TEA)),
    CallPattern(0.08, "daily", (Band.MORNING,)),
    CallPattern(0.04, "weekdays", (Band.MORNING, Band.TEA)),
    CallPattern(0.04, "weekdays", (Band.MORNING,)),
    CallPattern(0.05, "some_days", (Band.MORNING,)),
    CallPattern(0.03, "some_days", (Band.LUNCH,)),
)
"""Assumption: 1-4 calls a day, four (morning, lunch, tea, bed) for the most dependent people
(38 % of packages, domain.md: four-calls-a-day packages are among the hardest to place), with
shares set so that, with Bury's visit lengths, packages average 12-13 carer-hours a week
(domain.md: typical packages are 12-17 hours a week; figures.csv: Rotherham's ~13,000 hours a week
over ~1,019 people is 12.8)."""


COUNTY_CALL_PATTERNS: tuple[CallPattern, ...] = (
    CallPattern(0.56, "daily", (Band.MORNING, Band.LUNCH, Band.TEA, Band.BED)),
    CallPattern(0.18, "daily", (Band.MORNING, Band.TEA, Band.BED)),
    CallPattern(0.06, "daily", (Band.MORNING, Band.LUNCH, Band.BED)),
    CallPattern(0.10, "daily", (Band.MORNING, Band.BED)),
    CallPattern(0.04, "daily", (Band.MORNING,)),
    CallPattern(0.03, "weekdays", (Band.MORNING, Band.TEA)),
    CallPattern(0.03, "some_days", (Band.MORNING,)),
)
"""Assumption: a county's commissioned packages are larger (about 17 carer-hours a week: the
issue's Essex-sized figures, ~128,000 hours for ~7,500 packages), so more have four calls a day."""

COUNTY_VISITS_PER_WEEK: MappingProxyType[int | str, int] = MappingProxyType(
    {30: 3422 + 3495, 45: 984, 60: 454, "longer": 1341}
)
"""Assumption: Bury's 2017-18 mix (figures.csv) with the 15-minute visits lengthened to 30, as
councils that stopped commissioning 15-minute personal care visits have done."""


@dataclass(frozen=True)
class DemandParameters:
    """Who needs care, how much, and what they ask for."""

    as_of: date = date(2026, 11, 16)
    """Assumption: the scenario's 'today'; referral dates lie before it."""

    visits_per_week_by_length: MappingProxyType[int | str, int] = _frozen(
        BURY_VISITS_PER_WEEK_2017_18
    )
    """Visit lengths are drawn in these proportions (figures.csv, Bury 2017-18)."""
    longer_visit_minutes: MappingProxyType[int, float] = _frozen({75: 0.5, 90: 0.3, 120: 0.2})
    """Assumption: how Bury's 'over 60 minutes' visits split."""
    longest_call_order: tuple[Band, ...] = (Band.MORNING, Band.BED, Band.TEA, Band.LUNCH)
    """Assumption: a package's longest call is the morning one (getting up, washing, dressing),
    then bed, tea and lunch; the lengths themselves are drawn from the published mix."""
    call_patterns: tuple[CallPattern, ...] = CALL_PATTERNS
    some_days_count: tuple[int, ...] = (2, 3)
    """Assumption: a 'few days a week' package has 2 or 3 visiting days."""
    night_call_share: float = 0.02
    """Assumption: a few daily packages also have a night call (a check or a turn)."""
    night_call_minutes: int = 30
    """Assumption: a night call lasts 30 minutes."""

    double_up_share: float = 0.10
    """Assumption: about one package in ten has two-carer calls (hoist transfers), always one of
    the daily patterns with morning and bed calls."""
    double_up_all_calls_share: float = 0.25
    """Assumption: a quarter of double-up packages need two carers at every call; the rest only
    at the morning and bed transfers."""

    existing_share: float = 0.75
    """Assumption: most of the book is people already in care; the rest is the queue (hospital
    discharges, urgent community referrals and the waiting list) that the allocator places."""
    pinned_share_of_existing: float = 0.20
    """Assumption: one existing placement in five must not move (end of life, or started in the
    last fortnight)."""
    existing_tier_weight: MappingProxyType[int, float] = _frozen({1: 1.0, 2: 0.3, 3: 0.15})
    """Assumption: existing clients sit mostly with a tier-1 provider of their zone; fewer with
    tier-2 and spot providers (bridging placements)."""
    existing_referral_days: int = 3 * 365
    """Assumption: existing packages were referred at any time in the last three years."""

    queue_urgency_shares: MappingProxyType[str, float] = _frozen(
        {"hospital_discharge": 0.30, "urgent_community": 0.15, "routine": 0.55}
    )
    """Assumption: the share of each urgency in the queue; hospital discharge is the urgent queue
    (domain.md)."""
    queue_referral_days: MappingProxyType[str, int] = _frozen(
        {"hospital_discharge": 7, "urgent_community": 14, "routine": 90}
    )
    """Assumption: the queue's referrals are recent, the urgent ones most of all; the waiting
    list goes back three months."""

    specialism_shares: MappingProxyType[str, float] = _frozen(
        {
            "dementia": 0.25,
            "learning_disability": 0.05,
            "mental_health": 0.04,
            "end_of_life": 0.03,
            "complex_health": 0.03,
        }
    )
    """Assumption (domain.md's specialisms), drawn independently per package: the share whose
    care plan requires a provider with that specialism. A combination that no provider of the
    person's zone can meet is drawn again."""
    gender_preference_share: float = 0.08
    """Assumption: people who ask for a carer of a given gender."""
    female_share_of_gender_preferences: float = 0.85
    """Assumption: most such requests are for a female carer."""
    language_share: float = 0.04
    """Assumption: people who ask for a carer speaking their language (besides English)."""
    languages: MappingProxyType[str, float] = _frozen(
        {"urdu": 0.50, "punjabi": 0.25, "polish": 0.25}
    )
    """Assumption: the council's community languages, in the mix people ask for them; providers'
    carers speak them in the same mix. Presets set their council's."""
    preferred_provider_share: float = 0.05
    """Assumption: people who name a provider they prefer (one that serves their zone)."""
    excluded_provider_share: float = 0.03
    """Assumption: people with a provider they must never be offered to (e.g. after a
    safeguarding concern); never one that would leave them no one else."""


# --- Supply: the providers ----------------------------------------------------------------------


@dataclass(frozen=True)
class SupplyParameters:
    """The providers: how much they offer, where, at what price, and how good they are."""

    capacity_to_need: MappingProxyType[Band, float] = _frozen(
        {
            Band.MORNING: 0.88,
            Band.LUNCH: 1.10,
            Band.TEA: 0.90,
            Band.BED: 1.05,
            Band.NIGHT: 0.85,
        }
    )
    """Providers' weekly capacity over packages' need, per band, before rural losses.
    domain.md: morning and tea-time are the bottlenecks; the ratios are an assumption (the market
    about 5 % short overall, lunch and bed looser)."""
    rural_capacity_loss: float = RURAL_TRAVEL_SHARE_OF_COST
    """A zone's capacity is cut by this share of its rural population share: rural edges are
    short first (domain.md)."""
    capacity_jitter: float = 0.15
    """Assumption: +/-15 % seeded noise on each provider's size, so no two look alike."""
    capacity_step_minutes: int = 15
    """Assumption: capacity is offered in quarter-hours."""
    capped_share: float = 0.10
    """Assumption: one provider in ten (never a rank-1 or rotation provider) has a contract cap
    on its total hours from the framework (the core's optional provider cap)."""
    cap_share_of_capacity: float = 0.8
    """Assumption: such a cap is 80 % of the provider's weekly capacity, so it binds."""
    night_share_of_providers: float = 0.35
    """Assumption: providers that staff night calls (every zone's rank-1 or week-on provider
    does)."""

    double_up_share: MappingProxyType[str, float] = _frozen({"tier1": 0.9, "other": 0.6})
    """Assumption: most main providers can staff two-carer calls, fewer small ones can."""
    specialism_shares: MappingProxyType[str, float] = _frozen(
        {
            "dementia": 0.85,
            "end_of_life": 0.50,
            "mental_health": 0.30,
            "complex_health": 0.25,
            "learning_disability": 0.10,
        }
    )
    """Assumption: the share of general providers with each specialism (specialist lots add
    theirs)."""
    language_share: float = 0.15
    """Assumption: providers whose carers speak one of the council's community languages."""
    same_gender_share: float = 0.85
    """Assumption: providers able to meet a request for a carer of a chosen gender."""

    cqc_shares: MappingProxyType[CqcRating, float] = _frozen(
        {
            CqcRating.OUTSTANDING: 0.04,
            CqcRating.GOOD: 0.80,
            CqcRating.REQUIRES_IMPROVEMENT: 0.14,
            CqcRating.INADEQUATE: 0.02,
        }
    )
    """Assumption, close to CQC's State of Care ratings of home care agencies (about 4 %
    outstanding, 80 % good). Providers named by the framework's cascade at rank 1 or in a
    rotation are never drawn Inadequate or embargoed: they passed the tender's quality bar."""
    embargoed_share: float = 0.05
    """Assumption: a few providers are under embargo (no new packages), at least one."""

    rate_mean_gbp_per_hour: float = COUNCIL_AVERAGE_GBP_PER_HOUR_2025_26
    """Framework rates centre on the average council rate (figures.csv)."""
    rate_sd_gbp_per_hour: float = 0.90
    """Assumption: spread of providers' rates."""
    rate_premium_gbp_per_hour: MappingProxyType[int, float] = _frozen({1: 0.0, 2: 0.60, 3: 2.40})
    """Assumption: by tier; wider-area tier-2 providers charge a little more, spot purchases
    a lot more."""
    rural_rate_premium_gbp_per_hour: float = 1.20
    """Assumption: a provider serving several zones charges this enhanced rate in a zone where
    at least `rural_rate_zone_share` of the 60+ population is rural (domain.md: rates sometimes
    per zone, with rural or enhanced rates)."""
    rural_rate_zone_share: float = 0.25
    """Assumption: the rural share of a zone above which rural rates apply."""
    rate_range_gbp_per_hour: tuple[float, float] = (
        MINIMUM_PRICE_GBP_PER_HOUR_2021_22,
        MINIMUM_PRICE_GBP_PER_HOUR_2025_26,
    )
    """Every rate lies in the published range (figures.csv)."""


# --- Whole scenario -----------------------------------------------------------------------------

CQC_FLOOR = CqcRating.REQUIRES_IMPROVEMENT
"""README policy example: no new packages to providers rated Inadequate."""

SPECIALISMS = ("dementia", "learning_disability", "mental_health", "end_of_life", "complex_health")
"""domain.md: the specialisms a framework recognises."""

BYTES_PER_PACKAGE_PROVIDER_PAIR = 4_000
"""Measured: what one eligible (package, provider) pair costs when the scenario is solved
(eligibility masks, goal coefficients, the CP-SAT variable and its share of constraints, the LP):
945 MB peak for the county preset at 20,000 packages (242,255 pairs), 60 s limit, 2026-11-23.
Small scenarios cost more per pair (fixed overheads). The generator refuses a scale whose pairs
would exceed the memory limit."""
DEFAULT_MEMORY_LIMIT_GB = 8.0
"""Assumption: the memory a solve of a generated scenario may use; `allocator generate
--memory-limit-gb` changes it."""

POLICY_GOALS = (
    "existing_care",
    "urgent_hours",
    "hours_placed",
    "continuity",
    "cascade",
    "preferences",
    "cost",
    "travel",
    "fairness",
)
"""domain.md's common order of priorities, after keeping existing clients in care."""
