"""Build the offline postcode tables the allocator ships with.

The machines that build, test and run the allocator cannot reach a geocoding service, so
`allocator.geography.PostcodeIndex` works from three small tables committed next to this script:

- ``postcodes.csv.gz``: ``postcode,lat,lon``, full postcodes of Rotherham and Bury (``S66 2AB``)
- ``sectors.csv.gz``: ``sector,lat,lon``, every UK postcode sector centroid (``S66 2``)
- ``districts.csv.gz``: ``district,lat,lon``, every UK postcode district centroid (``S66``)

They are cut from the shared open-data folder (see its README for sources and licences):
``postcodes_rotherham_bury.csv``, ``uk_sector_centroids.csv`` and ``uk_outcode_centroids.csv``.

Usage, from the repository root::

    python data/geo/build_postcode_tables.py [--shared PATH] [--out DIR]

``--shared`` defaults to ``../shared/data/geo`` beside the repository and ``--out`` to this
script's folder. Keys are normalised the way ``allocator.model.normalise_postcode`` does (upper
case, one space before the inward code); keys that cannot be a UK postcode prefix (such as the
retired ``NPT`` district) are dropped, since no normalised postcode could ever look them up.
Coordinates are rounded to 5 decimals (about a metre), rows are sorted by key and the gzip header
carries no time stamp or file name, so re-running on the same input gives byte-identical files.

Only the standard library is used, so the script runs without installing the project.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

from table_files import run, write_gzip_csv

# Same shapes as allocator.model's postcode pattern, split into its prefixes.
_DISTRICT = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
_SECTOR = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9]$")
_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$")

Row = tuple[str, float, float]


def _normalise(key: str, inward_length: int) -> str:
    """Upper case, with one space before the last `inward_length` characters (none if 0)."""
    compact = re.sub(r"\s+", "", key).upper()
    if inward_length == 0:
        return compact
    return f"{compact[:-inward_length]} {compact[-inward_length:]}"


def read_table(
    path: Path, key_column: str, inward_length: int, pattern: re.Pattern[str]
) -> tuple[list[Row], int]:
    """Read `key_column`, `lat` and `long` from a shared CSV; return sorted rows and drop count."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (pass --shared to point at the geo folder)")
    rows: dict[str, tuple[float, float]] = {}
    dropped = 0
    with path.open(newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            key = _normalise(record[key_column], inward_length)
            if not pattern.match(key):
                dropped += 1
                continue
            lat, lon = round(float(record["lat"]), 5), round(float(record["long"]), 5)
            if key in rows and rows[key] != (lat, lon):
                raise ValueError(f"{path.name}: {key} appears twice with different coordinates")
            rows[key] = (lat, lon)
    return [(key, lat, lon) for key, (lat, lon) in sorted(rows.items())], dropped


TABLES: tuple[tuple[str, str, str, str, int, re.Pattern[str]], ...] = (
    # (output, output key column, shared source, source key column, inward length, pattern)
    ("postcodes.csv.gz", "postcode", "postcodes_rotherham_bury.csv", "postcode", 3, _POSTCODE),
    ("sectors.csv.gz", "sector", "uk_sector_centroids.csv", "sector", 1, _SECTOR),
    ("districts.csv.gz", "district", "uk_outcode_centroids.csv", "outcode", 0, _DISTRICT),
)


def build(shared: Path, out: Path) -> list[tuple[Path, int]]:
    """Build every table; return (output path, rows written) for each, and say what was dropped."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, key_column, source_file, source_column, inward_length, pattern in TABLES:
        rows, dropped = read_table(shared / source_file, source_column, inward_length, pattern)
        target = out / name
        count = write_gzip_csv(
            target,
            [key_column, "lat", "lon"],
            ([key, f"{lat:.5f}", f"{lon:.5f}"] for key, lat, lon in rows),
        )
        if dropped:
            print(f"{name}: {dropped} rows dropped (not a UK postcode prefix)")
        written.append((target, count))
    return written


def main(argv: list[str] | None = None) -> int:
    return run(__doc__.splitlines()[0], build, argv)


if __name__ == "__main__":
    sys.exit(main())
