"""Every cached loader of the app: the only ``st.cache_data`` / ``st.cache_resource`` uses.

Loaders are keyed on hashable inputs: a :class:`~territory.cachekeys.DataKey` (the
workspace, its data version — bumped by every write but a week's plan saved — and the
reader's territorial scope: :mod:`territory.cachekeys` says why each), ``k``, the
programme territory (``None`` for the whole workspace) and the page's options. A week's
plan is keyed on its week and version number as well (:func:`cached_plan`). What depends on
the plans of every week (the information page's tables, the steering committee's
comparison) stays keyed on the workspace's own :attr:`~territory.store.Workspace.version`.

Caches are shared by every session of the server, each in its own thread, so nothing a
cache holds may be changed by its users:

* ``st.cache_data`` hands each call its own copy (unpickled): frames and layers;
* ``st.cache_resource`` hands out the object it holds, to every session at once. It
  keeps only immutable values (:class:`~territory.settings.Settings`, rendered maps:
  :class:`~territory.ui.mapview.RenderedMap`, strings) and the zone indicators and slots
  (:class:`~territory.analysis.priority.ZoneIndicators`,
  :class:`~territory.analysis.slots.WhenResult`: frozen dataclasses, costly to copy on
  every rerun), which the pages and :func:`territory.analysis.priority.rank_zones` only
  read (with pandas' copy-on-write, a frame derived from them is a copy).

A ``folium.Map`` is never cached: ``st_folium`` changes the map it renders. The map
loaders build and render a map of their own once (:func:`~territory.ui.mapview.render_map`)
and cache the result.
"""

from __future__ import annotations

import dataclasses
import tempfile
import threading
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

import geopandas as gpd
import pandas as pd
import streamlit as st

from territory import Settings, TerritoryError, ValidationError
from territory.analysis.priority import (
    Weights,
    ZoneIndicators,
    load_stop_hours,
    load_weights,
    rank_zones,
    zone_indicators,
)
from territory.analysis.slots import WhenResult, when
from territory.analysis.zones import ZoneKind
from territory.batches import Batch
from territory.cachekeys import DataKey
from territory.cards import qpv_contacts
from territory.export import ranking_csv, ranking_layer
from territory.map import MapLayers, legend_html
from territory.map.build import territory_map
from territory.programme.compare import Comparison
from territory.rounds.feedback import feedback_history, recorded_feedback
from territory.rounds.outputs import (
    EDITOR_COLUMNS,
    editor_table,
    ics_calendars,
    route_layer,
    routes_digest,
    visit_choices,
    week_grid,
    write_csv,
)
from territory.rounds.plan_tables import plan_territory, week_teams
from territory.rounds.sectors import sector_choices
from territory.rounds.week import (
    TEAMS,
    WeekPlan,
    candidate_places,
    load_plan,
    plan_history,
    plan_versions,
)
from territory.rounds.week import coverage as place_coverage_of
from territory.store import Workspace
from territory.territories import is_whole, list_territories, resolve
from territory.ui.mapview import RenderedMap, render_map
from territory.views import (
    accessibility_layer,
    breakdown_choices,
    hot_spots_layer,
    info,
    map_layers,
    summary,
)

__all__ = [
    "cached_breakdown_choices",
    "cached_chart_specs",
    "cached_comparison",
    "cached_coverage",
    "cached_indicators",
    "cached_info",
    "cached_layers",
    "cached_legend",
    "cached_map",
    "cached_pack",
    "cached_periods",
    "cached_places",
    "cached_places_map",
    "cached_plan",
    "cached_plan_history",
    "cached_plan_view",
    "cached_programme_names",
    "cached_qpv_contacts",
    "cached_ranking_files",
    "cached_route_map",
    "cached_saved_weights",
    "cached_score_map",
    "cached_sector_choices",
    "cached_stop_hours",
    "cached_summary",
    "cached_teams",
    "cached_territory_names",
    "cached_visit_feedback",
    "cached_week_teams",
    "cached_when",
    "contact_layers",
    "hotspots_unavailable",
    "plan_files",
    "settings",
]


