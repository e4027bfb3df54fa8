"""What-if studies: each change has exactly its known effect on a hand-made book, sweeps expand
as named, a file with mistakes is rejected with every one named, the same file always gives the
same books, the base is never touched, and every book built can be solved and passes the
independent checker of the hard rules.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from builders import CASCADE, NO_POSTCODES, package, policy, provider, scenario, solve, visit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocator.allocate import allocate
from allocator.errors import InputError, ScenarioError
from allocator.geography import Location, PostcodeIndex
from allocator.io.scenario_files import load_scenario
from allocator.io.whatif_files import load_study
from allocator.model import Band, CarePackage, ProviderStatus
from allocator.policy import Lot, Policy, Rotation, ZoneDefinition
from allocator.resolve import resolve
from allocator.result import Strategy
from allocator.scenario import Scenario
from allocator.validate import check_allocation
from allocator.whatif import Applied, Study, apply, check, expand

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"
OFFICE = PostcodeIndex({"S60 2UR": Location(53.43, -1.35, "postcode")}, {}, {})
"""Where an added provider's office is, so reading a file needs no postcode tables."""


def study(*scenarios: dict[str, Any], seed: int = 1) -> Study:
    return Study.model_validate({"name": "Test study", "seed": seed, "scenario": list(scenarios)})


def applied(base: Scenario, **changes: Any) -> Applied:
    """The one variant of a scenario with `changes`, applied to `base`."""
    (variant,) = expand(study({"name": "Test", **changes}))
    return apply(base, variant)


def capacities(result: Scenario, band: str) -> dict[str, int]:
    return {p.id: p.capacity(Band(band)) for p in result.providers}


def zoned_policy(**zones: list[str]) -> Policy:
    return policy().model_copy(
        update={"zones": {z: ZoneDefinition(postcodes=tuple(p)) for z, p in zones.items()}}
    )


def at(postcode: str, kid: str, **fields: Any) -> CarePackage:
    """A package living at `postcode`, zoned by the policy unless `zone` is given (the builders
    put everyone at S66 2AA, in North)."""
    return package(kid, **{"zone": None, **fields}).model_copy(update={"postcode": postcode})


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), "utf-8")
    return path


# -- each change's effect ----------------------------------------------------------------------


def test_capacity_scales_exactly_the_filtered_providers_and_bands() -> None:
    both = {"morning": 1000, "tea": 1000}
    base = scenario(
        [
            provider("N1", zones=["North"], capacity=both),
            provider("N2", zones=["North", "South"], capacity=both),
            provider("S1", zones=["South"], capacity=both),
        ],
        [],
    )
    book = applied(base, capacity=[{"scale": 0.8, "zones": ["North"], "bands": ["morning"]}])
    assert capacities(book.scenario, "morning") == {"N1": 800, "N2": 800, "S1": 1000}
    assert capacities(book.scenario, "tea") == {"N1": 1000, "N2": 1000, "S1": 1000}
    named = applied(base, capacity=[{"scale": 0.5, "providers": ["S1"]}])
    assert capacities(named.scenario, "morning") == {"N1": 1000, "N2": 1000, "S1": 500}
    assert capacities(named.scenario, "tea") == {"N1": 1000, "N2": 1000, "S1": 500}


def test_capacity_rounds_down_to_whole_minutes() -> None:
    base = scenario([provider("A", morning=999), provider("B", morning=100)], [])
    assert capacities(applied(base, capacity=[{"scale": 0.5}]).scenario, "morning") == {
        "A": 499,
        "B": 50,
    }
    # 100 x 0.29 is 28.999999999999996 in floating point; still 29 whole minutes.
    assert capacities(applied(base, capacity=[{"scale": 0.29}]).scenario, "morning")["B"] == 29


def test_a_capacity_cut_below_the_pins_frees_the_pinned_to_move() -> None:
    base = scenario(
        [provider("A", capacity={"morning": 1000, "tea": 200}), provider("B", morning=1000)],
        [
            package("K1", minutes=600, current="A", pinned=True),
            package("K2", minutes=60, band="tea", current="A", pinned=True),
            package("K3", minutes=300, current="B", pinned=True),
        ],
    )
    result = applied(base, capacity=[{"scale": 0.5}])
    assert result.unpinned == ("K1",)
    pins = {k.id: k.pinned for k in result.scenario.packages}
    assert pins == {"K1": False, "K2": True, "K3": True}
    assert result.scenario.package_by_id["K1"].current_provider == "A"


