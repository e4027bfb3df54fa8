"""The packages: where people live, their visits, urgency, needs and referral dates.

People are placed at real postcodes in proportion to the 60+ population (`places`); visit
lengths follow Bury's published mix, call patterns and every share are `DemandParameters`. The
existing book (people already in care) and the queue (hospital discharges, urgent community
referrals, the waiting list) are fixed here; who currently cares for whom is `current_care`'s job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from allocator.generator.parameters import DemandParameters
from allocator.generator.places import CouncilPlaces
from allocator.generator.sampling import labels, pick, quota
from allocator.model import BANDS, DAYS, Band, Gender, Urgency, Visit

_DAYS = {"daily": DAYS, "weekdays": DAYS[:5]}


@dataclass
class DraftPackage:
    """A package while it is being drawn; `allocator.model.CarePackage` once complete."""

    id: str
    home: int
    """Row of the person's postcode in `CouncilPlaces.postcodes`."""
    postcode: str
    zone: str
    visits: tuple[Visit, ...]
    urgency: Urgency
    referral_date: date
    existing: bool
    """Already in care (it will be given a current provider if one can hold it)."""
    specialisms: tuple[str, ...] = ()
    gender_preference: Gender | None = None
    language: str | None = None
    preferred_provider: str | None = None
    excluded_providers: tuple[str, ...] = ()
    current_provider: str | None = None
    pinned: bool = False

    @property
    def needs_double_up(self) -> bool:
        return any(v.carers == 2 for v in self.visits)

    def minutes_by_band(self) -> np.ndarray:
        """Weekly carer minutes per band, in `BANDS` order."""
        need = np.zeros(len(BANDS), dtype=np.int64)
        for visit in self.visits:
            need[BANDS.index(visit.band)] += visit.carer_minutes_per_week
        return need


def visit_minutes(rng: np.random.Generator, params: DemandParameters) -> int:
    length = pick(rng, params.visits_per_week_by_length)
    if length == "longer":
        return int(pick(rng, params.longer_visit_minutes))
    return int(length)


def draw_visits(
    rng: np.random.Generator, params: DemandParameters, double_up: bool
) -> tuple[Visit, ...]:
    """One package's weekly calls; a double-up package has daily morning and bed calls."""
    patterns = [
        p
        for p in params.call_patterns
        if not double_up or (p.schedule == "daily" and {Band.MORNING, Band.BED} <= set(p.bands))
    ]
    pattern = patterns[pick(rng, {i: p.share for i, p in enumerate(patterns)})]
    if pattern.schedule == "some_days":
        count = int(rng.choice(params.some_days_count))
        days = tuple(DAYS[i] for i in sorted(rng.choice(len(DAYS), size=count, replace=False)))
    else:
        days = _DAYS[pattern.schedule]
    lengths = sorted((visit_minutes(rng, params) for _ in pattern.bands), reverse=True)
    longest_first = sorted(pattern.bands, key=params.longest_call_order.index)
    minutes = dict(zip(longest_first, lengths, strict=True))
    every_call = double_up and rng.random() < params.double_up_all_calls_share
    visits = [
        Visit(
            days=days,
            band=band,
            minutes=minutes[band],
            carers=2 if double_up and (every_call or band in (Band.MORNING, Band.BED)) else 1,
        )
        for band in BANDS
        if band in pattern.bands
    ]
    if pattern.schedule == "daily" and rng.random() < params.night_call_share:
        visits.append(Visit(days=DAYS, band=Band.NIGHT, minutes=params.night_call_minutes))
    return tuple(visits)


def draw_packages(
    rng: np.random.Generator, places: CouncilPlaces, params: DemandParameters, count: int
) -> list[DraftPackage]:
    """`count` packages at sampled homes: the existing book and the queue, with their visits."""
    homes = places.sample_homes(rng, count)
    existing = quota(rng, count, params.existing_share)
    queue_urgency = iter(labels(rng, int((~existing).sum()), params.queue_urgency_shares))
    double_up = quota(rng, count, params.double_up_share)
    width = max(4, len(str(count)))
    frame = places.postcodes
    packages = []
    for index in range(count):
        if existing[index]:
            urgency = Urgency.ROUTINE
            window = params.existing_referral_days
        else:
            urgency = Urgency(next(queue_urgency))
            window = params.queue_referral_days[urgency.value]
        home = int(homes[index])
        packages.append(
            DraftPackage(
                id=f"PKG-{index + 1:0{width}d}",
                home=home,
                postcode=str(frame.at[home, "postcode"]),
                zone=str(frame.at[home, "zone"]),
                visits=draw_visits(rng, params, bool(double_up[index])),
                urgency=urgency,
                referral_date=params.as_of - timedelta(days=int(rng.integers(window)) + 1),
                existing=bool(existing[index]),
            )
        )
    return packages


SpecialismCheck = Callable[[list[DraftPackage]], np.ndarray]
"""For each package, whether some provider of its zone could take it new (bool array)."""


def draw_specialisms(
    rng: np.random.Generator,
    packages: list[DraftPackage],
    params: DemandParameters,
    can_be_met: SpecialismCheck,
    attempts: int = 50,
) -> None:
    """Required specialisms, drawn independently; a combination no provider of the person's zone
    can meet is drawn again (in the end, none are required)."""
    pending = list(packages)
    names = list(params.specialism_shares)
    shares = np.array([params.specialism_shares[n] for n in names])
    for _ in range(attempts):
        if not pending:
            return
        draws = rng.random((len(pending), len(names))) < shares
        for package, row in zip(pending, draws, strict=True):
            package.specialisms = tuple(n for n, wanted in zip(names, row, strict=True) if wanted)
        met = can_be_met(pending)
        pending = [p for p, ok in zip(pending, met, strict=True) if not ok]
    for package in pending:
        package.specialisms = ()
