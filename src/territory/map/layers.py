"""One builder per layer kind: the features of a layer and the JavaScript that draws them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.utilities import JsCode

from territory._errors import ValidationError
from territory.map.elements import _RENDERER, _Collection, _GeoJsonLayer, _Labels, _Part
from territory.map.encode import (
    _CompactCollection,
    _features_text,
    _PlainCollection,
    _script_safe,
)
from territory.map.prepare import (
    _box,
    _checked,
    _column,
    _geometry_array,
    _ints,
    _is_empty,
    _level_labels,
    _prepared,
    _records,
    _text,
)
from territory.map.scripts import snippet
from territory.map.squares import _RANKS, _CompactGrid, _grid_squares
from territory.map.styles import (
    _POINTS_PANE,
    _STACK,
    _SVG_LAYERS,
    ACCESS_COLOURS,
    COMMUNE_LABEL_TIERS,
    CONTACT_COLOURS,
    DENSITY_BREAKS,
    DENSITY_COLUMNS,
    DENSITY_LEVEL_COLOURS,
    GAP_COLOUR,
    HOTSPOT_COLOURS,
    HOTSPOT_COLUMNS,
    LAYER_COMMUNES,
    LAYER_DENSITY,
    LAYER_PARTNERS,
    LAYER_QPV,
    LAYER_SCORES,
    LAYER_STOPS,
    LEVEL_NAMES_FR,
    NO_ACCESS_COLOUR,
    NO_DATA_COLOUR,
    PARTNER_COLOURS,
    QPV_2015_COLOUR,
    QPV_COLOUR,
    QPV_EDGE_PX,
    QPV_LABEL_ZOOM,
    SCORE_COLOURS,
    STOP_COLOUR,
    STOP_IDLE_COLOUR,
    STOP_THIN_PX,
    STOP_THIN_UNTIL,
    TRANSIT_STATE_COLOURS,
    _fr_number,
    _place_colour,
    route_colours,
)
from territory.vocab import TRANSIT_GAP

__all__ = [
    "_access_layers",
    "_communes_layers",
    "_density_layers",
    "_gap_layers",
    "_hotspot_layers",
    "_partner_layers",
    "_place_layers",
    "_qpv_layers",
    "_route_layers",
    "_score_layers",
    "_stop_layers",
]


def _tag(layer: str) -> JsCode:
    return JsCode(snippet("common.js.j2", "tag", layer))


# ----------------------------------------------------------------------------------------
# Layers
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Shapes:
    """The communes as the communes layer draws them, for the density to reuse."""

    data: _Collection
    index: dict[str, int]  # commune code → feature index in ``data``
    given: np.ndarray  # the geometry each feature was drawn from (before simplification)


def _communes_layers(
    gdf: gpd.GeoDataFrame | None, precision: int, tolerance: float
) -> tuple[list[_Part], _Shapes | None]:
    if _is_empty(gdf):
        return [], None
    assert gdf is not None
    gdf = _checked(gdf, "communes", required=("code",))
    geometry, keep = _prepared(
        gdf, "communes", precision=precision, tolerance=tolerance, coverage=True
    )
    if not keep.any():
        return [], None
    rows = gdf.loc[keep]
    levels = pd.to_numeric(_column(rows, "densite"), errors="coerce").astype("Int64")
    props = _records(
        {
            "code": _text(rows["code"]),
            "nom": _text(_column(rows, "nom")),
            "population": _ints(_column(rows, "population")),
            "densite": _ints(levels),
        }
    )
    labels = {str(level): label for level, label in _level_labels(gdf).items()}
    colours = {str(i + 1): c for i, c in enumerate(DENSITY_LEVEL_COLOURS)}
    style = JsCode(snippet("communes.js.j2", "style", colours, NO_DATA_COLOUR))
    tooltip = snippet("communes.js.j2", "tooltip", labels)
    layers = _choropleth(
        props, geometry, precision, style=style, tooltip=tooltip, tag=LAYER_COMMUNES, coverage=True
    )
    given = _geometry_array(gdf, "communes")[keep]
    names = _label_layer(
        layers[0].data,
        [p["nom"] for p in props],
        given,
        precision,
        {
            "kind": "commune",
            "name": "nom",
            "field": "population",
            "tiers": [list(t) for t in COMMUNE_LABEL_TIERS],
        },
    )
    codes = {p["code"]: i for i, p in enumerate(props) if p["code"] is not None}
    return [*layers, *names], _Shapes(layers[0].data, codes, given)


def _choropleth(
    props: list[dict[str, Any]],
    geometry: np.ndarray,
    precision: int,
    *,
    style: JsCode,
    tooltip: str,
    tag: str,
    coverage: bool,
) -> list[_GeoJsonLayer]:
    """Zones filling the communes' pane, with a tooltip, a hover outline and a click tag.

    ``coverage``: they never overlap (drawn in runs of one style).
    """
    bind = snippet("common.js.j2", "choropleth_bind", tooltip)
    return [
        _layer(
            props,
            geometry,
            stack="communes",
            precision=precision,
            options={"style": style, "on_each_feature": _tag(tag), "coverage": coverage},
            bind=bind,
        )
    ]


def _score_layers(
    gdf: gpd.GeoDataFrame | None, precision: int, tolerance: float
) -> list[_GeoJsonLayer]:
    if _is_empty(gdf):
        return []
    assert gdf is not None
    gdf = _checked(gdf, "scores", required=("code", "score"))
    geometry, keep = _prepared(
        gdf, "scores", precision=precision, tolerance=tolerance, coverage=False
    )
    if not keep.any():
        return []
    rows = gdf.loc[keep]
    score = pd.to_numeric(rows["score"], errors="coerce")
    props = _records(
        {
            "code": _text(rows["code"]),
            "nom": _text(_column(rows, "nom")),
            "rang": _ints(_column(rows, "rang")),
            "score": [None if pd.isna(v) else round(float(v), 1) for v in score],
            "pourquoi": _text(_column(rows, "pourquoi")),
        }
    )
    style = JsCode(snippet("scores.js.j2", "style", list(SCORE_COLOURS), NO_DATA_COLOUR))
    tooltip = snippet("scores.js.j2", "tooltip")
    # Simplified one by one: neighbours may overlap a little, so drawn one by one.
    return _choropleth(
        props, geometry, precision, style=style, tooltip=tooltip, tag=LAYER_SCORES, coverage=False
    )


def _access_layers(
    gdf: gpd.GeoDataFrame | None, precision: int, tolerance: float
) -> list[_GeoJsonLayer]:
    """Accessibility to partners by commune: quintiles of the communes with one in reach."""
    if _is_empty(gdf):
        return []
    assert gdf is not None
    gdf = _checked(gdf, "access", required=("code", "acces"))
    geometry, keep = _prepared(
        gdf, "access", precision=precision, tolerance=tolerance, coverage=True
    )
    if not keep.any():
        return []
    rows = gdf.loc[keep]
    value = pd.to_numeric(rows["acces"], errors="coerce")
    props = _records(
        {
            "code": _text(rows["code"]),
            "nom": _text(_column(rows, "nom")),
            "acces": [None if pd.isna(v) else round(float(v), 1) for v in value],
            "classe": _ints(pd.Series(access_classes(value), dtype="Int64")),
        }
    )
    catchment = gdf.attrs.get("catchment_min", 30)
    style = JsCode(snippet("access.js.j2", "style", list(ACCESS_COLOURS), NO_ACCESS_COLOUR))
    tooltip = snippet("access.js.j2", "tooltip", _fr_number(10_000), f"{_fr_number(catchment)} min")
    return _choropleth(
        props, geometry, precision, style=style, tooltip=tooltip, tag=LAYER_COMMUNES, coverage=True
    )


def access_classes(value: pd.Series) -> list[int | None]:
    """Quintile (0-4) of each positive accessibility; None where no partner is in reach."""
    number = value.to_numpy(dtype=float, na_value=np.nan)
    positive = number[np.isfinite(number) & (number > 0)]
    if not len(positive):
        return [None] * len(number)
    breaks = np.quantile(positive, [0.2, 0.4, 0.6, 0.8])
    classes = np.searchsorted(breaks, number, side="right")
    return [
        int(c) if np.isfinite(v) and v > 0 else None for c, v in zip(classes, number, strict=True)
    ]


def _qpv_layers(gdf: gpd.GeoDataFrame | None, precision: int, tolerance: float) -> list[_Part]:
    if _is_empty(gdf):
        return []
    assert gdf is not None
    gdf = _checked(gdf, "qpv", required=("code",))
    geometry, keep = _prepared(
        gdf, "qpv", precision=precision, tolerance=tolerance / 4, coverage=False
    )
    if not keep.any():
        return []
    rows = gdf.loc[keep]
    generation = _column(rows, "generation")
    numeric = pd.to_numeric(generation, errors="coerce")
    generation_out = [
        int(n) if pd.notna(n) else (None if pd.isna(g) else str(g))
        for n, g in zip(numeric, generation, strict=True)
    ]
    props = _records(
        {
            "code": _text(rows["code"]),
            "nom": _text(_column(rows, "nom")),
            "generation": generation_out,
        }
    )
    fill_style = JsCode(snippet("qpv.js.j2", "fill_style", QPV_COLOUR))
    bind = snippet("qpv.js.j2", "bind", {"fillOpacity": 0.25})
    fill = _layer(
        props,
        geometry,
        stack="qpv_fill",
        precision=precision,
        options={"style": fill_style, "on_each_feature": _tag(LAYER_QPV)},
        bind=bind,
    )
    # Outline on top of the density and the zones blanches: the same features, drawn a
    # second time. Only its border takes the mouse (QPV_EDGE_PX): a click on the outline
    # answers with the QPV even when the density is drawn over the QPV's inside.
    line_style = JsCode(snippet("qpv.js.j2", "line_style", QPV_COLOUR, QPV_2015_COLOUR))
    outline = _GeoJsonLayer(
        fill.data,
        fill.bounds,
        options={
            "renderer": _RENDERER,
            "style": line_style,
            "edge": QPV_EDGE_PX,
            "on_each_feature": _tag(LAYER_QPV),
        },
        rank=_STACK["qpv_line"],
        bind=snippet("qpv.js.j2", "bind", {"weight": 5}),
        count=fill.count,
    )
    names = _label_layer(
        fill.data,
        [p["nom"] for p in props],
        _geometry_array(gdf, "qpv")[keep],
        precision,
        # placed before the names of communes under 5,000 inhabitants (at zoom 13, the
        # neighbourhood is what a team looks for), after the towns'
        {"kind": "qpv", "name": "nom", "rank": 5_000, "tiers": [[0, QPV_LABEL_ZOOM]]},
    )
    return [fill, outline, *names]


def _label_layer(
    source: _Collection,
    names: list[str | None],
    geometry: np.ndarray,
    precision: int,
    options: dict[str, Any],
) -> list[_Labels]:
    """Where the names of a layer's polygons go (:class:`_Labels`).

    ``source`` is the layer's collection, whose features carry the names (``geometry``:
    their polygons before simplification, in the same order): only a point per feature is
    sent, the centroid when it falls inside the polygon, else a point on its surface.
    None when no feature has a name.
    """
    if not any(names):
        return []
    centre = shapely.centroid(geometry)
    inside = shapely.contains_properly(geometry, centre)
    points = np.where(inside, centre, shapely.point_on_surface(geometry))
    points = shapely.set_precision(points, 10.0**-precision)
    if shapely.is_empty(points).any():  # never for a polygon kept by _prepared
        return []
    data = _collection([{} for _ in range(len(points))], points, precision)
    return [_Labels(data, source, _box(points), options)]


def _density_layers(
    gdf: gpd.GeoDataFrame | None,
    precision: int,
    tolerance: float,
    k: int,
    shapes: _Shapes | None,
) -> list[_GeoJsonLayer]:
    if _is_empty(gdf):
        return []
    assert gdf is not None
    gdf = _checked(gdf, "density", required=DENSITY_COLUMNS)
    # Privacy: from here on only the protected columns exist.
    gdf = gdf[[*DENSITY_COLUMNS, gdf.geometry.name]]
    counts = pd.to_numeric(gdf["count"], errors="coerce").astype("Int64")
    labels = gdf["label"].astype("object")
    _check_protected(counts, labels, k)

    # Grid squares whose geometry is their id's square travel as compact rows, and "rest
    # of the commune" zones drawn as their commune as references to the communes' shapes
    # (see _CompactGrid); the others (anything unexpected) as GeoJSON.
    grid = _grid_squares(gdf)
    commune = _commune_shapes(gdf, shapes)
    plain = ~grid.mask & (commune < 0)
    geometry, keep = _prepared(
        gdf.loc[plain],
        "density",
        precision=precision,
        tolerance=tolerance / 4,
        coverage=False,
    )
    kept = ~plain
    kept[np.flatnonzero(plain)[keep]] = True
    if not kept.any():
        return []
    props = _density_props(gdf.loc[kept], counts.loc[kept], k)
    sent_as = np.where(grid.mask, "square", np.where(commune >= 0, "commune", "plain"))[kept]
    explicit = [p for p, c in zip(props, sent_as, strict=True) if c == "plain"]
    explicit_order = np.argsort([_RANKS.get(p["level"] or "", 0) for p in explicit], kind="stable")
    explicit = [explicit[i] for i in explicit_order]
    geometry = geometry[explicit_order]
    encoded = _CompactGrid.encode(
        explicit=_features_text(explicit, geometry, precision) if explicit else "",
        squares=[p for p, c in zip(props, sent_as, strict=True) if c == "square"],
        east=grid.east[grid.mask],
        north=grid.north[grid.mask],
        fit=grid.fit,
        rests=[p for p, c in zip(props, sent_as, strict=True) if c == "commune"],
        communes=commune[commune >= 0],
    )
    # Fail closed on what is actually sent: every count and label of the page.
    sent = encoded.sent_properties()
    _check_protected(
        pd.Series([p["count"] for p in sent], dtype="Int64"),
        pd.Series([p["label"] for p in sent], dtype="object"),
        k,
    )
    bounds = _box(np.concatenate([geometry, grid.geometry[~plain]]))
    style = JsCode(snippet("density.js.j2", "style", list(CONTACT_COLOURS)))
    bind = snippet("density.js.j2", "bind", LEVEL_NAMES_FR)
    data = _Collection(encoded, needs=shapes.data if encoded.refs and shapes else None)
    return [
        _GeoJsonLayer(
            data,
            bounds,
            options={
                "renderer": _RENDERER,
                "style": style,
                "on_each_feature": _tag(LAYER_DENSITY),
                "coverage": True,
            },
            rank=_STACK["density"],
            bind=bind,
            count=len(props),
        )
    ]


def _commune_shapes(gdf: gpd.GeoDataFrame, shapes: _Shapes | None) -> np.ndarray:
    """Index in the communes' collection of each "rest of the commune" zone, else -1.

    A zone has an index when it is drawn as its commune (its geometry is the one the
    communes layer was given).

    Such a zone (what :func:`territory.views.density_layer` gives) is sent as a
    reference: it takes the commune's simplified shape, so that its outline is the
    commune's and not a second, finer copy of it.
    """
    out = np.full(len(gdf), -1, dtype=np.int64)
    if shapes is None:
        return out
    index = np.array([-1 if z is None else shapes.index.get(z, -1) for z in _text(gdf["zone"])])
    level = gdf["level"].astype("string").fillna("").to_numpy(dtype=object)
    candidate = (level == "commune") & (index >= 0)
    geometry = _geometry_array(gdf, "density")[candidate]
    same = shapely.equals_exact(geometry, shapes.given[index[candidate]], tolerance=1e-9)
    out[np.flatnonzero(candidate)[same]] = index[candidate][same]
    return out


def _density_props(rows: pd.DataFrame, counts: pd.Series, k: int) -> list[dict[str, Any]]:
    """The properties of each density zone, as the browser receives them."""
    area = pd.to_numeric(rows["area_km2"], errors="coerce")
    shown = counts.notna().to_numpy()
    label_out = [
        str(lab) if pd.notna(lab) and str(lab).strip() else (_fr_number(int(c)) if s else f"< {k}")
        for lab, c, s in zip(rows["label"], counts, shown, strict=True)
    ]
    return _records(
        {
            "zone": _text(rows["zone"]),
            "level": _text(rows["level"]),
            "count": _ints(counts),
            "label": label_out,
            "area_km2": [None if pd.isna(a) else round(float(a), 4) for a in area],
            "classe": _ints(pd.Series(_density_classes(counts, area), dtype="Int64")),
        }
    )


def _hotspot_layers(
    gdf: gpd.GeoDataFrame | None, precision: int, tolerance: float
) -> list[_GeoJsonLayer]:
    """The significant hot and cold spots as tinted outlines; only zone, class and q sent."""
    if _is_empty(gdf):
        return []
    assert gdf is not None
    gdf = _checked(gdf, "hotspots", required=("zone", "classe"))
    # Privacy: from here on only the class of each zone exists (no count, no value).
    gdf = gdf[[c for c in HOTSPOT_COLUMNS if c in gdf] + [gdf.geometry.name]]
    gdf = gdf[gdf["classe"].astype(str).isin(HOTSPOT_COLOURS)]
    if gdf.empty:
        return []
    geometry, keep = _prepared(
        gdf, "hotspots", precision=precision, tolerance=tolerance / 4, coverage=False
    )
    if not keep.any():
        return []
    rows = gdf.loc[keep]
    q = pd.to_numeric(_column(rows, "q"), errors="coerce")
    props = _records(
        {
            "zone": _text(rows["zone"]),
            "classe": _text(rows["classe"]),
            "q": [None if pd.isna(v) else round(float(v), 3) for v in q],
        }
    )
    style = JsCode(snippet("hotspots.js.j2", "style", HOTSPOT_COLOURS))
    return [
        _layer(
            props,
            geometry,
            stack="hotspots",
            precision=precision,
            # A click opens the card of the density zone beneath (same id).
            options={"style": style, "on_each_feature": _tag(LAYER_DENSITY)},
            bind=snippet("hotspots.js.j2", "bind"),
        )
    ]


def _gap_layers(
    gdf: gpd.GeoDataFrame | None, precision: int, tolerance: float
) -> list[_GeoJsonLayer]:
    if _is_empty(gdf):
        return []
    assert gdf is not None
    gdf = _checked(gdf, "service_gaps", required=())
    geometry, keep = _prepared(
        gdf, "service_gaps", precision=precision, tolerance=tolerance, coverage=False
    )
    if not keep.any():
        return []
    # Without ``etat`` (a layer stored before feeds had a coverage), every row is a gap.
    states = _column(gdf.loc[keep], "etat").astype("string").fillna(TRANSIT_GAP)
    props: list[dict[str, Any]] = [{"etat": str(e)} for e in states]
    style = JsCode(snippet("gaps.js.j2", "style", GAP_COLOUR, TRANSIT_STATE_COLOURS))
    return [
        _layer(
            props,
            geometry,
            stack="gaps",
            precision=precision,
            options={"style": style, "interactive": False},
        )
    ]


def _stop_layers(gdf: gpd.GeoDataFrame | None, precision: int) -> list[_GeoJsonLayer]:
    if _is_empty(gdf):
        return []
    assert gdf is not None
    gdf = _checked(gdf, "stops", required=("stop_id",))
    geometry, keep = _prepared(gdf, "stops", precision=precision, tolerance=0, coverage=False)
    if not keep.any():
        return []
    rows = gdf.loc[keep]
    departures = pd.to_numeric(_column(rows, "departs_jour"), errors="coerce").astype("Int64")
    top = departures.max()
    top = 1 if pd.isna(top) or top < 1 else int(top)
    props = _records(
        {
            "code": _text(rows["stop_id"]),
            "nom": _text(_column(rows, "nom")),
            "departs_jour": _ints(departures),
            "lignes": _text(_column(rows, "lignes")),
        }
    )
    style = JsCode(snippet("stops.js.j2", "style", STOP_COLOUR, STOP_IDLE_COLOUR, top))
    bind = snippet("stops.js.j2", "bind")
    return [
        _layer(
            props,
            geometry,
            stack="stops",
            precision=precision,
            bind=bind,
            options={
                "style": style,
                "point_to_layer": _circle("stops"),
                "on_each_feature": _tag(LAYER_STOPS),
                "thin": STOP_THIN_PX,
                "thin_until": STOP_THIN_UNTIL,
                "weight": JsCode(snippet("stops.js.j2", "weight")),
            },
        )
    ]


def _route_layers(gdf: gpd.GeoDataFrame | None, precision: int) -> list[_GeoJsonLayer]:
    if _is_empty(gdf):
        return []
    assert gdf is not None
    gdf = _checked(gdf, "routes", required=("team", "label"))
    geometry, keep = _prepared(gdf, "routes", precision=precision, tolerance=0, coverage=False)
    if not keep.any():
        return []
    rows = gdf.loc[keep]
    colours = route_colours(rows)
    props = _records(
        {
            "team": _text(rows["team"]),
            "label": _text(rows["label"]),
            "ordre": _ints(_column(rows, "ordre")),
            "colour": [colours[str(t)] for t in rows["team"]],  # one colour per team
        }
    )
    style = JsCode(snippet("routes.js.j2", "style"))
    bind = snippet("routes.js.j2", "bind")
    return [
        _layer(
            props,
            geometry,
            stack="routes",
            precision=precision,
            bind=bind,
            options={"style": style, "point_to_layer": _circle("routes")},
        )
    ]


def _place_layers(gdf: gpd.GeoDataFrame | None, precision: int) -> list[_GeoJsonLayer]:
    if _is_empty(gdf):
        return []
    assert gdf is not None
    gdf = _checked(gdf, "places", required=("nom", "type"))
    geometry, keep = _prepared(gdf, "places", precision=precision, tolerance=0, coverage=False)
    if not keep.any():
        return []
    rows = gdf.loc[keep]
    props = _records(
        {
            "nom": _text(rows["nom"]),
            "type": _text(rows["type"]),
            "horaires": _text(_column(rows, "horaires")),
            "colour": [_place_colour(str(kind)) for kind in rows["type"]],
        }
    )
    style = JsCode(snippet("places.js.j2", "style"))
    bind = snippet("places.js.j2", "bind")
    return [
        _layer(
            props,
            geometry,
            stack="places",
            precision=precision,
            bind=bind,
            options={"style": style, "point_to_layer": _circle("places")},
        )
    ]


def _partner_layers(gdf: gpd.GeoDataFrame | None, precision: int) -> list[_GeoJsonLayer]:
    if _is_empty(gdf):
        return []
    assert gdf is not None
    gdf = _checked(gdf, "partners", required=())
    geometry, keep = _prepared(gdf, "partners", precision=precision, tolerance=0, coverage=False)
    if not keep.any():
        return []
    rows = gdf.loc[keep]
    hours_fr = _text(_column(rows, "horaires_fr"))
    hours_osm = _text(_column(rows, "horaires"))
    hours = [fr or osm for fr, osm in zip(hours_fr, hours_osm, strict=True)]
    props = _records(
        {
            "code": [str(i) for i in rows.index],
            "nom": _text(_column(rows, "nom")),
            "type": _text(_column(rows, "type")),
            "type_libelle": _text(_column(rows, "type_libelle")),
            "adresse": _text(_column(rows, "adresse")),
            "horaires": hours,
            "telephone": _text(_column(rows, "telephone")),
        }
    )
    style = JsCode(snippet("partners.js.j2", "style", PARTNER_COLOURS))
    bind = snippet("partners.js.j2", "bind")
    return [
        _layer(
            props,
            geometry,
            stack="partners",
            precision=precision,
            bind=bind,
            options={
                "style": style,
                "point_to_layer": _circle("partners"),
                "on_each_feature": _tag(LAYER_PARTNERS),
            },
        )
    ]


def _circle(stack: str) -> JsCode:
    """``pointToLayer``: a circle marker drawn where the layer's other shapes are."""
    return JsCode(
        snippet(
            "common.js.j2",
            "circle",
            _POINTS_PANE if stack in _SVG_LAYERS else "",
            _RENDERER.js_code,
        )
    )


