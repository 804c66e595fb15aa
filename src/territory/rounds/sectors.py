"""Team sectors: the part of the programme territory each team covers.

A team's ``secteur`` (a column of the teams file and of the ``teams`` table) is written
as one of:

* the name of a programme territory (:mod:`territory.territories`);
* an EPCI: its SIREN (``200065597``), its name (``CU Caen la Mer``, read from the
  communes table imported with ``communes-table``) or both (``CU Caen la Mer
  (200065597)``, as the page's list shows it);
* INSEE commune codes separated by commas, semicolons or spaces (``14118, 14327``);
* nothing: no sector, the team may go anywhere in the plan's territory (teams stored
  before sectors existed read so, and the plan says it).

:func:`resolve_sector` turns it into the set of commune codes that the planner compares
with each place's ``zone`` (:attr:`territory.rounds.model.Team.sector`).

Examples
--------
>>> import tempfile, geopandas as gpd, shapely
>>> from pathlib import Path
>>> ws = Workspace.create(Path(tempfile.mkdtemp()) / "w.gpkg", name="Essai")
>>> communes = gpd.GeoDataFrame(
...     {"code": ["00001", "00002", "00003"], "epci": ["200000001", "200000001", "200000002"]},
...     geometry=[shapely.box(i, 46, i + 1, 47) for i in range(3)], crs="EPSG:4326")
>>> ws.write_layer("communes", communes, source="test", vintage="2026")
>>> sorted(resolve_sector(ws, "200000001"))
['00001', '00002']
>>> sorted(resolve_sector(ws, "00003; 00001"))
['00001', '00003']
>>> resolve_sector(ws, "") is None
True
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import geopandas as gpd
import pandas as pd

from territory._errors import ValidationError
from territory.rounds.model import Team
from territory.store import Workspace
from territory.territories import WHOLE_WORKSPACE, is_whole, list_territories, resolve

__all__ = [
    "check_sectors",
    "resolve_sector",
    "sector_choices",
    "territory_places",
    "territory_zones",
]

COMMUNE_TABLE = "commune_table"  # as stored by ``territory import communes-table``
_COMMUNE = re.compile(r"\d[\dAB]\d{3}")
_SIREN = re.compile(r"\d{9}")
_LABELLED = re.compile(r".*\((\d{9})\)\s*")


def resolve_sector(ws: Workspace, text: str | None) -> frozenset[str] | None:
    """The commune codes of a sector as written in the teams table (None: no sector).

    Raises
    ------
    ValidationError
        When the text is none of the accepted forms, or names codes unknown to the
        workspace (the message lists the territories defined and the accepted forms).
    """
    text = "" if text is None or pd.isna(text) else str(text).strip()
    if not text or text == WHOLE_WORKSPACE:
        return None
    for territory in list_territories(ws):
        if _plain(territory.name) == _plain(text):
            return frozenset(resolve(ws, territory.name))
    communes = _communes(ws)
    tokens = [t for t in re.split(r"[,;\s]+", text) if t]
    if tokens and all(_COMMUNE.fullmatch(t) for t in tokens):
        known = set(communes["code"])
        unknown = [t for t in tokens if t not in known]
        if unknown:
            raise ValidationError(
                f"secteur « {text} » : commune(s) inconnue(s) dans l'espace de travail : "
                f"{', '.join(unknown)}"
            )
        return frozenset(tokens)
    labelled = _LABELLED.fullmatch(text)
    sirens = [labelled[1]] if labelled else tokens
    if not all(_SIREN.fullmatch(t) for t in sirens):
        names = _epci_names(ws)
        found = [siren for siren, name in names.items() if _plain(name) == _plain(text)]
        if not found:
            raise ValidationError(_unknown(ws, text))
        sirens = found
    epcis = set(communes["epci"].dropna().astype(str))
    unknown = [s for s in sirens if s not in epcis]
    if unknown:
        raise ValidationError(
            f"secteur « {text} » : EPCI inconnu(s) dans les communes : {', '.join(unknown)}"
        )
    return frozenset(communes.loc[communes["epci"].isin(sirens), "code"].astype(str))


def check_sectors(ws: Workspace, sectors: pd.Series) -> list[str]:
    """One French problem per unreadable sector of a teams table (line numbers from 2)."""
    problems = []
    for line, text in enumerate(sectors, start=2):
        try:
            resolve_sector(ws, text)
        except ValidationError as exc:
            problems += [f"ligne {line} : {p}" for p in exc.problems]
    return problems


def sector_choices(ws: Workspace) -> list[str]:
    """What a sector can be, as the page lists it: territories, then EPCI.

    An EPCI reads ``"Nom (SIREN)"`` when the communes table gives its name, else its SIREN.
    """
    names = _epci_names(ws)
    epci = sorted(_communes(ws)["epci"].dropna().astype(str).unique())
    labelled = [f"{names[s]} ({s})" if s in names else s for s in epci]
    return [t.name for t in list_territories(ws)] + sorted(labelled, key=_plain)


def territory_places(
    ws: Workspace,
    places: gpd.GeoDataFrame,
    territory: str | None,
    teams: Sequence[Team],
    notes: list[str],
) -> gpd.GeoDataFrame:
    """The candidate places of a programme territory (None: all), with notes in French.

    The notes say how many places the territory keeps, which teams have no sector (they
    go anywhere in it) and which teams' sectors lie outside it.
    """
    codes = None if is_whole(territory) else resolve(ws, territory)
    if codes is not None:
        inside = places.get("zone", pd.Series("", index=places.index)).astype(str).isin(codes)
        notes.append(
            f"Plan du territoire « {territory} » : {int(inside.sum())} lieu(x) candidat(s) "
            f"sur {len(places)}."
        )
        if not inside.any():
            raise ValidationError(f"aucun lieu candidat dans le territoire « {territory} »")
        places = places[inside]
    free = [t.name for t in teams if t.sector is None]
    if free:
        where = f"le territoire « {territory} »" if codes is not None else "l'espace de travail"
        notes.append(
            f"Sans secteur, {len(free)} équipe(s) peu(ven)t aller dans tout {where} : "
            f"{', '.join(free)} (choisissez un secteur dans le tableau des équipes)."
        )
    if codes is not None:
        notes.extend(
            f"Équipe « {team.name} » : son secteur est hors du territoire « {territory} », "
            "elle n'a aucun lieu à y visiter."
            for team in teams
            if team.sector is not None and not team.sector & codes
        )
    return places


def territory_zones(
    ws: Workspace, territory: str | None, zones: Sequence[str], qpv: gpd.GeoDataFrame | None
) -> tuple[list[str], gpd.GeoDataFrame | None]:
    """The priority ``zones`` (commune codes) and ``qpv`` of a programme territory (None: all).

    A plan of one territory speaks only of its own zones: a commune or a QPV of another
    part of the workspace is not « sans lieu candidat » in it. A QPV belongs to the
    territory when one of its ``communes`` does.
    """
    if is_whole(territory):
        return list(zones), qpv
    codes = resolve(ws, territory)
    if qpv is not None and "communes" in qpv:
        links = qpv["communes"].fillna("").astype(str)
        mine = links.map(lambda text: bool({c.strip() for c in text.split(",")} & codes))
        qpv = qpv[mine.to_numpy()]
    return [z for z in zones if z in codes], qpv


def _communes(ws: Workspace) -> pd.DataFrame:
    if not ws.has("communes"):
        return pd.DataFrame({"code": pd.Series(dtype=str), "epci": pd.Series(dtype=str)})
    communes = ws.read_table("communes", columns=["code", "epci"])
    return communes.assign(code=communes["code"].astype(str))


def _epci_names(ws: Workspace) -> dict[str, str]:
    if not ws.has(COMMUNE_TABLE):
        return {}
    table = ws.read_table(COMMUNE_TABLE)
    if not {"epci", "epci_nom"} <= set(table.columns):
        return {}
    table = table.dropna(subset=["epci", "epci_nom"]).drop_duplicates("epci")
    return dict(zip(table["epci"].astype(str), table["epci_nom"].astype(str), strict=True))


def _unknown(ws: Workspace, text: str) -> str:
    territories = ", ".join(f"« {t.name} »" for t in list_territories(ws)) or "aucun"
    return (
        f"secteur « {text} » inconnu : donnez un territoire du programme (définis : "
        f"{territories}), un EPCI (SIREN ou nom) ou des codes INSEE séparés par des virgules"
    )


def _plain(text: str) -> str:
    """Lower case, no accents, single spaces: names compare as a person reads them."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.lower().split())
