"""``territory programme`` and ``territory compare``: JSON of protected tables, French errors."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from programme_data import contacts, names, programme_workspace

from territory.cli import main
from territory.demo.programme import PROGRAMME_NAME


def test_the_demo_has_a_live_programme(
    demo_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["programme", "list", "--workspace", str(demo_workspace), "--json"]) == 0
    [programme] = json.loads(capsys.readouterr().out)
    assert programme["name"] == PROGRAMME_NAME and len(programme["territories"]) == 4
    assert (programme["start"], programme["end"]) == ("2025-01-01", "2026-12-31")
    args = ["compare", "--workspace", str(demo_workspace), "--programme", PROGRAMME_NAME]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    funnel = pd.DataFrame(out["funnel"])
    assert set(funnel["Territoire"]) == set(programme["territories"])
    assert funnel["Personnes"].notna().all()  # the demo's territories are large enough
    assert pd.DataFrame(out["exits"])["Personnes"].sum() > 0  # the parcours export counts
    rates = pd.DataFrame(out["rates"])
    shown = rates[rates["Pour 1 000"].notna()]
    assert (shown["Source"] != "").all() and (shown["Millésime"] != "").all()
    assert any(s["Donnée"].startswith("Parcours") for s in out["sources"])
    months = {t["Mois"] for t in out["trends"]}
    assert "2025-06" in months or "2025-12" in months  # the earlier pathways: two years
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "Parcours (personnes distinctes, valeurs protégées)" in text and "Cibles" in text


def test_define_compare_and_errors_are_one_french_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = programme_workspace(tmp_path / "p.gpkg")
    contacts(ws, names("a", 30), commune="59001", day=date(2026, 2, 3), status="premier contact")
    w = ["--workspace", str(ws.path)]
    define = ["programme", "define", "P", "--territoires", "Pôle A", "Pôle C"]
    define += ["--debut", "2026-01-01", "--fin", "2026-12-31", "--cible", "Pôle A:contact:2026:50"]
    define += w
    assert main(define) == 0
    assert "Programme « P » enregistré : 2 territoire(s)" in capsys.readouterr().out
    assert main(["compare", "--programme", "P", "--period", "2026-T1", "--json", *w]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["period"] == "2026-T1" and len(out["funnel"]) == 10
    bad = [
        (["compare", "--programme", "Q", *w], "programme « Q » inconnu"),
        (["compare", "--programme", "P", "--period", "2031", *w], "non proposée"),
        (
            [
                "programme",
                "define",
                "R",
                "--territoires",
                "Nulle part",
                "--debut",
                "2026-13-01",
                "--fin",
                "2026-12-31",
                "--cible",
                "Pôle A:contact:2026",
                *w,
            ],
            "illisible",
        ),
    ]
    for args, expected in bad:
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert expected in err and "\n" not in err and "Traceback" not in err
    assert main(["programme", "delete", "P", *w]) == 0


def test_info_never_lists_the_raw_number_of_pathways(
    demo_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["info", "--workspace", str(demo_workspace), "--json"]) == 0
    layers = json.loads(capsys.readouterr().out)["layers"]
    assert "parcours" not in layers and "contacts" not in layers
    assert "programmes" in layers  # the programme's definition is not personal data
