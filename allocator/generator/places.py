"""Where people live and how the council is zoned: real postcodes, small areas and wards.

Rotherham and Bury, whose full postcodes we ship: a council's packages are placed at its real
postcodes, each standing for an equal part of its small area's (LSOA 2021) 60+ population; zones
are unions of real wards, cut by a documented rule and checked to be contiguous; a postcode sector
belongs to the zone holding most of its postcodes, which is how the policy's zone map is
published.

Any other English council: packages are placed at the centroids of its small areas (LSOA 2011),
each standing for its 60+ population and published under its nearest postcode sector (a council
that shares no more than the sector); zones are the council's districts, or bands along its long
axis when it is a single district; a sector belongs to the zone holding most of its 60+ people.

This module receives DataFrames (see `allocator.io.generator_tables`) and does no file I/O.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np
import pandas as pd

from allocator.generator.parameters import PlaceParameters
from allocator.geography import EARTH_RADIUS_KM


class GeneratorDataError(ValueError):
    """The geography tables cannot support the request (e.g. a council code they lack)."""


@dataclass(frozen=True)
class GeographyTables:
    """The open geography the generator samples from (`data/geo/generator_*.csv.gz`)."""

    postcodes: pd.DataFrame
    """postcode, lad_code, lsoa21_code, ward25_code (may be empty), lat, lon."""
    lsoas: pd.DataFrame
    """lsoa21_code, lsoa21_name, lad_code, ward25_code, lat, lon, pop_total_mid2015,
    pop_60plus_mid2015 (NaN for LSOAs new in 2021), area_km2."""
    wards: pd.DataFrame
    """ward25_code, ward25_name, lad_code, lad_name, lat, lon, bng_e, bng_n, pop_total_mid2015,
    pop_60plus_mid2015, neighbours (';'-separated ward codes sharing a boundary edge)."""
    sectors: pd.DataFrame
    """sector, n_postcodes: all postcodes of each sector touching the councils."""

    def council_codes(self) -> list[str]:
        return sorted(set(self.wards["lad_code"]))


class Zoning(Protocol):
    """A rule that groups a council's units (wards, or small areas) into its zones."""

    zones: tuple[str, ...]

    @property
    def rule(self) -> str:
        """The rule in words, for the published policy."""
        ...

    def assign(self, units: pd.DataFrame) -> dict[str, str]:
        """Unit code -> zone for every unit of the council.

        `units` has columns code, name, district (name), x_km and y_km (the centroid on a plane,
        y to the north) and weight (60+ people).
        """
        ...


def _axis_bands(units: pd.DataFrame, zones: tuple[str, ...]) -> dict[str, str]:
    """Units ordered along their long axis (first principal component) and cut into bands of
    equal 60+ population, named from north to south: a unit goes to the band in which the
    midpoint of its share of the cumulative 60+ population falls."""
    xy = units[["x_km", "y_km"]].to_numpy(dtype=float)
    centred = xy - xy.mean(axis=0)
    axis = np.linalg.svd(centred, full_matrices=False)[2][0]
    axis = axis if axis[1] > 0 else -axis  # pointing north, so the north band comes last
    order = np.argsort(centred @ axis, kind="stable")
    people = units["weight"].to_numpy(dtype=float)[order]
    midpoint = (np.cumsum(people) - people / 2) / people.sum()
    south_to_north = zones[::-1]
    band = np.minimum((midpoint * len(zones)).astype(int), len(zones) - 1)
    codes = units["code"].to_numpy()[order]
    return {str(c): south_to_north[b] for c, b in zip(codes, band, strict=True)}


@dataclass(frozen=True)
class AxisBands:
    """Wards cut along the council's long axis into bands of equal 60+ population."""

    zones: tuple[str, ...]
    """Zone names from the north end of the axis to the south."""

    @property
    def rule(self) -> str:
        count = len(self.zones)
        return (
            "Ward centroids (British National Grid easting/northing) are projected on the "
            "council's long axis (their first principal component), ordered along it, and cut "
            f"into {count} bands of equal 60+ population: a ward goes to the band in which the "
            "midpoint of its share of the cumulative 60+ population falls. Zones are named from "
            f"north to south ({', '.join(self.zones)}) and each is contiguous (checked against "
            "the ward boundaries)."
        )

    def assign(self, units: pd.DataFrame) -> dict[str, str]:
        return _axis_bands(units, self.zones)


