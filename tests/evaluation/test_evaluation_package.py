"""The evaluation package: published values only, Lambert-93, styles, metadata, same bytes.

The demo workspace (contacts through the real importer) is packaged once per module; the
output is opened with sqlite3, GDAL (pyogrio) and the XML and JSON parsers, as a stranger
would open it, and scanned for every person-level value of the source with the checks of
the shareable export (``tests/test_shareable.py``). QGIS itself opens it in
``test_evaluation_qgis.py``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from datetime import date
from pathlib import Path

import pyogrio
import pytest
from test_shareable import EXPECTED, FORBIDDEN_WORDS, PUBLISHED_CONTACT_COLUMNS, person_values

from territory import Settings, ValidationError
from territory.analysis.priority import Weights, save_weights
from territory.evaluation import (
    METHODS_FILE,
    PACKAGE_DESCRIPTOR,
    PackageLayer,
    PackageReport,
    export_package,
    methods_markdown,
    package_bytes,
)
from territory.evaluation.styles import renderer_type
from territory.store import Workspace
from territory.views import accessibility_layer, density_layer, hot_spots_layer

TODAY = date(2026, 12, 1)
STYLES = "layer_styles"
SPATIAL = {
    "communes": "categorizedSymbol",
    "qpv": "singleSymbol",
    "partners": "categorizedSymbol",
    "stops": "singleSymbol",
    "service_gaps": "categorizedSymbol",
    "density": "graduatedSymbol",
    "density_quarters": "graduatedSymbol",
    "indicators_communes": "graduatedSymbol",
    "indicators_qpv": "graduatedSymbol",
    "territories": "singleSymbol",
    "points_chauds": "categorizedSymbol",
    "acces_partenaires": "graduatedSymbol",
}
"""Every spatial layer of the demo's package and the renderer of its default style."""
ANALYSES = {"points_chauds", "acces_partenaires"}
"""The analysis layers the package adds to the shareable file's (``EXTRA_LAYERS``)."""
PACKAGED = EXPECTED | ANALYSES


@pytest.fixture(scope="module")
def package(
    demo_workspace: Path, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, PackageReport]:
    out = tmp_path_factory.mktemp("paquet") / "evaluation.gpkg"
    before = hashlib.sha256(demo_workspace.read_bytes()).hexdigest()
    report = export_package(Workspace.open(demo_workspace), out, settings=settings, today=TODAY)
    assert hashlib.sha256(demo_workspace.read_bytes()).hexdigest() == before  # only read
    return out, report


def sql(path: Path, query: str, *args: object) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        return con.execute(query, args).fetchall()


def tables(path: Path) -> set[str]:
    rows = sql(path, "SELECT name FROM sqlite_master WHERE type = 'table'")
    return {name for (name,) in rows if not name.startswith(("gpkg_", "rtree_", "sqlite_"))}


# ------------------------------------------------------------------------ what it holds
def test_every_published_layer_and_the_styles_table(package: tuple[Path, PackageReport]) -> None:
    out, report = package
    assert set(report.layers) == PACKAGED
    assert tables(out) == PACKAGED | {STYLES}  # nothing else: no contact table
    assert sql(out, "PRAGMA integrity_check") == [("ok",)]
    assert sql(out, "PRAGMA freelist_count") == [(0,)]
    assert sql(out, "PRAGMA user_version") == [(10300,)]  # GeoPackage 1.3: QGIS 3.22 reads it
    for name in PACKAGED:
        assert len(pyogrio.read_dataframe(out, layer=name)) == report.layers[name], name
    assert sorted(p.name for p in report.files) == sorted(
        [out.name, PACKAGE_DESCRIPTOR, METHODS_FILE]
    )
    assert all(p.parent == out.parent and p.exists() for p in report.files)
    assert sorted(p.name for p in out.parent.iterdir()) == sorted(p.name for p in report.files)