@st.cache_resource
def settings() -> Settings:
    """Settings read once from the environment (frozen: shared safely)."""
    return Settings.from_env()


# ------------------------------------------------------------------ figures and lists
@st.cache_data(max_entries=16, show_spinner="Chargement des couches…")
def cached_summary(key: DataKey, k: int, territory: str | None = None) -> dict[str, object]:
    """Home-page figures, keyed on the workspace file, its version, k and the territory."""
    return summary(Workspace.open(key.workspace), settings=settings(), territory=territory)


@st.cache_data(max_entries=16)
def cached_territory_names(key: DataKey) -> list[str]:
    """Names of the programme territories defined in the workspace."""
    return [t.name for t in list_territories(Workspace.open(key.workspace))]


@st.cache_data(max_entries=16)
def cached_breakdown_choices(key: DataKey) -> dict[str, list[str]]:
    """The density filters' values (:func:`territory.views.breakdown_choices`)."""
    return breakdown_choices(Workspace.open(key.workspace), settings=settings())


@st.cache_data(max_entries=16)
def cached_info(path: str, version: int, k: int) -> dict[str, object]:
    """Layers with their sources and vintages (:func:`territory.views.info`)."""
    return info(Workspace.open(path), settings=settings())


@st.cache_data(max_entries=8, show_spinner="Calcul des contacts publiés…")
def cached_qpv_contacts(
    key: DataKey, k: int, territory: str | None = None
) -> tuple[dict[str, str], str]:
    """Protected contacts of every QPV of the map (:func:`territory.cards.qpv_contacts`)."""
    ws = Workspace.open(key.workspace)
    qpv = cached_layers(key, k, territory).qpv
    if qpv is None:
        return {}, ""
    scope = None if is_whole(territory) else resolve(ws, territory)
    return qpv_contacts(ws, qpv, settings=settings(), communes=scope)


@st.cache_data(max_entries=8)
def cached_stop_hours(key: DataKey, weekday: int) -> pd.DataFrame | None:
    """GTFS departures by stop and hour of one weekday (None: hours not stored)."""
    return load_stop_hours(Workspace.open(key.workspace), weekday=weekday)


# ------------------------------------------------------------------ Carte, Contacts
@st.cache_data(max_entries=8, show_spinner="Chargement des couches…")
def cached_layers(
    key: DataKey,
    k: int,
    territory: str | None = None,
    breakdown: tuple[str, str] | None = None,
) -> MapLayers:
    """Map layers (contact density already protected), keyed like :func:`cached_summary`.

    Also keyed on the density's filter (:data:`territory.views.BREAKDOWNS`, None: unfiltered).
    """
    return map_layers(
        Workspace.open(key.workspace), settings=settings(), territory=territory, breakdown=breakdown
    )


def contact_layers(
    key: DataKey,
    k: int,
    territory: str | None = None,
    breakdown: tuple[str, str] | None = None,
) -> MapLayers:
    """Communes, QPV and the (filtered) protected density: the Contacts page's map."""
    layers = cached_layers(key, k, territory, breakdown)
    return dataclasses.replace(layers, partners=None, stops=None, service_gaps=None)


@st.cache_data(max_entries=8, show_spinner="Recherche des points chauds…")
def cached_hotspots(
    key: DataKey,
    k: int,
    territory: str | None,
    breakdown: tuple[str, str] | None = None,
) -> gpd.GeoDataFrame | None:
    """The hot spots of the published density (Gi*, default parameters) as the map draws them.

    With ``breakdown``, those of that quarter's or category's protected density (the
    values the filtered map shows). None when too few zones are published to compare
    them (:func:`hotspots_unavailable` says so on the page).
    """
    try:
        result = hot_spots_layer(
            Workspace.open(key.workspace),
            settings=settings(),
            territory=territory,
            breakdown=breakdown,
        )
    except ValidationError:
        return None
    return result.frame


def hotspots_unavailable(
    key: DataKey, k: int, territory: str | None, breakdown: tuple[str, str] | None
) -> str | None:
    """One French line when the « Points chauds » cannot be drawn for this view, else None."""
    if cached_hotspots(key, k, territory, breakdown) is not None:
        return None
    return (
        "Points chauds indisponibles pour cette vue : trop peu de zones publiées pour les "
        "comparer entre voisines."
    )


