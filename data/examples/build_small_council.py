"""Build the shipped example scenario `data/examples/small_council/` from real Rotherham geography.

A small Rotherham-like council: three zones (North, Central, South) cut from the real Rotherham
wards, 13 fictional framework providers (3 ranked tier-1 providers per zone and 4 borough-wide
tier-2 providers) and 300 pseudonymous care packages at real Rotherham postcodes, sampled in
proportion to the 60+ population of their small area.

Usage, from the repository root::

    python data/examples/build_small_council.py --seed 7 [--shared PATH] [--out DIR]

``--shared`` defaults to ``../shared/data/geo`` beside the repository and ``--out`` to
``data/examples/small_council``. The same seed gives byte-identical files (rows are sorted, numbers
have a fixed format and nothing records the time). Every assumption is a named constant below,
with its source: the shared data's README and ``figures.csv``, ``domain.md``, or "assumption".
Shares of packages (urgency, double-up, preferences, existing placements, pins) are met exactly
(a seeded choice of which packages), so the shipped file's marginals are the constants' values.
Every row is checked by building the project's own pydantic models before it is written.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import textwrap
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
DEFAULT_SHARED = REPO_ROOT.parent / "shared" / "data" / "geo"
DEFAULT_OUT = HERE / "small_council"

if str(REPO_ROOT) not in sys.path:  # run as a plain script, without installing the project
    sys.path.insert(0, str(REPO_ROOT))

from allocator.io.scenario_files import PACKAGE_COLUMNS, PROVIDER_COLUMNS  # noqa: E402
from allocator.io.visit_text import format_visits, parse_visits  # noqa: E402
from allocator.model import (  # noqa: E402
    BANDS,
    DAYS,
    Band,
    CarePackage,
    CqcRating,
    Provider,
    ProviderStatus,
    Visit,
    ZoneService,
)
from allocator.policy import Policy  # noqa: E402

# --- Geography -------------------------------------------------------------------------------

COUNCIL = "Rotherham"  # postcodes_rotherham_bury.csv: lad_name of the council the scenario copies
RETIRED_OUTCODES = ("S30", "S31")
"""outcodes_rotherham_bury.csv notes: retired districts with terminated postcodes only; no one
lives at them today, so they are neither sampled nor listed in the zone map."""
MIN_SECTOR_SHARE_IN_COUNCIL = 0.5
"""Assumption: a postcode sector is the council's (listed in its zone map, and people are sampled
in it) when most of its postcodes (uk_sector_centroids.csv n_postcodes) are in Rotherham. This
leaves out fringe sectors that are mostly Sheffield, Barnsley, Doncaster or Bassetlaw, where under
3 % of Rotherham's 60+ population lives."""
ZONES = ("North", "Central", "South")
"""Geo README / figures.csv: Rotherham's tier 1 is 3 zones (North, South, Central) x 3 providers.
Listed north to south, the order they are cut along the borough's long axis."""
ZONE_RULE = (
    "Ward centroids (British National Grid easting/northing, wards25_rotherham_bury.csv) are "
    "projected on the borough's long axis (their first principal component, which runs "
    "south-east to north-west), ordered along it, and cut into thirds of 60+ population: a ward "
    "goes to South, Central or North as the midpoint of its share of the cumulative 60+ "
    "population falls below 1/3, below 2/3, or above. Each zone is contiguous (checked against "
    "the ward boundaries). A postcode's ward is its ward25_code, or its LSOA's majority ward "
    "when that is missing. A postcode sector goes to the zone holding the majority of its "
    "Rotherham postcodes."
)

# --- Packages: who needs care, and how much ----------------------------------------------------

N_PACKAGES = 300
"""Assumption: a small council's book, beside Rotherham's ~1,019 older people on Home Care and
Support (figures.csv, June 2023)."""
AS_OF = date(2026, 11, 16)  # assumption: the scenario's "today"
REFERRAL_WINDOW_DAYS = {"hospital_discharge": 14, "urgent_community": 28, "routine": 56}
"""Assumption: everyone was referred in the last 8 weeks, urgent referrals more recently."""
URGENCY_SHARES = {"hospital_discharge": 0.12, "urgent_community": 0.10, "routine": 0.78}
"""Assumption: hospital discharge is the urgent queue (domain.md)."""

VISIT_COUNTS_BURY_2017_18 = {15: 3422, 30: 3495, 45: 984, 60: 454, "longer": 1341}
"""figures.csv: Bury weekly commissioned visits by length, 2017-18 (35 %, 36 %, 10 %, 5 %, 14 %)."""
LONGER_VISIT_MINUTES = (75, 90)  # assumption: Bury's "over 60 min" visits split evenly 75/90
LENGTH_ORDER = (Band.MORNING, Band.BED, Band.TEA, Band.LUNCH)
"""Assumption: a package's longest call is the morning one (getting up, washing, dressing), then
bed, tea and lunch; the lengths themselves are drawn from the Bury mix."""

