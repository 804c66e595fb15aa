"""Contact logs: read a team's export, anonymise at the door, count for the map.

Person-level data exists only inside :func:`read_contacts`, chunk by chunk, in
memory. What comes out (and is stored) is the anonymised table of ``ARCHITECTURE.md``:
the 200 m cell (EPSG:3035 id) instead of the location, date + hour instead of the
time, a keyed hash of the person key instead of the key (:func:`person_pseudonyms`),
categories normalised to fixed lists, and no free text. Counts leave the store only
through :mod:`territory.privacy.protect`.

Refused rows and rows waiting for geocoding keep their original content in memory and
are written only beside the team's own file (:func:`write_side_files`); stored contacts
older than the retention period are deleted by :func:`territory.privacy.raw.purge`.
Pseudonyms and fingerprints are those of :mod:`territory.privacy.pseudonyms`; the rows
are stored by :func:`territory.privacy.raw.contact_writer`.

Speed (figures in ``BENCHMARKS.md``): Arrow parses the CSV, every step per row is
vectorised, Python runs once per distinct value (categories), person keys and rows are
hashed by one vectorised keyed hash (SipHash-2-4), communes are found per 200 m cell,
and the store appends the rows chunk by chunk in one transaction
(:meth:`territory.store.Workspace.appending`), so that memory does not grow with the file.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol, cast

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import shapely
from pyproj import Transformer

from territory._errors import InputFileError
from territory.crs import GRID_CRS
from territory.grid import cell_ids
from territory.io._csvfile import header, numbered, sniff, without_titles
from territory.io._dates import day_text, parse_dates
from territory.io._quotes import QuoteScan, unquoted_copy
from territory.io._sheets import SheetPick, is_spreadsheet, pick_sheet, read_sheet
from territory.io._validate import (
    SPREADSHEET_ERRORS,
    find_columns,
    header_test,
    normalise_name,
    note_guessed,
    require_columns,
)
from territory.io.report import ImportReport
from territory.privacy.pseudonyms import (
    Occurrences,
    content_fingerprints,
    fingerprint_text,
    person_hashes,
    person_key,
    row_fingerprints,
)
from territory.privacy.pseudonyms import to_arrow as _to_arrow
from territory.privacy.raw import STORED_COLUMNS
from territory.vocab import AGE_BANDS, PARTNER_SPELLINGS, PARTNER_TYPES, STATUSES, UNKNOWN

__all__ = [
    "FIELD_LABELS",
    "HOUR_UNKNOWN",
    "IDENTITY_COLUMNS",
    "LEGACY_FINGERPRINT",
    "REASON_COLUMN",
    "ContactsPreview",
    "ContactsRead",
    "RowSink",
    "SideFiles",
    "preview_contacts",
    "read_contacts",
    "side_file_paths",
    "write_side_files",
]

_SYNONYMS: dict[str, list[str]] = {
    # Compared after normalise_name (no accents, case, spaces or punctuation): "N° jeune",
    # "Nº jeune" and "No jeune" are "njeune" / "nojeune", "Date du contact" "dateducontact".
    "date": [
        "date_contact",
        "date_du_contact",
        "date_de_contact",
        "date_heure",
        "date_et_heure",
        "datetime",
        "date_rencontre",
        "date_de_rencontre",
        "date_de_la_rencontre",
        "horodatage",
        "jour",
    ],
    "heure": ["heure", "heure_contact", "heure_du_contact", "heure_de_contact", "time"],
    "longitude": ["lon", "lng", "long"],
    "latitude": ["lat"],
    "x": ["x_l93", "x_lambert93", "coord_x"],
    "y": ["y_l93", "y_lambert93", "coord_y"],
    "adresse": ["address", "adresse_contact", "adresse_du_contact", "lieu", "lieu_du_contact"],
    "statut": [
        "status",
        "statut_du_jeune",
        "statut_jeune",
        "statut_du_contact",
        "situation",
        "situation_du_jeune",
        "type_contact",
        "type_de_contact",
    ],
    "tranche_age": [
        "age",
        "tranche",
        "tranche_d_age",
        "tranche_age_du_jeune",
        "age_du_jeune",
        "age_band",
        "classe_age",
        "classe_d_age",
    ],
    "date_naissance": ["naissance", "date_de_naissance", "birth_date"],
    "sexe": ["sex", "genre", "sexe_du_jeune"],
    "partenaire": [
        "partenaire_orientation",
        "partenaire_d_orientation",
        "partenaire_de_l_orientation",
        "orientation",
        "orientation_vers",
        "oriente_vers",
    ],
    "personne": [
        "id_personne",
        "person_key",
        "identifiant",
        "identifiant_jeune",
        "identifiant_du_jeune",
        "id_jeune",
        "n_jeune",
        "no_jeune",
        "num_jeune",
        "numero_jeune",
        "numero_du_jeune",
        "n_personne",
        "no_personne",
        "numero_personne",
        "pseudo",
    ],
}
_IS_HEADER = header_test(["date", *_SYNONYMS["date"]])
"""Whether a row is a contacts header (it names the date column)."""

_METRO = (-5.6, 41.2, 10.0, 51.2)
REASON_COLUMN = "motif_refus"
"""Column added to the refused rows: why each one was refused (French)."""
IDENTITY_COLUMNS = (
    "date",
    "hour",
    "cell",
    "commune",
    "statut",
    "tranche_age",
    "sexe",
    "partenaire",
    "personne",
)
"""What makes a row the same row: its normalised stored content (:func:`content_fingerprints`)."""
HOUR_UNKNOWN = -1
"""The stored ``hour`` of a contact whose hour is unknown (a date without an hour).

