"""COG vintages: the commune attribute table and the translation of old commune codes.

Communes merge every year, so a boundary file of one COG vintage (e.g. the 2018
contours) carries codes that no longer exist in the current one. A *commune
attribute table* (one row per current commune: code, name, population, EPCI,
former codes) fixes both problems: its ``anciensCodes`` column gives the
translation old code → current code, and its other columns fill what a bare
boundary file lacks.

The real table of the project is ``communes_cog2026_pop_epci.csv`` (columns
``code, nom, departement, region, population, siren, codeEpci, nomEpci, typeEpci,
anciensCodes``). INSEE files are read too through column synonyms (``CODGEO``,
``LIBGEO``, ``PMUN``, ``EPCI``, ``COM``/``TYPECOM``/``COMPARENT`` of the COG
"communes" file, whose delegated and associated communes become former codes of
their parent).

Examples
--------
>>> table = pd.DataFrame(
...     {"code": ["14150", "14118"], "anciens_codes": ["14002|14013", "14736"]}
... )
>>> translation = translation_table(table)
>>> codes, pairs = translate_codes(pd.Series(["14002", "14118", "14013"]), translation)
>>> codes.tolist(), pairs
(['14150', '14118', '14150'], [('14002', '14150'), ('14013', '14150')])
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from territory._errors import InputFileError
from territory.io._validate import (
    clean_codes,
    find_columns,
    normalise_name,
    read_tabular,
    require_columns,
)
from territory.io.boundaries import COMMUNE_COLUMNS
from territory.io.report import ImportReport

KIND = "communes-table"
"""Import kind (``territory import communes-table FILE``)."""

TABLE_COLUMNS = ["code", "nom", "population", "epci", "epci_nom", "departement", "anciens_codes"]
"""Columns of a commune attribute table once read (``anciens_codes`` joined by ``|``)."""

UNKNOWN_VINTAGE = "COG ?"
"""Vintage stored when neither ``--vintage`` nor the file name gives the COG year."""

_SYNONYMS: dict[str, list[str]] = {
    "code": [
        "CODGEO",
        "COM",
        "INSEE_COM",
        "code_insee",
        "codeCommune",
        "code_commune_insee",
        "DEPCOM",
        "insee",
    ],
    "nom": ["LIBGEO", "NOM", "NOM_COM", "nom_commune", "LIBELLE", "NCCENR", "NOM_M", "libelle"],
    "population": ["PMUN", "population_municipale", "POPULATION", "pop"],
    "epci": ["codeEpci", "SIREN_EPCI", "EPCI", "code_epci", "siren_epci"],
    "epci_nom": ["nomEpci", "LIBEPCI", "nom_epci", "lib_epci", "libelle_epci"],
    "departement": ["codeDepartement", "DEP", "INSEE_DEP", "code_departement", "dep"],
    "anciens_codes": ["anciensCodes", "codes_anciens", "anciens_codes_insee"],
    "typecom": ["TYPECOM"],
    "comparent": ["COMPARENT"],
}
_EXPECTED = "table communale (code, nom, population, codeEpci, anciensCodes)"
_HEADER_MARKERS = {normalise_name(n) for n in ("code", *_SYNONYMS["code"])}
_INSEE_CODE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
_SIREN = re.compile(r"^\d{9}$")
_NO_EPCI = {"", "ZZZZZZZZZ"}
_MAX_LISTED = 20


# --------------------------------------------------------------------------- translation
@dataclass(frozen=True)
class CodeTranslation:
    """Old commune code → current commune code, built from a commune attribute table.

    Attributes
    ----------
    mapping
        Each former code that no longer exists, with the current commune it belongs to.
    merged
        Current codes that gather two former codes or more (communes nouvelles).
    ambiguous
        Former codes listed by several current communes (split communes): not translated.
    """

    mapping: Mapping[str, str]
    merged: frozenset[str] = frozenset()
    ambiguous: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def label(self, old: str, new: str) -> str:
        """French word for one translation: ``fusion`` or ``ancien code``."""
        return "fusion" if new in self.merged else "ancien code"

    def describe(self, old: str, new: str, *, fusion: bool = False) -> str:
        """``"14062 → 14666 (fusion)"``; ``fusion`` forces the label."""
        return f"{old} → {new} ({'fusion' if fusion else self.label(old, new)})"


def translation_table(table: pd.DataFrame) -> CodeTranslation:
    """Build the old → current translation from a commune table's ``anciens_codes``.

    Parameters
    ----------
    table
        A commune table (:func:`read_commune_table`); only ``code`` and
        ``anciens_codes`` (``|``-joined string or list) are used.

    Returns
    -------
    CodeTranslation
        Former codes that are still current codes (communes rétablies) and a
        commune's own code are left out; a former code claimed by several current
        communes is ambiguous and left out of ``mapping``.
    """
    current = set(table["code"].astype(str))
    targets: dict[str, list[str]] = {}
    per_commune: dict[str, int] = {}
    for code, olds in zip(table["code"].astype(str), table["anciens_codes"], strict=True):
        for old in split_codes(olds):
            if old == code or old in current:
                continue
            targets.setdefault(old, [])
            if code not in targets[old]:
                targets[old].append(code)
                per_commune[code] = per_commune.get(code, 0) + 1
    mapping = {old: new[0] for old, new in targets.items() if len(new) == 1}
    ambiguous = {old: tuple(new) for old, new in targets.items() if len(new) > 1}
    merged = frozenset(code for code, n in per_commune.items() if n >= 2)
    return CodeTranslation(mapping=mapping, merged=merged, ambiguous=ambiguous)


def translate_codes(
    codes: pd.Series, table: CodeTranslation | Mapping[str, str] | pd.DataFrame
) -> tuple[pd.Series, list[tuple[str, str]]]:
    """Replace former commune codes by current ones.

    Parameters
    ----------
    codes
        INSEE codes (strings; missing values stay missing).
    table
        A :class:`CodeTranslation`, a plain ``{old: new}`` mapping (chains such as
        ``a → b → c`` are followed) or a commune table.

    Returns
    -------
    tuple of Series and list
        The translated codes (same index, ``string`` dtype) and the distinct
        ``(old, new)`` pairs applied, sorted by old code.
    """
    mapping = _mapping(table)
    text = codes.astype("string")
    if not mapping or text.empty:
        return text, []
    translated = text.map(lambda c: mapping.get(c, c) if isinstance(c, str) else c).astype("string")
    changed = (text != translated).fillna(False)
    pairs = (
        pd.DataFrame({"old": text[changed], "new": translated[changed]})
        .drop_duplicates()
        .sort_values("old")
    )
    return translated, [(str(o), str(n)) for o, n in zip(pairs["old"], pairs["new"], strict=True)]


def translate_code_lists(
    values: pd.Series,
    table: CodeTranslation | Mapping[str, str] | pd.DataFrame,
    *,
    sep: str = ", ",
) -> tuple[pd.Series, list[tuple[str, str]]]:
    """Translate lists of codes held in one string each (QPV ``communes`` links).

    Codes that become equal after translation are kept once, in their first position.

    Returns
    -------
    tuple of Series and list
        The translated strings (joined by ``sep``) and the distinct ``(old, new)`` pairs.
    """
    mapping = _mapping(table)
    pairs: set[tuple[str, str]] = set()
    out: list[str | None] = []
    for value in values.astype("string"):
        if not isinstance(value, str):
            out.append(None)
            continue
        codes = [c.strip() for c in re.split(r"[,;/|]", value) if c.strip()]
        new = [mapping.get(c, c) for c in codes]
        pairs.update((o, n) for o, n in zip(codes, new, strict=True) if o != n)
        out.append(sep.join(dict.fromkeys(new)))
    return pd.Series(out, index=values.index, dtype="string"), sorted(pairs)


def split_codes(value: object) -> list[str]:
    """Former codes from a ``|``-joined string (or a list); empty or missing gives ``[]``."""
    if isinstance(value, str):
        items: Iterable[object] = re.split(r"[|,;\s]+", value)
    elif isinstance(value, Iterable):
        items = value
    else:
        return []
    return [str(v).strip() for v in items if isinstance(v, str) and v.strip()]


def _mapping(table: CodeTranslation | Mapping[str, str] | pd.DataFrame) -> dict[str, str]:
    if isinstance(table, pd.DataFrame):
        return dict(translation_table(table).mapping)
    if isinstance(table, CodeTranslation):
        return dict(table.mapping)
    resolved: dict[str, str] = {}
    for old in table:
        new, seen = table[old], {old}
        while new in table and new not in seen:  # follow a → b → c, stop on cycles
            seen.add(new)
            new = table[new]
        if new != old:
            resolved[old] = new
    return resolved


# --------------------------------------------------------------------------- applying
def apply_commune_table(
    communes: gpd.GeoDataFrame,
    table: pd.DataFrame,
    report: ImportReport,
    *,
    translation: CodeTranslation | None = None,
) -> gpd.GeoDataFrame:
    """Bring a communes layer to the table's COG: current codes, merged shapes, attributes.

    A commune with a former code takes its current code; when several features end
    up with the same code (communes merged since the boundary file's vintage), their
    geometries are dissolved into one feature. Population, EPCI and département come
    from the table; its name replaces the layer's when they differ. Every translation
    is reported as a fix, every name change and every commune absent from the table
    as notes. Idempotent: applying it twice changes nothing more.

    Parameters
    ----------
    communes
        Communes layer (columns :data:`~territory.io.boundaries.COMMUNE_COLUMNS`).
    table
        Commune table (:func:`read_commune_table` or :func:`normalise_table`).
    report
        Report that receives the fixes and notes.
    translation
        Precomputed :func:`translation_table` of ``table``.

    Returns
    -------
    GeoDataFrame
        The communes sorted by code, same columns and CRS.
    """
    translation = translation or translation_table(table)
    gdf = communes.copy()
    original = gdf["code"].astype("string")
    gdf["code"], pairs = translate_codes(original, translation)
    sizes = gdf["code"].value_counts()
    for old, new in pairs:
        report.fix(translation.describe(old, new, fusion=bool(sizes[new] > 1)))
    ambiguous = sorted(set(original.dropna()) & set(translation.ambiguous))
    for old in ambiguous:
        report.note(
            f"{old} : ancienne commune partagée entre {', '.join(translation.ambiguous[old])} "
            "(code non traduit)"
        )
    gdf = _dissolve(gdf, original, report)

    by_code = normalise_table(table).drop_duplicates("code").set_index("code")
    known = gdf["code"].isin(by_code.index)
    for column in ("population", "epci", "departement"):
        fresh = gdf["code"].map(by_code[column])
        gdf[column] = fresh.where(fresh.notna(), gdf[column])
    gdf["population"] = pd.to_numeric(gdf["population"], errors="coerce").astype("Int64")
    _rename(gdf, by_code["nom"], report)
    if (~known).any():
        missing = sorted(gdf.loc[~known, "code"].astype(str))
        report.note(
            f"{len(missing)} commune(s) absente(s) de la table communale (population et EPCI "
            f"non complétés) : {_listing(missing)}"
        )
    _note_uncovered(gdf, by_code, report)
    columns = [c for c in COMMUNE_COLUMNS if c in gdf.columns]
    out = gdf.sort_values("code", kind="stable").reset_index(drop=True)
    return gpd.GeoDataFrame(out[[*columns, "geometry"]], geometry="geometry", crs=communes.crs)


def _dissolve(gdf: gpd.GeoDataFrame, original: pd.Series, report: ImportReport) -> gpd.GeoDataFrame:
    """One feature per code: merged features keep the surviving commune's row, union shape."""
    duplicated = gdf["code"].duplicated(keep=False)
    if not duplicated.any():
        return gdf
    before = len(gdf)
    # the row that keeps its own code (the absorbing commune) represents the group
    survivor = (original == gdf["code"]).fillna(False).astype(int)
    order = gdf.assign(_survivor=survivor).sort_values(
        ["code", "_survivor"], ascending=[True, False], kind="stable"
    )
    kept = order.drop_duplicates("code", keep="first").drop(columns="_survivor")
    shapes = {
        code: shapely.make_valid(shapely.union_all(group.geometry.to_numpy()))
        for code, group in gdf[duplicated].groupby("code")
    }
    kept = kept.copy()
    merged = kept["code"].isin(shapes)
    kept.loc[merged, "geometry"] = gpd.GeoSeries(
        [shapes[c] for c in kept.loc[merged, "code"]],
        index=kept.index[merged],
        crs=gdf.crs,
    )
    report.note(
        f"{before - len(kept)} ancienne(s) commune(s) réunie(s) à leur commune actuelle "
        f"(géométries fusionnées) : {before} entités → {len(kept)} communes"
    )
    return gpd.GeoDataFrame(kept, geometry="geometry", crs=gdf.crs)


def _note_uncovered(gdf: gpd.GeoDataFrame, by_code: pd.DataFrame, report: ImportReport) -> None:
    """Current communes without a shape in a département the layer covers (almost) fully.

    They were created or re-established after the boundaries' vintage (e.g. 14666
    Sannerville, split from the 2018 commune nouvelle Saline): their area is still
    inside a neighbour's shape. A layer holding only part of a département (an EPCI)
    is not reported on, since most missing communes are then simply outside it.
    """
    present = set(gdf["code"].astype(str))
    uncovered: list[str] = []
    for dep, rows in by_code.groupby("departement"):
        if dep not in set(gdf["departement"].dropna().astype(str)):
            continue
        absent = [code for code in rows.index if code not in present]
        if absent and len(absent) <= 0.1 * len(rows):
            uncovered += [f"{code} {rows.at[code, 'nom']}" for code in absent]
    if uncovered:
        report.note(
            f"{len(uncovered)} commune(s) du COG sans contour dans la couche : "
            f"{_listing(uncovered)} (créée(s) ou rétablie(s) depuis le millésime des contours : "
            "leur territoire reste compris dans une commune voisine ; importez des contours "
            "plus récents)"
        )


def _rename(gdf: gpd.GeoDataFrame, names: pd.Series, report: ImportReport) -> None:
    """Current COG names replace the layer's, with one note listing the changes."""
    fresh = gdf["code"].map(names).astype("string")
    current = gdf["nom"].astype("string")
    differs = (fresh.notna() & (fresh.str.strip() != "") & (fresh != current)).fillna(False)
    if not differs.any():
        return
    changes = [
        f"{c} {o if isinstance(o, str) and o else '(sans nom)'} → {n}"
        for c, o, n in zip(gdf.loc[differs, "code"], current[differs], fresh[differs], strict=True)
    ]
    gdf["nom"] = fresh.where(differs, current)
    report.note(f"{len(changes)} nom(s) remplacé(s) par celui du COG : {_listing(changes)}")


def _listing(items: list[str]) -> str:
    more = len(items) - _MAX_LISTED
    return ", ".join(items[:_MAX_LISTED]) + (f" et {more} autre(s)" if more > 0 else "")


# --------------------------------------------------------------------------- reading
def read_commune_table(
    path: str | Path, *, sheet: str | None = None
) -> tuple[pd.DataFrame, ImportReport]:
    """Read a commune attribute table (CSV or spreadsheet, French conventions).

    CSV separated by ``;``, ``,`` or tabs, in UTF-8 (with or without BOM) or
    Windows-1252, with the header row anywhere in the first 30 lines; XLSX/XLS/ODS
    (``sheet``, else the first sheet with a recognised header; the report names it).
    Numbers may carry spaces as thousands separators and a decimal comma. Codes that
    lost their leading zero are repaired. With ``TYPECOM`` and ``COMPARENT`` (INSEE COG
    file), delegated and associated communes (``COMD``, ``COMA``) become former codes of
    their parent and municipal districts (``ARM``) are refused.

    Parameters
    ----------
    path
        The table file.
    sheet
        The workbook's sheet to read (None: see above).

    Returns
    -------
    tuple of DataFrame and ImportReport
        One row per current commune with :data:`TABLE_COLUMNS` (``population``
        ``Int64``, ``anciens_codes`` joined by ``|``, empty when none), and the checked
        report (``read == accepted + refused``).

    Raises
    ------
    InputFileError
        The file is missing or unreadable, or is not a commune table (the message
        names the expected and the found columns).
    """
    path = Path(path)
    report = ImportReport(kind=KIND, source=path.name)
    raw = read_tabular(path, markers=_HEADER_MARKERS, sheet=sheet, report=report)
    found = find_columns(raw.columns, _SYNONYMS)
    require_columns(found, ["code", "nom"], file=path.name, columns=raw.columns, kind=_EXPECTED)
    if not any(k in found for k in ("population", "epci", "anciens_codes", "typecom")):
        raise InputFileError(
            f"{path.name} ne ressemble pas à un fichier « {_EXPECTED} » : colonnes attendues "
            "population, codeEpci ou anciensCodes (au moins une) ; colonnes trouvées : "
            f"{', '.join(map(str, raw.columns))}"
        )
    blank = raw.apply(lambda col: col.str.strip() == "").all(axis=1)
    if blank.any():
        report.note(f"{int(blank.sum())} ligne(s) vide(s) ignorée(s)")
    raw = raw[~blank]
    report.read = len(raw)
    line = pd.Series(raw.index + 1, index=raw.index)  # 1-based line (or sheet row) in the file

    def column(name: str) -> pd.Series:
        if name not in found:
            return pd.Series(pd.NA, index=raw.index, dtype="string")
        return raw[found[name]].astype("string").str.strip()

    codes = clean_codes(column("code"), report, what="code(s) INSEE")
    typecom = column("typecom").fillna("COM").str.upper().replace("", "COM")
    valid = codes.str.match(_INSEE_CODE).fillna(False)
    is_com = valid & (typecom == "COM")
    is_child = valid & typecom.isin(["COMD", "COMA"])
    for idx in raw.index[~valid]:
        code = codes[idx]
        reason = f"code INSEE invalide ({code})" if isinstance(code, str) and code else None
        report.refuse(int(line[idx]), reason or "code INSEE manquant")
    for idx in raw.index[valid & ~is_com & ~is_child]:
        report.refuse(
            int(line[idx]),
            f"{codes[idx]} de type {typecom[idx]} : seules les communes (COM) et les communes "
            "déléguées ou associées (COMD, COMA) sont lues",
        )
    duplicated = is_com & codes.where(is_com).duplicated(keep="first") & codes.notna()
    for idx in raw.index[duplicated]:
        report.refuse(int(line[idx]), f"code INSEE {codes[idx]} en double")
    is_com &= ~duplicated

    olds = {
        code: [c for c in split_codes(v) if c]
        for code, v in zip(codes[is_com], column("anciens_codes")[is_com].fillna(""), strict=True)
    }
    bad_olds = 0
    for code, items in olds.items():
        fixed = [c.zfill(5) if re.fullmatch(r"\d{4}", c) else c.upper() for c in items]
        bad_olds += sum(not _INSEE_CODE.match(c) for c in fixed)
        olds[code] = [c for c in dict.fromkeys(fixed) if _INSEE_CODE.match(c)]
    if bad_olds:
        report.note(f"{bad_olds} ancien(s) code(s) illisible(s) ignoré(s) (colonne anciensCodes)")
    if is_child.any():
        parents = clean_codes(column("comparent"), report, what="code(s) COMPARENT")
        children = 0
        for idx in raw.index[is_child]:
            parent = parents[idx]
            if not isinstance(parent, str) or parent not in olds:
                report.refuse(
                    int(line[idx]),
                    f"commune déléguée ou associée {codes[idx]} : commune de rattachement "
                    f"(COMPARENT) absente ou inconnue ({parent!s})",
                )
                is_child[idx] = False
                continue
            if codes[idx] != parent and codes[idx] not in olds[parent]:
                olds[parent].append(str(codes[idx]))
                children += 1
        report.note(
            f"{int(is_child.sum())} commune(s) déléguée(s) ou associée(s) (TYPECOM COMD, COMA) "
            f"lue(s) : {children} code(s) ajouté(s) aux anciens codes de leur commune"
        )

    population = _to_int(column("population"))
    unreadable = column("population").fillna("").ne("") & population.isna()
    negative = (population < 0).fillna(False)
    population = population.mask(negative)
    if (unreadable | negative)[is_com].any():
        report.note(
            f"{int((unreadable | negative)[is_com].sum())} population(s) illisible(s) laissée(s) "
            "vide(s)"
        )
    epci = column("epci").str.replace(r"\.0$", "", regex=True).str.upper()
    no_epci = epci.isna() | epci.isin(_NO_EPCI)
    bad_epci = ~no_epci & ~epci.str.match(_SIREN).fillna(False)
    if "epci" in found and bad_epci[is_com].any():
        report.note(
            f"{int(bad_epci[is_com].sum())} code(s) EPCI illisible(s) laissé(s) vide(s) "
            "(SIREN à 9 chiffres attendu)"
        )
    epci = epci.mask(no_epci | bad_epci)
    departement = column("departement").str.replace(r"\.0$", "", regex=True)
    departement = departement.where(departement.str.len() != 1, departement.str.zfill(2))
    derived = codes.str.slice(0, 3).where(codes.str.startswith("97"), codes.str.slice(0, 2))
    departement = departement.where(departement.notna() & (departement != ""), derived)

    out = pd.DataFrame(
        {
            "code": codes,
            "nom": column("nom").fillna(""),
            "population": population,
            "epci": epci,
            "epci_nom": column("epci_nom").mask(epci.isna()),
            "departement": departement,
        }
    )[is_com]
    out["anciens_codes"] = pd.Series(
        ["|".join(olds[c]) for c in out["code"]], index=out.index, dtype="string"
    )
    report.accept(int(is_com.sum() + is_child.sum()))
    missing = {
        "population": "colonne population absente : population non renseignée",
        "epci": "colonne EPCI absente : EPCI non renseigné",
        "anciens_codes": "colonne anciensCodes absente : les codes des communes fusionnées ne "
        "pourront pas être traduits",
    }
    if "typecom" in found:
        del missing["anciens_codes"]
    for name, message in missing.items():
        if name not in found:
            report.note(message)
    report.refusals.sort(key=lambda r: r.row if isinstance(r.row, int) else 0)
    translation = translation_table(out)
    if translation.ambiguous:
        report.note(
            f"{len(translation.ambiguous)} ancien(s) code(s) rattaché(s) à plusieurs communes, "
            f"non traduit(s) : {_listing(sorted(translation.ambiguous))}"
        )
    return normalise_table(out), report.check()


def normalise_table(table: pd.DataFrame) -> pd.DataFrame:
    """A commune table with the types of :func:`read_commune_table` (e.g. read back from a store).

    Missing optional columns are added empty; ``anciens_codes`` given as lists are joined.
    """
    out = pd.DataFrame(index=table.index)
    for name in TABLE_COLUMNS:
        values = table[name] if name in table.columns else pd.Series(pd.NA, index=table.index)
        if name == "population":
            out[name] = pd.to_numeric(values, errors="coerce").round().astype("Int64")
        elif name == "anciens_codes":
            out[name] = pd.Series(
                ["|".join(split_codes(v)) for v in values], index=table.index, dtype="string"
            )
        else:
            text = values.astype("string")
            out[name] = text.mask(text.str.strip() == "") if name != "nom" else text.fillna("")
    return out.reset_index(drop=True)


def guess_vintage(name: str) -> str | None:
    """The COG year written in a file name (``…cog2026…``, ``v_commune_2026``), or None.

    >>> guess_vintage("communes_cog2026_pop_epci.csv")
    'COG 2026'
    """
    match = re.search(r"cog[\s_-]*(\d{4})|v_commune_(\d{4})", name, flags=re.IGNORECASE)
    if match is None:
        return None
    return f"COG {match.group(1) or match.group(2)}"


def _to_int(values: pd.Series) -> pd.Series:
    cleaned = (
        values.astype("string")
        .str.replace(r"[\s\u202f\u00a0]", "", regex=True)
        .str.replace(",", ".", regex=False)
    )
    return pd.to_numeric(cleaned, errors="coerce").round().astype("Int64")
