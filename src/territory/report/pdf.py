"""The A4 pack of the steering committee: HTML and CSS paged media, rendered by WeasyPrint.

A synthesis (territories side by side: funnel, targets, rates with their denominators,
QPV / rural / other, exits, rounds, monthly small multiples, notes and sources), then one
page per territory (its cards, its funnel and trend charts). Every card says where its
figures come from and their vintage; the running header names the programme and the
period, the footer the page and the fingerprint of the published tables
(:func:`~territory.report.tables.inputs_hash`).

The same comparison gives the same bytes: no date or random identifier is written (the
PDF's identifier is the fingerprint), the charts are small SVG written by
:mod:`territory.report.lines` (targets, monthly trends) and the small-multiple maps PNG
rasterised from :mod:`territory.report.maps`' SVG by resvg — no vl-convert call, whose
start alone cost a second of the 10-s budget — and the fonts are Debian's DejaVu
(offline). The page keeps its Altair charts (:mod:`territory.report.charts`).
"""

from __future__ import annotations

import base64
import dataclasses
import html
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from territory.report.charts import FONT, PNG_SCALE, to_png
from territory.report.lines import common_top, steps_legend_svg, targets_svg, trends_svg
from territory.report.maps import MAP_TITLE, classes, legend_svg, territory_map_svg
from territory.report.tables import (
    MISSING,
    exits_side_by_side,
    funnel_by_territory,
    funnel_of,
    inputs_hash,
    percent_text,
    period_label,
    rate_cards,
    rates_display,
    rounds_display,
    step_title,
    target_cards,
    targets_display,
    territory_notes,
    zones_side_by_side,
)

if TYPE_CHECKING:
    from territory.programme.compare import Comparison
    from territory.report.charts import AnyChart

__all__ = ["pack_html", "render_pdf"]

_CSS = """
@page {
  size: A4 portrait;
  margin: 17mm 12mm 15mm 12mm;
  @top-left { content: "%(header)s"; font-size: 8pt; color: #444; }
  @top-right { content: "Comité de pilotage"; font-size: 8pt; color: #444; }
  @bottom-left { content: "%(footer)s"; font-size: 7pt; color: #666; }
  @bottom-right { content: "page " counter(page) " / " counter(pages); font-size: 8pt; }
}
html { font-family: "%(font)s", sans-serif; font-size: 8.5pt; color: #1a1a1a; }
body { margin: 0; }
h1 { font-size: 17pt; margin: 0 0 2mm 0; color: #1f4e79; }
h2 { font-size: 14pt; margin: 0 0 2.5mm 0; color: #1f4e79; }
h3 { font-size: 9.5pt; margin: 0 0 1.5mm 0; }
p { margin: 0 0 1.5mm 0; }
.territory { break-before: page; }
.lead { color: #333; margin-bottom: 3mm; }
.card { border: 0.4mm solid #c9d3df; border-radius: 1.5mm; padding: 2mm 2.5mm;
        margin-bottom: 2.5mm; break-inside: avoid; }
.source { font-size: 6.8pt; color: #555; margin-top: 1mm; }
.row { display: table; table-layout: fixed; width: 100%%; border-spacing: 2.5mm 0;
       margin: 0 -2.5mm; }
.row > * { display: table-cell; vertical-align: top; }
.kpi { font-size: 15pt; font-weight: bold; color: #1f4e79; }
.ref { font-size: 7.5pt; color: #333; }
.bar { height: 2mm; background: #e3e9f1; margin-top: 1mm; }
.bar > div { height: 2mm; background: #2e75b6; }
table { border-collapse: collapse; width: 100%%; font-size: 7.6pt; }
th, td { border-bottom: 0.2mm solid #d0d7e0; padding: 0.7mm 1.2mm; text-align: left;
         vertical-align: top; }
th { background: #eef2f7; font-weight: bold; }
td.n, th.n { text-align: right; white-space: nowrap; }
tr { break-inside: avoid; }
.chart img { max-width: 100%%; }
.maps { margin: 1mm 0; }
figure.map { display: inline-block; width: 44mm; margin: 0 1.5mm 2mm 0; vertical-align: top;
  page-break-inside: avoid; }
figure.map .box { height: 38mm; }
figure.map img { max-width: 44mm; max-height: 38mm; }
figure.map figcaption { font-size: 7pt; color: #333; }
.legend img { width: 150mm; }
figure.trend { display: inline-block; width: 44mm; margin: 0 1.5mm 2mm 0; vertical-align: top;
  page-break-inside: avoid; }
figure.trend img { width: 44mm; }
figure.trend figcaption { font-size: 7pt; color: #333; }
.notes li { margin-bottom: 0.8mm; }
.secret { color: #8a4b00; }
table.funnel { margin-bottom: 2mm; }
table.funnel td { border: none; padding: 0.5mm 1mm; }
table.funnel td.step { width: 28mm; }
table.funnel td.barcell { width: 40%%; }
table.funnel th { background: none; font-weight: normal; color: #555; border: none; }
.fbar { height: 3.2mm; background: #2e75b6; }
"""