def test_spatial_layers_in_lambert_93_as_the_map_shows_them(
    package: tuple[Path, PackageReport], demo_workspace: Path, settings: Settings
) -> None:
    out, report = package
    assert report.crs == "EPSG:2154"
    for name in SPATIAL:
        assert pyogrio.read_info(out, layer=name)["crs"] == "EPSG:2154", name
    exported = pyogrio.read_dataframe(out, layer="density").set_index("zone")
    shown = density_layer(Workspace.open(demo_workspace), settings=settings)
    shown = shown.to_crs("EPSG:2154").set_index("zone").reindex(exported.index)
    assert exported["count"].astype("Int64").equals(shown["count"].astype("Int64"))
    assert exported.geometry.area.sum() == pytest.approx(shown.geometry.area.sum(), rel=1e-9)
    assert 100_000 < exported.total_bounds[0] < 1_300_000  # metres of Lambert-93, not degrees
    layers = pyogrio.read_dataframe(out, layer="shareable_layers")
    scr = dict(zip(layers["couche"], layers["scr"], strict=True))
    assert {n for n, v in scr.items() if v} == set(SPATIAL)
    assert {scr[n] for n in SPATIAL} == {"EPSG:2154"}


def test_hot_spots_and_access_are_the_app_s_own(
    package: tuple[Path, PackageReport], demo_workspace: Path, settings: Settings
) -> None:
    out, _ = package
    ws = Workspace.open(demo_workspace)
    hot = pyogrio.read_dataframe(out, layer="points_chauds").set_index("zone")
    shown = hot_spots_layer(ws, settings=settings).frame.set_index("zone").reindex(hot.index)
    assert hot["classe"].tolist() == shown["classe"].tolist()  # same seed, same classes
    assert hot["q"].to_numpy() == pytest.approx(shown["q"].to_numpy(), nan_ok=True)
    published = density_layer(ws, settings=settings).set_index("zone")["count"]
    assert hot["count"].astype("Int64").equals(published.reindex(hot.index).astype("Int64"))
    assert (hot["classe"] == "point chaud").any()
    access = pyogrio.read_dataframe(out, layer="acces_partenaires").set_index("code")
    car, _ = accessibility_layer(ws, settings=settings, mode="voiture")
    car = car.set_index("code").reindex(access.index)
    assert access["acces_voiture"].to_numpy() == pytest.approx(car["acces"].to_numpy(), nan_ok=True)
    assert {"acces_marche", "acces_transports_en_commun", "acces_velo"} <= set(access.columns)


# ------------------------------------------------------------------ nothing unpublished
def test_no_table_column_or_value_that_betrays_a_person(
    package: tuple[Path, PackageReport], demo_workspace: Path, settings: Settings
) -> None:
    out, _ = package
    for table in tables(out):
        assert "contact" not in table and not table.startswith("territory_"), table
        for (column,) in sql(out, f"SELECT name FROM pragma_table_info('{table}')"):
            words = set(re.split(r"[^a-z0-9]+", column.lower()))
            assert not words & FORBIDDEN_WORDS, (table, column)
            assert "contact" not in column or column in PUBLISHED_CONTACT_COLUMNS, column
    values = person_values(demo_workspace)
    assert len(values) > 1000
    every = [out.read_bytes(), *(p.read_bytes() for p in out.parent.iterdir() if p != out)]
    for data in every:  # the GeoPackage (metadata and styles included), the JSON, the text
        assert not [v for v in values if v.encode() in data]
        assert str(demo_workspace.parent).encode() not in data
    for layer in ("density", "density_quarters"):
        counts = pyogrio.read_dataframe(out, layer=layer)["count"].dropna()
        assert len(counts) and ((counts == 0) | (counts >= settings.k)).all(), layer
        assert (counts % settings.rounding == 0).all(), layer
    with contextlib.closing(sqlite3.connect(demo_workspace)) as con:
        days = {d for (d,) in con.execute("SELECT DISTINCT date FROM contacts")}
    written = {d.decode() for data in every for d in re.findall(rb"\d{4}-\d{2}-\d{2}", data)}
    assert days and not written & days


