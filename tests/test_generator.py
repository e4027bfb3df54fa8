"""The scenario generator: real places, published marginals, the real frameworks' rules, and
clear refusals, all checked through the core's own reader and independent validator."""

from __future__ import annotations

import filecmp
import tomllib
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocator import cli
from allocator.allocate import allocate
from allocator.generator.parameters import BURY_VISITS_PER_WEEK_2017_18, DemandParameters
from allocator.generator.places import england_councils
from allocator.io.generator_tables import load_england_lsoas, load_generator_tables
from allocator.io.policy_toml import PolicyNotes, policy_toml
from allocator.io.scenario_files import load_scenario
from allocator.io.scenario_writer import write_scenario
from allocator.policy import Policy
from allocator.result import Strategy
from allocator.scenario import Scenario
from allocator.solve import SolveParams
from allocator.validate import check_allocation

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = REPO_ROOT / "data" / "examples"
COUNCIL_CODES = {"rotherham": "E08000018", "bury": "E08000002"}


def generate(tmp_path: Path, preset: str, *options: str, name: str | None = None) -> Path:
    out = tmp_path / (name or preset)
    assert cli.main(["generate", preset, "--out", str(out), *options]) == 0
    return out


@pytest.fixture(scope="module")
def rotherham(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("gen"), "rotherham", "--seed", "3")


@pytest.fixture(scope="module")
def bury(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("gen"), "bury", "--seed", "3")


@pytest.fixture(scope="module", params=["rotherham", "bury"])
def real_framework(request: pytest.FixtureRequest) -> tuple[str, Scenario]:
    folder = request.getfixturevalue(request.param)
    return request.param, load_scenario(folder)


# -- reproducible, loadable, real -------------------------------------------------------------


@pytest.mark.parametrize("preset", ["rotherham", "bury"])
def test_the_same_seed_gives_byte_identical_files(tmp_path: Path, preset: str) -> None:
    first = generate(tmp_path, preset, "--seed", "5", name="first")
    again = generate(tmp_path, preset, "--seed", "5", name="again")
    other = generate(tmp_path, preset, "--seed", "6", name="other")
    names = sorted(p.name for p in first.iterdir())

    assert names == ["README.md", "packages.csv", "policy.toml", "providers.csv"]
    assert filecmp.cmpfiles(first, again, names, shallow=False)[0] == names
    assert (first / "packages.csv").read_bytes() != (other / "packages.csv").read_bytes()


@pytest.mark.parametrize(
    ("example", "preset", "seed"),
    [("rotherham", "rotherham", 1), ("bury", "bury", 1), ("small_council", "small", 7)],
)
def test_the_shipped_examples_are_what_the_generator_makes(
    tmp_path: Path, example: str, preset: str, seed: int
) -> None:
    fresh = generate(tmp_path, preset, "--seed", str(seed))
    shipped = EXAMPLES / example
    names = sorted(p.name for p in fresh.iterdir())

    assert sorted(p.name for p in shipped.iterdir()) == names
    assert filecmp.cmpfiles(shipped, fresh, names, shallow=False)[0] == names
    assert f"allocator generate {preset} --seed {seed}" in (shipped / "README.md").read_text()


def test_every_package_lives_at_a_real_postcode_of_its_council(real_framework) -> None:
    preset, scenario = real_framework
    postcodes = load_generator_tables().postcodes
    council = set(postcodes.loc[postcodes["lad_code"] == COUNCIL_CODES[preset], "postcode"])

    assert {k.postcode for k in scenario.packages} <= council
    assert {p.base_postcode for p in scenario.providers} <= council


def test_every_provider_rate_is_in_the_published_range(real_framework) -> None:
    _, scenario = real_framework
    rates = [p.rate_gbp_per_hour for p in scenario.providers] + [
        r for p in scenario.providers for r in p.zone_rates_gbp_per_hour.values()
    ]

    assert min(rates) >= 21.43 and max(rates) <= 32.14


# -- published marginals ----------------------------------------------------------------------


def test_visit_lengths_follow_burys_published_mix(real_framework) -> None:
    _, scenario = real_framework
    lengths = Counter()
    for package in scenario.packages:
        for visit in package.visits:
            key = visit.minutes if visit.minutes <= 60 else "longer"
            lengths[key] += len(visit.days)
    total = sum(lengths.values())
    published = sum(BURY_VISITS_PER_WEEK_2017_18.values())

    for length, visits in BURY_VISITS_PER_WEEK_2017_18.items():
        assert lengths[length] / total == pytest.approx(visits / published, abs=0.03), length


