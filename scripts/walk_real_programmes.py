"""Walk issue #20's five programmes as their team leads would, with the CLI, and measure.

Usage (from the checkout): ``python scripts/walk_real_programmes.py [all|calvados,nord,…]
[SECONDS] [FOLDER]``. For each programme of ``tests/rounds/real_programmes.py`` it builds
a workspace in FOLDER (default ``/tmp/realcheck``) from the real extracts of
``../shared/data/real`` with ``territory import`` (plus synthetic contacts, seed 20),
defines the territory, writes the teams file, plans a week and the next one with
``territory plan --territory``, locks one visit and plans again, asks ``territory when``
for the zones of the contacts, and prints one JSON line of figures per programme (the
commands and their output go to ``FOLDER/<programme>.log``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "rounds"))
sys.path.insert(0, str(ROOT / "src"))

import pandas as pd  # noqa: E402
from real_programmes import NEXT_WEEK, PROGRAMMES, WEEK, teams_table, write_contacts  # noqa: E402

from territory.rounds.recurrence import kept_visits, visits_from_table  # noqa: E402
from territory.rounds.sectors import resolve_sector  # noqa: E402
from territory.rounds.value import coverage_zones, monthly_zones  # noqa: E402
from territory.rounds.week import candidate_places, load_plan, save_edited, week_monday  # noqa: E402
from territory.store import Workspace  # noqa: E402

R = ROOT.parent / "shared" / "data" / "real"
OUT = Path(sys.argv[3] if len(sys.argv) > 3 else "/tmp/realcheck")
OUT.mkdir(parents=True, exist_ok=True)
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src"),
       "TERRITORY_SECRET_PATH": str(OUT / "secret.key")}
LIMIT = sys.argv[2] if len(sys.argv) > 2 else "10"


def cli(*args: str, log) -> tuple[str, float]:
    t = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "territory.cli", *args], env=ENV,
                         capture_output=True, text=True)
    dt = time.perf_counter() - t
    log.write(f"\n$ territory {' '.join(args)}   [{dt:.1f} s, code {run.returncode}]\n")
    log.write(run.stdout[-6000:] + ("\nSTDERR: " + run.stderr[-3000:] if run.stderr else ""))
    if run.returncode not in (0, 1):
        raise SystemExit(f"failed: {args}\n{run.stderr}")
    return run.stdout, dt


def key(v):
    return (v.place, v.day, v.start // 60)


def walk(p) -> dict:
    slug = p.name.split()[0].lower()
    ws_path = OUT / f"{slug}.gpkg"
    ws_path.unlink(missing_ok=True)
    log = (OUT / f"{slug}.log").open("w")
    w = ["--workspace", str(ws_path)]
    cli("import", "communes", *[str(R / f) for f in p.communes], *w, "--create", p.name, log=log)
    cli("import", "communes-table", str(R / "communes_cog2026_pop_epci.csv"), *w,
        "--vintage", "COG 2026", log=log)
    cli("import", "density", str(R / "grille_densite_7_niveaux_communes.csv"), *w, log=log)
    cli("import", "qpv", str(R / "qpv_2024_with_codes_wgs84.geojson"), *w, log=log)
    cli("import", "partners", str(R / "france_services_20240801.geojson"), *w, log=log)
    if p.gtfs:
        cli("import", "gtfs", str(R / p.gtfs), *w, log=log)
    cli("territory", "add", p.name, "--epci", *p.epci, *w, log=log)
    ws = Workspace.open(ws_path)
    spots = write_contacts(ws, p, OUT / f"{slug}-contacts.csv")
    cli("import", "contacts", str(OUT / f"{slug}-contacts.csv"), *w, log=log)
    teams_table(ws, p).to_csv(OUT / f"{slug}-equipes.csv", sep=";", index=False)
    _, t1 = cli("plan", *w, "--week", WEEK, "--teams", str(OUT / f"{slug}-equipes.csv"),
                "--territory", p.name, "--time-limit", LIMIT, log=log)
    _, t2 = cli("plan", *w, "--week", NEXT_WEEK, "--territory", p.name,
                "--time-limit", LIMIT, log=log)
    ws = Workspace.open(ws_path)
    first, second = load_plan(ws, WEEK, territory=p.name), load_plan(ws, NEXT_WEEK, territory=p.name)
    teams = ws.read_table("teams")
    sectors = {r.nom: resolve_sector(ws, r.secteur) for r in teams.itertuples()}
    out = 0
    for plan in (first, second):
        for r in plan.visits.itertuples():
            if sectors[r.team] is not None and r.zone not in sectors[r.team]:
                out += 1
    n_visits = len(first.visits) + len(second.visits)
    # priority zones without partner
    codes = set(ws.read_layer("communes").query("epci in @p.epci")["code"])
    places = candidate_places(ws)
    partners = set(places.loc[places["type"] == "local partenaire", "zone"])
    prio = {}
    for wk, plan in ((WEEK, first), (NEXT_WEEK, second)):
        due = [z for z in coverage_zones(ws, week_monday(wk)) if z in codes and z not in partners]
        seen = set(plan.visits["zone"])
        prio[wk] = (len([z for z in due if z in seen]), len(due), sorted(set(due) - seen))
    monthly = monthly_zones(ws)
    prev = {key(v) for v in visits_from_table(first.visits)}
    nv = visits_from_table(second.visits)
    kept = sum(key(v) in prev for v in nv)
    nm = [v for v, z in zip(nv, second.visits["zone"]) if z not in monthly]
    kept_nm = sum(key(v) in prev for v in nm)
    # lock one visit (the first non-monthly) and re-plan
    before = second.visits.copy()
    wk = before.index[~before["zone"].isin(monthly)]
    idx = wk[0] if len(wk) else before.index[0]
    edited = before.copy()
    edited.loc[idx, "locked"] = True
    save_edited(ws, NEXT_WEEK, edited, change="verrou", base_version=second.version,
                territory=p.name)
    _, t3 = cli("plan", *w, "--week", NEXT_WEEK, "--territory", p.name,
                "--time-limit", LIMIT, log=log)
    third = load_plan(Workspace.open(ws_path), NEXT_WEEK, territory=p.name)
    a = {key(v) + (v.team,) for v in visits_from_table(before)}
    b = {key(v) + (v.team,) for v in visits_from_table(third.visits)}
    # when
    zones = sorted(spots["zone"])
    stdout, t4 = cli("when", *w, "--zone", *zones, "--territory", p.name, "--json",
                     "--week", str(week_monday(WEEK)), log=log)
    answers = json.loads(stdout)
    answers = answers if isinstance(answers, list) else [answers]
    # Where each zone's peak slot (two weekdays, one 2-hour slot) comes in its answer.
    days = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
    peaks = {r.zone: {(days[int(d)], int(r.heure)) for d in r.jours} for r in spots.itertuples()}
    ranks = [
        next((i for i, s in enumerate(a["slots"]) if (s["jour"], s["debut"]) in peaks[a["code"]]), 99)
        for a in answers
    ]
    res = {
        "programme": p.name,
        "visits": [len(first.visits), len(second.visits)],
        "kinds": first.visits["kind"].value_counts().to_dict(),
        "out_of_sector": out, "of": n_visits,
        "priority_no_partner_visited": {k: v[:2] for k, v in prio.items()},
        "priority_missed": {k: v[2][:10] for k, v in prio.items()},
        "kept_same_hour": f"{kept}/{len(nv)}", "kept_same_hour_non_monthly": f"{kept_nm}/{len(nm)}",
        "kept_30min": f"{kept_visits(visits_from_table(first.visits), nv)}/{len(nv)}",
        "kept_30min_non_monthly": f"{kept_visits(visits_from_table(first.visits), nm)}/{len(nm)}",
        "lock_changes": f"-{len(a - b)} +{len(b - a)} of {len(a)}",
        "locked_kept": bool(third.visits["locked"].any()),
        "seconds_plan": [round(t1, 1), round(t2, 1), round(t3, 1)],
        "when_seconds": round(t4, 1), "when_zones": len(answers),
        "when_peak_first": sum(r == 0 for r in ranks), "when_peak_top3": sum(r < 3 for r in ranks),
        "answers": answers,
    }
    return res


if __name__ == "__main__":
    names = sys.argv[1].split(",") if len(sys.argv) > 1 and sys.argv[1] != "all" else None
    for p in PROGRAMMES:
        if names and p.name.split()[0].lower() not in names:
            continue
        r = walk(p)
        answers = r.pop("answers")
        (OUT / f"{p.name.split()[0].lower()}-when.json").write_text(json.dumps(answers, ensure_ascii=False, indent=1, default=str))
        print(json.dumps(r, ensure_ascii=False, default=str))
