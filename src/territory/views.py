"""What leaves the store: layers, summaries and figures, every contact count protected.

Pages, the CLI and exports read the workspace through these functions, never the
``contacts`` table directly: contact numbers come out of :mod:`territory.privacy.published`
(read by :mod:`territory.privacy.raw`, protected by :mod:`territory.privacy.protect`).

:func:`map_layers`, :func:`summary` and :func:`density_layer` take an optional
``territory`` (see :mod:`territory.territories`): layers are clipped to its communes and
contacts are restricted to them *before* protection, so every published figure of a
territory is protected as a whole.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from territory.store import Workspace
>>> ws = Workspace.create(Path(tempfile.mkdtemp()) / "w.gpkg", name="Vide")
>>> summary(ws, settings=Settings())["contacts"]
'0'
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, Literal

import geopandas as gpd
import pandas as pd
import shapely

from territory._errors import ValidationError
from territory._pg import redact
from territory.analysis.accessibility import (
    ACCESS_COLUMNS,
    DEFAULT_CATCHMENT_MIN,
    Decay,
    accessibility,
)
from territory.analysis.hotspots import (
    DEFAULT_ALPHA,
    DEFAULT_BAND_M,
    DEFAULT_PERMUTATIONS,
    DEFAULT_SEED,
    HotSpots,
    Method,
    Weights,
    hot_spots,
)
from territory.crs import METRIC_CRS, STORAGE_CRS
from territory.grid import cell_polygons
from territory.hours import format_hours_fr
from territory.map.model import MapLayers
from territory.privacy import published, raw
from territory.privacy.parcours import PARCOURS
from territory.privacy.protect import LEVEL_COMMUNE
from territory.settings import Settings
from territory.store import Workspace
from territory.territories import is_whole, resolve
from territory.vocab import AGE_BANDS, STATUSES, UNKNOWN

__all__ = [
    "BREAKDOWNS",
    "DENSITY",
    "DENSITY_COLUMNS",
    "LAYER_LABELS",
    "accessibility_layer",
    "accessibility_layers",
    "breakdown_choices",
    "density_layer",
    "density_parts",
    "hot_spots_layer",
    "info",
    "layers_table",
    "map_layers",
    "summaries_and_outlines",
    "summary",
    "territory_layers",
]

DENSITY = "density"
DENSITY_COLUMNS = ["zone", "level", "commune", "count", "label", "area_km2"]
LAYER_LABELS = {
    "communes": "Communes",
    "commune_table": "Table des communes (COG)",
    "density_classes": "Grille communale de densité",
    "qpv": "Quartiers prioritaires (QPV)",
    "partners": "Partenaires",
    "stops": "Arrêts de transport",
    "service_gaps": "Zones blanches et zones sans données de transport",
    "ban_adresses": "Adresses de la BAN (géocodage sur place)",
    "population_age": "Population par âge par commune (recensement INSEE)",
    "population_age_iris": "Population par âge par IRIS (recensement INSEE)",
    "filosofi_cells": "Carreaux Filosofi 200 m (INSEE)",
    "territories": "Territoires du programme",
    "stop_hours": "Départs par arrêt, jour et heure (GTFS)",
    "transit_links": "Réseau de transport cadencé (GTFS)",
    "teams": "Équipes",
    "programmes": "Programmes (comité de pilotage)",
    "programme_targets": "Cibles des programmes",
    "places": "Lieux d'aller-vers",
    DENSITY: "Densité de contacts (protégée)",
}


BREAKDOWNS = {
    "periode": "Trimestre",
    "statut": "Statut",
    "tranche_age": "Tranche d'âge",
    "sexe": "Sexe",
}
"""The filters of the density map: ONE partition at a time (see :func:`density_layer`)."""


def breakdown_choices(ws: Workspace, *, settings: Settings | None = None) -> dict[str, list[str]]:
    """The values each filter of :data:`BREAKDOWNS` offers.

    Categories offer their fixed vocabulary (never values read from the data);
    periods are the calendar quarters between the first and the last month with at
    least ``k`` people (:func:`territory.privacy.published.published_months`; the
    default settings when None).
    """
    choices: dict[str, list[str]] = {
        "periode": [],
        "statut": [*STATUSES, UNKNOWN],
        "tranche_age": [*AGE_BANDS, UNKNOWN],
        "sexe": ["F", "H", UNKNOWN],
    }
    choices["periode"] = published.quarters(ws, settings=settings or Settings())
    return choices


def density_layer(
    ws: Workspace,
    *,
    settings: Settings,
    territory: str | None = None,
    breakdown: tuple[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """The protected contact density as polygons (EPSG:4326), ready for the map or export.

    200 m and 1 km zones are grid squares; what is left of a commune is drawn as the
    commune itself. Only the protected columns :data:`DENSITY_COLUMNS` are present.

    With ``territory`` (a name of :func:`territory.territories.list_territories`), the
    zones shown are those of the whole workspace that touch the territory: protection
    runs once over every contact, so a zone shows the same value in every view and two
    views can never be subtracted to isolate a few contacts at a territory's border.

    With ``breakdown`` = ``(filter, value)`` (a key of :data:`BREAKDOWNS` and one of its
    :func:`breakdown_choices`), each zone shows only the contacts of that quarter or
    category: the zones stay those of the unfiltered map, and the figures come from
    :func:`territory.privacy.protect.protect_density_by`, protected with every other value of
    the same filter, so that no pair of views can be subtracted to isolate a few
    contacts. Filters are not combined (a quarter AND a category would be a
    three-way table).
    """
    if breakdown is None:
        state = (ws.key, ws.changed_ns, ws.version, settings.k, settings.rounding)
        return _density_drawn(*state, territory).copy()
    by, value = breakdown
    if by not in BREAKDOWNS:
        raise ValidationError(f"filtre inconnu : {by} (attendu : {', '.join(BREAKDOWNS)})")
    values = breakdown_choices(ws, settings=settings)[by]
    if value not in values:
        raise ValidationError(f"valeur inconnue pour le filtre {BREAKDOWNS.get(by, by)} : {value}")
    parts = published.density_by(ws, by, settings=settings, parts=values)
    return _drawn(ws, _part(parts, value), territory)


def density_parts(
    ws: Workspace,
    by: str,
    *,
    settings: Settings,
    territory: str | None = None,
    unfiltered: gpd.GeoDataFrame | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """:func:`density_layer` for every value of the filter ``by``, protected once.

    The same layers as ``density_layer(ws, breakdown=(by, value))`` for each value of
    :func:`breakdown_choices` (in their order), from one protection of the whole
    partition instead of one per value (the shareable export writes every quarter).
    ``unfiltered`` is ``density_layer(ws, settings=settings, territory=territory)`` when
    the caller has it: its zones (every zone of every value) are not drawn again.
    """
    if by not in BREAKDOWNS:
        raise ValidationError(f"filtre inconnu : {by} (attendu : {', '.join(BREAKDOWNS)})")
    values = breakdown_choices(ws, settings=settings)[by]
    if not values:
        return {}
    parts = published.density_by(ws, by, settings=settings, parts=values)
    # Every value shows zones of the same partition: each zone is drawn once (its square
    # or commune, the commune under its centre, its area, whether it touches the
    # territory), then each value takes the drawings of its zones.
    if unfiltered is None:
        unfiltered = _drawn(ws, parts.drop_duplicates("zone").drop(columns="part"), territory)
    return {value: _with_drawing(_part(parts, value), unfiltered) for value in values}


def hot_spots_layer(
    ws: Workspace,
    *,
    settings: Settings,
    territory: str | None = None,
    breakdown: tuple[str, str] | None = None,
    method: Method = "gi",
    weights: Weights = "queen",
    band_m: float = DEFAULT_BAND_M,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = DEFAULT_SEED,
    alpha: float = DEFAULT_ALPHA,
) -> HotSpots:
    """Hot spots of the protected density (:func:`territory.analysis.hotspots.hot_spots`).

    The analysed values are those of :func:`density_layer` (the same zones, the same
    published counts, EPSG:4326 polygons; with ``breakdown``, one quarter's or one
    category's protected density): nothing finer, nothing unpublished. The parameters say
    the protection in force (``k``, rounding), the territory and the breakdown.
    """
    density = density_layer(ws, settings=settings, territory=territory, breakdown=breakdown)
    result = hot_spots(
        density,
        method=method,
        weights=weights,
        band_m=band_m,
        permutations=permutations,
        seed=seed,
        alpha=alpha,
    )
    result.parameters.update(
        {
            "k": settings.k,
            "rounding": settings.rounding,
            "territory": territory or "",
            "breakdown": "=".join(breakdown) if breakdown else "",
        }
    )
    return result


def accessibility_layer(
    ws: Workspace,
    *,
    settings: Settings,
    mode: str,
    kind: Literal["commune", "qpv"] = "commune",
    territory: str | None = None,
    catchment_min: float = DEFAULT_CATCHMENT_MIN,
    decay: Decay = "stepped",
    supply: Literal["partners", "hours"] = "partners",
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """Accessibility to the partners by commune or QPV (2SFCA / E2SFCA), and its parameters.

    The demand is that of every commune of the workspace (the 15-29 of the census when
    imported, else the total population: :func:`territory.analysis.need.zone_need`
    names it), so that partners near a territory's border share their supply with the
    people on both sides; the zones returned are those of ``territory``. QPV read the
    partners' ratios of the communes' demand at their own centre. Times are those of
    the workspace's travel model (its road network when imported). No contact figure
    is involved.

    Returns
    -------
    tuple
        ``code``, ``nom``, :data:`~territory.analysis.accessibility.ACCESS_COLUMNS` and
        geometry (EPSG:4326), and the parameters (with the demand's source).
    """
    return accessibility_layers(
        ws,
        settings=settings,
        modes=(mode,),
        kind=kind,
        territory=territory,
        catchment_min=catchment_min,
        decay=decay,
        supply=supply,
    )[mode]


def accessibility_layers(
    ws: Workspace,
    *,
    settings: Settings,
    modes: Sequence[str],
    kind: Literal["commune", "qpv"] = "commune",
    territory: str | None = None,
    catchment_min: float = DEFAULT_CATCHMENT_MIN,
    decay: Decay = "stepped",
    supply: Literal["partners", "hours"] = "partners",
) -> dict[str, tuple[gpd.GeoDataFrame, dict[str, Any]]]:
    """:func:`accessibility_layer` of each mode, the zones, demand and partners read once."""
    from territory.analysis.need import load_need_data, zone_need
    from territory.analysis.zones import load_zones
    from territory.roads import travel_model_for

    communes = load_zones(ws, "commune")
    need = zone_need(communes, kind="commune", communes=communes, data=load_need_data(ws))
    demand = need.target if need.target is not None else need.population
    source = need.target_source if need.target is not None else need.population_source
    partners = ws.read_layer("partners") if ws.has("partners") else None
    if partners is None or partners.empty:
        raise ValidationError("aucun partenaire dans l'espace de travail : importez-les d'abord")
    zones = load_zones(ws, kind, territory=territory, communes=ws.read_layer("communes"))
    model = travel_model_for(ws, settings)
    found: dict[str, tuple[gpd.GeoDataFrame, dict[str, Any]]] = {}
    for mode in modes:
        result = accessibility(
            communes,
            partners,
            demand=demand,
            mode=mode,
            model=model,
            catchment_min=catchment_min,
            decay=decay,
            supply=supply,
            demand_source=source,
            at=None if kind == "commune" else zones,
        )
        frame = result.frame
        if kind == "commune":
            codes = communes["code"].astype(str)
            frame = frame.set_axis(codes).reindex(zones["code"].astype(str))
        out = gpd.GeoDataFrame(
            {
                "code": zones["code"].astype(str).to_numpy(),
                "nom": zones["nom"].to_numpy() if "nom" in zones else None,
                **{c: frame[c].to_numpy() for c in ACCESS_COLUMNS},
            },
            geometry=zones.geometry.to_numpy(),
            crs=zones.crs,
        ).to_crs(STORAGE_CRS)
        parameters = {**result.parameters, "zones": kind, "territory": territory or ""}
        out.attrs.update(  # what a legend says of the method (no figure of any zone)
            {k: parameters[k] for k in ("method", "mode", "catchment_min", "demand")}
        )
        found[mode] = (out, parameters)
    return found


def _part(parts: pd.DataFrame, value: str) -> pd.DataFrame:
    """The zones of one value of a protected partition (:func:`published.density_by`)."""
    return parts[parts["part"] == value].drop(columns="part").reset_index(drop=True)


def _with_drawing(zones: pd.DataFrame, drawn: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """:func:`_drawn` of ``zones`` from the drawing of a superset of their zones.

    Drawing is zone by zone (a square or a commune, its area, the commune under its
    centre, whether it touches the territory), so the rows and values are those that
    ``_drawn(ws, zones, territory)`` gives, without drawing them again.
    """
    if zones.empty or drawn.empty:
        return _drawn_empty()
    # Positions through one hash table of plain strings (``isin`` on Arrow strings loops
    # in Python: seconds for the quarters of a département).
    known = pd.Index(drawn["zone"].to_numpy(dtype=object))
    at = known.get_indexer(zones["zone"].to_numpy(dtype=object))
    out = zones[at >= 0]
    found = drawn.iloc[at[at >= 0]]
    drawing = {"commune": found["commune"].to_numpy(), "area_km2": found["area_km2"].to_numpy()}
    table = out.assign(**drawing)[DENSITY_COLUMNS]
    return gpd.GeoDataFrame(table, geometry=found.geometry.to_numpy(), crs=STORAGE_CRS)


@lru_cache(maxsize=4)
def _density_drawn(
    key: str, changed_ns: int, version: int, k: int, rounding: int, territory: str | None
) -> gpd.GeoDataFrame:
    """The unfiltered :func:`density_layer`, kept per state of the workspace and protection.

    Drawing the zones (squares, the commune under each centre, areas) is the layer's
    cost; the evaluation package draws it for its density layer and again for its hot
    spots, and the map for each page.
    """
    ws = Workspace.open(key)
    settings = Settings(k=k, rounding=rounding)  # the protection reads nothing else
    return _drawn(ws, published.density(ws, settings=settings), territory)


def _drawn_empty() -> gpd.GeoDataFrame:
    """The empty density layer (no zone, or none in the territory)."""
    return gpd.GeoDataFrame(
        columns=[*DENSITY_COLUMNS, "geometry"], geometry="geometry", crs=STORAGE_CRS
    )


def _drawn(ws: Workspace, zones: pd.DataFrame, territory: str | None) -> gpd.GeoDataFrame:
    """Protected zones as polygons with their commune, restricted to ``territory``."""
    if zones.empty:
        return _drawn_empty()
    is_commune = zones["level"] == LEVEL_COMMUNE
    communes = ws.read_layer("communes", columns=["code"])
    squares = cell_polygons(zones.loc[~is_commune, "zone"]).to_crs(STORAGE_CRS)
    geometry = gpd.GeoSeries([None] * len(zones), index=zones.index, crs=STORAGE_CRS)
    geometry[~is_commune] = squares
    geometry[is_commune] = (
        communes.set_index("code").geometry.reindex(zones.loc[is_commune, "zone"]).to_numpy()
    )
    out = gpd.GeoDataFrame(zones, geometry=geometry, crs=STORAGE_CRS)
    # The commune of a grid zone is the one under its centre: geometry only, nothing
    # about where its contacts were.
    out["commune"] = out["zone"].where(is_commune)
    centres = gpd.GeoDataFrame(geometry=squares.to_crs(METRIC_CRS).centroid.to_crs(STORAGE_CRS))
    under = centres.sjoin(communes, predicate="within", how="left")
    under = under[~under.index.duplicated()]
    out.loc[~is_commune, "commune"] = under["code"].reindex(squares.index).to_numpy()
    scope = _scope(ws, territory)
    if scope is not None:
        area = communes[communes["code"].isin(scope)].union_all()
        out = out[out.geometry.intersects(area) & ~out.geometry.touches(area)]
    out["area_km2"] = out.geometry.to_crs(METRIC_CRS).area / 1e6
    return out[[*DENSITY_COLUMNS, "geometry"]]


def map_layers(
    ws: Workspace,
    *,
    settings: Settings,
    territory: str | None = None,
    breakdown: tuple[str, str] | None = None,
) -> MapLayers:
    """Every layer the map shows, read once from the workspace.

    With ``territory``, every layer is restricted to the territory's communes (see
    :func:`territory_layers`) and the density is that of :func:`density_layer` for the
    same territory (and the same ``breakdown``, a filter and its value).
    """
    scope = _scope(ws, territory)
    layers = _read_layers(ws) if scope is None else territory_layers(ws, scope)
    partners = layers["partners"]
    if partners is not None:
        partners["horaires_fr"] = partners["horaires"].fillna("").map(format_hours_fr)
    return MapLayers(
        communes=layers["communes"],
        qpv=layers["qpv"],
        partners=partners,
        stops=layers["stops"],
        service_gaps=layers["service_gaps"],
        density=density_layer(ws, settings=settings, territory=territory, breakdown=breakdown),
    )


def territory_layers(
    ws: Workspace, communes: Collection[str]
) -> dict[str, gpd.GeoDataFrame | None]:
    """The spatial layers clipped to a set of communes (None for an absent layer).

    Parameters
    ----------
    ws
        The workspace.
    communes
        INSEE codes, usually :func:`territory.territories.resolve` of a territory.

    Returns
    -------
    dict
        ``communes``: the communes of the set; ``qpv``: QPV linked to one of them (their
        ``communes`` column) or overlapping them (touching the border is not enough);
        ``partners`` and ``stops``: points inside them (a partner without position is
        kept when its ``code_insee`` is in the set); ``service_gaps``: cut to them.
    """
    layers = _read_layers(ws)
    if layers["communes"] is None:
        return layers
    codes = {str(c) for c in communes}
    return _clip(layers, codes, _outline(layers["communes"], codes))


def _outline(communes: gpd.GeoDataFrame, codes: Collection[str]) -> shapely.Geometry:
    """The union of the communes of ``codes``, in the layer's order."""
    return shapely.union_all(communes.geometry[communes["code"].isin(codes)].to_numpy())


def _clip(
    layers: Mapping[str, gpd.GeoDataFrame | None], codes: set[str], area: shapely.Geometry
) -> dict[str, gpd.GeoDataFrame | None]:
    """:func:`territory_layers` of layers already read (those given), ``area`` their outline."""
    out = dict(layers)
    all_communes = layers["communes"]
    assert all_communes is not None
    shapely.prepare(area)
    out["communes"] = all_communes[all_communes["code"].isin(codes)].reset_index(drop=True)
    qpv = layers.get("qpv")
    if qpv is not None:
        linked = (
            qpv["communes"]
            .fillna("")
            .map(lambda text: bool(codes & {c.strip() for c in str(text).split(",")}))
        )
        geometry = qpv.geometry.to_numpy()
        overlaps = shapely.intersects(area, geometry) & ~shapely.touches(area, geometry)
        out["qpv"] = qpv[linked.to_numpy(dtype=bool) | overlaps].reset_index(drop=True)
    for name in ("partners", "stops"):
        points = layers.get(name)
        if points is None:
            continue
        keep = shapely.covers(area, points.geometry.to_numpy())
        if "code_insee" in points:
            keep |= points.geometry.isna().to_numpy() & points["code_insee"].isin(codes).to_numpy()
        out[name] = points[keep].reset_index(drop=True)
    gaps = layers.get("service_gaps")
    if gaps is not None and area.is_empty:  # a territory whose communes were all removed
        out["service_gaps"] = gaps.iloc[:0]
    elif gaps is not None:
        cut = gaps.clip(area, keep_geom_type=True)
        out["service_gaps"] = cut[~cut.geometry.is_empty].reset_index(drop=True)
    return out


def summary(ws: Workspace, *, settings: Settings, territory: str | None = None) -> dict[str, Any]:
    """Headline figures of the territory (the home page); the contact total is protected.

    Parameters
    ----------
    ws
        The workspace.
    settings
        Gives ``k`` and ``rounding``.
    territory
        A defined territory: communes, QPV, partners and stops as in
        :func:`territory_layers`, contacts of its communes only. ``None`` (or
        :data:`~territory.territories.WHOLE_WORKSPACE`) for the whole workspace.

    Returns
    -------
    dict
        ``name`` (workspace), ``territory`` (None for the whole workspace), counts of
        ``communes``, ``qpv``, ``partners``, ``stops``, the ``population`` and the
        protected ``contacts`` label: perturbed from the keys of the territory's own
        contacts, so that the totals of two nested territories differ by noise, not by
        the few contacts that differ.
    """
    return _summaries(ws, settings, [territory], outlines=False)[0][0]


def summaries_and_outlines(
    ws: Workspace, *, settings: Settings, territories: Sequence[str | None]
) -> list[tuple[dict[str, Any], shapely.Geometry | None]]:
    """:func:`summary` of each territory and its outline (None for the whole workspace).

    The outline is the union of the territory's communes in the communes' CRS (None
    without a communes layer). The shareable export writes both: the layers are read
    once for every territory, the outlines are made two at a time (GEOS works without
    Python's lock) and each serves to clip its territory's counted layers (the service
    gaps, which are not counted, are not clipped).
    """
    return _summaries(ws, settings, list(territories), outlines=True)


def _summaries(
    ws: Workspace, settings: Settings, territories: list[str | None], *, outlines: bool
) -> list[tuple[dict[str, Any], shapely.Geometry | None]]:
    scopes = [_scope(ws, territory) for territory in territories]
    stored = ws.layers()
    clipping = any(scope is not None for scope in scopes)
    layers: dict[str, gpd.GeoDataFrame | None] = {
        name: ws.read_layer(name) if name in stored else None
        for name in _COUNTED
        if clipping or (outlines and name == "communes")
    }
    communes = layers.get("communes")
    areas: list[shapely.Geometry | None] = [None] * len(scopes)
    if communes is not None:
        codes = [resolve(ws, None) if scope is None else scope for scope in scopes]
        wanted = [i for i, scope in enumerate(scopes) if outlines or scope is not None]
        with ThreadPoolExecutor(2) as pool:
            made = pool.map(lambda i: _outline(communes, {str(c) for c in codes[i]}), wanted)
            for i, area in zip(wanted, made, strict=True):
                areas[i] = area
    found: list[tuple[dict[str, Any], shapely.Geometry | None]] = []
    for territory, scope, area in zip(territories, scopes, areas, strict=True):
        if scope is None:
            counts = {name: stored[name].count if name in stored else 0 for name in _COUNTED}
            population = None
            if "communes" in stored:
                population = ws.query("SELECT sum(population) AS p FROM communes")["p"].iloc[0]
        elif communes is None:
            counts = {name: _length(layers[name]) for name in _COUNTED}
            population = None
        else:
            assert area is not None
            clipped = _clip(layers, {str(c) for c in scope}, area)
            counts = {name: _length(clipped[name]) for name in _COUNTED}
            inside = clipped["communes"]
            assert inside is not None
            population = inside["population"].sum(min_count=1)
        total = published.contact_total(ws, scope=scope, settings=settings)
        figures = {
            "name": ws.name,
            "territory": None if scope is None else territory,
            **counts,
            "population": None if population is None or pd.isna(population) else int(population),
            "contacts": total,
        }
        found.append((figures, area if outlines else None))
    return found


def layers_table(layers: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The ``layers`` of :func:`info` as a French table (one row per layer).

    Layers are named in French only (:data:`LAYER_LABELS`): a table's internal name
    (``stop_hours``…) is shown nowhere (issue #21); a layer without label keeps its name.
    """
    rows = [
        {
            "Couche": LAYER_LABELS.get(name, name),
            "Entités": meta["count"],
            "Source": meta["source"],
            "Millésime": meta["vintage"],
            "Licence": meta["licence"],
            "SCR d'origine": meta.get("source_crs") or "—",
            "SCR stocké": meta["crs"] or "— (table)",
            "Mise à jour": meta["updated"],
        }
        for name, meta in layers.items()
    ]
    columns = ["Couche", "Entités", "Source", "Millésime", "Licence"]
    columns += ["SCR d'origine", "SCR stocké", "Mise à jour"]
    return pd.DataFrame(rows, columns=columns)


def info(ws: Workspace, *, settings: Settings) -> dict[str, Any]:
    """What ``territory info --json`` prints: layers with count, CRS, source, vintage; k."""
    layers: dict[str, Any] = {}
    for name, meta in ws.layers().items():
        if name in (raw.CONTACTS, PARCOURS):
            # person-level (pseudonymised) rows: their raw number is not shown either; the
            # contacts are listed as their protected layer, the pathways through the
            # programme's comparison only
            continue
        layers[name] = {
            "count": meta.count,
            "crs": meta.crs,
            "source": meta.source,
            "vintage": meta.vintage,
            "licence": meta.licence,
            "source_crs": meta.source_crs,
            "updated": meta.updated,
        }
    if raw.CONTACTS in ws.layers():
        meta = ws.layers()[raw.CONTACTS]
        density = published.density(ws, settings=settings)
        layers[DENSITY] = {
            "count": len(density),
            "crs": STORAGE_CRS,
            "source": (
                f"contacts protégés (k={settings.k} personnes, perturbés, "
                f"arrondi {settings.rounding})"
            ),
            "vintage": meta.vintage,
            "licence": meta.licence,
            "source_crs": None,
            "updated": meta.updated,
        }
    return {
        "name": ws.name,
        "workspace": redact(ws.key),  # a server address without its password
        "version": ws.version,
        "layers": layers,
        "k": settings.k,
        "rounding": settings.rounding,
    }


# ------------------------------------------------------------------------------ private
_COUNTED = ("communes", "qpv", "partners", "stops")
_SPATIAL = ("communes", "qpv", "partners", "stops", "service_gaps")


def _scope(ws: Workspace, territory: str | None) -> set[str] | None:
    """The communes of ``territory``, or None for the whole workspace (no restriction)."""
    return None if is_whole(territory) else resolve(ws, territory)


def _read_layers(ws: Workspace) -> dict[str, gpd.GeoDataFrame | None]:
    return {name: ws.read_layer(name) if ws.has(name) else None for name in _SPATIAL}


def _length(gdf: gpd.GeoDataFrame | None) -> int:
    return 0 if gdf is None else len(gdf)