def test_demand_growth_adds_copies_of_packages_in_scope_waiting_with_new_ids() -> None:
    in_scope = [package(f"K{i}", current="P" if i % 2 else None, pinned=i == 1) for i in range(4)]
    base = scenario(
        [provider("P")],
        [
            *in_scope,
            package("S1", zone="South"),
            package("U1", urgency="hospital_discharge"),
        ],
    )
    result = applied(base, demand=[{"scale": 1.5, "zones": ["North"], "urgency": ["routine"]}])
    assert len(result.added_packages) == 2 and result.removed_packages == ()
    for new_id in result.added_packages:
        source_id, suffix = new_id.split(".")
        assert source_id in {"K0", "K1", "K2", "K3"} and suffix == "w1"
        copy = result.scenario.package_by_id[new_id]
        source = base.package_by_id[source_id]
        assert (copy.current_provider, copy.pinned) == (None, False)
        assert copy.model_copy(update={"id": source.id}) == source.model_copy(
            update={"current_provider": None, "pinned": False}
        )
    assert len(result.scenario.packages) == 8


def test_demand_growth_past_double_copies_some_packages_twice() -> None:
    base = scenario([provider("P")], [package("K0"), package("K1")])
    result = applied(base, demand=[{"scale": 3.0}])
    assert sorted(result.added_packages) == ["K0.w1", "K0.w2", "K1.w1", "K1.w2"]


def test_demand_shrink_removes_people_still_waiting_first() -> None:
    base = scenario(
        [provider("P")],
        [
            package("W1"),
            package("W2"),
            package("C1", current="P"),
            package("C2", current="P"),
            package("S1", zone="South"),
        ],
    )
    result = applied(base, demand=[{"scale": 0.5, "zones": ["North"]}])
    assert sorted(result.removed_packages) == ["W1", "W2"]
    assert [k.id for k in result.scenario.packages] == ["C1", "C2", "S1"]
    assert applied(base, demand=[{"scale": 0.0}]).scenario.packages == ()


def test_a_demand_sweep_adds_nested_samples() -> None:
    base = scenario([provider("P")], [package(f"K{i}") for i in range(8)])
    what_if = {"name": "Growth", "demand": [{"scale": 1.0}]}
    sweep = {"change": "demand", "values": [1.25, 1.5, 1.75]}
    variants = expand(study({**what_if, "sweep": sweep}))
    added = [set(apply(base, v).added_packages) for v in variants]
    assert [len(a) for a in added] == [2, 4, 6]
    assert added[0] < added[1] < added[2]


def test_removing_a_provider_displaces_exactly_its_packages() -> None:
    rules = policy().model_copy(
        update={
            "lots": (Lot(name="backup", providers=("A", "B")), Lot(name="solo", providers=("A",))),
            "rotations": (Rotation(zone="North", on="A", off="B"),),
        }
    )
    base = scenario(
        [provider("A"), provider("B"), provider("C")],
        [
            package("K1", current="A", pinned=True),
            package("K2", current="A"),
            package("K3", current="B", preferred_provider="A"),
            package("K4", excluded=["A", "C"]),
        ],
        rules,
    )
    result = applied(base, remove_providers=["A"])
    book = result.scenario
    assert result.displaced == ("K1", "K2")
    assert [p.id for p in book.providers] == ["B", "C"]
    assert [(k.current_provider, k.pinned) for k in book.packages[:2]] == [(None, False)] * 2
    assert book.package_by_id["K3"].preferred_provider is None
    assert book.package_by_id["K4"].excluded_providers == ("C",)
    assert [(lot.name, lot.providers) for lot in book.policy.lots] == [("backup", ("B",))]
    assert book.policy.rotations == ()


def test_an_embargo_stops_new_packages_but_keeps_existing_care() -> None:
    base = scenario([provider("A"), provider("B")], [package("K1", current="A", pinned=True)])
    result = applied(base, embargo_providers=["A"])
    statuses = {p.id: p.status for p in result.scenario.providers}
    assert statuses == {"A": ProviderStatus.EMBARGOED, "B": ProviderStatus.ACTIVE}
    assert result.scenario.packages == base.packages and result.displaced == ()


