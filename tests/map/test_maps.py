"""The folium map: offline HTML, layers, colours, privacy of the density layer, clicks.

Fixtures are small synthetic layers around (2.0 E, 48.8 N): nine square communes
sharing their borders, two QPV (2024 and 2015), published and suppressed density zones
at the three levels, partners (one still "à géocoder"), stops and one zone blanche.
"""

from __future__ import annotations

import colorsys
import contextlib
import dataclasses
import json
import re
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import shared_file
from jinja2.utils import htmlsafe_json_dumps
from shapely.geometry import Point, box

from bench._browser import CHROMIUM_ARGS, chromium_path
from territory import CRSError, ValidationError
from territory.grid import cell_polygons
from territory.map import CLICKABLE_LAYERS, RETURNED_OBJECTS, MapLayers, legend_html
from territory.map.build import territory_map, zone_from_click
from territory.map.elements import _Collection, _Decoder, _GeoJsonLayer
from territory.map.encode import _CompactCollection, _PlainCollection
from territory.map.squares import _CompactGrid
from territory.map.styles import DENSITY_LEVEL_COLOURS, _rgba

ROOT = Path(__file__).resolve().parents[2]
URL = re.compile(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s\"'<>)]*")
ALLOWED_DENSITY_KEYS = {"zone", "level", "count", "label", "area_km2", "classe"}
# Labels that are not INSEE's, to prove the legend and tooltips read them from the data.
LEVEL_LABELS = {
    1: "Très dense (fichier)",
    4: "Petite ville (fichier)",
    6: "Rural dispersé (fichier)",
}

GAPS_500 = "Zones blanches (> 500 m d'un arrêt desservi) et zones sans données de transport"
NAMES = [
    "Communes (grille de densité)",
    "QPV",
    "Densité de contacts (protégée)",
    GAPS_500,
    "Arrêts de transport",
    "Partenaires",
]


# --- fixtures ----------------------------------------------------------------------------
# Where the page makes a map layer: one shape per layer on the canvas, L.geoJson in SVG.
LAYER_MADE = re.compile(r"(territoryCanvas\.layer|L\.geoJson)\(collection_")


@pytest.fixture(scope="module")
def communes() -> gpd.GeoDataFrame:
    """Nine 0.1° square communes in a 3 × 3 block (shared borders), levels 1, 4, 6."""
    geoms, codes, levels = [], [], []
    for i in range(3):
        for j in range(3):
            x, y = 2.0 + 0.1 * i, 48.8 + 0.1 * j
            # Densified edges: something for the simplification to remove.
            geoms.append(shapely.segmentize(box(x, y, x + 0.1, y + 0.1), 0.005))
            codes.append(f"9100{i * 3 + j}")
            levels.append((1, 4, 6)[(i + j) % 3])
    levels[-1] = None  # a commune without density class
    return gpd.GeoDataFrame(
        {
            "code": codes,
            "nom": [f"Commune {c}" for c in codes],
            "population": pd.array([1200, 560, None, 80, 3400, 15000, 70, 900, 42_000], "Int64"),
            "epci": "200000001",
            "departement": "91",
            "densite": pd.array(levels, dtype="Int64"),
            "densite_libelle": [LEVEL_LABELS.get(v) if v else None for v in levels],
        },
        geometry=geoms,
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def qpv() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "code": ["QN09101M", "QP091001"],
            "nom": ["Les Tilleuls", "Le Bourg"],
            "generation": [2024, 2015],
            "communes": ["91000", "91004"],
        },
        geometry=[box(2.02, 48.82, 2.05, 48.85), box(2.12, 48.92, 2.16, 48.95)],
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def density(communes) -> gpd.GeoDataFrame:
    """Protected zones, in the order protect_density() might give them (200 m first).

    The rest of 91004 is drawn as its commune (as views.density_layer() draws it); the
    rest of 91008 has another shape (sent as given).
    """
    return gpd.GeoDataFrame(
        {
            "zone": [
                "CRS3035RES200mN2886000E3736000",
                "CRS3035RES200mN2886200E3736000",
                "CRS3035RES1000mN2887000E3737000",
                "91004",
                "91008",
            ],
            "level": ["200m", "200m", "1km", "commune", "commune"],
            "commune": ["91000", "91000", "91001", "91004", "91008"],
            "count": pd.array([25, None, 15, 40, None], dtype="Int64"),
            "label": ["25", "< 11", "15", "40", "secret"],
            "area_km2": [0.04, 0.04, 1.0, 80.0, 80.0],
            # Never to reach the browser, whatever the caller leaves in the frame:
            "raw_n": [27, 3, 14, 41, 12],
            "personne": ["hmac-aaaa", "hmac-bbbb", None, None, None],
        },
        # Grid zones are their id's square, as views.density_layer() gives them.
        geometry=[
            *cell_polygons(
                [
                    "CRS3035RES200mN2886000E3736000",
                    "CRS3035RES200mN2886200E3736000",
                    "CRS3035RES1000mN2887000E3737000",
                ]
            ).to_crs(4326),
            communes.set_index("code").geometry["91004"],
            box(2.2, 49.0, 2.3, 49.1),
        ],
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def partners() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "nom": ["Mission locale <Essonne> & co", "Centre social {{ x }}", "À géocoder"],
            "type": ["ML", "CS", "FT"],
            "type_libelle": ["Mission locale", "Centre social", "France Travail"],
            "adresse": ["1 rue A 91000 X", "2 rue B 91001 Y", "3 rue C 91002 Z"],
            "code_insee": ["91000", "91001", "91002"],
            "horaires": ["Mo-Fr 09:00-12:00", "Tu 14:00-17:00", ""],
            "horaires_fr": ["lun.–ven. 9h–12h", None, ""],
            "telephone": ["01 00 00 00 00", None, None],
            "statut": ["géocodé", "fourni", "à géocoder"],
        },
        geometry=[Point(2.03, 48.83), Point(2.13, 48.93), None],
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def stops() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "stop_id": ["S1", "S2", "S3"],
            "nom": ["Gare", "Mairie", "Hameau"],
            "departs_jour": pd.array([120, 0, None], dtype="Int64"),
            "lignes": ["1, 2", "2", None],
        },
        geometry=[Point(2.05, 48.85), Point(2.15, 48.95), Point(2.25, 49.05)],
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def gaps() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"label": ["> 500 m d'un arrêt desservi"]},
        geometry=[box(2.2, 48.8, 2.3, 48.9)],
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def layers(communes, qpv, density, partners, stops, gaps) -> MapLayers:
    return MapLayers(
        communes=communes,
        qpv=qpv,
        partners=partners,
        stops=stops,
        service_gaps=gaps,
        density=density,
    )


@pytest.fixture(scope="module")
def html(layers: MapLayers) -> str:
    return territory_map(layers).get_root().render()


def parts(m: folium.Map) -> dict[str, list[_GeoJsonLayer]]:
    """Feature-group name → its GeoJSON layers."""
    out: dict[str, list[_GeoJsonLayer]] = {}
    for child in m._children.values():
        if isinstance(child, folium.FeatureGroup):
            out[child.layer_name] = [
                c for c in child._children.values() if isinstance(c, _GeoJsonLayer)
            ]
    return out


def features(m: folium.Map, name: str) -> list[dict]:
    return parts(m)[name][0].features


def collections(m: folium.Map) -> list[_Collection]:
    """The data of the page, in the order the page defines it."""
    return [c for c in m._children.values() if isinstance(c, _Collection)]


# --- offline ---------------------------------------------------------------------------
def test_html_loads_only_local_leaflet(html: str) -> None:
    assert '<script src="/app/static/leaflet/leaflet.js"></script>' in html
    assert 'href="/app/static/leaflet/leaflet.css"' in html
    assert URL.findall(html) == []
    for cdn in (
        "jsdelivr",
        "jquery",
        "bootstrap",
        "cdnjs",
        "netdna",
        "fontawesome",
        "awesome-markers",
        "unpkg",
    ):
        assert cdn not in html.lower()
    assert "$(" not in html  # nothing needs jQuery
    assert len(re.findall(r"<script src=", html)) == 1
    assert len(re.findall(r'<link rel="stylesheet"', html)) == 1


def test_folium_class_defaults_untouched(layers: MapLayers) -> None:
    before = (list(folium.Map.default_js), list(folium.Map.default_css))
    territory_map(layers)
    assert (list(folium.Map.default_js), list(folium.Map.default_css)) == before
    assert any("jsdelivr" in url for _, url in folium.Map.default_js)  # still folium's own


def test_asset_base_follows_base_url_path(communes) -> None:
    html = (
        territory_map(MapLayers(communes=communes), asset_base="/outils/app/static/")
        .get_root()
        .render()
    )
    assert "/outils/app/static/leaflet/leaflet.js" in html
    assert "/outils/app/static/leaflet/leaflet.css" in html


@pytest.mark.parametrize(
    ("basemap", "host"), [("osm", "openstreetmap.org"), ("ign", "data.geopf.fr")]
)
def test_basemap_is_the_only_url(layers: MapLayers, basemap: str, host: str) -> None:
    html = territory_map(layers, basemap=basemap).get_root().render()
    urls = URL.findall(html)
    assert urls and all(host in url for url in urls)
    assert "/app/static/leaflet/leaflet.js" in html
    assert "Fond de carte" in html


