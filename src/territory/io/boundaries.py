"""Communes, QPV and the INSEE density classes, read from their official schemas.

Communes come in three schemas: geo.api.gouv.fr (``code, nom, population, codeEpci,
codeDepartement``), IGN ADMIN EXPRESS (``INSEE_COM, NOM, POPULATION, SIREN_EPCI``) and
the minimal ``code, nom``. QPV come in two generations: 2024 (``code_qp, lib_qp,
insee_com`` with possibly several codes) and 2015 (``CODE_QP, NOM_QP, COMMUNE_QP``
holding commune *names*). The density labels are read from the INSEE file, never
hard-coded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from territory._errors import InputFileError
from territory.crs import METRIC_CRS
from territory.io._validate import (
    find_columns,
    fix_geometries,
    normalise_name,
    read_tabular,
    read_vector,
    require_columns,
)
from territory.io.report import ImportReport

COMMUNE_COLUMNS = ["code", "nom", "population", "epci", "departement", "densite", "densite_libelle"]
QPV_COLUMNS = ["code", "nom", "generation", "communes"]
NO_POPULATION_NOTE = (
    "pas de population dans ce fichier : importez une table communale (communes-table)"
)

_COMMUNE_SYNONYMS = {
    "code": ["INSEE_COM", "code_insee", "codgeo", "insee"],
    "nom": ["NOM", "nom_commune", "libgeo", "NOM_M"],
    "population": ["POPULATION", "pmun", "population_municipale"],
    "epci": ["codeEpci", "SIREN_EPCI", "epci", "siren_epci"],
    "departement": ["codeDepartement", "INSEE_DEP", "dep", "departement"],
}
_INSEE_CODE = re.compile(r"^(\d{5}|2[AB]\d{3})$")


def read_communes(path: Path, *, crs: str | None = None) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Read commune boundaries in any of the three schemas and any CRS.

    Returns the communes (columns :data:`COMMUNE_COLUMNS`, density still empty) and
    the import report; rows without a valid INSEE code or geometry are refused.
    """
    report = ImportReport(kind="communes", source=Path(path).name)
    gdf = read_vector(path, crs=crs)
    found = find_columns(gdf.columns.drop("geometry"), _COMMUNE_SYNONYMS)
    require_columns(
        found,
        ["code", "nom"],
        file=Path(path).name,
        columns=gdf.columns.drop("geometry"),
        kind="communes",
    )
    report.read = len(gdf)
    codes = _clean_codes(gdf[found["code"]], report)
    out = gpd.GeoDataFrame(
        {
            "code": codes,
            "nom": gdf[found["nom"]].astype("string").str.strip(),
            "population": _to_int(gdf[found["population"]]) if "population" in found else pd.NA,
            "epci": gdf[found["epci"]].astype("string").str.strip() if "epci" in found else pd.NA,
            "departement": (
                gdf[found["departement"]].astype("string")
                if "departement" in found
                else codes.str.slice(0, 3).where(codes.str.startswith("97"), codes.str.slice(0, 2))
            ),
            "densite": pd.array([pd.NA] * len(gdf), dtype="Int64"),
            "densite_libelle": pd.Series([""] * len(gdf), dtype="string"),
        },
        geometry=gdf.geometry.to_numpy(),
        crs=gdf.crs,
    )
    out["population"] = out["population"].astype("Int64")
    keep = _refuse(out, report, valid_code=codes.str.match(_INSEE_CODE).fillna(False))
    out = fix_geometries(out[keep], report)
    duplicated = out["code"].duplicated(keep="first")
    for idx in out.index[duplicated]:
        report.refuse(int(idx) + 1, f"code INSEE {out.at[idx, 'code']} en double")
    out = out[~duplicated]
    report.accept(len(out))
    if "population" not in found:
        report.note(NO_POPULATION_NOTE)
    return out.reset_index(drop=True), report.check()