CALL_PATTERNS: tuple[tuple[float, str, tuple[Band, ...]], ...] = (
    (0.52, "daily", (Band.MORNING, Band.LUNCH, Band.TEA, Band.BED)),
    (0.12, "daily", (Band.MORNING, Band.TEA, Band.BED)),
    (0.05, "daily", (Band.MORNING, Band.LUNCH, Band.BED)),
    (0.10, "daily", (Band.MORNING, Band.BED)),
    (0.04, "daily", (Band.MORNING, Band.TEA)),
    (0.05, "daily", (Band.MORNING,)),
    (0.04, "weekdays", (Band.MORNING, Band.TEA)),
    (0.03, "weekdays", (Band.MORNING,)),
    (0.03, "some_days", (Band.MORNING,)),
    (0.02, "some_days", (Band.LUNCH,)),
)
"""(share, days, bands called each of those days). Assumption: 1-4 calls a day, four (morning,
lunch, tea, bed) the most common, shares tuned so that packages average 12-17 carer-hours a week
(domain.md: typical packages are 12-17 hours a week)."""
SOME_DAYS_COUNT = (2, 3)  # assumption: a "few days a week" package has 2 or 3 visiting days
NIGHT_CALL_SHARE = 0.02  # assumption: a few daily packages also have a night call
NIGHT_CALL_MINUTES = 30  # assumption: a night call is a 30-minute check or turn

DOUBLE_UP_SHARE = 0.10  # assumption: about 10 % of packages have two-carer calls
DOUBLE_UP_ALL_CALLS_SHARE = 0.25
"""Assumption: a quarter of double-up packages need two carers at every call; the rest only for
the morning and bed transfers."""

PACKAGE_SPECIALISM_SHARES = {
    "dementia": 0.15,
    "learning_disability": 0.04,
    "end_of_life": 0.03,
    "mental_health": 0.03,
}
"""Assumption (the specialisms are domain.md's), drawn independently; a combination that no
provider in the person's zone can meet is drawn again."""
GENDER_PREFERENCE_SHARE = 0.08  # assumption
FEMALE_SHARE_OF_GENDER_PREFERENCES = 0.85  # assumption: "mostly female"
LANGUAGE_SHARE = 0.04  # assumption
PACKAGE_LANGUAGES = {"urdu": 0.50, "punjabi": 0.25, "polish": 0.25}
"""Assumption: the languages of the providers' carers below, Urdu most asked for."""
PREFERRED_PROVIDER_SHARE = 0.05  # assumption; the preferred provider serves the person's zone
EXCLUDED_PROVIDER_SHARE = 0.03  # assumption; one excluded provider that serves the person's zone
EXISTING_PLACEMENT_SHARE = 0.35
"""Assumption: about 35 % of packages are already placed; the rest are the waiting list and new
referrals."""
PINNED_SHARE_OF_EXISTING = 0.25  # assumption: about a quarter of existing placements must not move
EXISTING_TIER_WEIGHT = {1: 1.0, 2: 0.25}
"""Assumption: most existing placements sit with a tier-1 provider of the person's zone; a few are
stop-gap ("bridging") placements with a tier-2 provider."""

# --- Providers: the framework ------------------------------------------------------------------

BAND_CAPACITY_TO_DEMAND = {
    Band.MORNING: 0.82,
    Band.LUNCH: 1.10,
    Band.TEA: 0.83,
    Band.BED: 1.10,
    Band.NIGHT: 0.80,
}
"""Ratio of all providers' capacity to all packages' need, per band. domain.md: morning and
tea-time are the bottlenecks; the ratios are an assumption (about 92 % overall, lunch and bed
looser, night small)."""
TIER1_CAPACITY_SHARE = 0.75  # assumption: tier-1 providers hold most of a zoned framework's hours
RANK_CAPACITY_WEIGHTS = {1: 0.42, 2: 0.33, 3: 0.25}  # assumption: rank 1 is the largest provider
CAPACITY_JITTER = 0.10  # assumption: +/-10 % seeded noise so no two providers look alike
CAPACITY_STEP_MINUTES = 15  # assumption: capacity is offered in quarter-hours
CAPPED_PROVIDER_SHARE_OF_HOURS = 600 / 13_000
"""Geo README: Bury's backup providers are capped at 600 hours against ~13,000 hours a week; the
capped tier-2 provider gets the same share of this scenario's need, to the nearest 10 hours."""
MINIMUM_RATE_GBP = 21.43  # figures.csv: Homecare Association minimum price 2021-22
MAXIMUM_RATE_GBP = 26.00  # assumption: top of the range; the council average is 24.10 (figures.csv)
CQC_FLOOR = CqcRating.REQUIRES_IMPROVEMENT  # README policy example: the framework's rating floor


@dataclass(frozen=True)
class ProviderSpec:
    """One fictional provider on the framework; `zone` None means tier 2 in every zone."""

    id: str
    name: str
    zone: str | None
    rank: int | None
    double_up: bool
    specialisms: tuple[str, ...]
    cqc_rating: CqcRating
    rate_gbp_per_hour: float
    tier2_capacity_weight: float = 0.0
    languages: tuple[str, ...] = ()
    same_gender: bool = True
    zone_rates: dict[str, float] = field(default_factory=dict)
    status: ProviderStatus = ProviderStatus.ACTIVE
    night: bool = False
    capped: bool = False

    @property
    def tier(self) -> int:
        return 1 if self.zone else 2

    def serves(self, zone: str) -> bool:
        return self.zone in (None, zone)