def test_unknown_basemap_is_refused(layers: MapLayers) -> None:
    with pytest.raises(ValidationError, match="fond de carte inconnu"):
        territory_map(layers, basemap="google")


def test_st_folium_receives_only_local_links(tmp_path: Path, communes) -> None:
    """Through streamlit-folium's own path (AppTest): the links it loads in its iframe."""
    from streamlit.testing.v1 import AppTest

    data = tmp_path / "communes.gpkg"
    communes.to_file(data)
    script = tmp_path / "app.py"
    script.write_text(
        "import geopandas as gpd\n"
        "from streamlit_folium import st_folium\n"
        "from territory.map import RETURNED_OBJECTS, MapLayers, territory_map\n"
        f"layers = MapLayers(communes=gpd.read_file({str(data)!r}))\n"
        "st_folium(territory_map(layers), key='carte', height=500,\n"
        "          returned_objects=list(RETURNED_OBJECTS))\n",
        encoding="utf-8",
    )
    at = AppTest.from_file(str(script), default_timeout=60).run()
    assert not at.exception
    (element,) = [e for e in at.main if type(e).__name__ == "UnknownElement"]
    args = json.loads(element.proto.json_args)
    assert args["js_links"] == ["/app/static/leaflet/leaflet.js"]
    assert args["css_links"] == ["/app/static/leaflet/leaflet.css"]
    assert args["returned_objects"] == ["last_active_drawing"]
    assert URL.findall(args["script"] + args["header"] + args["html"]) == []
    assert 'feature.properties.layer = "communes"' in args["script"]
    assert '"code":"91000"' in args["html"]  # the data, as JSON elements


def test_map_renders_again_identically_through_st_folium(layers: MapLayers) -> None:
    """A cached map rendered on every rerun: no statement keeps the names of a previous render.

    st_folium renames elements; plain folium layers break here.
    """
    from streamlit_folium import _get_map_string

    m = territory_map(layers, basemap="osm", legend=True)
    scripts = []
    for _ in range(3):
        m.get_root().render()
        scripts.append(_get_map_string(m))
    assert scripts[0] == scripts[1] == scripts[2]
    assert re.findall(r"\w+_[0-9a-f]{32}", scripts[2]) == []
    # 7 GeoJSON layers and 2 of names (communes, QPV) in 6 groups
    assert scripts[2].count(".addTo(feature_group_") == 9


# --- layers ------------------------------------------------------------------------------
def test_layer_names_and_control(layers: MapLayers, html: str) -> None:
    m = territory_map(layers)
    assert list(parts(m)) == NAMES
    assert all(parts(m)[name] for name in NAMES)
    # folded into a button: open, the list covered a quarter of the map
    assert any(
        isinstance(c, folium.LayerControl) and c.options["collapsed"] is True
        for c in m._children.values()
    )
    for name in NAMES:  # as written by folium's LayerControl template
        assert str(htmlsafe_json_dumps(name)) in html


def test_gap_layer_name_follows_stop_buffer(gaps) -> None:
    m = territory_map(MapLayers(service_gaps=gaps), stop_buffer_m=800)
    name = "Zones blanches (> 800 m d'un arrêt desservi) et zones sans données de transport"
    assert list(parts(m)) == [name]
    assert parts(m)[name][0].options["interactive"] is False


def test_communes_colours_follow_levels(layers: MapLayers, communes) -> None:
    m = territory_map(layers)
    (layer,) = parts(m)[NAMES[0]]
    by_code = {f["properties"]["code"]: f["properties"] for f in layer.features}
    assert len(by_code) == len(communes)
    for code, level in zip(communes["code"], communes["densite"], strict=True):
        assert by_code[code]["densite"] == (None if pd.isna(level) else int(level))
    assert set(by_code["91000"]) == {"code", "nom", "population", "densite"}
    # The style maps level n to the n-th colour of the fixed palette…
    palette = {str(i + 1): c for i, c in enumerate(DENSITY_LEVEL_COLOURS)}
    assert json.dumps(palette, separators=(",", ":")) in str(layer.options["style"])
    # …which runs from dark (urban, level 1) to light (rural, level 7).
    lightness = [
        colorsys.rgb_to_hls(*(int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)))[1]
        for c in DENSITY_LEVEL_COLOURS
    ]
    assert lightness == sorted(lightness)


def test_density_labels_come_from_the_data(layers: MapLayers, html: str) -> None:
    for label in LEVEL_LABELS.values():
        assert label in html  # tooltip table
        assert label in legend_html(layers)
    assert "Grands centres urbains" not in html + legend_html(layers)


def test_qpv_fill_and_outline(layers: MapLayers) -> None:
    fill, outline = parts(territory_map(layers))["QPV"]
    assert [f["properties"] for f in fill.features] == [
        {"code": "QN09101M", "nom": "Les Tilleuls", "generation": 2024},
        {"code": "QP091001", "nom": "Le Bourg", "generation": 2015},
    ]
    # only the border of the outline takes the mouse: inside, the zones beneath do
    assert outline.options["edge"] == 5 and "interactive" not in outline.options
    assert 'feature.properties.layer = "qpv"' in str(outline.options["on_each_feature"])
    assert fill.rank < outline.rank  # the outline is drawn above the density


CANVAS = "territoryCanvas.renderer"


def test_vector_layers_share_one_canvas(layers: MapLayers, communes) -> None:
    """Every polygon, line and circle layer draws on the map's one canvas renderer.

    So Leaflet hit-tests all of them together; only the point layers on top (partners,
    places, routes) are SVG, in a pane that lets the mouse through to the canvas.
    """
    routes = gpd.GeoDataFrame(
        {"team": ["A", "A"], "label": ["trajet", "visite 1"], "ordre": [None, 1]},
        geometry=[shapely.LineString([(2.01, 48.81), (2.1, 48.9)]), Point(2.1, 48.9)],
        crs="EPSG:4326",
    )
    places = gpd.GeoDataFrame(
        {"nom": ["Square"], "type": ["parc"]}, geometry=[Point(2.05, 48.85)], crs="EPSG:4326"
    )
    scores = communes[["code", "nom", "geometry"]].assign(score=50.0)
    m = territory_map(dataclasses.replace(layers, routes=routes, places=places, scores=scores))
    by_name = parts(m)
    svg = {"Partenaires", "Tournées", "Lieux d'aller-vers"}
    assert svg < set(by_name) and len(by_name) == 9
    for name, drawn in by_name.items():
        for layer in drawn:
            if name in svg:
                assert (
                    layer.options["pane"] == "territory-points" and "renderer" not in layer.options
                )
            else:
                assert str(layer.options["renderer"]) == CANVAS and "pane" not in layer.options
            circle = str(layer.options.get("point_to_layer", ""))
            if name == "Arrêts de transport":
                assert f"L.circleMarker(latlng, {{renderer: {CANVAS}}})" in circle
            elif name in svg:
                assert 'L.circleMarker(latlng, {pane: "territory-points"})' in circle
    # Drawing order: communes < QPV fill < density < zones blanches < QPV outline < stops
    # < partners < rounds and places (one canvas draws in the order of these ranks).
    rank = {name: [layer.rank for layer in drawn] for name, drawn in by_name.items()}
    assert rank["Communes (grille de densité)"] == rank["Score de priorité"] == [0]
    qpv_fill, qpv_outline = rank["QPV"]
    order = [
        rank["Communes (grille de densité)"][0],
        qpv_fill,
        rank["Densité de contacts (protégée)"][0],
        rank[GAPS_500][0],
        qpv_outline,
        rank["Arrêts de transport"][0],
        rank["Partenaires"][0],
    ]
    assert order == sorted(set(order))
    assert rank["Tournées"] == rank["Lieux d'aller-vers"] == [order[-1] + 1]
    html = m.get_root().render()
    # The renderer exists before any layer; each layer keeps its rank when added again.
    assert html.count("var territoryCanvas = ") == 1
    made = [m.start() for m in LAYER_MADE.finditer(html)]
    assert html.index("var territoryCanvas = ") < made[0]
    assert len(made) == html.count("territoryCanvas.stack(") == 10
    assert ".style.pointerEvents = 'none'" in html.split('"territory-points")', 1)[1][:200]
    assert "url(#" not in html  # no SVG pattern left: the hatches are canvas patterns


def test_hatches_match_the_legend(layers: MapLayers, html: str) -> None:
    """Suppressed zones and zones blanches are hatched on the canvas as in the legend."""
    (density,) = parts(territory_map(layers))["Densité de contacts (protégée)"]
    (gaps,) = parts(territory_map(layers))[
        "Zones blanches (> 500 m d'un arrêt desservi) et zones sans données de transport"
    ]
    assert "fillColor: territoryCanvas.secret" in str(density.options["style"])
    assert "fillColor: territoryCanvas.gaps" in str(gaps.options["style"])
    legend = legend_html(layers)
    assert "background:repeating-linear-gradient(45deg,#757575 0 1.5px,#bdbdbd" in legend
    # zones blanches: violet dots, never the grey lines of the secret zones
    assert "radial-gradient(circle,#4527a0 0 1.3px,transparent 1.6px) 0 0/5px 5px" in legend
    assert "repeating-linear-gradient(45deg,#4527a0" not in legend
    canvas = html[html.index("var territoryCanvas = ") :]
    assert f'secret: hatch(8, "{_rgba("#bdbdbd", 0.55)}", "#757575"' in canvas
    assert f'gaps: dots(8, "{_rgba("#4527a0", 0.6)}", 1.4)' in canvas