def read_density_classes(
    path: Path, *, sheet: str | None = None
) -> tuple[pd.DataFrame, ImportReport]:
    """Read the INSEE "grille communale de densité" (CSV or XLSX, header row anywhere).

    Returns one row per commune: ``code``, ``densite`` (the file's level), and
    ``densite_libelle`` (the file's own label for that level). ``sheet``: the workbook's
    sheet to read (default: the first with a ``CODGEO`` column; the report names it).
    """
    path = Path(path)
    report = ImportReport(kind="density", source=path.name)
    raw = read_tabular(path, markers=["CODGEO"], sheet=sheet, report=report)
    found = find_columns(
        # the 7-level grid when the file has both (INSEE 2025 ships DENS = 3 levels, DENS7)
        raw.columns,
        {
            "code": ["CODGEO"],
            "densite": ["DENS7", "DENS"],
            "densite_libelle": ["LIBDENS7", "LIBDENS"],
        },
    )
    require_columns(
        found,
        ["code", "densite", "densite_libelle"],
        file=path.name,
        columns=raw.columns,
        kind="grille communale de densité (CODGEO, DENS, LIBDENS)",
    )
    report.read = len(raw)
    codes = _clean_codes(raw[found["code"]], report)
    level = pd.to_numeric(raw[found["densite"]], errors="coerce").astype("Int64")
    out = pd.DataFrame(
        {
            "code": codes,
            "densite": level,
            "densite_libelle": raw[found["densite_libelle"]].astype("string").str.strip(),
        }
    )
    ok = codes.str.match(_INSEE_CODE).fillna(False) & level.notna()
    for idx in out.index[~ok]:
        report.refuse(int(idx) + 1, "code INSEE ou niveau de densité illisible")
    out = out[ok]
    report.accept(len(out))
    return out.reset_index(drop=True), report.check()


