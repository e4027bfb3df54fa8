"""Where the generator puts people and how it zones a council: Rotherham and Bury from their real
postcodes and wards; any English council from its small areas (the England table), published by
postcode sector, zoned by district or by bands along its long axis."""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocator.generator.parameters import PlaceParameters
from allocator.generator.places import (
    AxisBands,
    CouncilPlaces,
    DistrictZones,
    GeneratorDataError,
    LsoaAxisBands,
    WardGroups,
    council_places,
    england_councils,
    lsoa_council_places,
    lsoa_zoning,
)
from allocator.io.generator_tables import (
    ENGLAND_TABLE,
    TABLES,
    load_england_lsoas,
    load_generator_tables,
)
from allocator.io.geo_tables import load_postcode_index
from allocator.model import normalise_postcode

REPO_ROOT = Path(__file__).resolve().parents[1]
GEO_DIR = REPO_ROOT / "data" / "geo"
SHARED_GEO = REPO_ROOT.parent / "shared" / "data" / "geo"
ESSEX, ROTHERHAM, BURY, SCILLY = "E10000012", "E08000018", "E08000002", "E06000053"
PLACE_COLUMNS = ["postcode", "sector", "lsoa21_code", "ward25_code", "zone", "lat", "lon"]
PLACE_COLUMNS += ["weight", "rural"]
REASSIGNED_PEOPLE_TOLERANCE = 0.05
"""Share of a county's 60+ people whose sector puts them in another district's zone."""
PARAMS = PlaceParameters()


@pytest.fixture(scope="module")
def lsoas() -> pd.DataFrame:
    return load_england_lsoas()


@pytest.fixture(scope="module")
def essex(lsoas: pd.DataFrame) -> CouncilPlaces:
    return lsoa_council_places(lsoas, ESSEX, lsoa_zoning(lsoas, ESSEX), PARAMS)


def zone_latitudes(places: CouncilPlaces) -> list[float]:
    """Each zone's 60+-weighted mean latitude, in zone order."""
    frame = places.postcodes
    people = frame["weight"] * frame["lat"]
    latitude = people.groupby(frame["zone"]).sum() / frame.groupby("zone")["weight"].sum()
    return [float(latitude[z]) for z in places.zones]


# -- the England table ------------------------------------------------------------------------


def test_the_table_holds_every_english_small_area_once(lsoas: pd.DataFrame) -> None:
    assert len(lsoas) == 32_844 and lsoas["lsoa11_code"].is_unique
    assert lsoas["lsoa11_code"].str.startswith("E01").all()
    assert lsoas["council_code"].str.match(r"^E(06|08|09|10)\d{6}$").all()
    assert (lsoas["area_km2"] > 0).all() and (lsoas["pop_60plus_mid2015"] > 0).all()
    assert (GEO_DIR / ENGLAND_TABLE).stat().st_size < 1_500_000


def test_merged_districts_are_mapped_to_their_successor(lsoas: pd.DataFrame) -> None:
    # Buckinghamshire's four 2019 districts are one unitary council today.
    bucks = lsoas[lsoas["council_code"] == "E06000060"]
    assert set(bucks["lad_name"]) == {"Buckinghamshire"}
    # Hertfordshire is a county whose districts stay districts.
    assert lsoas.loc[lsoas["council_code"] == "E10000015", "lad_code"].nunique() == 10


def test_england_councils_cover_the_whole_table(lsoas: pd.DataFrame) -> None:
    councils = england_councils(lsoas)
    assert list(councils.columns) == ["council_code", "council_name", "lads", "pop_60plus"]
    assert 145 <= len(councils) <= 155 and councils["council_code"].is_unique
    assert councils["council_code"].is_monotonic_increasing
    assert councils["pop_60plus"].sum() == lsoas["pop_60plus_mid2015"].sum()
    essex = councils.set_index("council_code").loc[ESSEX]
    assert (essex["council_name"], essex["lads"]) == ("Essex", 12)


def test_every_sector_used_is_a_shipped_sector_the_core_can_place(lsoas: pd.DataFrame) -> None:
    sectors = pd.read_csv(GEO_DIR / "sectors.csv.gz", dtype=str, keep_default_na=False)
    used = sorted(set(lsoas["sector"]))
    assert set(used) <= set(sectors["sector"])
    assert [normalise_postcode(s) for s in used] == used
    index = load_postcode_index()
    assert {location.precision for location in index.locate_many(used) if location} == {"sector"}