GOOD, OUTSTANDING = CqcRating.GOOD, CqcRating.OUTSTANDING
# fmt: off
PROVIDERS = (
    ProviderSpec("NOR-1", "Alder Homecare", "North", 1, True, ("dementia", "end_of_life"),
                 GOOD, 23.10, night=True),
    ProviderSpec("NOR-2", "Birch Home Support", "North", 2, True, ("dementia",),
                 CqcRating.REQUIRES_IMPROVEMENT, 22.40, languages=("polish",)),
    ProviderSpec("NOR-3", "Cedar Care at Home", "North", 3, False, ("learning_disability",),
                 GOOD, 22.80, same_gender=False),
    ProviderSpec("CEN-1", "Hazel Homecare", "Central", 1, True,
                 ("dementia", "end_of_life", "mental_health"), OUTSTANDING, 24.10,
                 languages=("urdu", "punjabi"), night=True),
    ProviderSpec("CEN-2", "Juniper Support", "Central", 2, False,
                 ("learning_disability", "mental_health"), GOOD, 23.30, same_gender=False),
    ProviderSpec("CEN-3", "Larch Care Services", "Central", 3, False, ("dementia",),
                 GOOD, 22.10, status=ProviderStatus.EMBARGOED),
    ProviderSpec("SOU-1", "Damson Homecare", "South", 1, True, ("dementia", "end_of_life"),
                 GOOD, 23.60, night=True),
    ProviderSpec("SOU-2", "Elm Home Support", "South", 2, False,
                 ("dementia", "learning_disability"), GOOD, 22.95),
    ProviderSpec("SOU-3", "Fir Tree Care", "South", 3, True, (), CqcRating.INADEQUATE,
                 MINIMUM_RATE_GBP),
    ProviderSpec("WIDE-A", "Maple Care Group", None, None, True,
                 ("complex_health", "dementia", "end_of_life"), GOOD, 25.40, 0.30,
                 zone_rates={"South": MAXIMUM_RATE_GBP}, night=True),
    ProviderSpec("WIDE-B", "Oak Specialist Support", None, None, True,
                 ("learning_disability", "mental_health"), GOOD, 24.60, 0.22,
                 languages=("urdu", "punjabi")),
    ProviderSpec("WIDE-C", "Rowan Community Care", None, None, False,
                 ("dementia", "mental_health"), GOOD, 25.80, 0.20, languages=("polish",),
                 same_gender=False),
    ProviderSpec("WIDE-D", "Willow Relief Care", None, None, False, (), GOOD, 24.90, 0.28,
                 capped=True),
)
# fmt: on
"""Assumption, shaped by domain.md: names are invented; rates lie between the
minimum price (21.43) and 26.00, around the council average of 24.10 (figures.csv); South's
rural rate is WIDE-A's zone rate; CEN-3 is embargoed, SOU-3 is rated inadequate (below the
floor), WIDE-D is capped like Bury's backup providers."""

# --- The published policy --------------------------------------------------------------------

POLICY_NAME = "Small council home care framework"
POLICY_VERSION = "2026.1"
GOALS = (
    "existing_care",
    "urgent_hours",
    "hours_placed",
    "continuity",
    "cascade",
    "preferences",
    "cost",
    "travel",
    "fairness",
)  # domain.md's common order of priorities, after keeping existing clients in care
SPECIALISMS = ("dementia", "learning_disability", "mental_health", "end_of_life", "complex_health")

ATTRIBUTED_FILES = ("- Postcode, boundary and population files:", "- Sources:")
"""Geo README: the licence and sources lines to keep wherever the data is shipped, copied verbatim
from its "Licences and attribution" section (GeoNames data is not used)."""


# --- Geography ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Geography:
    postcodes: pd.DataFrame
    """Live Rotherham postcodes: postcode, sector, lsoa21_code, ward, zone, weight (60+ people)."""
    ward_zone: dict[str, str]
    """Ward name -> zone."""
    sector_zone: dict[str, str]


def load_geography(shared: Path) -> Geography:
    wards = pd.read_csv(shared / "wards25_rotherham_bury.csv")
    wards = wards[wards["lad_name"] == COUNCIL].sort_values("ward25_code").reset_index(drop=True)
    lsoas = pd.read_csv(shared / "lsoa21_rotherham_bury.csv")
    lsoas = lsoas[lsoas["lad_name"] == COUNCIL]
    postcodes = pd.read_csv(shared / "postcodes_rotherham_bury.csv")
    postcodes = postcodes[
        (postcodes["lad_name"] == COUNCIL)
        & ~postcodes["outcode"].isin(RETIRED_OUTCODES)
        & postcodes["lsoa21_code"].notna()
    ]
    sector_size = pd.read_csv(shared / "uk_sector_centroids.csv").set_index("sector")["n_postcodes"]
    in_council = postcodes.groupby("sector")["postcode"].size() / sector_size
    council_sectors = in_council[in_council >= MIN_SECTOR_SHARE_IN_COUNCIL].index
    postcodes = postcodes[postcodes["sector"].isin(council_sectors)]
    postcodes = postcodes.sort_values("postcode").reset_index(drop=True)

    ward_zone = _zones_from_wards(wards)
    _check_contiguous(shared, wards, ward_zone)
    code_zone = {
        c: ward_zone[n] for c, n in zip(wards["ward25_code"], wards["ward25_name"], strict=True)
    }
    lsoa_ward = dict(zip(lsoas["lsoa21_code"], lsoas["ward25_code_majority"], strict=True))
    ward_code = postcodes["ward25_code"].fillna(postcodes["lsoa21_code"].map(lsoa_ward))
    postcodes["ward_zone"] = ward_code.map(code_zone)

    sector_zone = {
        sector: _majority(group["ward_zone"])
        for sector, group in postcodes.groupby("sector", sort=True)
    }
    postcodes["zone"] = postcodes["sector"].map(sector_zone)

    # 60+ people of each small area, spread evenly over its live postcodes; small areas without
    # a 2015 population figure (new in 2021) get no packages.
    pop60 = dict(zip(lsoas["lsoa21_code"], lsoas["pop_60plus_mid2015_iod2019"], strict=True))
    per_lsoa = postcodes.groupby("lsoa21_code")["postcode"].transform("size")
    postcodes["weight"] = postcodes["lsoa21_code"].map(pop60).fillna(0.0) / per_lsoa
    return Geography(postcodes, ward_zone, sector_zone)


