"""Shared checks for user files: reading any vector format, CRS plausibility, columns."""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import python_calamine
import shapely
from pyproj import CRS
from pyproj.exceptions import ProjError

from territory._errors import CRSError, InputFileError
from territory.crs import METRIC_CRS
from territory.io._quotes import refuse_unclosed_quotes
from territory.io._sheets import is_spreadsheet, pick_sheet, read_sheet
from territory.io.report import ImportReport

# Plausible extents (x/y order) of metropolitan and overseas France, per CRS kind.
_METRO_LONLAT = (-5.6, 41.2, 10.0, 51.2)
# Mainland France and Corsica, then the overseas départements and Saint-Pierre-et-Miquelon:
# one box each, so that swapped metropolitan coordinates do not pass for the Indian Ocean.
_FRANCE_LONLAT = (
    _METRO_LONLAT,
    (-63.2, 14.3, -60.8, 18.2),  # Guadeloupe, Martinique, Saint-Martin, Saint-Barthélemy
    (-54.7, 2.1, -51.5, 5.8),  # Guyane
    (55.1, -21.5, 56.0, -20.8),  # La Réunion
    (44.9, -13.1, 45.4, -12.5),  # Mayotte
    (-56.5, 46.7, -56.1, 47.2),  # Saint-Pierre-et-Miquelon
)
_LAMBERT93 = (50_000.0, 6_000_000.0, 1_300_000.0, 7_150_000.0)
_LAEA = (2_900_000.0, 1_300_000.0, 4_400_000.0, 3_200_000.0)


def read_vector(
    path: Path, *, crs: str | None = None, layer: str | None = None
) -> gpd.GeoDataFrame:
    """Read GeoJSON / GPKG / SHP / zipped SHP, with a French message when it fails.

    ``crs`` is used when the file declares none; a declared CRS is checked against the
    coordinates and a file whose numbers cannot be in it is refused with a guess.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"fichier introuvable : {path}")
    source = f"/vsizip/{path}" if path.suffix.lower() == ".zip" else str(path)
    try:
        if layer is None:
            layers = pyogrio.list_layers(source)
            spatial = [name for name, geom in layers if geom is not None]
            layer = (spatial or [layers[0][0]])[0]
        gdf = pyogrio.read_dataframe(source, layer=layer)
    except Exception as exc:  # pyogrio raises several DataSourceError subclasses
        raise InputFileError(
            f"{path.name} n'est pas un fichier géographique lisible (GeoJSON, GeoPackage, "
            f"Shapefile ou Shapefile zippé) : {str(exc).splitlines()[0]}"
        ) from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.isna().all():
        raise InputFileError(f"{path.name} ne contient aucune géométrie")
    if gdf.crs is None:
        if crs is None:
            guess = guess_crs(gdf)
            hint = f" (les coordonnées ressemblent à {guess})" if guess else ""
            raise CRSError(
                f"{path.name} ne déclare pas de système de coordonnées : précisez --crs{hint}"
            )
        gdf = gdf.set_crs(crs)
    check_crs_plausible(gdf, name=path.name)
    return gdf


def guess_crs(gdf: gpd.GeoDataFrame) -> str | None:
    """The CRS the coordinates most probably are in (EPSG code), or None."""
    xmin, ymin, xmax, ymax = gdf.total_bounds
    if _in_france((xmin, ymin, xmax, ymax)):
        return "EPSG:4326"
    for code, box in ((METRIC_CRS, _LAMBERT93), ("EPSG:3035", _LAEA)):
        if _inside((xmin, ymin, xmax, ymax), box):
            return code
    if _inside((ymin, xmin, ymax, xmax), _METRO_LONLAT):
        return "EPSG:4326 avec latitude et longitude inversées"
    return None


def check_crs_plausible(gdf: gpd.GeoDataFrame, *, name: str) -> None:
    """Refuse a file whose coordinates cannot be in its declared CRS, naming the likely one."""
    if gdf.empty or gdf.crs is None:
        return
    bounds = gdf.total_bounds
    if not np.all(np.isfinite(bounds)):
        return
    declared = CRS.from_user_input(gdf.crs)
    try:
        lonlat = gpd.GeoSeries(shapely.box(*bounds), crs=declared).to_crs(4326).total_bounds
        ok = bool(np.all(np.isfinite(lonlat))) and _in_france(tuple(lonlat))
    except (ProjError, ValueError):  # no transformation to WGS 84, or absurd numbers
        ok = False
    if declared.is_geographic and not _inside(tuple(bounds), (-180, -90, 180, 90)):
        ok = False
    if not ok:
        guess = guess_crs(gdf)
        hint = f" ; elles ressemblent plutôt à {guess}" if guess else ""
        raise CRSError(
            f"{name} : les coordonnées ({bounds[0]:.6g}, {bounds[1]:.6g}) – ({bounds[2]:.6g}, "
            f"{bounds[3]:.6g}) ne peuvent pas être en {declared.to_string()} sur la France{hint}"
        )


def find_columns(columns: Iterable[str], synonyms: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Map canonical names to the file's columns through a synonym table (case/accents ignored)."""
    by_key = {normalise_name(c): c for c in columns}
    found: dict[str, str] = {}
    for canonical, names in synonyms.items():
        for candidate in (canonical, *names):
            column = by_key.get(normalise_name(candidate))
            if column is not None:
                found[canonical] = column
                break
    return found