def test_stops_sized_by_departures(layers: MapLayers) -> None:
    (layer,) = parts(territory_map(layers))["Arrêts de transport"]
    assert [f["properties"]["departs_jour"] for f in layer.features] == [120, 0, None]
    assert [f["properties"]["code"] for f in layer.features] == ["S1", "S2", "S3"]
    style = str(layer.options["style"])
    assert "Math.sqrt(Math.min(d, 120) / 120)" in style


# --- privacy -------------------------------------------------------------------------------
def test_density_carries_only_protected_columns(layers: MapLayers, html: str) -> None:
    (layer,) = parts(territory_map(layers))["Densité de contacts (protégée)"]
    assert len(layer.features) == 5
    for feature in layer.features:
        assert set(feature["properties"]) <= ALLOWED_DENSITY_KEYS
    assert '"commune":' not in layer.payload
    for secret in ("raw_n", "personne", "hmac-aaaa", "hmac-bbbb"):
        assert secret not in html


def test_suppressed_zones_read_below_k(layers: MapLayers) -> None:
    feats = features(territory_map(layers), "Densité de contacts (protégée)")
    by_zone = {f["properties"]["zone"]: f["properties"] for f in feats}
    suppressed = by_zone["CRS3035RES200mN2886200E3736000"]
    assert suppressed["label"] == "< 11"
    assert suppressed["count"] is None and suppressed["classe"] is None
    assert by_zone["91008"]["label"] == "secret" and by_zone["91008"]["count"] is None
    shown = by_zone["CRS3035RES200mN2886000E3736000"]
    assert (shown["count"], shown["label"], shown["classe"]) == (25, "25", 4)  # 625 / km²
    assert by_zone["91004"]["classe"] == 0  # 0.5 / km²


def test_missing_label_of_a_suppressed_zone_reads_below_k(density) -> None:
    unlabelled = density.assign(label=[None, None, None, None, None])
    feats = features(
        territory_map(MapLayers(density=unlabelled), k=15), "Densité de contacts (protégée)"
    )
    labels = {f["properties"]["zone"]: f["properties"]["label"] for f in feats}
    assert labels["CRS3035RES200mN2886200E3736000"] == "< 15"
    assert labels["CRS3035RES200mN2886000E3736000"] == "25"


def test_coarse_zones_are_drawn_beneath_200m_cells(layers: MapLayers) -> None:
    feats = features(territory_map(layers), "Densité de contacts (protégée)")
    assert [f["properties"]["level"] for f in feats] == [
        "commune",
        "commune",
        "1km",
        "200m",
        "200m",
    ]


@pytest.mark.parametrize(("column", "value"), [("count", 7), ("label", "7")])
def test_unprotected_density_is_refused(density, column: str, value: object) -> None:
    leaky = density.copy()
    leaky.loc[leaky.index[0], column] = value
    with pytest.raises(ValidationError, match="entre 1 et 10"):
        territory_map(MapLayers(density=leaky))


# --- compact grid squares (density layer) --------------------------------------------------
DENSITY = "Densité de contacts (protégée)"
# EPSG:3035 extents: a département (≈ 150 km, Nord) and metropolitan France.
DEPARTEMENT = (3_760_000, 3_910_000, 2_990_000, 3_130_000)
FRANCE = (3_210_000, 4_270_000, 2_040_000, 3_160_000)


def grid_zones(ids: list[str], *, count: int | None = 20) -> gpd.GeoDataFrame:
    """Zones as views.density_layer() draws them: each id's square in EPSG:4326."""
    levels = ["200m" if "RES200m" in i else "1km" for i in ids]
    return gpd.GeoDataFrame(
        {
            "zone": ids,
            "level": levels,
            "count": pd.array([count] * len(ids), dtype="Int64"),
            "label": [str(count) if count else "< 11"] * len(ids),
            "area_km2": [0.04 if level == "200m" else 1.0 for level in levels],
        },
        geometry=cell_polygons(ids).to_crs(4326).to_numpy(),
        crs="EPSG:4326",
    )