def _css_string(text: str) -> str:
    """``text`` inside a CSS string of the ``<style>`` element (no ``</style>`` can end it)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return escaped.replace("\n", " ").replace("<", "\\3c ").replace(">", "\\3e ")


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(frame: pd.DataFrame, *, numeric: tuple[str, ...] = ()) -> str:
    head = "".join(f'<th class="{"n" if c in numeric else ""}">{_e(c)}</th>' for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, row, strict=True):
            text = (
                MISSING
                if value is None or (not isinstance(value, str) and pd.isna(value))
                else value
            )
            cls = "n" if column in numeric else ""
            if str(text) in {"secret", MISSING} or str(text).startswith("<"):
                cls += " secret"
            cells.append(f'<td class="{cls.strip()}">{_e(text)}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _img(chart: AnyChart, alt: str) -> str:
    """The chart as a PNG image at its CSS size (:data:`~territory.report.charts.PNG_SCALE`)."""
    png = to_png(chart, scale=PNG_SCALE)
    width = struct.unpack(">I", png[16:20])[0] / PNG_SCALE  # the IHDR chunk's width
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<div class="chart"><img alt="{_e(alt)}" style="width: {width:.1f}px" '
        f'src="data:image/png;base64,{data}"></div>'
    )


def _source(comparison: Comparison, *keywords: str, fallback: str) -> str:
    """« Source : … (millésime) » from the comparison's sources whose name has a keyword."""
    sources = comparison.sources
    found = []
    for row in sources.itertuples(index=False):
        name, source, vintage = (str(v) for v in row[:3])
        if any(k.lower() in name.lower() for k in keywords):
            found.append(f"{source} ({vintage})" if vintage and vintage != "nan" else source)
    text = " ; ".join(dict.fromkeys(found)) or fallback
    return f'<p class="source">Source : {_e(text)}</p>'


def _people_source(comparison: Comparison, k: int | None) -> str:
    protected = (
        f"valeurs protégées, aucun chiffre de moins de {k} personnes" if k else "valeurs protégées"
    )
    return _source(
        comparison,
        "contact",
        "parcours",
        fallback=f"contacts et parcours des équipes du programme ({protected})",
    )


def _people_note(k: int | None) -> str:
    if k:
        return f" — valeurs protégées (aucune valeur issue de moins de {k} personnes)"
    return " — valeurs protégées"


def _card(title: str, body: str, source: str = "", *, css: str = "card") -> str:
    return f'<div class="{css}"><h3>{_e(title)}</h3>{body}{source}</div>'


def _ref(text: str) -> str:
    return f'<p class="ref">{_e(text)}</p>'