def test_a_redrawn_district_moves_its_sectors_and_everyone_living_there() -> None:
    rules = zoned_policy(North=["S61"], South=["S66 1", "S66 2", "S25"])
    people = [
        at("S61 1AA", "K1"),
        at("S66 1AB", "K2"),
        at("S66 2AB", "K3"),
        at("S66 3AB", "K4", zone="South"),
        at("S25 1AA", "K5"),
    ]
    base = scenario([provider("P", zones=["North", "South"])], people, rules)
    assert [k.zone for k in base.packages] == ["North", "South", "South", "South", "South"]
    result = applied(base, zones=[{"postcodes": ["s66"], "to": "North"}])
    assert result.rezoned == ("K2", "K3", "K4")
    assert [k.zone for k in result.scenario.packages] == ["North"] * 4 + ["South"]
    zones = result.scenario.policy.zones
    assert (zones["North"].postcodes, zones["South"].postcodes) == (("S61", "S66"), ("S25",))


def test_a_redrawn_sector_beats_its_district() -> None:
    rules = zoned_policy(North=["S61"], South=["S66"])
    people = [at("S66 1AB", "K1"), at("S66 2AB", "K2")]
    base = scenario([provider("P", zones=["North", "South"])], people, rules)
    result = applied(base, zones=[{"postcodes": ["S66 1"], "to": "North"}])
    assert result.rezoned == ("K1",)
    assert [k.zone for k in result.scenario.packages] == ["North", "South"]
    assert result.scenario.policy.zone_for_postcode("S66 1ZZ") == "North"


def test_rates_scale_to_the_penny_everywhere_or_only_in_the_zones_named() -> None:
    base = scenario(
        [
            provider(
                "A", zones=["North", "South"], rate=20.0, zone_rates_gbp_per_hour={"South": 21}
            ),
            provider("B", rate=23.45),
        ],
        [],
    )
    everywhere = {p.id: p for p in applied(base, rates=[{"scale": 1.03}]).scenario.providers}
    assert (everywhere["A"].rate_gbp_per_hour, everywhere["A"].rate_in("South")) == (20.6, 21.63)
    assert everywhere["B"].rate_gbp_per_hour == 24.15
    south = applied(base, rates=[{"scale": 1.1, "zones": ["North"], "providers": ["A"]}])
    a = south.scenario.provider_by_id["A"]
    assert (a.rate_in("North"), a.rate_in("South"), a.rate_gbp_per_hour) == (22.0, 21.0, 20.0)
    assert south.scenario.provider_by_id["B"] == base.provider_by_id["B"]


def test_rate_changes_compound_and_may_not_pass_what_a_provider_may_charge() -> None:
    base = scenario([provider("A", rate=20.0)], [])
    plan = study({"name": "Steep", "rates": [{"scale": 3.0}, {"scale": 4.0}]})
    assert check(base, plan.numbered(), "f.toml") == [
        InputError(
            "f.toml",
            1,
            "rates[1].scale",
            f"A's rate_gbp_per_hour would be 240.0: {RATE_CEILING}",
        )
    ]
    assert apply(base, expand(plan)[0]).scenario.providers[0].rate_gbp_per_hour == 240.0


def test_changes_apply_in_order_within_a_scenario() -> None:
    base = scenario([provider("A", morning=1000)], [package("K1", current="A")])
    added = provider("NEW", morning=1000)
    result = applied(
        base,
        remove_providers=["A"],
        add_providers=[added],
        capacity=[{"scale": 0.5}],
        rates=[{"scale": 2.0}],
    )
    (new,) = result.scenario.providers
    assert (new.id, new.capacity(Band.MORNING), new.rate_gbp_per_hour) == ("NEW", 500, 40.0)
    assert result.displaced == ("K1",)


# -- sweeps and the size limit -------------------------------------------------------------------


def test_a_sweep_expands_into_one_named_variant_per_value() -> None:
    plan = study(
        {"name": "Exit", "remove_providers": ["A"]},
        {
            "name": "Capacity sweep",
            "capacity": [{"scale": 1.0, "bands": ["morning"]}, {"scale": 1.0, "zones": ["North"]}],
            "sweep": {"change": "capacity", "from": 0.7, "to": 1.3, "step": 0.1},
        },
    )
    variants = expand(plan)
    assert [v.name for v in variants] == ["Exit"] + [
        f"Capacity sweep (capacity x{s})"
        for s in ("0.70", "0.80", "0.90", "1.00", "1.10", "1.20", "1.30")
    ]
    assert [v.number for v in variants] == [1] + [2] * 7
    scales = [[c.scale for c in v.changes.capacity] for v in variants[1:]]
    assert scales == [[s, s] for s in (0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3)]
    assert all(v.changes.sweep is None for v in variants)
    assert all(v.changes.capacity[0].bands == (Band.MORNING,) for v in variants[1:])