def random_ids(extent: tuple[int, int, int, int], n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    west, east, south, north = extent
    out = set()
    for size, label in ((200, "200m"), (1000, "1000m")):
        e = rng.integers(west // size, east // size, n) * size
        nn = rng.integers(south // size, north // size, n) * size
        out |= {f"CRS3035RES{label}N{y}E{x}" for x, y in zip(e, nn, strict=True)}
    return sorted(out)


def density_part(gdf: gpd.GeoDataFrame, **kwargs) -> _GeoJsonLayer:
    (layer,) = parts(territory_map(MapLayers(density=gdf), **kwargs))[DENSITY]
    return layer


def grid_of(layer: _GeoJsonLayer) -> _CompactGrid:
    assert isinstance(layer.data.encoded, _CompactGrid)
    return layer.data.encoded


def corner_error_m(features: list[dict], expected: gpd.GeoDataFrame) -> float:
    """Largest distance (m) between drawn corners and the given squares', zone by zone."""
    by_zone = {f["properties"]["zone"]: f["geometry"]["coordinates"][0] for f in features}
    drawn = np.array([by_zone[z] for z in expected["zone"]], dtype=float)
    given = shapely.get_coordinates(expected.geometry.to_numpy()).reshape(len(expected), 5, 2)
    cos = np.cos(np.radians(given[..., 1]))
    return float((np.hypot((drawn - given)[..., 0] * cos, (drawn - given)[..., 1]) * 111_195).max())


@pytest.mark.parametrize(("extent", "n"), [(DEPARTEMENT, 3000), (FRANCE, 3000)])
def test_grid_squares_are_rebuilt_from_their_ids(extent, n: int) -> None:
    zones = grid_zones(random_ids(extent, n))
    layer = density_part(zones)
    grid = grid_of(layer)
    assert grid.rows and grid.fit is not None
    assert grid.fit.error_m < 1
    # ids are rebuilt in the browser: the prefix is written once, in the program
    assert (layer.payload + layer.data.code).count("CRS3035RES") == 1
    feats = layer.features
    assert sorted(f["properties"]["zone"] for f in feats) == sorted(zones["zone"])
    assert corner_error_m(feats, zones) < 1
    # A few bytes per zone instead of a GeoJSON polygon (≈ 300 bytes).
    assert len(layer.payload) < 40 * len(zones)
    # Levels still stacked: 1 km squares beneath 200 m cells.
    ranks = [{"1km": 1, "200m": 2}[f["properties"]["level"]] for f in feats]
    assert ranks == sorted(ranks)


def test_neighbouring_squares_share_their_corners_exactly() -> None:
    ids = ["CRS3035RES200mN2886000E3736000", "CRS3035RES200mN2886000E3736200"]
    ids += ["CRS3035RES200mN2886200E3736000", "CRS3035RES1000mN2887000E3736000"]
    ids += ["CRS3035RES200mN2886800E3736000"]
    feats = {
        f["properties"]["zone"]: f["geometry"]["coordinates"][0]
        for f in density_part(grid_zones(ids)).features
    }
    west, east, north = feats[ids[0]], feats[ids[1]], feats[ids[2]]
    assert west[0] == east[3] and west[1] == east[2]  # shared east edge
    assert west[1] == north[0] and west[2] == north[3]  # shared north edge
    assert feats[ids[4]][2] == feats[ids[3]][3]  # a 200 m corner on the 1 km cell's corner


def test_properties_of_compact_squares_are_unchanged(density) -> None:
    feats = density_part(density).features
    assert [f["properties"] for f in feats] == [
        {
            "zone": "91004",
            "level": "commune",
            "count": 40,
            "label": "40",
            "area_km2": 80.0,
            "classe": 0,
        },
        {
            "zone": "91008",
            "level": "commune",
            "count": None,
            "label": "secret",
            "area_km2": 80.0,
            "classe": None,
        },
        {
            "zone": "CRS3035RES1000mN2887000E3737000",
            "level": "1km",
            "count": 15,
            "label": "15",
            "area_km2": 1.0,
            "classe": 1,
        },
        {
            "zone": "CRS3035RES200mN2886000E3736000",
            "level": "200m",
            "count": 25,
            "label": "25",
            "area_km2": 0.04,
            "classe": 4,
        },
        {
            "zone": "CRS3035RES200mN2886200E3736000",
            "level": "200m",
            "count": None,
            "label": "< 11",
            "area_km2": 0.04,
            "classe": None,
        },
    ]


def test_other_zones_are_sent_as_given() -> None:
    ids = ["CRS3035RES200mN2886000E3736000", "CRS3035RES200mN2886200E3736000"]
    ids += ["CRS3035RES1000mN2887000E3737000", "CRS3035RES200mN2886400E3736000"]
    zones = grid_zones(ids)
    odd = box(2.010, 48.810, 2.0127, 48.8118)  # not the square its id names
    zones.loc[0, "geometry"] = odd
    zones.loc[1, "zone"] = "CRS3035RES200mN02886200E3736000"  # not written as the browser would
    zones.loc[2, "level"] = "200m"  # a 1 km id at another level
    layer = density_part(zones)
    sent = grid_of(layer).rows
    assert len(sent) == 3  # only the last zone travels as a row
    feats = {f["properties"]["zone"]: f for f in layer.features}
    assert set(feats) == {*zones["zone"]}
    assert shapely.geometry.shape(feats[ids[0]]["geometry"]).equals(odd)
    assert '"CRS3035RES200mN02886200E3736000"' in layer.payload
    assert corner_error_m(list(feats.values()), zones.iloc[1:]) < 1


def test_without_a_good_fit_squares_are_sent_as_coordinates(monkeypatch) -> None:
    zones = grid_zones(random_ids(FRANCE, 200))
    monkeypatch.setattr("territory.map.squares._FIT_DEGREES", range(1, 3))  # too coarse for France
    layer = density_part(zones)
    assert not grid_of(layer).rows and layer.payload.startswith('{"type":"FeatureCollection"')
    assert corner_error_m(layer.features, zones) < 1


def test_privacy_check_runs_on_what_is_sent(monkeypatch, density) -> None:
    from territory.map import squares as maps

    encode = maps._CompactGrid.encode

    def leaky(**kwargs):
        grid = encode(**kwargs)
        leak = [{**e, "count": 3, "label": "3"} for e in grid.table]
        return maps._CompactGrid(grid.explicit, leak, grid.rows, grid.fit, grid.refs)

    monkeypatch.setattr(maps._CompactGrid, "encode", staticmethod(leaky))
    with pytest.raises(ValidationError, match="entre 1 et 10"):
        territory_map(MapLayers(density=density))


def test_page_shows_no_count_under_k() -> None:
    zones = grid_zones(random_ids(DEPARTEMENT, 300))
    zones["count"] = pd.array(np.resize([None, 15, 20, 35, 11, 1200], len(zones)), dtype="Int64")
    zones["label"] = [("< 11" if pd.isna(c) else str(c)) for c in zones["count"]]
    html = territory_map(MapLayers(density=zones)).get_root().render()
    layer = density_part(zones)
    for entry in grid_of(layer).table:
        assert entry["count"] is None or entry["count"] >= 11
        assert entry["label"] == "< 11" or int(entry["label"]) >= 11
    assert {f["properties"]["count"] for f in layer.features} == {None, 15, 20, 35, 11, 1200}
    (table,) = re.findall(r'"P":(\[.*?\}\]),"G":', html)
    assert json.loads(table) == grid_of(layer).table
    # Every count of the page reads "count":n, as the page tests look for them.
    counts = [int(c) for c in re.findall(r'"count":(\d+)', html)]
    assert sorted(set(counts)) == [11, 15, 20, 35, 1200]


NODE = shutil.which("node")


def browser_features(tmp_path: Path, m: folium.Map) -> dict[str, list[dict]]:
    """Run the page's data (decoder and collections, as the page writes them) in node.

    The features of each collection, then those of its grid squares (``squares``, as the
    canvas shape of the squares gives them).
    """
    m.get_root().render()
    data = [c for c in m._children.values() if isinstance(c, (_Collection, _Decoder))]
    names = [c.get_name() for c in data if isinstance(c, _Collection)]
    script = tmp_path / "data.js"
    elements = {c.data_id: c.payload for c in data if isinstance(c, _Collection)}
    script.write_text(
        f"var ELEMENTS = {json.dumps(elements)};\n"
        "var document = {getElementById: function (id) {"
        " return {textContent: ELEMENTS[id]}; }};\n"
        + "\n".join(c._template.module.script(c) for c in data)
        + "\nvar all = function (c) { var s = c.squares, out = c.features.slice();"
        + " for (var i = 0; s && i < s.n; i++) { out.push(s.feature(i)); } return out; };"
        + "\nprocess.stdout.write(JSON.stringify({"
        + ",".join(f"{n}: all({n})" for n in names)
        + "}));",
        encoding="utf-8",
    )
    assert NODE is not None
    out = subprocess.run([NODE, str(script)], capture_output=True, check=True, text=True)
    return json.loads(out.stdout)


@pytest.mark.skipif(NODE is None, reason="node absent : le programme est vérifié dans Chromium")
def test_browser_programs_build_the_same_features(tmp_path: Path, layers: MapLayers) -> None:
    """Every decoder of the page builds in JavaScript what the Python mirror builds.

    The decoders: compact collections, density program with its references to the communes.
    """
    zones = pd.concat([layers.density, grid_zones(random_ids(DEPARTEMENT, 500))])
    routes = gpd.GeoDataFrame(
        {"team": ["A", "A"], "label": ["trajet", "retour"]},
        geometry=[
            shapely.LineString([(2.01, 48.81), (2.05, 48.86), (2.1, 48.9)]),
            shapely.MultiLineString([[(2.1, 48.9), (2.0, 48.8)], [(2.2, 48.9), (2.21, 48.91)]]),
        ],
        crs="EPSG:4326",
    )
    m = territory_map(dataclasses.replace(layers, density=zones, routes=routes))
    kinds = {type(c.encoded) for c in collections(m)}
    assert kinds == {_CompactCollection, _CompactGrid}
    assert any(c.needs is not None for c in collections(m))  # the rests of communes
    built = browser_features(tmp_path, m)
    for data in collections(m):
        got, want = built[data.get_name()], data.features()
        assert [f["properties"] for f in got] == [f["properties"] for f in want]
        for g, w in zip(got, want, strict=True):
            assert g["geometry"]["type"] == w["geometry"]["type"]
            np.testing.assert_allclose(
                shapely.get_coordinates(shapely.geometry.shape(g["geometry"])),
                shapely.get_coordinates(shapely.geometry.shape(w["geometry"])),
                rtol=0,
                atol=1e-9,
            )


def test_legend_explains_secret(layers: MapLayers) -> None:
    legend = legend_html(layers, k=11)
    assert "« &lt; 11 » — moins de 11 personnes : non affiché (secret statistique)" in legend
    assert "« secret » — masqué" in legend
    assert "2\u202f000 ou plus contacts par km²" in legend
    assert URL.findall(legend) == [] and "<script" not in legend


# --- empty layers, bounds ----------------------------------------------------------------------
def test_everything_empty_centres_on_france() -> None:
    empty = gpd.GeoDataFrame({"code": []}, geometry=[], crs="EPSG:4326")
    for layers in (
        MapLayers(),
        MapLayers(
            communes=empty,
            qpv=empty,
            partners=empty,
            stops=empty,
            service_gaps=empty,
            density=gpd.GeoDataFrame(),
        ),
    ):
        m = territory_map(layers)
        html = m.get_root().render()
        assert parts(m) == {}
        assert m.location == [46.6, 2.4]
        assert m.get_bounds() == [[None, None], [None, None]]
        assert "/app/static/leaflet/leaflet.js" in html
        assert "Aucune couche à afficher." in legend_html(layers)


def test_layers_with_only_null_geometries_are_left_out(partners) -> None:
    pending = partners[partners.geometry.isna()]
    m = territory_map(MapLayers(partners=pending))
    assert parts(m) == {}
    assert MapLayers(partners=pending).pending_partners == 1


def test_bounds_match_the_communes(layers: MapLayers, communes) -> None:
    m = territory_map(layers)
    west, south, east, north = communes.total_bounds
    np.testing.assert_allclose(
        np.array(m.get_bounds(), dtype=float), [[south, west], [north, east]], atol=1e-4
    )
    fit = [c for c in m._children.values() if type(c).__name__ == "FitBounds"]
    assert len(fit) == 1
    np.testing.assert_allclose(
        np.array(fit[0].bounds, dtype=float), [[south, west], [north, east]], atol=1e-4
    )
    # The view is set at once, before any layer: Leaflet projects and draws each once.
    html = m.get_root().render()
    assert '"animate": false' in html.split(".fitBounds(", 1)[1][:200]
    assert html.index(".fitBounds(") < LAYER_MADE.search(html).start()


def test_fit_to_other_layers_without_communes(stops) -> None:
    m = territory_map(MapLayers(stops=stops))
    west, south, east, north = stops.total_bounds
    np.testing.assert_allclose(
        np.array(m.get_bounds(), dtype=float), [[south, west], [north, east]], atol=1e-4
    )
    one = territory_map(MapLayers(stops=stops.iloc[:1]))
    (fit,) = [c for c in one._children.values() if type(c).__name__ == "FitBounds"]
    (south, west), (north, east) = fit.bounds
    assert north - south > 0.01 and east - west > 0.01  # never a zero-size box (zoom ∞)


# --- partners -------------------------------------------------------------------------------
def test_partners_without_position_are_skipped_and_counted(layers: MapLayers) -> None:
    feats = features(territory_map(layers), "Partenaires")
    assert [f["properties"]["nom"] for f in feats] == [
        "Mission locale <Essonne> & co",
        "Centre social {{ x }}",
    ]
    assert layers.pending_partners == 1
    assert "1 partenaire à géocoder, non placé sur la carte." in legend_html(layers)


def test_partner_popup_data(layers: MapLayers, html: str) -> None:
    first, second = features(territory_map(layers), "Partenaires")
    assert first["properties"]["horaires"] == "lun.–ven. 9h–12h"  # French rendering
    assert second["properties"]["horaires"] == "Tu 14:00-17:00"  # OSM string as fallback
    assert set(first["properties"]) == {
        "code",
        "nom",
        "type",
        "type_libelle",
        "adresse",
        "horaires",
        "telephone",
    }
    # Text reaches the page escaped: no markup, no Jinja syntax left.
    assert "<Essonne>" not in html and "{{ x }}" not in html
    assert "Mission locale \\u003cEssonne\\u003e \\u0026 co" in html


def test_partner_legend_lists_types_present(layers: MapLayers) -> None:
    legend = legend_html(layers)
    assert "Mission locale" in legend and "Centre social" in legend and "France Travail" in legend
    assert "Prévention" not in legend


# --- clicks ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("returned", "expected"),
    [
        (
            {
                "last_active_drawing": {
                    "type": "Feature",
                    "geometry": {"type": "Polygon"},
                    "properties": {"layer": "communes", "code": "91004", "nom": "X"},
                }
            },
            ("communes", "91004"),
        ),
        (
            {
                "last_active_drawing": {
                    "properties": {"layer": "density", "zone": "91008", "label": "secret"}
                }
            },
            ("density", "91008"),
        ),
        (
            {
                "last_active_drawing": {"properties": {"layer": "qpv", "code": "QN09101M"}},
                "last_object_clicked": {"lat": 48.8, "lng": 2.0},
            },
            ("qpv", "QN09101M"),
        ),
        (
            {"last_active_drawing": {"properties": {"layer": "stops", "code": "S1"}}},
            ("stops", "S1"),
        ),
        (None, None),
        ({}, None),
        ({"last_active_drawing": None}, None),
        ({"last_active_drawing": {"type": "Feature", "properties": None}}, None),
        ({"last_active_drawing": {"properties": {"code": "91004"}}}, None),  # a drawing
        ({"last_active_drawing": {"properties": {"layer": "autre", "code": "1"}}}, None),
        ({"last_active_drawing": {"properties": {"layer": "density", "code": "x"}}}, None),
    ],
)
def test_zone_from_click(returned, expected) -> None:
    assert zone_from_click(returned) == expected


def test_every_clickable_layer_tags_its_features(html: str) -> None:
    assert RETURNED_OBJECTS == ("last_active_drawing",)
    for layer in CLICKABLE_LAYERS:
        if layer != "scores":  # only on the "Où et quand" map: see the test below
            assert f'feature.properties.layer = "{layer}"' in html


def test_scores_are_a_clickable_choropleth_with_its_legend(communes) -> None:
    scores = communes[["code", "nom", "geometry"]].assign(
        rang=range(1, len(communes) + 1),
        score=np.linspace(95, 5, len(communes)),
        pourquoi="peu de contacts depuis 3 mois",
    )
    layers = MapLayers(scores=scores)
    html = territory_map(layers).get_root().render()
    assert 'feature.properties.layer = "scores"' in html and "peu de contacts" in html
    assert "Score de priorité" in legend_html(layers)
    click = {"last_active_drawing": {"properties": {"layer": "scores", "code": "00001"}}}
    assert zone_from_click(click) == ("scores", "00001")


# --- compact collections: integer coordinates, shared borders, fallbacks -------------------
QUANTUM = 1e-5  # precision 5
FRAME = box(2.0, 48.6, 2.6, 49.0)


@pytest.fixture(scope="module")
def coverage() -> gpd.GeoDataFrame:
    """About 120 Voronoi communes with wiggly borders sharing every vertex.

    With an enclave (a commune inside another, the hole of its host) and a commune in two
    parts.
    """
    rng = np.random.default_rng(7)
    seeds = shapely.points(np.c_[rng.uniform(2.0, 2.6, 120), rng.uniform(48.6, 49.0, 120)])
    cells = shapely.intersection(
        shapely.get_parts(
            shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=FRAME, ordered=True)
        ),
        FRAME,
    )
    # The enclave: a small disc around the seed farthest from its cell's border.
    room = shapely.distance(seeds, shapely.boundary(cells))
    enclave = seeds[np.argmax(room)].buffer(room.max() / 3, quad_segs=4)
    # Borders noded once and densified once: neighbours have the very same vertices.
    lines = shapely.union_all([*shapely.boundary(cells), enclave.boundary])
    faces = shapely.get_parts(
        shapely.polygonize(shapely.get_parts(shapely.segmentize(lines, 0.002)))
    )

    def wiggle(xy: np.ndarray) -> np.ndarray:
        return xy + 0.0005 * np.c_[np.sin(xy[:, 1] * 300), np.cos(xy[:, 0] * 300)]

    faces = list(shapely.transform(faces, wiggle))
    # Two faces far apart make one commune in two parts.
    far = int(np.argmax([f.centroid.distance(faces[0].centroid) for f in faces]))
    faces[0] = shapely.union(faces[0], faces.pop(far))
    assert faces[0].geom_type == "MultiPolygon" and shapely.coverage_is_valid(np.array(faces))
    codes = [f"91{i:03d}" for i in range(len(faces))]
    return gpd.GeoDataFrame({"code": codes, "nom": codes}, geometry=faces, crs="EPSG:4326")


def drawn_shapes(layer: _GeoJsonLayer) -> np.ndarray:
    return np.array([shapely.geometry.shape(f["geometry"]) for f in layer.features])


def test_shared_borders_stay_shared_after_simplification(coverage) -> None:
    tolerance = 0.001
    (layer,) = parts(territory_map(MapLayers(communes=coverage), tolerance=tolerance))[NAMES[0]]
    encoded = layer.data.encoded
    assert isinstance(encoded, _CompactCollection)
    drawn = drawn_shapes(layer)
    source = coverage.geometry.to_numpy()
    assert [g.geom_type for g in drawn] == [g.geom_type for g in source]
    assert shapely.get_num_coordinates(drawn).sum() < shapely.get_num_coordinates(source).sum() / 3
    # Still a coverage: no overlap, neighbours' borders are the same points…
    assert shapely.coverage_is_valid(drawn)
    # …no gap opened between them (the union is the frame, without holes)…
    union = shapely.coverage_union_all(drawn)
    assert union.geom_type == "Polygon" and not union.interiors
    assert union.area == pytest.approx(FRAME.area, rel=1e-4)
    # …and each drawn commune is its simplified shape, within the rounding (these smooth
    # borders move by less than the tolerance; Visvalingam-Whyatt's tolerance bounds
    # the area of what is removed, about tolerance², not the distance).
    simplified = shapely.coverage_simplify(source, tolerance)
    assert (shapely.hausdorff_distance(drawn, simplified) <= QUANTUM).all()
    assert (shapely.hausdorff_distance(drawn, source) <= tolerance + QUANTUM).all()
    # Every inner border travels once: a shared arc is referenced by its two rings.
    refs = [r for f in encoded.geometries for ring in _rings_of(f) for r in ring]
    used = np.bincount([r if r >= 0 else ~r for r in refs])
    assert set(used) == {1, 2} and (used == 2).sum() > len(coverage)
    # Each point travels once, but for the ends of arcs.
    sent = sum(len(a) for a in encoded.arcs) // 2
    distinct = len(np.unique(shapely.get_coordinates(drawn), axis=0))
    assert sent <= distinct + 2 * len(encoded.arcs)
    assert sent < 0.7 * shapely.get_num_coordinates(drawn).sum()


def _rings_of(geometry: list) -> list[list[int]]:
    """The rings (arc references) of a compact polygon or multipolygon."""
    return geometry if isinstance(geometry[0][0], int) else [r for p in geometry for r in p]


def test_an_enclave_and_its_hole_are_one_arc(coverage) -> None:
    (layer,) = parts(territory_map(MapLayers(communes=coverage)))[NAMES[0]]
    encoded = layer.data.encoded
    drawn = drawn_shapes(layer)
    (host,) = [i for i, g in enumerate(drawn) if g.geom_type == "Polygon" and g.interiors]
    hole = shapely.Polygon(drawn[host].interiors[0])
    inner = int(np.argmin(shapely.hausdorff_distance(drawn, hole)))  # the enclave
    ((arc,),) = encoded.geometries[inner]  # one ring, one arc: no junction on it
    _, (hole_arc,) = encoded.geometries[host]
    assert {arc, ~arc} & {hole_arc}  # the same arc (in whichever direction each ring runs)
    assert drawn[inner].equals(hole)


def test_communes_payload_is_less_than_half_the_geojson(coverage) -> None:
    (layer,) = parts(territory_map(MapLayers(communes=coverage)))[NAMES[0]]
    plain = json.dumps({"type": "FeatureCollection", "features": layer.features})
    assert len(layer.payload) < len(plain) / 2


@pytest.mark.real_data
def test_real_communes_keep_their_shared_borders() -> None:
    """648 communes of the Nord (IGN, simplified by mapshaper): borders, enclaves.

    The file is already simplified about as much as the default: a coarser tolerance.
    """
    communes = gpd.read_file(shared_file("communes-59-nord.geojson"))
    m = territory_map(MapLayers(communes=communes), tolerance=0.001)
    (layer,) = parts(m)[NAMES[0]]
    drawn = drawn_shapes(layer)
    given = communes.geometry.to_numpy()
    assert shapely.get_num_coordinates(drawn).sum() < shapely.get_num_coordinates(given).sum()
    assert shapely.coverage_is_valid(drawn)
    # What is drawn is the simplified coverage, within the rounding.
    simplified = shapely.coverage_simplify(given, 0.001)
    assert (shapely.hausdorff_distance(drawn, simplified) <= QUANTUM).all()
    union = shapely.coverage_union_all(drawn)
    expected = shapely.coverage_union_all(communes.geometry.to_numpy())
    assert shapely.get_num_interior_rings(shapely.get_parts(union)).sum() == (
        shapely.get_num_interior_rings(shapely.get_parts(expected)).sum()
    )


def test_points_round_trip_within_half_a_unit(layers: MapLayers) -> None:
    m = territory_map(layers)
    for name, given in [("Arrêts de transport", layers.stops), ("Partenaires", layers.partners)]:
        (layer,) = parts(m)[name]
        assert isinstance(layer.data.encoded, _CompactCollection)
        drawn = np.array([f["geometry"]["coordinates"] for f in layer.features])
        placed = given[given.geometry.notna()]
        assert np.abs(drawn - shapely.get_coordinates(placed.geometry)).max() <= QUANTUM / 2


def test_lines_round_trip_and_mixed_kinds_fall_back_to_geojson() -> None:
    lines = [
        shapely.LineString([(2.012344, 48.81), (2.05, 48.86), (2.1, 48.9)]),
        shapely.MultiLineString([[(2.1, 48.9), (2.0, 48.8)], [(2.2, 48.9), (2.21, 48.91)]]),
    ]
    routes = gpd.GeoDataFrame(
        {"team": ["A", "B"], "label": ["aller", "retour"]}, geometry=lines, crs="EPSG:4326"
    )
    (layer,) = parts(territory_map(MapLayers(routes=routes)))["Tournées"]
    assert isinstance(layer.data.encoded, _CompactCollection)
    drawn = drawn_shapes(layer)
    assert [g.geom_type for g in drawn] == ["LineString", "MultiLineString"]
    assert (shapely.hausdorff_distance(drawn, np.array(lines)) <= QUANTUM).all()
    # Rounds as lines and their visits as points in one layer: plain GeoJSON.
    visits = gpd.GeoDataFrame(
        {"team": ["A"], "label": ["visite"], "ordre": [1]},
        geometry=[shapely.Point(2.05, 48.86)],
        crs="EPSG:4326",
    )
    mixed = pd.concat([routes, visits], ignore_index=True)
    (layer,) = parts(territory_map(MapLayers(routes=mixed)))["Tournées"]
    assert isinstance(layer.data.encoded, _PlainCollection)
    assert layer.payload.startswith('{"type":"FeatureCollection"')
    assert [f["geometry"]["type"] for f in layer.features] == [
        "LineString",
        "MultiLineString",
        "Point",
    ]


def test_qpv_outline_draws_the_fill_features(layers: MapLayers, html: str) -> None:
    fill, outline = parts(territory_map(layers))["QPV"]
    assert outline.data is fill.data  # sent once, drawn twice
    assert html.count('"nom":"Les Tilleuls"') == 1


def test_rest_of_a_commune_is_drawn_from_the_commune_shape(layers: MapLayers) -> None:
    m = territory_map(layers)
    (communes,) = parts(m)[NAMES[0]]
    (density,) = parts(m)[DENSITY]
    grid = grid_of(density)
    assert density.data.needs is communes.data
    assert len(grid.refs) == 2  # one zone: [table index, commune index]
    shapes = {f["properties"]["code"]: f["geometry"] for f in communes.features}
    zones = {f["properties"]["zone"]: f for f in density.features}
    assert zones["91004"]["geometry"] == shapes["91004"]  # the very shape drawn beneath
    assert zones["91004"]["properties"] == {
        "zone": "91004",
        "level": "commune",
        "count": 40,
        "label": "40",
        "area_km2": 80.0,
        "classe": 0,
    }
    assert '"91004"' not in density.payload  # its id comes from the communes too
    # The rest of 91008 has its own shape: sent as given.
    assert '"zone":"91008"' in density.payload
    assert zones["91008"]["geometry"] != shapes["91008"]


def test_rest_of_a_commune_not_drawn_is_sent_as_given(layers: MapLayers, communes) -> None:
    others = communes[communes["code"] != "91004"]
    m = territory_map(dataclasses.replace(layers, communes=others))
    (density,) = parts(m)[DENSITY]
    assert density.data.needs is None and not grid_of(density).refs
    zones = {f["properties"]["zone"]: f for f in density.features}
    given = layers.density.set_index("zone").geometry["91004"]
    assert shapely.geometry.shape(zones["91004"]["geometry"]).equals(given)


# --- geometry -------------------------------------------------------------------------------
def test_communes_simplified_without_gaps(communes) -> None:
    m = territory_map(MapLayers(communes=communes), tolerance=0.001)
    (layer,) = parts(m)[NAMES[0]]
    shapes = np.array([shapely.geometry.shape(f["geometry"]) for f in layer.features])
    assert (
        shapely.get_num_coordinates(shapes).sum()
        < shapely.get_num_coordinates(communes.geometry.values).sum() / 4
    )
    union = shapely.union_all(shapes)
    assert union.area == pytest.approx(shapely.union_all(communes.geometry.values).area, rel=1e-6)
    assert sum(s.area for s in shapes) == pytest.approx(union.area, rel=1e-6)  # no overlap


@pytest.mark.parametrize("precision", [3, 5, 6])
def test_coordinates_are_rounded(communes, precision: int) -> None:
    jittered = communes.copy()  # coordinates with 15+ significant digits
    jittered.geometry = shapely.transform(
        communes.geometry.values, lambda xy: xy + 1e-9 * np.sin(xy * 1000) + 1 / 3 * 1e-7
    )
    layer = parts(territory_map(MapLayers(communes=jittered), precision=precision))[NAMES[0]][0]
    # Sent as integers in units of 10**-precision degrees…
    assert f'"s":{10**precision},' in layer.payload
    geometry = layer.payload[layer.payload.index('"a":') :]
    assert re.fullmatch(r'"a":[-0-9,\[\]]+,"g":[-0-9,\[\]]+\}', geometry)
    # …which the browser turns back into numbers of at most `precision` decimals.
    coordinates = np.concatenate(
        [shapely.get_coordinates(shapely.geometry.shape(f["geometry"])) for f in layer.features]
    )
    decimals = [len(repr(float(v)).split(".")[1]) for v in coordinates.ravel()]
    assert max(decimals) <= precision


def test_other_crs_is_converted_with_a_warning(communes) -> None:
    lambert = communes.to_crs(2154)
    with pytest.warns(UserWarning, match="convertie en EPSG:4326"):
        m = territory_map(MapLayers(communes=lambert))
    west, south, east, north = communes.total_bounds
    np.testing.assert_allclose(
        np.array(m.get_bounds(), dtype=float), [[south, west], [north, east]], atol=1e-4
    )


def test_projected_coordinates_without_crs_are_refused(communes) -> None:
    unknown = communes.to_crs(2154).set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="EPSG:4326"):
        territory_map(MapLayers(communes=unknown))


