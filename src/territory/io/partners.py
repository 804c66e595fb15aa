"""Partner files (team lists, data·inclusion exports, France services).

Opening hours are stored in the OSM ``opening_hours`` syntax (``Mo-Fr 08:30-12:30; PH off``),
the syntax of data·inclusion's ``horaires_accueil``. The France services list gives one
column per weekday (``"09:00 - 12:00 / 14:00 - 17:00"``); :func:`weekday_columns_to_osm`
turns those into the same syntax.

Examples
--------
>>> weekday_columns_to_osm({"h_lundi": "09:00 - 12:00 / 14:00 - 17:00",
...                         "h_mardi": "09:00 - 12:00 / 14:00 - 17:00", "h_samedi": None})
'Mo-Tu 09:00-12:00,14:00-17:00'
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from territory._errors import InputFileError
from territory.hours import hours_known, read_hours
from territory.io._quotes import QuoteScan, scan_quotes
from territory.io._sheets import is_spreadsheet, pick_sheet, read_sheet
from territory.io._validate import decode_text, header_test, note_guessed
from territory.io.report import ImportReport
from territory.vocab import PARTNER_TYPES, WEEKDAYS

__all__ = [
    "PARTNER_COLUMNS",
    "read_partners",
    "weekday_columns_to_osm",
]

PARTNER_COLUMNS: tuple[str, ...] = (
    "nom",
    "type",
    "type_libelle",
    "adresse",
    "code_insee",
    "horaires",
    "telephone",
    "statut",
    "identifiant",
)
"""Attribute columns of the partners layer, in order (plus ``geometry``).