def test_sweep_names_show_as_many_decimals_as_tell_them_apart() -> None:
    what_if = {"name": "Fine", "rates": [{"scale": 1.0}]}
    sweep = {"change": "rates", "values": [1.01, 1.015, 1.02]}
    names = [v.name for v in expand(study({**what_if, "sweep": sweep}))]
    assert names == ["Fine (rates x1.010)", "Fine (rates x1.015)", "Fine (rates x1.020)"]


def test_the_size_limit_rejects_a_sweep_past_it_before_listing_anything() -> None:
    base = scenario([provider("P")], [package("K1")])
    huge = {"name": "Huge", "capacity": [{"scale": 1.0}]}
    huge["sweep"] = {"change": "capacity", "from": 0.0, "to": 10.0, "step": 1e-9}
    plan = study(huge)
    assert check(base, plan.numbered(), "f.toml") == [
        InputError(
            "f.toml",
            1,
            "sweep",
            "expands to 10,000,000,001 scenarios, more than the limit of 1,000",
        )
    ]
    with pytest.raises(ValueError, match="expands to 10,000,000,001 scenarios"):
        expand(plan)


def test_the_size_limit_counts_every_scenario_and_is_configurable() -> None:
    base = scenario([provider("P")], [package("K1")])
    sweep = {"change": "capacity", "values": [0.9, 1.1]}
    plan = study(
        {"name": "One", "capacity": [{"scale": 1.0}], "sweep": sweep},
        {"name": "Two", "capacity": [{"scale": 1.0}], "sweep": sweep},
    )
    assert check(base, plan.numbered(), "f.toml", max_scenarios=4) == []
    assert len(expand(plan, max_scenarios=4)) == 4
    assert check(base, plan.numbered(), "f.toml", max_scenarios=3) == [
        InputError(
            "f.toml", None, "scenario", "the file expands to 4 scenarios, more than the limit of 3"
        )
    ]


# -- reading the file: every mistake at once ------------------------------------------------------


def book() -> Scenario:
    return scenario(
        [provider("P1", zones=["North"]), provider("P2", zones=["South"], rate=25.0)],
        [package("K1", current="P1", pinned=True), package("K2"), package("K3", zone="South")],
    )


BAND_NAMES = "'morning', 'lunch', 'tea', 'bed' or 'night'"
URGENCY_NAMES = "'hospital_discharge', 'urgent_community' or 'routine'"
CQC_NAMES = "'outstanding', 'good', 'requires_improvement' or 'inadequate'"
NOT_AN_INTEGER = "Input should be a valid integer, unable to parse string as an integer"
PREFIX_FORMS = "district ('S66') or sector ('S66 1')"
RATE_CEILING = "Input should be less than or equal to 200"
GOOD_POLICY = """\
name = "Cost first"
version = "2"
goals = ["cost", "hours_placed"]
[zones.North]
[zones.South]
"""