def test_packages_average_12_to_17_hours_a_week(real_framework) -> None:
    _, scenario = real_framework
    hours = [sum(k.carer_minutes_by_band().values()) / 60 for k in scenario.packages]

    assert 12 <= np.mean(hours) <= 17
    assert 12_000 <= sum(hours) <= 15_000  # the issue: about 13,000 hours a week


def test_the_queue_has_double_ups_four_call_packages_and_hospital_discharges(
    real_framework,
) -> None:
    _, scenario = real_framework
    packages = scenario.packages
    share = DemandParameters().double_up_share

    assert sum(k.needs_double_up for k in packages) == round(share * len(packages))
    assert sum(k.calls_per_day >= 4 for k in packages) / len(packages) > 0.3
    waiting = [k for k in packages if k.current_provider is None]
    discharges = [k for k in waiting if k.urgency.value == "hospital_discharge"]
    assert 0.2 < len(discharges) / len(waiting) < 0.4


def test_packages_per_zone_follow_the_60_plus_population(real_framework) -> None:
    preset, scenario = real_framework
    tables = load_generator_tables()
    # Expected, from the raw tables and the published zone map only: each small area's 60+
    # people shared equally among its postcodes that the map covers (it leaves out retired
    # districts and fringe sectors), each in the zone the policy gives it.
    postcodes = tables.postcodes[tables.postcodes["lad_code"] == COUNCIL_CODES[preset]].copy()
    postcodes["zone"] = [scenario.policy.zone_for_postcode(pc) for pc in postcodes["postcode"]]
    postcodes = postcodes[postcodes["zone"].notna()]
    people = tables.lsoas.set_index("lsoa21_code")["pop_60plus_mid2015"]
    per_postcode = postcodes["lsoa21_code"].map(people) / postcodes.groupby("lsoa21_code")[
        "postcode"
    ].transform("size")
    expected = per_postcode.groupby(postcodes["zone"]).sum()
    expected /= expected.sum()
    observed = pd.Series(Counter(k.zone for k in scenario.packages)) / len(scenario.packages)

    for zone in scenario.policy.zones:
        assert observed[zone] == pytest.approx(expected[zone], abs=0.04), zone


# -- the real frameworks ----------------------------------------------------------------------


def test_rotherham_has_three_zones_of_three_ranked_tier_1_providers(rotherham: Path) -> None:
    scenario = load_scenario(rotherham)
    tier1 = Counter((z.zone, z.rank) for p in scenario.providers for z in p.zones if z.tier == 1)

    assert list(scenario.policy.zones) == ["North", "Central", "South"]
    assert tier1 == {
        (zone, rank): 1 for zone in ("North", "Central", "South") for rank in (1, 2, 3)
    }
    assert 40 <= len(scenario.providers) <= 50
    (lot,) = scenario.policy.lots
    specialists = [p for p in scenario.providers if p.id in lot.providers]
    assert specialists and all("learning_disability" in p.specialisms for p in specialists)


def test_bury_has_five_rotating_pairs_and_capped_backups(bury: Path) -> None:
    scenario = load_scenario(bury)
    policy = scenario.policy

    assert len(policy.zones) == 5 and len(policy.rotations) == 5
    assert all(r.share == 0.8 for r in policy.rotations)
    (lot,) = policy.lots
    assert lot.max_weekly_hours == 600 and len(lot.providers) == 5
    offered = sum(
        sum(p.capacity_minutes.values()) for p in scenario.providers if p.id in lot.providers
    )
    assert offered / 60 > 600, "the backups could offer more than the cap lets them use"


@pytest.mark.parametrize("strategy", [Strategy.OPTIMISE, Strategy.CASCADE])
def test_bury_rotation_and_backup_cap_hold_in_solved_results(bury: Path, strategy) -> None:
    scenario = load_scenario(bury)
    allocation = allocate(scenario, strategy, SolveParams(time_limit_s=5))
    backups = set(scenario.policy.lots[0].providers)
    minutes = {k.id: sum(k.carer_minutes_by_band().values()) for k in scenario.packages}

    assert check_allocation(scenario, allocation.assignment) == []
    backup_hours = sum(minutes[k] for k, p in allocation.assignment.items() if p in backups) / 60
    assert 0 < backup_hours <= 600
    new = [k for k in scenario.packages if k.current_provider is None]
    on = {r.on for r in scenario.policy.rotations}
    taken_on = sum(allocation.assignment.get(k.id) in on for k in new)
    assert taken_on > 0