def test_the_table_is_cached_and_a_missing_one_says_how_to_build_it(tmp_path: Path) -> None:
    assert load_england_lsoas() is load_england_lsoas(REPO_ROOT / "data")
    with pytest.raises(FileNotFoundError) as raised:
        load_england_lsoas(tmp_path)
    message = str(raised.value)
    assert str(tmp_path / "geo" / ENGLAND_TABLE) in message
    assert "build_england_table.py" in message


def test_the_shipped_table_rebuilds_byte_identically(tmp_path: Path) -> None:
    if not SHARED_GEO.is_dir():
        pytest.skip(f"shared geography not available at {SHARED_GEO}")
    script = GEO_DIR / "build_england_table.py"
    for out in ("first", "second"):
        # Default --shared, run from elsewhere: the script finds ../shared from its own place.
        subprocess.run(
            [sys.executable, str(script), "--out", str(tmp_path / out)],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )
    first = (tmp_path / "first" / ENGLAND_TABLE).read_bytes()
    assert first == (tmp_path / "second" / ENGLAND_TABLE).read_bytes()
    # Content rather than bytes against the shipped file, so another zlib cannot fail this.
    shipped = gzip.decompress((GEO_DIR / ENGLAND_TABLE).read_bytes())
    assert gzip.decompress(first) == shipped, f"{ENGLAND_TABLE} is stale"


# -- a county zoned by its districts ----------------------------------------------------------


def test_essex_has_a_zone_for_each_of_its_twelve_districts(
    lsoas: pd.DataFrame, essex: CouncilPlaces
) -> None:
    districts = set(lsoas.loc[lsoas["council_code"] == ESSEX, "lad_name"])
    assert isinstance(essex.zoning, DistrictZones)
    assert len(essex.zones) == 12 and set(essex.zones) == districts
    assert essex.council == "Essex"
    assert essex.ward_zone == {d: d for d in sorted(districts)}
    latitudes = zone_latitudes(essex)
    assert latitudes[0] == max(latitudes) and latitudes[-1] < latitudes[0]


def test_every_small_area_is_in_its_sectors_zone(essex: CouncilPlaces) -> None:
    frame = essex.postcodes
    assert (frame["zone"] == frame["sector"].map(essex.sector_zone)).all()
    assert set(essex.sector_zone) == set(frame["sector"])
    assert set(essex.sector_zone.values()) == set(essex.zones)


def test_zone_shares_match_the_districts_up_to_the_sector_majority(
    lsoas: pd.DataFrame, essex: CouncilPlaces
) -> None:
    assert sum(essex.zone_shares.values()) == pytest.approx(1.0)
    areas = lsoas[lsoas["council_code"] == ESSEX].set_index("lsoa11_code")
    frame = essex.postcodes
    district = frame["lsoa21_code"].map(areas["lad_name"])
    moved = frame.loc[frame["zone"] != district, "weight"].sum() / frame["weight"].sum()
    assert 0 < moved <= REASSIGNED_PEOPLE_TOLERANCE
    totals = areas.groupby("lad_name")["pop_60plus_mid2015"].sum()
    for zone, share in essex.zone_shares.items():
        assert share == pytest.approx(totals[zone] / totals.sum(), abs=moved)


def test_small_area_places_have_the_postcode_places_columns(
    lsoas: pd.DataFrame, essex: CouncilPlaces
) -> None:
    frame = essex.postcodes
    assert list(frame.columns) == PLACE_COLUMNS
    assert frame.index.equals(pd.RangeIndex(len(frame)))
    assert frame["postcode"].is_monotonic_increasing
    assert (frame["postcode"] == frame["sector"]).all() and (frame["ward25_code"] == "").all()
    areas = lsoas[lsoas["council_code"] == ESSEX].set_index("lsoa11_code")
    assert sorted(frame["lsoa21_code"]) == sorted(areas.index)
    own = areas.loc[frame["lsoa21_code"]]
    assert np.array_equal(frame["lat"], own["lat"]) and np.array_equal(frame["lon"], own["lon"])
    assert np.array_equal(frame["weight"], own["pop_60plus_mid2015"].astype(float))
    density = own["pop_total_mid2015"] / own["area_km2"]
    assert np.array_equal(frame["rural"], density < PARAMS.rural_people_per_km2)
    assert frame["rural"].dtype == bool and 0 < frame["rural"].mean() < 1


def test_homes_and_offices_are_sampled_from_small_areas(essex: CouncilPlaces) -> None:
    rng = np.random.default_rng(7)
    homes = essex.sample_homes(rng, 500)
    assert homes.min() >= 0 and homes.max() < len(essex.postcodes)
    office = essex.sample_office(rng, ("Harlow",))
    row = essex.postcodes.loc[office]
    assert row["zone"] == "Harlow" and not row["rural"]


