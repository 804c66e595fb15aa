"""Comparer page: a programme's territories side by side, for its steering committee.

Funnel, targets, rates with their named denominators, QPV / rural / other, monthly
trends, exits and rounds, every figure protected; the A4 pack and the XLSX to download.
"""

import streamlit as st

from territory import TerritoryError
from territory.ui.common import demo_banner, workspace_or_stop
from territory.ui.comparer import (
    downloads,
    headline_cards,
    period_choice,
    programme_choice,
    rate_section,
    tables_section,
)
from territory.ui.loaders import (
    cached_chart_specs,
    cached_comparison,
    cached_periods,
    cached_programme_names,
    settings,
)
from territory.ui.login import may, shows

ws = workspace_or_stop()
demo_banner(ws)
st.title("Comparer les territoires du programme")
k = settings().k
st.caption(
    "Pour le comité de pilotage : chaque territoire face à ses cibles et aux autres. "
    f"Tous les chiffres sont protégés : aucune valeur issue de moins de {k} personnes, "
    "aucune valeur masquée ne se déduit d'une autre."
)

names = cached_programme_names(ws.key, ws.version)
if not names:
    st.info(
        "Aucun programme n'est défini dans cet espace de travail. Un programme regroupe "
        "des territoires (définis sur la page Données), avec ses dates et ses cibles."
    )
    st.code(
        f".venv/bin/territory programme define NOM --workspace {ws.label} "
        "--territoires T1 T2 --debut 2026-01-01 --fin 2027-12-31 "
        '--cible "T1:entrée en parcours:2026:120"',
        language="bash",
    )
    if shows("Données"):
        st.page_link(
            "app_pages/donnees.py", label="Définir les territoires", icon=":material/database:"
        )
    st.stop()

left, right = st.columns(2)
with left:
    programme = programme_choice(names)
try:
    with right:
        period = period_choice(cached_periods(ws.key, ws.version, k, programme))
    key = (ws.key, ws.version, k, programme, period)
    comparison = cached_comparison(*key)
    charts = cached_chart_specs(*key)
except TerritoryError as exc:
    st.error(f"Comparaison impossible : {exc}")
    st.stop()

st.subheader("En un coup d'œil")
headline_cards(comparison, k=k)
if may("report", workspace=ws.path.stem):
    downloads(ws, comparison, k=k, period=period)

st.subheader("Taux pour 1 000, avec leur dénominateur")
st.caption(
    "Chaque taux nomme son dénominateur, sa source et son millésime ; il n'est pas calculé "
    f"quand le dénominateur est absent ou inférieur à {k}."
)
rate_section(comparison, k=k)

tables_section(comparison, charts, k=k)
