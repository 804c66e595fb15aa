"""The « Comparer » page's widgets: the programme and period choice, the cards, the downloads.

Territories side by side for a steering committee: headline cards with their target as
the reference value, the funnel with each step's share of the one above, rates per 1,000
with the denominator named on the card (its source and vintage), QPV / rural / other,
monthly small multiples, exits, rounds, the notes saying what is hidden and why. Every
person count is what :func:`territory.programme.compare` published; this module only
lays it out (the same tables as the PDF and the XLSX: :mod:`territory.report.tables`).
"""

from __future__ import annotations

import html
import re
from typing import Any

import pandas as pd
import streamlit as st

from territory.programme.compare import Comparison
from territory.report.maps import MAP_TITLE
from territory.report.tables import (
    exits_side_by_side,
    funnel_of,
    funnel_side_by_side,
    percent_text,
    period_label,
    rate_cards,
    rounds_table,
    step_title,
    target_cards,
    zones_side_by_side,
)
from territory.store import Workspace
from territory.ui.common import table_download
from territory.ui.loaders import cached_pack
from territory.ui.login import downloaded
from territory.ui.state import Keys

__all__ = [
    "downloads",
    "headline_cards",
    "map_section",
    "period_choice",
    "programme_choice",
    "progress_bar",
    "rate_section",
    "tables_section",
]

PERIOD_WORDS = {"programme": "Tout le programme"}
_PER_ROW = 3
_MAPS_PER_ROW = 4


def programme_choice(names: list[str]) -> str:
    """The programme compared (the first one by default)."""
    return str(st.selectbox("Programme", names, key=Keys.W_COMPARE_PROGRAMME))


def _period_text(period: str) -> str:
    if period in PERIOD_WORDS:
        return PERIOD_WORDS[period]
    year, _, quarter = period.partition("-T")
    return f"T{quarter} {year}" if quarter else f"Année {year}"


def period_choice(periods: list[str]) -> str | None:
    """The period compared, among the fixed choices of :func:`territory.programme.periods`."""
    if not periods:
        return None
    picked = st.selectbox(
        "Période",
        periods,
        format_func=_period_text,
        key=Keys.W_COMPARE_PERIOD,
        help="Des périodes fixes (années, trimestres, tout le programme) : les valeurs "
        "publiées ne se recoupent pas d'une période à l'autre.",
    )
    return str(picked)


def _people_caption(k: int) -> str:
    return (
        f"Source : contacts et parcours des équipes — valeurs protégées (aucune valeur de moins "
        f"de {k} personnes, « secret » : masquée)."
    )


def headline_cards(comparison: Comparison, *, k: int) -> None:
    """One card a territory: its funnel's first steps and each target with its progress."""
    territories = comparison.programme.territories
    for start in range(0, len(territories), _PER_ROW):
        columns = st.columns(_PER_ROW)
        for column, territory in zip(columns, territories[start : start + _PER_ROW], strict=False):
            with column.container(border=True):
                st.markdown(f"**{territory}**")
                funnel = funnel_of(comparison, territory)
                shown = dict(zip(funnel["Étape"], funnel["Personnes"], strict=True))
                shares = dict(
                    zip(funnel["Étape"], funnel["Part de l'étape précédente"], strict=True)
                )
                steps = list(shown)
                left, right = st.columns(2)
                for col, step in zip((left, right), steps[:2], strict=False):
                    col.metric(step_title(step), shown[step])
                for card in target_cards(comparison, territory):
                    st.metric(
                        f"{step_title(card.step)} en {card.period} — cible : {card.target}",
                        card.done,
                        help=f"Réalisé sur {card.period} (valeur publiée, protégée), face à la "
                        "cible fixée pour le programme.",
                    )
                    if card.progress_value is not None:
                        st.html(progress_bar(card.progress_value, f"Avancement {card.progress}"))
                    when = card.reached_on or "—"
                    st.caption(f"Atteinte estimée : {when}")
                rest = [f"{s} : {shown[s]} ({shares[s]})" for s in steps[2:]]
                if rest:
                    st.caption(" · ".join(rest))
                st.caption(_people_caption(k))


PROGRESS_COLOURS = ("#2e75b6", "#2e8b57")
"""A target's bar: the pack's blue under way, green once reached (never the theme's red)."""


def progress_bar(value: float, text: str) -> str:
    """A target's progress as a small HTML bar (the PDF pack's colours), with its text."""
    colour = PROGRESS_COLOURS[1] if value >= 1 else PROGRESS_COLOURS[0]
    width = round(100 * min(1.0, max(0.0, value)), 1)
    return (
        f'<div style="font-size: 0.85rem; margin: 0.1rem 0 0.2rem 0">{html.escape(text)}'
        '<div style="height: 0.45rem; background: #e3e9f1; border-radius: 0.2rem; '
        f'margin-top: 0.2rem"><div style="height: 100%; width: {width}%; background: {colour}; '
        'border-radius: 0.2rem"></div></div></div>'
    )


def rate_section(comparison: Comparison, *, k: int) -> None:
    """Rates per 1,000, one card a territory and rate, the denominator named with its source."""
    territories = comparison.programme.territories
    for start in range(0, len(territories), _PER_ROW):
        columns = st.columns(_PER_ROW)
        for column, territory in zip(columns, territories[start : start + _PER_ROW], strict=False):
            with column.container(border=True):
                st.markdown(f"**{territory}**")
                cards = rate_cards(comparison, territory, k=k)
                if not cards:
                    st.caption("Aucun taux pour ce territoire.")
                for card in cards:
                    if card.shown:
                        st.metric(card.indicator, f"{card.value} ‰")
                    else:
                        st.markdown(f"{card.indicator} : *{card.value}*")
                    st.caption(
                        f"{card.numerator} / {card.denominator} — dénominateur : "
                        f"**{card.denominator_name}** — source : {card.source}"
                    )


