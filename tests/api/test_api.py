"""The notebook API: light to import, keyword-only and typed, the app's protected functions.

Its ``Examples`` run as doctests on the demo workspace (the root ``conftest.py``); here, what a
doctest cannot say: the signatures, the import cost, that each function returns what the
app's own function returns, that none of them reads contacts, and the example notebook
(``examples/evaluation.py``, a jupytext percent script) run as a script on the demo.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import subprocess
import sys
import typing
from pathlib import Path

import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal

import territory.api as tt
from territory import Settings, ValidationError
from territory.analysis.priority import Weights, priorities
from territory.export import ranking_layer
from territory.store import Workspace
from territory.views import accessibility_layer, density_layer, hot_spots_layer

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "geopandas", "numpy", "shapely", "pyogrio", "scipy", "ortools", "streamlit")


def public_functions() -> list[tuple[str, typing.Any]]:
    return [
        (name, getattr(tt, name)) for name in tt.__all__ if inspect.isfunction(getattr(tt, name))
    ]


def test_the_namespace_lists_every_piece_of_the_issue() -> None:
    assert set(tt.__all__) >= {
        "open_workspace",
        "density",
        "indicators",
        "ranking",
        "when",
        "plan_week",
        "hot_spots",
        "accessibility",
        "export_package",
        "export_layer",
    }
    assert sorted(tt.__all__) == tt.__all__


@pytest.mark.parametrize("name", [n for n in tt.__all__ if inspect.isfunction(getattr(tt, n))])
def test_each_function_is_keyword_only_typed_and_documented_with_an_example(name: str) -> None:
    function = getattr(tt, name)
    parameters = list(inspect.signature(function).parameters.values())
    # the subject (a path or the opened workspace) first, every option after the star
    assert parameters[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters[1:]), name
    hints = typing.get_type_hints(function, globalns=vars(tt) | _typing_names())
    assert set(hints) == {p.name for p in parameters} | {"return"}, name
    doc = inspect.getdoc(function) or ""
    for section in ("Parameters\n----------", "Returns\n-------", "Examples\n--------"):
        assert section in doc, (name, section)
    assert ">>> import territory.api as tt" in doc or ">>> import tempfile" in doc


def _typing_names() -> dict[str, typing.Any]:
    """The names ``territory.api`` imports for type checking only."""
    import geopandas as gpd

    from territory.analysis.hotspots import HotSpots
    from territory.analysis.slots import WhenResult
    from territory.evaluation import PackageReport
    from territory.rounds.model import Plan

    return {
        "gpd": gpd,
        "pd": pd,
        "HotSpots": HotSpots,
        "WhenResult": WhenResult,
        "PackageReport": PackageReport,
        "Plan": Plan,
        "Workspace": Workspace,
        "Mapping": typing.Mapping,
        "Sequence": typing.Sequence,
    }


def test_importing_the_api_loads_no_heavy_library() -> None:
    """``import territory.api`` costs what ``import territory`` costs (measured, not timed)."""
    code = (
        "import sys, time; t = time.perf_counter(); import territory.api; "
        "d = time.perf_counter() - t; import json; "
        f"print(json.dumps([d, sorted(m for m in {HEAVY!r} if m in sys.modules)]))"
    )
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    seconds, loaded = json.loads(done.stdout)
    assert loaded == [], f"import territory.api loaded {loaded} ({seconds:.2f} s)"


def test_the_api_reads_no_contact_and_no_raw_module() -> None:
    tree = ast.parse((ROOT / "src" / "territory" / "api.py").read_text(encoding="utf-8"))
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module is not None
    }
    assert not any(m.startswith("territory.privacy") for m in imported), imported
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not calls & {"query", "read_table", "read_layer", "group_counts", "read_arrow"}


@pytest.fixture(scope="module")
def opened(demo_workspace: Path, settings: Settings) -> tt.Opened:
    return tt.open_workspace(demo_workspace, settings=settings)


def test_the_handle_offers_no_row_method_and_lists_no_contact_table(opened: tt.Opened) -> None:
    assert not any(hasattr(opened, m) for m in ("query", "read_table", "read_layer"))
    layers = opened.layers()
    assert "contacts" not in set(layers["Couche"])
    assert "Densité de contacts (protégée)" in set(layers["Couche"])
    assert opened.k == 11


def test_a_workspace_that_is_not_there_is_one_french_error(tmp_path: Path) -> None:
    from territory import WorkspaceError

    with pytest.raises(WorkspaceError):
        tt.open_workspace(tmp_path / "absent.gpkg")


def test_density_is_the_apps_own_protected_layer(
    opened: tt.Opened, demo_workspace: Path, settings: Settings
) -> None:
    ws = Workspace.open(demo_workspace)
    assert_geodataframe_equal(tt.density(opened), density_layer(ws, settings=settings))
    quarter = tt.density(opened, period="2026-T1")
    expected = density_layer(ws, settings=settings, breakdown=("periode", "2026-T1"))
    assert_geodataframe_equal(quarter, expected)
    shown = quarter["count"].dropna()
    assert (shown.eq(0) | shown.ge(settings.k)).all() and (shown % settings.rounding == 0).all()
    assert shown.eq(0).any()  # a zone without contact that quarter shows 0, never 1..k-1
    with pytest.raises(ValidationError, match="valeur inconnue"):
        tt.density(opened, period="1999-T1")


def test_ranking_is_the_priorities_command(
    opened: tt.Opened, demo_workspace: Path, settings: Settings
) -> None:
    ws = Workspace.open(demo_workspace)
    got = tt.ranking(opened, weights={"need": 2, "mobility": 0.5})
    found = priorities(ws, settings=settings, weights=Weights(need=2, mobility=0.5))
    assert_geodataframe_equal(got, ranking_layer(found))
    with pytest.raises(ValidationError) as caught:
        tt.ranking(opened, weights={"besoin": 1, "need": -1})
    assert "besoin" in str(caught.value)


def test_indicators_hold_the_zones_and_their_protected_values(opened: tt.Opened) -> None:
    ind = tt.indicators(opened, zones="qpv")
    assert ind.crs.to_epsg() == 4326 and len(ind) == 4
    assert {"nom", "geometry"} <= set(ind.columns) and ind.index.is_unique


def test_hot_spots_and_accessibility_are_the_views_own(
    opened: tt.Opened, demo_workspace: Path, settings: Settings
) -> None:
    ws = Workspace.open(demo_workspace)
    spots = tt.hot_spots(opened, permutations=99, seed=7, method="moran")
    same = hot_spots_layer(ws, settings=settings, permutations=99, seed=7, method="moran")
    assert_geodataframe_equal(spots.frame, same.frame)
    assert spots.parameters == same.parameters and spots.parameters["k"] == settings.k
    acc = tt.accessibility(opened, mode="vélo", decay="none", catchment_min=20)
    frame, parameters = accessibility_layer(
        ws, settings=settings, mode="vélo", decay="none", catchment_min=20
    )
    assert_geodataframe_equal(acc, frame)
    assert acc.attrs["parametres"] == parameters


def test_when_and_the_plan_answer_on_the_demo(opened: tt.Opened) -> None:
    from datetime import date

    result = tt.when(opened, zone="00017", week_start=date(2026, 11, 30), top=2)
    assert result.code == "00017" and len(result.slots) <= 2
    plan, places = tt.plan_week(opened, week="2026-W49", time_limit=1)
    assert plan.visits and {v.place for v in plan.visits} <= set(places["id"].astype(str))


def test_the_example_notebook_runs_on_the_demo(
    demo_workspace: Path, settings: Settings, tmp_path: Path
) -> None:
    """``examples/evaluation.py`` run as a script: every cell, as a kernel would run them."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        "TERRITORY_WORKSPACE": str(demo_workspace),
        "TERRITORY_SECRET_PATH": str(settings.secret_path),
        "EVALUATION_OUT": str(tmp_path),
        "MPLBACKEND": "Agg",
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "evaluation.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Paquet d'évaluation écrit" in done.stdout
    assert (tmp_path / "evaluation.gpkg").is_file() and (tmp_path / "density.geojson").is_file()


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (tt.hot_spots, hot_spots_layer),
        (tt.accessibility, accessibility_layer),
        (tt.when, __import__("territory.analysis.slots", fromlist=["when"]).when),
        (tt.plan_week, __import__("territory.rounds.week", fromlist=["plan_week"]).plan_week),
        (tt.density, density_layer),
    ],
)
def test_the_apis_defaults_are_the_apps(ours: typing.Any, theirs: typing.Any) -> None:
    """Written out in ``territory.api`` to keep its import light; never different."""
    from territory.runs import OUTPUTS

    renamed = {"zones": "kind"}
    mine = inspect.signature(ours).parameters
    app = inspect.signature(theirs).parameters
    for name, parameter in mine.items():
        other = app.get(renamed.get(name, name))
        if other is None or inspect.Parameter.empty in (parameter.default, other.default):
            continue  # the app requires it (accessibility's mode), or the API does
        assert parameter.default == other.default, (ours.__name__, name)
    run_options = {"hot_spots": tt.hot_spots, "accessibility": tt.accessibility}
    for output, function in run_options.items():
        defaults = inspect.signature(function).parameters
        for name, option in OUTPUTS[output].items():
            assert option.default == defaults[name].default, (output, name)


def test_the_hot_spots_of_a_quarter_are_those_of_its_protected_density(
    opened: tt.Opened, demo_workspace: Path, settings: Settings
) -> None:
    ws = Workspace.open(demo_workspace)
    spots = tt.hot_spots(opened, period="2026-T1", permutations=99, seed=3)
    same = hot_spots_layer(
        ws, settings=settings, breakdown=("periode", "2026-T1"), permutations=99, seed=3
    )
    assert_geodataframe_equal(spots.frame, same.frame)
    assert spots.parameters["breakdown"] == "periode=2026-T1"
    quarter = tt.density(opened, period="2026-T1")
    assert set(spots.frame["zone"]) <= set(quarter["zone"])
