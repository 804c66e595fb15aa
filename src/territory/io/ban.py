r"""The Base Adresse Nationale (BAN) of a département: its official CSV, read in chunks.

The BAN publishes one file per département, ``adresses-XX.csv.gz`` (``;``-separated,
UTF-8, one row per address: ``id;id_fantoir;numero;rep;nom_voie;code_postal;code_insee;
nom_commune;…;lon;lat;…``; schema at adresse.data.gouv.fr, « Format .csv pour un usage
classique »). A département holds 300,000 to 700,000 addresses: :func:`read_ban` streams
the file (plain or gzip) in blocks of :data:`BLOCK_LINES` lines and hands each block's
accepted addresses to a sink, so that memory does not grow with the file.

What is kept is what a geocoder needs (:data:`COLUMNS`): the number, its repetition
index, the street name in the comparable form of
:func:`territory.io.addresses.normalise_street`, the postcode, the INSEE code, the
WGS84 position, and the département (from the INSEE code) that a later import of the
same département replaces. These are public addresses, not people's: the workspace may
hold them.

Every row is accounted for in the :class:`~territory.io.report.ImportReport`: a line
with the wrong number of fields, an INSEE code that is not one, an empty street name, a
number that is not a number or a position outside France is refused with its line
number and reason.

Examples
--------
>>> import gzip, tempfile
>>> path = Path(tempfile.mkdtemp()) / "adresses-14.csv.gz"
>>> header = ";".join(BAN_COLUMNS)
>>> row = "14118_2140_00010;14118_2140;10;;Rue de Bayeux;14000;14118;Caen;;;;;-0.3752;49.1861"
>>> _ = path.write_bytes(gzip.compress(f"{header}\n{row}{';' * 9}\n".encode()))
>>> rows = []
>>> read_ban(path, sink=rows.append).accepted
1
>>> rows[0].loc[0, ["numero", "voie", "code_insee", "departement"]].astype(str).tolist()
['10', 'rue bayeux', '14118', '14']
"""

from __future__ import annotations

import gzip
import io
import itertools
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from territory._errors import InputFileError, plain_reason
from territory.io._validate import in_france
from territory.io.addresses import normalise_street
from territory.io.report import ImportReport

__all__ = [
    "BAN_COLUMNS",
    "BAN_URL",
    "BLOCK_LINES",
    "COLUMNS",
    "LICENCE",
    "TABLE",
    "departement_of",
    "empty_table",
    "read_ban",
]

BAN_URL = "https://adresse.data.gouv.fr/data/ban/adresses/latest/csv/adresses-{dep}.csv.gz"
"""The département's file (``{dep}``: ``14``, ``2A``, ``974``)."""
BAN_COLUMNS: tuple[str, ...] = (
    "id", "id_fantoir", "numero", "rep", "nom_voie", "code_postal", "code_insee",
    "nom_commune", "code_insee_ancienne_commune", "nom_ancienne_commune", "x", "y", "lon",
    "lat", "type_position", "alias", "nom_ld", "libelle_acheminement", "nom_afnor",
    "source_position", "source_nom_voie", "certification_commune", "cad_parcelles",
)  # fmt: skip
"""The columns of the official file, in its order."""
_READ = ("numero", "rep", "nom_voie", "code_postal", "code_insee", "lon", "lat")
TABLE = "ban_adresses"
"""The workspace table of the imported addresses (one or several départements)."""
COLUMNS: tuple[str, ...] = (
    "numero", "rep", "voie", "code_postal", "code_insee", "lon", "lat", "departement",
)  # fmt: skip
"""Columns of :data:`TABLE`: ``numero`` (integer, null for a street without number),
``rep`` (lower case, ``""`` when none), ``voie`` (normalised), ``code_postal`` (``""``
when unknown), ``code_insee``, ``lon``, ``lat`` (WGS84, 6 decimals), ``departement``."""
LICENCE = "Licence Ouverte 2.0 (Etalab)"
ATTRIBUTION = "Base Adresse Nationale (adresse.data.gouv.fr)"
BLOCK_LINES = 100_000
"""Lines of the file parsed and handed to the sink at once."""

_INSEE = r"^(?:\d{5}|2[AB]\d{3})$"
_NUMBER = r"^\d{1,6}$"
_POSTCODE = r"^\d{5}$"


