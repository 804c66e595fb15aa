"""INSEE Filosofi 200 m cells (« données carroyées ») as published, and a renamed extract.

INSEE publishes, per inhabited 200 m cell of the EPSG:3035 grid, counts from the tax
files: ``Idcar_200m`` (``IdINSPIRE`` in 2015, lower-case names from 2019), ``I_est_200``
(1 when the cell's figures are imputed, fewer than 11 households), ``Ind`` (people),
``Men`` (households), ``Men_pauv`` (poor households), ``Ind_snv`` and age bands
``Ind_0_3``, ``Ind_4_5``, ``Ind_6_10``, ``Ind_11_17``, ``Ind_18_24``, ``Ind_25_39``….
There is **no 15-29 or 15-24 band**: the youngest adult band is ``Ind_18_24`` (the one
below, 11-17, is mostly children), so the cells give the need « 18-24 ans (Filosofi) »,
never a 15-29 figure. The ids are the grid's own (:mod:`territory.grid`), so cells join
the product's zones without re-projection.

A renamed extract is read too (the project's real file
``filosofi2017_200m_mel_derived_lb93.gpkg``): ``id`` = ``Idcar_200m``, ``num_people`` =
``Ind``, ``imputed`` = ``I_est_200``, ``poverty_ratio`` = ``Men_pauv / Men``; it has no
age band and no household count, and the report says so.

GeoPackage, GeoJSON, Shapefile (the geometry is not read: the id gives the cell) or CSV.

Examples
--------
>>> filosofi_vintage("Filosofi2017_carreaux_200m_met.gpkg")
'Filosofi 2017'
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pyogrio

from territory._errors import InputFileError
from territory.io._validate import find_columns, read_tabular
from territory.io.report import ImportReport

__all__ = ["COLUMNS", "KIND", "filosofi_vintage", "read_filosofi"]

KIND = "filosofi"
"""Import kind (``territory import filosofi FILE``)."""
COLUMNS = ["cell", "ind", "ind_1824", "men", "men_pauv", "pauvrete", "imputed"]
"""Columns kept per cell (``pauvrete``: a given share when there is no household count)."""

_SYNONYMS: dict[str, list[str]] = {
    "cell": ["Idcar_200m", "IdINSPIRE", "id"],
    "ind": ["Ind", "num_people"],
    "ind_1824": ["Ind_18_24"],
    "men": ["Men"],
    "men_pauv": ["Men_pauv"],
    "pauvrete": ["poverty_ratio"],
    "imputed": ["I_est_200", "I_est_cr", "imputed"],
}
_DERIVED = {
    "id": "Idcar_200m",
    "num_people": "Ind",
    "imputed": "I_est_200",
    "poverty_ratio": "Men_pauv / Men",
}
_ID = r"^CRS3035RES200mN(?P<north>\d+)E(?P<east>\d+)$"
_VECTOR = (".gpkg", ".geojson", ".json", ".shp", ".zip")
_EXPECTED = "carreaux Filosofi 200 m de l'INSEE (Idcar_200m, Ind…)"


def filosofi_vintage(name: str) -> str | None:
    """``Filosofi 20yy`` from a file name (``Filosofi2017_carreaux…``), or None."""
    match = re.search(r"filosofi[\s_-]*(\d{4})", name, flags=re.IGNORECASE)
    return f"Filosofi {match.group(1)}" if match else None


def read_filosofi(
    path: str | Path, *, within: tuple[float, float, float, float] | None = None
) -> tuple[pd.DataFrame, ImportReport]:
    """Read Filosofi 200 m cells (official layout or the renamed extract).

    Parameters
    ----------
    path
        A GeoPackage / GeoJSON / Shapefile or a CSV.
    within
        ``(xmin, ymin, xmax, ymax)`` in EPSG:3035: cells whose corner lies outside are
        not read (a national file for one territory); the report says how many.

    Returns
    -------
    tuple of DataFrame and ImportReport
        :data:`COLUMNS` (``cell`` the 200 m id, figures ``Float64``, ``imputed`` ``Int64``).
        Refused: an id that is not a 200 m cell of the EPSG:3035 grid, a cell given twice,
        a population that is not a number.
    """
    path = Path(path)
    report = ImportReport(kind=KIND, source=path.name)
    raw = _read(path, report)
    found = find_columns(raw.columns, _SYNONYMS)
    if "cell" not in found or "ind" not in found:
        raise InputFileError(
            f"{path.name} ne ressemble pas à un fichier « {_EXPECTED} » : colonnes attendues "
            "Idcar_200m et Ind ; colonnes trouvées : "
            f"{', '.join(map(str, raw.columns[:20])) or 'aucune'}"
        )
    ids = raw[found["cell"]].astype("string").str.strip()
    parts = ids.str.extract(_ID)
    north = pd.to_numeric(parts["north"], errors="coerce")
    east = pd.to_numeric(parts["east"], errors="coerce")
    if within is not None:
        xmin, ymin, xmax, ymax = within
        inside = ~((east < xmin) | (east > xmax) | (north < ymin) | (north > ymax)).fillna(False)
        if (~inside).any():
            report.note(
                f"{int((~inside).sum())} carreau(x) hors de l'emprise des communes importées, "
                "non lu(s)"
            )
        raw, ids, north, east = raw[inside], ids[inside], north[inside], east[inside]
    report.read = len(raw)
    # 1-based feature number of a layer, line in the file of a CSV
    line = pd.Series(raw.index + 1, index=raw.index)
    ok = (north.notna() & (north % 200 == 0) & (east % 200 == 0)).fillna(False)
    for idx in raw.index[~ok]:
        report.refuse(int(line[idx]), f"identifiant de carreau 200 m invalide ({ids[idx]!s})"[:120])
    duplicated = ok & ids.where(ok).duplicated(keep="first")
    for idx in raw.index[duplicated]:
        report.refuse(int(line[idx]), f"carreau {ids[idx]} en double")
    ok &= ~duplicated
    out = pd.DataFrame({"cell": ids}, index=raw.index)
    for name in COLUMNS[1:]:
        if name in found:
            text = raw[found[name]].astype("string").str.strip().str.replace(",", ".")
            out[name] = pd.to_numeric(text, errors="coerce").astype("Float64")
        else:
            out[name] = pd.array([pd.NA] * len(raw), dtype="Float64")
    bad = ok & (out["ind"].isna() | (out["ind"] < 0))
    for idx in raw.index[bad]:
        report.refuse(int(line[idx]), f"carreau {ids[idx]} : population (Ind) illisible")
    ok &= ~bad
    out = out[ok].reset_index(drop=True)
    out["imputed"] = out["imputed"].round().astype("Int64")
    report.accept(len(out))
    _notes(found, out, report)
    return out, report.check()


def _read(path: Path, report: ImportReport) -> pd.DataFrame:
    if not path.is_file():
        raise InputFileError(f"fichier introuvable : {path}")
    if path.suffix.lower() not in _VECTOR:
        markers = [n for names in _SYNONYMS.values() for n in names]
        return read_tabular(path, markers=markers, report=report)
    source = f"/vsizip/{path}" if path.suffix.lower() == ".zip" else str(path)
    try:
        fields = [str(f) for f in pyogrio.read_info(source)["fields"]]
        wanted = set(find_columns(fields, _SYNONYMS).values())
        df = pyogrio.read_dataframe(
            source, columns=[f for f in fields if f in wanted], read_geometry=False
        )
    except Exception as exc:  # pyogrio raises several DataSourceError subclasses
        raise InputFileError(
            f"{path.name} n'est pas un fichier géographique lisible : {str(exc).splitlines()[0]}"
        ) from exc
    return pd.DataFrame(df).astype("string")


def _notes(found: dict[str, str], out: pd.DataFrame, report: ImportReport) -> None:
    derived = {c: _DERIVED[c] for c in found.values() if c in _DERIVED}
    if derived:
        report.note(
            "extrait aux colonnes renommées (pas la diffusion INSEE) : "
            + ", ".join(f"{c} lu comme {o}" for c, o in derived.items())
        )
    if "ind_1824" not in found:
        report.note(
            "pas de tranche d'âge (Ind_18_24) : la grille donne la population et non la "
            "population cible"
        )
    else:
        report.note(
            "population cible des carreaux : 18-24 ans (Ind_18_24) ; Filosofi ne publie pas "
            "de tranche 15-29 ni 15-24 ans"
        )
    if "men_pauv" in found and "men" in found:
        report.note("taux de pauvreté : ménages pauvres / ménages (Men_pauv / Men)")
    elif "pauvrete" in found:
        report.note(
            "taux de pauvreté donné par carreau sans nombre de ménages : pondéré par la "
            "population (Ind) pour les zones (approximation)"
        )
    if len(out) and out["imputed"].notna().any():
        share = float((out["imputed"] == 1).mean())
        report.note(
            f"{share:.0%} des carreaux aux valeurs imputées par l'INSEE (moins de 11 ménages) : "
            "ne pas lire un carreau seul".replace("%", "\u202f%")
        )
