"""Reliability corpus (issue #19): bad and real-world files of every import kind.

Every file is written by code into a temporary folder (no binary fixture), then imported
into a private copy of a workspace. For each one:

1. no traceback: :func:`territory.ingest.import_file` returns a report or raises a
   :class:`territory.TerritoryError`, never another exception (and the CLI, for a
   subset, exits 0, 1 or 2 with one French line and no traceback);
2. no silent loss: ``read == accepted + refused + pending`` and one reason per refusal;
   for the files where each line is one row (``lines_are_rows``: unclosed quotes), ``read``
   is the number of lines;
3. a failed import leaves the workspace's layers, their metadata, its properties (but
   the version counters and write stamps) and its batch log exactly as they were:
   compared, table by table, with a snapshot taken before.

The real extracts of ``../shared/data/real`` are read at run time (a case is skipped,
with the reason, when its file is absent).
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from territory._layout import DATA_VERSION
from tests.conftest import ROOT, SHARED
from tests.samples import density_xlsx, xlsx

TODAY = date(2026, 10, 31)  # the demo contacts end on 31 October 2026
# Settings override: contacts and the GTFS reference day are judged on the demo's date.
OPTIONS = {"today": TODAY, "geocode": False}

# --------------------------------------------------------------------------- sources


@dataclasses.dataclass(frozen=True)
class Sources:
    """The demo territory's valid source files, the raw material of the corpus."""

    folder: Path

    def text(self, name: str) -> str:
        """A file's text."""
        return (self.folder / name).read_bytes().decode("utf-8-sig")

    def rows(self, name: str) -> list[list[str]]:
        """A ``;`` CSV file's rows."""
        return list(csv.reader(io.StringIO(self.text(name)), delimiter=";"))

    def geojson(self, name: str) -> dict[str, Any]:
        """A GeoJSON file, parsed."""
        return json.loads(self.text(name))


def csv_text(rows: list[list[str]], sep: str = ";", newline: str = "\n") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator=newline)
    writer.writerows(rows)
    return buffer.getvalue()


def png() -> bytes:
    """A real 1×1 PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )


def feature_collection(features: list[dict[str, Any]]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features})


BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[2.70, 46.40], [2.76, 46.46], [2.76, 46.40], [2.70, 46.46], [2.70, 46.40]]],
}
EMPTY_POLYGON = {"type": "Polygon", "coordinates": []}


def with_geometry(features: list[dict[str, Any]], geometry: Any, n: int) -> list[dict[str, Any]]:
    """The features, the first ``n`` of them given ``geometry``."""
    out = json.loads(json.dumps(features))
    for feature in out[:n]:
        feature["geometry"] = geometry
    return out


def lambert93(collection: dict[str, Any]) -> str:
    """The features with their coordinates in Lambert-93, the file still saying WGS84."""
    from pyproj import Transformer

    to_l93 = Transformer.from_crs(4326, 2154, always_xy=True)

    def move(coords: Any) -> Any:
        if coords and isinstance(coords[0], int | float):
            return list(to_l93.transform(coords[0], coords[1]))
        return [move(c) for c in coords]

    out = json.loads(json.dumps(collection))
    for feature in out["features"]:
        feature["geometry"]["coordinates"] = move(feature["geometry"]["coordinates"])
    out.pop("crs", None)
    return json.dumps(out)


def zip_bytes(files: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def gtfs_files(src: Sources) -> dict[str, bytes]:
    with zipfile.ZipFile(src.folder / "gtfs.zip") as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def shared(name: str) -> Path:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"../shared/data/real/{name} absent : extraits réels non disponibles")
    return path


# ------------------------------------------------------------------------ the corpus

Build = Callable[[Sources, Path], Path]


@dataclasses.dataclass(frozen=True)
class Case:
    """One file of the corpus: its kind, how to write it, the workspace it goes into."""

    name: str
    kind: str
    build: Build
    workspace: str = "demo"  # "demo" (a copy), "calvados" (real communes), "empty"
    cli: bool = False  # also imported through the command line
    lines_are_rows: bool = False  # every non-blank line after the header is one row to read


CORPUS: list[Case] = []


def case(
    kind: str,
    filename: str,
    *,
    workspace: str = "demo",
    cli: bool = False,
    lines_are_rows: bool = False,
) -> Callable[[Callable[[Sources], bytes | str]], None]:
    """Register the function returning the file's bytes (str: UTF-8) as a corpus case."""

    def register(content: Callable[[Sources], bytes | str]) -> None:
        def build(src: Sources, folder: Path) -> Path:
            data = content(src)
            path = folder / filename
            path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
            return path

        name = f"{kind}:{content.__name__.removeprefix('_')}"
        CORPUS.append(Case(name, kind, build, workspace, cli, lines_are_rows))

    return register


def real(kind: str, name: str, *, workspace: str = "calvados", cli: bool = False) -> None:
    """A real extract of ../shared, read where it is."""

    def build(src: Sources, folder: Path) -> Path:
        return shared(name)

    CORPUS.append(Case(f"{kind}:real {name}", kind, build, workspace, cli))


# --- communes (GeoJSON) ----------------------------------------------------------------


@case("communes", "communes.geojson")
def _valid(src: Sources) -> str:
    return src.text("communes.geojson")


@case("communes", "communes.geojson", cli=True)
def _empty_file(src: Sources) -> bytes:
    return b""


@case("communes", "communes.geojson")
def _no_feature(src: Sources) -> str:
    return feature_collection([])