def test_missing_identifying_column_is_reported(communes, density) -> None:
    with pytest.raises(ValidationError) as error:
        territory_map(
            MapLayers(
                communes=communes.drop(columns="code"), density=density.drop(columns=["label"])
            )
        )
    assert "communes" in str(error.value) and "code" in str(error.value)


def test_no_warning_on_workspace_layers(layers: MapLayers) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        territory_map(layers, legend=True).get_root().render()


# --- real browser ------------------------------------------------------------------------------
CHROMIUM = chromium_path()


@contextlib.contextmanager
def map_in_chromium(
    tmp_path: Path, layers: MapLayers, *, legend: bool = False
) -> Iterator[tuple[Any, list[str]]]:
    """The map of ``layers`` as a local HTML file, open in headless Chromium.

    Once its canvas is there, yields the page and the list where page errors and any request
    leaving the machine are recorded.
    """
    if CHROMIUM is None:
        pytest.skip("Chromium absent (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    page_file = tmp_path / "carte.html"
    m = territory_map(layers, asset_base=(ROOT / "static").as_uri(), legend=legend)
    page_file.write_text(m.get_root().render(), encoding="utf-8")
    args = [*CHROMIUM_ARGS, "--allow-file-access-from-files"]
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 800})
            problems: list[str] = []
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on(
                "request",
                lambda r: None if r.url.startswith(("file:", "data:")) else problems.append(r.url),
            )
            page.goto(page_file.as_uri())
            page.wait_for_selector(".leaflet-overlay-pane canvas", timeout=30_000)
            # Every layer on, as a user does it (the transit layers open switched off):
            # the folded control opened by the mouse, each box ticked.
            page.locator(".leaflet-control-layers").hover()
            boxes = page.locator(".leaflet-control-layers-overlays input")
            for i in range(boxes.count()):
                boxes.nth(i).check()
            page.mouse.move(1, 799)  # off the control: it folds again
            yield page, problems
        finally:
            browser.close()


