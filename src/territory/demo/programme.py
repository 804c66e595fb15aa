"""The demo programme: a team's parcours export, and the steering committee's programme.

:func:`write_parcours` writes, beside the demo's contact export, the parcours file a
team would export from its follow-up tool (French headers, ``dd/mm/yyyy`` dates, the
exit situations in the team's own words), for the people the contacts show entering a
pathway: the entry on the day of their « entrée en parcours » contact, the exit on the
day of their « sortie positive » one, over the demo's two years of contacts (without
the previous year's export, some people get an invented earlier pathway); and a few rows
a team would get wrong (no identifier, an unreadable date, an exit before the entry),
refused by the import with their reasons. :func:`define_demo_programme` groups the
demo's territories into a programme with targets per territory and year (2025, 2026).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from territory.demo.contacts import CONTACTS_END

__all__ = ["PROGRAMME_NAME", "define_demo_programme", "write_parcours"]

PROGRAMME_NAME = "Programme aller-vers 2025-2026"
"""The demo programme's name."""
_SITUATIONS = (
    ("CDI", 0.18),
    ("CDD de 8 mois", 0.1),
    ("Intérim 6 mois", 0.05),
    ("CDD 2 mois", 0.14),
    ("Intérim", 0.1),
    ("Contrat aidé (PEC)", 0.06),
    ("Formation qualifiante", 0.17),
    ("Apprentissage", 0.08),
    ("Déménagement", 0.07),
    ("", 0.05),
)


def write_parcours(contacts: Path, out: Path, *, seed: int, earlier: Path | None = None) -> Path:
    """Write the team's parcours export for the demo contacts to ``out``.

    ``contacts``: the contact export (``contacts.csv``); ``earlier``: the previous
    year's, if any (then the pathways of both years come from the statuses, and no
    earlier pathway is invented).
    """
    rng = np.random.default_rng(seed)
    files = [f for f in (earlier, contacts) if f is not None]
    frame = pd.concat(
        [pd.read_csv(f, sep=";", dtype=str, usecols=["date_contact", "statut", "id_personne"])
         for f in files], ignore_index=True,
    ).dropna(subset=["id_personne", "date_contact"])  # fmt: skip
    day = pd.to_datetime(frame["date_contact"].str[:10], format="%d/%m/%Y", errors="coerce")
    frame = frame.assign(day=day).dropna(subset=["day"])
    entries = frame[frame["statut"] == "entrée en parcours"].groupby("id_personne")["day"].min()
    exits = frame[frame["statut"] == "sortie positive"].groupby("id_personne")["day"].max()
    rows = pd.DataFrame({"entree": entries})
    rows["sortie"] = exits.reindex(rows.index)
    rows.loc[rows["sortie"] < rows["entree"], "sortie"] = pd.NaT
    labels = np.array([s for s, _ in _SITUATIONS], dtype=object)
    weights = np.array([w for _, w in _SITUATIONS])
    rows["situation"] = labels[rng.choice(len(labels), len(rows), p=weights / weights.sum())]
    rows.loc[rows["sortie"].isna(), "situation"] = ""
    # without the previous year's contacts: an earlier pathway, ended, for some of them
    before = rows.sample(frac=0.0 if earlier is not None else 0.2, random_state=seed).copy()
    start = CONTACTS_END - pd.DateOffset(months=22)
    offsets = rng.integers(0, 240, len(before))
    before["entree"] = [start + pd.Timedelta(days=int(d)) for d in offsets]
    before["sortie"] = [
        e + pd.Timedelta(days=int(d))
        for e, d in zip(before["entree"], rng.integers(60, 200, len(before)), strict=True)
    ]
    before["situation"] = labels[rng.choice(len(labels), len(before), p=weights / weights.sum())]
    table = pd.concat([rows, before] if len(before) else [rows])
    table = table.reset_index(names="Identifiant jeune")
    table = table.sort_values(["entree", "Identifiant jeune"], kind="stable")
    out_rows = pd.DataFrame(
        {
            "Identifiant jeune": table["Identifiant jeune"],
            "Date d'entrée": table["entree"].dt.strftime("%d/%m/%Y"),
            "Date de sortie": table["sortie"].dt.strftime("%d/%m/%Y").fillna(""),
            "Situation à la sortie": table["situation"],
        }
    )
    wrong = pd.DataFrame(
        {
            "Identifiant jeune": ["", "P999998", str(table["Identifiant jeune"].iloc[0])],
            "Date d'entrée": ["03/03/2026", "31/02/2026", "10/06/2026"],
            "Date de sortie": ["", "", "01/05/2026"],
            "Situation à la sortie": ["", "", "CDI"],
        }
    )
    pd.concat([out_rows, wrong]).to_csv(out, sep=";", index=False, encoding="utf-8-sig")
    return out


def define_demo_programme(ws: Any, *, scale_contacts: int) -> None:
    """Two more territories (the other two EPCI) and the programme over the four of them."""
    from territory.programme import Target, define_programme
    from territory.territories import define_territory, list_territories

    communes = ws.read_table("communes", columns=["code", "epci"])
    epci = sorted(communes["epci"].dropna().astype(str).unique())
    names = [t.name for t in list_territories(ws)]
    for siren, name in zip(epci[1:3], ("Val de la Chênaie", "Hauts des Tilleuls"), strict=False):
        define_territory(ws, name, epci=[siren])
        names.append(name)
    size = scale_contacts / 20_000
    targets = []
    # entries into a pathway aimed at in 2026 per territory: some reached, some not
    for name, base in zip(names, (1000, 290, 190, 700), strict=False):
        for year, ramp in (("2025", 0.6), ("2026", 1.0)):  # the programme ramps up
            targets += [
                Target(name, "entrée en parcours", year, max(1, round(base * ramp * size))),
                Target(name, "contact", year, max(1, round(base * 4.3 * ramp * size))),
                Target(name, "sortie", year, max(1, round(base * 0.33 * ramp * size))),
            ]
    define_programme(
        ws,
        PROGRAMME_NAME,
        territories=names,
        start=date(2025, 1, 1),
        end=date(2026, 12, 31),
        targets=targets,
    )