def read_qpv(
    path: Path,
    *,
    communes: gpd.GeoDataFrame | None = None,
    crs: str | None = None,
    mapping: Mapping[str, str] | None = None,
) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Read QPV of the 2024 or the 2015 generation and link each to its communes.

    The 2024 file gives INSEE codes; the 2015 file gives commune names, matched to
    ``communes`` by name (accents, case and spacing ignored), then by overlap.

    Codes are read, never made up: a file without a code column (``code_qp``,
    ``CODE_QP``, ``code``) is refused unless ``mapping`` names it (``{"code":
    "identifiant"}``; ``nom``, ``insee_com`` and ``commune_qp`` may be named too). A code
    found on several rows is refused on each of them: which row is right cannot be told,
    and the others of the file are unaffected.
    """
    path = Path(path)
    report = ImportReport(kind="qpv", source=path.name)
    gdf = read_vector(path, crs=crs)
    columns = gdf.columns.drop("geometry")
    found = find_columns(
        columns,
        {
            "code": ["code_qp", "CODE_QP"],
            "nom": ["lib_qp", "NOM_QP", "nom_qp"],
            "insee_com": [],
            "commune_qp": [],
        },
    )
    found |= _mapped(mapping, columns, file=path.name)
    if "code" not in found:
        raise InputFileError(
            f"{path.name} : aucune colonne de codes QPV (code_qp, CODE_QP ou code) ; les "
            "codes ne sont jamais inventés. Si le fichier les porte sous un autre nom, "
            'indiquez-le, par ex. --mapping \'{"code": "identifiant"}\' ; colonnes '
            f"trouvées : {', '.join(map(str, columns)) or 'aucune'}"
        )
    require_columns(
        found,
        ["code", "nom"],
        file=path.name,
        columns=columns,
        kind="QPV (code_qp, lib_qp ou CODE_QP, NOM_QP)",
    )
    report.read = len(gdf)
    codes = gdf[found["code"]].astype("string").str.strip()
    generation = codes.str.slice(0, 2).map({"QN": 2024, "QP": 2015}).astype("Int64")
    if "insee_com" in found:
        links = gdf[found["insee_com"]].astype("string").fillna("").map(_split_codes)
    elif "commune_qp" in found:
        links = _link_by_name(
            gdf, gdf[found["commune_qp"]].astype("string").fillna(""), communes, report
        )
    else:
        links = _link_by_overlap(gdf, communes)
        report.note("aucune colonne de communes : rattachement aux communes par recouvrement")
    out = gpd.GeoDataFrame(
        {
            "code": codes,
            "nom": gdf[found["nom"]].astype("string").str.strip(),
            "generation": generation,
            "communes": links.astype("string"),
        },
        geometry=gdf.geometry.to_numpy(),
        crs=gdf.crs,
    )
    keep = _refuse(
        out, report, valid_code=codes.str.match(r"^Q[NP]\d{3}\d{2,3}[A-Z]?$").fillna(False)
    )
    out = fix_geometries(out[keep], report)
    out = _refuse_duplicates(out, report)
    report.accept(len(out))
    return out.reset_index(drop=True), report.check()


def in_communes(
    qpv: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, *, share: float = 0.01
) -> pd.Series:
    """Whether each QPV lies in ``communes`` for more than ``share`` of its area.

    A QPV that only touches the territory's edge (or a sliver of a neighbour's border)
    is not in it; a QPV across the edge is, whole. Computed in Lambert-93.
    """
    if qpv.empty or communes.empty:
        return pd.Series(False, index=qpv.index, dtype=bool)
    shapes = qpv.geometry.to_crs(METRIC_CRS).make_valid()
    area = communes.geometry.to_crs(METRIC_CRS).make_valid().union_all()
    near = shapes.intersects(area)
    inside = pd.Series(0.0, index=qpv.index)
    inside[near] = shapes[near].intersection(area).area
    return (inside > share * shapes.area) & near


def with_density(
    communes: gpd.GeoDataFrame, classes: pd.DataFrame, report: ImportReport
) -> gpd.GeoDataFrame:
    """Communes with the density level and label of the INSEE file joined on ``code``."""
    joined = communes.drop(columns=["densite", "densite_libelle"]).merge(
        classes[["code", "densite", "densite_libelle"]], on="code", how="left"
    )
    missing = joined["densite"].isna()
    if missing.any():
        report.note(f"{int(missing.sum())} commune(s) sans classe de densité dans le fichier INSEE")
    joined["densite_libelle"] = joined["densite_libelle"].fillna("")
    return gpd.GeoDataFrame(joined, geometry="geometry", crs=communes.crs)[
        [*COMMUNE_COLUMNS, "geometry"]
    ]


# ------------------------------------------------------------------ helpers
def _clean_codes(values: pd.Series, report: ImportReport) -> pd.Series:
    """INSEE codes as 5-character strings; numeric codes that lost a leading zero are fixed."""
    codes = values.astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    short = codes.str.fullmatch(r"\d{4}").fillna(False)
    if short.any():
        codes = codes.where(~short, codes.str.zfill(5))
        report.fix(
            f"{int(short.sum())} code(s) INSEE complété(s) d'un zéro initial", int(short.sum())
        )
    return codes


def _refuse(out: gpd.GeoDataFrame, report: ImportReport, *, valid_code: pd.Series) -> pd.Series:
    geometry = out.geometry.to_numpy()  # shapely's own checks: no geopandas warning
    present = ~shapely.is_missing(geometry) & ~shapely.is_empty(geometry)
    keep = valid_code.to_numpy() & present
    for pos in (~keep).nonzero()[0]:
        reason = "code manquant ou invalide" if not valid_code.iloc[pos] else "géométrie absente"
        report.refuse(int(pos) + 1, f"{reason} ({out['code'].iloc[pos]!s})")
    return pd.Series(keep, index=out.index)


def _mapped(mapping: Mapping[str, str] | None, columns: pd.Index, *, file: str) -> dict[str, str]:
    """The columns an explicit mapping names (canonical → file column), checked."""
    if not mapping:
        return {}
    known = {"code", "nom", "insee_com", "commune_qp"}
    unknown = sorted(set(mapping) - known)
    if unknown:
        raise InputFileError(
            f"{file} : correspondance inconnue pour des QPV : {', '.join(unknown)} "
            f"(attendu : {', '.join(sorted(known))})"
        )
    missing = sorted(c for c in mapping.values() if c not in columns)
    if missing:
        raise InputFileError(
            f"{file} : colonne(s) {', '.join(missing)} de la correspondance absente(s) ; "
            f"colonnes trouvées : {', '.join(map(str, columns)) or 'aucune'}"
        )
    return dict(mapping)


def _refuse_duplicates(out: gpd.GeoDataFrame, report: ImportReport) -> gpd.GeoDataFrame:
    """Refuse every row of a code found more than once (none of them can be trusted)."""
    twice = out["code"].duplicated(keep=False).to_numpy()
    if not twice.any():
        return out
    for code, group in out[twice].groupby("code", sort=True):
        features = ", ".join(str(int(i) + 1) for i in group.index)
        for label in group.index:
            report.refuse(
                int(label) + 1,
                f"code QPV {code} en double (entités {features}) : aucune n'est importée, "
                "faute de savoir laquelle est la bonne ; corrigez le fichier",
            )
    return out[~twice]


def _to_int(values: pd.Series) -> pd.Series:
    cleaned = values.astype("string").str.replace(r"[\s\u202f\u00a0]", "", regex=True)
    return pd.to_numeric(cleaned, errors="coerce").round().astype("Int64")


def _split_codes(text: str) -> str:
    return ", ".join(c.strip() for c in re.split(r"[,;/]", text) if c.strip())


def _link_by_name(
    qpv: gpd.GeoDataFrame, names: pd.Series, communes: gpd.GeoDataFrame | None, report: ImportReport
) -> pd.Series:
    if communes is None or communes.empty:
        report.note("QPV 2015 : importez d'abord les communes pour relier les noms aux codes INSEE")
        return pd.Series([""] * len(qpv), index=qpv.index)
    by_name: dict[str, list[str]] = {}
    for code, nom in zip(communes["code"], communes["nom"], strict=True):
        by_name.setdefault(normalise_name(nom), []).append(str(code))
    overlap = _link_by_overlap(qpv, communes)
    links = []
    for i, text in enumerate(names):
        codes: list[str] = []
        for name in filter(None, (n.strip() for n in str(text).split(","))):
            candidates = by_name.get(normalise_name(name), [])
            if len(candidates) == 1:
                codes.append(candidates[0])
            else:  # unknown or homonyms: the overlapping commune decides
                near = [c for c in overlap.iloc[i].split(", ") if c in candidates or not candidates]
                codes.extend(near[:1])
                if not near:
                    report.note(f"QPV {qpv.index[i] + 1} : commune « {name} » introuvable")
        links.append(", ".join(dict.fromkeys(codes)))
    return pd.Series(links, index=qpv.index)


def _link_by_overlap(qpv: gpd.GeoDataFrame, communes: gpd.GeoDataFrame | None) -> pd.Series:
    if communes is None or communes.empty:
        return pd.Series([""] * len(qpv), index=qpv.index)
    left = qpv[["geometry"]].to_crs(2154).reset_index(names="qpv_row")
    right = communes[["code", "geometry"]].to_crs(2154)
    pieces = gpd.overlay(left, right, how="intersection", keep_geom_type=True)
    pieces["area"] = pieces.area
    pieces = pieces[pieces["area"] > 0.01 * pieces.groupby("qpv_row")["area"].transform("sum")]
    pieces = pieces.sort_values(["qpv_row", "area"], ascending=[True, False])
    joined = pieces.groupby("qpv_row")["code"].agg(", ".join)
    return pd.Series(joined.reindex(range(len(qpv))).fillna("").to_numpy(), index=qpv.index)