def map_section(comparison: Comparison, charts: dict[str, Any], *, k: int) -> None:
    """The small-multiple maps (one per territory, one colour scale) and their values."""
    drawn = {t: svg for t, svg in charts.get("maps", {}).items() if svg}
    if not drawn:
        return
    st.subheader(MAP_TITLE)
    st.caption(
        "Une carte par territoire, la même échelle de couleurs pour toutes. Jeunes rencontrés "
        "dans la commune sur la période (valeur protégée) pour 1 000 habitants ; hachuré : "
        f"non diffusé (moins de {k} personnes, ou masqué pour qu'on ne le retrouve pas par "
        "différence)."
    )
    st.image(charts["legend"])
    columns = st.columns(_MAPS_PER_ROW)
    for i, (territory, svg) in enumerate(drawn.items()):
        with columns[i % _MAPS_PER_ROW]:
            st.caption(territory)
            st.image(svg)
    with st.expander("Les valeurs des cartes, commune par commune"):
        table = comparison.maps.drop(columns=["Personnes"]).rename(
            columns={"Affiché": "Jeunes rencontrés"}
        )
        st.dataframe(table, hide_index=True, width="stretch")
    st.caption(
        "Sources : contacts des équipes (valeurs protégées) ; population municipale des "
        "communes (" + _population_source(comparison) + ")."
    )


def _population_source(comparison: Comparison) -> str:
    rows = comparison.sources[comparison.sources["Donnée"].str.startswith("Population municipale")]
    if rows.empty:
        return "communes importées"
    return f"{rows['Source'].iloc[0]}, {rows['Millésime'].iloc[0]}"


def tables_section(comparison: Comparison, charts: dict[str, Any], *, k: int) -> None:
    """The funnel side by side, targets, QPV / rural / other, trends, exits, rounds, notes.

    ``charts``: the Vega-Lite specifications of :func:`~territory.ui.loaders.cached_chart_specs`.
    """
    st.subheader("Parcours, territoire par territoire")
    st.caption(
        "Chaque case : personnes à l'étape (part de l'étape précédente). " + _people_caption(k)
    )
    st.dataframe(funnel_side_by_side(comparison), hide_index=True, width="stretch")
    with st.expander("Les parcours en barres"):
        columns = st.columns(_PER_ROW)
        for i, territory in enumerate(comparison.programme.territories):
            with columns[i % _PER_ROW]:
                st.caption(territory)
                st.vega_lite_chart(charts["funnels"][territory])
    if charts["targets"] is not None:
        st.subheader("Cibles et réalisé")
        st.vega_lite_chart(charts["targets"])
    st.subheader("QPV, communes rurales et autres zones")
    st.dataframe(zones_side_by_side(comparison), hide_index=True, width="stretch")
    map_section(comparison, charts, k=k)
    if charts["trends"] is not None:
        st.subheader("Évolution mensuelle")
        st.caption("Un mois sans point : valeur masquée (moins de k personnes).")
        st.vega_lite_chart(charts["trends"])
    st.subheader("Sorties de parcours")
    st.dataframe(exits_side_by_side(comparison), hide_index=True, width="stretch")
    st.subheader("Tournées : visites prévues et faites, heures de terrain")
    rounds = rounds_table(comparison)
    rounds["Part des visites faites"] = [percent_text(v) for v in rounds["Part des visites faites"]]
    st.dataframe(rounds, hide_index=True, width="stretch")
    st.subheader("Ce qui est masqué, et pourquoi")
    if comparison.notes:
        st.markdown("\n".join(f"- {n}" for n in comparison.notes))
    else:
        st.caption("Aucune valeur masquée.")
    with st.expander("Sources et millésimes", expanded=True):
        st.dataframe(comparison.sources, hide_index=True, width="stretch")


def _file_stem(comparison: Comparison) -> str:
    slug = re.sub(r"[^0-9A-Za-z]+", "-", comparison.programme.name).strip("-").lower()
    return f"copil-{slug or 'programme'}-{comparison.period}"


def downloads(ws: Workspace, comparison: Comparison, *, k: int, period: str | None) -> None:
    """The A4 PDF pack, the XLSX and the funnel as a French CSV (made when clicked)."""
    key = (ws.key, ws.version, k, comparison.programme.name, period)
    stem = _file_stem(comparison)
    left, middle, right = st.columns(3)
    with left:
        st.download_button(
            "Dossier A4 (PDF)",
            data=downloaded(
                lambda: cached_pack(*key, ".pdf"), workspace=ws.path.stem, target=f"{stem}.pdf"
            ),
            file_name=f"{stem}.pdf",
            mime="application/pdf",
            icon=":material/picture_as_pdf:",
            key=Keys.W_COMPARE_PDF,
            on_click="ignore",
            help=f"Une synthèse puis une page par territoire — {period_label(comparison)}.",
        )
    with middle:
        st.download_button(
            "Tableaux (XLSX)",
            data=downloaded(
                lambda: cached_pack(*key, ".xlsx"), workspace=ws.path.stem, target=f"{stem}.xlsx"
            ),
            file_name=f"{stem}.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            icon=":material/table_view:",
            key=Keys.W_COMPARE_XLSX,
            on_click="ignore",
        )
    with right:
        funnel = comparison.funnel.drop(columns=["Personnes"])
        table_download(
            "Parcours (CSV)",
            pd.DataFrame(funnel),
            file_name=f"{stem}-parcours.csv",
            key=Keys.W_COMPARE_CSV,
            workspace=ws.path.stem,
        )
