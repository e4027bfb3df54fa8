"""The shipped example `data/examples/small_council/`: reproducible, valid and realistic."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from allocator.io.visit_text import parse_visits
from allocator.model import BANDS, CarePackage, Provider
from allocator.policy import Policy

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = REPO_ROOT / "data" / "examples" / "small_council"
SCRIPT = REPO_ROOT / "data" / "examples" / "build_small_council.py"
SHARED_GEO = REPO_ROOT.parent / "shared" / "data" / "geo"
FILES = ("providers.csv", "packages.csv", "policy.toml", "README.md")
SEED = 7

needs_shared = pytest.mark.skipif(
    not SHARED_GEO.is_dir(), reason="shared open-data folder ../shared/data/geo is absent"
)


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(EXAMPLE / name, dtype=str, keep_default_na=False)


def _items(cell: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in cell.split(";") if x.strip())


def _flag(cell: str) -> bool:
    return cell.strip().lower() in ("yes", "true", "1")


def _provider(row: dict[str, str]) -> Provider:
    zones = []
    for item in _items(row["zones"]):
        zone, tier, *rank = item.split(":")
        zones.append({"zone": zone, "tier": int(tier), "rank": int(rank[0]) if rank else None})
    rates = dict(item.split(":") for item in _items(row["zone_rates"]))
    return Provider(
        id=row["id"],
        name=row["name"],
        zones=zones,
        base_postcode=row["base_postcode"],
        capacity_minutes={b: int(row[f"{b.value}_minutes"] or 0) for b in BANDS},
        double_up=_flag(row["double_up"]),
        specialisms=_items(row["specialisms"]),
        languages=_items(row["languages"]),
        same_gender=_flag(row["same_gender"]),
        rate_gbp_per_hour=float(row["rate_gbp_per_hour"]),
        zone_rates_gbp_per_hour={z: float(r) for z, r in rates.items()},
        cqc_rating=row["cqc_rating"],
        status=row["status"] or "active",
        max_weekly_hours=float(row["max_weekly_hours"]) if row["max_weekly_hours"] else None,
    )


def _package(row: dict[str, str]) -> CarePackage:
    return CarePackage(
        id=row["id"],
        postcode=row["postcode"],
        zone=row["zone"] or None,
        visits=parse_visits(row["visits"]),
        specialisms=_items(row["specialisms"]),
        gender_preference=row["gender_preference"] or None,
        language=row["language"] or None,
        preferred_provider=row["preferred_provider"] or None,
        excluded_providers=_items(row["excluded_providers"]),
        urgency=row["urgency"] or "routine",
        referral_date=row["referral_date"],
        current_provider=row["current_provider"] or None,
        pinned=_flag(row["pinned"]),
    )


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy(**tomllib.loads((EXAMPLE / "policy.toml").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def providers() -> list[Provider]:
    return [_provider(row) for row in _read("providers.csv").to_dict("records")]


@pytest.fixture(scope="module")
def packages() -> list[CarePackage]:
    return [_package(row) for row in _read("packages.csv").to_dict("records")]


@needs_shared
def test_rebuild_with_the_same_seed_is_byte_identical(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(SCRIPT), "--seed", str(SEED), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (EXAMPLE / name).read_bytes(), name


def test_policy_is_the_published_framework(policy: Policy) -> None:
    assert policy.label == "Small council home care framework v2026.1"
    assert [g.value for g in policy.goals] == [
        "existing_care", "urgent_hours", "hours_placed", "continuity", "cascade",
        "preferences", "cost", "travel", "fairness",
    ]  # fmt: skip
    assert list(policy.zones) == ["North", "Central", "South"]
    assert policy.cascade.tiers == (1, 2)


def test_providers_form_a_three_zone_framework(providers: list[Provider]) -> None:
    assert len({p.id for p in providers}) == len(providers) == 13
    for zone in ("North", "Central", "South"):
        ranks = sorted(s.rank for p in providers for s in p.zones if s.zone == zone and s.tier == 1)
        assert ranks == [1, 2, 3]
    assert sum(all(s.tier == 2 for s in p.zones) and len(p.zones) == 3 for p in providers) == 4
    assert all(21.43 <= p.rate_gbp_per_hour <= 26.00 for p in providers)
    assert sum(p.status.value == "embargoed" for p in providers) == 1


def test_every_package_has_a_zone_and_known_providers(
    packages: list[CarePackage], providers: list[Provider], policy: Policy
) -> None:
    assert len({p.id for p in packages}) == len(packages) == 300
    assert all(re.fullmatch(r"PKG-\d{4}", p.id) for p in packages)
    by_id = {p.id: p for p in providers}
    for package in packages:
        zone = package.zone or policy.zone_for_postcode(package.postcode)
        assert zone in policy.zones, package.id
        for ref in (package.current_provider, package.preferred_provider):
            assert ref is None or by_id[ref].service_in(zone) is not None, package.id
        assert set(package.excluded_providers) <= set(by_id), package.id
        assert package.current_provider not in package.excluded_providers, package.id


def test_existing_placements_fit_within_capacity(
    packages: list[CarePackage], providers: list[Provider]
) -> None:
    for provider in providers:
        mine = [k for k in packages if k.current_provider == provider.id]
        for band in BANDS:
            assert sum(k.carer_minutes_by_band()[band] for k in mine) <= provider.capacity(band)
        if provider.max_weekly_hours is not None:
            assert sum(k.carer_minutes_per_week for k in mine) <= provider.max_weekly_hours * 60


def test_marginals_look_like_a_real_book(
    packages: list[CarePackage], providers: list[Provider]
) -> None:
    mean_hours = sum(k.carer_minutes_per_week for k in packages) / len(packages) / 60
    assert 12 <= mean_hours <= 17
    weekly_visits = [(v.minutes, len(v.days)) for k in packages for v in k.visits]
    fifteen = sum(n for minutes, n in weekly_visits if minutes == 15)
    assert 0.25 <= fifteen / sum(n for _, n in weekly_visits) <= 0.45
    existing = sum(k.current_provider is not None for k in packages) / len(packages)
    assert 0.25 <= existing <= 0.45
    need = {b: sum(k.carer_minutes_by_band()[b] for k in packages) for b in BANDS}
    offered = {b: sum(p.capacity(b) for p in providers) for b in BANDS}
    assert 0.88 <= sum(offered.values()) / sum(need.values()) <= 0.97


@needs_shared
def test_every_postcode_is_a_real_rotherham_postcode(
    packages: list[CarePackage], providers: list[Provider]
) -> None:
    table = pd.read_csv(SHARED_GEO / "postcodes_rotherham_bury.csv", dtype=str)
    rotherham = set(table.loc[table["lad_name"] == "Rotherham", "postcode"])
    used = {k.postcode for k in packages} | {p.base_postcode for p in providers}
    assert used <= rotherham


@needs_shared
def test_readme_keeps_the_attribution_verbatim() -> None:
    def words(text: str) -> str:
        return " ".join(text.split())

    shared = words((SHARED_GEO / "README.md").read_text(encoding="utf-8"))
    ours = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    section = ours.split("## Licences and attribution", 1)[1]
    for line in ("Contains OS data © Crown", "Open Government Licence v3.0.", "Sources: ONS"):
        assert line in section
    for bullet in re.split(r"\n(?=- )", section.strip()):
        assert words(bullet) in shared