_ZONES_FALLBACK = "zonages officiels de l'espace de travail"
_ROUNDS_FALLBACK = "plans de tournées et retours de terrain de l'espace de travail"
_TARGET_NUMBERS = ("Cible", "Réalisé", "Avancement")
_ZONE_NUMBERS = ("QPV", "rural", "autre")


def _synthesis(comparison: Comparison, k: int | None) -> str:
    people = _people_source(comparison, k)
    zones_source = _source(comparison, "QPV", "rural", fallback=_ZONES_FALLBACK)
    rounds_source = _source(comparison, "tournée", "visite", fallback=_ROUNDS_FALLBACK)
    rates_source = _source(
        comparison, "population", "jeunes", "dénominateur", fallback="voir chaque ligne"
    )
    territories = comparison.programme.territories
    funnel = funnel_by_territory(comparison)
    exits = exits_side_by_side(comparison)
    rounds = rounds_display(comparison)
    parts = [
        f"<h1>{_e(comparison.programme.name)}</h1>",
        (
            f'<p class="lead">Comité de pilotage — {_e(period_label(comparison))} — '
            f"{len(territories)} territoire(s) : {_e(', '.join(territories))}.</p>"
        ),
        _card(
            f"Parcours des jeunes, territoire par territoire{_people_note(k)}",
            _ref(
                "Chaque case : personnes à l'étape (part de l'étape précédente). "
                "« secret » : valeur masquée pour protéger les personnes."
            )
            + _table(funnel, numeric=tuple(funnel.columns[1:])),
            people,
        ),
    ]
    if not comparison.targets.empty:
        shown, caption = _charted_targets(comparison)
        chart = _vector(targets_svg(shown, width=640), "Cibles et réalisé")
        parts.append(
            _card(
                "Cibles et réalisé",
                chart
                + caption
                + _table(targets_display(comparison), numeric=_TARGET_NUMBERS)
                + _ref(
                    "Date d'atteinte estimée : au rythme observé sur la période, "
                    "tel que le calcule la comparaison protégée."
                ),
                people,
            )
        )
    parts.append(
        _card(
            "Taux pour 1 000, avec leur dénominateur",
            _table(rates_display(comparison), numeric=("Pour 1 000",))
            + _ref(
                "Un taux n'est pas calculé quand son dénominateur est absent ou trop petit, "
                "ou que son numérateur est masqué."
            ),
            rates_source,
        )
    )
    parts.append(
        _card(
            "QPV, communes rurales et autres zones",
            _table(zones_side_by_side(comparison), numeric=_ZONE_NUMBERS),
            zones_source,
        )
    )
    maps = _maps_html(comparison, k)
    if maps:
        population = _source(comparison, "Population municipale", fallback="communes importées")
        parts.append(_card(MAP_TITLE, maps, people + population))
    parts.append(
        _card("Sorties de parcours", _table(exits, numeric=tuple(exits.columns[1:])), people)
    )
    parts.append(
        _card(
            "Tournées : visites prévues et faites, heures de terrain",
            _table(rounds, numeric=tuple(rounds.columns[1:])),
            rounds_source,
        )
    )
    if not comparison.trends.empty:
        parts.append(_card("Évolution mensuelle", _trend_multiples(comparison), people))
    parts.append(_notes_and_sources(comparison))
    return f'<section class="synthesis">{"".join(parts)}</section>'


def _vector(svg: str, alt: str) -> str:
    """An SVG drawn as vectors (a chart of a few hundred marks: cheap for WeasyPrint)."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<div class="chart"><img alt="{_e(alt)}" src="data:image/svg+xml;base64,{data}"></div>'


def _trend_multiples(comparison: Comparison) -> str:
    """Every territory's monthly trends, small multiples on one scale (report/lines.py)."""
    top = common_top(comparison)
    months = sorted(set(comparison.trends["Mois"].astype(str)))
    figures = []
    for territory in comparison.programme.territories:
        svg = trends_svg(
            comparison, territory, width=150, height=55, top=top, months=months, legend=False
        )
        if svg:
            figures.append(
                f'<figure class="trend">{_vector(svg, territory)}'
                f"<figcaption>{_e(territory)}</figcaption></figure>"
            )
    steps = list(dict.fromkeys(comparison.trends["Étape"].astype(str)))
    key = _vector(steps_legend_svg(steps), "Étapes")
    return f'<div class="maps">{"".join(figures)}</div>{key}'


