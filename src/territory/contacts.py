"""Contact logs: read a team's export, anonymise at the door, count for the map.

Person-level data exists only inside :func:`read_contacts`, chunk by chunk, in
memory. What comes out (and is stored) is the anonymised table of ``ARCHITECTURE.md``:
the 200 m cell (EPSG:3035 id) instead of the location, date + hour instead of the
time, an HMAC of the person key instead of the key, categories normalised to fixed
lists, and no free text. Counts leave the store only through :mod:`territory.privacy`.

Refused rows and rows waiting for geocoding keep their original content in memory and
are written only beside the team's own file (:func:`write_side_files`); stored contacts
older than the retention period are deleted by :func:`purge`.
"""

from __future__ import annotations

import calendar
import contextlib
import hmac
import io
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from territory._errors import InputFileError, ValidationError
from territory._validate import (
    SPREADSHEET_ERRORS,
    find_columns,
    normalise_name,
    require_columns,
)
from territory.grid import cell_ids_from_lonlat
from territory.report import ImportReport
from territory.settings import Settings
from territory.store import Workspace

STORED_COLUMNS = [
    "cell",
    "commune",
    "date",
    "hour",
    "statut",
    "tranche_age",
    "sexe",
    "partenaire",
    "personne",
    "fingerprint",
]

STATUSES = {
    "premier contact": ["premier", "1er contact", "nouveau", "first contact", "premiere rencontre"],
    "contact répété": ["contact repete", "repete", "repeat", "suivi", "deja rencontre"],
    "hors radars": [
        "invisible",
        "hors radar",
        "hors radars / invisible",
        "inconnu des institutions",
    ],
    "entrée en parcours": ["entree en parcours", "parcours", "entree parcours"],
    "accompagné": ["accompagne", "accompagnement"],
    "sortie positive": ["sortie", "sortie positive", "emploi", "formation"],
}
UNKNOWN = "non renseigné"
AGE_BANDS = ["16-17", "18-21", "22-25", "26-29"]

_SYNONYMS: dict[str, list[str]] = {
    "date": ["date_contact", "date_heure", "datetime", "date_rencontre", "horodatage"],
    "heure": ["heure", "heure_contact", "time"],
    "longitude": ["lon", "lng", "long"],
    "latitude": ["lat"],
    "x": ["x_l93", "x_lambert93", "coord_x"],
    "y": ["y_l93", "y_lambert93", "coord_y"],
    "adresse": ["address", "adresse_contact", "lieu"],
    "statut": ["status", "situation", "type_contact"],
    "tranche_age": ["age", "tranche", "age_band", "classe_age"],
    "date_naissance": ["naissance", "birth_date"],
    "sexe": ["sex", "genre"],
    "partenaire": ["partenaire_orientation", "orientation", "orientation_vers"],
    "personne": ["id_personne", "person_key", "identifiant", "id_jeune", "pseudo"],
}
_DATE_FORMATS = (
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
)
_METRO = (-5.6, 41.2, 10.0, 51.2)
REASON_COLUMN = "motif_refus"
"""Column added to the refused rows: why each one was refused (French)."""
DUPLICATE_REASON = "ligne en double dans le fichier (même date, lieu, personne)"


@dataclass(frozen=True)
class ContactsRead:
    """The anonymised rows of one file and their report.

    ``pending`` (rows waiting for geocoding) and ``refused_rows`` (refused rows plus
    :data:`REASON_COLUMN`; a line with the wrong number of fields as its raw text in
    the first column) hold the ORIGINAL, person-level content: they exist in memory
    only, and :func:`write_side_files` writes them beside the team's own file, never
    into the workspace.
    """

    rows: pd.DataFrame
    report: ImportReport
    pending: pd.DataFrame
    refused_rows: pd.DataFrame


@dataclass(frozen=True)
class SideFiles:
    """Where the refused and pending rows of an import were written (``None``: none)."""

    refused: Path | None
    pending: Path | None


def side_file_paths(path: Path) -> SideFiles:
    """``<stem>.refus.csv`` and ``<stem>.a_geocoder.csv``, beside the input file."""
    path = Path(path)
    return SideFiles(
        refused=path.with_name(f"{path.stem}.refus.csv"),
        pending=path.with_name(f"{path.stem}.a_geocoder.csv"),
    )