def empty_table() -> pd.DataFrame:
    """An empty frame with the columns and dtypes of :data:`TABLE`."""
    return pd.DataFrame(
        {
            "numero": pd.Series(dtype="Int64"),
            **{c: pd.Series(dtype=object) for c in ("rep", "voie", "code_postal", "code_insee")},
            "lon": pd.Series(dtype=float),
            "lat": pd.Series(dtype=float),
            "departement": pd.Series(dtype=object),
        }
    )


def departement_of(codes: pd.Series) -> pd.Series:
    """The département of INSEE commune codes: two characters, three overseas (``97x``).

    Examples
    --------
    >>> departement_of(pd.Series(["14118", "2A004", "97411"])).tolist()
    ['14', '2A', '974']
    """
    text = codes.astype(str)
    return text.str[:2].where(~text.str.startswith("97"), text.str[:3])


def read_ban(
    path: str | Path,
    *,
    sink: Callable[[pd.DataFrame], None],
    block_lines: int | None = None,
) -> ImportReport:
    """Read a BAN ``adresses-XX.csv`` (plain or gzip) and hand its addresses to ``sink``.

    Parameters
    ----------
    path
        The official file, compressed or not (gzip is recognised by its first bytes,
        whatever the file name: a downloaded file may be cached without its suffix).
    sink
        Called with the accepted rows of each block (columns :data:`COLUMNS`).
    block_lines
        Lines read at once (default :data:`BLOCK_LINES`): memory holds one block.

    Returns
    -------
    ImportReport
        Kind ``ban``: rows read, accepted (handed to ``sink``) and refused with their
        line number and reason; fixes (an unreadable postcode dropped).

    Raises
    ------
    InputFileError
        The file is missing, is not a BAN address file (columns missing), is not
        UTF-8, or its gzip stream is damaged.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"fichier introuvable : {path}")
    report = ImportReport(kind="ban", source=path.name)
    streets: dict[str, str] = {}
    bad_postcodes = 0
    try:
        with _open(path) as stream:
            header = stream.readline()
            names = _header(header, path.name)
            for first_line, lines in _blocks(stream, block_lines or BLOCK_LINES):
                table, invalid = _parse(header, lines, names, path.name, first_line)
                numbers, ragged = _line_numbers(lines, invalid, first_line)
                for line, fields in ragged:
                    report.read += 1
                    report.refuse(line, f"{fields} champ(s) au lieu de {len(names)}")
                rows, bad = _rows(table, numbers, report, streets)
                bad_postcodes += bad
                if len(rows):
                    sink(rows)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise InputFileError(
            f"{path.name} : fichier compressé endommagé ou incomplet ({plain_reason(exc)}) ; "
            "téléchargez-le à nouveau"
        ) from exc
    if bad_postcodes:
        report.fix(
            f"{bad_postcodes} code(s) postal(aux) illisible(s) laissé(s) vide(s)", bad_postcodes
        )
    return report.check()


# ------------------------------------------------------------------------ private
def _open(path: Path) -> io.BufferedIOBase:
    """The file's bytes, decompressed when it starts with the gzip magic number."""
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")  # buffered: its lines are read quickly
    return io.BufferedReader(io.FileIO(path, "rb"), buffer_size=1 << 20)


def _header(line: bytes, name: str) -> list[str]:
    try:
        text = line.decode("utf-8-sig").strip()
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{name} n'est pas encodé en UTF-8 (en-tête illisible)") from exc
    names = [c.strip().strip('"') for c in text.split(";")]
    missing = [c for c in _READ if c not in names]
    if missing:
        raise InputFileError(
            f"{name} n'est pas un fichier d'adresses de la BAN (adresses-XX.csv, séparé par "
            f"des « ; ») : colonne(s) absente(s) : {', '.join(missing)}"
        )
    return names


def _blocks(stream: io.BufferedIOBase, size: int) -> Iterator[tuple[int, list[bytes]]]:
    """Blocks of ``size`` lines and the line number (1 = header) of their first line."""
    first = 2
    while lines := list(itertools.islice(stream, size)):
        yield first, lines
        first += len(lines)