def _svg_img(svg: str, alt: str) -> str:
    """An SVG drawn as a PNG at :data:`PNG_SCALE` (resvg, through vl-convert), at its CSS size.

    WeasyPrint draws an embedded SVG path by path: twelve maps of a département's
    communes cost seconds in every render; an image costs nothing. The same SVG gives
    the same bytes.
    """
    import vl_convert as vlc

    png = bytes(vlc.svg_to_png(svg, scale=PNG_SCALE))
    width = struct.unpack(">I", png[16:20])[0] / PNG_SCALE  # the IHDR chunk's width
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_e(alt)}" style="width: {width:.1f}px" src="data:image/png;base64,{data}">'


def _maps_html(comparison: Comparison, k: int | None) -> str:
    """The small-multiple maps (one common scale) and their legend, "" without outlines."""
    bounds = classes(comparison)
    figures = []
    for territory in comparison.programme.territories:
        svg = territory_map_svg(comparison, territory, size=150, bounds=bounds)
        if svg:
            figures.append(
                f'<figure class="map"><div class="box">{_svg_img(svg, territory)}</div>'
                f"<figcaption>{_e(territory)}</figcaption></figure>"
            )
    if not figures:
        return ""
    return (
        _ref(
            "Une carte par territoire, la même échelle pour toutes : jeunes rencontrés dans la "
            "commune sur la période (valeur protégée) pour 1 000 habitants ; hachuré : non diffusé."
        )
        + f'<div class="maps">{"".join(figures)}</div>'
        + f'<div class="legend">{_svg_img(legend_svg(bounds, k=k), "Légende")}</div>'
    )


_CHARTED_TARGETS = 24
"""Bars in the targets chart at most (the table below it gives them all)."""


def _charted_targets(comparison: Comparison) -> tuple[Comparison, str]:
    """The comparison whose targets the chart draws, and a caption when some are left out.

    Beyond :data:`_CHARTED_TARGETS` bars, only the latest period's targets are drawn.
    """
    targets = comparison.targets
    if len(targets) <= _CHARTED_TARGETS:
        return comparison, ""
    latest = max(targets["Période"].astype(str))
    kept = targets[targets["Période"].astype(str) == latest].head(_CHARTED_TARGETS)
    caption = _ref(
        f"Le graphique montre {len(kept)} cibles de la période {latest} ; "
        f"le tableau donne les {len(targets)} cibles."
    )
    return dataclasses.replace(comparison, targets=kept), caption


def _notes_and_sources(comparison: Comparison) -> str:
    notes = "".join(f"<li>{_e(n)}</li>" for n in comparison.notes)
    notes_html = f'<ul class="notes">{notes}</ul>' if notes else "<p>Aucune valeur masquée.</p>"
    return _card("Notes : ce qui est masqué et pourquoi", notes_html) + _card(
        "Sources et millésimes", _table(comparison.sources)
    )


def _kpis(comparison: Comparison, territory: str, people: str) -> str:
    funnel = funnel_of(comparison, territory)
    by_step = dict(zip(funnel["Étape"], funnel["Personnes"], strict=True))
    targets = {c.step: c for c in target_cards(comparison, territory)}
    steps = list(by_step)
    shown = [*steps[:3], *(s for s in steps[3:] if s in targets)][:4]
    cards = []
    for step in shown:
        target = targets.get(step)
        ref = ""
        if target is not None:
            width = 0 if target.progress_value is None else round(100 * target.progress_value)
            reached = f" — {target.reached_on}" if target.reached_on else ""
            ref = (
                _ref(
                    f"Cible {target.period} : {target.target} — "
                    f"avancement {target.progress}{reached}"
                )
                + f'<div class="bar"><div style="width: {min(100, width)}%"></div></div>'
            )
        cards.append(
            _card(step_title(step), f'<div class="kpi">{_e(by_step[step])}</div>{ref}', people)
        )
    return f'<div class="row">{"".join(cards)}</div>'