Such a contact is counted everywhere (maps, totals, indicators, months, weekdays) but
falls outside every hourly slot: :mod:`territory.privacy.published` puts hours outside
the slots' range in the "outside" part of the hourly profiles."""
LEGACY_FINGERPRINT = "fingerprint_v2"
"""Column of the rows read with ``legacy=True``: their fingerprint in the earlier scheme."""


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
                _write_private_csv(rows, target)
                written[key] = target
                result.report.note(
                    f"{len(rows)} {what} écrite(s) dans {target} (données personnelles, "
                    "fichier lisible par vous seul : à garder avec le fichier d'origine)"
                )
            else:
                target.unlink(missing_ok=True)
        except OSError as exc:
            result.report.note(f"{what} : impossible d'écrire {target} ({exc.strerror or exc})")
    return SideFiles(refused=written["refused"], pending=written["pending"])


def _write_private_csv(rows: pd.DataFrame, target: Path) -> None:
    """Write ``rows`` to ``target`` readable and writable by its owner only (mode 0600).

    The file is created with that mode (no moment when others may read it), and a file
    left by an earlier import gets it too before it is overwritten.
    """
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as out:
        rows.to_csv(out, sep=";", index=False)


class RowSink(Protocol):
    """Where :func:`read_contacts` hands the anonymised rows, chunk by chunk.

    ``occurrences`` numbers the rows identical to an earlier one over every file handed
    to the sink (an import and its geocoded rows); with ``legacy``, each row also carries
    its fingerprint in the scheme used before (column :data:`LEGACY_FINGERPRINT`), to
    recognise rows imported before the change.
    """

    occurrences: Occurrences
    legacy: bool

    def write(self, rows: pd.DataFrame) -> None:
        """Take the anonymised rows of one chunk (:data:`STORED_COLUMNS`, maybe one more).

        ``cell`` and ``commune`` are categorical (the store counts the rows per cell
        from their codes), ``hour`` is an integer, the other columns hold ``str``.
        """

    def discard(self) -> None:
        """Forget every row written so far: the file is about to be read again."""


def read_contacts(
    path: Path,
    *,
    communes: gpd.GeoDataFrame,
    secret: bytes,
    mapping: Mapping[str, str] | None = None,
    chunksize: int = 100_000,
    sink: RowSink | None = None,
    dates: tuple[date, date] | None = None,
    sheet: str | None = None,
) -> ContactsRead:
    """Read a CSV or XLSX contact export and return only anonymised rows.

    Parameters
    ----------
    path
        CSV in French or international conventions (``;`` or ``,``, UTF-8 with or
        without BOM or Windows-1252, decimal comma, ``dd/mm/yyyy HH:MM`` or ISO), or a
        spreadsheet (``.xlsx``, ``.xls``, ``.ods``).
    communes
        The territory's communes (EPSG:4326): a contact outside all of them is refused.
    secret
        Secret of the person pseudonyms and of the row fingerprints (kept outside the
        workspace).
    mapping
        Optional explicit ``{canonical name: file column}`` overriding the synonyms.
    chunksize
        Rows per chunk: memory stays bounded whatever the file size.
    sink
        Where to hand the anonymised rows, chunk by chunk, instead of keeping them: the
        ``rows`` of the result are then empty, and memory does not grow with the file.
        ``sink.discard()`` is called when the file must be read again from its start
        (lines with the wrong number of fields are only found on the way). Kept rows
        have object columns; the sink's have categorical ``cell`` and ``commune``. The
        sink's ``occurrences`` number the identical rows over every file it is handed
        (one import), and its ``legacy`` asks for the fingerprints of the earlier scheme.
    dates
        The first and last day a contact may be dated (both kept): a row dated after the
        last (in the future) or before the first (beyond the retention period: it would
        be purged at once) is refused with its reason. None: any readable date.
    sheet
        The sheet of a workbook to read; None: the only one, or the only one with a date
        column (:func:`territory.io._sheets.pick_sheet`; the report names it).

    Notes
    -----
    A CSV is parsed by Arrow's multi-threaded reader; a file it cannot read exactly as
    pandas would (wrong number of fields on a line, quoted line breaks, duplicate or
    empty column names, undecodable bytes) is read again by pandas, whose tolerant
    parser reports each bad line. Everything per row is vectorised; what is computed in
    Python is computed once per distinct value of a chunk (normalised categories), and
    person keys are hashed once per distinct key of a chunk. Communes are found once per
    200 m cell: a cell that no commune boundary crosses gives its commune to all its
    points, and only the points of cells crossed by a boundary are tested one by one
    (same answer as testing every point).

    The row fingerprint (``fingerprint``, which makes re-imports idempotent) is the keyed
    hash of the row's normalised content (:data:`IDENTITY_COLUMNS`) and of its occurrence
    number among the identical rows of the file, see :func:`content_fingerprints`: the
    same rows in another column order, under other column names, with a column that is
    not stored added or dropped, get the same fingerprints. Identical rows are all kept
    (two contacts of one person the same hour in one cell), and the report says how many.
    """
    path = Path(path)
    occurrences = sink.occurrences if sink is not None else Occurrences()
    context = _Context.build(communes, secret, dates=dates, legacy=sink is not None and sink.legacy)
    kept: list[pd.DataFrame] = []
    emit = sink.write if sink is not None else kept.append
    skip: set[str] = set()
    for attempt, reader in enumerate(_READERS):
        if reader in skip:
            continue
        report = ImportReport(kind="contacts", source=path.name)
        if attempt:  # the previous reader gave up: read again from the start
            kept.clear()
            if sink is not None:
                sink.discard()
        counter = occurrences.copy()  # read again: numbered again from the same start
        try:
            accepted, waiting, refused = _read_all(
                path, mapping, chunksize, context, report, emit,
                reader=reader, seen=counter, sheet=sheet,
            )  # fmt: skip
            break
        except _FieldCountError:
            skip.add("c")  # it pads short lines silently: the tolerant parser reports them
        except _RetryError:
            continue
    repeated = counter.repeated - occurrences.repeated
    # the next file of this import (the geocoded rows) goes on from here
    occurrences.keys, occurrences.counts = counter.keys, counter.counts
    occurrences.repeated = counter.repeated
    rows = (
        pd.concat(kept, ignore_index=True).astype({"cell": object, "commune": object})
        if kept
        else pd.DataFrame({c: pd.Series(dtype=object) for c in STORED_COLUMNS})
    )
    report.accepted = accepted
    pending = pd.concat(waiting, ignore_index=True) if waiting else pd.DataFrame()
    refused_rows = pd.DataFrame(columns=[REASON_COLUMN], dtype=object)
    if refused:
        refused_rows = pd.concat(refused, ignore_index=True).fillna("")
        columns = [c for c in refused_rows.columns if c != REASON_COLUMN]
        refused_rows = refused_rows[[*columns, REASON_COLUMN]]
    report.pending = len(pending)
    if repeated:
        report.note(
            f"{repeated} ligne(s) identique(s) à une ligne précédente du fichier (même jour, "
            "heure, carreau, catégories et personne) : gardées, chacune est un contact"
        )
    if report.pending:
        report.note(
            f"{report.pending} ligne(s) avec une adresse seulement : « à géocoder », conservées"
        )
    return ContactsRead(rows.reset_index(drop=True), report.check(), pending, refused_rows)