def test_a_file_with_several_mistakes_is_rejected_with_every_one_named(tmp_path: Path) -> None:
    write(tmp_path / "north_only.toml", GOOD_POLICY.replace("[zones.South]\n", ""))
    write(tmp_path / "broken.toml", 'name = "Broken"\nversion = 1\n')
    path = write(
        tmp_path / "study.toml",
        """\
        name = "Mistakes"
        seeds = 3

        [[scenario]]
        name = "Unknown names"
        remove_providers = ["P9"]
        embargo_providers = ["P1", "Q1"]
        capacity = [{ scale = 0.8, zones = ["East"], providers = ["P2", "P7"] }]
        demand = [{ scale = 1.1, zones = ["West"] }]
        rates = [{ scale = 1.1, providers = ["P8"] }]

        [[scenario]]
        name = "Bad values"
        capacity = [{ scale = -0.5, bands = ["dawn"] }]
        demand = [{ scale = 1.1, urgency = ["soon"] }]

        [[scenario]]
        name = "Providers that clash with the book"
        [[scenario.add_providers]]
        id = "P1"
        name = "Again"
        zones = "North:1"
        base_postcode = "S60 2UR"
        rate_gbp_per_hour = 20
        cqc_rating = "good"
        [[scenario.add_providers]]
        id = "N1"
        name = "Far"
        zones = "East:1"
        base_postcode = "S60 2UR"
        rate_gbp_per_hour = 20
        cqc_rating = "good"
        [[scenario.add_providers]]
        id = "N1"
        name = "Twice"
        zones = "North:2"
        base_postcode = "ZZ9 9ZZ"
        rate_gbp_per_hour = 20
        cqc_rating = "good"

        [[scenario]]
        name = "Providers with unreadable cells"
        [[scenario.add_providers]]
        id = "N3"
        name = "Odd"
        zones = "North:x"
        base_postcode = "S60 2UR"
        rate_gbp_per_hour = 20
        cqc_rating = "great"
        colour = "red"
        [[scenario.add_providers]]
        id = "N4"
        name = "Vague"
        zones = "North:2"
        base_postcode = "S60 2UR"
        rate_gbp_per_hour = 20
        cqc_rating = "good"
        morning_minutes = "lots"

        [[scenario]]
        name = "Policies that do not load"
        policy = "missing.toml"

        [[scenario]]
        name = "A policy that does not cover the book"
        policy = "north_only.toml"

        [[scenario]]
        name = "A broken policy"
        policy = "broken.toml"

        [[scenario]]
        name = "Sweep of a change it lacks"
        capacity = [{ scale = 1.0 }]
        sweep = { change = "demand", from = 0.9, to = 1.1, step = 0.1 }

        [[scenario]]
        name = "Sweep past the limit"
        rates = [{ scale = 1.0 }]
        sweep = { change = "rates", from = 0.5, to = 1.5, step = 0.0001 }

        [[scenario]]
        name = "Redraw"
        [[scenario.zones]]
        postcodes = ["ZZ9", "S66"]
        to = "East"
        [[scenario.zones]]
        postcodes = ["S66 2"]
        to = "North"

        [[scenario]]
        name = "Not a postcode"
        zones = [{ postcodes = ["S6 6 6"], to = "North" }]

        [[scenario]]
        name = "Rates"
        rates = [{ scale = 9.5 }]

        [[scenario]]
        name = "Redraw"
        """,
    )
    with pytest.raises(ScenarioError) as rejected:
        load_study(path, book(), postcodes=OFFICE)
    source = str(path)
    found = [(e.row, e.field, e.message) for e in rejected.value.errors]
    assert all(e.source == source for e in rejected.value.errors)
    assert found == [
        (None, "seeds", "Extra inputs are not permitted (got 3)"),
        (1, "capacity[0].providers", "no provider 'P7' in the book"),
        (1, "capacity[0].zones", "no zone 'East' in the policy"),
        (1, "demand[0].zones", "no zone 'West' in the policy"),
        (1, "embargo_providers", "no provider 'Q1' in the book"),
        (1, "rates[0].providers", "no provider 'P8' in the book"),
        (1, "remove_providers", "no provider 'P9' in the book"),
        (2, "capacity[0].bands[0]", f"Input should be {BAND_NAMES} (got 'dawn')"),
        (2, "capacity[0].scale", "Input should be greater than or equal to 0 (got -0.5)"),
        (2, "demand[0].urgency[0]", f"Input should be {URGENCY_NAMES} (got 'soon')"),
        (3, "add_providers[0].id", "provider 'P1' is already in the book"),
        (3, "add_providers[1].zones", "no zone 'East' in the policy"),
        (3, "add_providers[2].base_postcode", "unknown postcode 'ZZ9 9ZZ': give lat and lon"),
        (3, "add_providers[2].id", "provider 'N1' is added twice"),
        (4, "add_providers[0].colour", "not a providers.csv column"),
        (4, "add_providers[0].cqc_rating", f"Input should be {CQC_NAMES} (got 'great')"),
        (4, "add_providers[0].zones", f"{NOT_AN_INTEGER} (got 'x')"),
        (4, "add_providers[1].morning_minutes", f"{NOT_AN_INTEGER} (got 'lots')"),
        (5, "policy", "cannot read missing.toml: No such file or directory"),
        (6, "policy", "zone 'South' of the book is not a zone of policy Cost first v2"),
        (7, "policy", "broken.toml, version: Input should be a valid string (got 1)"),
        (7, "policy", "broken.toml, zones: Field required"),
        (8, "sweep", "sweeps demand, but the scenario has no demand change"),
        (9, "sweep", "expands to 10,001 scenarios, more than the limit of 1,000"),
        (10, "zones[0].postcodes", "ZZ9 is in no zone of the policy and no package is there"),
        (10, "zones[0].to", "no zone 'East' in the policy"),
        (11, "zones[0].postcodes[0]", f"'S6 6 6' is not a postcode {PREFIX_FORMS}"),
        (12, "rates[0].scale", f"P2's rate_gbp_per_hour would be 237.5: {RATE_CEILING}"),
        (13, "name", "scenario 10 is also named 'Redraw'"),
    ]