def write_side_files(result: ContactsRead, path: Path) -> SideFiles:
    """Write the refused and pending rows beside ``path`` (``;``, UTF-8 with BOM).

    Each file is overwritten on every import, and removed when this import has no
    such row, so that it always describes the last import. The report gets a note
    naming each file written (or saying why it could not be).
    """
    targets = side_file_paths(path)
    written: dict[str, Path | None] = {}
    for key, rows, target, what in (
        ("refused", result.refused_rows, targets.refused, "ligne(s) refusée(s)"),
        ("pending", result.pending, targets.pending, "ligne(s) à géocoder"),
    ):
        assert target is not None
        written[key] = None
        try:
            if len(rows):
                rows.to_csv(target, sep=";", index=False, encoding="utf-8-sig")
                written[key] = target
                result.report.note(
                    f"{len(rows)} {what} écrite(s) dans {target} (données personnelles : "
                    "à garder avec le fichier d'origine)"
                )
            else:
                target.unlink(missing_ok=True)
        except OSError as exc:
            result.report.note(f"{what} : impossible d'écrire {target} ({exc.strerror or exc})")
    return SideFiles(refused=written["refused"], pending=written["pending"])


def retention_cutoff(today: date, months: int) -> date:
    """``today`` minus ``months`` months (the day clamped to the month's length)."""
    if months < 1:
        raise ValidationError(f"durée de conservation invalide : {months} mois (au moins 1)")
    index = today.year * 12 + today.month - 1 - months
    year, month = divmod(index, 12)
    if year < 1:
        raise ValidationError(f"durée de conservation invalide : {months} mois")
    day = min(today.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day)


def purge(ws: Workspace, *, older_than_months: int, today: date) -> int:
    """Delete the stored contacts dated before ``today`` minus ``older_than_months``.

    Returns the number of contacts deleted (0 when the workspace holds none).
    Contacts dated exactly on the cutoff day are kept.
    """
    cutoff = retention_cutoff(today, older_than_months)
    if not ws.has("contacts"):
        return 0
    return ws.delete_rows("contacts", "date < ?", (cutoff.isoformat(),))


def load_secret(settings: Settings) -> bytes:
    """The HMAC secret, created (32 random bytes, mode 600) on first use, outside the workspace."""
    path = Path(settings.secret_path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path.read_bytes()


def read_contacts(
    path: Path,
    *,
    communes: gpd.GeoDataFrame,
    secret: bytes,
    mapping: Mapping[str, str] | None = None,
    chunksize: int = 200_000,
) -> ContactsRead:
    """Read a CSV contact export and return only anonymised rows.

    Parameters
    ----------
    path
        CSV in French or international conventions (``;`` or ``,``, UTF-8 with or
        without BOM or Windows-1252, decimal comma, ``dd/mm/yyyy HH:MM`` or ISO).
    communes
        The territory's communes (EPSG:4326): a contact outside all of them is refused.
    secret
        HMAC key for person keys and row fingerprints (kept outside the workspace).
    mapping
        Optional explicit ``{canonical name: file column}`` overriding the synonyms.
    chunksize
        Rows per chunk: memory stays bounded whatever the file size.
    """
    path = Path(path)
    report = ImportReport(kind="contacts", source=path.name)
    index = shapely.STRtree(communes.geometry.to_numpy())
    codes = communes["code"].astype(str).to_numpy()
    try:
        parts, waiting, refused = _read_all(
            path, mapping, chunksize, index, codes, secret, report, strict=True
        )
    except _RaggedFile:
        # Some lines have the wrong number of fields: read again with the tolerant
        # parser, which reports each such line instead of dropping it.
        report = ImportReport(kind="contacts", source=path.name)
        parts, waiting, refused = _read_all(
            path, mapping, chunksize, index, codes, secret, report, strict=False
        )
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=STORED_COLUMNS)
    report.accepted = len(rows)
    pending = pd.concat(waiting, ignore_index=True) if waiting else pd.DataFrame()
    refused_rows = pd.DataFrame(columns=[REASON_COLUMN], dtype=object)
    if refused:
        refused_rows = pd.concat(refused, ignore_index=True).fillna("")
        columns = [c for c in refused_rows.columns if c != REASON_COLUMN]
        refused_rows = refused_rows[[*columns, REASON_COLUMN]]
    report.pending = len(pending)
    if report.pending:
        report.note(
            f"{report.pending} ligne(s) avec une adresse seulement : « à géocoder », conservées"
        )
    return ContactsRead(rows.reset_index(drop=True), report.check(), pending, refused_rows)


def count_by_cell(contacts: pd.DataFrame) -> pd.DataFrame:
    """Raw counts per (cell, commune): input of :func:`territory.privacy.protect_density`."""
    return (
        contacts.groupby(["cell", "commune"], as_index=False).size().rename(columns={"size": "n"})
    )