def _trends_html(comparison: Comparison, territory: str) -> str:
    """The territory's monthly trends under its funnel (nothing when it has none)."""
    svg = trends_svg(comparison, territory, width=250, height=70)
    if not svg:
        return ""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (  # drawn as vectors: a few lines and labels (report/lines.py: no vl-convert call)
        '<h3>Évolution mensuelle</h3><div class="chart"><img alt="Évolution mensuelle" '
        f'src="data:image/svg+xml;base64,{data}"></div>'
    )


def _funnel_bars(comparison: Comparison, territory: str) -> str:
    """The funnel as CSS bars (published counts; a hidden step has no bar, its label says so).

    Plain HTML rather than a vl-convert chart: twelve territories' bars cost nothing.
    """
    rows = comparison.funnel[comparison.funnel["Territoire"] == territory]
    known = [int(v) for v in rows["Personnes"] if not pd.isna(v)]
    top = max(known, default=0) or 1
    lines = []
    shares = rows["Part de l'étape précédente"]
    for step, n, shown, share in zip(
        rows["Étape"], rows["Personnes"], rows["Affiché"], shares, strict=True
    ):
        width = 0 if pd.isna(n) else round(100 * int(n) / top, 1)
        lines.append(
            f'<tr><td class="step">{_e(step)}</td><td class="barcell">'
            f'<div class="fbar" style="width: {width}%"></div></td>'
            f'<td class="n{"" if width else " secret"}">{_e(shown)}</td>'
            f'<td class="n">{_e(percent_text(share))}</td></tr>'
        )
    head = (
        '<tr><th>Étape</th><th></th><th class="n">Personnes</th>'
        '<th class="n">Part de l\'étape précédente</th></tr>'
    )
    return f'<table class="funnel">{head}{"".join(lines)}</table>'


def _rate_cards(comparison: Comparison, territory: str, k: int | None) -> str:
    cards = []
    for card in rate_cards(comparison, territory, k=k):
        value = (
            f'<div class="kpi">{_e(card.value)} ‰</div>'
            if card.shown
            else f'<p class="secret">{_e(card.value)}</p>'
        )
        cards.append(
            _card(
                card.indicator,
                value
                + _ref(
                    f"{card.numerator} / {card.denominator} — dénominateur : "
                    f"{card.denominator_name}"
                ),
                f'<p class="source">Source du dénominateur : {_e(card.source)}</p>',
            )
        )
    return "".join(cards) or _card("Taux pour 1 000", _ref("Aucun taux pour ce territoire."))


def _rounds_sentence(rounds: pd.DataFrame, territory: str) -> str:
    mine = rounds[rounds["Territoire"] == territory]
    if mine.empty:
        return "Aucune tournée planifiée sur la période."
    row = mine.iloc[0]
    return (
        f"{row['Visites faites']} visite(s) faite(s) sur {row['Visites prévues']} prévue(s) "
        f"({row['Part faite']}), {row['Heures de terrain']} h de terrain."
    )