def test_a_toml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "study.toml", 'name = "Typo"\n[[scenario]]\nname = \n')
    with pytest.raises(ScenarioError) as rejected:
        load_study(path, book())
    (error,) = rejected.value.errors
    assert (error.source, error.row, error.field) == (str(path), None, None)
    assert error.message.startswith("not valid TOML") and "line 3" in error.message


def test_a_provider_added_as_a_providers_csv_row_joins_the_book(tmp_path: Path) -> None:
    path = write(
        tmp_path / "study.toml",
        """\
        name = "Market entry"
        [[scenario]]
        name = "New provider"
        [[scenario.add_providers]]
        id = "NEW-1"
        name = "Rowan Care"
        zones = "North:2:1; South:3"
        base_postcode = "s60 2ur"
        morning_minutes = 600
        tea_minutes = "300"
        double_up = true
        specialisms = ["dementia", "end of life"]
        rate_gbp_per_hour = 24.5
        zone_rates = "South:25.10"
        cqc_rating = "good"
        """,
    )
    (variant,) = expand(load_study(path, book(), postcodes=OFFICE))
    new = apply(book(), variant).scenario.provider_by_id["NEW-1"]
    assert [(z.zone, z.tier, z.rank) for z in new.zones] == [("North", 2, 1), ("South", 3, None)]
    assert (new.capacity(Band.MORNING), new.capacity(Band.TEA), new.capacity(Band.BED)) == (
        600,
        300,
        0,
    )
    assert (new.double_up, new.specialisms) == (True, ("dementia", "end_of_life"))
    assert (new.rate_in("North"), new.rate_in("South")) == (24.5, 25.1)
    assert (new.base_postcode, new.lat, new.lon) == ("S60 2UR", 53.43, -1.35)


def test_a_policy_file_replaces_the_rule(tmp_path: Path) -> None:
    write(tmp_path / "cost_first.toml", GOOD_POLICY)
    path = write(
        tmp_path / "study.toml",
        """\
        name = "Rules"
        [[scenario]]
        name = "Cost first"
        policy = "cost_first.toml"
        """,
    )
    (variant,) = expand(load_study(path, book()))
    result = apply(book(), variant).scenario
    assert result.policy.label == "Cost first v2"
    assert [g.value for g in result.policy.goals] == ["cost", "hours_placed"]
    assert result.packages == book().packages


# -- determinism, purity and solving what is built -----------------------------------------------


def test_the_same_file_gives_the_same_books() -> None:
    base = load_scenario(EXAMPLES / "small_council")
    path = EXAMPLES / "whatif" / "small_council.toml"
    first = [apply(base, v) for v in expand(load_study(path, base))]
    again = [apply(base, v) for v in expand(load_study(path, base))]
    assert first == again
    grown = next(a for a in first if a.added_packages)
    assert grown.added_packages == next(a for a in again if a.added_packages).added_packages


def test_another_seed_draws_another_sample() -> None:
    base = scenario([provider("P")], [package(f"K{i}") for i in range(20)])
    growth = {"name": "Growth", "demand": [{"scale": 1.25}]}
    samples = {
        apply(base, expand(study(growth, seed=seed))[0]).added_packages for seed in (1, 2, 3)
    }
    assert len(samples) == 3


@pytest.mark.parametrize(
    ("book_name", "file_name", "count"),
    [("rotherham", "rotherham_capacity", 11), ("small_council", "small_council", 9)],
)
def test_the_shipped_examples_load_apply_and_solve(
    book_name: str, file_name: str, count: int
) -> None:
    base = load_scenario(EXAMPLES / book_name)
    variants = expand(load_study(EXAMPLES / "whatif" / f"{file_name}.toml", base))
    assert len(variants) == count
    for variant in variants:
        result = apply(base, variant).scenario
        allocation = allocate(result, Strategy.CASCADE)
        assert check_allocation(result, allocation.assignment) == [], variant.name