# ------------------------------------------------------------------------------- styles
def test_every_spatial_layer_has_its_default_qgis_style(
    package: tuple[Path, PackageReport],
) -> None:
    out, _ = package
    columns = [c for (c,) in sql(out, f"SELECT name FROM pragma_table_info('{STYLES}')")]
    assert columns == [
        "id",
        "f_table_catalog",
        "f_table_schema",
        "f_table_name",
        "f_geometry_column",
        "styleName",
        "styleQML",
        "styleSLD",
        "useAsDefault",
        "description",
        "owner",
        "ui",
        "update_time",
    ]
    rows = sql(out, f"SELECT f_table_name, f_geometry_column, styleQML, useAsDefault FROM {STYLES}")
    assert sorted(r[0] for r in rows) == sorted(SPATIAL)
    geometry = dict(sql(out, "SELECT table_name, column_name FROM gpkg_geometry_columns"))
    for name, column, qml, default in rows:
        assert column == geometry[name] and default == 1
        root = ET.fromstring(qml.split("\n", 1)[1])  # after the DOCTYPE line
        assert root.tag == "qgis" and renderer_type(qml) == SPATIAL[name], name
        assert root.find("renderer-v2/symbols/symbol") is not None, name
    density = next(qml for name, _, qml, _ in rows if name == "density")
    renderer = ET.fromstring(density.split("\n", 1)[1]).find("renderer-v2")
    assert renderer is not None
    assert renderer.get("attr") == '"count" / "area_km2"'  # contacts per km², as the map
    assert len(renderer.findall("ranges/range")) == 6  # the map's six classes


# ----------------------------------------------------------------------------- metadata
def test_every_layer_has_its_metadata_in_the_geopackage_extension(
    package: tuple[Path, PackageReport], settings: Settings
) -> None:
    out, report = package
    extensions = sql(out, "SELECT table_name, extension_name FROM gpkg_extensions")
    assert ("gpkg_metadata", "gpkg_metadata") in extensions
    assert ("gpkg_metadata_reference", "gpkg_metadata") in extensions
    rows = sql(
        out,
        "SELECT r.reference_scope, r.table_name, r.timestamp, m.md_standard_uri, m.mime_type, "
        "m.metadata FROM gpkg_metadata_reference r JOIN gpkg_metadata m ON m.id = r.md_file_id",
    )
    per_layer = {r[1]: r for r in rows if r[0] == "table"}
    assert set(per_layer) == PACKAGED
    assert {r[2] for r in rows} == {"2026-12-01T00:00:00.000Z"}
    sources = {
        str(r["couche"]): r
        for r in pyogrio.read_dataframe(out, layer="shareable_layers").to_dict("records")
    }
    for name, (_, _, _, uri, mime, text) in per_layer.items():
        assert (uri, mime) == ("http://mrcc.com/qgis.dtd", "text/xml"), name
        root = ET.fromstring(text.split("\n", 1)[1])
        assert root.findtext("identifier") == name
        assert root.findtext("title") == sources[name]["titre"]
        assert root.findtext("license") == sources[name]["licence"] != ""
        history = [h.text or "" for h in root.findall("history")]
        assert f"Source : {sources[name]['source']}" in history
        assert f"Empreinte des paramètres : sha256:{report.parameters_hash}" in history
        assert any(h.startswith("Logiciel : territory ") for h in history)
        if name in SPATIAL:
            assert root.findtext("crs/spatialrefsys/authid") == "EPSG:2154"
    whole = {r[4]: r[5] for r in rows if r[0] == "geopackage"}
    assert set(whole) == {"text/markdown", "application/json"}
    assert whole["text/markdown"] == (out.parent / METHODS_FILE).read_text(encoding="utf-8")
    parameters = json.loads(whole["application/json"])
    assert hashlib.sha256(whole["application/json"].encode()).hexdigest() == report.parameters_hash
    assert parameters["seuil_k"] == settings.k and parameters["arrondi"] == settings.rounding
    assert parameters["scr"] == "EPSG:2154"
    contents = dict(sql(out, "SELECT table_name, last_change FROM gpkg_contents"))
    assert set(contents.values()) == {"2026-12-01T00:00:00.000Z"}