@dataclass(frozen=True)
class WardGroups:
    """Zones listed ward by ward (e.g. a council's neighbourhoods or townships)."""

    groups: Mapping[str, tuple[str, ...]]
    """Zone -> the names of its wards."""
    basis: str
    """Why the wards are grouped so, for the published policy."""

    @property
    def zones(self) -> tuple[str, ...]:
        return tuple(self.groups)

    @property
    def rule(self) -> str:
        return f"{self.basis} Each zone is contiguous (checked against the ward boundaries)."

    def assign(self, units: pd.DataFrame) -> dict[str, str]:
        zone_of = {ward: zone for zone, names in self.groups.items() for ward in names}
        names = dict(zip(units["name"], units["code"], strict=True))
        unknown = sorted(set(zone_of) - set(names))
        missing = sorted(set(names) - set(zone_of))
        if unknown or missing:
            raise GeneratorDataError(
                f"ward groups do not match the council's wards: unknown {unknown}, "
                f"not grouped {missing}"
            )
        return {names[ward]: zone for ward, zone in zone_of.items()}


@dataclass(frozen=True)
class DistrictZones:
    """Each of the council's districts is a zone (Essex's 12 districts): a county's natural
    patches, used for small-area councils with two or more districts."""

    zones: tuple[str, ...]
    """District names, from north to south (see `of_council`)."""

    @classmethod
    def of_council(cls, lsoas: pd.DataFrame, council_code: str) -> DistrictZones:
        """The districts of a council in the England table, ordered by the 60+-weighted mean
        latitude of their small areas, north first, so the order is stable and readable."""
        areas = _council_lsoas(lsoas, council_code)
        people = areas["pop_60plus_mid2015"].astype(float)
        district = areas["lad_name"]
        latitude = (areas["lat"] * people).groupby(district).sum() / people.groupby(district).sum()
        ordered = sorted(latitude.items(), key=lambda item: (-item[1], item[0]))
        return cls(tuple(str(name) for name, _ in ordered))

    @property
    def rule(self) -> str:
        return (
            f"Each of the council's {len(self.zones)} districts is a zone ({', '.join(self.zones)}"
            ", from north to south); a small area (LSOA 2011) is in its current district, "
            "districts merged since 2019 being mapped to their successor."
        )

    def assign(self, units: pd.DataFrame) -> dict[str, str]:
        unknown = sorted(set(units["district"]) - set(self.zones))
        missing = sorted(set(self.zones) - set(units["district"]))
        if unknown or missing:
            raise GeneratorDataError(
                f"district zones do not match the council's districts: unknown {unknown}, "
                f"without small areas {missing}"
            )
        return dict(zip(units["code"].astype(str), units["district"].astype(str), strict=True))


@dataclass(frozen=True)
class LsoaAxisBands:
    """Small areas cut along the council's long axis into bands of equal 60+ population: for a
    small-area council that is a single district, so has no districts to zone by."""

    zones: tuple[str, ...]
    """Zone names from the north end of the axis to the south (see `named`)."""

    @classmethod
    def named(cls, count: int) -> LsoaAxisBands:
        """`count` bands: North, Central and South for three, else Zone 1, Zone 2, ..."""
        if count == 3:
            return cls(("North", "Central", "South"))
        return cls(tuple(f"Zone {n}" for n in range(1, count + 1)))

    @property
    def rule(self) -> str:
        return (
            "Small-area (LSOA 2011) centroids, on a local km plane, are projected on the "
            "council's long axis (their first principal component), ordered along it, and cut "
            f"into {len(self.zones)} bands of equal 60+ population: a small area goes to the band "
            "in which the midpoint of its share of the cumulative 60+ population falls. Zones are "
            f"named from north to south ({', '.join(self.zones)})."
        )

    def assign(self, units: pd.DataFrame) -> dict[str, str]:
        return _axis_bands(units, self.zones)


