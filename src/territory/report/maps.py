"""The small-multiple maps: one small map per territory of the programme, one colour scale.

Each map draws the territory's communes (their outlines from the comparison, Lambert-93,
simplified without gaps) coloured by the people met there per 1,000 inhabitants
(:attr:`~territory.programme.compare.Comparison.maps`: published counts over the
communes' population, hidden when the count is hidden or the commune has under k
inhabitants). The classes are common to every map of the pack, so that two territories
compare at a glance. A hidden value is drawn hatched grey, never coloured.

The SVG is written here by hand from the outlines (no browser, no plotting library):
coordinates rounded to the metre, no identifier or date, so the same comparison gives
the same bytes — the page shows it, the PDF embeds it.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from territory._fr import format_number

if TYPE_CHECKING:
    from territory.programme.compare import Comparison

__all__ = ["MAP_TITLE", "PALETTE", "classes", "legend_svg", "territory_map_svg"]

MAP_TITLE = "Jeunes rencontrés pour 1 000 habitants, par commune"
PALETTE = ("#e5f5e0", "#a1d99b", "#74c476", "#31a354", "#006d2c")
"""Sequential greens, light to dark (ColorBrewer Greens, 5 classes)."""
_HIDDEN = "#d9d9d9"
_NONE = "#ffffff"
_STROKE = "#5f5f5f"


def classes(comparison: Comparison) -> list[float]:
    """The upper bounds of the common classes (quintiles of every shown rate, rounded).

    Fewer than five bounds when the rates are few or equal; empty when none is shown.
    """
    rates = pd.to_numeric(comparison.maps["Pour 1 000 habitants"], errors="coerce").dropna()
    rates = rates[rates > 0]
    if rates.empty:
        return []
    bounds = np.quantile(rates.to_numpy(dtype=float), [0.2, 0.4, 0.6, 0.8, 1.0])
    return sorted({round(float(b), 1) for b in bounds})


def _fill(rate: object, label: str, bounds: list[float]) -> str:
    if pd.isna(rate):
        return "url(#cache)" if label.startswith("<") or label == "secret" else _HIDDEN
    value = float(rate)  # type: ignore[arg-type]
    if value <= 0 or not bounds:
        return _NONE
    index = next((i for i, b in enumerate(bounds) if value <= b), len(bounds) - 1)
    offset = len(PALETTE) - len(bounds)
    return PALETTE[min(index + offset, len(PALETTE) - 1)]


def _path(geometry: object, x0: float, y1: float, scale: float) -> str:
    """SVG path data of a (multi)polygon, y flipped, in map pixels with one decimal."""
    import shapely

    parts = []
    polygons = shapely.get_parts(geometry)
    for polygon in polygons:
        for ring in [polygon.exterior, *polygon.interiors]:
            xy = shapely.get_coordinates(ring)
            if len(xy) < 3:
                continue
            px = np.round((xy[:, 0] - x0) * scale, 1)
            py = np.round((y1 - xy[:, 1]) * scale, 1)
            points = " ".join(f"{a:g},{b:g}" for a, b in zip(px, py, strict=True))
            parts.append(f"M{points}Z")
    return "".join(parts)


_DEFS = (
    '<defs><pattern id="cache" width="4" height="4" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="4" height="4" fill="#ededed"/>'
    '<line x1="0" y1="0" x2="0" y2="4" stroke="#9a9a9a" stroke-width="1.2"/></pattern></defs>'
)


def territory_map_svg(
    comparison: Comparison, territory: str, *, size: int = 160, bounds: list[float] | None = None
) -> str:
    """The small map of ``territory`` as an SVG document (``size`` pixels on its long side).

    ``bounds``: the common classes (:func:`classes` of the comparison when omitted).
    Each commune has a ``<title>`` with its name and published value (a hover on the
    page). An empty string when the comparison has no outline for the territory.
    """
    import shapely

    bounds = classes(comparison) if bounds is None else bounds
    rows = comparison.maps[comparison.maps["Territoire"] == territory]
    outlines = comparison.outlines.set_index("Code")["geometry"]
    rows = rows[rows["Code"].isin(outlines.index)]
    if rows.empty:
        return ""
    geoms = np.asarray([outlines[c] for c in rows["Code"]], dtype=object)
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    extent = max(xmax - xmin, ymax - ymin, 1.0)
    scale = (size - 4) / extent
    width = round((xmax - xmin) * scale + 4, 1)
    height = round((ymax - ymin) * scale + 4, 1)
    shapes = []
    for geometry, row in zip(geoms, rows.itertuples(index=False), strict=True):
        rate = row[rows.columns.get_loc("Pour 1 000 habitants")]
        label = str(row[rows.columns.get_loc("Affiché")])
        name = str(row[rows.columns.get_loc("Commune")])
        shown = (
            "non diffusé"
            if pd.isna(rate)
            else f"{format_number(float(rate), decimals=1)} pour 1 000"
        )
        title = html.escape(f"{name} : {label} jeune(s) rencontré(s), {shown}")
        shapes.append(
            f'<path d="{_path(geometry, xmin - 2 / scale, ymax + 2 / scale, scale)}" '
            f'fill="{_fill(rate, label, bounds)}"><title>{title}</title></path>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}" height="{height:g}" '
        f'viewBox="0 0 {width:g} {height:g}" role="img" '
        f'aria-label="{html.escape(territory)}">{_DEFS}'
        f'<g stroke="{_STROKE}" stroke-width="0.4" stroke-linejoin="round">'
        f"{''.join(shapes)}</g></svg>"
    )


def legend_svg(bounds: list[float], *, k: int | None = None) -> str:
    """The common legend: one box per class (« jusqu'à 12,5 »), then the hidden values."""
    entries = []
    lower = 0.0
    offset = len(PALETTE) - len(bounds)
    for i, upper in enumerate(bounds):
        entries.append(
            (
                PALETTE[i + offset],
                f"{format_number(lower, decimals=1)} à {format_number(upper, decimals=1)}",
            )
        )
        lower = upper
    hidden = f"non diffusé (< {k} personnes ou secret)" if k else "non diffusé"
    entries += [(_NONE, "aucun jeune rencontré"), ("url(#cache)", hidden)]
    items = "".join(
        f'<rect x="{4 + 150 * (i % 4)}" y="{4 + 18 * (i // 4)}" width="14" height="11" '
        f'fill="{fill}" stroke="{_STROKE}" stroke-width="0.5"/>'
        f'<text x="{22 + 150 * (i % 4)}" y="{13 + 18 * (i // 4)}" font-size="9" '
        f'font-family="DejaVu Sans, sans-serif">{html.escape(text)}</text>'
        for i, (fill, text) in enumerate(entries)
    )
    height = 8 + 18 * ((len(entries) + 3) // 4)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="600" height="{height}" '
        f'viewBox="0 0 600 {height}" role="img" aria-label="Légende">{_DEFS}{items}</svg>'
    )