FIELD_LABELS = {
    "date": "Date (et heure)",
    "heure": "Heure (colonne à part)",
    "longitude": "Longitude (WGS84)",
    "latitude": "Latitude (WGS84)",
    "x": "X (Lambert-93)",
    "y": "Y (Lambert-93)",
    "adresse": "Adresse (à géocoder)",
    "statut": "Statut",
    "tranche_age": "Tranche d'âge",
    "date_naissance": "Date de naissance",
    "sexe": "Sexe",
    "partenaire": "Partenaire d'orientation",
    "personne": "Identifiant de la personne",
}
"""The fields a contact export can map, with their French labels (the page's mapping)."""


@dataclass(frozen=True)
class ContactsPreview:
    """The first rows of a contact export and the columns recognised by their names.

    ``rows`` is person-level: it is shown to the user who chose the file, never stored.
    """

    rows: pd.DataFrame
    found: dict[str, str]


def preview_contacts(path: Path, *, rows: int = 5, sheet: str | None = None) -> ContactsPreview:
    """The first ``rows`` rows of a contact export (read as text) and its recognised columns.

    Raises :class:`~territory.InputFileError` (French) for a missing, empty or
    unreadable file, like :func:`read_contacts`.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"fichier introuvable : {path}")
    try:
        if is_spreadsheet(path):
            table = read_sheet(path, _pick(path, sheet)).head(rows)
        else:
            layout = sniff(path, is_header=_IS_HEADER)
            options = {"sep": layout.sep, "encoding": layout.encoding, "skiprows": layout.titles}
            try:
                table = pd.read_csv(path, dtype=str, keep_default_na=False, nrows=rows,
                                    on_bad_lines="skip", engine="python", **options)  # fmt: skip
            except csv.Error:  # an unclosed quote: the import refuses its row, the preview shows it
                table = pd.read_csv(path, dtype=str, keep_default_na=False, nrows=rows,
                                    on_bad_lines="skip", engine="python", quoting=csv.QUOTE_NONE,
                                    **options)  # fmt: skip
    except (*SPREADSHEET_ERRORS, pd.errors.ParserError, UnicodeDecodeError, csv.Error) as exc:
        raise InputFileError(f"{path.name} illisible : {exc}") from exc
    return ContactsPreview(table, find_columns(table.columns, _SYNONYMS))


# ------------------------------------------------------------------ private
_READERS = ("arrow", "c", "python")
"""CSV readers in the order they are tried (each one gives up with :class:`_RetryError`)."""
_TYPED = ("cell", "commune", "hour")  # columns of the anonymised rows that are not object
_CELL = 200  # metres: the only resolution stored
_KEY_SHIFT = 24  # cell key: (east / 200) << 24 | (north / 200)
_CELL_MARGIN_DEG = 1e-5  # about 1 m: a cell's lon/lat box is widened by this much
_TO_GRID = Transformer.from_crs("EPSG:4326", GRID_CRS, always_xy=True)
_FROM_GRID = Transformer.from_crs(GRID_CRS, "EPSG:4326", always_xy=True)
_STRICT_NUMBER = r"^-?[0-9]{1,15}(\.[0-9]{1,20})?$"


class _RetryError(Exception):
    """Raised when a CSV reader cannot read the file exactly: the next one must (from the start)."""


class _FieldCountError(_RetryError):
    """Raised by Arrow for a line with the wrong number of fields: pandas' tolerant parser must.

    (Pandas' C parser would silently pad a short line with empty fields.)
    """


@dataclass
class _Context:
    """What every chunk needs: the communes, their indexes, the keyed hashes, a cell cache."""

    index: shapely.STRtree  # the communes
    geoms: np.ndarray  # their geometries, prepared
    borders: shapely.STRtree  # their boundaries, in pieces of a few vertices
    code_of: npt.NDArray[np.intp]  # each commune's code, as an index into ``codes``
    codes: pd.Index  # the distinct commune codes (str objects)
    secret: bytes
    person_key: str  # SipHash key of the person pseudonyms
    cell_keys: npt.NDArray[np.int64]  # sorted keys of the cells already classified
    cell_class: npt.NDArray[np.intp]  # their commune (index), -1 border, -2 no commune
    cell_names: npt.NDArray[np.object_]  # their INSEE ids
    dates: tuple[date, date] | None  # first and last day a contact may be dated
    legacy: bool  # also give the rows their fingerprint in the earlier scheme

    @classmethod
    def build(
        cls,
        communes: gpd.GeoDataFrame,
        secret: bytes,
        *,
        dates: tuple[date, date] | None = None,
        legacy: bool = False,
    ) -> _Context:
        geoms = communes.geometry.to_numpy()
        shapely.prepare(geoms)
        code_of, codes = pd.factorize(communes["code"].astype(str).to_numpy(dtype=object))
        return cls(
            index=shapely.STRtree(geoms),
            geoms=geoms,
            borders=shapely.STRtree(_boundary_pieces(geoms)),
            code_of=code_of,
            codes=pd.Index(codes, dtype=object),
            secret=secret,
            person_key=person_key(secret),
            cell_keys=np.empty(0, dtype=np.int64),
            cell_class=np.empty(0, dtype=np.intp),
            cell_names=np.empty(0, dtype=object),
            dates=dates,
            legacy=legacy,
        )

    def classify(self, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
        """Commune index of each cell (sorted unique ``keys``), -1 border, -2 none."""
        where = np.searchsorted(self.cell_keys, keys)
        known = where < len(self.cell_keys)
        known[known] = self.cell_keys[where[known]] == keys[known]
        if not known.all():
            new = keys[~known]
            east = (new >> _KEY_SHIFT) * _CELL
            north = (new & ((1 << _KEY_SHIFT) - 1)) * _CELL
            names = cell_ids(east, north, resolution=_CELL).astype(object)
            self.cell_keys = np.concatenate([self.cell_keys, new])
            self.cell_class = np.concatenate([self.cell_class, self._classify(new)])
            self.cell_names = np.concatenate([self.cell_names, names])
            order = np.argsort(self.cell_keys, kind="stable")
            self.cell_keys = self.cell_keys[order]
            self.cell_class, self.cell_names = self.cell_class[order], self.cell_names[order]
            where = np.searchsorted(self.cell_keys, keys)
        return self.cell_class[where]

    def cell_ids(self, keys: npt.NDArray[np.int64]) -> pd.Categorical:
        """INSEE ids of the cells of ``keys`` (classified already), as a categorical."""
        unique, inverse = np.unique(keys, return_inverse=True)
        names = self.cell_names[np.searchsorted(self.cell_keys, unique)]
        return pd.Categorical.from_codes(inverse.ravel(), categories=pd.Index(names, dtype=object))

    def _classify(self, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
        # The cell's corners in lon/lat, boxed and widened by about a metre: every point
        # snapped to the cell lies inside (the edges of a 200 m square bend by well under
        # a millimetre between the two projections).
        east = (keys >> _KEY_SHIFT).astype(float) * _CELL
        north = (keys & ((1 << _KEY_SHIFT) - 1)).astype(float) * _CELL
        xs = np.stack([east, east + _CELL, east, east + _CELL], axis=1)
        ys = np.stack([north, north, north + _CELL, north + _CELL], axis=1)
        lon, lat = _FROM_GRID.transform(xs.ravel(), ys.ravel())
        lon, lat = np.reshape(lon, xs.shape), np.reshape(lat, ys.shape)
        boxes = shapely.box(
            lon.min(axis=1) - _CELL_MARGIN_DEG,
            lat.min(axis=1) - _CELL_MARGIN_DEG,
            lon.max(axis=1) + _CELL_MARGIN_DEG,
            lat.max(axis=1) + _CELL_MARGIN_DEG,
        )
        # A box that no commune boundary crosses is connected and boundary-free: the
        # communes holding one of its points hold them all, so its centre decides for
        # every point of the cell (whatever the communes' validity or overlaps).
        crossed = np.zeros(len(keys), dtype=bool)
        crossed[self.borders.query(boxes, predicate="intersects")[0]] = True
        result = np.full(len(keys), -1, dtype=np.intp)
        clear = np.flatnonzero(~crossed)
        centre = self.communes_of_points(lon[clear].mean(axis=1), lat[clear].mean(axis=1))
        result[clear] = np.where(centre >= 0, centre, -2)
        return result

    def communes_of_points(
        self, lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.intp]:
        """Commune index of each point (-1: none), tested point by point.

        Same pairs, in the same order, as ``query(points, predicate="intersects")``:
        the candidates by bounding box, then one vectorised test against the prepared
        communes.
        """
        inside = np.full(len(lon), -1, dtype=np.intp)
        if len(lon):
            points = shapely.points(lon, lat)
            hit_point, hit_poly = self.index.query(points)
            hit = shapely.intersects(self.geoms[hit_poly], points[hit_point])
            hit_point, hit_poly = hit_point[hit], hit_poly[hit]
            inside[hit_point[::-1]] = hit_poly[::-1]  # first commune wins on borders
        return inside

    def place(
        self, lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
        """200 m cell key and commune index (-1: none) of each point."""
        x, y = _TO_GRID.transform(lon, lat)
        east = np.floor(np.asarray(x) / _CELL).astype(np.int64)
        north = np.floor(np.asarray(y) / _CELL).astype(np.int64)
        keys = (east << _KEY_SHIFT) | north
        unique, inverse = np.unique(keys, return_inverse=True)
        commune = self.classify(unique)[inverse]
        border = np.flatnonzero(commune == -1)
        if len(border):
            commune[border] = self.communes_of_points(lon[border], lat[border])
        commune[commune == -2] = -1
        return keys, commune


def _boundary_pieces(geoms: np.ndarray, vertices: int = 16) -> npt.NDArray[np.object_]:
    """The rings of ``geoms`` cut into linestrings of at most ``vertices`` segments.

    Short pieces keep an index of boundaries precise (a box is tested against a few
    segments, not against a whole commune outline).
    """
    rings = shapely.get_rings(shapely.get_parts(geoms[~shapely.is_missing(geoms)]))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    if len(coords) < 2:
        return np.empty(0, dtype=object)
    # Segment i joins coords[i] and coords[i + 1] when both belong to the same ring.
    segment = np.flatnonzero(ring[:-1] == ring[1:])
    first = np.r_[0, np.flatnonzero(np.diff(ring)) + 1]  # first coordinate of each ring
    piece = ring[segment] * 1_000_000 + (segment - first[ring[segment]]) // vertices
    _, piece = np.unique(piece, return_inverse=True)
    # Each piece: the start of each of its segments, then the end of its last segment.
    last = np.r_[piece[1:] != piece[:-1], True]
    points = np.concatenate([coords[segment], coords[segment[last] + 1]])
    owner = np.concatenate([piece, piece[last]])
    order = np.concatenate([np.arange(len(segment)) * 2, np.flatnonzero(last) * 2 + 1])
    sort = np.lexsort((order, owner))
    return cast("npt.NDArray[np.object_]", shapely.linestrings(points[sort], indices=owner[sort]))


def _read_all(
    path: Path,
    mapping: Mapping[str, str] | None,
    chunksize: int,
    context: _Context,
    report: ImportReport,
    emit: Callable[[pd.DataFrame], None],
    *,
    reader: str,
    seen: Occurrences,
    sheet: str | None = None,
) -> tuple[int, list[pd.DataFrame], list[pd.DataFrame]]:
    """Hand the anonymised rows to ``emit``; accepted count, pending and refused rows.

    Refused rows are few (bounded by the errors in the file). ``seen`` numbers the
    identical rows from chunk to chunk (their fingerprints).
    """
    waiting: list[pd.DataFrame] = []
    refused: list[pd.DataFrame] = []
    bad_lines: list[tuple[str, int]] = []  # (raw text, number of fields) of long lines
    accepted = 0
    first_row = 2  # line 1 is the header
    quotes = QuoteScan("")  # its rows with an unclosed quote, filled by _chunks
    chunks = _chunks(
        path, mapping, chunksize, report, bad_lines, reader=reader, sheet=sheet, quotes=quotes
    )
    titles = 0  # lines above the header, added to the line numbers
    for chunk, found in chunks:
        titles += int(chunk.attrs.pop("titles", 0))
        chunk, shape = _shape_reasons(chunk, bad_lines)
        shape = quotes.mark(shape, first_row - 2, len(chunk))
        rows, pending, reasons = _anonymise_chunk(
            chunk, found, context, report, first_row + titles, seen, shape=shape
        )
        if (reasons != "").any():
            refused.append(chunk[reasons != ""].assign(**{REASON_COLUMN: reasons[reasons != ""]}))
        if len(rows):
            emit(rows.reset_index(drop=True))
        accepted += len(rows)
        if len(pending):
            waiting.append(pending)
        first_row += len(chunk)
    return accepted, waiting, refused


_LONG_LINE = "\x00ligne trop longue\x00"
"""First field of the row that stands in for a line with too many fields (see :func:`_chunks`)."""


def _shape_reasons(
    chunk: pd.DataFrame, bad_lines: list[tuple[str, int]]
) -> tuple[pd.DataFrame, npt.NDArray[np.object_] | None]:
    """Refusal reason of each line with the wrong number of fields ("": none), in place.

    A line with too many fields stands in the chunk as a row whose first field is
    :data:`_LONG_LINE` (its raw text and field count in ``bad_lines``, in order; they are
    consumed here): it gets its raw text back in the first column. A line with too few
    fields was padded with missing values by the parser. Each one is refused by itself,
    the rows around it are read as usual.
    """
    width = len(chunk.columns)
    if not width:
        return chunk, None
    missing = chunk.isna().to_numpy().sum(axis=1)
    long = (chunk.iloc[:, 0] == _LONG_LINE).to_numpy(dtype=bool)
    if not missing.any() and not long.any():
        return chunk, None
    reason = np.full(len(chunk), "", dtype=object)
    short = (missing > 0) & ~long
    for i in np.flatnonzero(short):
        reason[i] = f"ligne de {width - int(missing[i])} champs au lieu de {width}"
    chunk = chunk.copy()
    for i in np.flatnonzero(long):
        text, fields = bad_lines.pop(0) if bad_lines else ("", 0)
        reason[i] = f"ligne de {fields} champs au lieu de {width}"
        chunk.iloc[i, 0] = text
    return chunk, reason


def _chunks(
    path: Path,
    mapping: Mapping[str, str] | None,
    chunksize: int,
    report: ImportReport,
    bad_lines: list[tuple[str, int]],
    *,
    reader: str,
    sheet: str | None = None,
    quotes: QuoteScan | None = None,
) -> Iterator[tuple[pd.DataFrame, dict[str, str]]]:
    if not path.exists():
        raise InputFileError(f"fichier introuvable : {path}")
    if is_spreadsheet(path):
        pick = _pick(path, sheet)
        report.note(pick.note())
        yield from _checked([read_sheet(path, pick)], path, mapping, report)
        return
    layout = sniff(path, is_header=_IS_HEADER)
    encoding, sep, titles = layout.encoding, layout.sep, layout.titles
    if titles:
        report.note(f"en-tête à la ligne {titles + 1} : {titles} ligne(s) de titre ignorée(s)")
    with tempfile.TemporaryDirectory(prefix="territory-quotes-") as folder:
        path = without_titles(path, layout, Path(folder))
        # a row with an unclosed quote is cut out of the rows it swallowed (_quotes)
        path, encoding, scan = unquoted_copy(path, encoding, sep, Path(folder))
        if quotes is not None:
            quotes.lines.update({row: line + titles for row, line in scan.lines.items()})
        if reader == "arrow":
            arrow = _arrow_chunks(path, encoding, sep, chunksize)
            yield from _checked(numbered(arrow, titles), path, mapping, report)
            return
        strict = reader == "c"

        width = len(header(path, encoding, sep) or [])

        def ragged(fields: list[str]) -> list[str]:
            # Keeps the line's place (and the line numbers of the rows after it): a row that
            # _shape_reasons refuses with its own reason.
            bad_lines.append((sep.join(fields), len(fields)))
            return [_LONG_LINE, *[""] * (width - 1)]

        options = (
            {"on_bad_lines": "error", "engine": "c"}
            if strict
            else {"on_bad_lines": ragged, "engine": "python"}
        )
        chunks: Any = pd.read_csv(
            path,
            sep=sep,
            encoding=encoding,
            dtype=str,
            keep_default_na=False,
            chunksize=chunksize,
            **options,
        )
        try:
            with chunks:
                yield from _checked(numbered(chunks, titles), path, mapping, report)
        except pd.errors.ParserError as exc:
            if strict:
                raise _RetryError from exc
            raise InputFileError(f"{path.name} : fichier CSV illisible ({exc})") from exc
        except (UnicodeDecodeError, csv.Error) as exc:
            raise InputFileError(f"{path.name} : fichier CSV illisible ({exc})") from exc


def _arrow_chunks(path: Path, encoding: str, sep: str, chunksize: int) -> Iterator[pd.DataFrame]:
    """Chunks of ``chunksize`` rows read by Arrow, as pandas would read them (``str``).

    Raises :class:`_RetryError` whenever Arrow's reading could differ from pandas'.
    """
    names = header(path, encoding, sep)
    if not names or len(set(names)) != len(names) or "" in names:
        raise _RetryError  # pandas renames such columns ("Unnamed: 1", "a.1")
    try:
        stream = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(
                # Arrow skips a UTF-8 BOM itself; other encodings go through Python's codec.
                encoding="utf8" if encoding == "utf-8-sig" else encoding,
                block_size=1 << 20,
            ),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.large_string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        if stream.schema.names != names:
            raise _RetryError
        held: list[pa.RecordBatch] = []
        count = start = 0
        for batch in stream:
            held.append(batch)
            count += batch.num_rows
            while count >= chunksize:
                table = pa.Table.from_batches(held, schema=stream.schema)
                yield _frame(table.slice(0, chunksize), start)
                start += chunksize
                rest = table.slice(chunksize)
                held, count = rest.to_batches(), rest.num_rows
        if count or not start:
            yield _frame(pa.Table.from_batches(held, schema=stream.schema), start)
    except (pa.ArrowInvalid, UnicodeError) as exc:
        if "columns, got" in str(exc):
            raise _FieldCountError from exc
        raise _RetryError from exc


def _pick(path: Path, sheet: str | None) -> SheetPick:
    """The workbook's sheet of contacts: the chosen one, else the one with a date column."""
    return pick_sheet(path, sheet, is_header=_IS_HEADER)


_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default "str"


def _frame(table: pa.Table, start: int) -> pd.DataFrame:
    frame = table.to_pandas(types_mapper={pa.large_string(): _STR}.get)
    frame.index = pd.RangeIndex(start, start + len(frame))
    return frame


def _checked(
    chunks: Iterable[pd.DataFrame],
    path: Path,
    mapping: Mapping[str, str] | None,
    report: ImportReport,
) -> Iterator[tuple[pd.DataFrame, dict[str, str]]]:
    """Chunks with the column mapping, checked once on the header (guessed names noted)."""
    found: dict[str, str] | None = None
    for chunk in chunks:
        if found is None:
            found = find_columns(chunk.columns, _SYNONYMS)
            if mapping:
                found.update({k: v for k, v in mapping.items() if v in chunk.columns})
            note_guessed(found, report, given=mapping or {})
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


def _anonymise_chunk(
    chunk: pd.DataFrame,
    found: dict[str, str],
    context: _Context,
    report: ImportReport,
    first_row: int,
    seen: Occurrences,
    *,
    shape: npt.NDArray[np.object_] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Anonymised accepted rows, pending rows and refusal reasons of a chunk.

    Accepted rows are indexed like ``chunk``, pending rows keep their original content, the
    refusal reason is given for each row of ``chunk`` (``""``: not refused). ``seen``
    numbers the rows identical to an earlier one (see :func:`content_fingerprints`).
    """
    n = len(chunk)
    report.read += n
    line = np.arange(first_row, first_row + n)
    reason = np.full(n, "", dtype=object)

    when, hour_known, day_read = parse_dates(chunk, found)
    reason[np.isnat(when)] = "date illisible"
    reason[np.isnat(when) & day_read] = "heure illisible (date lisible)"
    if context.dates is not None:
        first, last = context.dates
        day = when.astype("datetime64[D]")
        dated = ~np.isnat(when)
        reason[dated & (day > np.datetime64(last, "D"))] = (
            f"date future (après le {last:%d/%m/%Y}, jour de l'import)"
        )
        reason[dated & (day < np.datetime64(first, "D"))] = (
            f"date avant le {first:%d/%m/%Y} : au-delà de la durée de conservation, "
            "elle serait effacée aussitôt"
        )

    if shape is not None:  # a line with the wrong number of fields: that is its reason
        reason[shape != ""] = shape[shape != ""]

    lon, lat = _locations(chunk, found, report)
    has_xy = np.isfinite(lon) & np.isfinite(lat)
    if "adresse" in found:
        has_address = (chunk[found["adresse"]].str.strip() != "").to_numpy(dtype=bool)
    else:
        has_address = np.zeros(n, dtype=bool)
    is_pending = ~has_xy & has_address & (reason == "")
    reason[~has_xy & ~is_pending & (reason == "")] = "localisation manquante ou illisible"

    keys = np.zeros(n, dtype=np.int64)
    commune = np.full(n, -1, dtype=np.intp)
    if has_xy.any():
        keys[has_xy], commune[has_xy] = context.place(lon[has_xy], lat[has_xy])
    reason[has_xy & (commune < 0) & (reason == "")] = "hors du territoire (aucune commune)"

    for row, why in zip(line[reason != ""], reason[reason != ""], strict=True):
        report.refuse(int(row), str(why))
    ok = reason == ""
    pending = chunk[is_pending]
    accepted = ok & has_xy
    report.accept(int(accepted.sum()))
    no_hour = int((accepted & ~hour_known).sum())
    if no_hour:
        report.note(f"{no_hour} contact(s) sans heure : comptés, hors profils horaires")

    take = np.flatnonzero(accepted)
    # Hashes are computed on every row and taken after; only the category columns are
    # taken (a copy of each column of the chunk would cost more).
    categories = ("statut", "tranche_age", "date_naissance", "sexe", "partenaire")
    sub = chunk[list(dict.fromkeys(found[c] for c in categories if c in found))].take(take)
    dates = pd.Series(when[take], index=sub.index)
    days = when[take].astype("datetime64[D]")
    person = (
        person_hashes(chunk[found["personne"]], context.person_key)[take]
        if "personne" in found
        else np.full(len(sub), "", dtype=object)
    )
    columns: dict[str, Any] = {
        "cell": context.cell_ids(keys[take]),
        "commune": pd.Categorical.from_codes(
            context.code_of[commune[take]], categories=context.codes
        ),
        "date": day_text(days),
        "hour": np.where(
            hour_known[take], (when[take] - days) // np.timedelta64(1, "h"), HOUR_UNKNOWN
        ).astype(np.int64),
        "statut": _normalise(sub, found, "statut", STATUSES, report),
        "tranche_age": _age_band(sub, found, dates, report),
        "sexe": _sex(sub, found),
        "partenaire": _partner_type(sub, found, report),
        "personne": person,
    }
    identity = [columns[c] for c in IDENTITY_COLUMNS]
    columns["fingerprint"] = fingerprint_text(content_fingerprints(identity, context.secret, seen))
    if context.legacy:  # the fields of the file, as fingerprinted before (address aside)
        hashed = [c for c in chunk.columns if c != found.get("adresse")]
        legacy = row_fingerprints(chunk[hashed], context.secret)[take]
        columns[LEGACY_FINGERPRINT] = fingerprint_text(legacy)
    # Object columns of shared str objects; cell and commune categorical, so that the
    # store counts the rows per (cell, commune) from their codes.
    rows = pd.DataFrame(
        {
            name: pd.Series(values, index=sub.index, dtype=None if name in _TYPED else object)
            for name, values in columns.items()
        }
    )
    return rows, pending, reason


def _per_distinct(
    values: pd.Series,
    vectorised: Callable[[pd.Series], pd.Series],
    each: Callable[[str], str] | None = None,
) -> npt.NDArray[np.object_]:
    """``vectorised`` (then ``each``, "" kept as "") applied once per distinct value.

    A missing value (a short line read by the tolerant parser) counts as "".
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    distinct = vectorised(pd.Series(uniques, dtype=values.dtype)).fillna("")
    result = distinct.to_numpy(dtype=object)
    if each is not None:
        result = np.array([each(v) if v else "" for v in result], dtype=object)
    return cast("npt.NDArray[np.object_]", result[codes])


def _locations(
    chunk: pd.DataFrame, found: dict[str, str], report: ImportReport
) -> tuple[np.ndarray, np.ndarray]:
    def number(column: str) -> np.ndarray:
        values = chunk[found[column]].str.strip().str.replace(",", ".", regex=False)
        return _to_float(values)

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
        x, y = number("x"), number("y")
        use = ~np.isfinite(lon) & np.isfinite(x) & np.isfinite(y)
        if use.any():
            tx, ty = Transformer.from_crs(2154, 4326, always_xy=True).transform(x[use], y[use])
            lon[use], lat[use] = tx, ty
    bad = ~_in_metro(lon, lat)
    lon[bad], lat[bad] = np.nan, np.nan
    return lon, lat


def _to_float(values: pd.Series) -> npt.NDArray[np.float64]:
    """Like ``pd.to_numeric(values, errors="coerce")``, plain decimals parsed by Arrow."""
    result = np.full(len(values), np.nan)
    if not len(values):
        return result
    array = _to_arrow(values)
    plain = pc.fill_null(pc.match_substring_regex(array, _STRICT_NUMBER), False)
    is_plain = plain.to_numpy(zero_copy_only=False)
    if is_plain.any():
        result[is_plain] = pc.cast(array.filter(plain), pa.float64()).to_numpy()
    rest = ~is_plain & (values != "").to_numpy(dtype=bool)
    if rest.any():  # anything else ("1e3", "  ", text): pandas decides, as before
        result[rest] = pd.to_numeric(values[rest], errors="coerce").to_numpy(dtype=float)
    return result


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
    # few distinct values: normalise each once, not once per row
    codes, uniques = pd.factorize(sub[found[column]], use_na_sentinel=False)
    raw = pd.Series(uniques, dtype=sub[found[column]].dtype).str.strip().fillna("")
    canonical = pd.Series([lookup.get(normalise_name(v)) for v in raw], dtype=object)
    unknown = (canonical.isna() & (raw != "")).to_numpy(dtype=bool)
    if unknown.any():  # counted, never echoed: a free-text value may name someone
        n = int(np.bincount(codes, minlength=len(raw))[unknown].sum())
        report.fix(
            f"{n} {column} hors de la liste ({int(unknown.sum())} valeur(s) distincte(s), "
            f"non conservées) → « {UNKNOWN} »",
            n,
        )
    return cast("np.ndarray", canonical.fillna(UNKNOWN).to_numpy(dtype=object)[codes])


def _partner_type(sub: pd.DataFrame, found: dict[str, str], report: ImportReport) -> np.ndarray:
    """The partner type a contact was oriented to, from a closed list; never the text.

    A value spelt as one of :data:`territory.vocab.PARTNER_SPELLINGS` becomes that type's
    label (:data:`territory.vocab.PARTNER_TYPES`), any other text « Autre partenaire »
    (counted in the report, not echoed: it may be a name, a phone number, a note), an
    empty value "" (not oriented).
    """
    if "partenaire" not in found:
        return np.full(len(sub), "", dtype=object)
    lookup = {
        normalise_name(spelling): PARTNER_TYPES[code]
        for code, spellings in PARTNER_SPELLINGS.items()
        for spelling in (code, PARTNER_TYPES[code], *spellings)
    }
    codes, uniques = pd.factorize(sub[found["partenaire"]], use_na_sentinel=False)
    raw = pd.Series(uniques, dtype=object).fillna("").astype(str).str.strip()
    typed = [lookup.get(normalise_name(v)) if v else "" for v in raw]
    other = np.array([t is None for t in typed], dtype=bool)
    if other.any():
        n = int(np.bincount(codes, minlength=len(raw))[other].sum())
        report.fix(
            f"{n} partenaire(s) d'orientation hors des types de partenaires "
            f"({int(other.sum())} valeur(s) distincte(s), non conservées) "
            f"→ « {PARTNER_TYPES['AUTRE']} »",
            n,
        )
    labels = np.array([PARTNER_TYPES["AUTRE"] if t is None else t for t in typed], dtype=object)
    return cast("np.ndarray", labels[codes])


def _age_band(
    sub: pd.DataFrame, found: dict[str, str], dates: pd.Series, report: ImportReport
) -> np.ndarray:
    if "tranche_age" in found:
        return _bands(sub[found["tranche_age"]], report)
    if "date_naissance" in found:
        born = pd.to_datetime(sub[found["date_naissance"]], format="%d/%m/%Y", errors="coerce")
        age = (dates - born).dt.days // 365.25
        bands = pd.cut(age, [15, 17, 21, 25, 29], labels=AGE_BANDS)
        report.note("dates de naissance converties en tranches d'âge (non conservées)")
        banded = bands.astype(object).where(bands.notna(), UNKNOWN)
        return cast("np.ndarray", banded.to_numpy(dtype=object))
    return np.full(len(sub), UNKNOWN, dtype=object)


def _bands(values: pd.Series, report: ImportReport) -> np.ndarray:
    """Age band of each value: a band as written ("18-21", "18 à 21 ans") or an exact age.

    An exact age ("21", "21 ans") of 16 to 29 becomes its band (:data:`AGE_BANDS`); one
    outside 16-29, or any other text, becomes « non renseigné ». Each conversion is
    counted in the report (never echoing the value).
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    counts = np.bincount(codes, minlength=len(uniques))
    raw = pd.Series(uniques, dtype=object).fillna("").astype(str).str.strip()
    compact = raw.str.lower().str.replace(" ", "", regex=False)
    compact = compact.str.replace(r"(\d+)(?:ans)?[-–à]+(\d+)(?:ans)?", r"\1-\2", regex=True)
    age = pd.to_numeric(compact.str.extract(r"^([0-9]{1,3})(?:ans?)?$")[0], errors="coerce")
    exact = age.notna().to_numpy(dtype=bool)
    edges = np.array([int(b.split("-")[1]) for b in AGE_BANDS])  # 17, 21, 25, 29
    ages = age.fillna(-1).to_numpy(dtype=np.int64)
    in_range = exact & (ages >= 16) & (ages <= edges[-1])
    banded = np.array(AGE_BANDS, dtype=object)[
        np.searchsorted(edges, np.clip(ages, 0, None))[in_range]
    ]
    result = np.where(compact.isin(AGE_BANDS), compact, UNKNOWN).astype(object)
    result[in_range] = banded
    empty = (raw == "").to_numpy(dtype=bool)
    other = ~exact & ~empty & (result == UNKNOWN)
    for mask, what in (
        (in_range, "âge(s) converti(s) en tranches d'âge"),
        (exact & ~in_range, f"âge(s) hors 16-29 ans → « {UNKNOWN} »"),
        (other, f"tranche(s) d'âge illisible(s) (non conservées) → « {UNKNOWN} »"),
    ):
        n = int(counts[mask].sum())
        if n:
            report.fix(f"{n} {what}", n)
    return cast("np.ndarray", result[codes])


def _sex(sub: pd.DataFrame, found: dict[str, str]) -> np.ndarray:
    if "sexe" not in found:
        return np.full(len(sub), UNKNOWN, dtype=object)

    def sex(raw: pd.Series) -> pd.Series:
        first = raw.str.strip().str.upper().str[:1]
        return first.map({"F": "F", "H": "H", "M": "H"}).fillna(UNKNOWN)

    return _per_distinct(sub[found["sexe"]], sex)
