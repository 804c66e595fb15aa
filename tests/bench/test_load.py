"""The load benchmark drives real Streamlit sessions and checks every confirmed save."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

from bench import load

CONFIG = Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml"


def test_the_server_skips_streamlits_full_collection_after_each_run() -> None:
    """``runner.postScriptGC`` is off, and this Streamlit knows it (a rename fails here).

    Its full ``gc.collect(2)`` after every script run took 27 % of the server's CPU under
    twenty sessions (BENCHMARKS.md, load section).
    """
    from streamlit import config

    assert tomllib.loads(CONFIG.read_text(encoding="utf-8"))["runner"]["postScriptGC"] is False
    assert config.get_config_options()["runner.postScriptGC"].type is bool


def test_sessions_browse_filter_and_save_edits_without_loss(
    demo_workspace: Path, settings, tmp_path: Path
) -> None:
    figures = load.load_benchmark(
        demo_workspace,
        secret=settings.secret_path,
        sessions=2,
        minutes=0.4,
        solo_s=10,
        think=(0.1, 0.5),
    )
    assert figures["errors"] == 0, figures["error_samples"]
    assert figures["reruns"] > 10 and figures["solo_reruns"] > 3
    assert figures["saves_confirmed"] >= 2
    assert figures["lost_edits"] == 0, figures["lost_samples"]
    assert 0 < figures["rerun_p50_s"] <= figures["rerun_p95_s"] <= figures["rerun_max_s"]


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