``identifiant`` is the file's own id of the partner (``id``, ``id_fs``…), empty when
the file has none: a later file with the same id updates the partner.
"""

STATUS_GIVEN = "fourni"
STATUS_PENDING = "à géocoder"

# Header synonyms, compared after _key() (lower case, no accents, "_" for separators).
# French teams' own headers too: « Nom de la structure », « Horaires d'ouverture », « Tél. »,
# « N° » (the team's number of the partner: its id).
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "nom": (
        "nom",
        "name",
        "lib_fs",
        "nom_structure",
        "nom_de_la_structure",
        "nom_de_structure",
        "structure",
        "nom_du_partenaire",
        "nom_partenaire",
        "partenaire",
        "etablissement",
        "nom_de_l_etablissement",
        "denomination",
        "raison_sociale",
    ),
    "type": (
        "typologie",
        "type",
        "typology",
        "type_de_structure",
        "type_structure",
        "type_de_partenaire",
        "categorie",
        "nature",
    ),
    "adresse": ("adresse", "address", "adresse_postale", "adresse_de_la_structure"),
    "complement": ("complement_adresse", "complement_d_adresse", "complement"),
    "code_postal": ("code_postal", "cp", "postcode", "zipcode"),
    "commune": ("commune", "lib_com", "ville", "city", "nom_commune"),
    "code_insee": ("code_insee", "insee_com", "citycode", "insee", "code_commune_insee"),
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "lon", "lng", "long"),
    "horaires": (
        "horaires_accueil",
        "horaires_d_accueil",
        "horaires",
        "opening_hours",
        "horaires_ouverture",
        "horaires_d_ouverture",
        "heures_d_ouverture",
        "jours_et_horaires",
    ),
    "telephone": (
        "telephone",
        "tel",
        "phone",
        "numero_telephone",
        "numero_de_telephone",
        "n_de_telephone",
        "n_telephone",
    ),
    "identifiant": (
        "identifiant",
        "id",
        "id_fs",
        "id_structure",
        "id_service",
        "key",
        "n",  # « N° », « Nº » gives "no"
        "no",
        "numero",
        "n_structure",
        "code_structure",
    ),
}
_TYPE_ALIASES: dict[str, str] = {
    "MISSION_LOCALE": "ML",
    "PE": "FT",
    "POLE_EMPLOI": "FT",
    "FRANCE_TRAVAIL": "FT",
    "CENTRE_SOCIAL": "CS",
    "ECOLE_DE_LA_2E_CHANCE": "E2C",
    "ECOLE_DE_LA_DEUXIEME_CHANCE": "E2C",
    "PREVENTION_SPECIALISEE": "PREVENTION",
    "PIJ": "PIJ_BIJ",
    "BIJ": "PIJ_BIJ",
    "INFORMATION_JEUNESSE": "PIJ_BIJ",
    "FS": "FRANCE_SERVICES",
    "MSAP": "FRANCE_SERVICES",
}
# (lon_min, lat_min, lon_max, lat_max): mainland France with Corsica, then the five DROM.
_FRANCE_BOXES: tuple[tuple[float, float, float, float], ...] = (
    (-5.5, 41.2, 9.9, 51.3),
    (-61.9, 15.8, -60.9, 16.6),  # Guadeloupe
    (-61.3, 14.3, -60.7, 15.0),  # Martinique
    (-54.7, 2.0, -51.5, 6.0),  # Guyane
    (55.1, -21.5, 56.0, -20.8),  # La Réunion
    (44.9, -13.1, 45.4, -12.5),  # Mayotte
)
_RANGE = re.compile(
    r"(\d{1,2})\s*(?:[:hH.]\s*(\d{2})?)?\s*(?:-|–|—|à)\s*(\d{1,2})\s*(?:[:hH.]\s*(\d{2})?)?"
)
_CLOSED_WORDS = {"ferme", "fermee", "closed", "off", "-", "/"}
_INSEE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
_MAX_ROW_NOTES = 20


@dataclass
class _Day:
    """One weekday cell of the France services format, parsed."""

    ranges: list[tuple[int, int]] = field(default_factory=list)  # minutes after midnight
    comment: str = ""
    closed: bool = False
    unknown: bool = False
    empty_slots: int = 0  # "00:00 - 00:00" placeholders dropped


def _parse_day(value: object) -> _Day:
    text = _text(value)
    day = _Day()
    if not text:
        day.closed = True
        return day
    ranges: list[tuple[int, int]] = []
    for m in _RANGE.finditer(text):
        h0, m0, h1, m1 = int(m[1]), int(m[2] or 0), int(m[3]), int(m[4] or 0)
        if h0 > 24 or h1 > 24 or m0 > 59 or m1 > 59:
            day.unknown, day.comment = True, text
            return day
        start, end = h0 * 60 + m0, h1 * 60 + m1
        if start == end == 0:
            day.empty_slots += 1
            continue
        if end <= start or end > 24 * 60:
            day.unknown, day.comment = True, text
            return day
        ranges.append((start, end))
    rest = _RANGE.sub(" ", text)
    rest = re.sub(r"[\s/,;|+]+|\bet\b", " ", rest).strip(" .:")
    if not ranges:
        if not rest or _key(rest).replace("_", "") in _CLOSED_WORDS or rest in _CLOSED_WORDS:
            day.closed = True
        else:
            day.unknown, day.comment = True, rest
        return day
    ranges.sort()
    merged = [ranges[0]]
    for start, end in ranges[1:]:
        if start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    day.ranges, day.comment = merged, rest
    return day


def _weekday_hours(row: Mapping[str, object]) -> tuple[str, list[str], int]:
    """OSM string, French descriptions of the cells not fully understood, placeholders dropped."""
    by_key = {_key(k): v for k, v in row.items()}
    specs: dict[str, list[int]] = {}
    problems: list[str] = []
    empty_slots = 0
    any_value = False
    for index, (name, _, _) in enumerate(WEEKDAYS):
        value = by_key.get(f"h_{name}", by_key.get(name))
        if _text(value):
            any_value = True
        day = _parse_day(value)
        empty_slots += day.empty_slots
        comment = day.comment.replace('"', "'")
        if day.unknown:
            problems.append(f"{name} : « {_text(value)} »")
            spec = f'unknown "{comment}"'
        elif day.closed:
            continue
        else:
            spec = ",".join(f"{_hhmm(a)}-{_hhmm(b)}" for a, b in day.ranges)
            if comment:
                problems.append(f"{name} : « {_text(value)} » (texte gardé en commentaire)")
                spec += f' "{comment}"'
        specs.setdefault(spec, []).append(index)
    if not specs:
        return ("closed" if any_value else ""), problems, empty_slots
    rules = [f"{_day_selector(days)} {spec}" for spec, days in specs.items()]
    return "; ".join(rules), problems, empty_slots


def weekday_columns_to_osm(row: Mapping[str, str | None]) -> str:
    """OSM ``opening_hours`` from one column per weekday (France services format).

    Keys are ``h_lundi`` … ``h_dimanche`` (or ``lundi`` … ``dimanche``); values look like
    ``"09:30 - 12:30 / 13:30 - 15:30"``. Empty cells and ``Fermé`` mean closed that day;
    ``00:00 - 00:00`` slots are empty placeholders and are dropped; touching ranges are
    merged; days with the same hours are grouped (``Mo-Fr``). A cell that holds no time
    range (``"sur rendez-vous"``) becomes ``unknown "sur rendez-vous"`` for that day.

    Returns
    -------
    str
        ``""`` when every cell is empty (hours unknown).

    Examples
    --------
    >>> weekday_columns_to_osm({"h_lundi": "09:30 - 12:30 / 13:30 - 15:30",
    ...                         "h_mercredi": "00:00 - 00:00 / 14:00 - 17:00",
    ...                         "h_jeudi": "Sur rendez-vous"})
    'Mo 09:30-12:30,13:30-15:30; We 14:00-17:00; Th unknown "Sur rendez-vous"'
    """
    return _weekday_hours(row)[0]


def _day_selector(days: list[int]) -> str:
    runs: list[list[int]] = []
    for d in sorted(days):
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    names = [WEEKDAYS[i][1] for i in range(len(WEEKDAYS))]
    return ",".join(names[r[0]] if len(r) == 1 else f"{names[r[0]]}-{names[r[-1]]}" for r in runs)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# --------------------------------------------------------------------------- reading files


def read_partners(
    path: Path, *, report: ImportReport | None = None, sheet: str | None = None
) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Read a partner list: team CSV, data·inclusion-like export or France services list.

    CSV (``;``, ``,`` or tab; UTF-8, UTF-8 with BOM or Windows-1252; decimal comma or
    point) and GeoJSON are read. Headers are matched through a small French/English
    synonym table (``nom``/``name``/``lib_fs``, ``latitude``/``lat``…). Rows with
    coordinates are accepted (``statut`` ``fourni``); rows with only an address are kept
    as pending (``à géocoder``, null geometry); rows with neither, or with coordinates
    that cannot be in France, are refused with a reason. Swapped latitude/longitude,
    INSEE codes that lost their leading zero and phone numbers that lost their leading
    ``0`` are repaired and reported as fixes.

    Parameters
    ----------
    path
        ``.csv``/``.txt`` or ``.geojson``/``.json`` file.
    report
        Report to fill (e.g. created by the caller with its own ``kind``/``source``).
    sheet
        The sheet of a workbook to read; None: the only one, or the only one with a name
        column (:func:`territory.io._sheets.pick_sheet`; the report names it).

    Returns
    -------
    tuple of GeoDataFrame and ImportReport
        EPSG:4326 points with the columns of :data:`PARTNER_COLUMNS`, and the checked report.

    Raises
    ------
    InputFileError
        The file is missing, unreadable, or has no name column, or neither coordinate
        nor address columns.
    """
    path = Path(path)
    report = report or ImportReport(kind="partners", source=path.name)
    table, points = _read_table(path, sheet, report)
    found = {_key(c): str(c) for c in table.columns}
    cols = _match_columns(found)
    day_cols = {name: found[f"h_{name}"] for name, _, _ in WEEKDAYS if f"h_{name}" in found}
    has_coords = ("latitude" in cols and "longitude" in cols) or points is not None
    if "nom" not in cols or not (has_coords or "adresse" in cols):
        raise InputFileError(
            f"{path.name} n'est pas une liste de partenaires : colonnes attendues : un nom "
            "(nom, name, lib_fs) et des coordonnées (latitude et longitude) ou une adresse "
            f"(adresse) ; colonnes trouvées : {', '.join(map(str, table.columns)) or 'aucune'}"
        )
    note_guessed(cols, report)
    france_services = "id_fs" in found or "lib_fs" in found
    if "type" not in cols and not france_services:
        report.note("colonne « typologie » absente : partenaires classés « Autre partenaire »")
    if day_cols and "horaires" not in cols:
        report.note(
            "horaires convertis des colonnes par jour (h_lundi … h_samedi, format France "
            "services) vers la syntaxe OSM opening_hours"
        )

    acc = _Accumulator()
    records: list[dict[str, str]] = []
    geoms: list[shapely.Point | None] = []
    n = len(table)
    first_row = 2 if points is None else 1  # CSV: line number after the header; GeoJSON: feature
    unclosed: QuoteScan = table.attrs.get("quotes", QuoteScan(""))
    skipped = int(table.attrs.get("blank_rows", 0))
    if skipped:
        report.note(f"{skipped} ligne(s) vide(s) ignorée(s)")
    for i, (label, cells) in enumerate(zip(table.index, table.to_dict("records"), strict=True)):
        row_no = int(label) + first_row
        values = {canon: _text(cells[col]) for canon, col in cols.items()}
        if label in unclosed.lines:  # the row was cut out of the rows it had swallowed
            report.refuse(row_no, unclosed.reason(int(label)))
            continue
        name = values.get("nom", "")
        if not name:
            report.refuse(row_no, "nom du partenaire manquant")
            continue
        point, problem = _row_point(values, None if points is None else points[i], row_no, acc)
        adresse = _address(values, row_no, acc)
        if problem is not None:
            report.refuse(row_no, problem)
            continue
        if point is None and not values.get("adresse"):
            report.refuse(
                row_no,
                "ni coordonnées (latitude, longitude) ni adresse : impossible de placer ce "
                "partenaire",
            )
            continue
        code, label = _row_type(values.get("type", ""), france_services, row_no, acc)
        records.append(
            {
                "nom": name,
                "type": code,
                "type_libelle": label,
                "adresse": adresse,
                "code_insee": _insee(values.get("code_insee", ""), row_no, acc),
                "horaires": _row_hours(values, cells, day_cols, row_no, acc),
                "telephone": _phone(values.get("telephone", ""), row_no, acc),
                "statut": STATUS_GIVEN if point is not None else STATUS_PENDING,
                "identifiant": values.get("identifiant", ""),
            }
        )
        geoms.append(point)
        acc.kept.add(row_no)
        if point is None:
            report.pending += 1
        else:
            report.accept()
    report.read += n
    acc.flush(report)
    unknown = sum(1 for r in records if not hours_known(r["horaires"]))
    if unknown:
        report.note(
            f"{unknown} partenaire(s) aux horaires inconnus (non renseignés ou illisibles) : "
            "jamais comptés comme ouverts"
        )
    frame = pd.DataFrame(records, columns=list(PARTNER_COLUMNS), dtype="str")
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326")
    return gdf, report.check()