def _zones_from_wards(wards: pd.DataFrame) -> dict[str, str]:
    """See ZONE_RULE."""
    xy = wards[["bng_e", "bng_n"]].to_numpy(dtype=float)
    centred = xy - xy.mean(axis=0)
    axis = np.linalg.svd(centred, full_matrices=False)[2][0]
    axis = axis if axis[1] > 0 else -axis  # point north, so North comes last
    order = np.argsort(centred @ axis, kind="stable")
    pop = wards["pop_60plus_mid2015_approx"].to_numpy(dtype=float)[order]
    midpoint = (np.cumsum(pop) - pop / 2) / pop.sum()
    south_to_north = ZONES[::-1]
    zone_of = [south_to_north[min(int(m * 3), 2)] for m in midpoint]
    names = wards["ward25_name"].to_numpy()[order]
    return dict(zip(names, zone_of, strict=True))


def _check_contiguous(shared: Path, wards: pd.DataFrame, ward_zone: dict[str, str]) -> None:
    """Wards touch when their boundaries share an edge (two or more vertices)."""
    code = wards["lad_code"].iloc[0]
    features = json.loads(
        (shared / "boundaries" / f"ward25_rotherham_{code}.geojson").read_text(encoding="utf-8")
    )["features"]
    vertices: dict[str, set[tuple[float, float]]] = {}
    for feature in features:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"]
        if geometry["type"] == "Polygon":
            polygons = [polygons]
        vertices[feature["properties"]["WD25NM"]] = {
            (round(x, 5), round(y, 5)) for polygon in polygons for ring in polygon for x, y in ring
        }
    for zone in ZONES:
        members = {w for w, z in ward_zone.items() if z == zone}
        start = min(members)
        reached, frontier = {start}, [start]
        while frontier:
            ward = frontier.pop()
            for other in sorted(members - reached):
                if len(vertices[ward] & vertices[other]) >= 2:
                    reached.add(other)
                    frontier.append(other)
        if reached != members:
            raise SystemExit(f"zone {zone} is not contiguous: {sorted(members - reached)}")


def _majority(zones: pd.Series) -> str:
    counts = Counter(zones)
    return max(ZONES, key=lambda z: (counts[z], -ZONES.index(z)))


def read_attribution(shared: Path) -> str:
    """The ATTRIBUTED_FILES bullets of the geo README's licence section, line for line."""
    section = (
        (shared / "README.md").read_text(encoding="utf-8").split("Licences and attribution")[1]
    )
    bullets = re.split(r"\n(?=- )", section)
    kept = [b.rstrip("\n") for b in bullets if b.startswith(ATTRIBUTED_FILES)]
    if len(kept) != len(ATTRIBUTED_FILES):
        raise SystemExit(f"licence lines not found in {shared / 'README.md'}")
    return "\n".join(kept) + "\n"


# --- Packages ------------------------------------------------------------------------------------


@dataclass
class DraftPackage:
    id: str
    postcode: str
    zone: str
    visits: tuple[Visit, ...]
    urgency: str
    referral_date: date
    specialisms: tuple[str, ...] = ()
    gender_preference: str | None = None
    language: str | None = None
    preferred_provider: str | None = None
    excluded_providers: tuple[str, ...] = ()
    current_provider: str | None = None
    pinned: bool = False

    @property
    def needs_double_up(self) -> bool:
        return any(v.carers == 2 for v in self.visits)

    def need_by_band(self) -> dict[Band, int]:
        need = dict.fromkeys(BANDS, 0)
        for visit in self.visits:
            need[visit.band] += visit.carer_minutes_per_week
        return need


def eligible(spec: ProviderSpec, package: DraftPackage) -> bool:
    """The policy's hard filters for a new call-off (same_gender is soft in this policy)."""
    return (
        spec.serves(package.zone)
        and spec.status is ProviderStatus.ACTIVE
        and spec.cqc_rating.score >= CQC_FLOOR.score
        and set(package.specialisms) <= set(spec.specialisms)
        and (spec.double_up or not package.needs_double_up)
        and spec.id not in package.excluded_providers
    )


def can_keep(spec: ProviderSpec, package: DraftPackage) -> bool:
    """Whether the provider may be the package's current one: the policy exempts keeping a package
    from the rules for new call-offs (CQC floor, embargo), so an embargoed or Inadequate provider
    still has clients, but never from specialism, double-up or exclusion."""
    return (
        spec.serves(package.zone)
        and set(package.specialisms) <= set(spec.specialisms)
        and (spec.double_up or not package.needs_double_up)
        and spec.id not in package.excluded_providers
    )


def _pick(rng: np.random.Generator, shares: dict) -> object:
    keys = list(shares)
    weights = np.array([shares[k] for k in keys], dtype=float)
    return keys[rng.choice(len(keys), p=weights / weights.sum())]


def _quota(rng: np.random.Generator, count: int, share: float) -> np.ndarray:
    """Exactly round(share * count) of `count` items, chosen at random, so shares hold exactly."""
    chosen = np.zeros(count, dtype=bool)
    chosen[rng.choice(count, size=round(share * count), replace=False)] = True
    return chosen