@pytest.mark.browser
def test_map_draws_offline_in_chromium(tmp_path: Path, layers: MapLayers) -> None:
    """Leaflet from local files only: no request leaves the machine, tooltips in French."""
    with map_in_chromium(tmp_path, layers, legend=True) as (page, problems):
        state = page.evaluate(
            """() => {
            const map = Object.values(window).find(v => v instanceof L.Map);
            const out = {fills: {}, secret: null, tips: {}, popup: null, layers: {},
                         clicked: {}, drawn: {}, shapes: 0, loose: 0};
            // Every feature as the mouse finds it: a feature's own layer, or a shape of
            // the canvas hit-tested at the centre of each of its features' boxes (it
            // then stands for that feature).
            const shapes = (group, f) => group.eachLayer(l => {
                if (l instanceof territoryCanvas.Shapes) {
                    for (let i = 0; i < l._data.n; i++) {
                        const b = l._box.slice(4 * i, 4 * i + 4);
                        l._containsPoint(L.point((b[0] + b[2]) / 2, (b[1] + b[3]) / 2));
                        if (l._at === i) { f(l); }
                    }
                } else if (l.feature) { f(l); }
            });
            // Points of the shapes projected as Leaflet projects them, to the bit.
            out.projected = [0, 0];
            map.eachLayer(l => {
                if (l instanceof territoryCanvas.Shapes) {
                    const ll = l._data.lonlat, P = map.options.crs.projection;
                    for (let i = 0; i < ll.length; i += 2) {
                        const q = P.project(L.latLng(ll[i + 1], ll[i]));
                        out.projected[+(q.x === l._m[i] && q.y === l._m[i + 1])]++;
                    }
                }
            });
            map.eachLayer(l => {
                out.shapes += l instanceof territoryCanvas.Shapes;
                out.loose += l._renderer === territoryCanvas.renderer
                    && !(l instanceof territoryCanvas.Shapes);
            });
            shapes(map, l => {
                const p = l.feature.properties;
                if (p.layer && !l.options.edge) {  // not the QPV outline
                    out.layers[p.layer] = (out.layers[p.layer] || 0) + 1;
                }
                const on = l._renderer === territoryCanvas.renderer ? "canvas"
                    : (l._renderer instanceof L.SVG ? "svg" : "?");
                out.drawn[p.layer || "zones blanches"] = on;
                if (p.layer === "communes") {
                    out.fills[p.code] = l.options.style(l.feature).fillColor;
                }
                if (p.layer === "density" && p.count === null && p.label === "< 11") {
                    out.secret = l.options.style(l.feature).fillColor instanceof CanvasPattern;
                }
                if (p.layer === "density") {  // what st_folium returns on a click
                    out.clicked[p.zone] = l.toGeoJSON();
                }
            });
            map.eachLayer(l => {
                if (l.getTooltip && l.getTooltip() && l.feature === undefined) {
                    shapes(l, f => {
                        const p = f.feature.properties;
                        out.tips[p.layer + ":" + (p.code || p.zone)] =
                            l.getTooltip().getContent()(f).innerText;
                    });
                }
            });
            map.eachLayer(l => {
                if (l.feature && l.feature.properties.layer === "partners" && !out.popup) {
                    l.fire("click", {latlng: l.getLatLng()}, true);
                    out.popup = document.querySelector(".leaflet-popup-content").innerText;
                }
            });
            out.overlays = document.querySelector(".leaflet-control-layers-overlays").innerText;
            return out;
        }"""
        )
    assert problems == []
    # One shape per canvas layer (QPV fill and outline: 2; density: rests, then squares),
    # no feature of the canvas as a Leaflet object of its own.
    assert (state["shapes"], state["loose"]) == (7, 0)
    assert state["projected"][0] == 0 and state["projected"][1] > 100
    assert state["layers"] == {"communes": 9, "qpv": 2, "density": 5, "stops": 3, "partners": 2}
    for code, level in [("91000", 1), ("91001", 4), ("91002", 6)]:
        assert state["fills"][code] == DENSITY_LEVEL_COLOURS[level - 1]
    assert state["fills"]["91008"] == "#d9d9d9"  # no class: neutral grey
    assert state["secret"] is True  # a hatch pattern (see test_canvas_draws_hatches…)
    assert state["drawn"] == {
        "communes": "canvas",
        "qpv": "canvas",
        "density": "canvas",
        "zones blanches": "canvas",
        "stops": "canvas",
        "partners": "svg",
    }
    assert state["tips"]["communes:91000"] == (
        "Commune 91000 (91000)\nPopulation : 1\u202f200\nDensité : Très dense (fichier)"
    )
    assert state["tips"]["density:CRS3035RES200mN2886200E3736000"] == (
        "< 11 contacts\ncarreau 200 m\nnon affiché (secret statistique)"
    )
    assert state["tips"]["density:CRS3035RES200mN2886000E3736000"] == (
        "25 contacts\ncarreau 200 m\nsoit 625 contacts par km²"
    )
    assert state["tips"]["density:91004"].startswith("40 contacts\nreste de la commune")
    unknown = "horaires inconnus (flux sans horaires) : non compté comme desservi"
    assert state["tips"]["stops:S3"] == f"Hameau\n{unknown}"
    for zone, clicked in state["clicked"].items():  # squares rebuilt in the browser too
        assert zone_from_click({"last_active_drawing": clicked}) == ("density", zone)
    assert set(state["clicked"]) == set(layers.density["zone"])
    grid = layers.density[layers.density["level"] != "commune"]
    assert corner_error_m([state["clicked"][z] for z in grid["zone"]], grid) < 1
    assert state["tips"]["qpv:QP091001"] == "Le Bourg\nQPV QP091001 — génération 2015"
    assert state["popup"].startswith("Mission locale <Essonne> & co\nMission locale\n1 rue A")
    assert "Horaires\nlun.–ven. 9h–12h" in state["popup"]
    for name in NAMES:
        assert name in state["overlays"]