# ------------------------------------------------------------------ private
class _RaggedFile(Exception):
    """A CSV line has more fields than the header (the fast parser cannot go on)."""


def _read_all(
    path: Path,
    mapping: Mapping[str, str] | None,
    chunksize: int,
    index: shapely.STRtree,
    codes: np.ndarray,
    secret: bytes,
    report: ImportReport,
    *,
    strict: bool,
) -> tuple[list[pd.DataFrame], list[pd.DataFrame], list[pd.DataFrame]]:
    """Anonymised rows, pending rows and refused rows (original content), per chunk.

    Refused rows are few (bounded by the errors in the file); rows repeated within
    the file are refused here, chunk by chunk, so that their content is still at hand.
    """
    parts: list[pd.DataFrame] = []
    waiting: list[pd.DataFrame] = []
    refused: list[pd.DataFrame] = []
    bad_lines: list[tuple[str, str]] = []  # (raw text, reason) of ragged lines
    seen: set[str] = set()  # fingerprints of the rows already accepted
    first_row = 2  # line 1 is the header
    first_column = "ligne"
    for chunk, found in _chunks(path, mapping, chunksize, report, bad_lines, strict=strict):
        first_column = str(chunk.columns[0]) if len(chunk.columns) else first_column
        if bad_lines:
            refused.append(_ragged_rows(bad_lines, first_column))
        rows, pending, reasons = _anonymise_chunk(
            chunk, found, index, codes, secret, report, first_row
        )
        fingerprints = rows["fingerprint"]
        repeated = fingerprints.duplicated().to_numpy() | np.fromiter(
            (f in seen for f in fingerprints), dtype=bool, count=len(rows)
        )
        if repeated.any():
            position = chunk.index.get_indexer(rows.index[repeated])
            reasons[position] = DUPLICATE_REASON
            for p in position:
                report.refuse(first_row + int(p), DUPLICATE_REASON)
            report.accepted -= int(repeated.sum())
            rows = rows[~repeated]
        seen.update(rows["fingerprint"])
        if (reasons != "").any():
            refused.append(chunk[reasons != ""].assign(**{REASON_COLUMN: reasons[reasons != ""]}))
        parts.append(rows.reset_index(drop=True))
        waiting.append(pending)
        first_row += len(chunk)
    if bad_lines:  # ragged lines after the last chunk
        refused.append(_ragged_rows(bad_lines, first_column))
    return parts, waiting, refused


def _ragged_rows(bad_lines: list[tuple[str, str]], column: str) -> pd.DataFrame:
    """Ragged lines as refused rows: raw text in the first column; empties ``bad_lines``."""
    text, reasons = zip(*bad_lines, strict=True)
    bad_lines.clear()
    return pd.DataFrame({column: list(text), REASON_COLUMN: list(reasons)}, dtype=object)


def _chunks(
    path: Path,
    mapping: Mapping[str, str] | None,
    chunksize: int,
    report: ImportReport,
    bad_lines: list[tuple[str, str]],
    *,
    strict: bool,
) -> Iterator[tuple[pd.DataFrame, dict[str, str]]]:
    if not path.exists():
        raise InputFileError(f"fichier introuvable : {path}")
    if path.suffix.lower() in (".xlsx", ".xls", ".ods"):
        try:
            table = pd.read_excel(path, dtype=str, keep_default_na=False, engine="calamine")
        except SPREADSHEET_ERRORS as exc:
            raise InputFileError(f"{path.name} illisible : {exc}") from exc
        reader: Any = contextlib.nullcontext([table])
    else:
        encoding, sep = _sniff(path)

        def ragged(fields: list[str]) -> None:
            why = f"nombre de champs incorrect ({len(fields)}) : ligne ignorée"
            report.read += 1
            report.refuse("?", why)
            bad_lines.append((sep.join(fields), why))
            return None

        options = (
            {"on_bad_lines": "error", "engine": "c"}
            if strict
            else {"on_bad_lines": ragged, "engine": "python"}
        )
        reader = pd.read_csv(
            path,
            sep=sep,
            encoding=encoding,
            dtype=str,
            keep_default_na=False,
            chunksize=chunksize,
            **options,
        )
    try:
        with reader as chunks:
            yield from _checked(chunks, path, mapping)
    except pd.errors.ParserError as exc:
        if strict:
            raise _RaggedFile from exc
        raise InputFileError(f"{path.name} : fichier CSV illisible ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path.name} : fichier CSV illisible ({exc})") from exc


