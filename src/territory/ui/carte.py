"""The "Carte" page's widgets: the basemap switch and the card of what was clicked."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import streamlit as st

from territory.cachekeys import DataKey
from territory.cards import card
from territory.map.build import zone_from_click
from territory.store import Workspace
from territory.ui.loaders import cached_layers, cached_qpv_contacts, cached_stop_hours, settings
from territory.ui.state import Keys
from territory.vocab import MODES

__all__ = ["access_choice", "basemap_toggle", "hotspots_toggle", "zone_panel"]

PARIS = ZoneInfo("Europe/Paris")


def basemap_toggle() -> bool:
    """The OpenStreetMap background switch, in the sidebar (kept across pages)."""
    with st.sidebar:
        basemap = st.toggle(
            "Fond de carte OpenStreetMap (internet)",
            value=st.session_state[Keys.BASEMAP],
            key=Keys.W_BASEMAP,
            help="Sans internet, la carte reste lisible sur fond gris.",
        )
    st.session_state[Keys.BASEMAP] = basemap
    return basemap


def hotspots_toggle() -> bool:
    """The « Points chauds » overlay switch (Gi* on the published density), in the sidebar."""
    with st.sidebar:
        shown = st.toggle(
            "Points chauds de la densité (Gi*)",
            value=st.session_state[Keys.HOTSPOTS],
            key=Keys.W_HOTSPOTS,
            help=(
                "Zones où la densité publiée de contacts est significativement plus forte "
                "(point chaud) ou plus faible (point froid) que chez leurs voisines, après "
                "correction pour le nombre de zones testées (q < 0,05)."
            ),
        )
    st.session_state[Keys.HOTSPOTS] = shown
    return shown


def access_choice(ws: Workspace) -> str | None:
    """The accessibility choropleth's mode (None: not drawn), in the sidebar.

    Without partners there is nothing to reach: the choice says so instead of drawing nothing.
    """
    options = [None, *MODES]
    with st.sidebar:
        mode = st.selectbox(
            "Accessibilité aux partenaires",
            options,
            index=options.index(st.session_state[Keys.ACCESS]),
            format_func=lambda m: (
                "non affichée" if m is None else f"en {m}" if m != "marche" else "à pied"
            ),
            key=Keys.W_ACCESS,
            help=(
                "Partenaires pour 10 000 habitants (15-29 ans si importés) à moins de "
                "30 minutes, chacun partagé entre tous ceux qui peuvent l'atteindre (E2SFCA)."
            ),
        )
    st.session_state[Keys.ACCESS] = mode
    if mode is not None and not ws.has("partners"):
        st.sidebar.info(
            "Aucun partenaire importé : l'accessibilité ne peut pas être calculée "
            "(importez la liste des partenaires sur la page Données)."
        )
        return None
    return mode


def zone_panel(
    returned: Mapping[str, Any] | None,
    *,
    key: DataKey,
    k: int,
    territory: str | None,
    map_token: str = "",
) -> None:
    """The card of the object last clicked on the map shown (kept until another click).

    ``map_token`` names the map shown (its options: basemap, territory…): a new map (the
    basemap switched) has nothing selected, so the card of a zone clicked on another map
    is not kept beside it. A density cell's card offers the commune and the QPV under it.
    """
    clicked = zone_from_click(returned)
    if clicked and clicked != st.session_state.get(Keys.CLICKED_ZONE):
        st.session_state[Keys.SELECTED_ZONE] = clicked
        st.session_state[Keys.SELECTED_MAP] = map_token
    elif st.session_state.get(Keys.SELECTED_MAP) != map_token:
        st.session_state[Keys.SELECTED_ZONE] = None
    st.session_state[Keys.CLICKED_ZONE] = clicked
    selected = st.session_state[Keys.SELECTED_ZONE]
    if not selected:
        st.info("Cliquez sur une commune, un QPV, un carreau ou un partenaire pour voir sa fiche.")
        return
    layer, code = selected
    today = datetime.now(PARIS).date()
    layers = cached_layers(key, k, territory)
    shown = card(
        layers,
        layer,
        code,
        k=k,
        today=today,
        contacts=cached_qpv_contacts(key, k, territory) if layer == "qpv" else ({}, ""),
        stop_hours=cached_stop_hours(key, today.weekday()) if layer in ("qpv", "stops") else None,
        stop_reach_m=settings().stop_buffer_m,
    )
    st.subheader(shown.title)
    st.table(shown.rows.set_index("Indicateur"))
    for caption, table in shown.tables:  # lists, not tables: the column is narrow
        st.markdown(f"**{caption}**")
        st.markdown("\n".join(_item(row) for row in table.itertuples(index=False)))
    if shown.others:
        st.caption("Aussi sous le clic :")
        for label, other_layer, other_code in shown.others:
            st.button(
                label,
                key=f"other-{other_layer}-{other_code}",
                on_click=_choose,
                args=((other_layer, other_code),),
            )


def _item(row: tuple[object, ...]) -> str:
    """One row of a card's table as a list item: its first cell in bold, then the others."""
    first, *rest = (str(v).replace("*", "\\*") for v in row)
    return "- " + " · ".join([f"**{first}**", *(v for v in rest if v)])


def _choose(selected: tuple[str, str]) -> None:
    """Show the card of another object under the click (kept until the next click)."""
    st.session_state[Keys.SELECTED_ZONE] = selected