@st.cache_data(max_entries=8, show_spinner="Calcul de l'accessibilité…")
def cached_access(key: DataKey, mode: str, territory: str | None) -> gpd.GeoDataFrame | None:
    """Accessibility to the partners by commune (E2SFCA, 30 min); None without partners."""
    ws = Workspace.open(key.workspace)
    if not ws.has("partners"):
        return None
    frame, _ = accessibility_layer(ws, settings=settings(), mode=mode, territory=territory)
    return frame


def _layers(
    key: DataKey,
    k: int,
    territory: str | None,
    breakdown: tuple[str, str] | None,
    contacts_only: bool,
    hotspots: bool = False,
    access: str | None = None,
) -> MapLayers:
    if contacts_only:
        layers = contact_layers(key, k, territory, breakdown)
    else:
        layers = cached_layers(key, k, territory, breakdown)
    if hotspots:  # of the filtered density too: the values the map shows
        spots = cached_hotspots(key, k, territory, breakdown)
        layers = dataclasses.replace(layers, hotspots=spots)
    if contacts_only:
        return layers
    if access is not None:
        layers = dataclasses.replace(layers, access=cached_access(key, access, territory))
    return layers


@st.cache_resource(max_entries=16)
def cached_legend(
    key: DataKey,
    k: int,
    territory: str | None = None,
    breakdown: tuple[str, str] | None = None,
    contacts_only: bool = False,
    hotspots: bool = False,
    access: str | None = None,
) -> str:
    """The legend of :func:`cached_map` (:func:`territory.map.legend.legend_html`).

    Made once, not unpickled from the layers' cache on each run.
    """
    layers = _layers(key, k, territory, breakdown, contacts_only, hotspots, access)
    return legend_html(layers, k=k, stop_buffer_m=settings().stop_buffer_m)


@st.cache_resource(max_entries=8, show_spinner="Préparation de la carte…")
def cached_map(
    key: DataKey,
    k: int,
    basemap: bool,
    base_url: str,
    territory: str | None = None,
    breakdown: tuple[str, str] | None = None,
    contacts_only: bool = False,
    hotspots: bool = False,
    access: str | None = None,
) -> RenderedMap:
    """The rendered map, once per workspace version, territory, filter and option set.

    ``contacts_only`` draws only :func:`contact_layers` (the Contacts page); ``hotspots``
    adds the « Points chauds » overlay (:func:`cached_hotspots`, unfiltered maps only),
    ``access`` (a mode) the accessibility choropleth (:func:`cached_access`).
    """
    fmap = territory_map(
        _layers(key, k, territory, breakdown, contacts_only, hotspots, access),
        asset_base=f"{base_url}/app/static",
        basemap="osm" if basemap else None,
        k=k,
        stop_buffer_m=settings().stop_buffer_m,
    )
    return render_map(fmap)


# ------------------------------------------------------------------ Où et quand
@st.cache_data(max_entries=8)
def cached_saved_weights(key: DataKey, territory: str | None) -> Weights:
    """The weights saved for the territory (defaults when none)."""
    return load_weights(Workspace.open(key.workspace), territory=territory)


@st.cache_resource(max_entries=8, show_spinner="Calcul des indicateurs…")
def cached_indicators(
    key: DataKey, k: int, territory: str | None, kind: ZoneKind
) -> ZoneIndicators:
    """Zone indicators (the slow part); re-ranking on new weights reuses them. Read only."""
    ws = Workspace.open(key.workspace)
    return zone_indicators(ws, settings=settings(), kind=kind, territory=territory)


@st.cache_resource(max_entries=32, show_spinner="Recherche des créneaux…")
def cached_when(
    key: DataKey,
    k: int,
    territory: str | None,
    kind: ZoneKind,
    zone: str,
    open_type: str | None,
) -> WhenResult:
    """Recommended slots of one zone (:func:`territory.analysis.slots.when`). Read only."""
    return when(
        Workspace.open(key.workspace),
        zone,
        settings=settings(),
        kind=kind,
        territory=territory,
        open_type=open_type,
    )


