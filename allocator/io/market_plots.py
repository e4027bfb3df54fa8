"""Pictures of the market for commissioners: where people and providers are, and where it is short.

Drawn with matplotlib's Agg renderer on figures of a fixed size, with no map tiles (none are
available offline) and no timestamp or software tag in the PNG, so the same scenario always gives
byte-identical files. `write_market_files` writes them, with `market.csv`, into a temporary folder
beside the target and moves it into place whole, as the result files are written.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps, patheffects
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import StrMethodFormatter

from allocator.geography import EARTH_RADIUS_KM
from allocator.io.folders import write_folder
from allocator.market import ALL, Market, is_closed
from allocator.model import Provider, ProviderStatus
from allocator.scenario import Scenario

DPI = 120
MAP_SIZE_IN = (11.0, 8.5)
CHART_WIDTH_IN = 13.0
CHART_OVERALL_HEIGHT_IN = 4.6
CHART_ZONE_ROW_HEIGHT_IN = 3.4
ZONES_PER_ROW = 3

MAP_FILE = "market_map.png"
CHART_FILE = "demand_vs_capacity.png"
TABLE_FILE = "market.csv"

DEMAND_COLOUR = "#4a4a4a"
CAPACITY_COLOUR = "#2a9d8f"
CLOSED_COLOUR = "#c8c8c8"
SHORT_COLOUR = "#c0392b"
SPARE_COLOUR = "#2e7d32"
SHARED_PROVIDER_COLOUR = "#3d3d3d"
"""Providers serving several zones belong to none of them, so they are drawn in neutral grey."""

_KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180
_HOURS = "carer hours a week"


def chart_size_px(zones: int) -> tuple[int, int]:
    """Width and height of the demand-vs-capacity chart: one row of small multiples per 3 zones."""
    rows = math.ceil(zones / ZONES_PER_ROW)
    height = CHART_OVERALL_HEIGHT_IN + rows * CHART_ZONE_ROW_HEIGHT_IN
    return round(CHART_WIDTH_IN * DPI), round(height * DPI)


def zone_colours(zones: list[str]) -> dict[str, str]:
    """A distinct colour per zone in policy order; greys are kept for shared providers."""
    palette = colormaps["tab10" if len(zones) <= 9 else "tab20"].colors
    colours = [to_hex(c) for c in palette if len({round(v, 2) for v in c[:3]}) > 1]
    return {zone: colours[i % len(colours)] for i, zone in enumerate(zones)}


def write_market_files(out_dir: Path, scenario: Scenario, market: Market, name: str) -> list[Path]:
    """Write market.csv and both pictures into `out_dir` (replacing it whole); return the paths."""

    def fill(folder: Path) -> None:
        market.table().to_csv(folder / TABLE_FILE, index=False, float_format="%.2f")
        save_png(market_map(scenario, name), folder / MAP_FILE)
        save_png(demand_capacity_chart(market, name, scenario.policy.label), folder / CHART_FILE)

    return write_folder(out_dir, fill)


def save_png(figure: Figure, path: Path) -> None:
    """A PNG with no software tag or date, so re-runs are byte-identical."""
    FigureCanvasAgg(figure)
    figure.savefig(path, format="png", dpi=DPI, metadata={"Software": None})


# -- the map ---------------------------------------------------------------------------------


def market_map(scenario: Scenario, name: str) -> Figure:
    """Packages (dots) and providers (markers) on a flat projection, coloured by zone.

    Coordinates are km east and north of the packages' centroid, longitude scaled by the cosine
    of its latitude, which is true to a few parts in a thousand across a council.
    """
    zones = list(scenario.policy.zones)
    colour = zone_colours(zones)
    packages = [k for k in scenario.packages if k.lat is not None and k.lon is not None]
    lat0 = float(np.mean([k.lat for k in packages])) if packages else 0.0
    lon0 = float(np.mean([k.lon for k in packages])) if packages else 0.0

    def project(lat: float, lon: float) -> tuple[float, float]:
        x = (lon - lon0) * math.cos(math.radians(lat0)) * _KM_PER_DEGREE
        return x, (lat - lat0) * _KM_PER_DEGREE

    labels = {}
    for zone in zones:
        mine = [k for k in scenario.packages if k.zone == zone]
        hours = sum(k.carer_minutes_per_week for k in mine) / 60
        labels[zone] = f"{zone}: {len(mine):,} package{'s' * (len(mine) != 1)}, {hours:,.0f} h"
    # The key gets the width its longest line needs; the map takes the rest.
    key_width_in = min(4.5, max(2.8, 0.9 + 0.075 * max(map(len, labels.values()), default=0)))
    figure = Figure(figsize=MAP_SIZE_IN, dpi=DPI, layout="constrained")
    grid = figure.add_gridspec(1, 2, width_ratios=[MAP_SIZE_IN[0] - key_width_in, key_width_in])
    ax = figure.add_subplot(grid[0, 0])

    # Dots shrink as they multiply, so a county of thousands stays legible.
    dot = min(12.0, max(2.0, 12.0 * math.sqrt(2000 / max(len(packages), 1))))
    for zone in zones:
        points = np.array([project(k.lat, k.lon) for k in packages if k.zone == zone])
        if len(points):
            ax.scatter(points[:, 0], points[:, 1], s=dot, color=colour[zone], alpha=0.55, lw=0)
            _zone_name(ax, points.mean(axis=0), zone, colour[zone], 15 if len(zones) <= 5 else 11)
    kinds = _draw_providers(ax, scenario, colour, project)

    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_xlabel("km east of the packages' centre", fontsize=10)
    ax.set_ylabel("km north of the packages' centre", fontsize=10)
    ax.tick_params(labelsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)

    key = figure.add_subplot(grid[0, 1])
    key.set_axis_off()
    style = {"frameon": False, "fontsize": 9.5, "title_fontsize": 10.5, "alignment": "left"}
    people = key.legend(
        handles=[_dot(colour[z], labels[z]) for z in zones],
        loc="upper left",
        title="People needing care, by zone\n(packages, carer hours a week)",
        **style,
    )
    if kinds:
        key.add_artist(people)
        key.legend(handles=kinds, loc="lower left", title="Providers", **style)
    figure.suptitle(f"{name}: where the people needing care and the providers are", fontsize=14)
    ax.set_title(
        f"{len(scenario.packages):,} packages and {len(scenario.providers):,} providers "
        f"under {scenario.policy.label}",
        fontsize=10,
        color="#444444",
    )
    return figure


def _zone_name(ax: Axes, where: np.ndarray, zone: str, colour: str, size: float) -> None:
    ax.text(
        float(where[0]),
        float(where[1]),
        zone,
        ha="center",
        va="center",
        fontsize=size,
        fontweight="bold",
        color=colour,
        alpha=0.9,
        path_effects=[patheffects.withStroke(linewidth=4, foreground="white")],
        zorder=5,
    )


def _draw_providers(
    ax: Axes,
    scenario: Scenario,
    colour: dict[str, str],
    project: Callable[[float, float], tuple[float, float]],
) -> list[Line2D]:
    """Triangles in their zone's colour, diamonds for providers across zones, hollow when closed
    to new packages; returns the legend entries for the kinds drawn."""
    drawn: set[str] = set()
    for provider in scenario.providers:
        if provider.lat is None or provider.lon is None:
            continue
        x, y = project(provider.lat, provider.lon)
        shared = len(provider.zones) > 1
        tint = SHARED_PROVIDER_COLOUR if shared else colour.get(provider.zones[0].zone, "black")
        closed = is_closed(provider, scenario)
        drawn |= {"shared" if shared else "single"} | ({"closed"} if closed else set())
        ax.scatter(
            [x],
            [y],
            s=150 if shared else 170,
            marker="D" if shared else "^",
            facecolor="white" if closed else tint,
            edgecolor=tint if closed else "black",
            linewidth=2.0 if closed else 0.8,
            zorder=6,
        )
        ax.annotate(
            f"{provider.id} ({_closed_reason(provider, scenario)})" if closed else provider.id,
            (x, y),
            xytext=(7, 5),
            textcoords="offset points",
            fontsize=8,
            color="#222222",
            path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white")],
            zorder=7,
        )
    kinds = {
        "single": _marker("^", "#888888", "black", "serving one zone (in its colour)"),
        "shared": _marker("D", SHARED_PROVIDER_COLOUR, "black", "serving several zones"),
        "closed": _marker("^", "white", "#555555", "hollow: closed to new packages", 2.0),
    }
    return [handle for kind, handle in kinds.items() if kind in drawn]


def _closed_reason(provider: Provider, scenario: Scenario) -> str:
    filters = scenario.policy.hard_filters
    if filters.embargo and provider.status is ProviderStatus.EMBARGOED:
        return "embargoed"
    return f"rated {provider.cqc_rating.label}"


def _dot(colour: str, label: str) -> Line2D:
    return Line2D([], [], marker="o", linestyle="", markersize=7, color=colour, label=label)


def _marker(shape: str, face: str, edge: str, label: str, width: float = 0.8) -> Line2D:
    return Line2D(
        [],
        [],
        marker=shape,
        linestyle="",
        markersize=10,
        markerfacecolor=face,
        markeredgecolor=edge,
        markeredgewidth=width,
        label=label,
    )


# -- demand against capacity -----------------------------------------------------------------


def demand_capacity_chart(market: Market, name: str, policy_label: str) -> Figure:
    """Demand and capacity bars per band, every zone together and then zone by zone.

    A red dashed box on a capacity bar reaches up to the demand: that box is the shortfall.
    """
    frame = market.by_zone_band
    totals = market.by_band.set_index("band")
    active = totals.index[
        (totals[["demand_hours", "capacity_hours", "closed_capacity_hours"]].sum(axis=1) > 0)
    ].tolist()
    zones = list(dict.fromkeys(frame["zone"]))
    show_closed = bool(totals["closed_capacity_hours"].sum() > 0)
    width_px, height_px = chart_size_px(len(zones))
    figure = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI, layout="constrained")
    rows = math.ceil(len(zones) / ZONES_PER_ROW)
    grid = figure.add_gridspec(
        1 + rows,
        ZONES_PER_ROW,
        height_ratios=[CHART_OVERALL_HEIGHT_IN - 0.6] + [CHART_ZONE_ROW_HEIGHT_IN] * rows,
    )

    overall = figure.add_subplot(grid[0, :])
    _bars(overall, totals.loc[active], show_closed, large=True)
    everything = market.table().set_index(["zone", "band"]).loc[(ALL, ALL)]
    overall.set_title(
        f"All zones: {_verdict(everything)}", fontsize=12, loc="left", fontweight="bold"
    )
    overall.set_ylabel(_HOURS, fontsize=10)

    axes: list[Axes] = []
    top = max(
        float(frame[["demand_hours", "capacity_hours", "closed_capacity_hours"]].max().max()),
        1.0,
    )
    for i, zone in enumerate(zones):
        ax = figure.add_subplot(
            grid[1 + i // ZONES_PER_ROW, i % ZONES_PER_ROW], sharey=axes[0] if axes else None
        )
        axes.append(ax)
        rows_of_zone = frame[frame["zone"] == zone].set_index("band").loc[active]
        _bars(ax, rows_of_zone, show_closed, large=False)
        zone_total = market.by_zone.set_index("zone").loc[zone]
        ax.set_title(f"{zone}\n{_verdict(zone_total)}", fontsize=10, loc="left")
        if i % ZONES_PER_ROW == 0:
            ax.set_ylabel(_HOURS, fontsize=9.5)
        else:
            ax.tick_params(labelleft=False)
    if axes:
        axes[0].set_ylim(0, top * 1.22)

    handles = [
        Patch(color=DEMAND_COLOUR, label="needed (all packages)"),
        Patch(color=CAPACITY_COLOUR, label="offered, open to new packages"),
        Patch(
            facecolor="none",
            edgecolor=SHORT_COLOUR,
            linestyle="--",
            label="shortfall (figures: offered − needed)",
        ),
    ]
    if show_closed:
        handles.append(
            Patch(
                facecolor=CLOSED_COLOUR,
                hatch="///",
                edgecolor="#8a8a8a",
                label="offered by providers closed to new packages",
            )
        )
    overall.legend(handles=handles, loc="upper right", frameon=False, fontsize=9.5)
    figure.suptitle(
        f"{name}: carer hours a week needed and offered, by time band",
        fontsize=14,
        x=0.01,
        ha="left",
    )
    figure.supxlabel(
        f"Policy {policy_label}. A provider serving several zones has its capacity shared across "
        "them in proportion to each band's demand there. A double-up call counts twice.",
        fontsize=8.5,
        color="#555555",
        x=0.01,
        ha="left",
    )
    return figure


def _verdict(row: pd.Series) -> str:
    balance, ratio = float(row["balance_hours"]), row["capacity_ratio"]
    share = "" if pd.isna(ratio) else f" (capacity {ratio:.0%} of need)"
    if balance < 0:
        return f"short {-balance:,.0f} h a week{share}"
    return f"{balance:,.0f} h a week spare{share}"


def _bars(ax: Axes, rows: pd.DataFrame, show_closed: bool, large: bool) -> None:
    """Grouped bars for one panel; `rows` is indexed by band."""
    x = np.arange(len(rows))
    count = 3 if show_closed else 2
    width = 0.8 / count
    offsets = (np.arange(count) - (count - 1) / 2) * width
    demand = rows["demand_hours"].to_numpy()
    capacity = rows["capacity_hours"].to_numpy()
    ax.bar(x + offsets[0], demand, width, color=DEMAND_COLOUR, zorder=3)
    ax.bar(x + offsets[1], capacity, width, color=CAPACITY_COLOUR, zorder=3)
    gap = np.clip(demand - capacity, 0, None)
    ax.bar(
        x + offsets[1],
        gap,
        width,
        bottom=capacity,
        facecolor=SHORT_COLOUR + "1f",
        edgecolor=SHORT_COLOUR,
        linestyle="--",
        linewidth=1.1,
        zorder=3,
    )
    if show_closed:
        ax.bar(
            x + offsets[2],
            rows["closed_capacity_hours"].to_numpy(),
            width,
            facecolor=CLOSED_COLOUR,
            edgecolor="#8a8a8a",
            hatch="///",
            linewidth=0.6,
            zorder=3,
        )
    for xi, need, offered in zip(x, demand, capacity, strict=True):
        if need == 0 and offered == 0:
            continue
        balance = offered - need
        label = f"{balance:+,.0f}".replace("-", "\u2212")
        ax.annotate(
            label,
            (xi, max(need, offered)),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=10 if large else 8.5,
            fontweight="bold",
            color=SHORT_COLOUR if balance < 0 else SPARE_COLOUR,
            zorder=4,
        )
    ax.set_xticks(x, [str(b) for b in rows.index], fontsize=10 if large else 9)
    ax.tick_params(axis="y", labelsize=9)
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.yaxis.grid(True, color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.margins(x=0.03)
    if large:
        closed = rows["closed_capacity_hours"].to_numpy()
        highest = np.max(np.maximum(np.maximum(demand, capacity), closed), initial=0.0)
        ax.set_ylim(0, max(float(highest), 1.0) * 1.15)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
