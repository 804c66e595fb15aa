"""The benchmark measures ours and the naive way in one run (behaviour, not budgets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import map_page as bench
from bench import smoothness as bench_smoothness
from bench._browser import chromium_path
from territory.settings import Settings


def test_map_benchmark_compares_with_the_naive_page(demo_workspace: Path, settings) -> None:
    figures = bench.map_page_benchmark(demo_workspace, settings=settings, repeats=1, browser=False)
    ratios = {k: v for k, v in figures.items() if "ratio" in k}
    assert set(ratios) == {"payload_ratio", "rerun_ratio"}
    assert all(v > 0 for v in ratios.values())
    assert figures["payload_bytes"] > 10_000 and figures["rerun_s"] > 0
    text = bench.table({"territories": {"demo": {**figures, "build_s": 1.0}}})
    assert "| demo | charge utile (Mo) |" in text


def test_contacts_benchmark_compares_with_the_naive_way(settings) -> None:
    figures = bench.contacts_benchmark((1_000, 2_000), settings=settings, communes=40)
    for n in (1_000, 2_000):
        for key in ("s", "s_naive", "ratio", "peak_mb", "peak_mb_naive"):
            assert f"contacts_{n}_{key}" in figures
        assert figures[f"contacts_{n}_ratio"] > 0
        assert figures[f"contacts_{n}_cells"] > 0
        assert f"contacts_{n}_naive_capped" not in figures
        # both ways stored their rows (ours: the malformed rows refused, about 0.4 %)
        stored, naive = figures[f"contacts_{n}_stored"], figures[f"contacts_{n}_stored_naive"]
        assert 0.98 * n < stored <= n and 0.98 * n < naive <= n
        # and published the same protected density
        assert figures[f"contacts_{n}_zones"] == figures[f"contacts_{n}_zones_naive"]
    assert figures["contacts_growth_2000_s"] > 0 and figures["contacts_growth_2000_s_naive"] > 0
    text = bench.table({"territories": {}, "contacts": figures})
    assert "| 2 000 | temps (s) |" in text


def test_table_lists_every_section() -> None:
    from bench import planning as bench_planning

    planner = bench_planning.planning_benchmark(
        sizes=(15,), budget_s=0.5, long_s=1.0, all_candidates=False, say=lambda _: None
    )
    priorities = {
        "zones": {"commune": 40, "qpv": 4, "cell": 1021},
        "cold_s": 3.1,
        "cold_runs_s": [3.1],
        "rerank_s": {"commune": 0.005, "qpv": 0.004, "cell": 0.03},
        "naive": {"total_s": 4.2},
        "naive_kinds": ["commune", "qpv"],
        "cold_same_kinds_s": 2.0,
        "cold_ratio": 2.1,
        "rerank_ratio": 453,
        "load_average_before": [1.0, 1.0, 1.0],
        "cpus": 2,
    }
    text = bench.table({"territories": {}, "priorities": {"demo": priorities}, "planner": planner})
    assert "[demo] Où et quand" in text and "×2.1" in text
    assert "Planificateur de tournées" in text and "| 15 |" in text


def test_real_extracts_make_a_six_departement_workspace(tmp_path: Path, settings) -> None:
    from conftest import shared_file

    from territory.store import Workspace

    real = shared_file("communes-59-nord.geojson").parent
    path = bench.real_extracts_workspace(tmp_path / "reel.gpkg", settings=settings, real=real)
    assert path is not None
    layers = Workspace.open(path).layers()
    assert layers["communes"].count > 3_000 and layers["partners"].count > 200
    assert (
        bench.real_extracts_workspace(tmp_path / "x.gpkg", settings=settings, real=tmp_path) is None
    )


def _browser_or_skip() -> None:
    pytest.importorskip("playwright.sync_api", reason="playwright absent (extra « test »)")
    if chromium_path() is None:
        pytest.skip("chromium absent (apt-get install chromium)")


def _naive_page(workspace: Path, folder: Path) -> Path:
    page = folder / "naive.py"
    layers = [(str(workspace), name) for name in ("communes", "qpv", "partners")]
    page.write_text(bench.NAIVE_PAGE.format(layers=layers))
    return page


def test_first_paint_of_ours_and_of_the_naive_page_offline(
    demo_workspace: Path, settings, tmp_path: Path
) -> None:
    _browser_or_skip()
    figures = bench._first_paint(
        demo_workspace,
        settings=settings,
        repeats=1,
        naive_page=_naive_page(demo_workspace, tmp_path),
        naive_repeats=1,
        naive_cap_s=120.0,
    )
    # the naive page drew its shapes with folium's CDN Leaflet served from static/
    assert "first_paint_naive_capped" not in figures
    assert 0 < figures["first_paint_s_naive"] < 120
    assert figures["first_paint_ratio"] == figures["first_paint_s_naive"] / figures["first_paint_s"]
    assert figures["first_paint_s"] > 0 and figures["first_paint_streamlit_floor_s"] > 0
    # both maps were panned and zoomed for real (gestures() checks that the view moved)
    for name in bench_smoothness.FIGURES:
        assert 0 < figures[name] < 60 and 0 < figures[f"{name}_naive"] < 120
        ratio = figures[name.removesuffix("_s") + "_ratio"]
        assert ratio == figures[f"{name}_naive"] / figures[name]
    assert "gestures_capped" not in figures and "gestures_naive_capped" not in figures
    # a drag of the demo map is drawn frame by frame (no frame of a second)
    assert figures["pan_drag_longest_frame_s"] < 1.0


def test_naive_first_paint_is_capped_as_a_lower_bound(demo_workspace: Path, tmp_path: Path) -> None:
    _browser_or_skip()
    from playwright.sync_api import sync_playwright

    from bench._browser import streamlit_server

    chromium = chromium_path()
    assert chromium is not None
    page = _naive_page(demo_workspace, tmp_path)
    with streamlit_server(page) as url, sync_playwright() as p:
        capped = bench._paint_times(
            p, chromium, f"{url}/", bench._leaflet_shape, 2, cap_s=0.5, offline_cdn=True
        )
    assert capped == (0.5, True)


def test_longest_frame_counts_from_the_input_to_the_end() -> None:
    from bench.smoothness import _longest

    # frames at 16 ms, one of 200 ms; stamps outside [start, end] are not counted
    frames = [0.0, 116.0, 132.0, 332.0, 348.0, 900.0]
    assert _longest(frames, 100.0, 360.0) == pytest.approx(0.2)
    # a first frame long after the input is one long frame; so is a last one
    assert _longest([400.0, 416.0], 100.0, 420.0) == pytest.approx(0.3)
    assert _longest([116.0], 100.0, 500.0) == pytest.approx(0.384)
    assert _longest([], 100.0, float("inf")) == 0.0


def test_table_and_json_keys_of_the_three_scales() -> None:
    def scale(communes: int, payload: float, rerun: float, paint: float) -> dict[str, float]:
        return {
            "communes": communes,
            "build_s": 1.0,
            "payload_bytes": payload,
            "payload_bytes_naive": 8 * payload,
            "payload_ratio": 8.0,
            "rerun_s": rerun,
            "rerun_s_naive": 40 * rerun,
            "rerun_ratio": 40.0,
            "first_paint_s": paint,
            "first_paint_s_naive": 3 * paint,
            "first_paint_ratio": 3.0,
            "pan_settle_s": 0.25,
            "pan_settle_s_naive": 1.0,
            "pan_settle_ratio": 4.0,
        }

    territories = {
        "demo": scale(40, 80e3, 0.1, 3.0),
        "departement": scale(1550, 1.6e6, 0.3, 5.0),
        "region": {
            **scale(3996, 4e6, 0.6, 10.0),
            "first_paint_s_naive": 180.0,
            "first_paint_ratio": 18.0,
            "first_paint_naive_capped": True,
        },
    }
    growth = bench.map_growth(territories, ["demo", "departement", "region"])
    assert growth["map_growth_region_payload"] == 2.5
    assert growth["map_growth_region_rerun"] == 2.0 and growth["map_growth_region_first_paint"] == 2
    assert growth["map_growth_region_first_paint_naive"] == 12.0
    assert growth["map_growth_departement_payload_naive"] == 20.0
    assert not any(k.startswith("map_growth_demo") for k in growth)
    text = bench.table({"territories": territories, "scaling": growth})
    assert "| region | premier affichage (s) | 10.00 | ≥ 180.00 | ≥ 18.0× |" in text
    assert "| departement | premier affichage (s) | 5.00 | 15.00 | 3.0× |" in text
    assert "| region | croissance charge utile (× / échelle précédente) | 2.5× | 2.5× | — |" in text
    assert (
        "| region | croissance premier affichage (× / échelle précédente) | 2.0× | ≥ 12.0× |"
        in (text)
    )
    assert "| region | taille (× communes / échelle précédente) | 2.6× |" in text
    assert "| demo | déplacement : carte redessinée (s) | 0.250 | 1.000 | 4.0× |" in text


def test_spawned_measures_survive_a_page_script_that_is_gone(
    demo_workspace: Path, settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from bench import priorities as bench_priorities

    # what Streamlit's AppTest leaves behind after the naive page's folder is removed
    monkeypatch.setattr(sys.modules["__main__"], "__file__", str(tmp_path / "gone.py"))
    assert bench._in_subprocess(dict, (), timeout=120) == {}
    cold = bench_priorities._spawned(
        bench_priorities._ours_cold, demo_workspace, settings.secret_path, ("qpv",)
    )
    assert cold["zones_qpv"] == 4
    assert sys.modules["__main__"].__file__ == str(tmp_path / "gone.py")


def test_privacy_benchmark_measures_the_filtered_density_and_when(
    demo_workspace: Path, settings
) -> None:
    from bench.privacy import privacy_benchmark, table

    figures = privacy_benchmark(
        demo_workspace, secret=settings.secret_path, zones=3, previous=None, repeats=1
    )
    assert figures["contacts"] > 0 and figures["zones"] == 3
    assert 0 < figures["ours_density_by_s"] < 60 and 0 < figures["ours_when_next_s"] < 60
    assert isinstance(figures["when_met"], bool)
    assert 0 < figures["ours_when_next_cpu_s"] <= 60
    assert "densité filtrée" in table(figures) and "temps CPU" in table(figures)


def test_package_benchmark_times_the_package_and_the_shareable_file(
    demo_workspace: Path, settings
) -> None:
    from bench.package import package_benchmark, table

    # previous=None: the test adds no git worktree to the checkout it runs in
    figures = package_benchmark(demo_workspace, secret=settings.secret_path, previous=None)
    assert 0 < figures["package_cold_s"] < 120 and 0 < figures["package_warm_s"] < 120
    assert 0 < figures["shareable_s"] < 120 and figures["same_bytes"] is True
    assert 0 < figures["package_cold_cpu_s"] < 120 and 0 < figures["package_warm_cpu_s"] < 120
    assert 0 < figures["shareable_cpu_s"] < 120
    assert figures["layers"] == 18 and figures["rows"] > 10_000  # 16 shareable + 2 analyses
    assert isinstance(figures["package_met"], bool)
    text = table(figures)
    assert "Paquet d'évaluation (18 couches" in text and "à froid" in text
    assert "à chaud" in text and "(CPU " in text and "charge moyenne" in text


def test_departement_week_has_sectors_caps_and_a_stability_figure() -> None:
    from bench import planning as bench_planning

    week = bench_planning.departement_week(30)
    sectors = [t.sector for t in week.teams]
    assert all(sectors) and not set.intersection(*map(set, sectors))  # disjoint quarters
    figures = bench_planning.departement_benchmark(
        n_places=30, budget_s=1.0, long_s=1.0, say=lambda _: None
    )
    assert 0 < figures["dep_objective_share"] <= 1 and 0 <= figures["dep_kept_share"] <= 1
    assert figures["dep_missed_zones"] == 0
    caps = week.zone_caps or {}
    assert set(caps) == {p.zone for p in week.places} and set(caps.values()) == {1}
    text = bench_planning.table({"long_s": 1.0, "sizes": [], **figures})
    assert "| 30 lieux, 4 secteurs |" in text


def test_week_benchmark_times_plan_week_per_stage(
    demo_workspace: Path, settings, tmp_path: Path
) -> None:
    import shutil

    from bench import week as bench_week

    path = tmp_path / "demo.gpkg"  # the programme and its teams are stored in it
    shutil.copyfile(demo_workspace, path)
    figures = bench_week.week_benchmark(
        path, secret=settings.secret_path, time_limit=1.0, long_s=1.0, communes=20, say=print
    )
    assert figures["week_communes"] >= 20 and figures["week_places"] > 0
    for call in ("first", "warm"):
        stages = figures[f"week_{call}_stages"]
        assert {"candidate_places", "zone_yields", "commune_ranking", "solver"} <= set(stages)
        assert 0 < figures[f"week_{call}_non_solver_s"] < figures[f"week_{call}_s"]
    assert 0 < figures["week_objective_share"] <= 1
    # The reference is the best of every search, the week as one model included.
    best = max(
        figures[key]
        for key in (
            "week_objective",
            "week_long_objective",
            "week_monolithic_objective",
            "week_long_monolithic_objective",
        )
    )
    assert figures["week_objective_share"] == pytest.approx(
        figures["week_objective"] / best, abs=1e-4
    )
    assert figures["week_parts"] >= 1
    text = bench_week.table(figures)
    assert "| premier |" in text and "d'un seul tenant" in text


def test_roads_benchmark_compares_network_and_straight_line() -> None:
    from bench import roads as bench_roads

    figures = bench_roads.roads_benchmark(side_km=6, step_m=250, places=40, repeats=1)
    assert figures["network_points"] == 44
    assert figures["network_nodes"] == 25 * 25 and figures["network_edges"] == 2 * 25 * 24
    for mode in bench_roads.MODES:
        assert figures[f"network_{mode}_s"] > 0 and figures[f"network_{mode}_ratio"] > 0
    # on 6 km every pair is within reach: nothing falls back to the straight line
    assert figures["network_voiture_fallback"] == 0 and figures["network_vélo_fallback"] == 0
    text = bench.table({"territories": {}, "roads": figures})
    assert "Temps de trajet sur le réseau routier" in text and "| voiture |" in text


def test_compare_benchmark_times_the_first_and_the_warm_comparison(
    demo_workspace: Path, settings, tmp_path: Path
) -> None:
    import shutil

    from bench.compare import compare_benchmark, table

    copy = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, copy)
    figures = compare_benchmark(copy, secret=settings.secret_path, repeats=2, hubs=3)
    assert figures["hubs"] == 3 and figures["contacts"] > 10_000
    assert figures["funnel_rows"] == 3 * 5
    assert 0 < figures["compare_warm_s"] < figures["compare_first_s"]
    assert "relance (page)" in table(figures)


def test_hotspots_benchmark_compares_with_esda_and_a_dense_matrix() -> None:
    from bench import hotspots as bench_hotspots

    figures = bench_hotspots.hotspots_benchmark(cells=900, zones=2_000, partners=300, repeats=1)
    assert figures["gi_s"] > 0 and figures["moran_s"] > 0 and figures["gi_hot"] > 0
    assert figures["gi_esda_s"] is None or figures["gi_esda_s"] > 0
    assert figures["e2sfca_dense_max_gap"] < 1e-9  # the sparse catchments miss no pair
    text = bench.table({"territories": {}, "hotspots": figures})
    assert "Points chauds et accessibilité aux partenaires" in text and "| 3 |" in text


def test_road_accessibility_benchmark_compares_with_the_way_before() -> None:
    from bench import access_roads

    figures = access_roads.access_roads_benchmark(zones=2_000, partners=200)
    assert figures["road_nodes"] > 100_000 and figures["road_searches"] > 100
    assert figures["road_pairs"] > 0 and figures["road_same_result"] is True
    assert figures["road_same_result_chunks"] is True and figures["road_e2sfca_chunks_s"] > 0
    assert figures["road_dijkstra_cpu_s"] > 0 and figures["road_e2sfca_naive_s"] > 0
    text = bench.table({"territories": {}, "access_roads": figures})
    assert "E2SFCA sur le réseau routier" in text and "mêmes résultats : oui" in text
    assert "NON" not in text and "arbre précédent (99b42ad)" in text


def test_the_engines_bench_loads_the_same_rows_into_file_and_server(
    pg_server: str, settings: Settings
) -> None:
    from bench.pgstore import engines_benchmark, engines_table

    figures = engines_benchmark(settings=settings, rows=20_000, map_scale=None)
    assert figures["bulk_rows_file"] == figures["bulk_rows_server"] == 20_000
    assert figures["bulk_s_server"] > 0 and figures["bulk_s_file"] > 0
    assert "serveur (COPY)" in engines_table(figures)[0]


def test_the_rls_bench_measures_the_owner_and_each_session_on_the_same_rows(
    pg_server: str,
) -> None:
    from bench.rls import rls_benchmark

    figures = rls_benchmark(copies=0, repeats=1)
    assert figures["rows_owner"] == figures["rows_comite"] == figures["contacts"]
    assert 0 < figures["rows_chef"] < figures["rows_owner"]
    assert figures["summary_same_figure"] is True and figures["append_rows"] > 0
    assert figures["append_chef_s"] > 0 and figures["group_by_commune_chef_s"] > 0


def test_the_engines_bench_draws_the_file_map_outside_the_app_folder(
    demo_workspace: Path,
) -> None:
    """The file's map page, measured from a folder that is not the app's, draws its map.

    Before, the app refused the file (outside ``TERRITORY_WORKSPACES_DIR``) and the bench
    timed the refusal; a page that shows an error or no map now fails the measure.
    """
    import shutil
    import tempfile

    from bench._common import in_subprocess
    from bench.pgstore import _page_times

    with tempfile.TemporaryDirectory(prefix="territory-bench-outside-") as folder:
        copy = Path(folder) / "demo.gpkg"
        shutil.copy(demo_workspace, copy)
        figures = in_subprocess(_page_times, (str(copy), None, 1), timeout=None) or {}
        assert figures["cold"] > 0 and figures["cold_cpu"] > 0
        with pytest.raises(RuntimeError, match="pas de carte"):
            in_subprocess(_page_times, (str(Path(folder) / "absent.gpkg"), None, 1), timeout=None)