@st.cache_data(max_entries=16)
def cached_ranking_files(
    key: DataKey, k: int, territory: str | None, kind: ZoneKind, weights: tuple[float, ...]
) -> tuple[bytes, bytes]:
    """The ranking's downloads, CSV and GeoJSON, made once per ranking (not at each rerun)."""
    ranking = rank_zones(cached_indicators(key, k, territory, kind), Weights(*weights))
    layer = ranking_layer(ranking)
    return ranking_csv(ranking), layer.to_json(drop_id=True).encode("utf-8")


@st.cache_resource(max_entries=8, show_spinner="Préparation de la carte…")
def cached_score_map(
    key: DataKey,
    k: int,
    territory: str | None,
    kind: ZoneKind,
    weights: tuple[float, ...],
    base_url: str,
) -> tuple[RenderedMap, str]:
    """The zones coloured by priority score, with the QPV and the partners, rendered.

    Drawn with the same component as the Carte page; returned with the legend of the layers
    drawn.
    """
    ranking = rank_zones(cached_indicators(key, k, territory, kind), Weights(*weights))
    base = cached_layers(key, k, territory)
    layers = MapLayers(scores=ranking_layer(ranking), qpv=base.qpv, partners=base.partners)
    fmap = territory_map(
        layers, asset_base=f"{base_url}/app/static", k=k, stop_buffer_m=settings().stop_buffer_m
    )
    return render_map(fmap), legend_html(layers, k=k)


# ------------------------------------------------------------------ Tournées
@st.cache_data(max_entries=8)
def cached_places(key: DataKey) -> gpd.GeoDataFrame:
    """The candidate places: stored, else suggested (``rounds.week.candidate_places``)."""
    return candidate_places(Workspace.open(key.workspace))


@st.cache_data(max_entries=8)
def cached_coverage(key: DataKey) -> pd.DataFrame:
    """Candidate places of each priority zone (``rounds.week.coverage``)."""
    return place_coverage_of(Workspace.open(key.workspace))


@st.cache_resource(max_entries=8, show_spinner="Préparation de la carte…")
def cached_places_map(key: DataKey, k: int, base_url: str) -> tuple[RenderedMap, str]:
    """The communes and the candidate places, rendered, and their legend.

    No place is drawn when there is nothing to suggest from.
    """
    try:
        places = cached_places(key)
    except TerritoryError:
        places = None
    layers = MapLayers(communes=cached_layers(key, k).communes, places=places)
    fmap = territory_map(layers, asset_base=f"{base_url}/app/static", k=k)
    return render_map(fmap), legend_html(layers, k=k)


def cached_plan(
    key: DataKey, week: str, version: int, territory: str | None = None
) -> WeekPlan | None:
    """Version ``version`` of ``week`` on ``territory`` (:func:`territory.rounds.week.load_plan`).

    A saved version is never rewritten: keyed on its number, it is read once per data
    version. Which version is the latest is read fresh at each rerun
    (:func:`territory.rounds.week.latest_version`), never from here. ``territory`` None
    and ``""`` (the whole workspace) are one key, as for every per-week cache here.
    """
    return _plan(key, week, version, plan_territory(territory))


@st.cache_data(max_entries=64)
def _plan(key: DataKey, week: str, version: int, territory: str) -> WeekPlan | None:
    return load_plan(Workspace.open(key.workspace), week, version=version, territory=territory)


_FILES: dict[tuple[DataKey, str, str, int], tuple[bytes, dict[str, bytes]]] = {}
_FILES_LOCK = threading.Lock()


