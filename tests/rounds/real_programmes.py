"""The seed programmes of issue #20 on the real extracts: files, teams, synthetic contacts.

Shared by ``test_real_programmes.py`` and the walkthrough script
(``scripts/walk_real_programmes.py``). Every layer comes from the real open-data extracts
of ``../shared/data/real`` (never copied into the repository); the contacts are
synthetic — there are no real contacts — drawn by :func:`write_contacts` with a fixed
seed: each hot spot (a QPV, a commune) has its own weekday and hours, so that a zone
whose own profile is published should get its own « when » answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from territory.store import Workspace

CONTACTS_SEED = 20
"""Seed of the synthetic contacts (documented in the walkthrough)."""
CONTACT_MONTHS = pd.date_range("2025-11-03", "2026-10-25", freq="W-MON")
"""Mondays of the year of synthetic contacts (the profile counts 12 months)."""
WEEK = "2026-W47"
NEXT_WEEK = "2026-W48"


@dataclass(frozen=True)
class Programme:
    """A seed programme: its real files, its territory (EPCI), its teams."""

    name: str
    communes: tuple[str, ...]
    epci: tuple[str, ...]
    teams: tuple[dict[str, str], ...]
    gtfs: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


_HOURS = "du lundi au vendredi de 9h30 à 12h30 et de 14h à 18h30"
_LATE = "du mardi au samedi de 13h30 à 20h"
_RURAL = "lundi, mardi, jeudi et vendredi de 9h à 17h"

PROGRAMMES = (
    Programme(
        "Calvados",
        ("communes-14-calvados.geojson",),
        ("200065597", "200066728"),
        (
            {
                "nom": "Équipe Caen centre",
                "mode": "à pied",
                "secteur": "14118",
                "lieu": "14118",
                "disponibilites": _LATE,
            },
            {
                "nom": "Équipe Caen la Mer",
                "mode": "vélo",
                "secteur": "CU Caen la Mer",
                "lieu": "14327",
                "disponibilites": _HOURS,
            },
            {
                "nom": "Équipe Orne et Odon",
                "mode": "voiture",
                "secteur": "200066728",
                "lieu": "14257",
                "disponibilites": _RURAL,
            },
        ),
    ),
    Programme(
        "Nord - Pas-de-Calais",
        ("communes-59-nord.geojson", "communes-62-pas-de-calais.geojson"),
        ("200093201", "246200364"),
        (
            {
                "nom": "Équipe Roubaix-Tourcoing",
                "mode": "transports en commun",
                "secteur": "59512, 59599",
                "lieu": "59512",
                "disponibilites": _LATE,
            },
            {
                "nom": "Équipe Lille",
                "mode": "vélo",
                "secteur": "59350, 59360, 59368",
                "lieu": "59350",
                "disponibilites": _HOURS,
            },
            {
                "nom": "Équipe métropole",
                "mode": "voiture",
                "secteur": "200093201",
                "lieu": "59646",
                "disponibilites": _HOURS,
            },
            {
                "nom": "Équipe Lens-Liévin",
                "mode": "voiture",
                "secteur": "246200364",
                "lieu": "62498",
                "disponibilites": _RURAL,
            },
        ),
    ),
    Programme(
        "Strasbourg",
        ("communes-67-bas-rhin.geojson",),
        ("246700488",),
        (
            {
                "nom": "Équipe Neuhof-Meinau",
                "mode": "transports en commun",
                "secteur": "67482",
                "lieu": "67482",
                "disponibilites": _LATE,
            },
            {
                "nom": "Équipe Hautepierre",
                "mode": "à pied",
                "secteur": "67482",
                "lieu": "67482",
                "disponibilites": _HOURS,
            },
            {
                "nom": "Équipe Eurométropole",
                "mode": "vélo",
                "secteur": "Eurométropole de Strasbourg",
                "lieu": "67218",
                "disponibilites": _HOURS,
            },
        ),
        gtfs="gtfs_cts_strasbourg_67",
    ),
    Programme(
        "Maine-et-Loire",
        ("communes-49-maine-et-loire.geojson",),
        ("244900015", "200068955"),
        (
            {
                "nom": "Équipe Angers",
                "mode": "à pied",
                "secteur": "49007",
                "lieu": "49007",
                "disponibilites": _LATE,
            },
            {
                "nom": "Équipe Angers Loire Métropole",
                "mode": "voiture",
                "secteur": "244900015",
                "lieu": "49007",
                "disponibilites": _HOURS,
            },
            {
                "nom": "Équipe Loir et Sarthe",
                "mode": "voiture",
                "secteur": "200068955",
                "lieu": "49333",
                "disponibilites": _RURAL,
            },
        ),
    ),
    Programme(
        "Haut-Rhin rural",
        ("communes-68-haut-rhin.geojson",),
        ("200066033",),
        (
            {
                "nom": "Équipe Largue nord",
                "mode": "voiture",
                "secteur": "nord",
                "lieu": "nord",
                "disponibilites": _RURAL,
            },
            {
                "nom": "Équipe Largue sud",
                "mode": "voiture",
                "secteur": "sud",
                "lieu": "sud",
                "disponibilites": _RURAL,
            },
            {
                "nom": "Équipe Sud Alsace Largue",
                "mode": "voiture",
                "secteur": "200066033",
                "lieu": "nord",
                "disponibilites": "mercredi et samedi de 13h à 19h",
            },
        ),
    ),
)
"""The five programmes: Calvados (CU Caen la Mer and CC Vallées de l'Orne et de l'Odon),
Nord / Pas-de-Calais (MEL and CA de Lens - Liévin), Strasbourg (Eurométropole, CTS
GTFS), Maine-et-Loire (Angers Loire Métropole and CC Anjou Loir et Sarthe) and, for the
unseen rural département (none is in the extracts), the Haut-Rhin's CC Sud Alsace
Largue: 44 communes, 22,400 inhabitants, the lowest population per commune of the
département's EPCI."""


