"""Offline geography: postcode lookup with sector/district fallback, distances, shipped tables."""

from __future__ import annotations

import gzip
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocator.geography import (
    EARTH_RADIUS_KM,
    Location,
    PostcodeIndex,
    distance_matrix_km,
    geodesic_km,
    great_circle_km,
)
from allocator.io.geo_tables import (
    DATA_DIR_ENV,
    clear_postcode_index_cache,
    load_postcode_index,
)
from allocator.model import normalise_postcode

REPO_ROOT = Path(__file__).resolve().parents[1]
GEO_DIR = REPO_ROOT / "data" / "geo"
BUILD_SCRIPT = GEO_DIR / "build_postcode_tables.py"
SHARED_GEO = REPO_ROOT.parent / "shared" / "data" / "geo"
TABLE_NAMES = ("postcodes.csv.gz", "sectors.csv.gz", "districts.csv.gz")


@pytest.fixture(scope="module")
def index() -> PostcodeIndex:
    return load_postcode_index()


# --- lookup against the shipped tables (values from the ONS postcode lookup) -----------------


@pytest.mark.parametrize(
    ("postcode", "lat", "lon"),
    [("S66 2AA", 53.41978, -1.30038), ("BL9 0AA", 53.59281, -2.2965)],
)
def test_full_postcode_hit(index: PostcodeIndex, postcode: str, lat: float, lon: float) -> None:
    assert index.locate(postcode) == Location(lat, lon, "postcode")


def test_invented_unit_in_real_sector_falls_back_to_sector_centroid(index: PostcodeIndex) -> None:
    # S66 2ZZ does not exist; sector S66 2 (Wickersley, Rotherham) does.
    assert index.locate("S66 2ZZ") == Location(53.42555, -1.28094, "sector")
    # Sectors are UK-wide even though full postcodes are only Rotherham and Bury.
    assert index.locate("SW1A 1AA") == Location(51.5026, -0.13906, "sector")


def test_unknown_sector_falls_back_to_district_centroid(index: PostcodeIndex) -> None:
    # There is no sector S66 4, but district S66 exists.
    assert index.locate("S66 4AA") == Location(53.42132, -1.25136, "district")


def test_sector_is_placed_at_its_sector_centroid(index: PostcodeIndex) -> None:
    # Councils that share only the sector write it with its space: CM1 1 is in Chelmsford.
    assert index.locate("CM1 1") == Location(51.73709, 0.47302, "sector")
    assert index.locate(" cm1  1 ") == index.locate("CM1 1")
    assert index.locate("S66 2") == index.locate("S66 2ZZ")


def test_unknown_sector_given_alone_falls_back_to_district_centroid(index: PostcodeIndex) -> None:
    assert index.locate("S66 4") == Location(53.42132, -1.25136, "district")
    assert index.locate("ZZ9 9") is None


@pytest.mark.parametrize("postcode", ["ZZ9 9ZZ", "", "S6", "S66", "CM11", "S66 A"])
def test_unknown_district_or_nonsense_is_none(index: PostcodeIndex, postcode: str) -> None:
    assert index.locate(postcode) is None


def test_locate_accepts_unspaced_lower_case(index: PostcodeIndex) -> None:
    assert index.locate("s662aa") == index.locate("S66 2AA")


def test_locate_many_keeps_order_and_duplicates(index: PostcodeIndex) -> None:
    postcodes = ["S66 2ZZ", "ZZ9 9ZZ", "S66 2AA", "S66 2ZZ", "S66 4AA"]
    found = index.locate_many(postcodes)
    assert found == [index.locate(p) for p in postcodes]
    assert [loc.precision if loc else None for loc in found] == [
        "sector",
        None,
        "postcode",
        "sector",
        "district",
    ]