def plan_files(key: DataKey, plan: WeekPlan) -> tuple[bytes, dict[str, bytes]]:
    """The downloads of a saved version: its CSV, and each team's calendar (.ics).

    Called by the download buttons when clicked, outside the script run (Streamlit's
    deferred downloads), so kept here rather than in ``st.cache_data``: once per version
    of a week (never rewritten), the last few. The calendars cancel the visits of the
    week's earlier versions (:func:`territory.rounds.outputs.ics_calendars`), all read
    again: a week edited all day has hundreds.
    """
    name = (key, plan.week, plan.territory, plan.version)
    with _FILES_LOCK:
        if name in _FILES:
            return _FILES[name]
    ws = Workspace.open(key.workspace)
    with tempfile.TemporaryDirectory(prefix="territory-plan-") as folder:
        csv = write_csv(plan, Path(folder) / "plan.csv").read_bytes()
    earlier = plan_versions(ws, plan.week, before=plan.version, territory=plan.territory)
    calendars = ics_calendars(plan, earlier=earlier)
    files = csv, {team: content for team, content in calendars.items() if team}
    with _FILES_LOCK:
        _FILES[name] = files
        while len(_FILES) > 16:
            del _FILES[next(iter(_FILES))]
    return files


def cached_week_teams(
    key: DataKey, week: str, version: int, territory: str | None = None
) -> list[str]:
    """Who gets a calendar of a version (:func:`territory.rounds.plan_tables.week_teams`)."""
    return _week_teams(key, week, version, plan_territory(territory))


@st.cache_data(max_entries=32)
def _week_teams(key: DataKey, week: str, version: int, territory: str) -> list[str]:
    return week_teams(Workspace.open(key.workspace), week, through=version, territory=territory)


class PlanView(NamedTuple):
    """What the « Tournées » page shows of one saved version, computed once per version."""

    grid: pd.DataFrame
    table: pd.DataFrame
    labels: dict[Any, str]
    routes: str


def cached_plan_view(
    key: DataKey, week: str, version: int, territory: str | None = None
) -> PlanView:
    """What the page shows of a version: the week's grid, the editor's table, the visits' labels.

    (:func:`~territory.rounds.outputs.week_grid`, :func:`~territory.rounds.outputs.editor_table`,
    :func:`~territory.rounds.outputs.visit_choices`, and the digest of its routes,
    :func:`~territory.rounds.outputs.routes_digest`: the key of its drawn map.) Empty for
    a version that is gone.
    """
    return _plan_view(key, week, version, plan_territory(territory))


@st.cache_data(max_entries=32)
def _plan_view(key: DataKey, week: str, version: int, territory: str) -> PlanView:
    plan = cached_plan(key, week, version, territory)
    if plan is None:
        return PlanView(pd.DataFrame(), pd.DataFrame(columns=list(EDITOR_COLUMNS)), {}, "")
    return PlanView(week_grid(plan), editor_table(plan), visit_choices(plan), routes_digest(plan))


def cached_plan_history(
    key: DataKey, week: str, last: int, territory: str | None = None
) -> pd.DataFrame:
    """The versions of ``week`` up to ``last`` (:func:`territory.rounds.week.plan_history`).

    Keyed on the latest version, read fresh by the caller: a new version is a new key.
    """
    return _plan_history(key, week, last, plan_territory(territory))


@st.cache_data(max_entries=64)
def _plan_history(key: DataKey, week: str, last: int, territory: str) -> pd.DataFrame:
    history = plan_history(Workspace.open(key.workspace), week, territory)
    return history[history["version"] <= last].reset_index(drop=True)


@st.cache_data(max_entries=8)
def cached_teams(key: DataKey) -> pd.DataFrame | None:
    """The stored teams table (None: no team stored yet)."""
    ws = Workspace.open(key.workspace)
    return ws.read_table(TEAMS) if ws.has(TEAMS) else None


@st.cache_data(max_entries=8)
def cached_sector_choices(key: DataKey) -> list[str]:
    """What a team's sector can be (:func:`territory.rounds.sectors.sector_choices`)."""
    return sector_choices(Workspace.open(key.workspace))


@st.cache_data(max_entries=256)
def cached_visit_feedback(
    key: DataKey, week: str, label: str, _visit: pd.Series
) -> tuple[dict[str, int] | None, list[Batch]]:
    """What is recorded for a visit and its every recording (:mod:`territory.rounds.feedback`).

    Keyed on the visit's label (:func:`~territory.rounds.feedback.visit_label`, what the
    batch log names it by): a recording is a write to the contacts and the batch log,
    which bumps the data version.
    """
    ws = Workspace.open(key.workspace)
    return recorded_feedback(ws, week, _visit), feedback_history(ws, week, _visit)


