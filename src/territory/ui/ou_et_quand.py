"""The "Où et quand" page's widgets, from the choice of zones to a zone's best slots.

The zone kind, the weights, the ranking, a zone's card, its recommended slots and the
presence heatmap.
"""

from __future__ import annotations

from typing import Any, cast

import altair as alt
import pandas as pd
import streamlit as st

from territory._fr import format_number, format_short
from territory.analysis.indicators import indicator_registry
from territory.analysis.priority import GROUP_LABELS, GROUPS, Ranking, Weights, save_weights
from territory.analysis.slots import Profile, WhenResult
from territory.analysis.zones import ZONE_KIND_LABELS, ZoneKind
from territory.store import Workspace
from territory.ui.common import table_download
from territory.ui.loaders import settings
from territory.ui.login import downloaded
from territory.ui.state import Keys
from territory.vocab import PARTNER_TYPES, WEEKDAYS_FR

__all__ = [
    "OPEN_TYPES",
    "open_type_choice",
    "ranking_downloads",
    "ranking_table",
    "slot_heatmap",
    "slot_reasons",
    "slot_table",
    "weights_sidebar",
    "zone_card",
    "zone_indicator_table",
    "zone_kind_choice",
    "zone_slots",
]

WEIGHT_STEPS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0)
"""The weights a slider offers (shown « 0 », « 0,5 »… « 3 »)."""

OPEN_TYPES = {
    "": "Tous les créneaux",
    "ML": "Mission locale ouverte",
    "FT": "France Travail ouvert",
}
"""Slot filters: any slot, or only while a partner of that type is open."""


def zone_kind_choice() -> ZoneKind:
    """The zones ranked: communes (default), QPV or grid cells."""
    kind = st.segmented_control(
        "Zones",
        list(ZONE_KIND_LABELS),
        format_func=ZONE_KIND_LABELS.__getitem__,
        default="commune",
        key=Keys.W_PRIORITY_KIND,
    )
    return cast(ZoneKind, kind or "commune")


def weights_sidebar(ws: Workspace, territory: str | None, saved: Weights) -> dict[str, float]:
    """The score's weights in the sidebar (from the saved ones), saved on request."""
    with st.sidebar:
        st.markdown("**Poids du score de priorité**")
        chosen: dict[str, float] = {
            g: st.select_slider(  # not st.slider: it writes « 1.00 » (French: « 1 »)
                GROUP_LABELS[g],
                options=WEIGHT_STEPS,
                value=min(WEIGHT_STEPS, key=lambda w: abs(w - float(getattr(saved, g)))),
                format_func=format_short,
                key=f"{Keys.W_PRIORITY_WEIGHT}_{g}",
            )
            for g in GROUPS
        }
        if st.button("Enregistrer ces poids", icon=":material/save:", key=Keys.W_PRIORITY_SAVE):
            save_weights(ws, Weights(**chosen), territory=territory)
            st.toast("Poids enregistrés pour ce territoire.")
    return chosen


def ranking_table(ranking: Ranking) -> None:
    """The ranked zones: rank, name, code beside it, score bar, group scores and reasons."""
    columns = ["rang", "nom", "code", "score", *GROUPS, "pourquoi"]
    config: dict[str, Any] = {
        "rang": st.column_config.NumberColumn("Rang", format="%d"),
        "nom": st.column_config.TextColumn("Zone"),
        "code": st.column_config.TextColumn("Code zone", width="small"),
        "score": st.column_config.ProgressColumn(
            "Score", min_value=0, max_value=100, format="%.0f"
        ),
        **{g: st.column_config.NumberColumn(GROUP_LABELS[g], format="%.0f") for g in GROUPS},
        "pourquoi": st.column_config.TextColumn("Pourquoi", width="large"),
    }
    st.dataframe(
        ranking.table[columns], hide_index=True, width="stretch", height=320, column_config=config
    )


def ranking_downloads(files: tuple[bytes, bytes], *, workspace: str) -> None:
    """Download buttons for the ranking: CSV and GeoJSON (:func:`export.ranking_layer`).

    ``files`` are made once per ranking (:func:`~territory.ui.loaders.cached_ranking_files`).
    """
    left, right = st.columns(2)
    left.download_button(
        "Classement (CSV)",
        downloaded(files[0], workspace=workspace, target="priorites.csv"),
        file_name="priorites.csv",
        mime="text/csv",
        icon=":material/download:",
    )
    right.download_button(
        "Classement (GeoJSON)",
        downloaded(files[1], workspace=workspace, target="priorites.geojson"),
        file_name="priorites.geojson",
        mime="application/geo+json",
        icon=":material/map:",
    )


def open_type_choice() -> str | None:
    """The slot filter (:data:`OPEN_TYPES`); None for every slot."""
    open_type = st.radio(
        "Créneaux",
        list(OPEN_TYPES),
        format_func=OPEN_TYPES.get,
        horizontal=True,
        key=Keys.W_PRIORITY_OPEN,
    )
    return open_type or None


