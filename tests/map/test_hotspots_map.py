"""The « Points chauds » overlay: classes on the map, no count, a French legend."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import folium
import pytest
from conftest import map_args
from streamlit.testing.v1 import AppTest

from territory.map import legend_html
from territory.map.build import territory_map
from territory.map.elements import _GeoJsonLayer
from territory.map.styles import HOTSPOT_COLOURS
from territory.store import Workspace
from territory.ui.state import Keys
from territory.views import hot_spots_layer, map_layers

APP = str(Path(__file__).resolve().parents[2] / "app.py")
NAME = "Points chauds"


def hotspot_features(m: folium.Map) -> list[dict]:
    for child in m._children.values():
        if isinstance(child, folium.FeatureGroup) and child.layer_name == NAME:
            (layer,) = [c for c in child._children.values() if isinstance(c, _GeoJsonLayer)]
            return layer.features
    raise AssertionError("no « Points chauds » group")


@pytest.fixture(scope="module")
def demo(demo_workspace: Path, settings):
    ws = Workspace.open(demo_workspace)
    result = hot_spots_layer(ws, settings=settings)
    layers = dataclasses.replace(map_layers(ws, settings=settings), hotspots=result.frame)
    return layers, result


def test_the_overlay_holds_the_significant_classes_and_no_count(demo, settings) -> None:
    layers, result = demo
    m = territory_map(layers, k=settings.k)
    features = hotspot_features(m)
    significant = result.frame[result.frame["classe"].isin(HOTSPOT_COLOURS)]
    assert len(significant) and len(features) == len(significant)
    assert {f["properties"]["zone"] for f in features} == set(significant["zone"])
    for feature in features:
        assert set(feature["properties"]) == {"zone", "classe", "q"}
        assert feature["properties"]["classe"] in HOTSPOT_COLOURS
        assert feature["properties"]["q"] < 0.05
    text = m.get_root().render()
    assert "hotspots.js" not in text and '"classe":"point chaud"' in text
    for forbidden in ('"valeur"', '"voisins"', '"significant_raw"'):
        assert forbidden not in text


def test_the_legend_says_the_classes_and_the_correction(demo, settings) -> None:
    layers, _ = demo
    legend = legend_html(layers, k=settings.k)
    assert f"{NAME}<" in legend or NAME in legend
    assert "point chaud (q &lt; 0,05)" in legend or "point chaud (q < 0,05)" in legend
    assert "999 permutations" in legend and "Benjamini-Hochberg" in legend
    without = legend_html(dataclasses.replace(layers, hotspots=None), k=settings.k)
    assert NAME not in without


def test_the_carte_page_draws_hot_spots_when_asked(demo_workspace: Path, settings) -> None:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[Keys.WORKSPACE] = str(demo_workspace)
    at.run()
    at.switch_page("app_pages/carte.py")
    at.run()
    assert json.dumps(NAME)[1:-1] not in map_args(at)["script"]  # off by default
    at.toggle(key=Keys.W_HOTSPOTS).set_value(True).run()
    assert not at.exception, at.exception
    args = map_args(at)
    page = args["html"] + args["script"]
    assert json.dumps(NAME)[1:-1] in args["script"]
    assert '"classe":"point chaud"' in page
    counts = [int(c) for c in re.findall(r'"count":(\d+)', page)]
    assert counts and all(c >= settings.k for c in counts)  # the density's, protected
    legend = " ".join(h.proto.body for h in at.get("html"))
    assert "point chaud (q" in legend


def test_accessibility_choropleth_and_its_legend(demo_workspace: Path, settings) -> None:
    from territory.map.styles import NAME_ACCESS
    from territory.views import accessibility_layer

    ws = Workspace.open(demo_workspace)
    access, parameters = accessibility_layer(ws, settings=settings, mode="voiture")
    layers = dataclasses.replace(map_layers(ws, settings=settings), access=access)
    m = territory_map(layers, k=settings.k)
    for child in m._children.values():
        if isinstance(child, folium.FeatureGroup) and child.layer_name == NAME_ACCESS:
            (layer,) = [c for c in child._children.values() if isinstance(c, _GeoJsonLayer)]
            break
    else:
        raise AssertionError("no accessibility group")
    props = [f["properties"] for f in layer.features]
    assert len(props) == len(access)
    assert all(set(p) == {"code", "nom", "acces", "classe"} for p in props)
    none = {p["code"] for p in props if p["classe"] is None}
    assert none == set(access.loc[access["sans_partenaire"], "code"])
    assert {p["classe"] for p in props} - {None} == {0, 1, 2, 3, 4}
    legend = legend_html(layers, k=settings.k)
    assert NAME_ACCESS in legend and "aucun partenaire à moins de 30 min" in legend
    assert parameters["method"] in legend and "voiture" in legend


def test_the_carte_page_draws_accessibility_when_asked(demo_workspace: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[Keys.WORKSPACE] = str(demo_workspace)
    at.run()
    at.switch_page("app_pages/carte.py")
    at.run()
    at.selectbox(key=Keys.W_ACCESS).set_value("vélo").run()
    assert not at.exception, at.exception
    assert json.dumps("Accessibilité aux partenaires")[1:-1] in map_args(at)["script"]


def test_without_partners_the_accessibility_choice_says_why(
    demo_workspace: Path, workspaces_dir: Path
) -> None:
    """A workspace with communes but no partner: the choice says so, nothing is computed."""
    communes = Workspace.open(demo_workspace).read_layer("communes")
    path = workspaces_dir / "sans-partenaires.gpkg"
    ws = Workspace.create(path, name="Sans partenaires", overwrite=True)
    ws.write_layer("communes", communes, source="test", vintage="2026")
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[Keys.WORKSPACE] = str(path)
    at.run()
    at.switch_page("app_pages/carte.py")
    at.run()
    at.selectbox(key=Keys.W_ACCESS).set_value("voiture").run()
    assert not at.exception, at.exception
    assert any("Aucun partenaire importé" in i.value for i in at.sidebar.info)
    assert json.dumps("Accessibilité aux partenaires")[1:-1] not in map_args(at)["script"]