def test_a_provider_exit_on_the_rotherham_example_displaces_its_people() -> None:
    base = load_scenario(EXAMPLES / "rotherham")
    variants = expand(load_study(EXAMPLES / "whatif" / "rotherham_capacity.toml", base))
    exit_ = apply(base, variants[0])
    assert variants[0].name == "T1-NOR-1 exits the market"
    assert exit_.displaced == tuple(k.id for k in base.packages if k.current_provider == "T1-NOR-1")
    assert len(exit_.displaced) == 80
    assert "T1-NOR-1" not in exit_.scenario.provider_by_id


IDS = ("A", "B", "C")
ZONE_NAMES = ("North", "South")
SCALE = st.floats(0, 3, allow_nan=False).map(lambda x: round(x, 3))


def _some(values: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(values), max_size=len(values), unique=True)


def _change(scale: st.SearchStrategy[float], **filters: tuple[str, ...]) -> Any:
    return st.fixed_dictionaries(
        {"scale": scale}, optional={name: _some(values) for name, values in filters.items()}
    )


WHAT_IFS = st.fixed_dictionaries(
    {"name": st.just("Random")},
    optional={
        "zones": st.lists(
            st.fixed_dictionaries(
                {
                    "postcodes": st.lists(
                        st.sampled_from(["S61", "S66", "S61 1", "S66 2"]),
                        min_size=1,
                        max_size=2,
                        unique=True,
                    ),
                    "to": st.sampled_from(ZONE_NAMES),
                }
            ),
            max_size=2,
        ),
        "remove_providers": _some(IDS),
        "embargo_providers": _some(IDS),
        "capacity": st.lists(
            _change(SCALE, providers=IDS, zones=ZONE_NAMES, bands=("morning", "tea")), max_size=2
        ),
        "rates": st.lists(
            _change(st.floats(0.5, 2, allow_nan=False), providers=IDS, zones=ZONE_NAMES),
            max_size=2,
        ),
        "demand": st.lists(
            _change(SCALE, zones=ZONE_NAMES, urgency=("routine", "hospital_discharge")),
            max_size=2,
        ),
    },
)


def property_book() -> Scenario:
    rules = zoned_policy(North=["S61"], South=["S66"]).model_copy(
        update={
            "lots": (Lot(name="backup", providers=("B", "C"), max_weekly_hours=20),),
            "rotations": (Rotation(zone="North", on="A", off="B"),),
        }
    )
    rich = {"morning": 600, "tea": 300}
    return scenario(
        [
            provider("A", zones=["North"], capacity=rich),
            provider("B", zones=["North", "South"], capacity=rich),
            provider("C", zones=["South"], capacity=rich, rate=30.0),
        ],
        [
            at("S61 1AA", "K1", current="A", pinned=True, minutes=240),
            at("S61 2AB", "K2", current="B", band="tea"),
            at("S66 1AA", "K3", urgency="hospital_discharge"),
            at("S66 2AA", "K4", current="C", pinned=True, minutes=120),
            at("S66 2AB", "K5", visits=[visit("morning", 30), visit("tea", 30, days="mon,thu")]),
            at("S61 3AB", "K6", excluded=["C"], preferred_provider="A"),
        ],
        rules,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(what_if=WHAT_IFS)
def test_apply_never_touches_the_base_and_always_builds_a_valid_solvable_book(
    what_if: dict[str, Any],
) -> None:
    base = property_book()
    before = base.model_dump()
    plan = study(what_if)
    assert check(base, plan.numbered(), "random.toml") == []
    (variant,) = expand(plan)
    result = apply(base, variant)
    assert base.model_dump() == before
    changed = result.scenario
    assert Scenario.model_validate(changed.model_dump()) == changed
    assert resolve(changed, NO_POSTCODES) == changed
    gone = set(what_if.get("remove_providers", ()))
    assert set(result.displaced) == {k.id for k in base.packages if k.current_provider in gone}
    new = {k.id for k in changed.packages} - set(base.package_by_id)
    assert new == set(result.added_packages)
    solve(changed, CASCADE)