def zone_slots(ranking: Ranking, zone: str, result: WhenResult, *, workspace: str) -> None:
    """A zone's card, its recommended slots, the presence heatmap and its indicators."""
    left, right = st.columns(2)
    with left:
        zone_card(ranking, zone)
    with right:
        st.markdown(f"**Créneaux recommandés** — semaine du {result.week_start:%d/%m/%Y}")
        for phrase in result.slots["phrase"] if len(result.slots) else ["aucun créneau retenu"]:
            st.markdown(f"- {phrase}")
        for note in result.notes:
            st.caption(f"ℹ️ {note}")
    slot_reasons(result)
    slot_heatmap(result.profile)
    with st.expander("Indicateurs de la zone (unités, sources)", icon=":material/table:"):
        zone_indicator_table(ranking, zone, workspace=workspace)


SLOT_ORDER = (
    "Classés par la présence observée dans le profil de la zone (part des contacts du "
    "créneau), puis par les partenaires ouverts et la desserte ; jours fériés en dernier."
)


def slot_table(result: WhenResult) -> pd.DataFrame:
    """The recommended slots as shown: French columns, partner types by their label."""
    slots = result.slots
    return pd.DataFrame(
        {
            "Créneau": slots["creneau"],
            "Présence": slots["presence"],
            "Partenaires ouverts": [", ".join(n) for n in slots["partenaires_ouverts"]],
            "Types ouverts": [
                ", ".join(PARTNER_TYPES.get(t, t) for t in types)
                for types in slots["types_ouverts"]
            ],
            "Pourquoi": slots["pourquoi"],
        }
    )


def slot_reasons(result: WhenResult) -> None:
    """The recommended slots in a table with what their rank rests on (« Pourquoi »)."""
    if not len(result.slots):
        return
    st.dataframe(
        slot_table(result),
        hide_index=True,
        width="stretch",
        column_config={"Pourquoi": st.column_config.TextColumn("Pourquoi", width="large")},
    )
    st.caption(SLOT_ORDER)


def zone_card(ranking: Ranking, zone: str) -> None:
    """A zone's score and the reasons of its rank, in French."""
    row = ranking.table.set_index("code").loc[zone]
    st.metric(f"{row['nom']} — rang {int(row['rang'])}", f"{row['score']:.0f} / 100")
    for reason in row["raisons"]:
        st.markdown(f"- {reason}")


def zone_indicator_table(ranking: Ranking, zone: str, *, workspace: str) -> None:
    """A zone's indicators: French label, value, unit and source."""
    values = ranking.indicators.values.loc[zone]
    lines = [
        {
            "Indicateur": meta.label_fr,
            "Valeur": _shown(values[name]),
            "Unité": meta.unit,
            "Source": meta.source,
        }
        for name, meta in indicator_registry(settings()).items()
        if name in values.index and not _missing(values[name])
    ]
    table = pd.DataFrame(lines, columns=["Indicateur", "Valeur", "Unité", "Source"])
    st.dataframe(table, hide_index=True, width="stretch")
    table_download(
        "Indicateurs de la zone (CSV)",
        table,
        file_name=f"indicateurs-{zone}.csv",
        key=f"{Keys.W_ZONE_INDICATORS_CSV}_{zone}",
        workspace=workspace,
    )


def slot_heatmap(profile: Profile) -> None:
    """The weekday × 2-hour presence as a heatmap, with the published counts of its level.

    Colours are the presence levels (from the shares blended over the zone's levels);
    the tooltip shows the published count of the level named in the title only.
    """
    order = ["forte", "moyenne", "faible", "aucune", "inconnue"]
    # Published counts and labels only: the blended shares stay on the server.
    shown = profile.table[["jour", "debut", "creneau", "contacts", "libelle", "presence"]]
    table = shown.assign(jour_fr=shown["jour"].map(dict(enumerate(WEEKDAYS_FR))))
    owner = _OWNER[profile.scope]
    chart = (
        alt.Chart(table)
        .mark_rect()
        .encode(
            x=alt.X("debut:O", title="Heure de début du créneau"),
            y=alt.Y("jour_fr:N", sort=list(WEEKDAYS_FR), title=None),
            color=alt.Color(
                "presence:N",
                title="Présence",
                sort=order,
                scale=alt.Scale(
                    domain=order, range=["#08519c", "#4292c6", "#c6dbef", "#f7f7f7", "#d9d9d9"]
                ),
            ),
            tooltip=[
                alt.Tooltip("creneau", title="Créneau"),
                alt.Tooltip("presence", title="Présence"),
                alt.Tooltip("libelle", title=f"Contacts {owner}"),
            ],
        )
    )
    st.markdown("**Présence observée par créneau** (chiffres protégés)")
    if profile.basis:
        st.caption(f"Profil : {profile.basis}.")
    st.altair_chart(chart, width="stretch")


_OWNER = {
    "zone": "de la zone",
    "commune": "de la commune",
    "epci": "de l'EPCI",
    "territoire": "du territoire",
}


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float):
        return format_number(value, decimals=2).removesuffix(",00")
    return str(value)