def _drawn_on(stack: str) -> dict[str, Any]:
    """The option that puts a layer's shapes on the shared canvas, or in the SVG pane."""
    return {"pane": _POINTS_PANE} if stack in _SVG_LAYERS else {"renderer": _RENDERER}


def _layer(
    props: list[dict[str, Any]],
    geometry: np.ndarray,
    *,
    stack: str,
    precision: int,
    options: dict[str, Any],
    bind: str | None = None,
) -> _GeoJsonLayer:
    return _GeoJsonLayer(
        _collection(props, geometry, precision),
        _box(geometry),
        options={**_drawn_on(stack), **options},
        rank=_STACK[stack],
        bind=bind,
        count=len(props),
    )


def _collection(props: list[dict[str, Any]], geometry: np.ndarray, precision: int) -> _Collection:
    """The features as a compact collection, or as plain GeoJSON when they cannot be."""
    compact = _CompactCollection.encode(props, geometry, precision)
    if compact is not None:
        return _Collection(compact)
    features = _features_text(props, geometry, precision)
    return _Collection(
        _PlainCollection(_script_safe('{"type":"FeatureCollection","features":[' + features + "]}"))
    )


# ----------------------------------------------------------------------------------------


def _check_protected(counts: pd.Series, labels: pd.Series, k: int) -> None:
    """Fail closed: a density layer showing a count in 1..k-1 never reaches the browser."""
    problems = []
    low = counts.notna() & (counts >= 1) & (counts < k)
    if low.any():
        problems.append(
            f"{int(low.sum())} zone(s) de densité montrent un effectif entre 1 et "
            f"{k - 1} : la couche doit venir de privacy.protect_density()"
        )
    distinct = pd.Series(labels.dropna().astype(str).unique())
    digits = distinct.str.replace(r"[\s\u202f\u00a0]", "", regex=True)
    numeric = pd.to_numeric(digits.where(digits.str.fullmatch(r"\d+")), errors="coerce")
    low_labels = set(distinct[numeric.notna() & (numeric >= 1) & (numeric < k)])
    if low_labels:
        n = int(labels.astype(str).isin(low_labels).sum())
        problems.append(f"{n} libellé(s) de densité affichent un effectif entre 1 et {k - 1}")
    if problems:
        raise ValidationError(problems)


def _density_classes(counts: pd.Series, area: pd.Series) -> list[int | None]:
    """Class of contacts per km² (index in :data:`CONTACT_COLOURS`); None when suppressed."""
    shown = counts.notna().to_numpy()
    km2 = pd.to_numeric(area, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    number = counts.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_km2 = np.where(km2 > 0, number / km2, 0.0)
    classes = np.searchsorted(DENSITY_BREAKS, np.nan_to_num(per_km2), side="right")
    return [int(c) if s else None for c, s in zip(classes, shown, strict=True)]