@dataclass(frozen=True)
class CouncilPlaces:
    """A council's live postcodes with the zone and the number of older people each stands for."""

    council: str
    """Council name: the local authority district for Rotherham and Bury, the upper-tier council
    for the small-area councils."""
    zoning: Zoning
    postcodes: pd.DataFrame
    """postcode, sector, lsoa21_code, ward25_code, zone, lat, lon, weight (60+ people), rural;
    sorted by postcode, index 0..n-1. For the small-area councils a row is a small area: postcode
    is its sector, lsoa21_code its LSOA 2011 code, ward25_code empty, lat/lon its centroid."""
    ward_zone: dict[str, str]
    """Ward name -> zone; for the small-area councils, district name -> zone for each district
    wholly in one zone (so empty for bands along the axis)."""
    sector_zone: dict[str, str]
    """Postcode sector -> zone (the policy's zone map)."""

    @property
    def zones(self) -> tuple[str, ...]:
        return self.zoning.zones

    @cached_property
    def zone_shares(self) -> dict[str, float]:
        """Each zone's share of the council's 60+ population (as sampled)."""
        weight = self.postcodes.groupby("zone")["weight"].sum()
        return {z: float(weight.get(z, 0.0) / weight.sum()) for z in self.zones}

    @cached_property
    def rural_shares(self) -> dict[str, float]:
        """Each zone's share of its 60+ population living in rural small areas."""
        frame = self.postcodes
        rural = frame[frame["rural"]].groupby("zone")["weight"].sum()
        total = frame.groupby("zone")["weight"].sum()
        return {z: float(rural.get(z, 0.0) / total[z]) for z in self.zones}

    def sample_homes(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """Row numbers of `count` postcodes, drawn with replacement in proportion to weight."""
        weight = self.postcodes["weight"].to_numpy(dtype=float)
        return rng.choice(len(weight), size=count, p=weight / weight.sum())

    def sample_office(self, rng: np.random.Generator, zones: tuple[str, ...]) -> int:
        """Row number of an office postcode in one of `zones`: offices are in built-up areas, so
        urban postcodes only (when the zones have any), weighted by the people around them."""
        frame = self.postcodes
        pool = frame["zone"].isin(zones).to_numpy()
        urban = pool & ~frame["rural"].to_numpy()
        if urban.any():
            pool = urban
        weight = np.where(pool, frame["weight"].to_numpy(dtype=float), 0.0)
        return int(rng.choice(len(weight), p=weight / weight.sum()))


def council_places(
    tables: GeographyTables, council_code: str, zoning: Zoning, params: PlaceParameters
) -> CouncilPlaces:
    """A council's live postcodes, zoned, with the weights people are sampled by."""
    wards = tables.wards[tables.wards["lad_code"] == council_code]
    if wards.empty:
        known = ", ".join(tables.council_codes())
        raise GeneratorDataError(f"no wards for council {council_code!r}; the tables hold {known}")
    wards = wards.sort_values("ward25_code").reset_index(drop=True)
    zone_of_ward = zoning.assign(_ward_units(wards))
    _check_contiguous(wards, zone_of_ward, zoning.zones)

    lsoas = tables.lsoas[tables.lsoas["lad_code"] == council_code].set_index("lsoa21_code")
    postcodes = tables.postcodes[tables.postcodes["lad_code"] == council_code].copy()
    postcodes["sector"] = postcodes["postcode"].str[:-2]
    outcode = postcodes["postcode"].str.split(" ").str[0]
    postcodes = postcodes[~outcode.isin(params.retired_outcodes)]
    postcodes = postcodes[postcodes["lsoa21_code"].isin(lsoas.index)]
    in_council = postcodes.groupby("sector")["postcode"].size()
    sector_size = tables.sectors.set_index("sector")["n_postcodes"].reindex(in_council.index)
    share = in_council / sector_size.fillna(in_council)
    own = share[share >= params.min_sector_share_in_council].index
    postcodes = postcodes[postcodes["sector"].isin(own)]
    postcodes = postcodes.sort_values("postcode").reset_index(drop=True)

    ward = postcodes["ward25_code"].where(postcodes["ward25_code"] != "")
    ward = ward.fillna(postcodes["lsoa21_code"].map(lsoas["ward25_code"]))
    postcodes["ward25_code"] = ward
    ward_zone = ward.map(zone_of_ward)
    sector_zone = {
        sector: _majority(zones, zoning.zones)
        for sector, zones in ward_zone.groupby(postcodes["sector"], sort=True)
    }
    postcodes["zone"] = postcodes["sector"].map(sector_zone)

    # LSOAs are drawn to similar populations, so one new in 2021 (no 2015 figure) is given the
    # council's median.
    older = lsoas["pop_60plus_mid2015"].fillna(lsoas["pop_60plus_mid2015"].median())
    everyone = lsoas["pop_total_mid2015"].fillna(lsoas["pop_total_mid2015"].median())
    per_lsoa = postcodes.groupby("lsoa21_code")["postcode"].transform("size")
    postcodes["weight"] = postcodes["lsoa21_code"].map(older) / per_lsoa
    density = everyone / lsoas["area_km2"]
    postcodes["rural"] = postcodes["lsoa21_code"].map(density < params.rural_people_per_km2)
    postcodes["rural"] = postcodes["rural"].astype(bool)

    columns = ["postcode", "sector", "lsoa21_code", "ward25_code", "zone", "lat", "lon"]
    frame = postcodes[[*columns, "weight", "rural"]]
    names = dict(zip(wards["ward25_code"], wards["ward25_name"], strict=True))
    return CouncilPlaces(
        council=str(wards["lad_name"].iloc[0]),
        zoning=zoning,
        postcodes=frame,
        ward_zone={names[c]: z for c, z in sorted(zone_of_ward.items())},
        sector_zone=sector_zone,
    )


def _ward_units(wards: pd.DataFrame) -> pd.DataFrame:
    """Wards as zoning units, on the British National Grid in km."""
    return pd.DataFrame(
        {
            "code": wards["ward25_code"],
            "name": wards["ward25_name"],
            "district": wards["lad_name"],
            "x_km": wards["bng_e"] / 1000,
            "y_km": wards["bng_n"] / 1000,
            "weight": wards["pop_60plus_mid2015"],
        }
    )


def _majority(zones: pd.Series, order: tuple[str, ...], weights: pd.Series | None = None) -> str:
    """The zone with the most members (or the most weight); a tie goes to the zone listed first."""
    counts = Counter(zones) if weights is None else Counter(weights.groupby(zones).sum().to_dict())
    return max(order, key=lambda z: (counts[z], -order.index(z)))


def _check_contiguous(wards: pd.DataFrame, zone_of: dict[str, str], zones: tuple[str, ...]) -> None:
    neighbours = {
        code: set(filter(None, str(cell).split(";")))
        for code, cell in zip(wards["ward25_code"], wards["neighbours"].fillna(""), strict=True)
    }
    for zone in zones:
        members = {c for c, z in zone_of.items() if z == zone}
        if not members:
            raise GeneratorDataError(f"zone {zone} has no wards")
        start = min(members)
        reached, frontier = {start}, [start]
        while frontier:
            for other in sorted((neighbours[frontier.pop()] & members) - reached):
                reached.add(other)
                frontier.append(other)
        if reached != members:
            raise GeneratorDataError(f"zone {zone} is not contiguous: {sorted(members - reached)}")


def england_councils(lsoas: pd.DataFrame) -> pd.DataFrame:
    """One row per council with adult social care duties in the England table: council_code,
    council_name, lads (its districts), pop_60plus (mid-2015); sorted by code."""
    grouped = lsoas.groupby(["council_code", "council_name"], sort=True)
    return grouped.agg(
        lads=("lad_code", "nunique"), pop_60plus=("pop_60plus_mid2015", "sum")
    ).reset_index()


def lsoa_zoning(lsoas: pd.DataFrame, council_code: str, bands: int = 3) -> Zoning:
    """The default zoning of a small-area council: its districts when it has two or more, else
    `bands` bands along its long axis, but no more bands than it has postcode sectors (the Isles
    of Scilly, one small area, is one zone), since a zone is published as a list of sectors."""
    areas = _council_lsoas(lsoas, council_code)
    if areas["lad_code"].nunique() >= 2:
        return DistrictZones.of_council(lsoas, council_code)
    return LsoaAxisBands.named(min(bands, areas["sector"].nunique()))


def lsoa_council_places(
    lsoas: pd.DataFrame, council_code: str, zoning: Zoning, params: PlaceParameters
) -> CouncilPlaces:
    """A council's small areas with 60+ people, zoned, from the England table: for councils whose
    full postcodes we do not ship. Each is placed at its centroid (more precise than its sector)
    and published by its sector, whose zone is that of most of the sector's 60+ people."""
    areas = _council_lsoas(lsoas, council_code)
    areas = areas[areas["pop_60plus_mid2015"] > 0].sort_values("lsoa11_code")
    areas = areas.reset_index(drop=True)
    zone_of_area = areas["lsoa11_code"].map(zoning.assign(_lsoa_units(areas)))
    people = areas["pop_60plus_mid2015"].astype(float)
    sector_zone = {
        str(sector): _majority(zones, zoning.zones, people[zones.index])
        for sector, zones in zone_of_area.groupby(areas["sector"], sort=True)
    }
    frame = pd.DataFrame(
        {
            "postcode": areas["sector"],
            "sector": areas["sector"],
            "lsoa21_code": areas["lsoa11_code"],
            "ward25_code": "",
            "zone": areas["sector"].map(sector_zone),
            "lat": areas["lat"].astype(float),
            "lon": areas["lon"].astype(float),
            "weight": people,
            "rural": (areas["pop_total_mid2015"] / areas["area_km2"]) < params.rural_people_per_km2,
        }
    )
    frame = frame.sort_values(["postcode", "lsoa21_code"]).reset_index(drop=True)
    empty = [zone for zone in zoning.zones if zone not in set(frame["zone"])]
    if empty:
        raise GeneratorDataError(
            f"zones {empty} of council {council_code!r} hold no postcode sector (each sector "
            "goes to the zone of most of its 60+ people); use fewer zones"
        )
    return CouncilPlaces(
        council=str(areas["council_name"].iloc[0]),
        zoning=zoning,
        postcodes=frame,
        ward_zone=_district_zones(areas["lad_name"], zone_of_area),
        sector_zone=sector_zone,
    )


def _council_lsoas(lsoas: pd.DataFrame, council_code: str) -> pd.DataFrame:
    areas = lsoas[lsoas["council_code"] == council_code]
    if areas.empty:
        raise GeneratorDataError(
            f"no small areas for council {council_code!r} in the England table; list the valid "
            "codes with england_councils(load_england_lsoas())"
        )
    return areas


def _lsoa_units(areas: pd.DataFrame) -> pd.DataFrame:
    """Small areas as zoning units, on a local plane in km (equirectangular about the council's
    mean latitude: ample over a county)."""
    lat0 = math.radians(areas["lat"].mean())
    lon0 = math.radians(areas["lon"].mean())
    return pd.DataFrame(
        {
            "code": areas["lsoa11_code"],
            "name": areas["lsoa11_code"],
            "district": areas["lad_name"],
            "x_km": EARTH_RADIUS_KM * (np.radians(areas["lon"]) - lon0) * math.cos(lat0),
            "y_km": EARTH_RADIUS_KM * (np.radians(areas["lat"]) - lat0),
            "weight": areas["pop_60plus_mid2015"],
        }
    )


def _district_zones(district: pd.Series, zone: pd.Series) -> dict[str, str]:
    """District -> zone, for each district whose small areas are all in one zone."""
    zones = zone.groupby(district).unique()
    return {str(d): str(z[0]) for d, z in sorted(zones.items()) if len(z) == 1}
