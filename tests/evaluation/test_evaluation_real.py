"""A held-out real territory's evaluation package, opened by QGIS (issue #23's check).

The Calvados programme (CU Caen la Mer and CC Vallées de l'Orne et de l'Odon) is built
from the real extracts of ``../shared/data/real`` — real commune borders, the COG table, the
INSEE density grid, the 2024 QPV, France services — and the synthetic contacts of
``tests/rounds/real_programmes.py`` (seed 20); skipped with the reason when the extracts are
absent. Its package (the programme territory only) is scanned for person-level values and
counts under k, and opened by QGIS when Debian's ``python3-qgis`` is there.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import date
from pathlib import Path

import pyogrio
import pytest
from conftest import shared_file
from test_evaluation_qgis import open_in_qgis
from test_shareable import person_values

from territory import Settings
from territory.evaluation import PackageReport, export_package
from territory.ingest import import_file
from territory.store import Workspace
from territory.territories import define_territory
from tests.rounds.real_programmes import PROGRAMMES, write_contacts

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def calvados(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings
) -> tuple[Path, PackageReport]:
    programme = next(p for p in PROGRAMMES if p.name == "Calvados")
    folder = tmp_path_factory.mktemp("calvados")
    ws = Workspace.create(folder / "calvados.gpkg", name=programme.name)
    (communes,) = programme.communes
    import_file(ws, "communes", shared_file(communes), settings=settings)
    for kind, name in (
        ("communes-table", "communes_cog2026_pop_epci.csv"),
        ("density", "grille_densite_7_niveaux_communes.csv"),
        ("qpv", "qpv_2024_with_codes_wgs84.geojson"),
        ("partners", "france_services_20240801.geojson"),
    ):
        import_file(ws, kind, shared_file(name), settings=settings, geocode=False)
    define_territory(ws, programme.name, epci=programme.epci)
    write_contacts(ws, programme, folder / "contacts.csv")
    import_file(ws, "contacts", folder / "contacts.csv", settings=settings, geocode=False)
    report = export_package(
        Workspace.open(ws.path),
        folder / "paquet" / "calvados-evaluation.gpkg",
        settings=settings,
        territories=[programme.name],
        today=date(2026, 12, 7),
    )
    return ws.path, report


def test_the_package_holds_published_values_only(
    calvados: tuple[Path, PackageReport], settings: Settings
) -> None:
    workspace, report = calvados
    assert {"communes", "qpv", "partners", "density", "indicators_communes"} <= set(report.layers)
    data = report.path.read_bytes()
    values = person_values(workspace)
    assert values and not [v for v in values if v.encode() in data]
    with sqlite3.connect(report.path) as con:
        names = [n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert not [n for n in names if re.search("contact|person|fingerprint", n)]
    for layer in ("density", "density_quarters"):
        counts = pyogrio.read_dataframe(report.path, layer=layer)["count"].dropna()
        assert ((counts == 0) | (counts >= settings.k)).all(), layer
        assert (counts % settings.rounding == 0).all(), layer
    indicators = pyogrio.read_dataframe(report.path, layer="indicators_communes")
    shown = indicators["contacts_recents"].dropna()
    assert ((shown == 0) | (shown >= settings.k)).all()


@pytest.mark.qgis
def test_qgis_opens_the_held_out_territory_s_package(
    calvados: tuple[Path, PackageReport],
) -> None:
    _, report = calvados
    layers = open_in_qgis(report.path)["layers"]
    assert set(layers) == set(report.layers)
    for name, info in layers.items():
        assert info["valid"] and info["features"] == report.layers[name], name
        assert info["licenses"] and info["title"], name
        if info["spatial"]:
            assert info["crs"] == "EPSG:2154", name
            assert info["renderer"] in {"singleSymbol", "categorizedSymbol", "graduatedSymbol"}
    assert layers["density"]["renderer"] == "graduatedSymbol"
    assert layers["communes"]["renderer"] == "categorizedSymbol"
    assert layers["communes"]["classes"] == 7
