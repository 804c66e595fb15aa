"""The comparison's charts, as Altair specifications: the page shows them, the PDF draws them.

Streamlit renders an Altair chart natively; the PDF gets the same chart as SVG through
vl-convert (:func:`to_svg`: no browser, no network, the same SVG for the same chart). The
charts draw only published values: a hidden value is a gap in a line, a bar left out with
its « secret » label, never a number worked out from the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from territory._fr import MONTHS_FR, MONTHS_SHORT_FR

if TYPE_CHECKING:
    from typing import TypeAlias

    import altair as alt

    from territory.programme.compare import Comparison

    AnyChart: TypeAlias = alt.Chart | alt.LayerChart | alt.FacetChart

__all__ = [
    "FONT",
    "PNG_SCALE",
    "STEP_COLOURS",
    "funnel_chart",
    "targets_chart",
    "to_png",
    "to_svg",
    "trends_chart",
]

PNG_SCALE = 2
"""Pixels of a PNG chart per CSS pixel: 192 dpi on paper."""

FONT = "DejaVu Sans"
"""The charts' font: Debian's DejaVu, which WeasyPrint also uses (no download, same metrics)."""

STEP_COLOURS = ("#1f4e79", "#d9822b", "#2e8b57", "#8e44ad", "#7f7f7f")
"""The funnel steps' colours, in order (the charts and the PDF's small trends)."""
_BAR = "#2e75b6"
_FRENCH = {  # d3's French locale: narrow no-break space for thousands, decimal comma
    "number": {
        "decimal": ",",
        "thousands": "\u202f",
        "grouping": [3],
        "currency": ["", "\u00a0€"],
    },
    "time": {
        "dateTime": "%A %e %B %Y à %X",
        "date": "%d/%m/%Y",
        "time": "%H:%M:%S",
        "periods": ["AM", "PM"],
        "days": ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
        "shortDays": ["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."],
        "months": list(MONTHS_FR),
        "shortMonths": list(MONTHS_SHORT_FR),
    },
}


def _configured(chart: Any) -> AnyChart:
    configured = (
        chart.configure(font=FONT, locale=_FRENCH)
        .configure_view(stroke=None)
        .configure_axis(labelFontSize=10, titleFontSize=10, grid=False)
        .configure_header(labelFontSize=11, labelFontWeight="bold", title=None)
        .configure_legend(orient="bottom", labelFontSize=10, titleFontSize=10)
    )
    return cast("AnyChart", configured)


def funnel_chart(comparison: Comparison, territory: str, *, width: int = 300) -> AnyChart:
    """The territory's funnel: one bar a step (published count), hidden steps labelled."""
    import altair as alt

    rows = comparison.funnel[comparison.funnel["Territoire"] == territory]
    steps = list(dict.fromkeys(comparison.funnel["Étape"].astype(str)))
    data = pd.DataFrame(
        {
            "Étape": rows["Étape"].astype(str).to_list(),
            "Personnes": [None if pd.isna(v) else int(v) for v in rows["Personnes"]],
            "Affiché": rows["Affiché"].astype(str).to_list(),
        }
    )
    base = alt.Chart(data).encode(
        y=alt.Y("Étape:N", sort=steps, title=None, axis=alt.Axis(labelLimit=140)),
    )
    bars = base.mark_bar(color=_BAR).encode(
        x=alt.X("Personnes:Q", title="personnes (valeurs protégées)", axis=alt.Axis(format=",d")),
    )
    labels = base.mark_text(align="left", dx=3, fontSize=10, color="#222").encode(
        x=alt.X("x:Q"), text="Affiché:N"
    )
    chart = (bars + labels).transform_calculate(x="isValid(datum.Personnes) ? datum.Personnes : 0")
    return _configured(chart.properties(width=width, height=16 * len(steps)))


def trends_chart(
    comparison: Comparison,
    territories: tuple[str, ...] | None = None,
    *,
    columns: int = 4,
    width: int = 150,
    height: int = 80,
) -> AnyChart:
    """Monthly published counts by step, one small multiple a territory (gaps where hidden)."""
    import altair as alt

    wanted = territories or comparison.programme.territories
    trends = comparison.trends[comparison.trends["Territoire"].isin(wanted)]
    data = pd.DataFrame(
        {
            "Territoire": trends["Territoire"].astype(str).to_list(),
            "Mois": [f"{m}-01" for m in trends["Mois"].astype(str)],
            "Étape": trends["Étape"].astype(str).to_list(),
            "Personnes": [None if pd.isna(v) else int(v) for v in trends["Personnes"]],
        }
    )
    steps = list(dict.fromkeys(data["Étape"]))
    line = (
        alt.Chart(data)
        .mark_line(point=alt.OverlayMarkDef(size=12))
        .encode(
            x=alt.X("Mois:T", timeUnit="yearmonth", title=None, axis=alt.Axis(format="%b %y")),
            y=alt.Y("Personnes:Q", title="personnes", axis=alt.Axis(format=",d")),
            color=alt.Color(
                "Étape:N",
                sort=steps,
                scale=alt.Scale(domain=steps, range=list(STEP_COLOURS[: len(steps)])),
            ),
        )
        .properties(width=width, height=height)
    )
    if len(wanted) > 1:
        order = list(wanted)
        faceted = line.facet(
            facet=alt.Facet("Territoire:N", sort=order, title=None), columns=columns
        )
        return _configured(faceted)
    return _configured(line)


def targets_chart(comparison: Comparison, *, width: int = 420) -> AnyChart:
    """Target vs published actual, a bar and a tick per territory and target."""
    import altair as alt

    targets = comparison.targets
    data = pd.DataFrame(
        {
            "Cible de": [
                f"{t} — {s} {p}"
                for t, s, p in zip(
                    targets["Territoire"], targets["Étape"], targets["Période"], strict=True
                )
            ],
            "Réalisé": [None if pd.isna(v) else int(v) for v in targets["Réalisé"]],
            "Cible": [int(v) for v in targets["Cible"]],
        }
    )
    order = data["Cible de"].to_list()
    base = alt.Chart(data).encode(
        y=alt.Y("Cible de:N", sort=order, title=None, axis=alt.Axis(labelLimit=260))
    )
    bars = base.mark_bar(color=_BAR, height=12).encode(
        x=alt.X("Réalisé:Q", title="réalisé (barre) et cible (trait)", axis=alt.Axis(format=",d"))
    )
    ticks = base.mark_tick(color="#c00000", thickness=2, size=18).encode(x="Cible:Q")
    chart = (bars + ticks).properties(width=width, height=20 * max(1, len(order)))
    return _configured(chart)


def to_svg(chart: AnyChart) -> str:
    """The chart as SVG, without a browser (vl-convert); the same chart gives the same SVG."""
    import vl_convert as vlc

    spec: dict[str, Any] = chart.to_dict(validate=False)  # built here: valid by construction
    return str(vlc.vegalite_to_svg(spec))


def to_png(chart: AnyChart, *, scale: float = PNG_SCALE) -> bytes:
    """The chart as PNG at ``scale`` pixels per CSS pixel, without a browser (vl-convert).

    The PDF pack embeds PNG rather than SVG: WeasyPrint draws an SVG's every mark and glyph
    (seconds for twelve territories), an image at once. The same chart gives the same bytes.
    """
    import vl_convert as vlc

    spec: dict[str, Any] = chart.to_dict(validate=False)
    return bytes(vlc.vegalite_to_png(spec, scale=scale))