@dataclass
class _Accumulator:
    """Fixes and notes gathered row by row, flushed as a few grouped report lines."""

    fixes: dict[str, list[int]] = field(default_factory=dict)
    notes: dict[str, list[int]] = field(default_factory=dict)
    row_notes: list[str] = field(default_factory=list)
    kept: set[int] = field(default_factory=set)

    def fix(self, what: str, row: int) -> None:
        self.fixes.setdefault(what, []).append(row)

    def note(self, what: str, row: int) -> None:
        self.notes.setdefault(what, []).append(row)

    def flush(self, report: ImportReport) -> None:
        for what, rows in self.fixes.items():
            kept = [r for r in rows if r in self.kept]
            if kept:
                report.fix(f"{what} ({_rows(kept)})", len(kept))
        for what, rows in self.notes.items():
            report.note(f"{what} ({_rows(rows)})")
        for message in self.row_notes[:_MAX_ROW_NOTES]:
            report.note(message)
        if len(self.row_notes) > _MAX_ROW_NOTES:
            report.note(
                f"… et {len(self.row_notes) - _MAX_ROW_NOTES} autre(s) remarque(s) sur les horaires"
            )


def _rows(rows: list[int], limit: int = 10) -> str:
    label = "ligne" if len(rows) == 1 else "lignes"
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" et {len(rows) - limit} autre(s)" if len(rows) > limit else ""
    return f"{label} {shown}{more}"