def _shuffled_categories(rng: np.random.Generator, count: int, shares: dict[str, float]) -> list:
    """`count` labels in exactly the given shares (the last one takes the rounding), shuffled."""
    sizes = [round(shares[k] * count) for k in list(shares)[:-1]]
    labels = np.repeat(list(shares), [*sizes, count - sum(sizes)])
    return [str(label) for label in rng.permutation(labels)]


def _visit_minutes(rng: np.random.Generator) -> int:
    length = _pick(rng, VISIT_COUNTS_BURY_2017_18)
    if length == "longer":
        return int(LONGER_VISIT_MINUTES[rng.integers(len(LONGER_VISIT_MINUTES))])
    return int(length)


def draw_visits(rng: np.random.Generator, double_up: bool) -> tuple[Visit, ...]:
    patterns = [
        p
        for p in CALL_PATTERNS
        if not double_up or (p[1] == "daily" and {Band.MORNING, Band.BED} <= set(p[2]))
    ]
    _, schedule, bands = patterns[_pick(rng, {i: p[0] for i, p in enumerate(patterns)})]
    if schedule == "daily":
        days = DAYS
    elif schedule == "weekdays":
        days = DAYS[:5]
    else:
        count = int(rng.choice(SOME_DAYS_COUNT))
        days = tuple(DAYS[i] for i in sorted(rng.choice(7, size=count, replace=False)))
    lengths = sorted((_visit_minutes(rng) for _ in bands), reverse=True)
    ordered = sorted(bands, key=LENGTH_ORDER.index)
    minutes = dict(zip(ordered, lengths, strict=True))
    all_double = double_up and rng.random() < DOUBLE_UP_ALL_CALLS_SHARE
    visits = [
        Visit(
            days=days,
            band=band,
            minutes=minutes[band],
            carers=2 if double_up and (all_double or band in (Band.MORNING, Band.BED)) else 1,
        )
        for band in BANDS
        if band in bands
    ]
    if schedule == "daily" and rng.random() < NIGHT_CALL_SHARE:
        visits.append(Visit(days=DAYS, band=Band.NIGHT, minutes=NIGHT_CALL_MINUTES))
    return tuple(visits)


def draw_packages(rng: np.random.Generator, geo: Geography) -> list[DraftPackage]:
    weights = geo.postcodes["weight"].to_numpy(dtype=float)
    rows = rng.choice(len(weights), size=N_PACKAGES, p=weights / weights.sum())
    urgencies = _shuffled_categories(rng, N_PACKAGES, URGENCY_SHARES)
    double_up = _quota(rng, N_PACKAGES, DOUBLE_UP_SHARE)
    packages = []
    for index, row in enumerate(rows):
        days_ago = int(rng.integers(REFERRAL_WINDOW_DAYS[urgencies[index]])) + 1
        package = DraftPackage(
            id=f"PKG-{index + 1:04d}",
            postcode=geo.postcodes.at[row, "postcode"],
            zone=geo.sector_zone[geo.postcodes.at[row, "sector"]],
            visits=draw_visits(rng, bool(double_up[index])),
            urgency=urgencies[index],
            referral_date=AS_OF - timedelta(days=days_ago),
        )
        _draw_needs(rng, package)
        packages.append(package)
    _draw_preferences(rng, packages)
    return packages


def _draw_needs(rng: np.random.Generator, package: DraftPackage) -> None:
    while True:
        package.specialisms = tuple(
            s for s, share in PACKAGE_SPECIALISM_SHARES.items() if rng.random() < share
        )
        if any(eligible(p, package) for p in PROVIDERS):
            return


def _draw_preferences(rng: np.random.Generator, packages: list[DraftPackage]) -> None:
    count = len(packages)
    gender = _quota(rng, count, GENDER_PREFERENCE_SHARE)
    female = iter(_quota(rng, int(gender.sum()), FEMALE_SHARE_OF_GENDER_PREFERENCES))
    languages = iter(_shuffled_categories(rng, round(LANGUAGE_SHARE * count), PACKAGE_LANGUAGES))
    language = _quota(rng, count, LANGUAGE_SHARE)
    excluded = _quota(rng, count, EXCLUDED_PROVIDER_SHARE)
    preferred = _quota(rng, count, PREFERRED_PROVIDER_SHARE)
    for index, package in enumerate(packages):
        if gender[index]:
            package.gender_preference = "female" if next(female) else "male"
        if language[index]:
            package.language = next(languages)
        if excluded[index]:
            # Only an exclusion that leaves the person someone to be offered to.
            options = [
                p.id
                for p in PROVIDERS
                if p.serves(package.zone)
                and any(eligible(q, package) for q in PROVIDERS if q.id != p.id)
            ]
            package.excluded_providers = (options[rng.integers(len(options))],)
        if preferred[index]:
            options = [p.id for p in PROVIDERS if eligible(p, package)]
            package.preferred_provider = options[rng.integers(len(options))]


# --- Providers -----------------------------------------------------------------------------------


