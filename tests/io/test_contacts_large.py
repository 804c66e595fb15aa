"""A 300,000-row contact export as a team has it (issue #19): every row accounted for, timed.

French headers, ``;``, dates written ``03/02/2026`` with the hour apart (« 17h30 »), exact
ages, and a few bad rows sprinkled: a date that does not exist, a missing position, a line
with one field too many, an unclosed quote. Imported through :func:`import_file` into a
copy of the demo workspace; the time is printed (run with ``-s``).
"""

from __future__ import annotations

import shutil
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from territory import Settings
from territory.ingest import import_file
from territory.store import Workspace

N = 300_000
BAD = {  # 0-based data row → (how it is broken, the refusal reason it must get)
    1_000: ("date", "date illisible"),
    77_777: ("position", "localisation manquante ou illisible"),
    150_000: ("ragged", "ligne de 9 champs au lieu de 8"),
    222_222: ("quote", "guillemet non fermé (ligne 222224 du fichier)"),
}


def team_export(path: Path) -> Path:
    """The export: 300,000 contacts in the demo territory, the :data:`BAD` rows broken."""
    rng = np.random.default_rng(19)
    days = pd.Timestamp("2025-11-01") + pd.to_timedelta(rng.integers(0, 360, N), unit="D")
    hours = rng.integers(8, 22, N)
    minutes = rng.choice(np.array([0, 15, 30, 45]), N)
    frame = pd.DataFrame(
        {
            "Date du contact": pd.Series(days).dt.strftime("%d/%m/%Y"),
            "Heure": [
                f"{h}h{m:02d}" if m else f"{h}h" for h, m in zip(hours, minutes, strict=True)
            ],
            "Longitude": np.char.replace(rng.uniform(2.6, 2.8, N).round(6).astype(str), ".", ","),
            "Latitude": np.char.replace(rng.uniform(46.38, 46.5, N).round(6).astype(str), ".", ","),
            "Statut": np.array(["premier contact", "contact répété", "suivi"])[
                rng.integers(0, 3, N)
            ],
            "Âge": rng.integers(16, 26, N).astype(str),
            "Sexe": np.array(["F", "H"])[rng.integers(0, 2, N)],
            "N° jeune": np.char.add("J", rng.integers(0, 50_000, N).astype(str)),
        }
    )
    lines = frame.to_csv(sep=";", index=False, lineterminator="\n").splitlines()
    for row, (how, _reason) in BAD.items():
        cells = lines[row + 1].split(";")
        if how == "date":
            cells[0] = "31/02/2026"
        elif how == "position":
            cells[2] = ""
        elif how == "ragged":
            cells.append("en trop")
        else:
            cells[4] = '"' + cells[4]
        lines[row + 1] = ";".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_300000_rows_are_all_accounted_for(
    demo_workspace: Path, tmp_path: Path, settings: Settings
) -> None:
    path = team_export(tmp_path / "export-contacts.csv")
    ws_path = tmp_path / "ws.gpkg"
    shutil.copyfile(demo_workspace, ws_path)
    before = Workspace.open(ws_path).layers()["contacts"].count
    started = time.perf_counter()
    report = import_file(
        Workspace.open(ws_path), "contacts", path, settings=settings, today=date(2026, 10, 31)
    )
    seconds = time.perf_counter() - started
    print(f"\n300 000 contacts importés en {seconds:.1f} s : {report.to_text(max_reasons=8)}")  # noqa: T201
    assert report.read == N == report.accepted + report.refused + report.pending
    reasons = {r.row: r.reason for r in report.refusals}
    for row, (_how, reason) in BAD.items():
        assert reasons.get(row + 2) == reason, (row, reasons.get(row + 2))
    assert report.accepted == N - len(BAD)  # the box lies inside the demo's communes
    assert sum(int(f.split()[0]) for f in report.fixes if "tranches d'âge" in f) == N - len(BAD)
    stored = Workspace.open(ws_path).layers()["contacts"].count - before
    assert stored == report.accepted - report.already
    assert seconds < 300
