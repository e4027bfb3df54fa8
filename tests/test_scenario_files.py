"""Reading a scenario: a scenario with errors is rejected whole, listing every error at once, each
naming the file, the 1-based data row and the CSV column (or policy field) it is in.

Each test writes a tiny valid scenario into `tmp_path`, breaks it in one known way, and asserts the
exact errors. Messages the project writes are compared in full; messages that come from pydantic
are pinned by file, row, field and the offending value they quote.
"""

from __future__ import annotations

import csv
import json
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from allocator.errors import InputError, ScenarioError
from allocator.io.geo_tables import load_postcode_index
from allocator.io.scenario_files import (
    PACKAGE_COLUMNS,
    PROVIDER_COLUMNS,
    load_scenario,
    scenario_from_document,
)
from allocator.model import DAYS, Band, CqcRating, Gender, ProviderStatus, Urgency
from allocator.scenario import Scenario

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "examples" / "small_council"

POLICY = """\
name = "Tiny framework"
version = "1"
goals = ["urgent_hours", "hours_placed", "continuity", "cascade", "preferences", "cost",
         "travel", "fairness"]
urgent = ["hospital_discharge"]
specialisms = ["dementia", "end_of_life"]

[hard_filters]
cqc_floor = "requires_improvement"
same_gender = "soft"

[cascade]
tiers = [1, 2]

[zones.North]
postcodes = ["S63 7", "S64 8"]

[zones.Central]
postcodes = ["S65 3", "S66 2"]
"""
LABEL = "Tiny framework v1"


def _provider(**cells: str) -> dict[str, str]:
    row = dict.fromkeys(PROVIDER_COLUMNS, "")
    row |= {
        "morning_minutes": "1000",
        "lunch_minutes": "300",
        "tea_minutes": "300",
        "bed_minutes": "300",
        "double_up": "yes",
        "same_gender": "yes",
        "cqc_rating": "good",
        "status": "active",
    }
    return row | cells


def _package(**cells: str) -> dict[str, str]:
    return dict.fromkeys(PACKAGE_COLUMNS, "") | {"urgency": "routine", "pinned": "no"} | cells


# Rows: P1 is K1's pinned current provider, P2 is K2's preferred, P3 is excluded by K2. P4 and K3
# are referenced by nothing, so breaking them gives exactly one error.
PROVIDERS = [
    _provider(
        id="P1", name="Ash Care", zones="North:1:1", base_postcode="S64 8YT",
        specialisms="dementia", rate_gbp_per_hour="23.10",
    ),
    _provider(
        id="P2", name="Beech Care", zones="Central:1:1", base_postcode="S62 5LQ",
        double_up="no", languages="urdu", same_gender="no", rate_gbp_per_hour="22.50",
        cqc_rating="outstanding",
    ),
    _provider(
        id="P3", name="Wide Care", zones="North:2; Central:2", base_postcode="S60 5QD",
        night_minutes="120", rate_gbp_per_hour="24.00", zone_rates="Central:25.00",
        cqc_rating="requires_improvement", status="embargoed", max_weekly_hours="40",
    ),
    _provider(
        id="P4", name="Spare Care", zones="Central:2:1", base_postcode="S60 2XJ",
        rate_gbp_per_hour="21.00",
    ),
]  # fmt: skip
PACKAGES = [
    _package(
        id="K1", postcode="S63 7SF", visits="daily morning 30", specialisms="dementia",
        referral_date="2026-11-08", current_provider="P1", pinned="yes",
    ),
    _package(
        id="K2", postcode="S66 2XD", visits="Mon,Thu tea 30x2; weekdays bed 15",
        gender_preference="female", language="Urdu", preferred_provider="P2",
        excluded_providers="P3", urgency="urgent_community", referral_date="2026-11-14",
    ),
    _package(
        id="K3", postcode="S65 3RF", zone="Central", visits="weekends lunch 20",
        urgency="hospital_discharge", referral_date="2026-11-10",
    ),
]  # fmt: skip