def set_capacities(
    rng: np.random.Generator, packages: list[DraftPackage]
) -> dict[str, dict[Band, int]]:
    """Weekly carer minutes per provider and band, sized against the packages' need."""
    need = {(z, b): 0 for z in ZONES for b in BANDS}
    for package in packages:
        for band, minutes in package.need_by_band().items():
            need[package.zone, band] += minutes
    capacity: dict[str, dict[Band, int]] = {p.id: {} for p in PROVIDERS}
    for band in BANDS:
        total_need = sum(need[z, band] for z in ZONES)
        target = BAND_CAPACITY_TO_DEMAND[band] * total_need
        raw = {}
        for spec in PROVIDERS:
            if band is Band.NIGHT:
                share = float(spec.night)
            elif spec.zone is not None:
                share = (
                    TIER1_CAPACITY_SHARE
                    * RANK_CAPACITY_WEIGHTS[spec.rank]
                    * need[spec.zone, band]
                    / max(total_need, 1)
                )
            else:
                share = (1 - TIER1_CAPACITY_SHARE) * spec.tier2_capacity_weight
            raw[spec.id] = share * rng.uniform(1 - CAPACITY_JITTER, 1 + CAPACITY_JITTER)
        scale = target / max(sum(raw.values()), 1e-9)
        for spec in PROVIDERS:
            steps = round(raw[spec.id] * scale / CAPACITY_STEP_MINUTES)
            capacity[spec.id][band] = int(steps * CAPACITY_STEP_MINUTES)
    return capacity


def draw_base_postcodes(rng: np.random.Generator, geo: Geography) -> dict[str, str]:
    """A real postcode in the provider's zone (anywhere in the borough for tier 2)."""
    bases = {}
    for spec in PROVIDERS:
        pool = geo.postcodes["postcode"]
        if spec.zone is not None:
            pool = pool[geo.postcodes["zone"] == spec.zone]
        bases[spec.id] = str(pool.iloc[rng.integers(len(pool))])
    return bases


def max_weekly_hours(packages: list[DraftPackage]) -> float:
    total_hours = sum(sum(p.need_by_band().values()) for p in packages) / 60
    return float(round(CAPPED_PROVIDER_SHARE_OF_HOURS * total_hours, -1))


def place_existing(
    rng: np.random.Generator,
    packages: list[DraftPackage],
    capacity: dict[str, dict[Band, int]],
    cap_hours: float,
) -> None:
    """Give about a third of packages a current provider whose capacity holds all its clients."""
    load = {p.id: dict.fromkeys(BANDS, 0) for p in PROVIDERS}
    placed = []
    for package, existing in zip(
        packages, _quota(rng, len(packages), EXISTING_PLACEMENT_SHARE), strict=True
    ):
        if not existing:
            continue
        need = package.need_by_band()
        weights = {}
        for spec in PROVIDERS:
            headroom = [capacity[spec.id][b] - load[spec.id][b] - need[b] for b in BANDS]
            within_cap = not spec.capped or (
                sum(load[spec.id].values()) + sum(need.values()) <= cap_hours * 60
            )
            if can_keep(spec, package) and min(headroom) >= 0 and within_cap:
                spare = sum(capacity[spec.id][b] - load[spec.id][b] for b in BANDS)
                weights[spec.id] = EXISTING_TIER_WEIGHT[spec.tier] * spare
        if not weights:
            continue  # no one could hold it: it waits like a new referral
        chosen = str(_pick(rng, weights))
        package.current_provider = chosen
        placed.append(package)
        for band in BANDS:
            load[chosen][band] += need[band]
    for package, pinned in zip(
        placed, _quota(rng, len(placed), PINNED_SHARE_OF_EXISTING), strict=True
    ):
        package.pinned = bool(pinned)


# --- Output --------------------------------------------------------------------------------------


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _listed(values: tuple[str, ...] | list[str]) -> str:
    return "; ".join(values)


def build_providers(
    capacity: dict[str, dict[Band, int]], bases: dict[str, str], cap_hours: float
) -> list[Provider]:
    providers = []
    for spec in sorted(PROVIDERS, key=lambda s: s.id):
        zones = (
            (ZoneService(zone=spec.zone, tier=1, rank=spec.rank),)
            if spec.zone
            else tuple(ZoneService(zone=z, tier=2) for z in ZONES)
        )
        if not MINIMUM_RATE_GBP <= spec.rate_gbp_per_hour <= MAXIMUM_RATE_GBP:
            raise SystemExit(f"{spec.id}: rate outside {MINIMUM_RATE_GBP}-{MAXIMUM_RATE_GBP}")
        providers.append(
            Provider(
                id=spec.id,
                name=spec.name,
                zones=zones,
                base_postcode=bases[spec.id],
                capacity_minutes=capacity[spec.id],
                double_up=spec.double_up,
                specialisms=spec.specialisms,
                languages=spec.languages,
                same_gender=spec.same_gender,
                rate_gbp_per_hour=spec.rate_gbp_per_hour,
                zone_rates_gbp_per_hour=spec.zone_rates,
                cqc_rating=spec.cqc_rating,
                status=spec.status,
                max_weekly_hours=cap_hours if spec.capped else None,
            )
        )
    return providers


def provider_row(provider: Provider) -> list[str]:
    zones = _listed(
        [
            ":".join(str(x) for x in (z.zone, z.tier, z.rank) if x is not None)
            for z in provider.zones
        ]
    )
    rates = _listed([f"{z}:{r:.2f}" for z, r in provider.zone_rates_gbp_per_hour.items()])
    cap = provider.max_weekly_hours
    return [
        provider.id,
        provider.name,
        zones,
        provider.base_postcode,
        *(str(provider.capacity(b)) for b in BANDS),
        _yes_no(provider.double_up),
        _listed(provider.specialisms),
        _listed(provider.languages),
        _yes_no(provider.same_gender),
        f"{provider.rate_gbp_per_hour:.2f}",
        rates,
        provider.cqc_rating.value,
        provider.status.value,
        "" if cap is None else f"{cap:.0f}",
    ]


