"""``territory hotspots`` and ``territory access``: one line, files written, exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest

from territory.cli import main


def test_hotspots_prints_one_line_and_writes_the_zones(
    demo_workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "points.gpkg"
    code = main(["hotspots", "--workspace", str(demo_workspace), "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 0
    (line,) = printed.out.strip().splitlines()
    assert "zone(s) analysée(s) (Getis-Ord Gi*)" in line and "q < 0,05" in line
    zones = gpd.read_file(out)
    assert {"zone", "count", "z", "p", "q", "classe"} <= set(zones.columns)
    assert zones.crs.to_epsg() == 4326 and (zones["count"] >= 11).all()


def test_hotspots_json_holds_the_parameters(
    demo_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["hotspots", "--workspace", str(demo_workspace), "--method", "moran", "--seed", "3"]
    assert main([*argv, "--json", "--permutations", "199"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["parameters"]["seed"] == 3 and data["parameters"]["permutations"] == 199
    assert data["parameters"]["method"] == "Moran local (LISA)"
    assert sum(data["classes"].values()) == data["parameters"]["zones_analysed"]


def test_access_by_qpv_to_csv(
    demo_workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "acces.csv"
    argv = ["access", "--workspace", str(demo_workspace), "--zones", "qpv", "--mode", "marche"]
    assert main([*argv, "--out", str(out)]) == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert line.startswith(("3 zone(s)", "4 zone(s)", "5 zone(s)")) and "E2SFCA" in line
    text = out.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].split(";")[:3] == ["code", "nom", "acces"]


@pytest.mark.parametrize(
    "argv",
    [
        ["hotspots", "--alpha", "2"],
        ["hotspots", "--out", "zones.shp"],
        ["access", "--catchment", "0"],
    ],
)
def test_bad_options_exit_2_with_one_french_line(
    demo_workspace: Path, tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [a if a != "zones.shp" else str(tmp_path / a) for a in argv]
    assert main([*argv, "--workspace", str(demo_workspace)]) == 2
    printed = capsys.readouterr()
    (line,) = printed.err.strip().splitlines()
    assert line.startswith("territory : erreur : ") and "Traceback" not in printed.err
    assert not (tmp_path / "zones.shp").exists()
