"""Load the shipped postcode tables (`data/geo/*.csv.gz`) into a `PostcodeIndex`.

The tables are built by `data/geo/build_postcode_tables.py` and committed, so lookups work
offline. They are read once per process and cached.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

from allocator.geography import PostcodeIndex

DATA_DIR_ENV = "ALLOCATOR_DATA_DIR"
"""Environment variable naming the data folder (the one holding `geo/`), e.g. for an installed
package that does not sit inside the repository."""

TABLES = {
    "postcode": "postcodes.csv.gz",
    "sector": "sectors.csv.gz",
    "district": "districts.csv.gz",
}


def default_data_dir() -> Path:
    """`$ALLOCATOR_DATA_DIR` if set, else the repository's `data/` folder."""
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    return Path(__file__).resolve().parents[2] / "data"


def load_postcode_index(data_dir: Path | None = None) -> PostcodeIndex:
    """The postcode index from `<data_dir>/geo/`; `data_dir` defaults to `default_data_dir()`.

    Raises FileNotFoundError naming the missing table and how to build it.
    """
    return _load(Path(data_dir).resolve() if data_dir is not None else default_data_dir())


def clear_postcode_index_cache() -> None:
    """Forget loaded indexes (for tests, or after rebuilding the tables in a running process)."""
    _load.cache_clear()


@lru_cache(maxsize=4)
def _load(data_dir: Path) -> PostcodeIndex:
    frames = {}
    for key, name in TABLES.items():
        path = data_dir / "geo" / name
        if not path.is_file():
            raise FileNotFoundError(
                f"postcode table {path} not found; build it with "
                f"`python data/geo/build_postcode_tables.py` from the repository root, "
                f"or set {DATA_DIR_ENV} to the folder that holds geo/"
            )
        frames[key] = pd.read_csv(
            path,
            dtype={key: str, "lat": "float64", "lon": "float64"},
            keep_default_na=False,
        )
    return PostcodeIndex.from_frames(frames["postcode"], frames["sector"], frames["district"])
