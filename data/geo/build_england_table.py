"""Build the England small-area table the scenario generator zones any English council from.

The shared open data has full postcodes for Rotherham and Bury only. For every other council the
generator works from small areas (LSOA 2011) instead, so this script cuts one table,
``generator_england_lsoas.csv.gz``, committed next to it, with one row per English LSOA 2011:

``lsoa11_code,lad_code,lad_name,council_code,council_name,sector,lat,lon,pop_total_mid2015,
pop_60plus_mid2015,area_km2``

- ``lat,lon``, ``pop_total_mid2015``, ``pop_60plus_mid2015``: the LSOA's centroid and mid-2015
  population (IoD2019 denominators), from ``england_lsoa11_population_60plus_iod2019.csv``.
- ``lad_code,lad_name``: its district today. The source gives the 2019 district; a district since
  merged or recoded (e.g. the Buckinghamshire, Cumbria, Northamptonshire, North Yorkshire and
  Somerset reorganisations, or Barnsley's and Sheffield's new codes) is mapped to its successor,
  ``LADCD_ACTIVE``/``LADNM_ACTIVE`` in ``la_all_codes.csv``. A 2019 code missing there is an error.
- ``council_code,council_name``: the upper-tier authority (``UTLACD``/``UTLANM`` of the current
  district): the council with adult social care duties (county, unitary, metropolitan or London
  borough).
- ``sector``: the postcode sector (``uk_sector_centroids.csv``, with postcodes, in the form
  ``allocator.model.normalise_postcode`` gives) whose centroid is nearest the LSOA's centroid,
  great-circle.
- ``area_km2``: an approximation, since no LSOA 2011 boundaries are shipped: pi * r^2 / k, with r
  the great-circle distance to the k-th nearest other LSOA centroid of the same council
  (``K_NEAREST``), i.e. the area per LSOA of the disc holding its k nearest neighbours. Councils
  with no more than k LSOAs (the Isles of Scilly) measure against all of England instead. Against
  the real LSOA 2021 boundaries of Rotherham and Bury the estimate's median is about 1.4 times the
  real area, with a typical spread of a factor of 1.8 either way; with a threshold of 1,000 people
  per km2 it classes 29 % of Rotherham's 60+ population as rural (26 % from the boundaries) and
  12 % of Bury's (13 %).

Usage, from the repository root::

    python data/geo/build_england_table.py [--shared PATH] [--out DIR]

Same defaults and guarantees as ``build_generator_tables.py``: sorted rows, fixed number formats,
and no time stamp or file name in the gzip header, so a rebuild from the same input is
byte-for-byte unchanged. Only the standard library and numpy are used; the nearest-sector search
runs in chunks of ``CHUNK_ROWS`` LSOAs to stay well under 1 GB of memory.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from table_files import read_rows, run, write_gzip_csv

TABLE = "generator_england_lsoas.csv.gz"
EARTH_RADIUS_KM = 6371.0088
K_NEAREST = 4
"""Neighbours counted for the area estimate: on Rotherham and Bury, 3 to 5 give the rural shares
closest to those from real boundaries, and more neighbours blur towns into their countryside."""
CHUNK_ROWS = 2048
"""LSOAs compared with every sector at once: 2048 x 12,259 float64 distances are about 200 MB."""
_SECTOR = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9]$")
"""A sector the allocator can look up (drops the retired ``NPT`` district's)."""
HEADER = [
    "lsoa11_code",
    "lad_code",
    "lad_name",
    "council_code",
    "council_name",
    "sector",
    "lat",
    "lon",
    "pop_total_mid2015",
    "pop_60plus_mid2015",
    "area_km2",
]


def current_districts(shared: Path) -> dict[str, tuple[str, str, str, str]]:
    """Any district code (2019 or later) -> current district code and name, council code and
    name."""
    rows = {r["LADCD"]: r for r in read_rows(shared / "la_all_codes.csv")}
    result = {}
    for code, row in rows.items():
        active = rows.get(row["LADCD_ACTIVE"], row)
        result[code] = (
            active["LADCD"],
            active["LADNM"],
            active["UTLACD"],
            active["UTLANM"],
        )
    return result


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the unit sphere: the larger the dot product, the shorter the great circle."""
    phi, lam = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=1)


def great_circle_km(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Great-circle km between paired unit vectors (rows of `a` and `b`), from the chord."""
    chord = np.linalg.norm(a - b, axis=1)
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))