def _read_table(
    path: Path, sheet: str | None, report: ImportReport
) -> tuple[pd.DataFrame, list[tuple[float, float] | None] | None]:
    """Attribute table as text cells, and the (lon, lat) of each feature when geometry exists."""
    if not path.is_file():
        raise InputFileError(f"fichier de partenaires introuvable : {path}")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return _read_csv(path), None
    if suffix in (".geojson", ".json"):
        return _read_geojson(path)
    if is_spreadsheet(path):
        return _read_sheet(path, sheet, report), None
    raise InputFileError(
        f"{path.name} : format attendu CSV (.csv), tableur (.xlsx, .ods) ou GeoJSON (.geojson), "
        f"reçu « {suffix or 'sans extension'} »"
    )


def _read_csv(path: Path) -> pd.DataFrame:
    text = decode_text(path.read_bytes())
    header = text.lstrip("\r\n").split("\n", 1)[0]
    sep = max((";", ",", "\t"), key=header.count)
    scan = scan_quotes(text.lstrip("\r\n"), sep)
    try:
        table = pd.read_csv(
            io.StringIO(scan.text), sep=sep, dtype=str, keep_default_na=False, skip_blank_lines=True
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise InputFileError(
            f"{path.name} n'est pas un CSV lisible (séparateur détecté « {sep} ») : {exc}"
        ) from exc
    table = _without_blank_rows(table)
    table.attrs["quotes"] = scan
    return table


def _read_sheet(path: Path, sheet: str | None, report: ImportReport) -> pd.DataFrame:
    """The partners' sheet of a workbook, header on its first row, as text cells."""
    pick = pick_sheet(path, sheet, is_header=header_test(_SYNONYMS["nom"]))
    report.note(pick.note())
    return _without_blank_rows(read_sheet(path, pick).astype(str))


def _without_blank_rows(table: pd.DataFrame) -> pd.DataFrame:
    table.columns = [str(c).strip() for c in table.columns]
    blank = table.apply(lambda col: col.str.strip() == "").all(axis=1)
    kept = table.loc[~blank]  # the index keeps each row's position, for line numbers
    kept.attrs["blank_rows"] = int(blank.sum())
    return kept


def _read_geojson(path: Path) -> tuple[pd.DataFrame, list[tuple[float, float] | None]]:
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several error types for unreadable files
        raise InputFileError(f"{path.name} n'est pas un GeoJSON lisible : {exc}") from exc
    if gdf.crs is not None and not gdf.crs.equals("EPSG:4326") and len(gdf):
        gdf = gdf.to_crs("EPSG:4326")
    points: list[tuple[float, float] | None] = []
    for geom in gdf.geometry:
        if geom is None or geom.is_empty:
            points.append(None)
        else:
            p = geom if geom.geom_type == "Point" else geom.representative_point()
            points.append((p.x, p.y))
    return pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), points


