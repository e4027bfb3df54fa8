"""The independent validator: each hard rule fires exactly when it should, and not when exempt."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from allocator.model import (
    DAYS,
    Band,
    CarePackage,
    CqcRating,
    Day,
    Provider,
    ProviderStatus,
    Visit,
    ZoneService,
)
from allocator.policy import HardFilters, Policy
from allocator.scenario import Scenario
from allocator.validate import Violation, check_allocation

BIG = 100_000


def provider(pid: str = "P1", zone: str = "North", **overrides: Any) -> Provider:
    fields: dict[str, Any] = {
        "id": pid,
        "name": f"Provider {pid}",
        "zones": (ZoneService(zone=zone, tier=1),),
        "base_postcode": "S60 1AA",
        "capacity_minutes": dict.fromkeys(Band, BIG),
        "double_up": True,
        "rate_gbp_per_hour": 24.0,
        "cqc_rating": CqcRating.GOOD,
    }
    return Provider(**(fields | overrides))


def package(kid: str = "K1", zone: str = "North", **overrides: Any) -> CarePackage:
    fields: dict[str, Any] = {
        "id": kid,
        "postcode": "S61 1AA",
        "zone": zone,
        "visits": (Visit(days=DAYS, band=Band.MORNING, minutes=30),),
        "referral_date": date(2026, 1, 5),
    }
    return CarePackage(**(fields | overrides))


def scenario(providers: list[Provider], packages: list[CarePackage], **filters: Any) -> Scenario:
    policy = Policy(
        name="t",
        version="1",
        zones={"North": {}, "South": {}},
        hard_filters=HardFilters(**filters),
    )
    return Scenario(policy=policy, providers=tuple(providers), packages=tuple(packages))


def rules(violations: list[Violation]) -> list[tuple[str, str | None, str | None]]:
    return [(v.rule, v.package_id, v.provider_id) for v in violations]


def test_a_valid_allocation_has_no_violations() -> None:
    s = scenario([provider("P1"), provider("P2", "South")], [package("K1"), package("K2", "South")])
    assert check_allocation(s, {"K1": "P1", "K2": "P2"}) == []
    assert check_allocation(s, {}) == []


def test_unknown_ids_are_reported_and_not_checked_further() -> None:
    s = scenario([provider("P1")], [package("K1")])
    found = check_allocation(s, {"K1": "NOPE", "GHOST": "P1"})
    assert rules(found) == [
        ("unknown_package", "GHOST", "P1"),
        ("unknown_provider", "K1", "NOPE"),
    ]
    assert found[0].message == "Package GHOST is not in the scenario."


def test_zone_fires_out_of_zone_but_not_for_the_current_provider() -> None:
    south = provider("PS", "South")
    s = scenario([south], [package("K1"), package("K2", current_provider="PS")])
    found = check_allocation(s, {"K1": "PS", "K2": "PS"})
    assert rules(found) == [("zone", "K1", "PS")]
    assert "does not serve zone North" in found[0].message


def test_zone_filter_disabled_does_not_fire() -> None:
    s = scenario([provider("PS", "South")], [package("K1")], zone=False)
    assert check_allocation(s, {"K1": "PS"}) == []


@pytest.mark.parametrize(
    ("rating", "floor", "fires"),
    [
        (CqcRating.INADEQUATE, CqcRating.REQUIRES_IMPROVEMENT, True),
        (CqcRating.REQUIRES_IMPROVEMENT, CqcRating.REQUIRES_IMPROVEMENT, False),
        (CqcRating.REQUIRES_IMPROVEMENT, CqcRating.GOOD, True),
        (CqcRating.OUTSTANDING, CqcRating.GOOD, False),
        (CqcRating.INADEQUATE, None, False),
    ],
)
def test_cqc_floor(rating: CqcRating, floor: CqcRating | None, fires: bool) -> None:
    s = scenario([provider("P1", cqc_rating=rating)], [package("K1")], cqc_floor=floor)
    expected = [("cqc_floor", "K1", "P1")] if fires else []
    assert rules(check_allocation(s, {"K1": "P1"})) == expected


def test_cqc_floor_exempts_the_current_provider() -> None:
    weak = provider("P1", cqc_rating=CqcRating.INADEQUATE)
    s = scenario([weak], [package("K1"), package("K2", current_provider="P1")])
    assert rules(check_allocation(s, {"K1": "P1", "K2": "P1"})) == [("cqc_floor", "K1", "P1")]


def test_embargo_stops_new_packages_only() -> None:
    shut = provider("P1", status=ProviderStatus.EMBARGOED)
    s = scenario([shut], [package("NEW"), package("OLD", current_provider="P1")])
    found = check_allocation(s, {"NEW": "P1", "OLD": "P1"})
    assert rules(found) == [("embargo", "NEW", "P1")]
    assert "embargoed" in found[0].message


def test_embargo_filter_disabled_does_not_fire() -> None:
    s = scenario([provider("P1", status=ProviderStatus.EMBARGOED)], [package("K1")], embargo=False)
    assert check_allocation(s, {"K1": "P1"}) == []


def test_specialism_needs_every_tag_even_with_the_current_provider() -> None:
    p = provider("P1", specialisms=("dementia",))
    k_ok = package("K1", specialisms=("dementia",))
    k_bad = package("K2", specialisms=("dementia", "end_of_life"), current_provider="P1")
    found = check_allocation(scenario([p], [k_ok, k_bad]), {"K1": "P1", "K2": "P1"})
    assert rules(found) == [("specialism", "K2", "P1")]
    assert "end_of_life" in found[0].message and "dementia," not in found[0].message
    off = scenario([p], [k_bad], specialism=False)
    assert check_allocation(off, {"K2": "P1"}) == []


def test_exclusions_apply_even_to_the_current_provider() -> None:
    k = package("K1", excluded_providers=("P1",), current_provider="P1")
    s = scenario([provider("P1"), provider("P2")], [k])
    assert rules(check_allocation(s, {"K1": "P1"})) == [("exclusions", "K1", "P1")]
    assert check_allocation(s, {"K1": "P2"}) == []
    off = scenario([provider("P1")], [k], exclusions=False)
    assert check_allocation(off, {"K1": "P1"}) == []


def test_double_up_needs_a_capable_provider() -> None:
    single = provider("P1", double_up=False)
    two = package("K2", visits=(Visit(days=(Day.MON,), band=Band.BED, minutes=30, carers=2),))
    s = scenario([single], [package("K1"), two])
    assert rules(check_allocation(s, {"K1": "P1", "K2": "P1"})) == [("double_up", "K2", "P1")]
    off = scenario([single], [two], double_up=False)
    assert check_allocation(off, {"K2": "P1"}) == []


@pytest.mark.parametrize(
    ("mode", "preference", "fires"),
    [
        ("hard", "female", True),
        ("hard", None, False),
        ("soft", "female", False),
        ("off", "male", False),
    ],
)
def test_same_gender_only_when_hard(mode: str, preference: str | None, fires: bool) -> None:
    s = scenario(
        [provider("P1", same_gender=False)],
        [package("K1", gender_preference=preference)],
        same_gender=mode,
    )
    expected = [("same_gender", "K1", "P1")] if fires else []
    assert rules(check_allocation(s, {"K1": "P1"})) == expected


def test_pinned_with_current_provider_is_exempt_from_every_pair_filter() -> None:
    bad = provider(
        "P1",
        "South",
        status=ProviderStatus.EMBARGOED,
        cqc_rating=CqcRating.INADEQUATE,
        double_up=False,
        same_gender=False,
    )
    k = package(
        "K1",
        pinned=True,
        current_provider="P1",
        specialisms=("dementia",),
        excluded_providers=("P1",),
        gender_preference="female",
        visits=(Visit(days=(Day.MON,), band=Band.TEA, minutes=30, carers=2),),
    )
    s = scenario([bad], [k], same_gender="hard")
    assert check_allocation(s, {"K1": "P1"}) == []
    unpinned = scenario([bad], [k.model_copy(update={"pinned": False})], same_gender="hard")
    assert [v.rule for v in check_allocation(unpinned, {"K1": "P1"})] == [
        "double_up",
        "exclusions",
        "same_gender",
        "specialism",
    ]


def test_pinned_placed_elsewhere_or_not_at_all_is_a_violation() -> None:
    k = package("K1", pinned=True, current_provider="P1")
    s = scenario([provider("P1"), provider("P2")], [k])
    elsewhere = check_allocation(s, {"K1": "P2"})
    assert rules(elsewhere) == [("pinned", "K1", "P1")]
    assert "is placed with P2" in elsewhere[0].message
    missing = check_allocation(s, {})
    assert rules(missing) == [("pinned", "K1", "P1")]
    assert "is not placed" in missing[0].message


def test_pinned_placed_elsewhere_is_still_held_to_the_pair_filters() -> None:
    k = package("K1", pinned=True, current_provider="P1", excluded_providers=("P2",))
    s = scenario([provider("P1"), provider("P2")], [k])
    assert rules(check_allocation(s, {"K1": "P2"})) == [
        ("exclusions", "K1", "P2"),
        ("pinned", "K1", "P1"),
    ]


# Daily morning 30 minutes with two carers: 7 x 30 x 2 = 420 carer minutes a week.
DOUBLE_UP_DAILY = (Visit(days=DAYS, band=Band.MORNING, minutes=30, carers=2),)


def test_capacity_counts_a_double_up_call_twice_exactly_at_capacity_passes() -> None:
    p = provider("P1", capacity_minutes={Band.MORNING: 420})
    s = scenario([p], [package("K1", visits=DOUBLE_UP_DAILY)])
    assert check_allocation(s, {"K1": "P1"}) == []


def test_capacity_one_minute_over_fails_and_names_band_and_excess() -> None:
    p = provider("P1", capacity_minutes={Band.MORNING: 419, Band.TEA: BIG})
    s = scenario([p], [package("K1", visits=DOUBLE_UP_DAILY)])
    found = check_allocation(s, {"K1": "P1"})
    assert rules(found) == [("capacity", None, "P1")]
    assert found[0].message == (
        "Provider P1 has 420 morning carer minutes placed against 419 offered: 1 over."
    )


def test_capacity_sums_packages_per_band_and_a_missing_band_offers_nothing() -> None:
    p = provider("P1", capacity_minutes={Band.MORNING: 400})
    mon_tea = (Visit(days=(Day.MON,), band=Band.TEA, minutes=15),)
    s = scenario([p], [package("K1"), package("K2"), package("K3", visits=mon_tea)])
    found = check_allocation(s, {"K1": "P1", "K2": "P1", "K3": "P1"})
    assert [v.message for v in found] == [
        "Provider P1 has 420 morning carer minutes placed against 400 offered: 20 over.",
        "Provider P1 has 15 tea carer minutes placed against 0 offered: 15 over.",
    ]
    assert check_allocation(s, {"K1": "P1"}) == []


def test_max_weekly_hours_counts_all_bands_with_float_tolerance() -> None:
    # 4.1 * 60 is 245.99999999999997 in floating point: 246 minutes must still fit.
    visits = (
        Visit(days=(Day.MON,), band=Band.MORNING, minutes=200),
        Visit(days=(Day.TUE,), band=Band.BED, minutes=23, carers=2),
    )
    p = provider("P1", max_weekly_hours=4.1)
    assert check_allocation(scenario([p], [package("K1", visits=visits)]), {"K1": "P1"}) == []
    one_more = visits + (Visit(days=(Day.WED,), band=Band.LUNCH, minutes=1),)
    found = check_allocation(scenario([p], [package("K1", visits=one_more)]), {"K1": "P1"})
    assert rules(found) == [("max_weekly_hours", None, "P1")]
    assert "247 carer minutes" in found[0].message


def test_no_weekly_cap_means_no_check() -> None:
    s = scenario([provider("P1", max_weekly_hours=None)], [package("K1")])
    assert check_allocation(s, {"K1": "P1"}) == []


def test_violations_are_sorted_by_rule_package_and_provider() -> None:
    p = provider("P1", "South", double_up=False, capacity_minutes={})
    packages = [package(k, visits=DOUBLE_UP_DAILY) for k in ("K2", "K1")]
    found = check_allocation(scenario([p], packages), {"K2": "P1", "K1": "P1"})
    assert rules(found) == [
        ("capacity", None, "P1"),
        ("double_up", "K1", "P1"),
        ("double_up", "K2", "P1"),
        ("zone", "K1", "P1"),
        ("zone", "K2", "P1"),
    ]
    assert "840 morning carer minutes" in found[0].message