def test_district_zones_must_match_the_councils_districts(lsoas: pd.DataFrame) -> None:
    with pytest.raises(GeneratorDataError, match="unknown .*'Basildon'"):
        lsoa_council_places(lsoas, ESSEX, DistrictZones(("Chelmsford", "Nowhere")), PARAMS)


# -- a single-district council cut along its axis ---------------------------------------------


def test_a_unitary_from_the_england_table_gets_three_axis_zones(lsoas: pd.DataFrame) -> None:
    zoning = lsoa_zoning(lsoas, ROTHERHAM)
    assert zoning == LsoaAxisBands(("North", "Central", "South"))
    places = lsoa_council_places(lsoas, ROTHERHAM, zoning, PARAMS)
    assert places.council == "Rotherham" and places.ward_zone == {}
    assert all(0.25 < share < 0.42 for share in places.zone_shares.values())
    north, central, south = zone_latitudes(places)
    assert north > central > south
    assert "3 bands of equal 60+ population" in zoning.rule


def test_axis_band_names() -> None:
    assert LsoaAxisBands.named(3).zones == ("North", "Central", "South")
    assert LsoaAxisBands.named(2).zones == ("Zone 1", "Zone 2")


def test_a_council_of_one_small_area_is_one_zone(lsoas: pd.DataFrame) -> None:
    zoning = lsoa_zoning(lsoas, SCILLY)
    assert zoning.zones == ("Zone 1",)
    assert lsoa_council_places(lsoas, SCILLY, zoning, PARAMS).zone_shares == {"Zone 1": 1.0}
    with pytest.raises(GeneratorDataError, match=r"zones \['North', 'South'\] .* no postcode"):
        lsoa_council_places(lsoas, SCILLY, LsoaAxisBands.named(3), PARAMS)


def test_an_unknown_council_says_how_to_list_the_valid_ones(lsoas: pd.DataFrame) -> None:
    with pytest.raises(GeneratorDataError, match=r"'E99999999'.*england_councils"):
        lsoa_council_places(lsoas, "E99999999", LsoaAxisBands.named(3), PARAMS)
    with pytest.raises(GeneratorDataError, match="'E99999999'"):
        lsoa_zoning(lsoas, "E99999999")


# -- Rotherham and Bury from their real postcodes ---------------------------------------------


def test_rotherham_axis_bands_give_three_contiguous_zones() -> None:
    # council_places raises if a zone's wards are not contiguous.
    places = council_places(
        load_generator_tables(), ROTHERHAM, AxisBands(("North", "Central", "South")), PARAMS
    )
    assert places.council == "Rotherham" and places.zones == ("North", "Central", "South")
    assert set(places.ward_zone.values()) == set(places.zones)
    assert all(0.25 < share < 0.42 for share in places.zone_shares.values())
    north, central, south = zone_latitudes(places)
    assert north > central > south
    frame = places.postcodes
    assert list(frame.columns) == PLACE_COLUMNS
    assert (frame["zone"] == frame["sector"].map(places.sector_zone)).all()


def test_bury_ward_groups_must_name_every_ward() -> None:
    tables = load_generator_tables()
    bands = council_places(tables, BURY, AxisBands(("A", "B")), PARAMS)
    groups = {z: tuple(w for w, zone in bands.ward_zone.items() if zone == z) for z in "AB"}
    regrouped = council_places(tables, BURY, WardGroups(groups, "Test."), PARAMS)
    assert regrouped.ward_zone == bands.ward_zone
    dropped = next(iter(bands.ward_zone))
    short = {z: tuple(w for w in names if w != dropped) for z, names in groups.items()}
    with pytest.raises(GeneratorDataError, match=re.escape(f"not grouped [{dropped!r}]")):
        council_places(tables, BURY, WardGroups(short, "Test."), PARAMS)


def test_the_rotherham_and_bury_tables_rebuild_to_the_shipped_content(tmp_path: Path) -> None:
    if not SHARED_GEO.is_dir():
        pytest.skip(f"shared geography not available at {SHARED_GEO}")
    script = GEO_DIR / "build_generator_tables.py"
    subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], check=True)
    for name in TABLES.values():
        shipped = gzip.decompress((GEO_DIR / name).read_bytes())
        assert gzip.decompress((tmp_path / name).read_bytes()) == shipped, f"{name} is stale"
