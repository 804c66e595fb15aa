"""A small synthetic programme workspace for the programme tests (contacts written raw).

Three communes near Lille (two urban, one rural of density level 6), territories over
them, and contacts written through the one contact writer
(:func:`territory.privacy.raw.append_contacts`) with chosen people, months and statuses,
so that each test knows the true counts it checks the published ones against.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from territory.grid import cell_ids_from_lonlat
from territory.privacy.raw import append_contacts
from territory.store import Workspace
from territory.territories import define_territory

COMMUNES = {"59001": (3.00, 1), "59002": (3.05, 1), "62001": (3.10, 6)}
"""Commune code → (west longitude of its box, density level)."""
_counter = itertools.count()


def programme_workspace(path: Path) -> Workspace:
    """Three communes (boxes 0.05° wide at 50.60-50.65° N) and their density levels."""
    ws = Workspace.create(path, name="Essai programme")
    communes = gpd.GeoDataFrame(
        {
            "code": list(COMMUNES),
            "nom": ["Urbaine A", "Urbaine B", "Rurale C"],
            "epci": ["200000001", "200000001", "200000002"],
            "population": [20_000, 15_000, 900],
            "densite": [level for _, level in COMMUNES.values()],
        },
        geometry=[shapely.box(w, 50.60, w + 0.05, 50.65) for w, _ in COMMUNES.values()],
        crs="EPSG:4326",
    )
    ws.write_layer("communes", communes, source="test", vintage="2026")
    define_territory(ws, "Pôle A", communes=["59001"])
    define_territory(ws, "Pôle A+", communes=["59001", "59002"])
    define_territory(ws, "Pôle C", communes=["62001"])
    return ws


def contacts(
    ws: Workspace,
    people: Iterable[str],
    *,
    commune: str,
    day: date,
    status: str,
    spot: int = 0,
) -> int:
    """One contact of each person on ``day`` in ``commune`` (in its ``spot``-th cell)."""
    people = list(people)
    west, _ = COMMUNES[commune]
    cell = str(cell_ids_from_lonlat([west + 0.01 + 0.003 * spot], [50.62])[0])
    rows = pd.DataFrame(
        {
            "cell": cell,
            "commune": commune,
            "date": day.isoformat(),
            "hour": 15,
            "statut": status,
            "tranche_age": "",
            "sexe": "",
            "partenaire": "",
            "personne": people,
            "fingerprint": [f"f{next(_counter)}" for _ in people],
        }
    )
    return append_contacts(ws, rows, source="test", vintage="2026", licence="")


def names(prefix: str, n: int) -> list[str]:
    """``n`` pseudonyms ``prefix0``, ``prefix1``…."""
    return [f"{prefix}{i}" for i in range(n)]
