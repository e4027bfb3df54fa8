"""The market at a glance: demand against capacity by zone and band, and `allocator describe`.

Hand-made scenarios (see builders.py: each visit is one Monday call, so its carer minutes are
`minutes x carers`) whose demand and capacity are worked out by hand; then the command on the
shipped example, its files and its pictures.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from builders import package, policy, provider, scenario, visit

from allocator import cli
from allocator.cli.describe import scenario_name
from allocator.io.market_plots import CHART_FILE, MAP_FILE, TABLE_FILE, chart_size_px
from allocator.io.scenario_files import load_scenario
from allocator.market import ALL, COLUMNS, Market, describe_market
from allocator.model import BANDS
from allocator.policy import Lot

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "examples" / "small_council"
EXAMPLE_ZONES = ("North", "Central", "South")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAP_SIZE_PX = (1320, 1020)


def cell(market: Market, zone: str, band: str) -> dict[str, float]:
    """One zone and band's figures, with NaN ratios as None so that dicts compare."""
    frame = market.by_zone_band
    row = frame[(frame["zone"] == zone) & (frame["band"] == band)].iloc[0]
    return {c: (None if pd.isna(row[c]) else float(row[c])) for c in COLUMNS}


def figures(demand: float, capacity: float, closed: float = 0.0) -> dict[str, float]:
    return {
        "demand_hours": demand,
        "capacity_hours": capacity,
        "closed_capacity_hours": closed,
        "balance_hours": capacity - demand,
        "capacity_ratio": capacity / demand if demand else None,
    }


# -- demand ------------------------------------------------------------------------------------


def test_a_double_up_call_counts_twice() -> None:
    market = describe_market(
        scenario(
            [provider("A", capacity={"morning": 180})],
            [
                package("K1", minutes=60, carers=2),
                package("K2", visits=[visit("tea", 30, days="mon,tue,wed")]),
            ],
        )
    )
    assert cell(market, "North", "morning") == figures(demand=2.0, capacity=3.0)
    assert cell(market, "North", "tea") == figures(demand=1.5, capacity=0.0)
    assert cell(market, "South", "morning") == figures(demand=0.0, capacity=0.0)


def test_every_zone_and_band_is_listed_in_policy_order() -> None:
    market = describe_market(scenario([provider("A")], [package("K1", zone="South")]))
    frame = market.by_zone_band
    assert list(frame["zone"]) == [z for z in ("North", "South") for _ in BANDS]
    assert list(frame["band"]) == [b.value for _ in range(2) for b in BANDS]
    assert list(frame.columns) == ["zone", "band", *COLUMNS]


# -- capacity: the multi-zone split rule ----------------------------------------------------------


def multi_zone_market() -> Market:
    """W serves both zones: 10 h of mornings, 2 h of tea-times, 3 h of beds.

    Mornings are needed 1 h in North and 3 h in South, so W's 10 h split 2.5 / 7.5. Tea is needed
    in neither zone, so W's 2 h split equally. Beds are needed only in South, so all 3 h go there.
    N serves North only: its 1 h of mornings stays there.
    """
    return describe_market(
        scenario(
            [
                provider("W", zones=("North", "South"), capacity={"morning": 600, "tea": 120}),
                provider("N", zones=("North",), capacity={"morning": 60}),
                provider("B", zones=("North", "South"), capacity={"bed": 180}),
            ],
            [
                package("K1", zone="North", minutes=60),
                package("K2", zone="South", minutes=90, carers=2),
                package("K3", zone="South", visits=[visit("bed", 30)]),
            ],
        )
    )


def test_multi_zone_capacity_is_split_by_each_bands_demand() -> None:
    market = multi_zone_market()
    assert cell(market, "North", "morning") == figures(demand=1.0, capacity=2.5 + 1.0)
    assert cell(market, "South", "morning") == figures(demand=3.0, capacity=7.5)
    assert cell(market, "North", "bed") == figures(demand=0.0, capacity=0.0)
    assert cell(market, "South", "bed") == figures(demand=0.5, capacity=3.0)


def test_where_no_zone_needs_a_band_its_capacity_is_split_equally() -> None:
    market = multi_zone_market()
    assert cell(market, "North", "tea") == figures(demand=0.0, capacity=1.0)
    assert cell(market, "South", "tea") == figures(demand=0.0, capacity=1.0)


def test_zone_and_band_totals_add_up_to_the_providers_capacity() -> None:
    market = multi_zone_market()
    by_band = market.by_band.set_index("band")
    assert by_band.loc["morning", "capacity_hours"] == 11.0
    assert by_band.loc["morning", "demand_hours"] == 4.0
    assert by_band.loc["morning", "balance_hours"] == 7.0
    assert by_band.loc["morning", "capacity_ratio"] == 11.0 / 4.0
    assert by_band.loc["tea", "capacity_hours"] == 2.0
    assert pd.isna(by_band.loc["tea", "capacity_ratio"])
    by_zone = market.by_zone.set_index("zone")
    assert by_zone.loc["North", "capacity_hours"] == 3.5 + 1.0
    assert by_zone.loc["South", "capacity_hours"] == 7.5 + 1.0 + 3.0
    assert by_zone.loc["South", "demand_hours"] == 3.5