def build_package(draft: DraftPackage) -> CarePackage:
    return CarePackage(
        id=draft.id,
        postcode=draft.postcode,
        visits=draft.visits,
        specialisms=draft.specialisms,
        gender_preference=draft.gender_preference,
        language=draft.language,
        preferred_provider=draft.preferred_provider,
        excluded_providers=draft.excluded_providers,
        urgency=draft.urgency,
        referral_date=draft.referral_date,
        current_provider=draft.current_provider,
        pinned=draft.pinned,
    )


def package_row(package: CarePackage) -> list[str]:
    visits = format_visits(package.visits)
    if tuple(Visit(**v) for v in parse_visits(visits)) != package.visits:
        raise SystemExit(f"{package.id}: visit text {visits!r} does not read back")
    return [
        package.id,
        package.postcode,
        "",  # the zone comes from the policy's sector map (build() checks every sector is in it)
        visits,
        _listed(package.specialisms),
        package.gender_preference.value if package.gender_preference else "",
        package.language or "",
        package.preferred_provider or "",
        _listed(package.excluded_providers),
        package.urgency.value,
        package.referral_date.isoformat(),
        package.current_provider or "",
        _yes_no(package.pinned),
    ]


def write_csv(path: Path, header: tuple[str, ...], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(sorted(rows))


def _toml_list(values: list[str] | tuple[str, ...], indent: str = "", per_line: int = 0) -> str:
    quoted = [f'"{v}"' for v in values]
    if not per_line or len(quoted) <= per_line:
        return "[" + ", ".join(quoted) + "]"
    lines = [", ".join(quoted[i : i + per_line]) for i in range(0, len(quoted), per_line)]
    return "[\n" + ",\n".join(f"{indent}    {line}" for line in lines) + ",\n" + indent + "]"


def _sector_key(sector: str) -> tuple[str, int, str]:
    outward, inward = sector.split(" ")
    letters = outward.rstrip("0123456789")
    return (letters, int(outward[len(letters) :]), inward)


def _comment(text: str) -> str:
    return textwrap.fill(
        text, width=99, initial_indent="# ", subsequent_indent="# ", break_on_hyphens=False
    )


def policy_toml(geo: Geography) -> str:
    zone_blocks = []
    for zone in ZONES:
        wards = sorted(w for w, z in geo.ward_zone.items() if z == zone)
        sectors = sorted((s for s, z in geo.sector_zone.items() if z == zone), key=_sector_key)
        ward_list = ", ".join(wards)
        zone_blocks.append(
            f"{_comment(f'{zone}: {len(wards)} wards ({ward_list}).')}\n"
            f"[zones.{zone}]\n"
            f"postcodes = {_toml_list(sectors, per_line=8)}\n"
        )
    return f"""\
# The published allocation rule of a small council's home care framework (an example modelled
# on Rotherham). Every placement the allocator makes cites this name and version, so a change to
# the rule is a new version, published before it is used.
name = "{POLICY_NAME}"
version = "{POLICY_VERSION}"

# What the allocator tries to achieve, most important first. A later goal is only pursued among
# the allocations that do as well as possible on every earlier one: no saving in cost or travel
# can ever buy back an hour of care left unplaced.
#   existing_care keep everyone already receiving care placed: no one loses their care so that
#                 others can be placed (they may still move provider, see continuity)
#   urgent_hours  place as many hours as possible for the urgent queue (see `urgent` below)
#   hours_placed  place as many hours of care as possible overall (unmet need comes first)
#   continuity    keep people with the provider who already cares for them
#   cascade       call off in framework order: tier 1 before tier 2, then by rank in the zone
#   preferences   meet people's choices: preferred provider, carer language, carer gender
#   cost          keep the weekly cost to the council down
#   travel        keep providers close to the people they visit
#   fairness      spread the work fairly so that smaller providers stay viable
goals = {_toml_list(GOALS, per_line=4)}

# Referrals placed first: hospital discharges (people waiting in a hospital bed to go home).
urgent = ["hospital_discharge"]

# The specialisms this framework recognises; a package or provider naming any other is an error.
specialisms = {_toml_list(SPECIALISMS, per_line=3)}

# Rules that rule a provider out before any optimisation. A person who already has a provider may
# stay with it even if the provider has since been embargoed or fallen below the rating floor.
[hard_filters]
zone = true                        # offer only providers that serve the person's zone
cqc_floor = "requires_improvement" # no new packages to providers rated Inadequate
embargo = true                     # no new packages to a provider under embargo
specialism = true                  # the provider must have every specialism the person needs
exclusions = true                  # never offer a person to a provider they have excluded
double_up = true                   # two-carer calls only to providers who can staff them
same_gender = "soft"               # a carer gender request is a preference, not a bar

# Call-off order: tier-1 providers of the zone (in rank order), then tier-2 (borough-wide).
[cascade]
tiers = [1, 2]

# Zones, by postcode sector: a person's zone is the zone listing their postcode's sector.
{_comment(ZONE_RULE)}
{chr(10).join(zone_blocks)}"""


def readme(seed: int, summary: str, attribution: str) -> str:
    return f"""\
# Small council: an example scenario

A home care brokerage scenario for a small council modelled on Rotherham, for trying the allocator
(`allocator allocate data/examples/small_council`). The geography is real; the people and the
providers are invented.

- `providers.csv`: 13 fictional framework providers. Each of the three zones (North, Central,
  South) has three ranked tier-1 providers; four tier-2 providers cover the whole borough. One
  provider is embargoed and one is rated Inadequate (below the policy's floor): neither may take
  new packages, but both still care for existing clients. One is capped in weekly hours, one
  charges a rural rate in South.
- `packages.csv`: {N_PACKAGES} pseudonymous care packages (`PKG-0001` ...) at real Rotherham
  postcodes, sampled in proportion to the 60+ population of their small area (LSOA 2021), leaving
  out retired postcodes (S30, S31) and fringe sectors mostly outside Rotherham. About a third are
  existing placements with a current provider (a quarter of them pinned); the rest are the
  waiting list and new referrals. The `zone` column is empty: zones come from the policy.
- `policy.toml`: the published allocation rule, with comments for commissioners.

## How it was made

From the repository root, with the shared open-data folder at `../shared/data/geo`:

```bash
python data/examples/build_small_council.py --seed {seed}
```

The same seed gives byte-identical files (`tests/test_example_data.py` checks this). Every
assumption is a named constant at the top of the script, with its source. Visit lengths follow
Bury's 2017-18 mix (15 min 35 %, 30 min 36 %, 45 min 10 %, 60 min 5 %, longer 14 %); capacity is
set so the market is short the way real ones are, most of all at morning and tea-time.

{textwrap.fill("Zones: " + ZONE_RULE, width=99, break_on_hyphens=False)}

## At a glance

```text
{summary}
```

## Licences and attribution

{attribution}"""


def summarise(packages: list[CarePackage], zones: dict[str, str], providers: list[Provider]) -> str:
    need = dict.fromkeys(BANDS, 0)
    for package in packages:
        for band, minutes in package.carer_minutes_by_band().items():
            need[band] += minutes
    capacity = {b: sum(p.capacity(b) for p in providers) for b in BANDS}
    total_need, total_capacity = sum(need.values()), sum(capacity.values())
    weekly_visits = Counter()
    for package in packages:
        for visit in package.visits:
            weekly_visits[visit.minutes] += len(visit.days)
    existing = [p for p in packages if p.current_provider]
    urgency = Counter(p.urgency.value for p in packages)
    lines = [
        f"packages                {len(packages)}",
        f"carer hours per week    {total_need / 60:,.1f} "
        f"(mean {total_need / 60 / len(packages):.1f} per package)",
        f"15-minute visits        {weekly_visits[15] / sum(weekly_visits.values()):.1%} of visits",
        f"double-up packages      {sum(p.needs_double_up for p in packages)}",
        "urgency                 " + ", ".join(f"{u} {urgency[u]}" for u in URGENCY_SHARES),
        f"existing placements     {len(existing)} ({sum(p.pinned for p in existing)} pinned)",
        "",
        "band      need h/wk  capacity h/wk  capacity/need",
    ]
    for band in (*BANDS, None):
        n = total_need if band is None else need[band]
        c = total_capacity if band is None else capacity[band]
        ratio = f"{c / n:.0%}" if n else "-"
        lines.append(f"{band or 'all':<9} {n / 60:>9.1f}  {c / 60:>13.1f}  {ratio:>13}")
    lines += ["", "zone      packages  share  need h/wk  share"]
    for zone in ZONES:
        members = [p for p in packages if zones[p.id] == zone]
        hours = sum(p.carer_minutes_per_week for p in members) / 60
        lines.append(
            f"{zone:<9} {len(members):>8}  {len(members) / len(packages):>5.0%}  "
            f"{hours:>9.1f}  {hours / (total_need / 60):>5.0%}"
        )
    return "\n".join(lines)


def check_existing_fit(packages: list[CarePackage], providers: list[Provider]) -> None:
    for provider in providers:
        mine = [p for p in packages if p.current_provider == provider.id]
        for band in BANDS:
            load = sum(p.carer_minutes_by_band()[band] for p in mine)
            if load > provider.capacity(band):
                raise SystemExit(f"{provider.id}: existing {band} load {load} over capacity")
        cap = provider.max_weekly_hours
        if cap is not None and sum(p.carer_minutes_per_week for p in mine) > cap * 60:
            raise SystemExit(f"{provider.id}: existing placements over its weekly cap")


def build(seed: int, shared: Path, out: Path) -> str:
    rng = np.random.default_rng(seed)
    geo = load_geography(shared)
    drafts = draw_packages(rng, geo)
    capacity = set_capacities(rng, drafts)
    bases = draw_base_postcodes(rng, geo)
    cap_hours = max_weekly_hours(drafts)
    place_existing(rng, drafts, capacity, cap_hours)

    policy_text = policy_toml(geo)
    policy = Policy(**tomllib.loads(policy_text))
    providers = build_providers(capacity, bases, cap_hours)
    packages = [build_package(d) for d in drafts]
    zones = {p.id: policy.zone_for_postcode(p.postcode) for p in packages}
    if None in zones.values():
        raise SystemExit("a package's postcode sector is missing from the zone map")
    check_existing_fit(packages, providers)

    summary = summarise(packages, zones, providers)
    out.mkdir(parents=True, exist_ok=True)
    (out / "policy.toml").write_text(policy_text, encoding="utf-8", newline="\n")
    write_csv(out / "providers.csv", PROVIDER_COLUMNS, [provider_row(p) for p in providers])
    write_csv(out / "packages.csv", PACKAGE_COLUMNS, [package_row(p) for p in packages])
    (out / "README.md").write_text(
        readme(seed, summary, read_attribution(shared)), encoding="utf-8", newline="\n"
    )
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7, help="random seed (the shipped files use 7)")
    parser.add_argument(
        "--shared",
        type=Path,
        default=DEFAULT_SHARED,
        help="the shared open geography folder (default: ../shared/data/geo)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="output folder (default: data/examples/small_council)",
    )
    args = parser.parse_args(argv)
    print(build(args.seed, args.shared, args.out))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
