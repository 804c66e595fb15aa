"""QPV imports: clipped to the stored communes, duplicate codes refused, codes never invented."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
from conftest import shared_file
from geopandas.testing import assert_geodataframe_equal
from samples import two_communes_workspace

from territory import InputFileError, Settings, ValidationError, WorkspaceError
from territory.ingest import import_file
from territory.store import Workspace


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(secret_path=tmp_path / "secret" / "key")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """Two square communes 00001 (2.70-2.76 E) and 00002 (2.76-2.80 E), 46.40-46.50 N."""
    return two_communes_workspace(tmp_path / "w.gpkg")


def square(x: float, y: float, size: float = 0.005) -> dict[str, object]:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def qpv_file(path: Path, rows: list[tuple[dict[str, str], float, float]]) -> Path:
    features = [
        {"type": "Feature", "properties": props, "geometry": square(x, y)} for props, x, y in rows
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def qp(code: str, nom: str = "Quartier", com: str = "00001") -> dict[str, str]:
    return {"code_qp": code, "lib_qp": nom, "insee_com": com}


INSIDE, OUTSIDE = (2.72, 46.45), (7.75, 48.58)  # in commune 00001; in Strasbourg


def test_a_qpv_file_is_clipped_to_the_stored_communes(
    ws: Workspace, tmp_path: Path, settings: Settings
) -> None:
    path = qpv_file(
        tmp_path / "qpv.geojson",
        [
            (qp("QN00101M", "Dedans"), *INSIDE),
            (qp("QN06701M", "Strasbourg", "67482"), *OUTSIDE),
            (qp("QN06702M", "Strasbourg 2", "67482"), OUTSIDE[0] + 0.01, OUTSIDE[1]),
            (qp("QN00102M", "Au bord", "00002"), 2.797, 46.45),  # across the edge: kept whole
        ],
    )
    report = import_file(ws, "qpv", path, settings=settings)
    assert (report.read, report.accepted, report.refused) == (4, 2, 2)
    assert "2 QPV hors du territoire, non importés" in report.notes
    stored = ws.read_layer("qpv")
    assert sorted(stored["code"]) == ["QN00101M", "QN00102M"]
    edge = stored.set_index("code").geometry["QN00102M"]
    assert edge.bounds[2] == pytest.approx(2.802)  # not cut at the territory's edge


def test_a_qpv_import_needs_the_communes(tmp_path: Path, settings: Settings) -> None:
    ws = Workspace.create(tmp_path / "vide.gpkg", name="Vide")
    path = qpv_file(tmp_path / "qpv.geojson", [(qp("QN00101M"), *INSIDE)])
    with pytest.raises(WorkspaceError, match="importez d'abord les communes"):
        import_file(ws, "qpv", path, settings=settings)
    assert not ws.has("qpv")


def test_duplicate_codes_are_refused_on_each_of_their_rows(
    ws: Workspace, tmp_path: Path, settings: Settings
) -> None:
    path = qpv_file(
        tmp_path / "qpv.geojson",
        [
            (qp("QN00101M", "Un"), *INSIDE),
            (qp("QN00102M", "Deux"), 2.73, 46.45),
            (qp("QN00101M", "Un bis"), 2.74, 46.45),
        ],
    )
    report = import_file(ws, "qpv", path, settings=settings)
    assert (report.accepted, report.refused) == (1, 2)
    assert {r.row for r in report.refusals} == {1, 3}
    assert all("QN00101M en double (entités 1, 3)" in r.reason for r in report.refusals)
    assert list(ws.read_layer("qpv")["code"]) == ["QN00102M"]


def test_a_file_without_codes_is_refused_unless_a_mapping_names_them(
    ws: Workspace, tmp_path: Path, settings: Settings
) -> None:
    path = qpv_file(
        tmp_path / "qpv.geojson",
        [({"identifiant": "QN00101M", "lib_qp": "Sans code_qp"}, *INSIDE)],
    )
    with pytest.raises(InputFileError, match=r"aucune colonne de codes QPV.*jamais inventés"):
        import_file(ws, "qpv", path, settings=settings)
    assert not ws.has("qpv")
    report = import_file(ws, "qpv", path, settings=settings, mapping={"code": "identifiant"})
    assert report.accepted == 1 and list(ws.read_layer("qpv")["code"]) == ["QN00101M"]
    with pytest.raises(InputFileError, match="absente"):
        import_file(ws, "qpv", path, settings=settings, mapping={"code": "code_quartier"})


@pytest.mark.parametrize(
    ("rows", "error", "message"),
    [
        ([({"lib_qp": "Sans code"}, *INSIDE)], InputFileError, "aucune colonne de codes"),
        ([(qp("QN00101M"), *INSIDE), (qp("QN00101M"), 2.73, 46.45)], ValidationError, "double"),
        ([(qp("QN06701M", com="67482"), *OUTSIDE)], ValidationError, "hors du territoire"),
        ([(qp("pas-un-code"), *INSIDE)], ValidationError, "code manquant ou invalide"),
    ],
    ids=["no-codes", "only-duplicates", "all-outside", "invalid-codes"],
)
def test_a_refused_qpv_import_leaves_the_previous_layer_exactly_as_it_was(
    ws: Workspace,
    tmp_path: Path,
    settings: Settings,
    rows: list[tuple[dict[str, str], float, float]],
    error: type[Exception],
    message: str,
) -> None:
    good = qpv_file(tmp_path / "bon.geojson", [(qp("QN00101M"), *INSIDE)])
    import_file(ws, "qpv", good, settings=settings, vintage="2024")
    before, info = ws.read_layer("qpv"), ws.layers()["qpv"]
    bad = qpv_file(tmp_path / "mauvais.geojson", rows)
    with pytest.raises(error, match=message):
        import_file(ws, "qpv", bad, settings=settings, vintage="2025")
    assert_geodataframe_equal(ws.read_layer("qpv"), before)
    assert ws.layers()["qpv"] == info
    assert len(ws.query("SELECT * FROM \"territory_batches\" WHERE kind = 'qpv'")) == 1


def test_real_qpv_file_clipped_to_calvados(tmp_path: Path, settings: Settings) -> None:
    qpv_path = shared_file("qpv_2024_with_codes_wgs84.geojson")
    communes_path = shared_file("communes-14-calvados.geojson")
    ws = Workspace.create(tmp_path / "calvados.gpkg", name="Calvados")
    import_file(ws, "communes", communes_path, settings=settings)
    report = import_file(ws, "qpv", qpv_path, settings=settings)
    national = gpd.read_file(qpv_path)
    calvados = set(national.loc[national["insee_dep"] == "14", "code_qp"])
    stored = ws.read_layer("qpv")
    assert set(stored["code"]) == calvados and len(calvados) == report.accepted > 0
    assert stored["code"].str.startswith("QN014").all()  # no Strasbourg QPV (QN067…)
    outside = len(national) - len(calvados)
    assert f"{outside} QPV hors du territoire, non importés" in report.notes
    assert report.refused == outside and report.read == len(national)
