"""The presets: real councils and the frameworks they publish, sized from the published figures.

`rotherham` and `bury` follow their real frameworks on their real postcodes; `county` is an
Essex-sized council (its 12 districts are the zones) and `england` is one scenario per English
council with adult social care duties, sized by its 60+ population. Presets only say *what* to
draw; `generate` draws it. Geography comes in through `GeneratorData`, so nothing here reads files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import pandas as pd

from allocator.generator.frameworks import BuryShape, RankedShape, RotherhamShape, Shape
from allocator.generator.generate import CouncilSpec
from allocator.generator.parameters import (
    COUNTY_CALL_PATTERNS,
    COUNTY_VISITS_PER_WEEK,
    DemandParameters,
    PlaceParameters,
    SupplyParameters,
)
from allocator.generator.places import (
    AxisBands,
    CouncilPlaces,
    GeneratorDataError,
    GeographyTables,
    WardGroups,
    council_places,
    england_councils,
    lsoa_council_places,
    lsoa_zoning,
)


@dataclass(frozen=True)
class GeneratorData:
    """Loaders for the open geography the presets draw from (called only when needed)."""

    postcode_tables: Callable[[], GeographyTables]
    """Rotherham and Bury: every postcode, small area and ward."""
    england_lsoas: Callable[[], pd.DataFrame]
    """Every English small area (LSOA 2011) with its council, sector and 60+ population."""


@dataclass(frozen=True)
class Council:
    """One council a preset draws: its code, its places and how many packages at scale 1."""

    code: str
    places: CouncilPlaces
    packages: int


ROTHERHAM = "E08000018"
BURY = "E08000002"
ESSEX = "E10000012"

ENGLAND_PACKAGES = 650_000
"""The issue's national figure: about 650,000 people receiving home care in England (figures.csv:
858,720 people had long-term support from councils in 2023-24, most of it care at home)."""

ROTHERHAM_ZONING = AxisBands(("North", "Central", "South"))
"""Shared README: Rotherham's tier 1 is 3 zones (North, South, Central); the wards are cut along
the borough's long axis into thirds of its 60+ population."""

BURY_ZONING = WardGroups(
    groups={
        "North": ("Ramsbottom", "North Manor", "Tottington"),
        "Bury": ("Bury East", "Bury West", "Elton", "Moorside", "Redvales"),
        "Radcliffe": ("Radcliffe East", "Radcliffe West", "Radcliffe North & Ainsworth"),
        "Whitefield": ("Besses", "Pilkington Park", "Unsworth"),
        "Prestwich": ("Holyrood", "Sedgley", "St. Mary's"),
    },
    basis=(
        "Shared README: Bury has 5 neighbourhoods. Assumption: they follow the borough's "
        "townships (Ramsbottom and Tottington as North, Bury, Radcliffe, Whitefield, "
        "Prestwich), each made of its 2025 wards."
    ),
)


@dataclass(frozen=True)
class Preset:
    """A named recipe: which councils, how many packages, which framework, which parameters."""

    name: str
    summary: str
    shape: Shape
    demand: DemandParameters
    supply: SupplyParameters
    policy_name: str
    policy_version: str
    councils: Callable[[GeneratorData, Sequence[str] | None], list[Council]]
    """The councils to draw, all or only the codes given (an unknown code is an error)."""
    sector_homes: bool = False
    """Homes are small-area centroids known only to their postcode sector (no full postcodes
    are shipped outside Rotherham and Bury), so packages carry their coordinates."""

    def specs(
        self, data: GeneratorData, scale: float, only: Sequence[str] | None = None
    ) -> list[tuple[str, CouncilSpec]]:
        """(council code, spec) for each council to draw, in code order."""
        return [
            (
                council.code,
                CouncilSpec(
                    places=council.places,
                    shape=self.shape,
                    packages=max(1, round(council.packages * scale)),
                    scale=scale,
                    demand=self.demand,
                    supply=self.supply,
                    policy_name=self.policy_name.format(council=council.places.council),
                    policy_version=self.policy_version,
                ),
            )
            for council in self.councils(data, only)
        ]


def _one_council(
    code: str, packages: int, places: Callable[[GeneratorData], CouncilPlaces]
) -> Callable[[GeneratorData, Sequence[str] | None], list[Council]]:
    def councils(data: GeneratorData, only: Sequence[str] | None) -> list[Council]:
        if only is not None and list(only) != [code]:
            raise GeneratorDataError(f"this preset draws council {code} only; got {list(only)}")
        return [Council(code, places(data), packages)]

    return councils


