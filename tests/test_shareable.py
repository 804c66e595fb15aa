"""The shareable export: a new GeoPackage of published values, no contact table.

The demo workspace (contacts imported through the real importer, pseudonyms and
fingerprints stored) is exported once per module; the output is then opened with sqlite3
and with GDAL (pyogrio) as a stranger would open it, and its raw bytes are scanned for
every person-level value of the source.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from territory import Settings, ValidationError
from territory.export import (
    PUBLIC_LAYERS,
    SHAREABLE_SENTENCE,
    ShareReport,
    export_shareable,
    shareable_bytes,
)
from territory.store import Workspace
from territory.territories import WHOLE_WORKSPACE, list_territories, resolve
from territory.views import breakdown_choices, density_layer

TODAY = date(2026, 12, 1)
EXPECTED = {
    # public layers and tables of the demo workspace, as they are
    "communes",
    "qpv",
    "partners",
    "stops",
    "service_gaps",
    "density_classes",
    "stop_hours",
    "transit_links",
    # published values
    "density",
    "density_quarters",
    "indicators_communes",
    "indicators_qpv",
    "indicator_methods",
    "territories",
    # what the file is
    "shareable_metadata",
    "shareable_layers",
}
PUBLISHED_CONTACT_COLUMNS = {
    # protected counts, their labels and statuses, and rates built on them
    "contacts_recents",
    "contacts_recents_libelle",
    "contacts_recents_statut",
    "contacts_precedents",
    "contacts_precedents_libelle",
    "contacts_precedents_statut",
    "contacts_pour_1000",
    "tendance_contacts",
    "contacts",  # a territory's protected total
    "contacts_libelle",
}
FORBIDDEN_WORDS = {
    "fingerprint",
    "fingerprints",
    "personne",
    "personnes",
    "person",
    "pseudonym",
    "pseudonyme",
    "cle",
    "key",
    "record",
    "lot",
    "lots",
    "batch",
    "batches",
}


@pytest.fixture(scope="module")
def shared(
    demo_workspace: Path, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, ShareReport]:
    out = tmp_path_factory.mktemp("partage") / "vallee-partageable.gpkg"
    before = hashlib.sha256(demo_workspace.read_bytes()).hexdigest()
    report = export_shareable(Workspace.open(demo_workspace), out, settings=settings, today=TODAY)
    assert hashlib.sha256(demo_workspace.read_bytes()).hexdigest() == before  # only read
    return out, report


def sql(path: Path, query: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        return con.execute(query).fetchall()


def user_tables(path: Path) -> set[str]:
    rows = sql(path, "SELECT name FROM sqlite_master WHERE type = 'table'")
    return {name for (name,) in rows if not name.startswith(("gpkg_", "rtree_", "sqlite_"))}


def person_values(workspace: Path) -> set[str]:
    """Every pseudonym, fingerprint or other hash-like value stored with the contacts."""
    with contextlib.closing(sqlite3.connect(workspace)) as con:
        columns = [row[1] for row in con.execute("PRAGMA table_info(contacts)")]
        values: set[str] = set()
        for column in columns:
            for (value,) in con.execute(f'SELECT DISTINCT "{column}" FROM contacts'):
                if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{12,}", value):
                    values.add(value)
    return values


# ------------------------------------------------------------------- what the file holds
def test_only_the_expected_layers(shared: tuple[Path, ShareReport]) -> None:
    out, report = shared
    listed = {str(name) for name, _ in pyogrio.list_layers(out)}
    assert listed == EXPECTED == set(report.layers)
    assert user_tables(out) == EXPECTED  # nothing beside the layers GDAL lists
    for name in EXPECTED:  # every layer opens, with the number of rows reported
        assert len(pyogrio.read_dataframe(out, layer=name)) == report.layers[name], name


def test_a_valid_geopackage_with_titles_and_descriptions(
    shared: tuple[Path, ShareReport],
) -> None:
    out, _ = shared
    assert out.read_bytes()[:16] == b"SQLite format 3\x00"
    assert sql(out, "PRAGMA application_id") == [(0x47504B47,)]  # "GPKG"
    assert sql(out, "PRAGMA integrity_check") == [("ok",)]
    assert sql(out, "PRAGMA freelist_count") == [(0,)]  # written afresh, then compacted
    query = "SELECT table_name, identifier, description FROM gpkg_contents"
    contents = {name: (identifier, text) for name, identifier, text in sql(out, query)}
    assert set(contents) == EXPECTED
    assert all(identifier and description for identifier, description in contents.values())
    info = pyogrio.read_info(out, layer="density")
    assert info["crs"] == "EPSG:4326" and info["geometry_type"] in ("Polygon", "MultiPolygon")


def test_no_table_or_column_named_after_people(shared: tuple[Path, ShareReport]) -> None:
    out, _ = shared
    for table in user_tables(out):
        assert "contact" not in table and not table.startswith("territory_"), table
        words = set(re.split(r"[^a-z0-9]+", table.lower()))
        assert not words & FORBIDDEN_WORDS, table
        for (column,) in sql(out, f"SELECT name FROM pragma_table_info('{table}')"):
            words = set(re.split(r"[^a-z0-9]+", column.lower()))
            assert not words & FORBIDDEN_WORDS, (table, column)
            assert "contact" not in column or column in PUBLISHED_CONTACT_COLUMNS, column


def test_no_trigger_of_the_workspace(shared: tuple[Path, ShareReport]) -> None:
    out, _ = shared
    triggers = sql(out, "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'")
    tables = {n for (n,) in sql(out, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    for name, table in triggers:  # GDAL's own, made for the new file's layers only
        assert name.startswith(("gpkg_", "rtree_", "trigger_")), name
        assert table in tables and "contact" not in name and "territory" not in name


def test_raw_bytes_hold_no_pseudonym_fingerprint_path_or_contact_day(
    shared: tuple[Path, ShareReport], demo_workspace: Path
) -> None:
    out, _ = shared
    data = out.read_bytes()
    values = person_values(demo_workspace)
    assert len(values) > 1000  # pseudonyms and fingerprints of the demo's contacts
    source = demo_workspace.read_bytes()
    assert all(v.encode() in source for v in sorted(values)[:100])  # the scan finds them
    assert not [v for v in values if v.encode() in data]
    assert str(demo_workspace).encode() not in data
    assert demo_workspace.parent.name.encode() not in data  # the folder, not even its name
    with contextlib.closing(sqlite3.connect(demo_workspace)) as con:
        days = {d for (d,) in con.execute("SELECT DISTINCT date FROM contacts")}
    assert days and not [d for d in days if d.encode() in data]
    written = set(re.findall(rb"\d{4}-\d{2}-\d{2}", data))
    assert all(d.decode() not in days for d in written)


def test_density_is_the_map_s_published_value(
    shared: tuple[Path, ShareReport], demo_workspace: Path, settings: Settings
) -> None:
    out, _ = shared
    ws = Workspace.open(demo_workspace)
    exported = pyogrio.read_dataframe(out, layer="density").set_index("zone")
    shown = density_layer(ws, settings=settings).set_index("zone")
    assert sorted(exported.index) == sorted(shown.index)
    shown = shown.reindex(exported.index)
    assert exported["count"].astype("Int64").equals(shown["count"].astype("Int64"))
    assert (exported["label"] == shown["label"]).all()
    counts = exported["count"].dropna()
    assert len(counts) and (counts >= settings.k).all() and (counts % settings.rounding == 0).all()
    assert exported["count"].isna().any()  # some zones are hidden, and stay hidden
    # quarters: the map's quarter filter, zone by zone
    quarters = pyogrio.read_dataframe(out, layer="density_quarters")
    periods = breakdown_choices(ws, settings=settings)["periode"]
    assert set(quarters["periode"]) == set(periods)
    for period in periods:  # one protection of every quarter, as each filter shows it
        one = quarters[quarters["periode"] == period].set_index("zone")
        filtered = density_layer(ws, settings=settings, breakdown=("periode", period))
        assert sorted(one.index) == sorted(filtered["zone"])
        filtered = filtered.set_index("zone").reindex(one.index)
        assert one["count"].astype("Int64").equals(filtered["count"].astype("Int64"))
        assert (one["label"] == filtered["label"]).all()
    assert quarters["count"].dropna().pipe(lambda c: ((c == 0) | (c >= settings.k)).all())


def test_indicators_and_territories_hold_only_protected_counts(
    shared: tuple[Path, ShareReport], demo_workspace: Path, settings: Settings
) -> None:
    out, _ = shared
    k = settings.k
    for layer in ("indicators_communes", "indicators_qpv"):
        table = pyogrio.read_dataframe(out, layer=layer)
        assert {"rang", "code", "score", "pourquoi", "territoire"} <= set(table.columns)
        assert set(table["territoire"]) == {WHOLE_WORKSPACE}
        for column in ("contacts_recents", "contacts_precedents"):
            shown = table[column].dropna()
            assert ((shown == 0) | (shown >= k)).all(), (layer, column)
            hidden = table[column].isna()
            assert (table.loc[hidden, f"{column}_statut"] != "publié").all()
    communes = pyogrio.read_dataframe(out, layer="indicators_communes")
    ws = Workspace.open(demo_workspace)
    assert sorted(communes["code"]) == sorted(resolve(ws, None))
    territories = pyogrio.read_dataframe(out, layer="territories")
    names = [WHOLE_WORKSPACE, *(t.name for t in list_territories(ws))]
    assert territories["territoire"].tolist() == names
    totals = territories["contacts"].dropna()
    assert len(totals) and (totals >= k).all() and (totals % settings.rounding == 0).all()
    assert territories.geometry.notna().all()
    methods = pyogrio.read_dataframe(out, layer="indicator_methods")
    contact_vintages = methods.loc[methods["couches"].str.contains("contacts"), "millesime"]
    assert contact_vintages.str.fullmatch(r"contacts : \d{4}-\d{2} → \d{4}-\d{2}.*").all()


def test_metadata_says_what_the_file_is(
    shared: tuple[Path, ShareReport], demo_workspace: Path, settings: Settings
) -> None:
    out, report = shared
    meta = dict(sql(out, "SELECT parametre, valeur FROM shareable_metadata"))
    assert meta["avertissement"] == SHAREABLE_SENTENCE
    assert "peut être partagé" in meta["avertissement"]
    assert meta["seuil_k"] == str(settings.k) and meta["arrondi"] == str(settings.rounding)
    assert meta["regles_diffusion"].startswith("version 2")
    assert f"k = {settings.k}" in meta["methode"] and "secret secondaire" in meta["methode"]
    assert meta["espace_de_travail"] == Workspace.open(demo_workspace).name
    assert meta["date_export"] == TODAY.isoformat()
    assert re.fullmatch(r"\d{4}-\d{2} → \d{4}-\d{2}", meta["mois_contacts"])
    assert meta["territoires"] == WHOLE_WORKSPACE
    layers = pd.DataFrame(
        sql(out, "SELECT couche, millesime, source, lignes FROM shareable_layers"),
        columns=["couche", "millesime", "source", "lignes"],
    ).set_index("couche")
    assert set(layers.index) == EXPECTED
    assert layers["lignes"].to_dict() == report.layers
    assert layers.loc["density", "millesime"] == f"contacts : {meta['mois_contacts']}"
    assert "contacts.csv" not in set(layers["source"])  # the team's file name stays home
    for name in PUBLIC_LAYERS:
        assert layers.loc[name, "source"] and layers.loc[name, "millesime"]


# --------------------------------------------------------------------------- variants
def test_territories_restrict_every_layer(
    demo_workspace: Path, settings: Settings, tmp_path: Path
) -> None:
    ws = Workspace.open(demo_workspace)
    rural = "Communes rurales"
    out = tmp_path / "rural.gpkg"
    report = export_shareable(ws, out, settings=settings, territories=[rural])
    assert report.territories == (rural,)
    names = {str(n) for n, _ in pyogrio.list_layers(out)}
    assert "indicators_qpv" not in names and "qpv" not in names  # no QPV in the rural belt
    codes = resolve(ws, rural)
    assert set(pyogrio.read_dataframe(out, layer="communes")["code"]) == codes
    assert set(pyogrio.read_dataframe(out, layer="density_classes")["code"]) <= codes
    assert pyogrio.read_dataframe(out, layer="territories")["territoire"].tolist() == [rural]
    indicators = pyogrio.read_dataframe(out, layer="indicators_communes")
    assert set(indicators["territoire"]) == {rural} and set(indicators["code"]) == codes
    density = pyogrio.read_dataframe(out, layer="density").set_index("zone")
    whole = density_layer(ws, settings=settings, territory=rural).set_index("zone")
    assert sorted(density.index) == sorted(whole.index)
    assert (
        density["count"].astype("Int64").equals(whole.loc[density.index, "count"].astype("Int64"))
    )
    meta = dict(sql(out, "SELECT parametre, valeur FROM shareable_metadata"))
    assert meta["territoires"] == rural


def test_a_workspace_without_contacts_still_exports(settings: Settings, tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "w.gpkg", name="Sans contacts")
    out = tmp_path / "partage.gpkg"
    assert set(export_shareable(ws, out, settings=settings).layers) == {
        "shareable_metadata",
        "shareable_layers",
    }
    communes = gpd.GeoDataFrame(
        {"code": ["00001", "00002"], "nom": ["A", "B"], "population": [900, 120], "epci": "1"},
        geometry=[shapely.box(i, 46, i + 0.1, 46.1) for i in range(2)],
        crs="EPSG:4326",
    )
    ws.write_layer("communes", communes, source="test", vintage="2026")
    report = export_shareable(ws, out, settings=settings)
    assert "density" not in report.layers and report.layers["indicators_communes"] == 2
    assert "aucun contact importé" in " ".join(report.notes)
    assert shareable_bytes(ws, settings=settings)[:16] == b"SQLite format 3\x00"


@pytest.mark.parametrize(
    ("name", "territories", "message"),
    [
        ("partage.csv", None, "GeoPackage"),
        (None, None, "remplacer l'espace de travail"),
        ("partage.gpkg", ["Nulle part"], "territoire « Nulle part » inconnu"),
    ],
)
def test_refusals_write_nothing(
    demo_workspace: Path,
    settings: Settings,
    tmp_path: Path,
    name: str | None,
    territories: list[str] | None,
    message: str,
) -> None:
    ws = Workspace.open(demo_workspace)
    out = demo_workspace if name is None else tmp_path / name
    before = demo_workspace.stat().st_mtime_ns
    with pytest.raises(ValidationError, match=message):
        export_shareable(ws, out, settings=settings, territories=territories)
    assert demo_workspace.stat().st_mtime_ns == before
    assert list(tmp_path.iterdir()) == []


def test_an_output_folder_that_cannot_be_made_is_a_french_error(
    demo_workspace: Path, settings: Settings, tmp_path: Path
) -> None:
    blocker = tmp_path / "fichier"
    blocker.write_text("pas un dossier")
    with pytest.raises(ValidationError, match="impossible d'écrire"):
        export_shareable(
            Workspace.open(demo_workspace), blocker / "partage.gpkg", settings=settings
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fichier"]