def _territory_notes_html(
    comparison: Comparison, territory: str, notes: list[str], k: int | None
) -> str:
    """The territory's own notes, and what its hidden cells mean when it has any."""
    shown = pd.concat(
        [
            t.loc[t["Territoire"] == territory, "Affiché"]
            for t in (comparison.funnel, comparison.zones, comparison.exits, comparison.trends)
        ]
    ).astype(str)
    hidden = bool(shown.str.contains("secret").any() or shown.str.startswith("<").any())
    items = [f"<li>{_e(n)}</li>" for n in notes]
    if hidden:
        under = f"moins de {k} personnes" if k else "trop peu de personnes"
        items.append(
            f"<li>« &lt; {k or 'k'} » : {_e(under)} ; « secret » : masquée pour qu'aucune "
            "valeur masquée ne se déduise des autres (notes générales en synthèse).</li>"
        )
    if not items:
        return _ref("Aucune valeur masquée pour ce territoire.")
    return f'<ul class="notes">{"".join(items)}</ul>'


@dataclass(frozen=True)
class _Tables:
    """The side-by-side tables, made once for every territory's page."""

    zones: pd.DataFrame
    exits: pd.DataFrame
    rounds: pd.DataFrame

    @classmethod
    def of(cls, comparison: Comparison) -> _Tables:
        return cls(
            zones_side_by_side(comparison),
            exits_side_by_side(comparison),
            rounds_display(comparison),
        )


def _territory_page(comparison: Comparison, territory: str, k: int | None, tables: _Tables) -> str:
    people = _people_source(comparison, k)
    zones = tables.zones[tables.zones["Territoire"] == territory].drop(columns="Territoire")
    exits = tables.exits[tables.exits["Territoire"] == territory].drop(columns="Territoire")
    notes = territory_notes(comparison, territory)
    parts = [
        f"<h2>{_e(territory)}</h2>",
        _kpis(comparison, territory, people),
        '<div class="row">'
        + _card(
            f"Parcours{_people_note(k)}",
            _funnel_bars(comparison, territory) + _trends_html(comparison, territory),
            people,
        )
        + f"<div>{_rate_cards(comparison, territory, k)}</div></div>",
        '<div class="row">'
        + _card(
            "QPV, rural, autres zones",
            _table(zones, numeric=_ZONE_NUMBERS),
            _source(comparison, "QPV", "rural", fallback=_ZONES_FALLBACK),
        )
        + _card("Sorties", _table(exits, numeric=tuple(exits.columns)), people)
        + "</div>",
        '<div class="row">'
        + _card(
            "Tournées",
            f"<p>{_e(_rounds_sentence(tables.rounds, territory))}</p>",
            _source(comparison, "tournée", "visite", fallback=_ROUNDS_FALLBACK),
        )
        + _card("Notes", _territory_notes_html(comparison, territory, notes, k))
        + "</div>",
    ]
    return f'<section class="territory">{"".join(parts)}</section>'


def pack_html(comparison: Comparison, *, k: int | None = None) -> str:
    """The pack as one HTML document (its CSS inline): what WeasyPrint paginates."""
    fingerprint = inputs_hash(comparison)
    header = f"{comparison.programme.name} — {period_label(comparison)}"
    footer = f"Empreinte des données publiées : {fingerprint[:16]}"
    css = _CSS % {"header": _css_string(header), "footer": _css_string(footer), "font": FONT}
    tables = _Tables.of(comparison)
    pages = "".join(
        _territory_page(comparison, t, k, tables) for t in comparison.programme.territories
    )
    return (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        f"<title>{_e(comparison.programme.name)} — comité de pilotage</title>"
        '<meta name="generator" content="territory">'
        f'<meta name="keywords" content="empreinte {fingerprint}">'
        f"<style>{css}</style></head><body>"
        f"{_synthesis(comparison, k)}{pages}</body></html>"
    )


def render_pdf(comparison: Comparison, *, k: int | None = None) -> bytes:
    """The A4 pack as PDF bytes; the same comparison gives the same bytes.

    ``k`` (the disclosure threshold) is only quoted in the reading notes.
    """
    from weasyprint import HTML

    document = HTML(string=pack_html(comparison, k=k)).render()
    identifier = inputs_hash(comparison)[:32].encode("ascii")
    data = document.write_pdf(pdf_identifier=identifier)
    assert data is not None  # no target given: the bytes are returned
    return bytes(data)