def test_the_table_lists_zones_then_totals() -> None:
    table = multi_zone_market().table()
    bands = [b.value for b in BANDS]
    assert list(zip(table["zone"], table["band"], strict=True)) == [
        *((z, b) for z in ("North", "South") for b in (*bands, ALL)),
        *((ALL, b) for b in (*bands, ALL)),
    ]
    everything = table[(table["zone"] == ALL) & (table["band"] == ALL)].iloc[0]
    assert everything["capacity_hours"] == 16.0
    assert everything["demand_hours"] == 4.5
    assert everything["balance_hours"] == 11.5


# -- capacity closed to new packages and capped capacity ----------------------------------------


def test_embargoed_capacity_is_listed_apart_and_left_out_of_the_balance() -> None:
    providers = [
        provider("A", capacity={"morning": 120}),
        provider("E", capacity={"morning": 240}, status="embargoed"),
    ]
    packages = [package("K1", minutes=180, current="E")]
    market = describe_market(scenario(providers, packages))
    assert cell(market, "North", "morning") == figures(demand=3.0, capacity=2.0, closed=4.0)
    assert market.counts["closed_providers"] == 1

    no_embargo_filter = describe_market(scenario(providers, packages, policy(embargo=False)))
    assert cell(no_embargo_filter, "North", "morning") == figures(demand=3.0, capacity=6.0)


def test_capacity_below_the_cqc_floor_is_closed_too() -> None:
    providers = [provider("I", capacity={"morning": 60}, cqc="inadequate")]
    market = describe_market(scenario(providers, [package("K1")]))
    assert cell(market, "North", "morning") == figures(demand=1.0, capacity=0.0, closed=1.0)
    without_floor = describe_market(scenario(providers, [package("K1")], policy(cqc_floor=None)))
    assert cell(without_floor, "North", "morning") == figures(demand=1.0, capacity=1.0)


def test_closed_multi_zone_capacity_is_split_by_the_same_rule() -> None:
    market = describe_market(
        scenario(
            [provider("E", zones=("North", "South"), morning=240, status="embargoed")],
            [package("K1", zone="North", minutes=60), package("K2", zone="South", minutes=180)],
        )
    )
    assert cell(market, "North", "morning") == figures(demand=1.0, capacity=0.0, closed=1.0)
    assert cell(market, "South", "morning") == figures(demand=3.0, capacity=0.0, closed=3.0)


def test_an_hour_cap_scales_a_providers_bands_down_together() -> None:
    capped = provider("C", capacity={"morning": 360, "tea": 240}, max_weekly_hours=5)
    market = describe_market(scenario([capped], [package("K1")]))
    assert cell(market, "North", "morning") == figures(demand=1.0, capacity=3.0)
    assert cell(market, "North", "tea") == figures(demand=0.0, capacity=2.0)


def test_a_lot_cap_scales_its_members_down_together() -> None:
    members = [
        provider("B1", capacity={"morning": 480}),
        provider("B2", capacity={"morning": 240, "bed": 240}),
        provider("X", capacity={"morning": 60}),
    ]
    rules = policy().model_copy(
        update={"lots": (Lot(name="backup", providers=("B1", "B2"), max_weekly_hours=8),)}
    )
    market = describe_market(scenario(members, [package("K1")], rules))
    assert cell(market, "North", "morning") == figures(demand=1.0, capacity=4.0 + 2.0 + 1.0)
    assert cell(market, "North", "bed") == figures(demand=0.0, capacity=2.0)


# -- counts --------------------------------------------------------------------------------------


def test_counts() -> None:
    four_calls = [visit(b, 15, days="mon,tue,wed,thu,fri,sat,sun") for b in BANDS[:4]]
    market = describe_market(
        scenario(
            [
                provider("A", double_up=True),
                provider("E", status="embargoed"),
                provider("I", cqc="inadequate"),
            ],
            [
                package("K1", urgency="hospital_discharge", carers=2),
                package("K2", urgency="urgent_community", current="A", pinned=True),
                package("K3", visits=four_calls, current="E"),
                package("K4", zone="South"),
            ],
        )
    )
    assert market.counts == {
        "packages": 4,
        "urgent_packages": 1,
        "double_up_packages": 1,
        "four_call_packages": 1,
        "existing_placements": 2,
        "pinned_packages": 1,
        "providers": 3,
        "closed_providers": 2,
    }


# -- the shipped example --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example_market() -> Market:
    return describe_market(load_scenario(EXAMPLE))