def note_guessed(
    found: Mapping[str, str], report: ImportReport, *, given: Iterable[str] = ()
) -> None:
    """Note each column read under another name than the canonical one (a guess).

    ``given`` lists the canonical names the user mapped explicitly (not guesses).

    Examples
    --------
    >>> r = ImportReport(kind="partners", source="p.csv")
    >>> note_guessed({"nom": "Nom de la structure", "adresse": "Adresse"}, r)
    >>> r.notes
    ['colonne « Nom de la structure » lue comme « nom »']
    """
    explicit = set(given)
    for canonical, column in found.items():
        if canonical not in explicit and normalise_name(column) != normalise_name(canonical):
            report.note(f"colonne « {column} » lue comme « {canonical} »")


def require_columns(
    found: Mapping[str, str],
    required: Iterable[str],
    *,
    file: str,
    columns: Iterable[str],
    kind: str,
) -> None:
    """Raise a wrong-kind error naming the expected and found columns."""
    missing = [c for c in required if c not in found]
    if missing:
        raise InputFileError(
            f"{file} ne ressemble pas à un fichier « {kind} » : colonnes attendues "
            f"{', '.join(missing)} ; colonnes trouvées : {', '.join(map(str, columns)) or 'aucune'}"
        )


def normalise_name(text: str) -> str:
    """Lower-case ASCII without accents, spaces, hyphens or underscores (for matching)."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())


def header_test(names: Iterable[str]) -> Callable[[Sequence[object]], bool]:
    """A row test: whether one of its cells reads as one of ``names`` (accents, case ignored)."""
    wanted = {normalise_name(n) for n in names}
    return lambda cells: any(normalise_name(str(c).strip().strip('"')) in wanted for c in cells)


def fix_geometries(gdf: gpd.GeoDataFrame, report: ImportReport) -> gpd.GeoDataFrame:
    """Repair invalid polygons with ``make_valid`` and count them as fixed."""
    invalid = ~gdf.geometry.is_valid & gdf.geometry.notna()
    if invalid.any():
        gdf = gdf.copy()
        gdf.loc[invalid, "geometry"] = shapely.make_valid(gdf.geometry[invalid].to_numpy())
        report.fix(
            f"{int(invalid.sum())} géométrie(s) invalide(s) réparée(s) (make_valid)",
            int(invalid.sum()),
        )
    return gdf


def in_france(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Whether each point (WGS84) lies in mainland France, Corsica or an overseas box."""
    inside = np.zeros(np.shape(lon), dtype=bool)
    with np.errstate(invalid="ignore"):
        for xmin, ymin, xmax, ymax in _FRANCE_LONLAT:
            inside |= (lon >= xmin) & (lon <= xmax) & (lat >= ymin) & (lat <= ymax)
    return inside