def test_the_data_package_describes_every_layer(package: tuple[Path, PackageReport]) -> None:
    out, report = package
    descriptor = json.loads((out.parent / PACKAGE_DESCRIPTOR).read_text(encoding="utf-8"))
    assert descriptor["profile"] == "data-package"
    assert re.fullmatch(r"[a-z0-9._-]+", descriptor["name"])
    assert descriptor["licenses"] and descriptor["created"] == "2026-12-01T00:00:00Z"
    resources = descriptor["resources"]
    names = [r["name"] for r in resources]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z0-9._-]+", n) for n in names)
    layers = {r["layer"]: r for r in resources if "layer" in r}
    assert set(layers) == PACKAGED
    for name, resource in layers.items():
        assert resource["path"] == out.name and resource["mediatype"]
        assert resource["licenses"][0]["title"] and resource["sources"][0]["title"]
        fields = [f["name"] for f in resource["schema"]["fields"]]
        info = pyogrio.read_info(out, layer=name)
        expected = list(info["fields"]) + (["geom"] if info["geometry_type"] else [])
        assert sorted(fields) == sorted(expected), name
        assert resource.get("crs") == ("EPSG:2154" if name in SPATIAL else None)
    (methods,) = [r for r in resources if r["path"] == METHODS_FILE]
    assert methods["mediatype"] == "text/markdown"
    assert descriptor["version"] == f"sha256:{report.parameters_hash}"
    # a real client: Frictionless reads the descriptor as the specification says it
    # (every licence with a name or a path, the resources, their schemas)
    from frictionless import Package

    checked = Package.validate_descriptor(str(out.parent / PACKAGE_DESCRIPTOR))
    assert checked.valid, [error.message for error in checked.errors]
    assert {lic["name"] for r in layers.values() for lic in r["licenses"]} <= {
        "etalab-2.0",
        "notspecified",
    }


