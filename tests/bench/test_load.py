"""The load benchmark drives real Streamlit sessions and checks every confirmed save."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from bench import _nginx, load

CONFIG = Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml"


def test_the_server_skips_streamlits_full_collection_after_each_run() -> None:
    """``runner.postScriptGC`` is off, and this Streamlit knows it (a rename fails here).

    Its full ``gc.collect(2)`` after every script run took 27 % of the server's CPU under
    twenty sessions (BENCHMARKS.md, load section).
    """
    from streamlit import config

    assert tomllib.loads(CONFIG.read_text(encoding="utf-8"))["runner"]["postScriptGC"] is False
    assert config.get_config_options()["runner.postScriptGC"].type is bool


@pytest.mark.parametrize("processes", [1, 2])
def test_sessions_browse_filter_and_save_edits_without_loss(
    demo_workspace: Path, settings, tmp_path: Path, processes: int
) -> None:
    """One server; or two behind nginx with the deployment's site file, as deployed."""
    if processes > 1 and (_nginx.nginx_path() is None or not shutil.which("openssl")):
        pytest.skip("nginx ou openssl absent : répartition non essayée")
    figures = load.load_benchmark(
        demo_workspace,
        secret=settings.secret_path,
        sessions=2,
        minutes=0.4,
        solo_s=10,
        think=(0.1, 0.5),
        processes=processes,
    )
    assert figures["errors"] == 0, figures["error_samples"]  # a session moved is one
    assert figures["server_cpu_s"] > 0 and figures["server_cpu_per_rerun_s"] > 0
    if processes > 1:  # every websocket went through nginx: the solo session's and two
        assert sum(figures["websockets_per_process"].values()) == 3, figures
    assert figures["reruns"] > 10 and figures["solo_reruns"] > 3
    assert figures["saves_confirmed"] >= 2
    assert figures["lost_edits"] == 0, figures["lost_samples"]
    assert 0 < figures["rerun_p50_s"] <= figures["rerun_p95_s"] <= figures["rerun_max_s"]


def test_the_same_load_on_postgresql(demo_workspace: Path, settings, pg_database: str) -> None:
    """The workspace moved onto the server: planned, edited and checked there, then dropped."""
    figures = load.load_benchmark(
        demo_workspace,
        secret=settings.secret_path,
        sessions=2,
        minutes=0.4,
        solo_s=10,
        think=(0.1, 0.5),
        database_url=pg_database,
    )
    assert figures["engine"] == "PostgreSQL"
    assert figures["errors"] == 0, figures["error_samples"]
    assert figures["saves_confirmed"] >= 2
    assert figures["lost_edits"] == 0, figures["lost_samples"]
    from territory import _pg

    with _pg.connect(pg_database) as con:  # nothing left behind
        left = con.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'load_%'")
        assert not left.fetchall()


def test_a_confirmed_save_missing_from_the_store_is_a_lost_edit(
    demo_workspace: Path, settings, tmp_path: Path
) -> None:
    import subprocess
    import sys

    from territory.rounds.week import load_plan
    from territory.store import Workspace

    copy = tmp_path / "w.gpkg"
    shutil.copyfile(demo_workspace, copy)
    week = load.next_week()
    subprocess.run(
        [sys.executable, "-m", "territory.cli", "plan", "--workspace", str(copy), "--week", week],
        check=True,
        capture_output=True,
        env={"TERRITORY_SECRET_PATH": str(settings.secret_path), "PATH": ""},
    )
    plan = load_plan(Workspace.open(copy), week)
    assert plan is not None
    v = plan.visits.iloc[0]
    visit = (str(v["team"]), f"{v['start']:%Y-%m-%dT%H:%M}", str(v["place_name"]))
    held = load.Claim(0, plan.version, visit, bool(v["locked"]))
    assert load.lost_edits(copy, week, [held]) == []
    flipped = load.Claim(1, plan.version, visit, not v["locked"])
    twice = load.Claim(2, plan.version, visit, bool(v["locked"]))
    problems = load.lost_edits(copy, week, [held, flipped, twice])
    assert len(problems) == 3  # the flipped lock; the version confirmed twice more
    assert "attendu True" in problems[1] or "attendu False" in problems[1]
    assert problems[0] == problems[2] == f"version {plan.version} confirmée à deux sessions"
    assert load.lost_edits(copy, week, [load.Claim(0, 99, visit, True)]) == [
        "version 99 introuvable"
    ]


def test_a_browser_moved_to_another_process_is_reported(tmp_path: Path) -> None:
    """The access log of :func:`bench._nginx.behind_nginx`: websockets per process, strays."""
    (tmp_path / "territory.access.log").write_text(
        "a1 127.0.0.1:8501 101 /_stcore/stream\n"
        "a1 127.0.0.1:8501 200 /_stcore/health\n"
        "b2 127.0.0.1:8502 101 /_stcore/stream\n"
        "b2 127.0.0.1:8501 200 /media/x.csv\n"  # not a websocket: not counted
        "a1 127.0.0.1:8502 101 /_stcore/stream\n"  # a1 moved
        "- 127.0.0.1:8501 101 /_stcore/stream\n",  # no cookie: nothing keeps it
        encoding="utf-8",
    )
    per_process, strays = _nginx.sticky_sessions(tmp_path)
    assert per_process == {"127.0.0.1:8501": 2, "127.0.0.1:8502": 2}
    assert strays == [
        "websocket sans cookie vers 127.0.0.1:8501",
        "a1 : ['127.0.0.1:8501', '127.0.0.1:8502']",
    ]


def test_the_bench_runs_the_deployments_site_file(tmp_path: Path) -> None:
    """Only ports, certificate and logs swapped; the upstream lists the servers started."""
    site = _nginx.site_file([4001, 4002, 4003], https=4443, http=4080, folder=tmp_path)
    assert (
        "    server 127.0.0.1:4001;\n    server 127.0.0.1:4002;\n    server 127.0.0.1:4003;\n"
        in site
    )
    assert "server 127.0.0.1:850" not in site and "/etc/letsencrypt" not in site
    assert "hash $territory_node consistent;" in site and "listen 127.0.0.1:4443 ssl" in site
    assert f"access_log {tmp_path}/territory.access.log sticky;" in site
