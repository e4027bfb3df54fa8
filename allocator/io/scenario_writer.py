"""Write a scenario folder (`providers.csv`, `packages.csv`, `policy.toml`) the reader loads back.

Generated scenarios and shipped examples are committed and diffed, so the bytes depend only on
the scenario: rows sorted by id, fixed number formats, `\\n` line ends, nothing about when or where
they were written. The folder appears whole or not at all (`allocator.io.folders`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from pathlib import Path

from allocator.io.folders import write_folder
from allocator.io.scenario_files import PACKAGE_COLUMNS, PROVIDER_COLUMNS
from allocator.io.visit_text import format_visits
from allocator.model import BANDS, CarePackage, Provider

COORDINATE_COLUMNS = ("lat", "lon")


def write_scenario(
    out_dir: Path,
    providers: Iterable[Provider],
    packages: Iterable[CarePackage],
    policy_text: str,
    extra_files: Mapping[str, str] | None = None,
    coordinates: bool = False,
) -> list[Path]:
    """Write the scenario into `out_dir` (replacing it whole); return the files written.

    `coordinates` adds each package's lat/lon (e.g. a small-area centroid, more precise than a
    postcode sector); `extra_files` (name -> text) adds e.g. a README.
    """

    def fill(folder: Path) -> None:
        (folder / "providers.csv").write_text(providers_csv(providers), encoding="utf-8")
        (folder / "packages.csv").write_text(packages_csv(packages, coordinates), encoding="utf-8")
        (folder / "policy.toml").write_text(policy_text, encoding="utf-8")
        for name, text in (extra_files or {}).items():
            (folder / name).write_text(text, encoding="utf-8")

    return write_folder(out_dir, fill)


def providers_csv(providers: Iterable[Provider]) -> str:
    return _csv(PROVIDER_COLUMNS, sorted(provider_row(p) for p in providers))


def packages_csv(packages: Iterable[CarePackage], coordinates: bool = False) -> str:
    header = (*PACKAGE_COLUMNS, *COORDINATE_COLUMNS) if coordinates else PACKAGE_COLUMNS
    return _csv(header, sorted(package_row(k, coordinates) for k in packages))


def provider_row(provider: Provider) -> list[str]:
    """A provider as a `providers.csv` row, in `PROVIDER_COLUMNS` order."""
    zones = _listed(
        ":".join(str(x) for x in (z.zone, z.tier, z.rank) if x is not None) for z in provider.zones
    )
    rates = _listed(f"{z}:{r:.2f}" for z, r in provider.zone_rates_gbp_per_hour.items())
    cap = provider.max_weekly_hours
    return [
        provider.id,
        provider.name,
        zones,
        provider.base_postcode,
        *(str(provider.capacity(b)) for b in BANDS),
        _yes_no(provider.double_up),
        _listed(provider.specialisms),
        _listed(provider.languages),
        _yes_no(provider.same_gender),
        f"{provider.rate_gbp_per_hour:.2f}",
        rates,
        provider.cqc_rating.value,
        provider.status.value,
        "" if cap is None else f"{cap:g}",
    ]


def package_row(package: CarePackage, coordinates: bool = False) -> list[str]:
    """A package as a `packages.csv` row. The zone is left empty: the policy's zone map gives it,
    as it would for a referral from a case-management system."""
    row = [
        package.id,
        package.postcode,
        "",
        format_visits(package.visits),
        _listed(package.specialisms),
        package.gender_preference.value if package.gender_preference else "",
        package.language or "",
        package.preferred_provider or "",
        _listed(package.excluded_providers),
        package.urgency.value,
        package.referral_date.isoformat(),
        package.current_provider or "",
        _yes_no(package.pinned),
    ]
    if coordinates:
        if package.lat is None or package.lon is None:
            raise ValueError(f"package {package.id} has no coordinates to write")
        row += [f"{package.lat:.5f}", f"{package.lon:.5f}"]
    return row


def _csv(header: tuple[str, ...], rows: list[list[str]]) -> str:
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue()


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _listed(values: Iterable[str]) -> str:
    return "; ".join(values)