# ----------------------------------------------------------------------- reproducibility
def test_same_workspace_and_parameters_give_the_same_bytes(
    package: tuple[Path, PackageReport], demo_workspace: Path, settings: Settings, tmp_path: Path
) -> None:
    out, report = package
    again = export_package(
        Workspace.open(demo_workspace), tmp_path / out.name, settings=settings, today=TODAY
    )
    assert again.parameters_hash == report.parameters_hash
    for first, second in zip(report.files, again.files, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name
    # another CRS or k: another hash, and the metadata say so
    other = export_package(
        Workspace.open(demo_workspace),
        tmp_path / "wgs84" / "evaluation.gpkg",
        settings=settings,
        crs="4326",
        today=TODAY,
    )
    assert other.crs == "EPSG:4326" and other.parameters_hash != report.parameters_hash
    assert pyogrio.read_info(other.path, layer="density")["crs"] == "EPSG:4326"


def test_the_zip_holds_the_three_files_and_is_reproducible(
    package: tuple[Path, PackageReport], demo_workspace: Path, settings: Settings, tmp_path: Path
) -> None:
    out, _ = package
    ws = Workspace.open(demo_workspace)
    first = export_package(ws, tmp_path / "a" / "paquet.zip", settings=settings, today=TODAY)
    second = export_package(ws, tmp_path / "b" / "paquet.zip", settings=settings, today=TODAY)
    assert first.files == (first.path,) and first.path.read_bytes() == second.path.read_bytes()
    with zipfile.ZipFile(first.path) as archive:
        assert archive.namelist() == ["paquet.gpkg", PACKAGE_DESCRIPTOR, METHODS_FILE]
        assert archive.read("paquet.gpkg") == out.read_bytes()  # the same package
    data = package_bytes(ws, settings=settings)  # the app's download (dated today)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["evaluation.gpkg", PACKAGE_DESCRIPTOR, METHODS_FILE]


# ------------------------------------------------------------------------ bad requests
@pytest.mark.parametrize(
    ("name", "crs", "message"),
    [
        ("paquet.csv", "EPSG:2154", "GeoPackage (.gpkg) ou une archive (.zip)"),
        ("paquet.gpkg", "EPSG:99999", "« EPSG:99999 » inconnu"),
        ("paquet.gpkg", "n'importe quoi", "inconnu"),
        (None, "EPSG:2154", "remplacer l'espace de travail"),
    ],
)
def test_a_refused_request_writes_nothing(
    demo_workspace: Path,
    settings: Settings,
    tmp_path: Path,
    name: str | None,
    crs: str,
    message: str,
) -> None:
    out = demo_workspace if name is None else tmp_path / name
    before = hashlib.sha256(demo_workspace.read_bytes()).hexdigest()
    with pytest.raises(ValidationError, match=re.escape(message)):
        export_package(Workspace.open(demo_workspace), out, settings=settings, crs=crs)
    assert list(tmp_path.iterdir()) == []
    assert hashlib.sha256(demo_workspace.read_bytes()).hexdigest() == before


def test_a_folder_that_cannot_be_written_is_a_french_error(
    demo_workspace: Path, settings: Settings, tmp_path: Path
) -> None:
    blocker = tmp_path / "fichier"
    blocker.write_text("pas un dossier", encoding="utf-8")
    with pytest.raises(ValidationError, match="impossible d'écrire"):
        export_package(Workspace.open(demo_workspace), blocker / "paquet.gpkg", settings=settings)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fichier"]


# ----------------------------------------------------------------------------- methods
def test_methods_state_the_parameters_in_force(demo_workspace: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copie.gpkg"
    shutil.copy(demo_workspace, copy)
    ws = Workspace.open(copy)
    save_weights(ws, Weights(need=3.0, coverage=0.5, access=1.0, mobility=2.0))
    settings = Settings(
        k=13, rounding=10, retention_months=18, walk_kmh=5.5, secret_path=tmp_path / "secret.key"
    )
    text = methods_markdown(ws, settings=settings)
    assert "k = 13" in text and "**Seuil k** : 13 personnes" in text
    assert "multiple de 10" in text and "plus de 18 mois" in text and "5,5 km/h" in text
    assert "| 3 | 0,5 | 1 | 2 |" in text  # the saved weights of the whole workspace
    assert "`contacts_pour_1000`" in text and "`barriere_mobilite`" in text
    default = methods_markdown(ws, settings=Settings(secret_path=tmp_path / "secret.key"))
    assert "k = 11" in default and "k = 13" not in default


# --------------------------------------------------------------------------------- CLI
def test_cli_writes_the_same_package(
    package: tuple[Path, PackageReport], demo_workspace: Path, tmp_path: Path
) -> None:
    out, _ = package
    target = tmp_path / "evaluation.gpkg"
    args = ["export", "package", "--workspace", demo_workspace, "--out", target]
    result = subprocess.run(
        [sys.executable, "-m", "territory.cli", *map(str, args), "--date", "2026-12-01"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1
    assert result.stdout.startswith(f"Paquet d'évaluation écrit : {target}")
    assert target.read_bytes() == out.read_bytes()
    bad = subprocess.run(
        [sys.executable, "-m", "territory.cli", *map(str, args), "--crs", "EPSG:0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and bad.stdout == "" and "Traceback" not in bad.stderr
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("territory : erreur :")


# -------------------------------------------------------------- a programme territory
def test_a_territory_s_package(demo_workspace: Path, settings: Settings, tmp_path: Path) -> None:
    ws = Workspace.open(demo_workspace)
    report = export_package(
        ws, tmp_path / "rural.gpkg", settings=settings, territories=["Communes rurales"]
    )
    assert report.territories == ("Communes rurales",)
    territories = pyogrio.read_dataframe(report.path, layer="territories")
    assert territories["territoire"].tolist() == ["Communes rurales"]
    assert pyogrio.read_info(report.path, layer="communes")["crs"] == "EPSG:2154"
    (text,) = sql(
        report.path, "SELECT metadata FROM gpkg_metadata WHERE mime_type = ?", "application/json"
    )
    parameters = json.loads(text[0])
    assert parameters["territoires"] == ["Communes rurales"]
    assert list(parameters["poids_priorite"]) == ["Communes rurales"]


# ------------------------------------------------------------------ the layer registry
def test_a_layer_added_to_the_registry_is_written_styled_and_described(
    demo_workspace: Path, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """How the hot spots and accessibility layers will join the package (issue #23 item 3)."""
    from territory.evaluation import package as package_module
    from territory.evaluation.styles import graduated_style

    def centres(ws: Workspace, *, settings: Settings, territories: tuple[str, ...]):
        density = density_layer(ws, settings=settings)
        published = density[density["count"].notna()].copy()
        published["geometry"] = published.to_crs("EPSG:2154").centroid.to_crs(published.crs)
        return published[["zone", "count", "geometry"]]

    extra = PackageLayer(
        name="centres_publies",
        title="Centres des zones publiées",
        description="Essai du registre : le centre de chaque zone publiée.",
        source="territory (essai)",
        build=centres,
        style=lambda gdf: graduated_style(
            "count",
            [(0, 50, "#ffffb2", "peu"), (50, 1e9, "#bd0026", "beaucoup")],
            geometry="point",
        ),
        parameters=lambda s: {"graine": 12345, "permutations": 999},
    )
    monkeypatch.setattr(package_module, "EXTRA_LAYERS", (extra,))
    report = export_package(
        Workspace.open(demo_workspace), tmp_path / "evaluation.gpkg", settings=settings, today=TODAY
    )
    out = report.path
    assert list(report.layers)[-3:] == ["centres_publies", "shareable_metadata", "shareable_layers"]
    assert pyogrio.read_info(out, layer="centres_publies")["crs"] == "EPSG:2154"
    (qml,) = sql(out, f"SELECT styleQML FROM {STYLES} WHERE f_table_name = 'centres_publies'")
    assert renderer_type(qml[0]) == "graduatedSymbol"
    (row,) = sql(
        out,
        "SELECT m.metadata FROM gpkg_metadata m JOIN gpkg_metadata_reference r "
        "ON m.id = r.md_file_id WHERE r.table_name = 'centres_publies'",
    )
    root = ET.fromstring(row[0].split("\n", 1)[1])
    assert root.findtext("title") == "Centres des zones publiées"
    assert "Source : territory (essai)" in [h.text for h in root.findall("history")]
    layers = pyogrio.read_dataframe(out, layer="shareable_layers").set_index("couche")
    assert layers.loc["centres_publies", "scr"] == "EPSG:2154"
    assert layers.loc["shareable_layers", "lignes"] == len(layers)
    descriptor = json.loads((out.parent / PACKAGE_DESCRIPTOR).read_text(encoding="utf-8"))
    assert "centres_publies" in {r.get("layer") for r in descriptor["resources"]}
    (text,) = sql(out, "SELECT metadata FROM gpkg_metadata WHERE mime_type = ?", "application/json")
    assert json.loads(text[0])["couches_ajoutees"] == {
        "centres_publies": {"graine": 12345, "permutations": 999}
    }