def territory_communes(ws: Workspace, programme: Programme) -> gpd.GeoDataFrame:
    """The programme's communes (its EPCI), with their geometry."""
    communes = ws.read_layer("communes")
    return communes[communes["epci"].isin(programme.epci)]


def teams_table(ws: Workspace, programme: Programme) -> pd.DataFrame:
    """The teams file as a lead writes it: names, French modes and hours, sectors, bases.

    A base is 300 m east of its commune's representative point (``lieu``); in the rural
    programme ``nord`` / ``sud`` split the EPCI's communes at their median latitude (the
    sector then lists INSEE codes).
    """
    communes = territory_communes(ws, programme).to_crs(2154)
    points = communes.geometry.representative_point()
    codes = communes["code"].astype(str).to_numpy()
    north = points.y.to_numpy() >= np.median(points.y.to_numpy())
    halves = {"nord": codes[north], "sud": codes[~north]}
    rows = []
    for team in programme.teams:
        row = dict(team)
        if row["secteur"] in halves:
            row["secteur"] = ", ".join(sorted(halves[row["secteur"]]))
        where = row.pop("lieu")
        code = halves[where][0] if where in halves else where
        point = points[communes["code"] == code].iloc[0]
        base = gpd.GeoSeries([shapely.Point(point.x + 300, point.y)], crs=2154).to_crs(4326)
        row["base_lon"], row["base_lat"] = round(base.x.iloc[0], 6), round(base.y.iloc[0], 6)
        rows.append(row)
    return pd.DataFrame(rows)


def write_contacts(ws: Workspace, programme: Programme, path: Path) -> pd.DataFrame:
    """Synthetic contacts of the programme's territory (seed :data:`CONTACTS_SEED`).

    Hot spots are every QPV of the territory and the communes, each with its own two
    weekdays and 2-hour slot (70 % of its contacts; the rest anywhere Monday to
    Saturday, 9h-20h). A QPV has 40 to 120 people, a commune ``12 + population / 200``
    (at most 120); a third of the communes under 1,000 inhabitants have none. Each
    person is met 1 to 4 times over the year. Returns the hot spots with their slot.
    """
    rng = np.random.default_rng(CONTACTS_SEED)
    communes = territory_communes(ws, programme).to_crs(2154)
    qpv = ws.read_layer("qpv").to_crs(2154) if ws.has("qpv") else None
    spots: list[tuple[str, shapely.Geometry, int]] = []
    if qpv is not None:
        codes = set(communes["code"])
        mine = [row for row in qpv.itertuples() if set(str(row.communes).split(", ")) & codes]
        spots.extend((str(row.code), row.geometry, int(rng.integers(40, 121))) for row in mine)
    for row in communes.sort_values("code").itertuples():
        pop = int(row.population) if pd.notna(row.population) else 0
        if pop < 1000 and rng.uniform() < 1 / 3:
            continue
        spots.append((str(row.code), row.geometry, min(120, 12 + pop // 200)))
    rows, described = [], []
    person = 0
    for code, geom, people in spots:
        days = rng.choice(6, 2, replace=False)
        hour = int(rng.choice([10, 12, 14, 16, 18]))
        described.append({"zone": code, "jours": tuple(sorted(days)), "heure": hour})
        x0, y0, x1, y1 = geom.bounds
        for _ in range(people):
            person += 1
            for _ in range(int(rng.integers(1, 5))):
                while True:
                    x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
                    if shapely.contains_xy(geom, x, y):
                        break
                if rng.uniform() < 0.7:
                    day, minute = int(rng.choice(days)), hour * 60 + int(rng.integers(0, 120))
                else:
                    day, minute = int(rng.integers(0, 6)), int(rng.integers(9 * 60, 20 * 60))
                monday = CONTACT_MONTHS[int(rng.integers(0, len(CONTACT_MONTHS)))]
                when = monday + pd.Timedelta(days=day, minutes=minute)
                rows.append((when, x, y, f"P{person:06d}"))
    table = pd.DataFrame(rows, columns=["when", "x", "y", "id_personne"])
    lonlat = gpd.GeoSeries(gpd.points_from_xy(table["x"], table["y"]), crs=2154).to_crs(4326)
    statuses = np.array(["premier contact", "contact répété", "entrée en parcours"], dtype=object)
    out = pd.DataFrame(
        {
            "date_contact": table["when"].dt.strftime("%d/%m/%Y %H:%M"),
            "longitude": lonlat.x.round(6),
            "latitude": lonlat.y.round(6),
            "statut": statuses[rng.integers(0, 3, len(table))],
            "id_personne": table["id_personne"],
        }
    )
    out.to_csv(path, sep=";", index=False, encoding="utf-8-sig")
    return pd.DataFrame(described)