def _parse(
    header: bytes, lines: list[bytes], names: list[str], name: str, first_line: int
) -> tuple[pa.Table, list[tuple[str, int]]]:
    """The block as text columns, and the lines with the wrong number of fields."""
    invalid: list[tuple[str, int]] = []

    def skip(row: pacsv.InvalidRow) -> str:
        invalid.append((row.text, row.actual_columns))
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(header + b"".join(lines)),
            read_options=pacsv.ReadOptions(use_threads=True),
            parse_options=pacsv.ParseOptions(delimiter=";", invalid_row_handler=skip),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                include_columns=list(_READ),
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise InputFileError(
            f"{name} illisible après la ligne {first_line - 1} (fichier UTF-8 attendu) : "
            f"{plain_reason(exc)}"
        ) from exc
    return table, invalid


def _line_numbers(
    lines: list[bytes], invalid: list[tuple[str, int]], first_line: int
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Line numbers of the parsed rows, and of the invalid lines with their field count.

    Arrow skips empty lines and hands invalid ones to the handler without their number:
    each invalid text is found again among the block's lines (in order).
    """
    blank = np.fromiter((not line.strip() for line in lines), dtype=bool, count=len(lines))
    skipped = blank.copy()
    found: list[tuple[int, int]] = []
    if invalid:
        texts = [line.rstrip(b"\r\n") for line in lines]
        start = 0
        for text, fields in invalid:
            target = text.encode("utf-8")
            at = next(
                (i for i in range(start, len(texts)) if texts[i] == target and not skipped[i]),
                None,
            )
            if at is None:  # a quoted line break: the text spans lines, number approximate
                found.append((first_line + start, fields))
                continue
            skipped[at] = True
            found.append((first_line + at, fields))
            start = at + 1
    return first_line + np.flatnonzero(~skipped), found


def _rows(
    table: pa.Table, lines: np.ndarray, report: ImportReport, streets: dict[str, str]
) -> tuple[pd.DataFrame, int]:
    """The accepted addresses of one block (refusing the others), and bad postcodes.

    ``lines`` holds the line number of each row of ``table``; ``streets`` the street
    names already normalised (raw → normalised), shared by the blocks of a file.
    """
    frame = table.to_pandas()
    n = len(frame)
    if len(lines) != n:  # quoted line breaks: fall back to positions in the block
        lines = lines[0] + np.arange(n) if len(lines) else np.arange(n)
    report.read += n
    reason = np.full(n, "", dtype=object)
    code = frame["code_insee"].str.strip()
    voie_text = frame["nom_voie"].str.strip()
    numero_text = frame["numero"].str.strip()
    lon = pd.to_numeric(frame["lon"].str.strip(), errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(frame["lat"].str.strip(), errors="coerce").to_numpy(dtype=float)
    placed = np.isfinite(lon) & np.isfinite(lat) & in_france(lon, lat)
    numbered = numero_text.str.fullmatch(_NUMBER).to_numpy(dtype=bool)
    reason[~placed] = "position (lon, lat) manquante, illisible ou hors de France"
    reason[(numero_text != "").to_numpy() & ~numbered] = "numéro illisible"
    reason[(voie_text == "").to_numpy()] = "nom de voie manquant"
    reason[~code.str.fullmatch(_INSEE).to_numpy(dtype=bool)] = "code INSEE manquant ou invalide"
    refused = reason != ""
    for line, why in zip(lines[refused], reason[refused], strict=True):
        report.refuse(int(line), str(why))
    ok = ~refused
    report.accept(int(ok.sum()))
    kept = frame[ok]
    new = [v for v in pd.unique(voie_text[ok]) if v not in streets]
    streets.update({v: normalise_street(v) for v in new})
    postcode = kept["code_postal"].str.strip()
    readable = postcode.str.fullmatch(_POSTCODE)
    rows = pd.DataFrame(
        {
            "numero": _integers(numero_text[ok], numbered[ok]),
            "rep": kept["rep"].str.strip().str.lower().astype(object),
            "voie": voie_text[ok].map(streets).astype(object),
            "code_postal": postcode.where(readable, "").astype(object),
            "code_insee": code[ok].astype(object),
            "lon": np.round(lon[ok], 6),
            "lat": np.round(lat[ok], 6),
            "departement": departement_of(code[ok]).astype(object),
        }
    ).reset_index(drop=True)
    bad = int(((postcode != "") & ~readable).sum())
    return rows, bad


def _integers(text: pd.Series, readable: np.ndarray) -> np.ndarray:
    """The numbers as Python ints, None where there is none (bound as NULL by the store)."""
    out = np.full(len(text), None, dtype=object)
    out[readable] = [int(v) for v in text[readable]]
    return out