def _england(data: GeneratorData, only: Sequence[str] | None) -> list[Council]:
    lsoas = data.england_lsoas()
    table = england_councils(lsoas)
    known = set(table["council_code"])
    unknown = sorted(set(only or ()) - known)
    if unknown:
        raise GeneratorDataError(
            f"unknown council code(s) {', '.join(unknown)}: the England table holds "
            f"{len(known)} councils with adult social care duties (e.g. {ROTHERHAM} Rotherham); "
            "`allocator generate england --list` lists them"
        )
    share = table["pop_60plus"] / table["pop_60plus"].sum()
    sizes = dict(zip(table["council_code"], (share * ENGLAND_PACKAGES).round(), strict=True))
    chosen = sorted(only) if only else sorted(known)
    return [
        Council(
            code,
            lsoa_council_places(lsoas, code, lsoa_zoning(lsoas, code), PlaceParameters()),
            int(sizes[code]),
        )
        for code in chosen
    ]


def _county_places(data: GeneratorData) -> CouncilPlaces:
    lsoas = data.england_lsoas()
    return lsoa_council_places(lsoas, ESSEX, lsoa_zoning(lsoas, ESSEX), PlaceParameters())


def _postcode_places(code: str, zoning: AxisBands | WardGroups) -> Callable:
    def places(data: GeneratorData) -> CouncilPlaces:
        return council_places(data.postcode_tables(), code, zoning, PlaceParameters())

    return places


_DEFAULT_DEMAND = DemandParameters()

ROTHERHAM_LANGUAGES = {"urdu": 0.45, "punjabi": 0.25, "slovak": 0.20, "romani": 0.10}
"""Assumption: Rotherham's Pakistani and Kashmiri communities (Urdu, Punjabi) and its Slovak
and Roma communities."""


def _rotherham_like(
    name: str, summary: str, shape: RotherhamShape, packages: int, policy_name: str
) -> Preset:
    """A preset on Rotherham's places and zones, with its community languages."""
    return Preset(
        name=name,
        summary=summary,
        shape=shape,
        demand=replace(_DEFAULT_DEMAND, languages=ROTHERHAM_LANGUAGES),
        supply=SupplyParameters(),
        policy_name=policy_name,
        policy_version="2026.1",
        councils=_one_council(ROTHERHAM, packages, _postcode_places(ROTHERHAM, ROTHERHAM_ZONING)),
    )


PRESETS: dict[str, Preset] = {
    "small": _rotherham_like(
        "small",
        "A small council modelled on Rotherham, for trying the allocator: 3 zones x 3 ranked "
        "tier-1 providers and 4 tier-2 providers; 300 packages",
        RotherhamShape(tier2_providers=4, tier2_size=0.3, specialist_providers=0),
        300,
        "Small council home care framework (generated)",
    ),
    "rotherham": _rotherham_like(
        "rotherham",
        "Rotherham's framework: 3 zones x 3 ranked tier-1 providers, tier-2 providers over "
        "wider areas, a learning-disability lot; ~1,100 packages, ~14,000 carer-hours a week",
        RotherhamShape(),
        1_100,
        "Rotherham home care and support framework (generated)",
    ),
    "bury": Preset(
        name="bury",
        summary=(
            "Bury's framework: 5 neighbourhoods x 2 main providers working week on / week off, "
            "5 borough-wide backups capped at 600 hours a week; ~1,050 packages"
        ),
        shape=BuryShape(),
        demand=replace(_DEFAULT_DEMAND, languages={"urdu": 0.50, "punjabi": 0.25, "polish": 0.25}),
        supply=SupplyParameters(),
        policy_name="Bury home care framework (generated)",
        policy_version="2026.1",
        councils=_one_council(BURY, 1_050, _postcode_places(BURY, BURY_ZONING)),
    ),
    "county": Preset(
        name="county",
        summary=(
            "An Essex-sized county: its 12 districts as zones, ranked tier 1 per district, "
            "unranked tier 2 over neighbouring districts; ~7,500 packages, ~128,000 hours a week"
        ),
        shape=RankedShape(),
        demand=replace(
            _DEFAULT_DEMAND,
            call_patterns=COUNTY_CALL_PATTERNS,
            visits_per_week_by_length=COUNTY_VISITS_PER_WEEK,
            languages={"polish": 0.35, "romanian": 0.25, "bengali": 0.20, "punjabi": 0.20},
        ),
        supply=SupplyParameters(),
        policy_name="{council} home care framework (generated)",
        policy_version="2026.1",
        councils=_one_council(ESSEX, 7_500, _county_places),
        sector_homes=True,
    ),
    "england": Preset(
        name="england",
        summary=(
            "Every English council with adult social care duties, one scenario each, sized by "
            "its 60+ population (~650,000 packages in all), generic ranked frameworks"
        ),
        shape=RankedShape(),
        demand=replace(
            _DEFAULT_DEMAND,
            languages={
                "punjabi": 0.25,
                "urdu": 0.25,
                "gujarati": 0.2,
                "bengali": 0.15,
                "polish": 0.15,
            },
        ),
        supply=SupplyParameters(),
        policy_name="{council} home care framework (generated)",
        policy_version="2026.1",
        councils=_england,
        sector_homes=True,
    ),
}


def preset(name: str) -> Preset:
    """The preset called `name`; an unknown name is an error listing the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise GeneratorDataError(
            f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}"
        ) from None
