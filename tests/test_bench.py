"""The benchmark measures ours and the naive way in one run (behaviour, not budgets)."""

from __future__ import annotations

from pathlib import Path

from territory import bench


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
    from territory import bench_planning

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