@st.cache_resource(max_entries=16, show_spinner="Préparation de la carte…")
def cached_route_map(
    key: DataKey, k: int, base_url: str, routes: str, _plan: WeekPlan, day: date | None
) -> tuple[RenderedMap, str] | None:
    """The rounds of ``_plan`` with the QPV, rendered, and their legend.

    Keyed on ``routes``, :func:`~territory.rounds.outputs.routes_digest` of the plan: a
    version that only locked or unlocked visits (the most common edit) draws the same
    map, drawn once. One day, or the whole week; None when there is no visit to draw.
    """
    routes_drawn = route_layer(_plan, Workspace.open(key.workspace), day=day)
    if routes_drawn.empty:
        return None
    layers = MapLayers(routes=routes_drawn, qpv=cached_layers(key, k).qpv)
    fmap = territory_map(layers, asset_base=f"{base_url}/app/static", k=k)
    return render_map(fmap), legend_html(layers, k=k)


# ------------------------------------------------------------------ steering committee
@st.cache_data(max_entries=16)
def cached_programme_names(path: str, version: int) -> list[str]:
    """Names of the programmes defined in the workspace (:mod:`territory.programme`)."""
    from territory.programme import list_programmes

    return [p.name for p in list_programmes(Workspace.open(path))]


@st.cache_data(max_entries=16)
def cached_periods(path: str, version: int, k: int, programme: str) -> list[str]:
    """The fixed periods a programme can be compared over (years, quarters, "programme")."""
    from territory.programme import periods

    return periods(Workspace.open(path), programme, settings=settings())


@st.cache_data(max_entries=16, show_spinner="Calcul de la comparaison protégée…")
def cached_comparison(
    path: str, version: int, k: int, programme: str, period: str | None
) -> Comparison:
    """The protected comparison (:func:`territory.programme.compare`); a page rerun reads it."""
    from territory.programme import compare

    return compare(Workspace.open(path), programme, period=period, settings=settings())


@st.cache_data(max_entries=8, show_spinner="Préparation du dossier…")
def cached_pack(
    path: str, version: int, k: int, programme: str, period: str | None, suffix: str
) -> bytes:
    """The A4 PDF pack (``suffix`` ``.pdf``) or the XLSX workbook (``.xlsx``) of a comparison."""
    comparison = cached_comparison(path, version, k, programme, period)
    if suffix == ".pdf":
        from territory.report.pdf import render_pdf

        return render_pdf(comparison, k=k)
    from territory.report.xlsx import render_xlsx

    return render_xlsx(comparison, k=k)


@st.cache_data(max_entries=16)
def cached_chart_specs(
    path: str, version: int, k: int, programme: str, period: str | None
) -> dict[str, Any]:
    """The page's Altair charts as Vega-Lite specifications, built once per comparison.

    ``targets`` and ``trends`` (None when the comparison has none), ``funnels`` (by
    territory), and the small-multiple maps as SVG: ``maps`` (by territory, "" without
    outlines) and their common ``legend``. Built and validated by Altair once, not on
    every rerun (twelve territories' charts take seconds to validate).
    """
    from territory.report.charts import funnel_chart, targets_chart, trends_chart

    c = cached_comparison(path, version, k, programme, period)
    targets = None if c.targets.empty else targets_chart(c).to_dict()
    trends = None if c.trends.empty else trends_chart(c, columns=3, width=250, height=110).to_dict()
    funnels = {t: funnel_chart(c, t, width=220).to_dict() for t in c.programme.territories}
    from territory.report.maps import classes, legend_svg, territory_map_svg

    bounds = classes(c)
    maps = {t: territory_map_svg(c, t, size=220, bounds=bounds) for t in c.programme.territories}
    return {
        "targets": targets, "trends": trends, "funnels": funnels, "maps": maps,
        "legend": legend_svg(bounds, k=k),
    }  # fmt: skip