def _checked(
    chunks: Iterable[pd.DataFrame], path: Path, mapping: Mapping[str, str] | None
) -> Iterator[tuple[pd.DataFrame, dict[str, str]]]:
    """Chunks with the column mapping, checked once on the header."""
    found: dict[str, str] | None = None
    for chunk in chunks:
        if found is None:
            found = find_columns(chunk.columns, _SYNONYMS)
            if mapping:
                found.update({k: v for k, v in mapping.items() if v in chunk.columns})
            require_columns(found, ["date"], file=path.name, columns=chunk.columns, kind="contacts")
            has_location = {"longitude", "latitude"} <= found.keys() or {"x", "y"} <= found.keys()
            if not has_location and "adresse" not in found:
                require_columns(
                    found,
                    ["longitude", "latitude"],
                    file=path.name,
                    columns=chunk.columns,
                    kind="contacts",
                )
        yield chunk, found


def _sniff(path: Path) -> tuple[str, str]:
    head = path.read_bytes()[:65536]
    if not head.strip():
        raise InputFileError(f"{path.name} est vide")
    try:
        text, encoding = head.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError:
        text, encoding = head.decode("cp1252", errors="replace"), "cp1252"
    first = io.StringIO(text).readline()
    sep = max((";", ",", "\t"), key=first.count)
    return encoding, sep


