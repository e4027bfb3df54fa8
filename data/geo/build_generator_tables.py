"""Build the tables the scenario generator (`allocator.generator`) samples from.

The generator places care packages at real postcodes, weighted by the 60+ population of their
small area, and draws zones from real wards. It must not read the shared open-data folder at run
time, so this script cuts what it needs into small gzip CSVs committed next to it:

- ``generator_postcodes.csv.gz``: ``postcode,lad_code,lsoa21_code,ward25_code,lat,lon``: every
  postcode of Rotherham and Bury with its small area (LSOA 2021) and ward (2025); ``ward25_code``
  is empty for the few postcodes the source gives none.
- ``generator_lsoas.csv.gz``: ``lsoa21_code,lsoa21_name,lad_code,ward25_code,lat,lon,
  pop_total_mid2015,pop_60plus_mid2015,area_km2``: the small areas of both councils with their
  majority ward, mid-2015 population (IoD2019 denominators; empty for the few LSOAs new in 2021)
  and area (from the generalised boundaries).
- ``generator_wards.csv.gz``: ``ward25_code,ward25_name,lad_code,lad_name,lat,lon,bng_e,bng_n,
  pop_total_mid2015,pop_60plus_mid2015,neighbours``: the wards of both councils; ``neighbours``
  lists the wards sharing a boundary edge (two or more boundary vertices), ``;``-separated.
- ``generator_sectors.csv.gz``: ``sector,n_postcodes``: how many postcodes each postcode sector
  touching the two councils has in all (inside and outside them), so fringe sectors can be told
  from the councils' own.

Usage, from the repository root::

    python data/geo/build_generator_tables.py [--shared PATH] [--out DIR]

Same defaults and guarantees as ``build_postcode_tables.py``: sorted rows, fixed number formats,
and no time stamp or file name in the gzip header, so a rebuild from the same input is
byte-for-byte unchanged. Only the standard library is used.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from table_files import read_rows, run, write_gzip_csv

COUNCILS = {"E08000018": "rotherham", "E08000002": "bury"}
"""Council code -> the name used in the shared boundary file names."""
EARTH_RADIUS_KM = 6371.0088
ADJACENT_SHARED_VERTICES = 2
"""Two wards are neighbours when their (generalised) boundaries share at least two vertices, i.e.
an edge, not just a corner."""


def _degrees(value: str) -> str:
    return f"{float(value):.5f}"


def _count(value: str) -> str:
    """Whole people; empty stays empty (no figure for that area)."""
    return "" if value.strip() == "" else str(round(float(value)))


def _polygons(geometry: dict) -> list:
    coordinates = geometry["coordinates"]
    return [coordinates] if geometry["type"] == "Polygon" else coordinates


def _features(shared: Path, kind: str) -> list[dict]:
    features = []
    for code, name in sorted(COUNCILS.items()):
        path = shared / "boundaries" / f"{kind}_{name}_{code}.geojson"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found")
        features += json.loads(path.read_text(encoding="utf-8"))["features"]
    return features


def _ring_area_km2(ring: list[list[float]]) -> float:
    """Shoelace area on a local equirectangular projection (ample for areas of a few km)."""
    lat0 = math.radians(sum(y for _, y in ring) / len(ring))
    xs = [math.radians(x) * EARTH_RADIUS_KM * math.cos(lat0) for x, _ in ring]
    ys = [math.radians(y) * EARTH_RADIUS_KM for _, y in ring]
    n = len(ring)
    return abs(sum(xs[i] * ys[i - 1] - ys[i] * xs[i - 1] for i in range(n))) / 2


def lsoa_areas(shared: Path) -> dict[str, float]:
    areas = {}
    for feature in _features(shared, "lsoa21"):
        area = 0.0
        for polygon in _polygons(feature["geometry"]):
            outer, *holes = polygon
            area += _ring_area_km2(outer) - sum(_ring_area_km2(hole) for hole in holes)
        areas[feature["properties"]["LSOA21CD"]] = area
    return areas


def ward_neighbours(shared: Path) -> dict[str, list[str]]:
    vertices = {}
    for feature in _features(shared, "ward25"):
        vertices[feature["properties"]["WD25CD"]] = {
            (round(x, 5), round(y, 5))
            for polygon in _polygons(feature["geometry"])
            for ring in polygon
            for x, y in ring
        }
    return {
        ward: sorted(
            other
            for other in vertices
            if other != ward and len(mine & vertices[other]) >= ADJACENT_SHARED_VERTICES
        )
        for ward, mine in vertices.items()
    }


def build(shared: Path, out: Path) -> list[tuple[Path, int]]:
    out.mkdir(parents=True, exist_ok=True)
    written = []

    postcodes = [
        r for r in read_rows(shared / "postcodes_rotherham_bury.csv") if r["lad_code"] in COUNCILS
    ]
    target = out / "generator_postcodes.csv.gz"
    rows = [
        [
            r["postcode"],
            r["lad_code"],
            r["lsoa21_code"],
            r["ward25_code"],
            _degrees(r["lat"]),
            _degrees(r["long"]),
        ]
        for r in postcodes
    ]
    header = ["postcode", "lad_code", "lsoa21_code", "ward25_code", "lat", "lon"]
    written.append((target, write_gzip_csv(target, header, rows)))

    areas = lsoa_areas(shared)
    lsoas = [
        r for r in read_rows(shared / "lsoa21_rotherham_bury.csv") if r["lad_code"] in COUNCILS
    ]
    missing = sorted({r["lsoa21_code"] for r in lsoas} - set(areas))
    if missing:
        raise ValueError(f"no boundary for LSOAs {', '.join(missing)}")
    target = out / "generator_lsoas.csv.gz"
    rows = [
        [
            r["lsoa21_code"],
            r["lsoa21_name"],
            r["lad_code"],
            r["ward25_code_majority"],
            _degrees(r["lat"]),
            _degrees(r["long"]),
            _count(r["pop_total_mid2015_iod2019"]),
            _count(r["pop_60plus_mid2015_iod2019"]),
            f"{areas[r['lsoa21_code']]:.4f}",
        ]
        for r in lsoas
    ]
    header = [
        "lsoa21_code",
        "lsoa21_name",
        "lad_code",
        "ward25_code",
        "lat",
        "lon",
        "pop_total_mid2015",
        "pop_60plus_mid2015",
        "area_km2",
    ]
    written.append((target, write_gzip_csv(target, header, rows)))

    neighbours = ward_neighbours(shared)
    wards = [
        r for r in read_rows(shared / "wards25_rotherham_bury.csv") if r["lad_code"] in COUNCILS
    ]
    target = out / "generator_wards.csv.gz"
    rows = [
        [
            r["ward25_code"],
            r["ward25_name"],
            r["lad_code"],
            r["lad_name"],
            _degrees(r["lat"]),
            _degrees(r["long"]),
            str(round(float(r["bng_e"]))),
            str(round(float(r["bng_n"]))),
            _count(r["pop_total_mid2015_approx"]),
            _count(r["pop_60plus_mid2015_approx"]),
            ";".join(neighbours[r["ward25_code"]]),
        ]
        for r in wards
    ]
    header = [
        "ward25_code",
        "ward25_name",
        "lad_code",
        "lad_name",
        "lat",
        "lon",
        "bng_e",
        "bng_n",
        "pop_total_mid2015",
        "pop_60plus_mid2015",
        "neighbours",
    ]
    written.append((target, write_gzip_csv(target, header, rows)))

    touched = {r["sector"] for r in postcodes}
    sectors = read_rows(shared / "uk_sector_centroids.csv")
    target = out / "generator_sectors.csv.gz"
    rows = [[r["sector"], r["n_postcodes"]] for r in sectors if r["sector"] in touched]
    written.append((target, write_gzip_csv(target, ["sector", "n_postcodes"], rows)))
    return written


def main(argv: list[str] | None = None) -> int:
    return run(__doc__.splitlines()[0], build, argv)


if __name__ == "__main__":
    sys.exit(main())