# -- policies and the writer ------------------------------------------------------------------


def test_a_policy_reads_back_from_its_toml_exactly(real_framework) -> None:
    _, scenario = real_framework
    text = policy_toml(scenario.policy, PolicyNotes("A test.", zones="Why the zones."))

    assert Policy.model_validate(tomllib.loads(text)) == scenario.policy


def test_a_written_scenario_loads_back_the_same(tmp_path: Path) -> None:
    scenario = load_scenario(EXAMPLES / "small_council")
    text = (EXAMPLES / "small_council" / "policy.toml").read_text()
    write_scenario(tmp_path / "copy", scenario.providers, scenario.packages, text)

    assert load_scenario(tmp_path / "copy") == scenario


# -- refusals before any work -----------------------------------------------------------------


def _refused(tmp_path: Path, capsys, *args: str) -> str:
    out = tmp_path / "out"
    assert cli.main(["generate", *args, "--out", str(out)]) == 2
    assert not out.exists()
    return capsys.readouterr().err


def test_an_unknown_preset_is_refused(tmp_path: Path, capsys) -> None:
    err = _refused(tmp_path, capsys, "wigan")
    assert "unknown preset 'wigan'; choose one of small, rotherham, bury, county, england" in err


def test_a_council_code_not_in_the_data_is_refused(tmp_path: Path, capsys) -> None:
    err = _refused(tmp_path, capsys, "england", "--council", "E99999999")
    assert "unknown council code(s) E99999999" in err


def test_a_scale_that_would_exhaust_memory_is_refused(tmp_path: Path, capsys) -> None:
    err = _refused(tmp_path, capsys, "rotherham", "--scale", "400", "--memory-limit-gb", "8")
    assert "would have 440,000 packages and need about" in err
    assert "over the 8.0 GB limit" in err


@pytest.mark.parametrize("scale", ["0", "-1", "5000"])
def test_a_scale_out_of_range_is_refused(tmp_path: Path, capsys, scale: str) -> None:
    assert "--scale must be above 0" in _refused(tmp_path, capsys, "bury", "--scale", scale)


# -- the county and England ---------------------------------------------------------------------


def test_the_county_is_essex_sized_with_ranked_district_tiers(tmp_path: Path) -> None:
    scenario = load_scenario(generate(tmp_path, "county", "--seed", "2"))
    hours = sum(sum(k.carer_minutes_by_band().values()) for k in scenario.packages) / 60
    services = [z for p in scenario.providers for z in p.zones]

    assert len(scenario.policy.zones) == 12
    assert len(scenario.packages) == 7_500
    assert hours == pytest.approx(128_000, rel=0.05)
    assert all(z.rank is not None for z in services if z.tier == 1)
    assert all(z.rank is None for z in services if z.tier == 2)
    ranks = Counter(z.zone for z in services if z.tier == 1 and z.rank == 1)
    assert ranks == dict.fromkeys(scenario.policy.zones, 1)
    # Homes are small-area centroids, known to the core by their real postcode sector.
    assert all(len(k.postcode.split(" ")[1]) == 1 for k in scenario.packages)


def test_england_writes_one_loadable_scenario_per_council_asked_for(tmp_path: Path) -> None:
    rutland, scilly = "E06000017", "E06000053"
    out = generate(tmp_path, "england", "--council", rutland, "--council", scilly)
    councils = pd.read_csv(out / "councils.csv")

    assert list(councils["council_code"]) == [rutland, scilly]
    for row in councils.itertuples():
        scenario = load_scenario(out / row.folder)
        assert len(scenario.packages) == row.packages > 0
    # Each council's share of the 650,000 packages is its share of England's 60+ population.
    table = england_councils(load_england_lsoas()).set_index("council_code")["pop_60plus"]
    expected = (650_000 * table / table.sum()).round()
    assert list(councils["packages"]) == [expected[rutland], expected[scilly]]


@pytest.mark.parametrize("preset", ["rotherham", "bury"])
def test_the_published_policies_are_the_examples_rules(preset: str) -> None:
    published = REPO_ROOT / "data" / "policies" / f"{preset}.toml"

    assert published.read_bytes() == (EXAMPLES / preset / "policy.toml").read_bytes()
    Policy.model_validate(tomllib.loads(published.read_text(encoding="utf-8")))