def closest_by_chunk(
    points: np.ndarray, pool: np.ndarray, pick: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """`pick` applied to the dot products of each chunk of `CHUNK_ROWS` points with the whole
    pool (rows: points, columns: pool), so memory stays bounded whatever the pool's size."""
    chunks = range(0, len(points), CHUNK_ROWS)
    return np.concatenate([pick(points[s : s + CHUNK_ROWS] @ pool.T) for s in chunks])


def nearest(points: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """Row in `pool` of the nearest point to each of `points`."""
    return closest_by_chunk(points, pool, lambda closeness: np.argmax(closeness, axis=1))


def kth_neighbour(points: np.ndarray, pool: np.ndarray, k: int) -> np.ndarray:
    """Row in `pool` of the k-th nearest point to each of `points` other than itself (each point
    is in the pool, where it is its own nearest)."""
    return closest_by_chunk(
        points, pool, lambda closeness: np.argpartition(-closeness, k, axis=1)[:, k]
    )


def estimated_areas_km2(points: np.ndarray, councils: list[str]) -> np.ndarray:
    """pi * r^2 / k per LSOA, r the distance to its k-th nearest other LSOA of its council."""
    areas = np.empty(len(points))
    members: dict[str, list[int]] = {}
    for row, council in enumerate(councils):
        members.setdefault(council, []).append(row)
    for rows in members.values():
        own = np.array(rows)
        pool = own if len(own) > K_NEAREST else np.arange(len(points))
        other = pool[kth_neighbour(points[own], points[pool], K_NEAREST)]
        radius = great_circle_km(points[own], points[other])
        areas[own] = np.pi * radius**2 / K_NEAREST
    return areas


def sectors_with_postcodes(shared: Path) -> tuple[list[str], np.ndarray]:
    """Sector keys (sorted) and their unit vectors."""
    rows = sorted(
        (r["sector"], float(r["lat"]), float(r["long"]))
        for r in read_rows(shared / "uk_sector_centroids.csv")
        if int(r["n_postcodes"]) > 0 and _SECTOR.match(r["sector"])
    )
    keys = [key for key, _, _ in rows]
    return keys, unit_vectors(np.array([r[1] for r in rows]), np.array([r[2] for r in rows]))


def build(shared: Path, out: Path) -> list[tuple[Path, int]]:
    out.mkdir(parents=True, exist_ok=True)
    lsoas = read_rows(shared / "england_lsoa11_population_60plus_iod2019.csv")
    districts = current_districts(shared)
    unknown = sorted({r["lad19_code"] for r in lsoas} - set(districts))
    if unknown:
        raise ValueError(f"districts missing from la_all_codes.csv: {', '.join(unknown)}")
    place = [districts[r["lad19_code"]] for r in lsoas]

    points = unit_vectors(
        np.array([float(r["lat"]) for r in lsoas]), np.array([float(r["long"]) for r in lsoas])
    )
    sector_keys, sector_points = sectors_with_postcodes(shared)
    sector_of = nearest(points, sector_points)
    areas = estimated_areas_km2(points, [council for _, _, council, _ in place])

    rows = [
        [
            r["lsoa11_code"],
            *district,
            sector_keys[sector],
            f"{float(r['lat']):.5f}",
            f"{float(r['long']):.5f}",
            str(int(r["pop_total_mid2015"])),
            str(int(r["pop_60plus_mid2015"])),
            f"{area:.4f}",
        ]
        for r, district, sector, area in zip(lsoas, place, sector_of, areas, strict=True)
    ]
    target = out / TABLE
    return [(target, write_gzip_csv(target, HEADER, rows))]


def main(argv: list[str] | None = None) -> int:
    return run(__doc__.splitlines()[0], build, argv)


if __name__ == "__main__":
    sys.exit(main())