# Where each kind of shape sits in the canvas' drawing list (runs of one kind), as Leaflet
# draws them: first to last.
DRAWING_ORDER_JS = """() => {
    const runs = [];
    for (let o = territoryCanvas.renderer._drawFirst; o; o = o.next) {
        const l = o.layer, f = l._data.feature(0), p = f.properties;
        if (l.options.onEachFeature) { l.options.onEachFeature(f, l); }  // the tag
        const kind = l._data.table ? "density squares"
            : (p.layer === undefined ? "zones blanches"
               : (l.options.edge ? p.layer + " (contour)" : p.layer));
        if (runs[runs.length - 1] !== kind) { runs.push(kind); }
    }
    return runs;
}"""
EXPECTED_ORDER = [
    "communes",
    "qpv",
    "density",  # the rests of communes, then the grid squares above them
    "density squares",
    "zones blanches",
    "qpv (contour)",
    "stops",
]
# The centre of a shape (a feature's layer or a grid square), in pixels of the page,
# after centring the map on it.
CENTRE_JS = """([kind, key, zoom]) => {
    const map = Object.values(window).find(v => v instanceof L.Map);
    let found = null;
    map.eachLayer(l => {
        for (let i = 0; l instanceof territoryCanvas.Shapes && i < l._data.n; i++) {
            const f = l._data.feature(i), p = f.properties;
            if (l.options.onEachFeature) { l.options.onEachFeature(f, l); }  // the tag
            if (p.layer === kind && (p.code === key || p.zone === key)) { found = L.geoJSON(f); }
        }
    });
    map.setView(found.getBounds().getCenter(), zoom, {animate: false});
    const c = map.latLngToContainerPoint(found.getBounds().getCenter());
    const box = map.getContainer().getBoundingClientRect();
    return {x: box.left + c.x, y: box.top + c.y};
}"""


def colour_spread(png: bytes) -> float:
    """Largest standard deviation of a colour channel of a screenshot (0: plain colour)."""
    from io import BytesIO

    from PIL import Image

    pixels = np.asarray(Image.open(BytesIO(png)).convert("RGB"), dtype=float)
    return float(pixels.reshape(-1, 3).std(axis=0).max())


