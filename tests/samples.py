"""Sample files shared by test modules: XLSX workbooks, contact exports, recorded BAN forms."""

from __future__ import annotations

import email
import io
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import geopandas as gpd
import requests
import shapely

from territory.store import Workspace

RECORDED = Path(__file__).resolve().parent / "data" / "recorded"


def xlsx(sheets: dict[str, list[list[str]]]) -> bytes:
    """A minimal XLSX workbook (inline strings), one sheet per entry."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    n = range(1, len(sheets) + 1)

    def cell(row: int, col: int, value: str) -> str:
        ref = f"{chr(65 + col)}{row}"
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            f'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
            + "".join(
                f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                f'ContentType="{ct}.worksheet+xml"/>'
                for i in n
            )
            + "</Types>",
        )
        zf.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{pkg}"><Relationship Id="rId1" Type="{rel}/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>',
        )
        zf.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            + "".join(
                f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>'
                for i, name in zip(n, sheets, strict=True)
            )
            + "</sheets></workbook>",
        )
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{pkg}">'
            + "".join(
                f'<Relationship Id="rId{i}" Type="{rel}/worksheet" '
                f'Target="worksheets/sheet{i}.xml"/>'
                for i in n
            )
            + "</Relationships>",
        )
        for i, rows in zip(n, sheets.values(), strict=True):
            data = "".join(
                f'<row r="{r}">' + "".join(cell(r, c, v) for c, v in enumerate(row)) + "</row>"
                for r, row in enumerate(rows, 1)
            )
            zf.writestr(
                f"xl/worksheets/sheet{i}.xml",
                f'<worksheet xmlns="{main}"><sheetData>{data}</sheetData></worksheet>',
            )
    return buffer.getvalue()


def density_xlsx() -> bytes:
    """The INSEE workbook layout: a presentation sheet, then « Maille communale »."""
    table = """CODGEO;LIBGEO;DENS;LIBDENS;PMUN22;P1;P2;P3;DENS_AAV;LIBDENS_AAV;DENS7;LIBDENS7
14118;Caen;1;Urbain dense;108200;94.1;5.9;0;1;Urbain dense;1;Grands centres urbains
14327;Hérouville-Saint-Clair;1;Urbain dense;23400;88;12;0;1;Urbain dense;1;Grands centres urbains
14257;Évrecy;3;Rural;2050;0;41.2;58.8;3;Rural;5;Bourgs ruraux"""
    titles = [["Grille communale de densité 2025"], ["Géographie au 01/01/2025"], [], ["Insee"]]
    rows = titles + [line.split(";") for line in table.splitlines()]
    return xlsx({"Présentation": [["Grille communale de densité"]], "Maille communale": rows})


HEADER = (
    "date_contact;longitude;latitude;statut;tranche_age;sexe;partenaire_orientation;"
    "id_personne;commentaire"
)
ROWS = [
    (
        "03/02/2026 14:35;2,751234;46,451234;premier contact;18-21;F;mission locale;P0001;"
        "près du city stade"
    ),
    "03/02/2026 14:50;2,751300;46,451200;hors radars;22-25;H;;P0002;",
    "2026-02-04T17:05:00;2,752;46,452;Contact répété;26-29;M;;P0001;",
    "31/02/2026 14:00;2,75;46,45;premier contact;18-21;F;;P0003;",  # impossible date
    "05/02/2026 10:00;;;premier contact;18-21;F;;P0004;",  # no location
    "05/02/2026 11:00;46,4512;2,7512;premier contact;18-21;F;;P0005;",  # lat/lon swapped
    "05/02/2026 12:00;5,9;43,1;premier contact;18-21;F;;P0006;",  # outside the territory
    "06/02/2026 15:00;2,7515;46,4515;statut inventé;18-21;F;;P0007;",  # unknown status
]


def write(path: Path, rows: list[str], *, encoding: str = "utf-8-sig") -> Path:
    """A contact export: the header, then ``rows``."""
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding=encoding)
    return path


def spanning_years(path: Path) -> Path:
    """ROWS (February 2026) plus 30 contacts of 2022 and 30 of 2025 in one place."""
    old = [
        f"0{1 + i % 9}/03/2022 {8 + i % 12}:00;2,7512;46,4512;suivi;18-21;F;;Q{i:03d};"
        for i in range(30)
    ]
    recent = [
        f"0{1 + i % 9}/06/2025 {8 + i % 12}:00;2,7512;46,4512;suivi;18-21;H;;R{i:03d};"
        for i in range(30)
    ]
    return write(path, [*ROWS, *old, *recent])


def multipart_form(request: requests.PreparedRequest) -> dict[str, bytes]:
    """The multipart parts of a recorded request, by field name."""
    body = request.body
    assert isinstance(body, bytes)
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    message = email.message_from_bytes(head + body)
    parts = {}
    for part in message.get_payload():
        name = part.get_param("name", header="content-disposition")
        parts[str(name)] = part.get_payload(decode=True)
    return parts


def two_communes_workspace(path: Path) -> Workspace:
    """A workspace of two square communes (00001, 00002) that hold the sample contacts."""
    communes = gpd.GeoDataFrame(
        {"code": ["00001", "00002"], "population": [1000, 500]},
        geometry=[shapely.box(2.70, 46.40, 2.76, 46.50), shapely.box(2.76, 46.40, 2.80, 46.50)],
        crs=4326,
    )
    ws = Workspace.create(path, name="Essai")
    ws.write_layer("communes", communes, source="test", vintage="")
    return ws
