"""A small BAN ``adresses-14.csv`` written by hand, in the official layout (23 columns, ``;``).

The addresses are real-looking Calvados ones, placed inside the three communes of
``data/recorded/geo_api_communes_14.geojson`` (Caen 14118, Hérouville-Saint-Clair 14327,
Évrecy 14257; their recorded contours are boxes). Positions are approximate: the tests
only need them inside the right commune and close to each other along a street.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from territory.io.ban import BAN_COLUMNS

RECORDED = Path(__file__).resolve().parent / "data" / "recorded"
COMMUNES_14 = RECORDED / "geo_api_communes_14.geojson"

# numero, rep, nom_voie, code_postal, code_insee, nom_commune, lon, lat
CALVADOS: list[tuple[str, str, str, str, str, str, float, float]] = [
    ("1", "", "Place Saint-Pierre", "14000", "14118", "Caen", -0.36320, 49.18380),
    ("3", "", "Place Saint-Pierre", "14000", "14118", "Caen", -0.36290, 49.18370),
    ("10", "", "Rue de Bayeux", "14000", "14118", "Caen", -0.37810, 49.18620),
    ("12", "", "Rue de Bayeux", "14000", "14118", "Caen", -0.37860, 49.18640),
    ("12", "bis", "Rue de Bayeux", "14000", "14118", "Caen", -0.37870, 49.18650),
    ("15", "", "Rue de Bayeux", "14000", "14118", "Caen", -0.37900, 49.18600),
    ("17", "", "Rue de Bayeux", "14000", "14118", "Caen", -0.37950, 49.18620),
    ("40", "", "Rue de Bayeux", "14000", "14118", "Caen", -0.38500, 49.18800),
    ("1", "", "Esplanade Jean-Marie Louvel", "14000", "14118", "Caen", -0.372286, 49.181466),
    ("15", "", "Rue des Chanoines", "14000", "14118", "Caen", -0.35700, 49.18500),
    ("2", "", "Boulevard Maréchal Leclerc", "14000", "14118", "Caen", -0.36200, 49.18600),
    ("90", "", "Boulevard Maréchal Leclerc", "14000", "14118", "Caen", -0.36700, 49.18000),
    ("180", "", "Boulevard Maréchal Leclerc", "14000", "14118", "Caen", -0.37200, 49.17400),
    ("2", "", "Rue de Caen", "14200", "14327", "Hérouville-Saint-Clair", -0.33000, 49.20000),
    ("4", "", "Rue de Caen", "14200", "14327", "Hérouville-Saint-Clair", -0.33020, 49.20030),
    ("1", "", "Place de l'Europe", "14200", "14327", "Hérouville-Saint-Clair", -0.3250, 49.2030),
    ("5", "", "Rue de Caen", "14210", "14257", "Évrecy", -0.50000, 49.10000),
    ("", "", "Les Brandes", "14210", "14257", "Évrecy", -0.49000, 49.11000),
]
"""The addresses of the sample, by street."""


def ban_line(
    numero: str,
    rep: str,
    voie: str,
    code_postal: str,
    code_insee: str,
    commune: str,
    lon: float | str,
    lat: float | str,
) -> str:
    """One line of the official file (fields not read by the importer filled plausibly)."""
    fantoir = f"{code_insee}_{zlib.crc32(voie.encode()) % 10000:04d}"
    ident = f"{fantoir}_{numero.zfill(5)}{'_' + rep if rep else ''}"
    fields = {
        "id": ident,
        "id_fantoir": fantoir,
        "numero": numero,
        "rep": rep,
        "nom_voie": voie,
        "code_postal": code_postal,
        "code_insee": code_insee,
        "nom_commune": commune,
        "lon": str(lon),
        "lat": str(lat),
        "type_position": "entrée",
        "libelle_acheminement": commune.upper(),
        "nom_afnor": voie.upper(),
        "source_position": "commune",
        "source_nom_voie": "commune",
        "certification_commune": "1",
    }
    return ";".join(fields.get(column, "") for column in BAN_COLUMNS)


def ban_csv(
    rows: list[tuple[str, str, str, str, str, str, float, float]] | None = None,
    *,
    extra: tuple[str, ...] = (),
) -> str:
    """The header, one line per row (:data:`CALVADOS` by default), then ``extra`` lines."""
    lines = [";".join(BAN_COLUMNS), *(ban_line(*row) for row in rows or CALVADOS), *extra]
    return "\n".join(lines) + "\n"


def write_ban(path: Path, text: str | None = None, *, gz: bool = True) -> Path:
    """Write a BAN file (gzip-compressed by default), :func:`ban_csv` when no text."""
    data = (ban_csv() if text is None else text).encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)
    return path