def test_full_postcode_beats_sector_beats_district() -> None:
    index = PostcodeIndex.from_frames(
        pd.DataFrame({"postcode": ["S66 2AB"], "lat": [53.1], "lon": [-1.1]}),
        pd.DataFrame({"sector": ["S66 2"], "lat": [53.2], "lon": [-1.2]}),
        pd.DataFrame({"district": ["S66"], "lat": [53.3], "lon": [-1.3]}),
    )
    assert index.locate("S66 2AB") == Location(53.1, -1.1, "postcode")
    assert index.locate("S66 2AD") == Location(53.2, -1.2, "sector")
    assert index.locate("S66 3AB") == Location(53.3, -1.3, "district")
    assert index.locate("S66 2") == Location(53.2, -1.2, "sector")
    assert index.locate("S66 3") == Location(53.3, -1.3, "district")
    assert len(index) == 1


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("s662ab", "S66 2AB"),
        (" S66  2AB ", "S66 2AB"),
        ("CM1 1", "CM1 1"),
        ("cm1   1", "CM1 1"),
        (" sw1a 1 ", "SW1A 1"),
    ],
)
def test_normalise_postcode_accepts_full_postcodes_and_spaced_sectors(
    given: str, normalised: str
) -> None:
    assert normalise_postcode(given) == normalised


@pytest.mark.parametrize("given", ["CM11", "CM1", "CM1 12", "CM1 A", "1 1", "", "S66 2A"])
def test_normalise_postcode_rejects_what_is_neither(given: str) -> None:
    # "CM11" unspaced would be a district, not the sector CM1 1.
    with pytest.raises(ValueError, match=f"^{re.escape(repr(given))} is not a UK postcode$"):
        normalise_postcode(given)


def test_from_frames_rejects_missing_columns() -> None:
    good = pd.DataFrame({"sector": ["S66 2"], "lat": [53.2], "lon": [-1.2]})
    districts = pd.DataFrame({"district": ["S66"], "lat": [53.3], "lon": [-1.3]})
    with pytest.raises(ValueError, match="postcode table lacks column"):
        PostcodeIndex.from_frames(pd.DataFrame({"postcode": ["S66 2AB"]}), good, districts)


def test_shipped_keys_are_in_normalised_form() -> None:
    """A key that normalise_postcode would spell differently could never be found."""
    for name, column, suffix in [
        ("postcodes.csv.gz", "postcode", ""),
        ("sectors.csv.gz", "sector", "AA"),
        ("districts.csv.gz", "district", " 1AA"),
    ]:
        keys = pd.read_csv(GEO_DIR / name, dtype=str, keep_default_na=False)[column]
        assert len(keys) > 3000 and keys.is_unique and keys.is_monotonic_increasing
        bad = [k for k in keys if normalise_postcode(k + suffix) != k + suffix]
        assert bad == [], f"{name}: {bad[:5]}"


def test_shipped_tables_are_small() -> None:
    assert sum((GEO_DIR / name).stat().st_size for name in TABLE_NAMES) < 2_000_000


# --- loading ---------------------------------------------------------------------------------


def test_index_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    first = load_postcode_index()
    assert load_postcode_index() is first
    assert load_postcode_index(REPO_ROOT / "data") is first
    assert len(first) == 18_299


def test_missing_tables_name_the_path_and_the_build_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    clear_postcode_index_cache()
    try:
        with pytest.raises(FileNotFoundError) as raised:
            load_postcode_index()
    finally:
        clear_postcode_index_cache()
    message = str(raised.value)
    assert str(tmp_path / "geo" / "postcodes.csv.gz") in message
    assert "build_postcode_tables.py" in message


# --- distances -------------------------------------------------------------------------------


def test_great_circle_known_values() -> None:
    assert great_circle_km(53.4, -1.3, 53.4, -1.3) == 0.0
    assert isinstance(great_circle_km(53.4, -1.3, 53.4, -1.3), float)
    one_degree = EARTH_RADIUS_KM * math.pi / 180
    assert one_degree == pytest.approx(111.19508, abs=1e-5)  # mean radius 6371.0088 km
    assert great_circle_km(0.0, 0.0, 1.0, 0.0) == pytest.approx(one_degree, rel=1e-12)
    assert great_circle_km(0.0, 0.0, 0.0, 1.0) == pytest.approx(one_degree, rel=1e-12)
    assert great_circle_km(52.0, 0.0, 53.0, 0.0) == pytest.approx(one_degree, rel=1e-12)
    assert great_circle_km(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * EARTH_RADIUS_KM)


