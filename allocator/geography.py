"""Where people and providers are, and how far apart: offline postcode lookup and distances.

No geocoding service is reachable where the allocator runs, so postcodes are placed from tables
shipped with the project (see `allocator.io.geo_tables`). A postcode missing from the full table
(new, mistyped unit, or outside the councils we ship) still gets a usable place from its sector or
district centroid, and the `Location` says how precise it is so explanations can be honest about it.
Where a council shares only the postcode sector ('CM1 1'), that is placed at the sector centroid.

Distances are great-circle (haversine) for the many pairs the optimiser needs, vectorised with
numpy; `geodesic_km` gives the accurate ellipsoidal figure for the odd single distance shown to a
person. This module does no file I/O: it receives DataFrames and arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from geopy.distance import geodesic
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), the radius that minimises haversine error on average."""

Precision = Literal["postcode", "sector", "district"]


@dataclass(frozen=True, slots=True)
class Location:
    """A point, and whether it is the postcode itself or the centroid of its sector or district."""

    lat: float
    lon: float
    precision: Precision


def _split(postcode: str) -> tuple[str, str] | None:
    """Outward and inward code of a postcode, with or without its space, or of a sector, with its
    space ('CM1 1' -> 'CM1', '1'); None if too short to be either."""
    words = postcode.upper().split()
    if len(words) == 2 and len(words[1]) == 1 and "0" <= words[1] <= "9":
        return words[0], words[1]
    compact = "".join(words)
    if len(compact) < 5:
        return None
    return compact[:-3], compact[-3:]


def _table(frame: pd.DataFrame, key: str, precision: Precision) -> dict[str, Location]:
    missing = {key, "lat", "lon"} - set(frame.columns)
    if missing:
        raise ValueError(f"{precision} table lacks column(s) {', '.join(sorted(missing))}")
    keys = frame[key].astype(str).tolist()
    lats = frame["lat"].astype(float).tolist()
    lons = frame["lon"].astype(float).tolist()
    return {k: Location(la, lo, precision) for k, la, lo in zip(keys, lats, lons, strict=True)}


class PostcodeIndex:
    """Postcode → `Location`, falling back from full postcode to sector to district.

    Lookups are plain dict hits, so placing thousands of packages costs next to nothing.
    """

    def __init__(
        self,
        postcodes: Mapping[str, Location],
        sectors: Mapping[str, Location],
        districts: Mapping[str, Location],
    ) -> None:
        self._postcodes = dict(postcodes)
        self._sectors = dict(sectors)
        self._districts = dict(districts)

    @classmethod
    def from_frames(
        cls, postcodes: pd.DataFrame, sectors: pd.DataFrame, districts: pd.DataFrame
    ) -> PostcodeIndex:
        """Build from tables with columns `postcode|sector|district, lat, lon`.

        Keys must already be normalised: `S66 2AB`, `S66 2`, `S66`.
        """
        return cls(
            _table(postcodes, "postcode", "postcode"),
            _table(sectors, "sector", "sector"),
            _table(districts, "district", "district"),
        )

    def __len__(self) -> int:
        """Number of full postcodes known exactly."""
        return len(self._postcodes)

    def locate(self, postcode: str) -> Location | None:
        """The most precise known place for a postcode, or None if even its district is unknown.

        A sector ('CM1 1') is placed at its centroid, or at its district's if the sector is unknown.
        """
        parts = _split(postcode)
        if parts is None:
            return None
        outward, inward = parts
        return (
            self._postcodes.get(f"{outward} {inward}")
            or self._sectors.get(f"{outward} {inward[0]}")
            or self._districts.get(outward)
        )

    def locate_many(self, postcodes: Sequence[str]) -> list[Location | None]:
        """`locate` for each postcode, in order; repeated postcodes are looked up once."""
        found: dict[str, Location | None] = {}
        result: list[Location | None] = []
        for postcode in postcodes:
            if postcode not in found:
                found[postcode] = self.locate(postcode)
            result.append(found[postcode])
        return result


def great_circle_km(
    lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike
) -> NDArray[np.float64] | float:
    """Haversine distance in km between points in degrees, broadcasting like numpy.

    Within about 0.5 % of the ellipsoidal distance, which is far below the noise in road travel;
    returns a float for scalar inputs and an array otherwise.
    """
    phi1, lam1, phi2, lam2 = (
        np.radians(np.asarray(v, dtype=np.float64)) for v in (lat1, lon1, lat2, lon2)
    )
    h = (
        np.sin((phi2 - phi1) / 2.0) ** 2
        + np.cos(phi1) * np.cos(phi2) * np.sin((lam2 - lam1) / 2.0) ** 2
    )
    distance = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return float(distance) if distance.ndim == 0 else distance


def distance_matrix_km(
    lat_a: ArrayLike, lon_a: ArrayLike, lat_b: ArrayLike, lon_b: ArrayLike
) -> NDArray[np.float64]:
    """Great-circle km from every point of `a` (rows) to every point of `b` (columns)."""
    la, oa, lb, ob = (np.asarray(v, dtype=np.float64).ravel() for v in (lat_a, lon_a, lat_b, lon_b))
    if la.shape != oa.shape or lb.shape != ob.shape:
        raise ValueError("each side needs as many longitudes as latitudes")
    return np.asarray(great_circle_km(la[:, None], oa[:, None], lb[None, :], ob[None, :]))


def geodesic_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Ellipsoidal (WGS-84) km between two (lat, lon) points: accurate, but one pair at a time."""
    return float(geodesic(a, b).km)
