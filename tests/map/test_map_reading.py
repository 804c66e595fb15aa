"""A map read at a glance: folded layer control, layers off at first, names, thinned stops.

The browser side (names placed without piles, stops thinned, the view kept) is checked in
``tests/ui/test_browser_map_reading.py``; here, what the page is given.
"""

from __future__ import annotations

import folium
import geopandas as gpd
import pytest
import shapely
from jinja2.utils import htmlsafe_json_dumps
from shapely.geometry import Point, Polygon, box

from territory.map import MapLayers, legend_html
from territory.map.build import territory_map
from territory.map.elements import _KeptView, _Labels
from territory.map.styles import COMMUNE_LABEL_TIERS, QPV_LABEL_ZOOM

# A U-shaped commune: its centroid falls in the gap between the arms, outside it.
U_SHAPE = Polygon([(2.0, 48.0), (2.3, 48.0), (2.3, 48.3), (2.2, 48.3), (2.2, 48.1),
                   (2.1, 48.1), (2.1, 48.3), (2.0, 48.3)])  # fmt: skip


@pytest.fixture(scope="module")
def layers() -> MapLayers:
    communes = gpd.GeoDataFrame(
        {
            "code": ["91001", "91002", "91003"],
            "nom": ["Grande-Ville", "Fer-à-Cheval", None],
            "population": [52_000, 800, 300],
        },
        geometry=[box(2.3, 48.0, 2.6, 48.3), U_SHAPE, box(2.6, 48.0, 2.9, 48.3)],
        crs="EPSG:4326",
    )
    qpv = gpd.GeoDataFrame(
        {"code": ["QN09101M"], "nom": ["Les Tilleuls"], "generation": [2024]},
        geometry=[box(2.35, 48.05, 2.4, 48.1)],
        crs="EPSG:4326",
    )
    stops = gpd.GeoDataFrame(
        {"stop_id": ["S1", "S2"], "nom": ["Gare", "Mairie"], "departs_jour": [120, 4]},
        geometry=[Point(2.4, 48.1), Point(2.4001, 48.1)],
        crs="EPSG:4326",
    )
    gaps = gpd.GeoDataFrame(geometry=[box(2.6, 48.0, 2.9, 48.3)], crs="EPSG:4326")
    return MapLayers(communes=communes, qpv=qpv, stops=stops, service_gaps=gaps)


def groups(m: folium.Map) -> dict[str, folium.FeatureGroup]:
    return {c.layer_name: c for c in m._children.values() if isinstance(c, folium.FeatureGroup)}


def labels(group: folium.FeatureGroup) -> _Labels:
    (found,) = [c for c in group._children.values() if isinstance(c, _Labels)]
    return found


def test_the_control_is_folded_and_the_transit_layers_open_off(layers: MapLayers) -> None:
    m = territory_map(layers)
    (control,) = [c for c in m._children.values() if isinstance(c, folium.LayerControl)]
    assert control.options["collapsed"] is True
    shown = {name: group.show for name, group in groups(m).items()}
    assert shown == {
        "Communes (grille de densité)": True,
        "QPV": True,
        "Zones blanches (> 500 m d'un arrêt desservi) et zones sans données de transport": False,
        "Arrêts de transport": False,
    }
    html = m.get_root().render()
    for name, group in groups(m).items():  # listed in the control, added to the map or not
        added = f"{group.get_name()}.addTo({m.get_name()})" in html
        assert added is shown[name], name
        assert str(htmlsafe_json_dumps(name)) in html  # as folium's control writes it


def test_the_legend_says_where_the_hidden_layers_are(layers: MapLayers) -> None:
    legend = legend_html(layers)
    note = "Couche masquée à l&#x27;ouverture : à cocher dans la liste des couches"
    assert legend.count(note) == 2  # zones blanches and stops


def test_commune_names_go_inside_their_commune_and_are_not_sent_twice(
    layers: MapLayers,
) -> None:
    m = territory_map(layers)
    communes = groups(m)["Communes (grille de densité)"]
    names = labels(communes)
    (drawn,) = [c for c in communes._children.values() if not isinstance(c, _Labels)]
    assert names.source is drawn.data  # the names are read from the layer's own features
    points = [shapely.geometry.shape(f["geometry"]) for f in names.data.features()]
    assert [f["properties"] for f in names.data.features()] == [{}, {}, {}]
    assert len(points) == len(layers.communes)
    for point, polygon in zip(points, layers.communes.geometry, strict=True):
        assert polygon.contains(point), (point, polygon)
    assert not U_SHAPE.contains(U_SHAPE.centroid)  # the case the rule is for
    assert "Grande-Ville" not in names.data.payload
    assert names.options == {
        "kind": "commune",
        "name": "nom",
        "field": "population",
        "tiers": [list(t) for t in COMMUNE_LABEL_TIERS],
    }
    assert COMMUNE_LABEL_TIERS[0] == (10_000, 0) and COMMUNE_LABEL_TIERS[-1] == (0, 12)
    assert names.count == 0  # not what the map is fitted to


def test_qpv_names_from_zoom_13_and_outline_answers_near_its_border(layers: MapLayers) -> None:
    group = groups(territory_map(layers))["QPV"]
    names = labels(group)
    assert QPV_LABEL_ZOOM == 13 and names.options["tiers"] == [[0, 13]]
    assert names.options["name"] == "nom" and names.options["kind"] == "qpv"
    fill, outline = [c for c in group._children.values() if not isinstance(c, _Labels)]
    assert names.source is fill.data is outline.data


def test_stops_are_thinned_by_zoom_the_most_served_kept(layers: MapLayers) -> None:
    (stops,) = groups(territory_map(layers))["Arrêts de transport"]._children.values()
    assert stops.options["thin"] == 18 and stops.options["thin_until"] == 15
    assert "p.departs_jour" in str(stops.options["weight"])


def test_a_page_without_polygons_has_no_names() -> None:
    stops = gpd.GeoDataFrame({"stop_id": ["S1"]}, geometry=[Point(2.4, 48.1)], crs="EPSG:4326")
    m = territory_map(MapLayers(stops=stops))
    assert [type(c) for g in groups(m).values() for c in g._children.values()] != []
    assert not [
        c for g in groups(m).values() for c in g._children.values() if isinstance(c, _Labels)
    ]


def test_the_view_is_kept_per_territory(layers: MapLayers) -> None:
    m = territory_map(layers)
    (kept,) = [c for c in m._children.values() if isinstance(c, _KeptView)]
    assert kept.key == "territory-view:48.0000,2.0000,48.3000,2.9000"
    html = m.get_root().render()
    # restored right after the fit, before any layer is drawn
    fit, view, layer = (html.index(s) for s in (".fitBounds(", kept.key, "territoryCanvas.layer("))
    assert fit < view < layer
    assert "sessionStorage" in html