@case("communes", "communes.geojson")
def _cut_mid_feature(src: Sources) -> bytes:
    data = (src.folder / "communes.geojson").read_bytes()
    return data[: len(data) // 2]


@case("communes", "communes.csv")
def _csv_given(src: Sources) -> str:
    return src.text("densite.csv")


@case("communes", "communes.geojson")
def _png_renamed(src: Sources) -> bytes:
    return png()


@case("communes", "communes.geojson")
def _self_intersecting(src: Sources) -> str:
    return feature_collection(with_geometry(src.geojson("communes.geojson")["features"], BOWTIE, 3))


@case("communes", "communes.geojson")
def _empty_geometries(src: Sources) -> str:
    features = src.geojson("communes.geojson")["features"]
    return feature_collection(with_geometry(features, EMPTY_POLYGON, 2))


@case("communes", "communes.geojson")
def _null_geometries(src: Sources) -> str:
    return feature_collection(with_geometry(src.geojson("communes.geojson")["features"], None, 2))


@case("communes", "communes.geojson")
def _all_null_geometries(src: Sources) -> str:
    features = src.geojson("communes.geojson")["features"]
    return feature_collection(with_geometry(features, None, len(features)))


@case("communes", "communes.geojson")
def _lambert93_as_wgs84(src: Sources) -> str:
    return lambert93(src.geojson("communes.geojson"))


@case("communes", "communes.geojson")
def _duplicate_codes(src: Sources) -> str:
    features = src.geojson("communes.geojson")["features"]
    return feature_collection(features + features[:3])


@case("communes", "communes.geojson")
def _utf16_bom(src: Sources) -> bytes:
    return src.text("communes.geojson").encode("utf-16")


@case("communes", "communes.geojson")
def _latin1_accents(src: Sources) -> bytes:
    return src.text("communes.geojson").replace("Ardoise", "Ardoisé").encode("latin-1")


@case("communes", "communes.geojson")
def _no_code(src: Sources) -> str:
    features = src.geojson("communes.geojson")["features"]
    for feature in features:
        feature["properties"].pop("code")
    return feature_collection(features)


real("communes", "communes-14-calvados.geojson", workspace="empty")

# --- communes-table (COG) ----------------------------------------------------------------

COG_HEADER = [
    "code",
    "nom",
    "departement",
    "region",
    "population",
    "siren",
    "codeEpci",
    "nomEpci",
    "typeEpci",
    "anciensCodes",
]


def cog_rows(src: Sources) -> list[list[str]]:
    return [COG_HEADER] + [
        [
            f["properties"]["code"],
            f["properties"]["nom"],
            "00",
            "00",
            str(f["properties"]["population"]),
            "",
            f["properties"]["codeEpci"],
            "CC de l'Ardoise",
            "CC",
            "",
        ]
        for f in src.geojson("communes.geojson")["features"]
    ]


@case("communes-table", "cog.csv", cli=True)
def _comma_utf8(src: Sources) -> str:
    return csv_text(cog_rows(src), ",")


@case("communes-table", "cog.csv")
def _semicolon_cp1252(src: Sources) -> bytes:
    return csv_text(cog_rows(src), ";").replace("Ardoise", "Ardoisé").encode("cp1252")


@case("communes-table", "cog.csv")
def _tab(src: Sources) -> str:
    return csv_text(cog_rows(src), "\t")


@case("communes-table", "cog.csv")
def _pipe(src: Sources) -> str:
    return csv_text(cog_rows(src), "|")


@case(
    "communes-table",
    "cog.csv",
)
def _header_only(src: Sources) -> str:
    return csv_text(cog_rows(src)[:1], ",")


@case("communes-table", "cog.csv")
def _empty_file(src: Sources) -> bytes:
    return b""


@case("communes-table", "cog.csv")
def _duplicate_codes(src: Sources) -> str:
    rows = cog_rows(src)
    return csv_text(rows + rows[1:4], ",")


@case("communes-table", "cog.csv")
def _excel_french_headers(src: Sources) -> bytes:
    rows = cog_rows(src)
    rows[0] = [
        "Code commune",
        "Libellé commune",
        "Département",
        "Région",
        "Population municipale",
        "SIREN",
        "Code EPCI",
        "Libellé EPCI",
        "Nature EPCI",
        "Anciens codes",
    ]
    return csv_text(rows, ";", "\r\n").encode("cp1252", errors="replace")


@case("communes-table", "cog.csv")
def _png_renamed(src: Sources) -> bytes:
    return png()


real("communes-table", "communes_cog2026_pop_epci.csv")

# --- density ----------------------------------------------------------------------------


@case("density", "densite.csv")
def _valid(src: Sources) -> str:
    return src.text("densite.csv")


@case("density", "densite.csv")
def _cp1252(src: Sources) -> bytes:
    return src.text("densite.csv").encode("cp1252")


@case("density", "densite.csv")
def _utf16_bom(src: Sources) -> bytes:
    return src.text("densite.csv").encode("utf-16")


@case(
    "density",
    "densite.csv",
)
def _utf16le_no_bom(src: Sources) -> bytes:
    return src.text("densite.csv").encode("utf-16-le")


@case("density", "densite.csv")
def _comma_bom_crlf(src: Sources) -> bytes:
    return csv_text(src.rows("densite.csv"), ",", "\r\n").encode("utf-8-sig")


@case(
    "density",
    "densite.csv",
)
def _header_only(src: Sources) -> str:
    return src.text("densite.csv").splitlines()[0] + "\n"


@case("density", "densite.csv")
def _cut_mid_row(src: Sources) -> str:
    text = src.text("densite.csv")
    return text[: len(text) // 2]


@case("density", "densite.csv")
def _level_out_of_range(src: Sources) -> str:
    rows = src.rows("densite.csv")
    rows[1][2], rows[2][2] = "9", "abc"
    return csv_text(rows)


@case("density", "densite.geojson")
def _geojson_given(src: Sources) -> str:
    return src.text("qpv.geojson")


@case("density", "grille.xlsx")
def _insee_workbook(src: Sources) -> bytes:
    return density_xlsx()


real("density", "grille_densite_7_niveaux_communes.csv")

# --- qpv ----------------------------------------------------------------------------------


@case("qpv", "qpv.geojson", cli=True)
def _valid(src: Sources) -> str:
    return src.text("qpv.geojson")


@case("qpv", "qpv.geojson")
def _empty_file(src: Sources) -> bytes:
    return b""


@case("qpv", "qpv.geojson")
def _cut_mid_file(src: Sources) -> str:
    text = src.text("qpv.geojson")
    return text[: len(text) * 2 // 3]


@case("qpv", "qpv.geojson")
def _null_geometry(src: Sources) -> str:
    return feature_collection(with_geometry(src.geojson("qpv.geojson")["features"], None, 1))


@case("qpv", "qpv.geojson")
def _self_intersecting(src: Sources) -> str:
    return feature_collection(with_geometry(src.geojson("qpv.geojson")["features"], BOWTIE, 2))


@case("qpv", "qpv.geojson")
def _empty_geometries(src: Sources) -> str:
    features = src.geojson("qpv.geojson")["features"]
    return feature_collection(with_geometry(features, EMPTY_POLYGON, len(features)))


@case("qpv", "qpv.geojson")
def _duplicate_codes(src: Sources) -> str:
    features = src.geojson("qpv.geojson")["features"]
    return feature_collection(features + features)


@case("qpv", "qpv.geojson")
def _lambert93_as_wgs84(src: Sources) -> str:
    return lambert93(src.geojson("qpv.geojson"))


@case("qpv", "qpv.geojson")
def _outside_territory(src: Sources) -> str:
    features = src.geojson("qpv.geojson")["features"]
    far = {
        "type": "Polygon",
        "coordinates": [[[5.0, 43.0], [5.01, 43.0], [5.01, 43.01], [5.0, 43.0]]],
    }
    return feature_collection(with_geometry(features, far, len(features)))


real("qpv", "qpv_2024_with_codes_wgs84.geojson", cli=True)

# --- partners -----------------------------------------------------------------------------


@case("partners", "partenaires.csv")
def _valid(src: Sources) -> str:
    return src.text("partenaires.csv")


@case("partners", "partenaires.csv", cli=True)
def _french_free_text_hours(src: Sources) -> str:
    rows = list(csv.reader(io.StringIO(src.text("partenaires.csv")), delimiter=";"))
    column = next((i for i, c in enumerate(rows[0]) if "horaires" in c.lower()), None)
    if column is None:  # the sample has no hours: add the column
        rows = [[*r, "horaires"] for r in rows[:1]] + [[*r, ""] for r in rows[1:]]
        column = len(rows[0]) - 1
    spellings = ["du lundi au vendredi de 9h à 12h et de 14h à 17h", "sur rendez-vous",
                 "lun.-ven. 8h30-12h / 13h30-17h ; fermé les jours fériés", "9h-12h"]  # fmt: skip
    for i, row in enumerate(rows[1:]):
        row[column] = spellings[i % len(spellings)]
    return csv_text(rows)


@case("partners", "partenaires.csv")
def _cp1252(src: Sources) -> bytes:
    return src.text("partenaires.csv").encode("cp1252", errors="replace")


@case("partners", "partenaires.csv")
def _latin1(src: Sources) -> bytes:
    return src.text("partenaires.csv").encode("latin-1", errors="replace")


@case("partners", "partenaires.csv")
def _utf16_bom(src: Sources) -> bytes:
    return src.text("partenaires.csv").encode("utf-16")


@case("partners", "partenaires.csv")
def _tab(src: Sources) -> str:
    return csv_text(src.rows("partenaires.csv"), "\t")


@case("partners", "partenaires.csv")
def _comma_quoted(src: Sources) -> str:
    return csv_text(src.rows("partenaires.csv"), ",")


@case("partners", "partenaires.csv")
def _pipe(src: Sources) -> str:
    return csv_text(src.rows("partenaires.csv"), "|")


@case("partners", "partenaires.csv")
def _quoted_newlines(src: Sources) -> str:
    rows = src.rows("partenaires.csv")
    for row in rows[1:6]:
        row[2] = row[2] + "\nBâtiment B\r\n2e étage"
    return csv_text(rows)


@case("partners", "partenaires.csv")
def _bom_crlf(src: Sources) -> bytes:
    return csv_text(src.rows("partenaires.csv"), ";", "\r\n").encode("utf-8-sig")


@case("partners", "partenaires.csv")
def _header_only(src: Sources) -> str:
    return src.text("partenaires.csv").splitlines()[0] + "\n"


@case("partners", "partenaires.csv")
def _duplicate_rows(src: Sources) -> str:
    rows = src.rows("partenaires.csv")
    return csv_text(rows + rows[1:5])


@case("partners", "partenaires.csv")
def _excel_french_headers(src: Sources) -> bytes:
    rows = src.rows("partenaires.csv")
    rows[0] = [
        "Nom de la structure",
        "Typologie",
        "Adresse postale",
        "Code postal",
        "Commune",
        "Code INSEE",
        "Latitude",
        "Longitude",
        "Horaires d'accueil",
        "Téléphone",
    ]
    return csv_text(rows, ";", "\r\n").encode("cp1252", errors="replace")


@case("partners", "partenaires.csv", cli=True, lines_are_rows=True)
def _unclosed_quote(src: Sources) -> str:
    lines = src.text("partenaires.csv").splitlines()
    lines[2] = '"' + lines[2]
    lines[-2] = lines[-2] + ';"dernier"'
    return "\n".join(lines) + "\n"


@case("partners", "partenaires.csv")
def _png_renamed(src: Sources) -> bytes:
    return png()


@case("partners", "partenaires.csv")
def _cut_mid_row(src: Sources) -> str:
    text = src.text("partenaires.csv")
    return text[: len(text) // 2 + 7]


real("partners", "france_services_20240801.geojson")

# --- gtfs -----------------------------------------------------------------------------------


@case("gtfs", "gtfs.zip")
def _valid(src: Sources) -> bytes:
    return (src.folder / "gtfs.zip").read_bytes()


@case("gtfs", "gtfs.zip", cli=True)
def _cut_mid_zip(src: Sources) -> bytes:
    data = (src.folder / "gtfs.zip").read_bytes()
    return data[: len(data) // 2]


@case("gtfs", "gtfs.zip", cli=True)
def _zip_without_gtfs(src: Sources) -> bytes:
    return zip_bytes({"LISEZMOI.txt": "flux en cours de publication\n", "carte.png": png()})


@case("gtfs", "gtfs.zip")
def _empty_file(src: Sources) -> bytes:
    return b""


@case("gtfs", "gtfs.zip")
def _no_stop_times(src: Sources) -> bytes:
    files = gtfs_files(src)
    files.pop("stop_times.txt")
    return zip_bytes(files)


@case("gtfs", "gtfs.zip")
def _no_stops(src: Sources) -> bytes:
    files = gtfs_files(src)
    files.pop("stops.txt")
    return zip_bytes(files)


@case("gtfs", "gtfs.zip")
def _nested_folder(src: Sources) -> bytes:
    return zip_bytes({f"export/{name}": data for name, data in gtfs_files(src).items()})


def stops_as(src: Sources, encode: Callable[[str], bytes]) -> bytes:
    files = gtfs_files(src)
    text = files["stops.txt"].decode("utf-8-sig").replace("Gare", "Gare – Hôtel de Ville")
    files["stops.txt"] = encode(text)
    return zip_bytes(files)


@case("gtfs", "gtfs.zip")
def _stops_bom_crlf(src: Sources) -> bytes:
    return stops_as(src, lambda t: t.replace("\n", "\r\n").encode("utf-8-sig"))


@case("gtfs", "gtfs.zip")
def _stops_cp1252(src: Sources) -> bytes:
    return stops_as(src, lambda t: t.encode("cp1252", errors="replace"))


@case("gtfs", "gtfs.zip")
def _stops_utf16(src: Sources) -> bytes:
    return stops_as(src, lambda t: t.encode("utf-16"))


@case(
    "gtfs",
    "gtfs.zip",
)
def _stops_bom_then_cp1252(src: Sources) -> bytes:
    return stops_as(src, lambda t: "\ufeff".encode() + t.encode("cp1252", errors="replace"))


@case("gtfs", "gtfs.zip")
def _calendar_expired(src: Sources) -> bytes:
    files = gtfs_files(src)
    files["calendar.txt"] = (
        files["calendar.txt"].replace(b"2027", b"2019").replace(b"2025", b"2018")
    )
    files.pop("calendar_dates.txt")
    return zip_bytes(files)


@case(
    "gtfs",
    "gtfs.zip",
)
def _stops_header_only(src: Sources) -> bytes:
    files = gtfs_files(src)
    files["stops.txt"] = files["stops.txt"].splitlines()[0] + b"\n"
    return zip_bytes(files)


@case("gtfs", "gtfs.zip")
def _geojson_given(src: Sources) -> str:
    return src.text("communes.geojson")


def _real_gtfs(src: Sources, folder: Path) -> Path:
    """The CTS feed (Strasbourg; no stop_times.txt in the extract), zipped here."""
    feed = shared("gtfs_cts_strasbourg_67")
    path = folder / "cts.zip"
    path.write_bytes(zip_bytes({p.name: p.read_bytes() for p in sorted(feed.iterdir())}))
    return path


CORPUS.append(Case("gtfs:real gtfs_cts_strasbourg_67 (zipped)", "gtfs", _real_gtfs, "calvados"))

# --- contacts -------------------------------------------------------------------------------


def contact_rows(src: Sources, n: int = 400) -> list[list[str]]:
    return src.rows("contacts.csv")[: n + 1]


@case("contacts", "contacts.csv", cli=True)
def _valid(src: Sources) -> str:
    return csv_text(contact_rows(src))


@case("contacts", "contacts.csv")
def _cp1252(src: Sources) -> bytes:
    rows = contact_rows(src)
    for row in rows[1:]:
        row[-1] = "près du marché, à revoir"
    return csv_text(rows).encode("cp1252")


@case("contacts", "contacts.csv")
def _latin1_accents(src: Sources) -> bytes:
    rows = contact_rows(src)
    rows[0][3] = "Catégorie"
    for row in rows[1:]:
        row[-1] = "rencontré à l'arrêt « Église »".replace("«", '"').replace("»", '"')
    return csv_text(rows).encode("latin-1")


@case("contacts", "export_si.csv", cli=True)
def _title_lines_above_the_header(src: Sources) -> bytes:
    titles = "Extraction du SI Mission locale du 01/12/2026;;\n\nTerritoire : démo\n"
    return (titles + csv_text(contact_rows(src))).encode("cp1252", errors="replace")


@case("contacts", "export_si.xlsx")
def _title_rows_above_a_sheet_header(src: Sources) -> bytes:
    titles: list[list[str]] = [["Extraction du SI du 01/12/2026"], [], ["Territoire : démo"]]
    return xlsx({"Notes": [["à relire"]], "Export": [*titles, *contact_rows(src)]})


@case("contacts", "contacts.csv")
def _utf16_bom(src: Sources) -> bytes:
    return csv_text(contact_rows(src)).encode("utf-16")


@case("contacts", "contacts.csv")
def _utf16le_no_bom(src: Sources) -> bytes:
    return csv_text(contact_rows(src)).encode("utf-16-le")


@case("contacts", "contacts.csv")
def _bom_crlf(src: Sources) -> bytes:
    return csv_text(contact_rows(src), ";", "\r\n").encode("utf-8-sig")


@case("contacts", "contacts.csv")
def _tab(src: Sources) -> str:
    return csv_text(contact_rows(src), "\t")


@case("contacts", "contacts.csv")
def _comma(src: Sources) -> str:
    return csv_text(contact_rows(src), ",")


@case("contacts", "contacts.csv")
def _pipe(src: Sources) -> str:
    return csv_text(contact_rows(src), "|")


@case("contacts", "contacts.csv")
def _future_and_too_old(src: Sources) -> str:
    rows = contact_rows(src, 40)
    for i, row in enumerate(rows[1:]):
        row[0] = ("15/03/2031 10:00", "02/01/1998 09:00", "01/01/2019")[i % 3]
    return csv_text(rows)


@case("contacts", "contacts.csv")
def _quoted_newlines(src: Sources) -> str:
    rows = contact_rows(src, 100)
    for row in rows[1::3]:
        row[-1] = 'vu deux fois ;\nrevenir "jeudi"\r\navec l\'éduc'
    return csv_text(rows)


@case("contacts", "contacts.csv")
def _header_only(src: Sources) -> str:
    return csv_text(contact_rows(src, 0))


@case("contacts", "contacts.csv")
def _empty_file(src: Sources) -> bytes:
    return b""


@case("contacts", "contacts.csv")
def _blank_lines_only(src: Sources) -> str:
    return "\n\n \r\n;;;\n"


@case("contacts", "contacts.geojson")
def _geojson_given(src: Sources) -> str:
    return src.text("qpv.geojson")


@case("contacts", "contacts.csv", cli=True)
def _png_renamed(src: Sources) -> bytes:
    return png()


@case("contacts", "contacts.csv")
def _cut_mid_row(src: Sources) -> str:
    text = csv_text(contact_rows(src))
    return text[: len(text) // 2 + 5]


@case("contacts", "contacts.csv")
def _excel_french_headers(src: Sources) -> bytes:
    rows = contact_rows(src)
    rows[0] = [
        "Date du contact",
        "Longitude",
        "Latitude",
        "Statut",
        "Tranche d'âge",
        "Sexe",
        "Partenaire orienté",
        "Identifiant personne",
        "Commentaire",
    ]
    return csv_text(rows, ";", "\r\n").encode("cp1252")


@case("contacts", "contacts.csv")
def _duplicate_rows(src: Sources) -> str:
    rows = contact_rows(src, 100)
    return csv_text(rows + rows[1:])


@case("contacts", "contacts.csv")
def _bad_values(src: Sources) -> str:
    rows = contact_rows(src, 60)
    for i, row in enumerate(rows[1:]):
        j = i % 6
        if j == 0:
            row[0] = "31/02/2026 14:00"
        elif j == 1:
            row[1], row[2] = "abc", "46,4"
        elif j == 2:
            row[3] = "statut inventé"
        elif j == 3:
            row[4] = "200 ans"
        elif j == 4:
            row[1], row[2] = row[2], row[1]
    return csv_text(rows)


@case("contacts", "contacts.csv", cli=True, lines_are_rows=True)
def _unclosed_quote(src: Sources) -> str:
    """A cell opened with a quote never closed, and a well-quoted cell further down."""
    lines = csv_text(contact_rows(src, 200)).splitlines()
    lines[7] = lines[7].replace(";", ';"Centre social ', 1)
    lines[150] = lines[150] + ';"vu au ""city stade"""'
    return "\n".join(lines) + "\n"


@case("contacts", "contacts.csv", lines_are_rows=True)
def _unclosed_quote_at_end(src: Sources) -> bytes:
    lines = csv_text(contact_rows(src, 50)).splitlines()
    lines[-1] = lines[-1] + ';"à revoir'
    return ("\r\n".join(lines) + "\r\n").encode("utf-16")


@case("contacts", "contacts.csv")
def _wrong_kind_partners(src: Sources) -> str:
    return src.text("partenaires.csv")


def _many_contacts(src: Sources, folder: Path) -> Path:
    """300 000 contacts in the demo territory's box, generated with numpy."""
    n = 300_000
    rng = np.random.default_rng(19)
    days = pd.Timestamp("2025-11-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    minutes = pd.to_timedelta(rng.integers(8 * 60, 22 * 60, n), unit="min")
    stamp = pd.Series(days + minutes).dt.strftime("%d/%m/%Y %H:%M")
    lon = rng.uniform(2.45, 2.95, n).round(6).astype(str)
    lat = rng.uniform(46.25, 46.60, n).round(6).astype(str)
    statuses = np.array(["premier contact", "contact répété", "suivi", "hors radars"])
    frame = pd.DataFrame(
        {
            "date_contact": stamp,
            "longitude": np.char.replace(lon, ".", ","),
            "latitude": np.char.replace(lat, ".", ","),
            "statut": statuses[rng.integers(0, 4, n)],
            "tranche_age": np.array(["16-17", "18-21", "22-25", "26-29"])[rng.integers(0, 4, n)],
            "sexe": np.array(["F", "H"])[rng.integers(0, 2, n)],
            "id_personne": np.char.add("P", rng.integers(0, 40_000, n).astype(str)),
        }
    )
    path = folder / "contacts-300k.csv"
    frame.to_csv(path, sep=";", index=False, encoding="utf-8")
    return path


CORPUS.append(Case("contacts:300 000 rows", "contacts", _many_contacts))

# --- places ---------------------------------------------------------------------------------


def place_rows(src: Sources) -> list[list[str]]:
    from shapely.geometry import shape

    rows = [["nom", "type", "longitude", "latitude", "horaires", "duree"]]
    for i, feature in enumerate(src.geojson("communes.geojson")["features"][:10]):
        point = shape(feature["geometry"]).representative_point()
        kind = ("parc", "gare", "marché")[i % 3]
        rows.append(
            [
                f"Lieu {i} – {kind}",
                kind,
                f"{point.x:.6f}",
                f"{point.y:.6f}",
                "Mo-Fr 10:00-18:00",
                "45",
            ]
        )
    return rows


@case("places", "lieux.csv", cli=True)
def _valid(src: Sources) -> str:
    return csv_text(place_rows(src))


@case("places", "lieux.csv")
def _cp1252_comma_decimal(src: Sources) -> bytes:
    rows = place_rows(src)
    for row in rows[1:]:
        row[2], row[3] = row[2].replace(".", ","), row[3].replace(".", ",")
    return csv_text(rows).encode("cp1252")


@case("places", "lieux.csv")
def _bad_values(src: Sources) -> str:
    rows = place_rows(src)
    rows[1][1] = "soucoupe volante"  # unknown type
    rows[2][2], rows[2][3] = "5.0", "43.0"  # outside every commune
    rows[3][2] = ""  # no position
    rows[4][4] = "n'importe quand"  # unreadable hours
    rows[5][5] = "-3"  # negative duration
    rows[6][2], rows[6][3] = "700000", "6600000"  # Lambert-93 given as degrees
    return csv_text(rows)


@case("places", "lieux.csv")
def _header_only(src: Sources) -> str:
    return csv_text(place_rows(src)[:1])


@case("places", "lieux.csv")
def _no_coordinates_columns(src: Sources) -> str:
    return csv_text([row[:2] for row in place_rows(src)])


@case("places", "lieux.geojson")
def _geojson_points(src: Sources) -> str:
    features = [
        {
            "type": "Feature",
            "properties": {"nom": row[0], "type": row[1]},
            "geometry": {"type": "Point", "coordinates": [float(row[2]), float(row[3])]},
        }
        for row in place_rows(src)[1:]
    ]
    features.append(
        {"type": "Feature", "properties": {"nom": "Sans lieu", "type": "parc"}, "geometry": None}
    )
    return feature_collection(features)


@case("places", "lieux.csv")
def _empty_file(src: Sources) -> bytes:
    return b""


@case("places", "lieux.csv")
def _duplicate_rows(src: Sources) -> str:
    rows = place_rows(src)
    return csv_text(rows + rows[1:])


# --- ban ---------------------------------------------------------------------------------------


def ban_text() -> str:
    from tests.ban_sample import ban_csv

    return ban_csv()


@case("ban", "adresses-14.csv.gz", cli=True)
def _valid_gzip(src: Sources) -> bytes:
    return gzip.compress(ban_text().encode())


@case("ban", "adresses-14.csv.gz", cli=True)
def _cut_mid_gzip(src: Sources) -> bytes:
    data = gzip.compress((ban_text() * 50).encode())
    return data[: len(data) // 2]


@case("ban", "adresses-14.csv.gz")
def _not_gzip(src: Sources) -> str:
    return ban_text()


@case("ban", "adresses-14.csv")
def _plain_latin1_crlf(src: Sources) -> bytes:
    return ban_text().replace("\n", "\r\n").encode("latin-1")


@case("ban", "adresses-14.csv.gz")
def _header_only(src: Sources) -> bytes:
    return gzip.compress((ban_text().splitlines()[0] + "\n").encode())


@case("ban", "adresses-14.csv.gz")
def _empty_gzip(src: Sources) -> bytes:
    return gzip.compress(b"")


@case("ban", "adresses-14.csv")
def _empty_file(src: Sources) -> bytes:
    return b""


@case("ban", "adresses-14.csv.gz")
def _png_renamed(src: Sources) -> bytes:
    return png()


@case("ban", "adresses-14.csv.gz")
def _bad_rows(src: Sources) -> bytes:
    lines = ban_text().splitlines()
    fields = lines[1].split(";")
    broken = [
        ";".join(fields[:5]),  # a short row
        lines[1].replace("-0.3632", "abc"),  # no longitude
        lines[2].replace("14118", "99999"),  # unknown département
    ]
    return gzip.compress("\n".join([*lines, *broken]).encode())


@case("ban", "adresses-14.csv.gz")
def _contacts_given(src: Sources) -> bytes:
    return gzip.compress(src.text("contacts.csv").encode())


# --- population (INSEE census by IRIS / commune) -------------------------------------------


def _census(src: Sources) -> list[str]:
    """An IRIS file in INSEE's layout for the demo communes (codes of densite.csv)."""
    codes = [row[0] for row in src.rows("densite.csv")[1:]]
    return ["IRIS;COM;P21_POP;P21_POP1529"] + [
        f"{code}0000;{code};{1000 + i};{150 + i},5" for i, code in enumerate(codes)
    ]


@case("population", "base-ic-evol-struct-pop-2021.csv", cli=True)
def _valid(src: Sources) -> str:
    return "\n".join(_census(src))


@case("population", "base-ic-evol-struct-pop-2021.csv")
def _header_only(src: Sources) -> str:
    return _census(src)[0]


@case("population", "base-ic-evol-struct-pop-2021.csv")
def _not_a_number_anywhere(src: Sources) -> str:
    lines = _census(src)
    return "\n".join([lines[0], *(line.rsplit(";", 1)[0] + ";s" for line in lines[1:])])


@case("population", "base-ic-evol-struct-pop-2021.csv", cli=True)
def _density_given(src: Sources) -> str:
    return src.text("densite.csv")


@case("population", "base-ic-evol-struct-pop-2021.csv", lines_are_rows=True)
def _unclosed_quote(src: Sources) -> str:
    lines = _census(src)
    return "\n".join([lines[0], '"' + lines[1], *lines[2:]])


@case("population", "base-ic-evol-struct-pop-2021.xlsx")
def _png_renamed(src: Sources) -> bytes:
    return png()


# --- filosofi (INSEE 200 m cells) ------------------------------------------------------------

_CELLS = "Idcar_200m;I_est_200;Ind;Men;Men_pauv;Ind_18_24"


@case("filosofi", "Filosofi2017_carreaux_200m_met.csv", workspace="empty", cli=True)
def _valid(src: Sources) -> str:
    rows = [f"CRS3035RES200mN28900{n}00E3775{e}00;0;{10 + n};4;1;2" for n in (0, 2) for e in (4, 6)]
    return "\n".join([_CELLS, *rows, "CRS3035RES200mN2890000E3775400;0;9;4;1;2", "x;0;1;1;1;1"])


@case("filosofi", "Filosofi2017_carreaux_200m_met.csv")
def _outside_the_communes(src: Sources) -> str:
    return "\n".join([_CELLS, "CRS3035RES200mN1000000E1000000;0;10;4;1;2"])


@case("filosofi", "Filosofi2017_carreaux_200m_met.csv")
def _partners_given(src: Sources) -> str:
    return src.text("partenaires.csv")


@case("filosofi", "Filosofi2017_carreaux_200m_met.gpkg")
def _png_renamed(src: Sources) -> bytes:
    return png()


real("filosofi", "filosofi2017_200m_mel_derived_lb93.gpkg")  # outside Calvados: refused whole

assert len(CORPUS) >= 60, len(CORPUS)
assert len({c.name for c in CORPUS}) == len(CORPUS)

# ----------------------------------------------------------------------------- workspaces


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Sources:
    from territory.demo.sources import write_demo_sources

    folder = tmp_path_factory.mktemp("corpus-sources")
    write_demo_sources(folder)
    return Sources(folder)


@pytest.fixture(scope="module")
def calvados(tmp_path_factory: pytest.TempPathFactory, settings: Any) -> Path:
    """A fresh workspace of the real Calvados communes (skipped when the file is absent)."""
    from territory.ingest import import_file
    from territory.store import Workspace

    communes = SHARED / "communes-14-calvados.geojson"
    if not communes.exists():
        pytest.skip("../shared/data/real/communes-14-calvados.geojson absent")
    path = tmp_path_factory.mktemp("calvados") / "calvados.gpkg"
    ws = Workspace.create(path, name="Calvados")
    import_file(ws, "communes", communes, settings=settings)
    return path


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from territory.store import Workspace

    path = tmp_path_factory.mktemp("empty") / "empty.gpkg"
    Workspace.create(path, name="Vide")
    return path


_BASE_SNAPSHOTS: dict[Path, dict[str, Any]] = {}


def workspace_for(
    c: Case, request: pytest.FixtureRequest, folder: Path
) -> tuple[Path, dict[str, Any]]:
    """A private copy of the case's workspace, and its snapshot (taken once per original)."""
    base = {"demo": "demo_workspace", "calvados": "calvados", "empty": "empty"}[c.workspace]
    original = Path(request.getfixturevalue(base))
    path = folder / "ws.gpkg"
    shutil.copyfile(original, path)
    if original not in _BASE_SNAPSHOTS:
        _BASE_SNAPSHOTS[original] = snapshot(original)
    return path, _BASE_SNAPSHOTS[original]


def as_text(column: pd.Series) -> pd.Series:
    """A column as text (blobs, such as geometries, in hexadecimal), to hash it."""
    if column.dtype != object:
        return column.astype(str)
    return column.map(lambda v: v.hex() if isinstance(v, bytes) else str(v))


def snapshot(path: Path) -> dict[str, Any]:
    """Everything a failed import must leave as it was, read back from the file."""
    from territory.store import Workspace

    ws = Workspace.open(path)
    state: dict[str, Any] = {}
    for name, info in ws.layers().items():
        frame = ws.read_table(name)
        frame = frame.reindex(sorted(frame.columns), axis=1).apply(as_text)
        hashes = np.sort(pd.util.hash_pandas_object(frame, index=False).to_numpy())
        meta = dataclasses.asdict(info)
        meta.pop("updated")
        state[f"layer {name}"] = (len(frame), hashlib.sha256(hashes.tobytes()).hexdigest(), meta)
    properties = ws.query("SELECT key, value FROM territory_workspace")
    state["properties"] = sorted(
        (k, v)
        for k, v in zip(properties["key"], properties["value"], strict=True)
        if k not in {"version", DATA_VERSION} and not k.startswith("written:")
    )
    tables = set(ws.query("SELECT name FROM sqlite_master WHERE type = 'table'")["name"])
    state["batches"] = (
        ws.query("SELECT * FROM territory_batches ORDER BY id").to_dict("records")
        if "territory_batches" in tables
        else []
    )
    return state


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    keys = sorted(set(before) | set(after))
    return [k for k in keys if before.get(k) != after.get(k)]


# --------------------------------------------------------------------------------- tests

RESULTS: dict[str, str] = {}  # case name → "accepted" / "refused" (error) / "traceback"


def params() -> Iterator[Any]:
    for c in CORPUS:
        yield pytest.param(c, id=c.name)


@pytest.mark.parametrize("c", list(params()))
def test_file_is_reported_or_refused_cleanly(
    c: Case, sources: Sources, request: pytest.FixtureRequest, tmp_path: Path, settings: Any
) -> None:
    from territory import TerritoryError
    from territory.ingest import import_file
    from territory.store import Workspace

    path = c.build(sources, tmp_path)
    ws_path, before = workspace_for(c, request, tmp_path)
    try:
        report = import_file(Workspace.open(ws_path), c.kind, path, settings=settings, **OPTIONS)
    except TerritoryError as exc:
        RESULTS[c.name] = "refused"
        message = str(exc)
        assert message.strip(), "an error without its message"
        assert "\n" not in message.strip(), f"a message of several lines: {message!r}"
        changed = differences(before, snapshot(ws_path))
        assert not changed, f"failed import changed the workspace: {changed}"
        return
    except Exception as exc:  # a traceback: the finding
        RESULTS[c.name] = "traceback"
        raise AssertionError(f"traceback: {type(exc).__name__}: {exc}") from exc
    RESULTS[c.name] = "accepted" if report.accepted else "nothing accepted"
    if c.lines_are_rows:  # a row swallowed by another would be lost without a word
        from territory.io._validate import decode_text

        lines = [ln for ln in decode_text(path.read_bytes()).splitlines()[1:] if ln.strip()]
        assert report.read == len(lines), f"{len(lines)} rows in the file, {report.read} read"
        assert any("guillemet non fermé" in r.reason for r in report.refusals)
    if not report.accepted:  # a file that brings nothing must not wipe what is stored
        after = snapshot(ws_path)
        wiped = [k for k in before if k.startswith("layer ") and before[k][:2] != after[k][:2]]
        assert not wiped, f"nothing accepted, yet stored rows changed: {wiped}"


CLI_CASES = [c for c in CORPUS if c.cli]


def test_cli_exits_cleanly(
    sources: Sources, request: pytest.FixtureRequest, tmp_path: Path, settings: Any
) -> None:
    """The subset through ``python -m territory.cli import``, run side by side."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "TERRITORY_SECRET_PATH": str(settings.secret_path),
        "TERRITORY_CACHE_DIR": str(tmp_path / "cache"),
        "TERRITORY_HTTP_TIMEOUT_S": "2",
    }
    env.pop("TERRITORY_DEBUG", None)
    runs = []
    for i, c in enumerate(CLI_CASES):
        folder = tmp_path / f"cli{i}"
        folder.mkdir()
        try:
            path = c.build(sources, folder)
            ws_path, before = workspace_for(c, request, folder)
        except pytest.skip.Exception:
            continue
        command = [sys.executable, "-m", "territory.cli", "import", c.kind, str(path)]
        command += ["--workspace", str(ws_path)]
        process = subprocess.Popen(
            command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        runs.append((c, process, ws_path, before))
    assert len(runs) >= 10
    problems = []
    for c, process, ws_path, before in runs:
        _out, err = process.communicate(timeout=120)
        lines = [line for line in err.splitlines() if line.strip()]
        if "Traceback" in err or "erreur inattendue" in err or process.returncode not in (0, 1, 2):
            problems.append(f"{c.name}: exit {process.returncode}: {err[-400:]}")
        elif process.returncode == 2:
            errors = [line for line in lines if line.startswith("territory : erreur : ")]
            if len(errors) != 1 or lines[-1] != errors[0]:
                problems.append(f"{c.name}: not one French error line: {err!r}")
            if differences(before, snapshot(ws_path)):
                problems.append(f"{c.name}: failed CLI import changed the workspace")
    assert not problems, "\n".join(problems)


def test_summary() -> None:
    """The corpus figures (issue #19), printed: run with -s to read them."""
    assert len(CORPUS) >= 60
    counts = pd.Series(RESULTS).value_counts().to_dict() if RESULTS else {}
    kinds = pd.Series([c.kind for c in CORPUS]).value_counts().to_dict()
    tracebacks = sorted(n for n, r in RESULTS.items() if r == "traceback")
    print(  # noqa: T201 (the figures of issue #19, read with -s)
        f"\ncorpus : {len(CORPUS)} fichiers ({kinds}) ; résultats : {counts} ; "
        f"tracebacks={len(tracebacks)}"
    )
    assert tracebacks == [], tracebacks