def _anonymise_chunk(
    chunk: pd.DataFrame,
    found: dict[str, str],
    index: shapely.STRtree,
    codes: np.ndarray,
    secret: bytes,
    report: ImportReport,
    first_row: int,
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Anonymised accepted rows (indexed like ``chunk``), pending rows (original
    content) and the refusal reason of each row of ``chunk`` (``""``: not refused)."""
    n = len(chunk)
    report.read += n
    line = np.arange(first_row, first_row + n)
    reason = np.full(n, "", dtype=object)

    when = _parse_dates(chunk, found)
    reason[when.isna().to_numpy()] = "date illisible"

    lon, lat = _locations(chunk, found, report)
    has_xy = np.isfinite(lon) & np.isfinite(lat)
    address = (
        chunk[found["adresse"]].str.strip()
        if "adresse" in found
        else pd.Series("", index=chunk.index)
    )
    is_pending = ~has_xy & (address != "").to_numpy() & (reason == "")
    reason[~has_xy & ~is_pending & (reason == "")] = "localisation manquante ou illisible"

    commune = np.full(n, "", dtype=object)
    if has_xy.any():
        points = shapely.points(lon[has_xy], lat[has_xy])
        hit_point, hit_poly = index.query(points, predicate="intersects")
        inside = np.full(has_xy.sum(), "", dtype=object)
        inside[hit_point[::-1]] = codes[hit_poly[::-1]]  # first commune wins on borders
        commune[has_xy] = inside
    reason[has_xy & (commune == "") & (reason == "")] = "hors du territoire (aucune commune)"

    for row, why in zip(line[reason != ""], reason[reason != ""], strict=True):
        report.refuse(int(row), str(why))
    ok = reason == ""
    pending = chunk[is_pending]
    accepted = ok & has_xy
    report.accept(int(accepted.sum()))

    sub = chunk[accepted]
    dates = when[accepted]
    person = (
        sub[found["personne"]].str.strip()
        if "personne" in found
        else pd.Series("", index=sub.index)
    )
    rows = pd.DataFrame(
        {
            "cell": cell_ids_from_lonlat(lon[accepted], lat[accepted]),
            "commune": commune[accepted],
            "date": dates.dt.strftime("%Y-%m-%d").to_numpy(),
            "hour": dates.dt.hour.astype("int64").to_numpy(),
            "statut": _normalise(sub, found, "statut", STATUSES, report),
            "tranche_age": _age_band(sub, found, dates, report),
            "sexe": _sex(sub, found),
            "partenaire": sub[found["partenaire"]].str.strip().str.lower().to_numpy()
            if "partenaire" in found
            else "",
            "personne": _hmac_column(secret, person),
        },
        index=sub.index,
    )
    columns = [c for c in sub.columns if c != found.get("adresse")]
    whole_row = sub[columns[0]].str.cat([sub[c] for c in columns[1:]], sep="\x1f")
    rows["fingerprint"] = [_hmac(secret, v) for v in whole_row]
    return rows, pending, reason


def _parse_dates(chunk: pd.DataFrame, found: dict[str, str]) -> pd.Series:
    text = chunk[found["date"]].str.strip()
    if "heure" in found:
        text = text + " " + chunk[found["heure"]].str.strip()
    result = pd.Series(pd.NaT, index=chunk.index, dtype="datetime64[us]")
    for fmt in _DATE_FORMATS:
        missing = result.isna()
        if not missing.any():
            break
        result[missing] = pd.to_datetime(text[missing], format=fmt, errors="coerce")
    return result


def _locations(
    chunk: pd.DataFrame, found: dict[str, str], report: ImportReport
) -> tuple[np.ndarray, np.ndarray]:
    def number(column: str) -> np.ndarray:
        values = chunk[found[column]].str.strip().str.replace(",", ".", regex=False)
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, copy=True)

    n = len(chunk)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    if {"longitude", "latitude"} <= found.keys():
        lon, lat = number("longitude"), number("latitude")
        swapped = _in_metro(lat, lon) & ~_in_metro(lon, lat)
        if swapped.any():
            lon[swapped], lat[swapped] = lat[swapped].copy(), lon[swapped].copy()
            report.fix(
                f"{int(swapped.sum())} ligne(s) : latitude et longitude inversées, corrigées",
                int(swapped.sum()),
            )
    if {"x", "y"} <= found.keys():
        from pyproj import Transformer

        x, y = number("x"), number("y")
        use = ~np.isfinite(lon) & np.isfinite(x) & np.isfinite(y)
        if use.any():
            tx, ty = Transformer.from_crs(2154, 4326, always_xy=True).transform(x[use], y[use])
            lon[use], lat[use] = tx, ty
    bad = ~_in_metro(lon, lat)
    lon[bad], lat[bad] = np.nan, np.nan
    return lon, lat


def _in_metro(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (lon >= _METRO[0]) & (lon <= _METRO[2]) & (lat >= _METRO[1]) & (lat <= _METRO[3])


def _normalise(
    sub: pd.DataFrame,
    found: dict[str, str],
    column: str,
    table: Mapping[str, list[str]],
    report: ImportReport,
) -> np.ndarray:
    if column not in found:
        return np.full(len(sub), UNKNOWN, dtype=object)
    lookup = {normalise_name(k): k for k in table}
    lookup.update({normalise_name(s): k for k, syn in table.items() for s in syn})
    raw = sub[found[column]].str.strip()
    # few distinct values: normalise each once, not once per row
    canonical = {value: lookup.get(normalise_name(value)) for value in raw.unique()}
    result = raw.map(canonical)
    unknown = result.isna() & (raw != "")
    if unknown.any():
        values = ", ".join(sorted(set(raw[unknown]))[:5])
        report.fix(
            f"{int(unknown.sum())} {column} inconnu(s) ({values}) → « {UNKNOWN} »",
            int(unknown.sum()),
        )
    return result.fillna(UNKNOWN).to_numpy(dtype=object)


def _age_band(
    sub: pd.DataFrame, found: dict[str, str], dates: pd.Series, report: ImportReport
) -> np.ndarray:
    if "tranche_age" in found:
        raw = sub[found["tranche_age"]].str.strip().str.replace(" ", "", regex=False)
        raw = raw.str.replace(r"(\d+)(?:ans)?[-–à]+(\d+)(?:ans)?", r"\1-\2", regex=True)
        return raw.where(raw.isin(AGE_BANDS), UNKNOWN).to_numpy(dtype=object)
    if "date_naissance" in found:
        born = pd.to_datetime(sub[found["date_naissance"]], format="%d/%m/%Y", errors="coerce")
        age = (dates - born).dt.days // 365.25
        bands = pd.cut(age, [15, 17, 21, 25, 29], labels=AGE_BANDS)
        report.note("dates de naissance converties en tranches d'âge (non conservées)")
        return bands.astype(object).where(bands.notna(), UNKNOWN).to_numpy(dtype=object)
    return np.full(len(sub), UNKNOWN, dtype=object)


def _sex(sub: pd.DataFrame, found: dict[str, str]) -> np.ndarray:
    if "sexe" not in found:
        return np.full(len(sub), UNKNOWN, dtype=object)
    first = sub[found["sexe"]].str.strip().str.upper().str[:1]
    return first.map({"F": "F", "H": "H", "M": "H"}).fillna(UNKNOWN).to_numpy(dtype=object)


def _hmac(secret: bytes, value: str) -> str:
    """HMAC-SHA256 of ``value``, 80 bits in hex (enough to tell people and rows apart)."""
    return hmac.digest(secret, value.encode("utf-8"), "sha256")[:10].hex()


def _hmac_column(secret: bytes, values: pd.Series) -> np.ndarray:
    """HMAC of each person key, computed once per distinct key; "" stays ""."""
    keys = {v: _hmac(secret, v) if v else "" for v in values.unique()}
    return values.map(keys).to_numpy(dtype=object)