def _match_columns(found: Mapping[str, str]) -> dict[str, str]:
    """Canonical name → file column, the first synonym present winning."""
    cols: dict[str, str] = {}
    for canon, synonyms in _SYNONYMS.items():
        for synonym in synonyms:
            if synonym in found:
                cols[canon] = found[synonym]
                break
    return cols


def _key(name: object) -> str:
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _text(value: object) -> str:
    """A cell as stripped text; numbers lose a spurious ``.0``; missing values give ``""``."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    return str(value).replace("\u00a0", " ").strip()


def _number(text: str) -> float | None:
    """A decimal number written with a point or a comma; ``None`` if unreadable."""
    cleaned = text.replace(" ", "")
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _in_france(lon: float, lat: float) -> bool:
    return any(x0 <= lon <= x1 and y0 <= lat <= y1 for x0, y0, x1, y1 in _FRANCE_BOXES)


def _row_point(
    values: Mapping[str, str],
    geometry_xy: tuple[float, float] | None,
    row_no: int,
    acc: _Accumulator,
) -> tuple[shapely.Point | None, str | None]:
    """The row's point (or ``None`` if it has no coordinates) and a refusal reason."""
    if geometry_xy is not None:
        lon, lat = geometry_xy
        source = "géométrie"
    else:
        lat_text, lon_text = values.get("latitude", ""), values.get("longitude", "")
        if not lat_text and not lon_text:
            return None, None
        if not lat_text or not lon_text:
            acc.note(
                "coordonnée incomplète (latitude ou longitude vide) : point à géocoder", row_no
            )
            return None, None
        lat_n, lon_n = _number(lat_text), _number(lon_text)
        if lat_n is None or lon_n is None:
            return None, (
                f"coordonnées illisibles (latitude « {lat_text} », longitude « {lon_text} ») ; "
                "attendu : degrés décimaux, par ex. 49.1829 et -0.3707 ; videz-les pour faire "
                "géocoder l'adresse"
            )
        lat, lon = lat_n, lon_n
        source = "colonnes latitude/longitude"
    if _in_france(lon, lat):
        return shapely.Point(lon, lat), None
    if _in_france(lat, lon):
        acc.fix("latitude et longitude inversées, remises dans l'ordre", row_no)
        return shapely.Point(lat, lon), None
    hint = (
        " ; ces valeurs ressemblent à des mètres (Lambert-93 ?) : convertissez en degrés WGS84"
        if max(abs(lat), abs(lon)) > 1000
        else ""
    )
    return None, (
        f"coordonnées hors de France (latitude {lat:g}, longitude {lon:g}, {source}) ; "
        f"attendu : degrés décimaux WGS84 (EPSG:4326){hint}"
    )


