"""``territory run PARAMS.yaml``: a checked parameters file → every output, the same bytes.

The demo workspace (contacts through the real importer) is run twice from the same file
into two folders, the second time by the command line in another process with another
hash seed: every output, the week's plan included, and ``run.json`` itself must have the
same SHA-256, and a changed parameter must change the parameters hash. Bad files are refused
with every problem at once, one French line and exit code 2 on the command line.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pyogrio
import pytest
import yaml

from territory import Settings, ValidationError
from territory.cli import main
from territory.runs import MANIFEST, OUTPUTS, load_parameters, run, run_file

ROOT = Path(__file__).resolve().parents[2]

FULL = {
    "date": "2026-12-01",
    "outputs": {
        "package": {"crs": "EPSG:2154"},
        "density": None,
        "indicators": {"zones": "qpv"},
        "ranking": {"weights": {"need": 2}},
        "hot_spots": {"permutations": 199, "seed": 11},
        "accessibility": {"mode": "vélo", "decay": "gaussian"},
        "plan": {"week": "2026-W49", "solutions": 10},
    },
}


def write_params(folder: Path, workspace: Path, out: str, **values: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{out}.yaml"
    data = {"workspace": str(workspace), "output_dir": out, **values}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def two_runs(
    demo_workspace: Path, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("runs")
    first = run_file(write_params(folder, demo_workspace, "a", **FULL), settings=settings)
    # The second run in another process: nothing may hang on this process's state, its
    # string hash seed (set iteration order) or its clock.
    command = [
        sys.executable,
        "-m",
        "territory.cli",
        "run",
        str(write_params(folder, demo_workspace, "b", **FULL)),
    ]
    env = {
        **os.environ,
        "PYTHONHASHSEED": "4242",
        "TERRITORY_SECRET_PATH": str(settings.secret_path),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return first.output_dir, folder / "b"


def test_the_same_file_and_data_give_the_same_bytes(two_runs: tuple[Path, Path]) -> None:
    first, second = two_runs
    manifest = json.loads((first / MANIFEST).read_text(encoding="utf-8"))
    again = json.loads((second / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["parameters_hash"] == again["parameters_hash"]
    names = {e["file"] for e in manifest["outputs"]}
    assert names == {p.name for p in first.iterdir()} - {MANIFEST}
    assert {e["output"] for e in manifest["outputs"]} == set(OUTPUTS)
    for entry in manifest["outputs"]:
        assert entry["reproducible"], entry
        assert sha256(first / entry["file"]) == entry["sha256"], entry["file"]
        assert sha256(second / entry["file"]) == entry["sha256"], entry["file"]
    assert len(manifest["outputs"]) == 9  # gpkg, datapackage.json, methodes.md, six layers
    assert sha256(first / MANIFEST) == sha256(second / MANIFEST)


def test_the_plan_is_searched_for_a_number_of_solutions(two_runs: tuple[Path, Path]) -> None:
    import ortools

    first, _ = two_runs
    manifest = json.loads((first / MANIFEST).read_text(encoding="utf-8"))
    (entry,) = [e for e in manifest["outputs"] if e["output"] == "plan"]
    assert entry["search"] == {
        "solutions": 10,
        "max_seconds": 300.0,
        "stopped_by": "solutions",
        "ortools": ortools.__version__,
    }
    plan = json.loads((first / entry["file"]).read_text(encoding="utf-8"))
    assert plan["visits"] and plan["objective"] > 0


def test_the_manifest_says_what_made_the_outputs(two_runs: tuple[Path, Path]) -> None:
    manifest = json.loads((two_runs[0] / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["software"].startswith("territory ")
    assert manifest["protection"]["k"] == 11 and manifest["protection"]["rounding"] == 5
    parameters = manifest["parameters"]
    assert parameters["protection"] == {"k": 11, "rounding": 5}
    assert parameters["outputs"]["hot_spots"]["seed"] == 11
    assert parameters["outputs"]["accessibility"]["catchment_min"] == 30.0  # the default
    canonical = json.dumps(parameters, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert manifest["parameters_hash"] == hashlib.sha256(canonical.encode()).hexdigest()
    layers = manifest["workspace"]["layers"]
    assert "contacts" not in layers and "density" in layers
    assert layers["communes"]["vintage"] and layers["communes"]["count"] == 40
    assert "output_dir" not in parameters  # where the files go changes none of them


def test_the_outputs_hold_published_values_only(two_runs: tuple[Path, Path]) -> None:
    first = two_runs[0]
    with sqlite3.connect(first / "evaluation.gpkg") as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        srs = {r[0] for r in con.execute("SELECT srs_id FROM gpkg_geometry_columns")}
    assert not {t for t in tables if "contact" in t and "density" not in t}
    assert srs == {2154}
    density = pyogrio.read_dataframe(first / "density.geojson")
    shown = density["count"].dropna()
    assert (shown.eq(0) | shown.ge(11)).all() and shown.mod(5).eq(0).all()
    spots = pyogrio.read_dataframe(first / "hot-spots.geojson")
    assert {"z", "p", "q", "classe"} <= set(spots.columns)
    assert set(spots["zone"]) <= set(density["zone"])  # no finer geography than published


def test_a_changed_parameter_changes_the_hash_and_the_output(
    demo_workspace: Path, settings: Settings, tmp_path: Path
) -> None:
    base = {"date": "2026-12-01", "outputs": {"hot_spots": {"permutations": 99, "seed": 1}}}
    changed = {"date": "2026-12-01", "outputs": {"hot_spots": {"permutations": 99, "seed": 2}}}
    one = load_parameters(write_params(tmp_path, demo_workspace, "one", **base), settings=settings)
    same = load_parameters(
        write_params(tmp_path, demo_workspace, "same", **base), settings=settings
    )
    two = load_parameters(
        write_params(tmp_path, demo_workspace, "two", **changed), settings=settings
    )
    assert one.digest == same.digest != two.digest
    first, second = run(one, settings=settings), run(two, settings=settings)
    assert first.manifest["parameters_hash"] != second.manifest["parameters_hash"]
    hashes = [r.manifest["outputs"][0]["sha256"] for r in (first, second)]
    assert hashes[0] != hashes[1]  # another seed, other permutation p values
    stricter = run(one, settings=Settings(k=15, secret_path=settings.secret_path))
    assert stricter.manifest["parameters_hash"] != first.manifest["parameters_hash"]


def test_territories_write_one_file_each(
    demo_workspace: Path, settings: Settings, tmp_path: Path
) -> None:
    params = write_params(
        tmp_path,
        demo_workspace,
        "t",
        date="2026-12-01",
        territories=["Communes rurales", "Agglomération de l'Ardoise"],
        period="2026-T1",
        outputs={"density": None, "hot_spots": {"permutations": 99}},
    )
    report = run_file(params, settings=settings)
    assert sorted(p.name for p in report.files) == [
        "density-agglomeration-de-l-ardoise.geojson",
        "density-communes-rurales.geojson",
        "hot-spots-agglomeration-de-l-ardoise.geojson",
        "hot-spots-communes-rurales.geojson",
        MANIFEST,
    ]
    assert [e["territory"] for e in report.manifest["outputs"]] == [
        "Communes rurales",
        "Agglomération de l'Ardoise",
    ] * 2
    quarter = pyogrio.read_dataframe(report.output_dir / "density-communes-rurales.geojson")
    spots = pyogrio.read_dataframe(report.output_dir / "hot-spots-communes-rurales.geojson")
    assert set(spots["zone"]) <= set(quarter["zone"])
    assert (
        spots["count"].dropna()
        == quarter.set_index("zone")["count"][spots["zone"]].dropna().to_numpy()
    ).all()


def test_every_problem_of_a_file_is_reported_at_once(
    demo_workspace: Path, settings: Settings, tmp_path: Path
) -> None:
    params = write_params(
        tmp_path,
        demo_workspace,
        "bad",
        k=5,
        couleur="rouge",
        date="hier",
        territories=["Nulle part"],
        period="2031-T1",
        outputs={
            "density": None,
            "carte": None,
            "hot_spots": {"permutations": "beaucoup", "method": "arcgis"},
            "ranking": {"weights": {"need": -1, "besoin": 2}},
            "plan": {"solutions": 0},
        },
    )
    with pytest.raises(ValidationError) as caught:
        load_parameters(params, settings=settings)
    problems = caught.value.problems
    expected = [
        "k : le seuil k n'est pas un paramètre de run",
        "couleur : clé inconnue",
        "date : attendu une date",
        "territories : territoire inconnu « Nulle part »",
        "period : trimestre 2031-T1 non publié",
        "outputs.carte : sortie inconnue",
        "outputs.hot_spots.permutations : attendu un nombre entier",
        "outputs.hot_spots.method : attendu l'une des valeurs gi, moran",
        "outputs.ranking.weights.need : attendu un nombre positif",
        "outputs.ranking.weights.besoin : groupe inconnu",
        "outputs.plan.week : semaine obligatoire",
        "outputs.plan.solutions : au moins 1 solution",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert len(problems) == len(expected)


def test_a_missing_workspace_and_missing_keys_are_named(tmp_path: Path) -> None:
    params = tmp_path / "p.yaml"
    params.write_text("workspace: absent.gpkg\noutputs: [density]\n", encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load_parameters(params)
    assert caught.value.problems == [
        "output_dir : clé obligatoire manquante",
        "workspace : espace de travail introuvable (absent.gpkg)",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("workspace: [unclosed\n", "n'est pas un YAML valide (ligne"),
        ("- a\n- b\n", "attendu des clés"),
        ("workspace: w.gpkg\noutput_dir: o\noutputs: [density]\nk: 3\n", "le seuil k"),
        ("workspace: 12\noutput_dir: o\noutputs: {density: 1}\n", "workspace : attendu un chemin"),
    ],
)
def test_the_command_prints_one_french_line_and_exits_2_on_a_bad_file(
    text: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params = tmp_path / "params.yaml"
    params.write_text(text, encoding="utf-8")
    assert main(["run", str(params)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("territory : erreur : "), captured.err
    assert expected in lines[0] and "Traceback" not in captured.err


def test_a_missing_or_binary_file_is_one_french_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(tmp_path / "absent.yaml")]) == 2
    assert "fichier de paramètres introuvable" in capsys.readouterr().err
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00workspace")
    assert main(["run", str(tmp_path / "binary.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "n'est pas un texte UTF-8" in err


def test_the_command_runs_a_file(
    demo_workspace: Path, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("TERRITORY_SECRET_PATH", str(settings.secret_path))
    params = write_params(tmp_path, demo_workspace, "cli", date="2026-12-01", outputs=["ranking"])
    assert main(["run", str(params), "--json"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert [e["file"] for e in manifest["outputs"]] == ["ranking.geojson"]
    assert (tmp_path / "cli" / "ranking.geojson").is_file()


def test_a_failed_run_leaves_the_output_folder_as_it_was(
    demo_workspace: Path, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import territory.runs as runs

    out = tmp_path / "kept"
    out.mkdir()
    (out / "density.geojson").write_text("earlier run", encoding="utf-8")
    params = write_params(
        tmp_path, demo_workspace, "kept", date="2026-12-01", outputs=["density", "ranking"]
    )

    def broken(*args: object) -> list[Path]:
        raise RuntimeError("disk full")

    monkeypatch.setitem(runs._WRITERS, "ranking", broken)
    with pytest.raises(RuntimeError):
        run_file(params, settings=settings)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".territory-run-")] == []
    assert [p.name for p in out.iterdir()] == ["density.geojson"]
    assert (out / "density.geojson").read_text(encoding="utf-8") == "earlier run"
    fresh = write_params(tmp_path, demo_workspace, "fresh", outputs=["density", "ranking"])
    with pytest.raises(RuntimeError):
        run_file(fresh, settings=settings)
    assert not (tmp_path / "fresh").exists()


def test_the_example_parameters_file_is_valid(
    demo_workspace: Path, settings: Settings, tmp_path: Path
) -> None:
    """``examples/params.yaml`` (documented in the README) checks out on the demo."""
    example = yaml.safe_load((ROOT / "examples" / "params.yaml").read_text(encoding="utf-8"))
    assert set(example["outputs"]) == set(OUTPUTS)
    assert example["workspace"] == "../workspaces/demo.gpkg"
    shutil.copyfile(demo_workspace, tmp_path / "demo.gpkg")
    example["workspace"] = "demo.gpkg"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(example, allow_unicode=True), "utf-8")
    loaded = load_parameters(tmp_path / "params.yaml", settings=settings)
    assert loaded.output_dir == (tmp_path.parent / "runs" / "demo").resolve()
    assert loaded.workspace == (tmp_path / "demo.gpkg").resolve()
    assert loaded.values["outputs"]["hot_spots"]["permutations"] == 999


def test_the_packages_indicators_follow_the_runs_date_not_the_clock(
    demo_workspace: Path, settings: Settings, tmp_path: Path
) -> None:
    """Without a GTFS reference day the indicators' moment is the Tuesday after ``today``."""
    from datetime import date

    from territory.export import shareable_layers
    from territory.store import Workspace

    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    ws = Workspace.open(path)
    ws.set_property("gtfs_reference_day", "")
    layers, _, _ = shareable_layers(ws, settings=settings, today=date(2026, 11, 1))
    rows = [
        str(row)
        for frame, _ in layers.values()
        for row in frame.astype(str).itertuples(index=False)
        if "moment_indicateurs" in str(row)
    ]
    assert rows and all("2026-11-03T17:00" in row for row in rows), rows