def test_great_circle_agrees_with_geodesic_across_england() -> None:
    rng = np.random.default_rng(20260)
    n = 300
    lat1, lat2 = rng.uniform(50.0, 55.8, n), rng.uniform(50.0, 55.8, n)
    lon1, lon2 = rng.uniform(-5.7, 1.7, n), rng.uniform(-5.7, 1.7, n)
    fast = great_circle_km(lat1, lon1, lat2, lon2)
    assert isinstance(fast, np.ndarray) and fast.shape == (n,)
    exact = np.array(
        [geodesic_km((a, b), (c, d)) for a, b, c, d in zip(lat1, lon1, lat2, lon2, strict=True)]
    )
    assert exact.min() > 1.0
    assert np.max(np.abs(fast - exact) / exact) < 0.005


def test_great_circle_broadcasts_a_point_against_many() -> None:
    lats, lons = np.array([53.42, 53.59, 51.5]), np.array([-1.30, -2.30, -0.14])
    many = great_circle_km(53.42, -1.30, lats, lons)
    assert isinstance(many, np.ndarray)
    assert many.shape == (3,)
    assert many[0] == pytest.approx(0.0, abs=1e-9)
    assert many[1] == pytest.approx(great_circle_km(53.42, -1.30, 53.59, -2.30))
    # Rotherham to central London is about 220 km as the crow flies.
    assert 210 < many[2] < 230


def test_geodesic_km_single_pair() -> None:
    assert geodesic_km((53.42, -1.30), (53.42, -1.30)) == 0.0
    # One degree of latitude near 52-53N on WGS-84 is 111.27 km, longer than the sphere's 111.195.
    assert geodesic_km((52.0, 0.0), (53.0, 0.0)) == pytest.approx(111.27, abs=0.02)


def test_distance_matrix_shape_and_values() -> None:
    lat_a, lon_a = [53.41978, 53.59281, 51.5026], [-1.30038, -2.2965, -0.13906]
    lat_b, lon_b = [53.42555, 53.42132, 54.0, 50.5], [-1.28094, -1.25136, -2.0, -4.0]
    matrix = distance_matrix_km(lat_a, lon_a, lat_b, lon_b)
    assert matrix.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            expected = great_circle_km(lat_a[i], lon_a[i], lat_b[j], lon_b[j])
            assert matrix[i, j] == pytest.approx(expected, rel=1e-12)
    assert distance_matrix_km([], [], lat_b, lon_b).shape == (0, 4)


def test_distance_matrix_rejects_ragged_sides() -> None:
    with pytest.raises(ValueError, match="as many longitudes"):
        distance_matrix_km([53.0, 54.0], [-1.0], [53.0], [-1.0])


# --- the build script ------------------------------------------------------------------------


def _build(out: Path, cwd: Path) -> None:
    # Default --shared, run from elsewhere: the script must find ../shared from its own location.
    subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--out", str(out)],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )


def test_build_script_is_deterministic_and_matches_shipped_tables(tmp_path: Path) -> None:
    if not SHARED_GEO.is_dir():
        pytest.skip(f"shared geography not available at {SHARED_GEO}")
    first, second = tmp_path / "first", tmp_path / "second"
    _build(first, cwd=tmp_path)
    _build(second, cwd=tmp_path)
    for name in TABLE_NAMES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
        # Compare content rather than bytes, so a different zlib cannot fail this check.
        fresh = gzip.decompress((first / name).read_bytes())
        assert fresh == gzip.decompress((GEO_DIR / name).read_bytes()), f"{name} is stale"