def _address(values: Mapping[str, str], row_no: int, acc: _Accumulator) -> str:
    postcode = values.get("code_postal", "")
    if re.fullmatch(r"\d{4}", postcode):
        postcode = postcode.zfill(5)
        acc.fix("code postal complété d'un zéro à gauche", row_no)
    town = " ".join(p for p in (postcode, values.get("commune", "")) if p)
    parts = [values.get("adresse", ""), values.get("complement", ""), town]
    return ", ".join(p for p in parts if p)


def _row_type(raw: str, france_services: bool, row_no: int, acc: _Accumulator) -> tuple[str, str]:
    if not raw:
        default = "FRANCE_SERVICES" if france_services else "AUTRE"
        return default, PARTNER_TYPES[default]
    key = _key(raw).upper()
    by_label = {_key(label).upper(): code for code, label in PARTNER_TYPES.items()}
    found = key if key in PARTNER_TYPES else _TYPE_ALIASES.get(key) or by_label.get(key)
    if found is None:
        acc.note(f"type « {raw} » inconnu : classé « {PARTNER_TYPES['AUTRE']} »", row_no)
        found = "AUTRE"
    return found, PARTNER_TYPES[found]


def _insee(raw: str, row_no: int, acc: _Accumulator) -> str:
    if not raw:
        return ""
    code = raw.upper()
    if re.fullmatch(r"\d{1,4}", code):
        acc.fix("code INSEE complété par des zéros à gauche", row_no)
        return code.zfill(5)
    if _INSEE.match(code):
        return code
    acc.note("code INSEE invalide ignoré (5 caractères attendus, par ex. 01001 ou 2A004)", row_no)
    return ""


def _phone(raw: str, row_no: int, acc: _Accumulator) -> str:
    if re.fullmatch(r"[1-9]\d{8}", raw):
        acc.fix("téléphone complété du 0 initial perdu", row_no)
        return "0" + raw
    return raw


def _row_hours(
    values: Mapping[str, str],
    cells: Mapping[str, object],
    day_cols: Mapping[str, str],
    row_no: int,
    acc: _Accumulator,
) -> str:
    raw = values.get("horaires", "")
    source = raw
    if not raw and day_cols:
        days = {f"h_{name}": cells[col] for name, col in day_cols.items()}
        raw, problems, empty_slots = _weekday_hours(days)
        source = " | ".join(f"{k[2:]} {_text(v)}" for k, v in days.items() if _text(v))
        if empty_slots:
            acc.fix("créneau « 00:00 - 00:00 » (créneau vide) ignoré dans les horaires", row_no)
        for problem in problems:
            acc.row_notes.append(f"ligne {row_no} : horaires partiellement lus, {problem}")
        if not raw:
            acc.note("horaires non renseignés (toutes les colonnes de jours vides)", row_no)
    if not raw:
        return ""
    osm, how = read_hours(raw)
    if how == "fr":
        acc.fix("horaires écrits en français convertis en horaires OSM", row_no)
    elif how == "texte":
        acc.row_notes.append(
            f"ligne {row_no} : horaires « {source} » non lus sans deviner : gardés tels quels "
            "et signalés « horaires inconnus » (jamais comptés comme ouverts) ; écrivez par "
            "ex. « du lundi au vendredi de 9h à 12h » ou « Mo-Fr 09:00-12:00 »"
        )
    return osm
