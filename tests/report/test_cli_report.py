"""``territory report``: the PDF or the XLSX by the suffix; errors on one French line, code 2."""

from __future__ import annotations

import io
import shutil
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader
from python_calamine import CalamineWorkbook

from territory.cli import main
from territory.programme import define_programme, load_programme
from territory.store import Workspace
from territory.territories import list_territories

NAME = "Programme d'essai"


@pytest.fixture(scope="module")
def workspace(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    ws = Workspace.open(path)
    names = [t.name for t in list_territories(ws)][:2]
    define_programme(ws, NAME, territories=names, start=date(2025, 1, 1), end=date(2026, 12, 31))
    return path


def report(workspace: Path, out: Path, *extra: str) -> int:
    args = ["report", "--workspace", str(workspace), "--programme", NAME, "--out", str(out)]
    return main([*args, *extra])


def test_pdf_and_xlsx_by_suffix(workspace: Path, tmp_path: Path, capsys) -> None:
    pdf = tmp_path / "copil.pdf"
    assert report(workspace, pdf, "--periode", "2026") == 0
    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    territories = list(load_programme(Workspace.open(workspace), NAME).territories)
    assert len(reader.pages) >= 1 + len(territories)
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "année 2026" in text and all(t in text for t in territories)
    xlsx = tmp_path / "copil.xlsx"
    assert report(workspace, xlsx) == 0
    book = CalamineWorkbook.from_filelike(io.BytesIO(xlsx.read_bytes()))
    assert "Entonnoir" in book.sheet_names
    assert "copil.xlsx écrit" in capsys.readouterr().out


def test_same_workspace_same_pdf(workspace: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    assert report(workspace, first) == 0
    assert report(workspace, second) == 0
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize(
    ("out", "extra", "message"),
    [
        ("copil.docx", (), "extension « .docx » non prise en charge"),
        ("copil.pdf", ("--periode", "1999"), "1999"),
    ],
)
def test_errors_are_one_french_line(
    workspace: Path, tmp_path: Path, capsys, out: str, extra: tuple[str, ...], message: str
) -> None:
    assert report(workspace, tmp_path / out, *extra) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("territory : erreur :") and message in err
    assert not (tmp_path / out).exists()


def test_unknown_programme(workspace: Path, tmp_path: Path, capsys) -> None:
    args = ["report", "--workspace", str(workspace), "--programme", "Nope", "--out"]
    assert main([*args, str(tmp_path / "x.pdf")]) == 2
    assert "Nope" in capsys.readouterr().err