def test_the_example_market_adds_up(example_market: Market) -> None:
    example = load_scenario(EXAMPLE)
    table = example_market.table().set_index(["zone", "band"])
    demand = sum(k.carer_minutes_per_week for k in example.packages) / 60
    assert table.loc[(ALL, ALL), "demand_hours"] == pytest.approx(demand)
    offered = sum(p.capacity(b) for p in example.providers for b in BANDS) / 60
    capped = next(p for p in example.providers if p.max_weekly_hours is not None)
    overshoot = sum(capped.capacity(b) for b in BANDS) / 60 - capped.max_weekly_hours
    both = table.loc[(ALL, ALL), ["capacity_hours", "closed_capacity_hours"]].sum()
    assert both == pytest.approx(offered - overshoot)
    for zone in EXAMPLE_ZONES:
        zone_rows = example_market.by_zone_band[example_market.by_zone_band["zone"] == zone]
        assert table.loc[(zone, ALL), "demand_hours"] == pytest.approx(
            zone_rows["demand_hours"].sum()
        )


# -- allocator describe ---------------------------------------------------------------------------


def run_describe(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["describe", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def squash(text: str) -> str:
    return "".join(text.split())


def png_size(path: Path) -> tuple[int, int]:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    height, width = matplotlib.image.imread(path).shape[:2]
    return width, height


@pytest.fixture(scope="module")
def described(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("describe") / "out"
    assert cli.main(["describe", str(EXAMPLE), "--out", str(out)]) == 0
    return out


def test_describe_writes_the_table_and_two_pictures(described: Path) -> None:
    assert sorted(p.name for p in described.iterdir()) == sorted((CHART_FILE, MAP_FILE, TABLE_FILE))
    assert [p.name for p in described.parent.iterdir()] == ["out"]
    assert png_size(described / MAP_FILE) == MAP_SIZE_PX
    assert png_size(described / CHART_FILE) == chart_size_px(len(EXAMPLE_ZONES))
    image = matplotlib.image.imread(described / CHART_FILE)
    assert float(np.std(image[..., :3])) > 0.05, "the chart is blank"


def test_market_csv_is_the_market_table(described: Path, example_market: Market) -> None:
    written = pd.read_csv(described / TABLE_FILE)
    expected = example_market.table()
    assert list(written.columns) == list(expected.columns)
    assert list(written["zone"]) == list(expected["zone"])
    assert list(written["band"]) == list(expected["band"])
    for column in COLUMNS:
        assert np.allclose(written[column], expected[column], atol=0.006, equal_nan=True), column


def test_describe_prints_demand_and_capacity_by_zone_and_band(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_describe([str(EXAMPLE), "--out", str(tmp_path / "d")], capsys)
    assert code == 0
    assert err == ""
    text = squash(out)
    label = "Small council home care framework (generated) v2026.1"
    assert squash(f"small_council under {label}") in text
    assert squash("300 packages (23 urgent, 30 double-up") in text
    assert squash("13 providers (1 closed to new packages)") in text
    for word in (*EXAMPLE_ZONES, "allzones", *(b.value for b in BANDS)):
        assert word in text, word
    for word in ("needed", "offered", "closed", "balance", "%ofneed"):
        assert word in text, word
    assert squash(f"Wrote 3 files to {tmp_path / 'd'}") in text


def test_describe_is_byte_identical_on_a_rerun(
    described: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    again = tmp_path / "again"
    assert run_describe([str(EXAMPLE), "--out", str(again)], capsys)[0] == 0
    for name in (CHART_FILE, MAP_FILE, TABLE_FILE):
        assert (again / name).read_bytes() == (described / name).read_bytes(), name


def test_describe_replaces_the_out_folder_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.txt").write_text("old\n", "utf-8")
    assert run_describe([str(EXAMPLE), "--out", str(out)], capsys)[0] == 0
    assert sorted(p.name for p in out.iterdir()) == sorted((CHART_FILE, MAP_FILE, TABLE_FILE))
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_describe_defaults_to_a_folder_named_for_the_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_describe([str(EXAMPLE)], capsys)[0] == 0
    assert (tmp_path / "out" / "small_council_describe" / MAP_FILE).is_file()
    assert scenario_name(Path("somewhere/rotherham.json")) == "rotherham"


def test_a_bad_scenario_exits_2_lists_every_error_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(EXAMPLE, folder)
    packages = pd.read_csv(folder / "packages.csv", dtype=str, keep_default_na=False)
    packages.loc[packages["id"] == "PKG-0003", "referral_date"] = "2026-13-01"
    packages.loc[packages["id"] == "PKG-0004", "visits"] = "daily brunch 30"
    packages.to_csv(folder / "packages.csv", index=False)
    out = tmp_path / "results" / "out"
    code, stdout, err = run_describe([str(folder), "--out", str(out)], capsys)
    assert code == 2
    assert stdout == ""
    assert squash("scenario rejected with 2 errors:") in squash(err)
    assert squash("packages.csv, row 3, field 'referral_date'") in squash(err)
    assert squash("unknown time band 'brunch'") in squash(err)
    assert not (tmp_path / "results").exists()


def test_a_missing_scenario_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_describe([str(tmp_path / "nothing"), "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert squash("not a scenario folder or .json file") in squash(err)
    assert not (tmp_path / "o").exists()
