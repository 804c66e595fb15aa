"""The territory command: demo, info, import, export, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from conftest import shared_file

from territory.cli import main

# The contacts test helpers live in tests/io/ since the layout move; pytest puts that folder
# on the path only when it collects it, so name it here for this file to run alone too.


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The real console entry point in a subprocess (exit code, stdout, stderr)."""
    return subprocess.run(
        [sys.executable, "-m", "territory.cli", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_info_json_lists_the_five_layers(
    demo_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["info", "--workspace", str(demo_workspace), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["k"] == 11
    for name in ("communes", "qpv", "partners", "stops", "density"):
        layer = data["layers"][name]
        assert layer["count"] > 0 and layer["source"] and layer["crs"] == "EPSG:4326", name
    assert "contacts" not in data["layers"]  # only the protected aggregate is listed


def test_export_density_has_no_small_counts(demo_workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "density.geojson"
    assert main(["export", "density", "--workspace", str(demo_workspace), "--out", str(out)]) == 0
    features = json.loads(out.read_text())["features"]
    counts = [f["properties"]["count"] for f in features]
    assert counts and all(c is None or (isinstance(c, int) and c >= 11) for c in counts)
    assert any(c is None for c in counts)
    assert set(features[0]["properties"]) <= {
        "zone",
        "level",
        "commune",
        "count",
        "label",
        "area_km2",
    }


def test_export_filtered_density_is_protected_like_the_map(
    demo_workspace: Path, tmp_path: Path
) -> None:
    out = tmp_path / "hors-radars.csv"
    args = ["export", "density", "--workspace", str(demo_workspace), "--out", str(out)]
    assert main([*args, "--filter", "statut=hors radars"]) == 0
    table = pd.read_csv(out, sep=";", decimal=",", encoding="utf-8-sig")
    shown = table["Contacts (protégés)"].dropna()
    assert len(shown) and ((shown == 0) | (shown >= 11)).all() and (shown >= 11).any()
    assert table["Contacts (protégés)"].isna().any()
    assert set(table["Libellé"].dropna()) >= {"< 11", "secret"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("statut", "FILTRE=VALEUR"),
        ("couleur=bleu", "filtre inconnu"),
        ("sexe=X", "valeur inconnue"),
    ],
)
def test_export_bad_filter_is_one_line(
    demo_workspace: Path, tmp_path: Path, value: str, message: str
) -> None:
    out = tmp_path / "d.csv"
    result = run(
        "export", "density", "--workspace", demo_workspace, "--out", out, "--filter", value
    )
    assert result.returncode == 2 and message in result.stderr
    assert result.stderr.count("\n") == 1 and not out.exists()


@pytest.mark.parametrize("suffix", [".gpkg", ".csv"])
def test_export_other_formats(demo_workspace: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"communes{suffix}"
    assert main(["export", "communes", "--workspace", str(demo_workspace), "--out", str(out)]) == 0
    assert out.stat().st_size > 0


def test_contacts_cannot_be_exported_row_by_row(demo_workspace: Path, tmp_path: Path) -> None:
    result = run("export", "contacts", "--workspace", demo_workspace, "--out", tmp_path / "c.csv")
    assert result.returncode == 2
    assert "protégés" in result.stderr and "Traceback" not in result.stderr


def test_export_partage_prints_one_line(demo_workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "partage.gpkg"
    result = run(
        "export-partage", out, "--workspace", demo_workspace, "--territoire", "Communes rurales"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stdout.startswith(f"Fichier partageable écrit : {out} (« Communes rurales »)")
    layers = {str(name) for name, _ in pyogrio.list_layers(out)}
    assert {"communes", "density", "indicators_communes", "shareable_metadata"} <= layers
    assert not any("contact" in name for name in layers)


@pytest.mark.parametrize(
    ("name", "extra", "message"),
    [
        ("partage.csv", [], "GeoPackage"),
        ("partage.gpkg", ["--territoire", "Nulle part"], "« Nulle part » inconnu"),
        (None, [], "remplacer l'espace de travail"),
    ],
)
def test_export_partage_errors_are_one_line(
    demo_workspace: Path, tmp_path: Path, name: str | None, extra: list[str], message: str
) -> None:
    out = demo_workspace if name is None else tmp_path / name
    result = run("export-partage", out, "--workspace", demo_workspace, *extra)
    assert result.returncode == 2 and message in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("territory : erreur :")
    assert result.stdout == "" and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", [None, b"", b"garbage" * 40])
def test_missing_empty_or_corrupted_workspace_is_one_line(tmp_path: Path, content) -> None:
    path = tmp_path / "w.gpkg"
    if content is not None:
        path.write_bytes(content)
    result = run("info", "--workspace", path, "--json")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("territory : erreur :")


def test_import_real_communes_then_france_services(tmp_path: Path) -> None:
    ws = tmp_path / "calvados.gpkg"
    communes = run(
        "import",
        "communes",
        shared_file("communes-14-calvados.geojson"),
        "--workspace",
        ws,
        "--create",
        "Calvados",
        "--json",
    )
    assert communes.returncode == 0, communes.stderr
    report = json.loads(communes.stdout)
    assert report["read"] == report["accepted"] + report["refused"] == 537
    partners = run(
        "import",
        "partners",
        shared_file("france_services_20240801.geojson"),
        "--workspace",
        ws,
        "--json",
    )
    assert partners.returncode == 0, partners.stderr
    report = json.loads(partners.stdout)
    # the national list: Calvados' 45 sites and its neighbours' within 10 km are kept
    assert 45 <= report["accepted"] < 80
    assert report["read"] == report["accepted"] + report["refused"] + report["pending"] == 223
    assert all("hors du territoire" in r["reason"] for r in report["refusals"])


def test_several_communes_files_make_one_territory(tmp_path: Path) -> None:
    """Nord and Pas-de-Calais in one command: both kept (each file used to replace the last)."""
    ws = tmp_path / "npdc.gpkg"
    nord, pdc = (
        shared_file("communes-59-nord.geojson"),
        shared_file("communes-62-pas-de-calais.geojson"),
    )
    both = run("import", "communes", nord, pdc, "--workspace", ws, "--create", "NPdC", "--json")
    assert both.returncode == 0, both.stderr
    first, second = json.loads(both.stdout)
    assert (first["accepted"], second["accepted"]) == (648, 891)
    assert any("891 commune(s) ajoutée(s) aux 648" in n for n in second["notes"])
    info = json.loads(run("info", "--workspace", ws, "--json").stdout)
    assert info["layers"]["communes"]["count"] == 648 + 891
    calvados = shared_file("communes-14-calvados.geojson")
    assert run("import", "communes", calvados, "--workspace", ws, "--add").returncode == 0
    assert (
        json.loads(run("info", "--workspace", ws, "--json").stdout)["layers"]["communes"]["count"]
        == 648 + 891 + 537
    )
    assert run("import", "communes", calvados, "--workspace", ws).returncode == 0  # replaces
    assert (
        json.loads(run("info", "--workspace", ws, "--json").stdout)["layers"]["communes"]["count"]
        == 537
    )


def test_wrong_kind_of_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "communes.csv"
    bad.write_text("a,b\n1,2\n")
    result = run("import", "communes", bad, "--workspace", tmp_path / "w.gpkg", "--create", "X")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1


def test_demo_refuses_to_overwrite_and_if_missing_keeps(demo_workspace: Path) -> None:
    again = run("demo", "--workspace", demo_workspace)
    assert again.returncode == 2 and "existe déjà" in again.stderr
    keep = run("demo", "--workspace", demo_workspace, "--if-missing")
    assert keep.returncode == 0


def test_demo_scales_include_the_region(demo_workspace: Path) -> None:
    keep = run("demo", "--workspace", demo_workspace, "--scale", "region", "--if-missing")
    assert keep.returncode == 0 and "déjà présent" in keep.stdout
    bad = run("demo", "--workspace", demo_workspace, "--scale", "pays")
    assert bad.returncode == 2 and "'region'" in bad.stderr and "Traceback" not in bad.stderr


def contacts_workspace(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A workspace with the two test communes, and an environment with a private secret."""
    import os

    import geopandas as gpd
    import shapely

    from territory.store import Workspace

    communes = gpd.GeoDataFrame(
        {"code": ["00001", "00002"], "population": [1000, 500]},
        geometry=[shapely.box(2.70, 46.40, 2.76, 46.50), shapely.box(2.76, 46.40, 2.80, 46.50)],
        crs=4326,
    )
    ws = Workspace.create(tmp_path / "w.gpkg", name="Essai")
    ws.write_layer("communes", communes, source="test", vintage="")
    return ws.path, {**os.environ, "TERRITORY_SECRET_PATH": str(tmp_path / "secret" / "key")}


def run_env(env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "territory.cli", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def test_import_contacts_json_names_the_refused_rows_file(tmp_path: Path) -> None:
    from samples import ROWS, write

    ws, env = contacts_workspace(tmp_path)
    source = write(tmp_path / "equipe.csv", ROWS)
    result = run_env(env, "import", "contacts", source, "--workspace", ws, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["read"] == report["accepted"] + report["refused"] + report["pending"] == 8
    assert report["refused"] == 3 and report["pending"] == 0
    assert report["refused_file"] == str(tmp_path / "equipe.refus.csv")
    assert report["pending_file"] is None
    assert (tmp_path / "equipe.refus.csv").read_text(encoding="utf-8-sig").count("\n") == 4


def test_purge_command(tmp_path: Path) -> None:
    from samples import spanning_years

    ws, env = contacts_workspace(tmp_path)
    source = spanning_years(tmp_path / "c.csv")
    # imported while the programme kept contacts five years (the file spans 2022-2026)
    kept_longer = {**env, "TERRITORY_RETENTION_MONTHS": "60"}
    assert run_env(kept_longer, "import", "contacts", source, "--workspace", ws).returncode == 0
    common = ("purge", "--workspace", ws, "--today", "2026-03-15")
    result = run_env(env, *common, "--older-than", "24m")
    assert result.returncode == 0, result.stderr
    # the count is published like any other (30 contacts: perturbed, rounded to 5)
    said = re.fullmatch(
        r"(\d+) contact\(s\) supprimé\(s\) \(antérieurs au 2024-03-15, valeur protégée\)",
        result.stdout.strip(),
    )
    assert said is not None and int(said.group(1)) % 5 == 0 and 20 <= int(said.group(1)) <= 40
    result = run_env(env, *common)  # default: settings.retention_months (24)
    assert result.stdout.startswith("0 contact(s) supprimé(s) (antérieurs au 2024-03-15")
    result = run_env({**env, "TERRITORY_RETENTION_MONTHS": "6"}, *common)
    assert "(antérieurs au 2025-09-15" in result.stdout
    # 5 contacts of the last month: fewer than k people, never a number
    assert run_env(env, *common, "--older-than", "1").stdout.startswith("< 11 contact(s)")


@pytest.mark.parametrize("value", ["24 ans", "0", "2m4", "x"])
def test_purge_bad_duration_is_one_line(tmp_path: Path, value: str) -> None:
    ws, env = contacts_workspace(tmp_path)
    result = run_env(env, "purge", "--workspace", ws, "--older-than", value)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "--older-than" in result.stderr


def test_priorities_json_and_ranking_export(demo_workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "priorites.geojson"
    result = run("priorities", "--workspace", demo_workspace, "--json", "--out", out)
    assert result.returncode == 0, result.stderr
    zones = json.loads(result.stdout)
    assert zones and [z["rang"] for z in zones] == list(range(1, len(zones) + 1))
    assert all(z["reasons"] and {"code", "name", "score", "components"} <= z.keys() for z in zones)
    features = json.loads(out.read_text())["features"]
    assert [f["properties"]["code"] for f in features] == [z["code"] for z in zones]
    assert features[0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    # the weights move the ranking: access alone puts the farthest from partners first
    access = run("priorities", "--workspace", demo_workspace, "--json",
                 "--weights", "need=0,coverage=0,access=1,mobility=0")  # fmt: skip
    assert json.loads(access.stdout)[0]["code"] != zones[0]["code"]


def test_when_json_for_a_zone(demo_workspace: Path) -> None:
    first = json.loads(run("priorities", "--workspace", demo_workspace, "--json").stdout)[0]
    result = run("when", "--workspace", demo_workspace, "--zone", first["code"], "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["slots"] and all("phrase" in s for s in answer["slots"])


def test_when_several_zones_in_one_call(demo_workspace: Path) -> None:
    ranked = json.loads(run("priorities", "--workspace", demo_workspace, "--json").stdout)
    codes = [z["code"] for z in ranked[:3]]
    result = run("when", "--workspace", demo_workspace, "--zone", *codes, "--json")
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    assert [a["code"] for a in answers] == codes
    text = run("when", "--workspace", demo_workspace, "--zone", *codes).stdout
    assert all(f"({code})" in text for code in codes)


# --- a fast command line -------------------------------------------------------------------

HEAVY = ("geopandas", "pandas", "shapely", "pyproj", "folium", "ortools", "streamlit")


def test_help_and_package_import_load_no_heavy_library() -> None:
    probe = (
        "import contextlib, io, sys\n"
        "import territory\n"
        "from territory.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['import', '--help'])\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_debug_comes_from_the_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import territory.cli as cli

    def bug(*_: object) -> int:
        raise RuntimeError("bogue\nsur deux lignes")

    monkeypatch.setattr(cli, "_info", bug)
    args = ["info", "--workspace", str(tmp_path / "w.gpkg")]
    monkeypatch.delenv("TERRITORY_DEBUG", raising=False)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "erreur inattendue" in err and "TERRITORY_DEBUG=1" in err
    assert "bogue" not in err and "RuntimeError" not in err and err.count("\n") == 1
    monkeypatch.setenv("TERRITORY_DEBUG", "1")
    with pytest.raises(RuntimeError, match="bogue"):
        main(args)
    monkeypatch.setenv("TERRITORY_DEBUG", "0")  # a flag: "0" is off
    assert main(args) == 2


def test_batches_list_and_undo(tmp_path: Path) -> None:
    from samples import ROWS, write

    ws, env = contacts_workspace(tmp_path)
    source = write(tmp_path / "equipe.csv", ROWS)
    imported = run_env(env, "import", "contacts", source, "--workspace", ws, "--auteur", "camille")
    assert imported.returncode == 0, imported.stderr
    assert "lot n° 1" in imported.stdout
    listed = run_env(env, "batches", "list", "--workspace", ws)
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split() == ["Lot", "Type", "Auteur", "Date", "Fichier", "Comptes", "État"]
    assert row.split()[:3] == ["1", "contacts", "camille"] and "equipe.csv" in row
    assert "8 lue(s), 5 acceptée(s)" in row and row.endswith("actif")

    undone = run_env(env, "batches", "undo", "1", "--workspace", ws)
    assert undone.returncode == 0, undone.stderr
    assert undone.stdout.strip() == "Lot 1 annulé (annulation n° 2) : lot 1 — 5 ligne(s) effacée(s)"
    data = json.loads(run_env(env, "batches", "list", "--workspace", ws, "--json").stdout)
    assert [(b["id"], b["kind"], b["state"]) for b in data] == [
        (1, "contacts", "undone"),
        (2, "undo", "done"),
    ]
    info = json.loads(run_env(env, "info", "--workspace", ws, "--json").stdout)
    assert info["layers"]["density"]["count"] == 0  # no contact left


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("undo", "42"), "lot 42 inconnu"),
        (("undo", "1"), "lot 1 : déjà annulé"),
        (("undo", "deux"), "invalid int value"),
    ],
)
def test_batches_undo_errors_are_one_line_with_exit_code_2(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    from samples import ROWS, write

    ws, env = contacts_workspace(tmp_path)
    run_env(env, "import", "contacts", write(tmp_path / "c.csv", ROWS), "--workspace", ws)
    assert run_env(env, "batches", "undo", "1", "--workspace", ws).returncode == 0
    result = run_env(env, "batches", *args, "--workspace", ws)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in result.stderr
    if message != "invalid int value":  # argparse's own usage lines
        assert result.stderr.count("\n") == 1


def test_library_errors_reach_the_user_in_french(tmp_path: Path) -> None:
    """No codec name, SQLite English text nor temporary path in an error line (#19)."""
    teams = tmp_path / "equipes.csv"
    teams.write_bytes("nom;mode\nÉquipe;marche\n".encode("utf-16"))
    bad = tmp_path / "bad.gpkg"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00garbage" * 200)
    from territory import TerritoryError
    from territory.rounds.week import read_teams
    from territory.store import Workspace

    for attempt in (lambda: read_teams(teams), lambda: Workspace.open(bad).version):
        with pytest.raises(TerritoryError) as error:
            attempt()
        text = str(error.value)
        assert str(tmp_path) not in text and "codec" not in text and "database" not in text
    result = run("import", "contacts", tmp_path / "c.csv", "--workspace", bad, "--mapping", "{")
    assert result.returncode == 2 and "Expecting" not in result.stderr


def demo_copy(demo_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the demo workspace, with its own pseudonym secret."""
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    monkeypatch.setenv("TERRITORY_SECRET_PATH", str(tmp_path / "secret.key"))
    return path


def test_plan_restore_saves_an_earlier_version_again(
    demo_workspace: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    from territory.rounds.week import load_plan, plan_history, save_edited
    from territory.store import Workspace

    path = demo_copy(demo_workspace, tmp_path, monkeypatch)
    week = ["--week", "2026-W49", "--workspace", str(path)]
    assert main(["plan", *week, "--time-limit", "1"]) == 0
    ws = Workspace.open(path)
    first = load_plan(ws, "2026-W49")
    save_edited(ws, "2026-W49", first.visits.iloc[:3], change="3 gardées", base_version=1)
    capsys.readouterr()

    assert main(["plan", "restore", *week, "--version", "1", "--auteur", "chef"]) == 0
    out = capsys.readouterr().out.strip()
    assert (
        out
        == f"Semaine 2026-W49 : version 1 restaurée comme version 3 ({len(first.visits)} visite(s))"
    )
    history = plan_history(ws, "2026-W49")
    assert history[["version", "author"]].iloc[-1].tolist() == [3, "chef"]
    assert history["change"].iloc[-1] == "restauration de la version 1"
    assert len(load_plan(ws, "2026-W49").visits) == len(first.visits)


def test_plan_for_a_territory_with_team_sectors_from_the_teams_file(
    demo_workspace: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    """#20: ``--territory NOM`` plans one programme territory; a ``secteur`` column."""
    from territory.rounds.week import load_plan
    from territory.store import Workspace
    from territory.territories import resolve

    path = demo_copy(demo_workspace, tmp_path, monkeypatch)
    teams = Workspace.open(path).read_table("teams").drop(columns="secteur")
    teams["Secteur"] = ["", "200000001", "Communes rurales"]
    teams.to_csv(tmp_path / "equipes.csv", sep=";", index=False)
    week = ["--week", "2026-W49", "--workspace", str(path), "--time-limit", "2"]
    args = ["plan", *week, "--teams", str(tmp_path / "equipes.csv")]
    assert main([*args, "--territory", "Communes rurales"]) == 0
    out = capsys.readouterr().out
    assert "note : Plan du territoire « Communes rurales »" in out
    assert "Sans secteur, 1 équipe(s)" in out and "Équipe centre" in out
    ws = Workspace.open(path)
    assert load_plan(ws, "2026-W49") is None  # the territory's week: its own versions
    visits = load_plan(ws, "2026-W49", territory="Communes rurales").visits
    teams = ws.read_table("teams").set_index("nom")["territory"]
    assert teams["Équipe rurale"] == "Communes rurales"  # its sector names the territory
    assert teams["Équipe quartiers"] == ""  # an EPCI: the territory it was stored with
    rural = resolve(ws, "Communes rurales")
    assert len(visits) and set(visits["zone"]) <= rural
    # the EPCI's team never leaves its sector
    agglomeration = resolve(ws, "Agglomération de l'Ardoise")
    assert set(visits.loc[visits["team"] == "Équipe quartiers", "zone"]) <= agglomeration
    assert main(["plan", *week, "--hors-secteur"]) == 0
    assert main(["plan", *week, "--territory", "Nulle part"]) == 2
    assert "territoire « Nulle part » inconnu" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--version N (la version à restaurer) est requis"),
        (("--version", "7"), "version 7 inconnue pour 2026-W49"),
    ],
)
def test_plan_restore_errors_are_one_line_with_exit_code_2(
    demo_workspace: Path, tmp_path: Path, capsys, monkeypatch, args, message
) -> None:
    path = demo_copy(demo_workspace, tmp_path, monkeypatch)
    week = ["--week", "2026-W49", "--workspace", str(path)]
    assert main(["plan", *week, "--time-limit", "1"]) == 0
    capsys.readouterr()
    assert main(["plan", "restore", *week, *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("territory : erreur : ") and message in err and err.count("\n") == 1


def test_import_feuille_picks_the_sheet_of_a_workbook(
    demo_workspace: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    """#19: ``--feuille NOM``; without it, several candidate sheets are one French line."""
    from samples import xlsx

    from territory.store import Workspace

    path = demo_copy(demo_workspace, tmp_path, monkeypatch)
    communes = Workspace.open(path).read_layer("communes").to_crs(4326)
    point = communes.geometry.iloc[0].representative_point()
    rows = [["Nom du lieu", "Type", "Longitude", "Latitude"]]
    rows.append(["Marché du jeudi", "marché", f"{point.x:.6f}", f"{point.y:.6f}"])
    book = tmp_path / "lieux.xlsx"
    book.write_bytes(xlsx({"Brouillon": rows, "Lieux": rows, "Notes": [["à voir"]]}))
    args = ["import", "places", str(book), "--workspace", str(path)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "« Brouillon », « Lieux », « Notes »" in err
    assert main([*args, "--feuille", "Lieux", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accepted"] == 1
    assert "feuille « Lieux » lue ; feuilles ignorées : « Brouillon », « Notes »" in report["notes"]
    assert main([*args[:2], str(tmp_path / "x.csv"), *args[3:], "--feuille", "A"]) == 2
    assert "n'est pas un classeur" in capsys.readouterr().err


def test_fetch_places_offline_is_one_line_then_an_osm_extract_is_imported(
    demo_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import requests
    import responses

    from territory.io.sources import SOURCES
    from territory.store import Workspace

    ws = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, ws)
    monkeypatch.setenv("TERRITORY_CACHE_DIR", str(tmp_path / "cache"))
    with responses.RequestsMock() as mock:
        mock.get(SOURCES["osm_places"].url, body=requests.ConnectionError("hors ligne"))
        assert main(["fetch", "--lieux", "--workspace", str(ws)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        "territory : erreur : pas de connexion : importez un extrait OSM avec "
        "territory import places"
    )
    assert main(["fetch", "--workspace", str(ws)]) == 2  # neither a département nor --lieux
    assert "--departement" in capsys.readouterr().err
    point = Workspace.open(ws).read_layer("communes").to_crs(4326).representative_point().iloc[0]
    extract = tmp_path / "quartier.osm"
    extract.write_text(
        '<osm version="0.6">'
        f'<node id="7" lat="{point.y}" lon="{point.x}"><tag k="leisure" v="park"/></node>'
        '<node id="8" lat="1" lon="1"><tag k="leisure" v="park"/></node>'
        "</osm>",
        encoding="utf-8",
    )
    assert main(["import", "places", str(extract), "--workspace", str(ws), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["read"], report["accepted"], report["refused"]) == (2, 1, 1)
    assert report["refusals"][0]["reason"] == "hors du territoire (aucune commune)"


def test_plan_teams_with_a_base_address_needs_the_ban_or_the_online_opt_in(
    demo_workspace: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    """#20 item 8: « Adresse de la base » instead of coordinates; online BAN only on opt-in."""
    import responses

    from territory.io.geocoding import BAN_CSV_URL
    from territory.store import Workspace

    path = demo_copy(demo_workspace, tmp_path, monkeypatch)
    monkeypatch.setenv("TERRITORY_CACHE_DIR", str(tmp_path / "cache"))
    teams = Workspace.open(path).read_table("teams")
    lon, lat = float(teams.loc[0, "base_lon"]), float(teams.loc[0, "base_lat"])
    teams["Adresse de la base"] = ["1 place de la Mairie", "", ""]
    teams.loc[0, ["base_lon", "base_lat"]] = None
    teams.to_csv(tmp_path / "equipes.csv", sep=";", index=False)
    week = ["--week", "2026-W49", "--workspace", str(path), "--time-limit", "2"]
    args = ["plan", *week, "--teams", str(tmp_path / "equipes.csv")]
    assert main(args) != 0
    err = capsys.readouterr().err
    assert f"équipe « {teams.loc[0, 'nom']} » : base introuvable" in err
    assert "géocodage en ligne non demandé" in err
    with responses.RequestsMock() as mock:
        mock.post(
            BAN_CSV_URL,
            body="id,adresse,code_insee,latitude,longitude,result_label,result_score\n"
            f"0,1 place de la Mairie,,{lat},{lon},1 Place de la Mairie,0.9\n",
        )
        assert main([*args, "--geocodage-en-ligne"]) == 0
        assert len(mock.calls) == 1
    stored = Workspace.open(path).read_table("teams")
    assert stored.loc[0, ["base_lon", "base_lat"]].tolist() == pytest.approx([lon, lat])