def _write_csv(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> None:
    columns = columns if columns is not None else list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def write_scenario(
    folder: Path,
    providers: list[dict[str, str]] | None = None,
    packages: list[dict[str, str]] | None = None,
    policy: str = POLICY,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _write_csv(folder / "providers.csv", providers if providers is not None else PROVIDERS)
    _write_csv(folder / "packages.csv", packages if packages is not None else PACKAGES)
    (folder / "policy.toml").write_text(policy, encoding="utf-8")
    return folder


def with_row(rows: list[dict[str, str]], index: int, **cells: str) -> list[dict[str, str]]:
    """A copy of `rows` with some cells of the row at `index` (0-based) changed."""
    return [row | cells if i == index else dict(row) for i, row in enumerate(rows)]


def rejected(path: Path) -> list[InputError]:
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    return raised.value.errors


def places(errors: list[InputError]) -> list[tuple[str, int | None, str | None]]:
    return [(e.source, e.row, e.field) for e in errors]


# -- valid input -----------------------------------------------------------------------------


def test_the_tiny_scenario_loads_and_resolves(tmp_path: Path) -> None:
    scenario = load_scenario(write_scenario(tmp_path / "s"))
    assert scenario.policy.label == LABEL
    assert [p.id for p in scenario.providers] == ["P1", "P2", "P3", "P4"]
    assert [k.id for k in scenario.packages] == ["K1", "K2", "K3"]
    assert [k.zone for k in scenario.packages] == ["North", "Central", "Central"]
    assert all(x.lat is not None and x.lon is not None for x in scenario.providers)
    assert all(x.lat is not None and x.lon is not None for x in scenario.packages)

    p3 = scenario.provider_by_id["P3"]
    assert [(z.zone, z.tier, z.rank) for z in p3.zones] == [
        ("North", 2, None),
        ("Central", 2, None),
    ]
    assert p3.capacity(Band.NIGHT) == 120 and p3.capacity(Band.MORNING) == 1000
    assert p3.rate_in("Central") == 25.0 and p3.rate_in("North") == 24.0
    assert p3.cqc_rating is CqcRating.REQUIRES_IMPROVEMENT
    assert p3.status is ProviderStatus.EMBARGOED and p3.max_weekly_hours == 40
    p2 = scenario.provider_by_id["P2"]
    assert (p2.double_up, p2.same_gender, p2.languages) == (False, False, ("urdu",))
    assert scenario.provider_by_id["P1"].capacity(Band.NIGHT) == 0  # empty cell means 0

    k1, k2, k3 = scenario.packages
    assert (k1.pinned, k1.current_provider, k1.specialisms) == (True, "P1", ("dementia",))
    assert k2.carer_minutes_by_band()[Band.TEA] == 2 * 30 * 2
    assert k2.carer_minutes_by_band()[Band.BED] == 5 * 15
    assert (k2.gender_preference, k2.language) == (Gender.FEMALE, "urdu")
    assert (k2.preferred_provider, k2.excluded_providers) == ("P2", ("P3",))
    assert (k2.urgency, k2.referral_date) == (Urgency.URGENT_COMMUNITY, date(2026, 11, 14))
    assert k3.visits[0].days == DAYS[5:]


def test_the_shipped_example_loads() -> None:
    scenario = load_scenario(EXAMPLE)
    assert (len(scenario.providers), len(scenario.packages)) == (13, 300)
    assert {k.zone for k in scenario.packages} == {"North", "Central", "South"}


def test_a_sector_postcode_loads_placed_at_the_sector_centroid(tmp_path: Path) -> None:
    """Councils that share only the postcode sector: zone from the policy, sector centroid."""
    packages = with_row(PACKAGES, 1, postcode="s66  2")
    providers = with_row(PROVIDERS, 3, base_postcode="S60 2")
    scenario = load_scenario(write_scenario(tmp_path / "s", providers, packages))
    k2 = scenario.packages[1]
    sector = load_postcode_index().locate("S66 2")
    assert sector is not None and sector.precision == "sector"
    assert (k2.postcode, k2.zone, k2.lat, k2.lon) == ("S66 2", "Central", sector.lat, sector.lon)
    p4 = scenario.provider_by_id["P4"]
    base = load_postcode_index().locate("S60 2")
    assert base is not None and (p4.base_postcode, p4.lat, p4.lon) == ("S60 2", base.lat, base.lon)


# -- one error class at a time ---------------------------------------------------------------


def test_unknown_package_postcode(tmp_path: Path) -> None:
    folder = write_scenario(tmp_path / "s", packages=with_row(PACKAGES, 2, postcode="ZZ9 9ZZ"))
    assert rejected(folder) == [
        InputError("packages.csv", 3, "postcode", "unknown postcode 'ZZ9 9ZZ'")
    ]


def test_unknown_provider_base_postcode(tmp_path: Path) -> None:
    folder = write_scenario(
        tmp_path / "s", providers=with_row(PROVIDERS, 3, base_postcode="zz99zz")
    )
    assert rejected(folder) == [
        InputError("providers.csv", 4, "base_postcode", "unknown postcode 'ZZ9 9ZZ'")
    ]


def test_malformed_postcode(tmp_path: Path) -> None:
    folder = write_scenario(tmp_path / "s", packages=with_row(PACKAGES, 2, postcode="nonsense"))
    assert rejected(folder) == [
        InputError("packages.csv", 3, "postcode", "'nonsense' is not a UK postcode")
    ]


def test_negative_minutes_in_a_visit(tmp_path: Path) -> None:
    packages = with_row(PACKAGES, 2, visits="weekends lunch 20; Mon,Thu tea -15")
    assert rejected(write_scenario(tmp_path / "s", packages=packages)) == [
        InputError(
            "packages.csv",
            3,
            "visits (call 2, minutes)",
            "Input should be greater than 0 (got -15)",
        )
    ]


def test_negative_minutes_in_the_only_visit(tmp_path: Path) -> None:
    packages = with_row(PACKAGES, 2, visits="Mon,Thu tea -15")
    errors = rejected(write_scenario(tmp_path / "s", packages=packages))
    assert (
        InputError(
            "packages.csv",
            3,
            "visits (call 1, minutes)",
            "Input should be greater than 0 (got -15)",
        )
        in errors
    )


def test_negative_minutes_in_the_only_visit_is_the_only_error(tmp_path: Path) -> None:
    packages = with_row(PACKAGES, 2, visits="Mon,Thu tea -15")
    assert rejected(write_scenario(tmp_path / "s", packages=packages)) == [
        InputError(
            "packages.csv",
            3,
            "visits (call 1, minutes)",
            "Input should be greater than 0 (got -15)",
        )
    ]


def test_unknown_time_band_in_a_visit(tmp_path: Path) -> None:
    packages = with_row(PACKAGES, 2, visits="weekends lunch 20; daily brunch 30")
    assert rejected(write_scenario(tmp_path / "s", packages=packages)) == [
        InputError(
            "packages.csv",
            3,
            "visits",
            "unknown time band 'brunch' in 'daily brunch 30': use morning, lunch, tea, bed, night",
        )
    ]


def test_unreadable_visit_text(tmp_path: Path) -> None:
    packages = with_row(PACKAGES, 2, visits="Fri-Mon tea 30")
    assert rejected(write_scenario(tmp_path / "s", packages=packages)) == [
        InputError(
            "packages.csv", 3, "visits", "day range 'fri-mon' runs backwards in 'Fri-Mon tea 30'"
        )
    ]


def test_duplicate_package_id(tmp_path: Path) -> None:
    folder = write_scenario(tmp_path / "s", packages=with_row(PACKAGES, 2, id="K1"))
    assert rejected(folder) == [
        InputError("packages.csv", 1, "id", "duplicate package id 'K1'"),
        InputError("packages.csv", 3, "id", "duplicate package id 'K1'"),
    ]


def test_duplicate_provider_id(tmp_path: Path) -> None:
    folder = write_scenario(tmp_path / "s", providers=with_row(PROVIDERS, 3, id="P1"))
    assert rejected(folder) == [
        InputError("providers.csv", 1, "id", "duplicate provider id 'P1'"),
        InputError("providers.csv", 4, "id", "duplicate provider id 'P1'"),
    ]


def test_references_to_providers_that_do_not_exist(tmp_path: Path) -> None:
    packages = with_row(PACKAGES, 1, preferred_provider="NOPE", excluded_providers="P3; GONE")
    packages = with_row(packages, 2, current_provider="GHOST")
    assert rejected(write_scenario(tmp_path / "s", packages=packages)) == [
        InputError("packages.csv", 2, "excluded_providers", "no provider has id 'GONE'"),
        InputError("packages.csv", 2, "preferred_provider", "no provider has id 'NOPE'"),
        InputError("packages.csv", 3, "current_provider", "no provider has id 'GHOST'"),
    ]


def test_pinned_to_a_provider_the_package_excludes(tmp_path: Path) -> None:
    packages = with_row(PACKAGES, 0, excluded_providers="P1")
    assert rejected(write_scenario(tmp_path / "s", packages=packages)) == [
        InputError("packages.csv", 1, "pinned", "pinned to 'P1', which the package excludes")
    ]


def test_zone_no_policy_knows_in_the_package_zone_column(tmp_path: Path) -> None:
    folder = write_scenario(tmp_path / "s", packages=with_row(PACKAGES, 2, zone="Atlantis"))
    assert rejected(folder) == [
        InputError("packages.csv", 3, "zone", f"zone 'Atlantis' is not a zone of policy {LABEL}")
    ]


def test_zone_no_policy_knows_in_the_provider_zones_cell(tmp_path: Path) -> None:
    providers = with_row(PROVIDERS, 3, zones="Central:2:1; Atlantis:2")
    assert rejected(write_scenario(tmp_path / "s", providers=providers)) == [
        InputError("providers.csv", 4, "zones", f"zone 'Atlantis' is not a zone of policy {LABEL}")
    ]


def test_postcode_in_no_zone_of_the_policy(tmp_path: Path) -> None:
    packages = with_row(PACKAGES, 2, postcode="S60 1AA", zone="")
    assert rejected(write_scenario(tmp_path / "s", packages=packages)) == [
        InputError(
            "packages.csv",
            3,
            "zone",
            f"postcode S60 1AA is in no zone of policy {LABEL}; give a zone",
        )
    ]


def test_a_zone_column_rescues_a_postcode_in_no_zone(tmp_path: Path) -> None:
    packages = with_row(PACKAGES, 2, postcode="S60 1AA", zone="North")
    scenario = load_scenario(write_scenario(tmp_path / "s", packages=packages))
    assert scenario.package_by_id["K3"].zone == "North"


def test_unreadable_zones_cell(tmp_path: Path) -> None:
    providers = with_row(PROVIDERS, 3, zones="Central")
    assert rejected(write_scenario(tmp_path / "s", providers=providers)) == [
        InputError(
            "providers.csv",
            4,
            "zones",
            "cannot read 'Central': expected e.g. 'North:1:1; Central:2'",
        )
    ]


def test_bad_cqc_rating(tmp_path: Path) -> None:
    errors = rejected(
        write_scenario(tmp_path / "s", providers=with_row(PROVIDERS, 3, cqc_rating="excellent"))
    )
    assert places(errors) == [("providers.csv", 4, "cqc_rating")]
    assert errors[0].message.endswith("(got 'excellent')")
    assert "'requires_improvement'" in errors[0].message


def test_bad_booleans(tmp_path: Path) -> None:
    folder = write_scenario(
        tmp_path / "s",
        providers=with_row(PROVIDERS, 3, double_up="maybe"),
        packages=with_row(PACKAGES, 2, pinned="perhaps"),
    )
    errors = rejected(folder)
    assert places(errors) == [("packages.csv", 3, "pinned"), ("providers.csv", 4, "double_up")]
    assert errors[0].message.endswith("(got 'perhaps')")
    assert errors[1].message.endswith("(got 'maybe')")
    assert all("valid boolean" in e.message for e in errors)


@pytest.mark.parametrize("cell", ["yes", "YES", "true", "1", "no", "false", "0"])
def test_boolean_spellings(tmp_path: Path, cell: str) -> None:
    providers = with_row(PROVIDERS, 3, double_up=cell)
    scenario = load_scenario(write_scenario(tmp_path / "s", providers=providers))
    assert scenario.provider_by_id["P4"].double_up is (cell.lower() in ("yes", "true", "1"))


@pytest.mark.parametrize("cell", ["2026-13-01", "14/11/2026", "2026-02-30", "soon"])
def test_bad_date(tmp_path: Path, cell: str) -> None:
    errors = rejected(
        write_scenario(tmp_path / "s", packages=with_row(PACKAGES, 2, referral_date=cell))
    )
    assert places(errors) == [("packages.csv", 3, "referral_date")]
    assert errors[0].message.endswith(f"(got {cell!r})")


def test_missing_required_column(tmp_path: Path) -> None:
    folder = write_scenario(tmp_path / "s")
    columns = [c for c in PACKAGE_COLUMNS if c != "referral_date"]
    _write_csv(folder / "packages.csv", PACKAGES, columns)
    assert rejected(folder) == [
        InputError("packages.csv", None, "referral_date", "required column is missing")
    ]


def test_unknown_column(tmp_path: Path) -> None:
    folder = write_scenario(
        tmp_path / "s", providers=[row | {"colour": "red"} for row in PROVIDERS]
    )
    assert rejected(folder) == [
        InputError(
            "providers.csv",
            None,
            "colour",
            f"unknown column; expected some of {', '.join(PROVIDER_COLUMNS)}",
        )
    ]


def test_lat_lon_columns_are_allowed(tmp_path: Path) -> None:
    packages = [row | {"lat": "", "lon": ""} for row in PACKAGES]
    packages[2] |= {"lat": "53.5", "lon": "-1.3"}
    scenario = load_scenario(write_scenario(tmp_path / "s", packages=packages))
    assert (scenario.package_by_id["K3"].lat, scenario.package_by_id["K3"].lon) == (53.5, -1.3)


@pytest.mark.parametrize("name", ["packages.csv", "policy.toml"])
def test_missing_file(tmp_path: Path, name: str) -> None:
    folder = write_scenario(tmp_path / "s")
    (folder / name).unlink()
    assert rejected(folder) == [InputError(name, None, None, f"missing from {folder}")]


def test_not_a_scenario_at_all(tmp_path: Path) -> None:
    path = tmp_path / "nothing-here"
    assert rejected(path) == [
        InputError(str(path), None, None, "not a scenario folder or .json file")
    ]


def test_invalid_toml(tmp_path: Path) -> None:
    errors = rejected(write_scenario(tmp_path / "s", policy='name = "Tiny"\nversion = '))
    assert places(errors) == [("policy.toml", None, None)]
    assert errors[0].message.startswith("not valid TOML: ")


@pytest.mark.parametrize(
    ("before", "after", "field", "quoted"),
    [
        (
            'same_gender = "soft"',
            'same_gender = "sometimes"',
            "hard_filters.same_gender",
            "sometimes",
        ),
        (
            'cqc_floor = "requires_improvement"',
            'cqc_floor = "fine"',
            "hard_filters.cqc_floor",
            "fine",
        ),
        ('goals = ["urgent_hours"', 'goals = ["teatime"', "goals.0", "teatime"),
        ('urgent = ["hospital_discharge"]', 'urgent = ["asap"]', "urgent.0", "asap"),
        ("tiers = [1, 2]", 'tiers = ["first"]', "cascade.tiers.0", "first"),
        ("[cascade]", 'colour = "red"\n[cascade]', "hard_filters.colour", "red"),
    ],
)
def test_invalid_policy_field(
    tmp_path: Path, before: str, after: str, field: str, quoted: str
) -> None:
    assert before in POLICY
    errors = rejected(write_scenario(tmp_path / "s", policy=POLICY.replace(before, after, 1)))
    assert places(errors) == [("policy.toml", None, field)]
    assert errors[0].message.endswith(f"(got {quoted!r})")


def test_policy_without_zones(tmp_path: Path) -> None:
    policy = POLICY.split("[zones.North]")[0]
    assert rejected(write_scenario(tmp_path / "s", policy=policy)) == [
        InputError("policy.toml", None, "zones", "Field required")
    ]


def test_specialism_outside_the_policy_vocabulary(tmp_path: Path) -> None:
    folder = write_scenario(
        tmp_path / "s",
        providers=with_row(PROVIDERS, 3, specialisms="dementia; Knitting"),
        packages=with_row(PACKAGES, 2, specialisms="juggling"),
    )
    known = "dementia, end_of_life"
    assert rejected(folder) == [
        InputError(
            "packages.csv",
            3,
            "specialisms",
            f"specialism 'juggling' is not one of the policy's: {known}",
        ),
        InputError(
            "providers.csv",
            4,
            "specialisms",
            f"specialism 'knitting' is not one of the policy's: {known}",
        ),
    ]


def test_pinned_placements_exactly_at_capacity_load(tmp_path: Path) -> None:
    # K1: 7 x 100 = 700 morning minutes; K2: 5 x 60 = 300 more, pinned to P1 too: 1,000 = capacity.
    packages = with_row(PACKAGES, 0, visits="daily morning 100")
    packages = with_row(
        packages, 1, visits="weekdays morning 60", current_provider="P1", pinned="yes"
    )
    scenario = load_scenario(write_scenario(tmp_path / "s", packages=packages))
    assert scenario.package_by_id["K2"].pinned


def test_pinned_placements_exceeding_band_capacity(tmp_path: Path) -> None:
    packages = with_row(PACKAGES, 0, visits="daily morning 100")
    packages = with_row(
        packages, 1, visits="weekdays morning 61", current_provider="P1", pinned="yes"
    )
    assert rejected(write_scenario(tmp_path / "s", packages=packages)) == [
        InputError(
            "providers.csv",
            1,
            "morning_minutes",
            "pinned placements need 1,005 morning minutes but capacity is 1,000",
        )
    ]


def test_pinned_double_up_calls_count_twice_against_capacity(tmp_path: Path) -> None:
    packages = with_row(PACKAGES, 0, visits="Mon-Wed bed 60x2")  # 3 x 60 x 2 = 360 > 300
    assert rejected(write_scenario(tmp_path / "s", packages=packages)) == [
        InputError(
            "providers.csv",
            1,
            "bed_minutes",
            "pinned placements need 360 bed minutes but capacity is 300",
        )
    ]


def test_pinned_placements_exceeding_the_weekly_hours_cap(tmp_path: Path) -> None:
    providers = with_row(PROVIDERS, 0, bed_minutes="1000", max_weekly_hours="10")
    packages = with_row(PACKAGES, 0, visits="daily morning 30; daily bed 60")  # 630 min = 10.5 h
    assert rejected(write_scenario(tmp_path / "s", providers=providers, packages=packages)) == [
        InputError(
            "providers.csv",
            1,
            "max_weekly_hours",
            "pinned placements need 10.5 hours but the cap is 10",
        )
    ]


# -- many errors at once ---------------------------------------------------------------------


def test_every_error_in_both_csvs_is_reported_at_once(tmp_path: Path) -> None:
    providers = with_row(PROVIDERS, 3, zones="Central:2:1; Atlantis:2")
    providers.append(
        _provider(
            id="P5", name="Fifth Care", zones="North:1:2", base_postcode="ZZ9 9ZZ",
            rate_gbp_per_hour="20.00", double_up="sometimes",
        )
    )  # fmt: skip
    providers.append(
        _provider(
            id="P1", name="Copy Care", zones="North:1:3", base_postcode="S64 8YT",
            rate_gbp_per_hour="20.00", specialisms="knitting",
        )
    )  # fmt: skip
    packages = with_row(PACKAGES, 2, referral_date="2026-13-01")
    packages += [
        _package(id="K4", postcode="ZZ9 9ZZ", zone="North", visits="daily morning 30",
                 referral_date="2026-11-01", preferred_provider="NOPE"),
        _package(id="K5", postcode="S60 1AA", visits="daily brunch 30", referral_date="2026-11-01"),
        _package(id="K6", postcode="S60 1AA", visits="daily bed 30", referral_date="2026-11-01",
                 zone="Atlantis"),
        _package(id="K4", postcode="S66 2XD", visits="daily bed 30", referral_date="2026-11-01",
                 specialisms="juggling", current_provider="GHOST"),
    ]  # fmt: skip
    errors = rejected(write_scenario(tmp_path / "s", providers=providers, packages=packages))
    assert places(errors) == [
        ("packages.csv", 3, "referral_date"),
        ("packages.csv", 4, "id"),
        ("packages.csv", 4, "postcode"),
        ("packages.csv", 4, "preferred_provider"),
        ("packages.csv", 5, "visits"),
        ("packages.csv", 6, "zone"),
        ("packages.csv", 7, "current_provider"),
        ("packages.csv", 7, "id"),
        ("packages.csv", 7, "specialisms"),
        ("providers.csv", 1, "id"),
        ("providers.csv", 4, "zones"),
        ("providers.csv", 5, "double_up"),
        ("providers.csv", 6, "id"),
        ("providers.csv", 6, "specialisms"),
    ]
    assert errors[2].message == "unknown postcode 'ZZ9 9ZZ'"
    assert errors[5].message == f"zone 'Atlantis' is not a zone of policy {LABEL}"
    assert errors[7].message == "duplicate package id 'K4'"
    # P5 failed record validation, so its unknown base postcode is not reached; its row is skipped
    # without shifting the rows of the records after it (row 6 stays row 6).
    assert errors[12].message == "duplicate provider id 'P1'"


def test_errors_in_both_csvs_and_the_policy_are_reported_at_once(tmp_path: Path) -> None:
    policy = POLICY.replace('same_gender = "soft"', 'same_gender = "sometimes"')
    policy = policy.replace('goals = ["urgent_hours"', 'goals = ["teatime"')
    providers = with_row(PROVIDERS, 3, cqc_rating="excellent", lunch_minutes="-5")
    packages = with_row(PACKAGES, 2, referral_date="14/11/2026", pinned="perhaps")
    packages.append(_package(id="K4", postcode="S63 7SF", visits="daily brunch 30",
                             referral_date="2026-11-01"))  # fmt: skip
    folder = write_scenario(tmp_path / "s", providers=providers, packages=packages, policy=policy)
    with pytest.raises(ScenarioError) as raised:
        load_scenario(folder)
    errors = raised.value.errors
    assert places(errors) == [
        ("packages.csv", 3, "pinned"),
        ("packages.csv", 3, "referral_date"),
        ("packages.csv", 4, "visits"),
        ("policy.toml", None, "goals.0"),
        ("policy.toml", None, "hard_filters.same_gender"),
        ("providers.csv", 4, "cqc_rating"),
        ("providers.csv", 4, "lunch_minutes"),
    ]
    text = str(raised.value)
    assert text.startswith("scenario rejected with 7 errors:\n")
    assert "  - packages.csv, row 4, field 'visits': unknown time band 'brunch'" in text
    assert "  - policy.toml, field 'goals.0': " in text


def test_an_invalid_policy_does_not_hide_cross_reference_errors(tmp_path: Path) -> None:
    policy = POLICY.replace('same_gender = "soft"', 'same_gender = "sometimes"')
    packages = with_row(PACKAGES, 2, id="K1", postcode="ZZ9 9ZZ", current_provider="GHOST")
    providers = with_row(PROVIDERS, 3, id="P1")
    folder = write_scenario(tmp_path / "s", providers=providers, packages=packages, policy=policy)
    assert places(rejected(folder)) == [
        ("packages.csv", 1, "id"),
        ("packages.csv", 3, "current_provider"),
        ("packages.csv", 3, "id"),
        ("packages.csv", 3, "postcode"),
        ("policy.toml", None, "hard_filters.same_gender"),
        ("providers.csv", 1, "id"),
        ("providers.csv", 4, "id"),
    ]


def test_a_provider_row_with_a_bad_field_still_exists_for_references(tmp_path: Path) -> None:
    providers = with_row(PROVIDERS, 1, cqc_rating="excellent")  # P2, K2's preferred provider
    assert places(rejected(write_scenario(tmp_path / "s", providers=providers))) == [
        ("providers.csv", 2, "cqc_rating")
    ]


def test_a_duplicate_id_is_reported_even_when_one_copy_has_a_bad_field(tmp_path: Path) -> None:
    packages = with_row(PACKAGES, 2, id="K1", referral_date="soon")
    assert places(rejected(write_scenario(tmp_path / "s", packages=packages))) == [
        ("packages.csv", 1, "id"),
        ("packages.csv", 3, "id"),
        ("packages.csv", 3, "referral_date"),
    ]


def test_an_unreadable_cell_does_not_hide_the_rest_of_its_row(tmp_path: Path) -> None:
    packages = with_row(PACKAGES, 2, visits="daily brunch 30", referral_date="soon")
    assert places(rejected(write_scenario(tmp_path / "s", packages=packages))) == [
        ("packages.csv", 3, "referral_date"),
        ("packages.csv", 3, "visits"),
    ]


@pytest.mark.parametrize(
    ("kind", "index", "cells", "message"),
    [
        ("packages", 2, {"pinned": "yes"}, "a pinned package must name its current_provider"),
        (
            "providers",
            3,
            {"zones": "Central:2; Central:1"},
            "zone listed twice in Central, Central",
        ),
        (
            "providers",
            3,
            {"zone_rates": "North:25"},
            "zone rate given for zones not served: North",
        ),
    ],
)
def test_whole_record_errors_are_reported_not_crashed_on(
    tmp_path: Path, kind: str, index: int, cells: dict[str, str], message: str
) -> None:
    rows = {"packages": PACKAGES, "providers": PROVIDERS}
    changed = {kind: with_row(rows[kind], index, **cells)}
    errors = rejected(write_scenario(tmp_path / "s", **changed))
    assert [(e.source, e.row, e.message) for e in errors] == [(f"{kind}.csv", index + 1, message)]


# -- one JSON document -----------------------------------------------------------------------


def _capacity(**minutes: int) -> dict[str, int]:
    return {"morning": 1000, "lunch": 300, "tea": 300, "bed": 300, "night": 0} | minutes


def json_document() -> dict[str, Any]:
    """The tiny scenario, written by hand in the JSON schema (`allocator.scenario.Scenario`)."""
    common = {"double_up": True, "same_gender": True, "cqc_rating": "good", "status": "active"}
    return {
        "policy": tomllib.loads(POLICY),
        "providers": [
            common | {
                "id": "P1", "name": "Ash Care", "zones": [{"zone": "North", "tier": 1, "rank": 1}],
                "base_postcode": "S64 8YT", "capacity_minutes": _capacity(),
                "specialisms": ["dementia"], "rate_gbp_per_hour": 23.10,
            },
            common | {
                "id": "P2", "name": "Beech Care",
                "zones": [{"zone": "Central", "tier": 1, "rank": 1}],
                "base_postcode": "s62 5lq", "capacity_minutes": _capacity(), "double_up": False,
                "languages": ["Urdu"], "same_gender": False, "rate_gbp_per_hour": 22.5,
                "cqc_rating": "outstanding",
            },
            common | {
                "id": "P3", "name": "Wide Care",
                "zones": [{"zone": "North", "tier": 2}, {"zone": "Central", "tier": 2}],
                "base_postcode": "S60 5QD", "capacity_minutes": _capacity(night=120),
                "rate_gbp_per_hour": 24, "zone_rates_gbp_per_hour": {"Central": 25},
                "cqc_rating": "requires_improvement", "status": "embargoed", "max_weekly_hours": 40,
            },
            common | {
                "id": "P4", "name": "Spare Care",
                "zones": [{"zone": "Central", "tier": 2, "rank": 1}],
                "base_postcode": "S60 2XJ", "capacity_minutes": _capacity(),
                "rate_gbp_per_hour": 21.0,
            },
        ],
        "packages": [
            {
                "id": "K1", "postcode": "S63 7SF",
                "visits": [{"days": list(map(str, DAYS)), "band": "morning", "minutes": 30}],
                "specialisms": ["dementia"], "referral_date": "2026-11-08",
                "current_provider": "P1", "pinned": True,
            },
            {
                "id": "K2", "postcode": "S66 2XD",
                "visits": [
                    {"days": ["thu", "mon"], "band": "tea", "minutes": 30, "carers": 2},
                    {"days": ["mon", "tue", "wed", "thu", "fri"], "band": "bed", "minutes": 15},
                ],
                "gender_preference": "female", "language": "Urdu", "preferred_provider": "P2",
                "excluded_providers": ["P3"], "urgency": "urgent_community",
                "referral_date": "2026-11-14",
            },
            {
                "id": "K3", "postcode": "S65 3RF", "zone": "Central",
                "visits": [{"days": ["sat", "sun"], "band": "lunch", "minutes": 20}],
                "urgency": "hospital_discharge", "referral_date": "2026-11-10",
            },
        ],
    }  # fmt: skip


def _same(a: Scenario, b: Scenario) -> None:
    assert a.policy == b.policy
    assert a.providers == b.providers
    assert a.packages == b.packages


def test_json_document_loads_to_the_same_scenario_as_the_folder(tmp_path: Path) -> None:
    folder = load_scenario(write_scenario(tmp_path / "s"))
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(json_document()), encoding="utf-8")
    _same(load_scenario(path), folder)
    _same(scenario_from_document(json_document(), load_postcode_index()), folder)


def test_the_example_round_trips_through_json(tmp_path: Path) -> None:
    example = load_scenario(EXAMPLE)
    path = tmp_path / "example.JSON"
    path.write_text(example.model_dump_json(), encoding="utf-8")
    _same(load_scenario(path), example)


def test_broken_json_document_reports_errors_with_item_numbers(tmp_path: Path) -> None:
    document = json_document()
    document["extra"] = 1
    document["policy"]["goals"] = ["cost", "teatime"]
    document["providers"][2]["cqc_rating"] = "excellent"
    document["packages"][1]["referral_date"] = "2026-02-30"
    document["packages"][2]["urgency"] = "whenever"
    document["providers"][0]["capacity_minutes"]["night"] = -5
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    errors = rejected(path)
    assert places(errors) == [
        ("scenario.json", None, "extra"),
        ("scenario.json packages", 2, "referral_date"),
        ("scenario.json packages", 3, "urgency"),
        ("scenario.json policy", None, "goals.1"),
        ("scenario.json providers", 1, "capacity_minutes.night"),
        ("scenario.json providers", 3, "cqc_rating"),
    ]
    assert errors[0].message == "unknown key"
    assert errors[1].message.endswith("(got '2026-02-30')")
    assert errors[-1].message.endswith("(got 'excellent')")


def test_json_cross_reference_errors_use_item_numbers(tmp_path: Path) -> None:
    document = json_document()
    document["packages"][2]["id"] = "K1"
    document["packages"][1]["preferred_provider"] = "NOPE"
    document["providers"][3]["base_postcode"] = "ZZ9 9ZZ"
    errors = rejected_document(document)
    assert errors == [
        InputError("request packages", 1, "id", "duplicate package id 'K1'"),
        InputError("request packages", 2, "preferred_provider", "no provider has id 'NOPE'"),
        InputError("request packages", 3, "id", "duplicate package id 'K1'"),
        InputError("request providers", 4, "base_postcode", "unknown postcode 'ZZ9 9ZZ'"),
    ]


def rejected_document(document: Any) -> list[InputError]:
    with pytest.raises(ScenarioError) as raised:
        scenario_from_document(document, load_postcode_index())
    return raised.value.errors


def test_json_document_with_missing_lists(tmp_path: Path) -> None:
    document = {"policy": json_document()["policy"], "providers": {}}
    assert rejected_document(document) == [
        InputError("request", None, "packages", "expected a list"),
        InputError("request", None, "providers", "expected a list"),
    ]


def test_json_document_that_is_not_an_object() -> None:
    assert rejected_document([1, 2]) == [
        InputError("request", None, None, "expected an object with policy, providers, packages")
    ]


def test_invalid_json_text(tmp_path: Path) -> None:
    path = tmp_path / "scenario.json"
    path.write_text('{"policy": ', encoding="utf-8")
    errors = rejected(path)
    assert places(errors) == [("scenario.json", None, None)]
    assert errors[0].message.startswith("not valid JSON: ")
