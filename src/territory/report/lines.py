"""A territory's monthly trends as a small SVG line chart, written by hand (the PDF's pages).

The synthesis of the pack draws the trends of every territory with Altair (one
vl-convert call); each territory's own page repeats its lines, small. Twelve more
vl-convert calls cost seconds of the pack's budget (issue #22: ≤ 10 s for 12 hubs), so
those small charts are written here: one line per funnel step in the steps' colours of
:mod:`territory.report.charts`, a gap where a month is hidden (never a value worked out),
the first, middle and last months on the x axis, 0 and a round maximum on the y axis.
Only published values are drawn; the same comparison gives the same SVG.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING

import pandas as pd

from territory._fr import MONTHS_SHORT_FR, format_number
from territory.report.charts import FONT, STEP_COLOURS

if TYPE_CHECKING:
    from territory.programme.compare import Comparison

__all__ = ["common_top", "nice_ceiling", "steps_legend_svg", "targets_svg", "trends_svg"]


def nice_ceiling(value: float) -> int:
    """The round number at or above ``value`` used as the y axis' top.

    >>> nice_ceiling(0), nice_ceiling(7), nice_ceiling(128), nice_ceiling(2_340)
    (5, 8, 150, 2500)
    """
    if value <= 5:
        return 5
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= step * power:
            return int(step * power)
    return int(10 * power)  # pragma: no cover - the loop ends at 10


def _month_label(text: str) -> str:
    year, month = text.split("-")[:2]
    return f"{MONTHS_SHORT_FR[int(month) - 1]} {year[2:]}"


def common_top(comparison: Comparison) -> int:
    """The y axis' top shared by every territory's trends (small multiples on one scale)."""
    values = pd.to_numeric(comparison.trends["Personnes"], errors="coerce")
    return nice_ceiling(float(values.max()) if values.notna().any() else 0)


def trends_svg(
    comparison: Comparison,
    territory: str,
    *,
    width: int = 250,
    height: int = 70,
    top: int | None = None,
    months: list[str] | None = None,
    legend: bool = True,
) -> str:
    """The monthly published people of ``territory`` per step, "" when it has no month shown.

    ``top`` and ``months``: the y axis' top and the x axis' months, when several charts
    share them (the synthesis' small multiples); else the territory's own. Without
    ``legend``, no key of the steps (the multiples share one: :func:`steps_legend_svg`).
    """
    trends = comparison.trends[comparison.trends["Territoire"] == territory]
    if trends.empty:
        return ""
    months = months or sorted(set(trends["Mois"].astype(str)))
    steps = list(dict.fromkeys(trends["Étape"].astype(str)))
    values = pd.to_numeric(trends["Personnes"], errors="coerce")
    if top is None:
        top = nice_ceiling(float(values.max()) if values.notna().any() else 0)
    left, right, up, axis = 34, 6, 6, 14
    key_h = 14 * math.ceil(len(steps) / 3) if legend else 0
    full_w, full_h = left + width + right, up + height + axis + key_h
    span = max(len(months) - 1, 1)
    position = {m: i for i, m in enumerate(months)}

    def x(month: str) -> float:
        return round(left + width * position[month] / span, 1)

    def y(value: float) -> float:
        return round(up + height * (1 - value / top), 1)

    text = f'font-family="{FONT}, sans-serif" font-size="8" fill="#333"'
    grey = 'stroke="#888" stroke-width="0.6"'
    top_label = html.escape(format_number(top))
    parts = [
        f'<line x1="{left}" y1="{up + height}" x2="{left + width}" y2="{up + height}" {grey}/>',
        f'<line x1="{left}" y1="{up}" x2="{left}" y2="{up + height}" {grey}/>',
        f'<text x="{left - 3}" y="{up + height + 3}" text-anchor="end" {text}>0</text>',
        f'<text x="{left - 3}" y="{up + 3}" text-anchor="end" {text}>{top_label}</text>',
    ]
    shown = sorted({months[0], months[len(months) // 2], months[-1]})
    for month in shown:
        anchor = "start" if month == months[0] else ("end" if month == months[-1] else "middle")
        parts.append(
            f'<text x="{x(month)}" y="{up + height + 10}" text-anchor="{anchor}" {text}>'
            f"{html.escape(_month_label(month))}</text>"
        )
    for s, step in enumerate(steps):
        colour = STEP_COLOURS[s % len(STEP_COLOURS)]
        rows = trends[trends["Étape"].astype(str) == step]
        by_month = dict(zip(rows["Mois"].astype(str), rows["Personnes"], strict=True))
        run: list[str] = []
        for month in [*months, ""]:  # "" ends the last run
            value = by_month.get(month, pd.NA) if month else pd.NA
            if pd.isna(value):  # a hidden month: the line stops, nothing is drawn there
                if len(run) > 1:
                    parts.append(
                        f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" '
                        'stroke-width="1.2" stroke-linejoin="round"/>'
                    )
                elif run:
                    cx, cy = run[0].split(",")
                    parts.append(f'<circle cx="{cx}" cy="{cy}" r="1.3" fill="{colour}"/>')
                run = []
                continue
            run.append(f"{x(month):g},{y(float(value)):g}")
        if legend:
            lx = left + (s % 3) * (width // 3)
            ly = up + height + axis + 10 + 14 * (s // 3)
            parts.append(
                f'<rect x="{lx}" y="{ly - 6}" width="8" height="3" fill="{colour}"/>'
                f'<text x="{lx + 11}" y="{ly}" {text}>{html.escape(step)}</text>'
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{full_w}" height="{full_h}" '
        f'viewBox="0 0 {full_w} {full_h}" role="img" '
        f'aria-label="{html.escape(territory)} : évolution mensuelle">{"".join(parts)}</svg>'
    )


def targets_svg(comparison: Comparison, *, width: int = 430) -> str:
    """Target (red tick) against the published actual (bar) per target, "" without targets.

    A hidden actual has no bar (its label says « secret »); the same comparison gives the
    same SVG. The pack's targets chart, written here rather than by vl-convert (its start
    alone costs a second of the pack's budget).
    """
    targets = comparison.targets
    if targets.empty:
        return ""
    labels = [
        f"{t} — {s} {p}"
        for t, s, p in zip(targets["Territoire"], targets["Étape"], targets["Période"], strict=True)
    ]
    done = pd.to_numeric(targets["Réalisé"], errors="coerce").to_list()
    goal = pd.to_numeric(targets["Cible"], errors="coerce").to_list()
    known = [float(v) for v in [*done, *goal] if not pd.isna(v)]
    top = nice_ceiling(max(known) if known else 0)
    left, row, up = 250, 14, 4
    plot = width - left - 8
    full_h = up + row * len(labels) + 26
    text = f'font-family="{FONT}, sans-serif" font-size="7.5" fill="#333"'

    def x(value: float) -> float:
        return round(left + plot * value / top, 1)

    parts = []
    for i, (label, d, g) in enumerate(zip(labels, done, goal, strict=True)):
        y = up + i * row
        short = label if len(label) <= 58 else label[:57] + "…"
        parts.append(
            f'<text x="{left - 4}" y="{y + 9}" text-anchor="end" {text}>{html.escape(short)}</text>'
        )
        if not pd.isna(d):
            parts.append(
                f'<rect x="{left}" y="{y + 2}" width="{x(float(d)) - left:g}" height="9" '
                'fill="#2e75b6"/>'
            )
        else:
            parts.append(f'<text x="{left + 2}" y="{y + 9}" {text}>secret</text>')
        if not pd.isna(g):
            parts.append(
                f'<line x1="{x(float(g)):g}" y1="{y}" x2="{x(float(g)):g}" y2="{y + 13}" '
                'stroke="#c00000" stroke-width="1.6"/>'
            )
    base = up + row * len(labels)
    parts.append(
        f'<line x1="{left}" y1="{base}" x2="{left + plot}" y2="{base}" stroke="#888" '
        'stroke-width="0.6"/>'
    )
    for tick in range(5):
        value = top * tick / 4
        parts.append(
            f'<text x="{x(value):g}" y="{base + 10}" text-anchor="middle" {text}>'
            f"{html.escape(format_number(value))}</text>"
        )
    parts.append(
        f'<text x="{left + plot / 2:g}" y="{base + 22}" text-anchor="middle" {text}>'
        "réalisé (barre) et cible (trait)</text>"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{full_h}" '
        f'viewBox="0 0 {width} {full_h}" role="img" aria-label="Cibles et réalisé">'
        f"{''.join(parts)}</svg>"
    )


def steps_legend_svg(steps: list[str]) -> str:
    """The key of the steps' colours on one line (under the synthesis' small multiples)."""
    text = f'font-family="{FONT}, sans-serif" font-size="8" fill="#333"'
    parts = [
        f'<rect x="{4 + 110 * i}" y="6" width="10" height="3" '
        f'fill="{STEP_COLOURS[i % len(STEP_COLOURS)]}"/>'
        f'<text x="{18 + 110 * i}" y="11" {text}>{html.escape(step)}</text>'
        for i, step in enumerate(steps)
    ]
    width = 8 + 110 * len(steps)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="16" '
        f'viewBox="0 0 {width} 16" role="img" aria-label="Étapes">{"".join(parts)}</svg>'
    )
