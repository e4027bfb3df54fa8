"""Load the scenario generator's geography tables (`data/geo/generator_*.csv.gz`).

The tables are built by `data/geo/build_generator_tables.py` (Rotherham and Bury, postcode by
postcode) and `data/geo/build_england_table.py` (every English small area) and committed, so
generation works offline. They are read once per process and cached.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from allocator.generator.places import GeographyTables
from allocator.io.geo_tables import DATA_DIR_ENV, default_data_dir

TABLES = {
    "postcodes": "generator_postcodes.csv.gz",
    "lsoas": "generator_lsoas.csv.gz",
    "wards": "generator_wards.csv.gz",
    "sectors": "generator_sectors.csv.gz",
}
ENGLAND_TABLE = "generator_england_lsoas.csv.gz"
_TEXT_COLUMNS = (
    "postcode",
    "sector",
    "lad_code",
    "lad_name",
    "lsoa21_code",
    "lsoa21_name",
    "ward25_code",
    "ward25_name",
    "neighbours",
    "lsoa11_code",
    "council_code",
    "council_name",
)


def load_generator_tables(data_dir: Path | None = None) -> GeographyTables:
    """The generator's tables from `<data_dir>/geo/`; `data_dir` defaults to `default_data_dir()`.

    Raises FileNotFoundError naming the missing table and how to build it.
    """
    return _load(Path(data_dir).resolve() if data_dir is not None else default_data_dir())


@lru_cache(maxsize=4)
def _load(data_dir: Path) -> GeographyTables:
    frames = {
        key: _read(data_dir / "geo" / name, "build_generator_tables.py")
        for key, name in TABLES.items()
    }
    return GeographyTables(**frames)


def load_england_lsoas(data_dir: Path | None = None) -> pd.DataFrame:
    """Every English small area (LSOA 2011) with its district, council, nearest postcode sector,
    centroid, mid-2015 population and estimated area, from `<data_dir>/geo/`.

    Raises FileNotFoundError naming the missing table and how to build it.
    """
    return _load_england(Path(data_dir).resolve() if data_dir is not None else default_data_dir())


@lru_cache(maxsize=4)
def _load_england(data_dir: Path) -> pd.DataFrame:
    return _read(data_dir / "geo" / ENGLAND_TABLE, "build_england_table.py")


def _read(path: Path, builder: str) -> pd.DataFrame:
    """A table with its text columns as strings (empty, never NaN) and its numbers parsed."""
    if not path.is_file():
        raise FileNotFoundError(
            f"generator table {path} not found; build it with `python data/geo/{builder}` "
            f"from the repository root, or set {DATA_DIR_ENV} to the folder that holds geo/"
        )
    frame = pd.read_csv(path, dtype={c: str for c in _TEXT_COLUMNS})
    for column in set(_TEXT_COLUMNS) & set(frame.columns):
        frame[column] = frame[column].fillna("")
    return frame