@pytest.mark.browser
def test_canvas_mouse_hatches_and_order_in_chromium(tmp_path: Path, layers: MapLayers) -> None:
    """With a real mouse on the one canvas: clicks, tooltips, hatches and drawing order.

    A zone blanche does not hide the commune beneath it (click reaches the commune and the
    map, as st_folium needs), hovering a suppressed zone shows its tooltip, suppressed zones
    are hatched, and switching layers off and on in the layer control keeps the drawing
    order.
    """
    with map_in_chromium(tmp_path, layers) as (page, problems):
        # What st_folium listens to: clicks on the layers and on the map.
        page.evaluate(
            """() => {
            const map = Object.values(window).find(v => v instanceof L.Map);
            window.heard = [];
            map.on("click", e => window.heard.push("map"));
            map.eachLayer(l => { if (l instanceof L.GeoJSON) {
                l.on("click", e => window.heard.push(e.layer.feature.properties.code));
            } });
        }"""
        )
        order_at_load = page.evaluate(DRAWING_ORDER_JS)
        # Commune 91006 lies under the (non-interactive, hatched) zone blanche.
        at = page.evaluate(CENTRE_JS, ["communes", "91006", 12])
        page.mouse.move(at["x"], at["y"])
        page.mouse.move(at["x"] + 2, at["y"] + 2)
        commune_tip = page.locator(".leaflet-tooltip").inner_text(timeout=5_000)
        page.mouse.click(at["x"], at["y"])
        heard = page.evaluate("window.heard")
        page.locator(".leaflet-control-layers").hover()  # off the canvas: tooltip closes
        page.locator(".leaflet-tooltip").wait_for(state="detached", timeout=5_000)
        # A suppressed 200 m square and its published neighbour, at street level.
        at = page.evaluate(CENTRE_JS, ["density", "CRS3035RES200mN2886200E3736000", 16])
        page.mouse.move(at["x"], at["y"])
        page.mouse.move(at["x"] + 2, at["y"] + 2)
        density_tip = page.locator(".leaflet-tooltip").inner_text(timeout=5_000)
        page.locator(".leaflet-control-layers").hover()  # no hover outline in the picture
        page.wait_for_timeout(300)
        clip = {"x": at["x"] - 20, "y": at["y"] - 20, "width": 40, "height": 40}
        secret = colour_spread(page.screenshot(clip=clip, path=tmp_path / "secret.png"))
        at = page.evaluate(CENTRE_JS, ["density", "CRS3035RES200mN2886000E3736000", 16])
        page.wait_for_timeout(300)
        clip = {"x": at["x"] - 20, "y": at["y"] - 20, "width": 40, "height": 40}
        published = colour_spread(page.screenshot(clip=clip, path=tmp_path / "shown.png"))
        orders = {}
        for name in ("Communes", "QPV", "Densité de contacts", "Arrêts"):
            page.locator(".leaflet-control-layers").hover()  # the folded control opens
            box = page.locator(".leaflet-control-layers-overlays label", has_text=name)
            box.locator("input").click()
            box.locator("input").click()
            orders[name] = page.evaluate(DRAWING_ORDER_JS)
    assert problems == []
    assert order_at_load == EXPECTED_ORDER
    assert orders == dict.fromkeys(orders, EXPECTED_ORDER)
    assert commune_tip.startswith("Commune 91006 (91006)")
    assert heard == ["91006", "map"]  # last_active_drawing, then last_clicked
    assert density_tip == "< 11 contacts\ncarreau 200 m\nnon affiché (secret statistique)"
    assert secret > 10 and published < 1, (secret, published)  # hatched, plain


# Where a grid square's centre is, in pixels of the page (the map does not move).
SQUARE_AT_JS = """(key) => {
    const map = Object.values(window).find(v => v instanceof L.Map);
    let found = null;
    map.eachLayer(l => {
        for (let i = 0; l instanceof territoryCanvas.Shapes && i < l._data.n; i++) {
            const f = l._data.feature(i);
            if (f.properties.zone === key) { found = L.geoJSON(f).getBounds(); }
        }
    });
    const c = map.latLngToContainerPoint(found.getCenter());
    const box = map.getContainer().getBoundingClientRect();
    return {x: box.left + c.x, y: box.top + c.y};
}"""


RECORD_CLICKS_JS = """() => {
    const map = Object.values(window).find(v => v instanceof L.Map);
    window.drawings = [];
    map.eachLayer(l => { if (l instanceof L.GeoJSON) {
        l.on("click", e => window.drawings.push(e.layer.toGeoJSON()));
    } });
}"""
"""st_folium's handler on the layers, recording: last_active_drawing = e.layer.toGeoJSON()."""


def hover_tooltip(page: Any, at: dict) -> str:
    """Move the real mouse onto ``at`` (page pixels) and read the tooltip shown there."""
    page.mouse.move(at["x"], at["y"], steps=4)
    page.wait_for_timeout(100)  # past Leaflet's 32 ms hover throttle
    page.mouse.move(at["x"] + 1, at["y"] + 1)
    page.wait_for_timeout(300)  # tooltips closed on the way fade out in 200 ms
    return page.locator(".leaflet-tooltip").inner_text(timeout=5_000)


@pytest.mark.browser
def test_grid_squares_follow_the_mouse_in_chromium(tmp_path: Path, layers: MapLayers) -> None:
    """The grid squares are one canvas shape, yet the mouse meets each square.

    Passing from a suppressed square to its published neighbour changes the tooltip and
    moves the hover outline (drawn, then wiped when the mouse leaves), and a click gives
    st_folium the square under the mouse (``last_active_drawing``).
    """
    suppressed, published = "CRS3035RES200mN2886200E3736000", "CRS3035RES200mN2886000E3736000"
    with map_in_chromium(tmp_path, layers) as (page, problems):
        page.evaluate(RECORD_CLICKS_JS)
        page.evaluate(CENTRE_JS, ["density", suppressed, 16])
        first = page.evaluate(SQUARE_AT_JS, suppressed)
        second = page.evaluate(SQUARE_AT_JS, published)
        clip = {"x": second["x"] - 70, "y": second["y"] - 70, "width": 140, "height": 140}
        page.wait_for_timeout(300)
        before = page.screenshot(clip=clip)

        tips = [hover_tooltip(page, first), hover_tooltip(page, second)]
        page.wait_for_timeout(300)
        outlined = page.screenshot(clip=clip)
        page.mouse.click(second["x"], second["y"])
        drawings = page.evaluate("window.drawings")
        page.locator(".leaflet-control-layers").hover()  # off the canvas
        page.locator(".leaflet-tooltip").wait_for(state="detached", timeout=5_000)
        page.wait_for_timeout(300)
        after = page.screenshot(clip=clip)
    assert problems == []
    assert tips == [
        "< 11 contacts\ncarreau 200 m\nnon affiché (secret statistique)",
        "25 contacts\ncarreau 200 m\nsoit 625 contacts par km²",
    ]
    assert [zone_from_click({"last_active_drawing": d}) for d in drawings] == [
        ("density", published)
    ]
    assert corner_error_m(drawings, layers.density[layers.density["zone"] == published]) < 1

    def pixels(png: bytes) -> np.ndarray:
        from io import BytesIO

        from PIL import Image

        return np.asarray(Image.open(BytesIO(png)).convert("RGB"), dtype=float)

    assert np.abs(pixels(outlined) - pixels(before)).max() > 100  # the dark outline
    assert np.abs(pixels(after) - pixels(before)).max() < 3  # wiped when the mouse left


# The topmost shape of the canvas the mouse meets at a point of the page, and its feature.
HIT_AT_JS = """([x, y]) => {
    const map = Object.values(window).find(v => v instanceof L.Map);
    const box = map.getContainer().getBoundingClientRect();
    const point = map.containerPointToLayerPoint([x - box.left, y - box.top]);
    let hit = null;
    for (let o = territoryCanvas.renderer._drawFirst; o; o = o.next) {
        if (o.layer.options.interactive && o.layer._containsPoint(point)) { hit = o.layer; }
    }
    return hit && hit.feature.properties;
}"""


@pytest.mark.browser
def test_communes_follow_the_mouse_in_chromium(tmp_path: Path) -> None:
    """The communes are one canvas shape, yet the mouse meets each commune.

    Passing to the neighbour changes the tooltip, a click gives st_folium that commune, the
    hole of a commune is not a hit (what is in it is), and a layer switched off is not hit.
    """
    ring = box(2.0, 48.0, 2.3, 48.3).difference(box(2.1, 48.1, 2.2, 48.2))
    communes = gpd.GeoDataFrame(
        {"code": ["91001", "91002", "91003"], "nom": ["Anneau", "Voisine", "Enclave"]},
        geometry=[ring, box(2.3, 48.0, 2.6, 48.3), box(2.12, 48.12, 2.18, 48.18)],
        crs="EPSG:4326",
    )
    with map_in_chromium(tmp_path, MapLayers(communes=communes)) as (page, problems):
        page.evaluate(RECORD_CLICKS_JS)
        neighbour_at = page.evaluate(CENTRE_JS, ["communes", "91002", 10])
        # The same view for every point: the map is centred on 91002 at zoom 10.
        to_page = page.evaluate(
            """(points) => {
            const map = Object.values(window).find(v => v instanceof L.Map);
            const box = map.getContainer().getBoundingClientRect();
            return points.map(p => { const c = map.latLngToContainerPoint([p[1], p[0]]);
                                     return {x: box.left + c.x, y: box.top + c.y}; });
        }""",
            [[2.05, 48.15], [2.15, 48.15], [2.11, 48.11]],
        )
        ring_at, enclave_at, hole_at = to_page

        tips = [hover_tooltip(page, p) for p in (ring_at, neighbour_at, enclave_at)]
        page.mouse.click(neighbour_at["x"], neighbour_at["y"])
        drawings = page.evaluate("window.drawings")
        hits = [page.evaluate(HIT_AT_JS, [p["x"], p["y"]]) for p in (hole_at, enclave_at)]
        page.locator(".leaflet-control-layers").hover()  # the folded control opens
        box_ = page.locator(".leaflet-control-layers-overlays label", has_text="Communes")
        box_.locator("input").click()  # switched off
        off = page.evaluate(HIT_AT_JS, [ring_at["x"], ring_at["y"]])
    assert problems == []
    assert [t.split("\n")[0] for t in tips] == [
        "Anneau (91001)",
        "Voisine (91002)",
        "Enclave (91003)",
    ]
    assert [zone_from_click({"last_active_drawing": d}) for d in drawings] == [
        ("communes", "91002")
    ]
    assert hits == [
        None,
        {
            "code": "91003",
            "nom": "Enclave",
            "population": None,
            "densite": None,
            "layer": "communes",
        },
    ]
    assert off is None