def _in_france(bounds: tuple[float, ...]) -> bool:
    return any(_inside(bounds, box) for box in _FRANCE_LONLAT)


def _inside(bounds: tuple[float, ...], box: tuple[float, ...]) -> bool:
    xmin, ymin, xmax, ymax = bounds
    bx0, by0, bx1, by1 = box
    return bool(xmin >= bx0 and ymin >= by0 and xmax <= bx1 and ymax <= by1)


SPREADSHEET_ERRORS = (ValueError, OSError, python_calamine.CalamineError)
"""What reading a damaged or mislabelled workbook raises (calamine's error is its own)."""


def decode_text(data: bytes) -> str:
    """Text of a user file: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_tabular(
    path: Path,
    *,
    markers: Iterable[str],
    sheet: str | None = None,
    first_match: bool = True,
    report: ImportReport | None = None,
) -> pd.DataFrame:
    """A CSV / XLSX / ODS table as text cells under its header row, wherever that row is.

    The header is the first row, among the first 30 of the sheet, holding one of
    ``markers`` (compared with :func:`normalise_name`), else the first row: official
    files often start with titles, and INSEE workbooks open on a documentation sheet.
    The index is the 0-based line in the file, so reports can name the line.

    The sheet of a workbook is ``sheet``, else picked by
    :func:`territory.io._sheets.pick_sheet` (``first_match``: the first sheet with a
    header, for official workbooks; else a team's workbook with several candidate
    sheets is refused, naming them); ``report`` gets a note naming the sheet read.
    """
    is_header = header_test(markers)
    if not path.is_file():
        raise InputFileError(f"fichier introuvable : {path}")
    try:
        if is_spreadsheet(path):
            pick = pick_sheet(path, sheet, is_header=is_header, first_match=first_match)
            if report is not None:
                report.note(pick.note())
            grid = read_sheet(path, pick, header=False).fillna("").astype(str)
        else:
            lines = decode_text(path.read_bytes()).splitlines()
            start = next(
                (i for i, ln in enumerate(lines[:30]) if is_header(re.split(r"[;,\t]", ln))), 0
            )
            header = lines[start] if lines else ""
            sep = max((";", ",", "\t"), key=header.count)
            text = "\n".join(lines[start:])
            refuse_unclosed_quotes(text, sep, name=path.name, offset=start)
            grid = pd.read_csv(io.StringIO(text), sep=sep, header=None, dtype=str,
                               keep_default_na=False, skip_blank_lines=False)  # fmt: skip
            grid.index = grid.index + start
    except (*SPREADSHEET_ERRORS, IndexError, pd.errors.ParserError) as exc:
        raise InputFileError(f"{path.name} illisible : {str(exc).splitlines()[0]}") from exc
    if grid.empty:
        raise InputFileError(f"{path.name} est vide")
    # no marker: the first row, so that the caller names the columns it expected and found
    head = next((r for r in grid.index[:30] if is_header(grid.loc[r])), grid.index[0])
    table = grid.loc[grid.index > head].copy()
    table.columns = pd.Index([str(c).strip() for c in grid.loc[head]])
    return table.loc[:, [c != "" for c in table.columns]]


def clean_codes(values: pd.Series, report: ImportReport, *, what: str) -> pd.Series:
    """Codes as upper-case strings; numeric codes that lost a leading zero are repaired."""
    codes = values.astype("string").str.strip().str.upper().str.replace(r"\.0$", "", regex=True)
    short = codes.str.fullmatch(r"\d{4}").fillna(False)
    if short.any():
        codes = codes.where(~short, codes.str.zfill(5))
        report.fix(f"{int(short.sum())} {what} complété(s) d'un zéro initial", int(short.sum()))
    return codes
