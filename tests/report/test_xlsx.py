"""The XLSX: a sheet a table, numbers as numbers, months as dates, hidden values as text."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import pytest
from comparison_data import hand_built_comparison
from python_calamine import CalamineWorkbook

from territory.programme import Comparison
from territory.report import write_report
from territory.report.xlsx import SHEETS, render_xlsx


@pytest.fixture
def comparison() -> Comparison:
    return hand_built_comparison()


@pytest.fixture(scope="module")
def book() -> tuple[bytes, CalamineWorkbook]:
    data = render_xlsx(hand_built_comparison(), k=11)
    return data, CalamineWorkbook.from_filelike(io.BytesIO(data))


def rows(book, sheet: str) -> list[list]:
    table = book[1].get_sheet_by_name(sheet).to_python()
    return table[3:]  # title, legend, blank line, then the header


def test_one_sheet_a_table(book) -> None:
    assert book[1].sheet_names == list(SHEETS)


def test_numbers_are_numbers_and_hidden_values_text(book) -> None:
    table = rows(book, "Entonnoir")
    assert table[0] == ["Territoire", "Étape", "Personnes", "Part de l'étape précédente"]
    first = table[1]
    assert first[:3] == ["Roubaix-Tourcoing", "contact", 1230.0]
    assert isinstance(first[2], float)
    hidden = [r for r in table[1:] if r[0] == "Avesnois rural" and r[1] == "accompagné"]
    assert hidden[0][2] == "secret"
    legend = book[1].get_sheet_by_name("Entonnoir").to_python()[1][0]
    assert "secret" in legend and "masquée" in legend


def test_months_and_estimated_dates_are_dates(book) -> None:
    trends = rows(book, "Tendances")
    assert trends[1][1] in (date(2026, 1, 1), datetime(2026, 1, 1))
    targets = rows(book, "Cibles")
    lens = next(r for r in targets if r[0] == "Lens-Liévin")
    assert lens[6] in (date(2027, 3, 1), datetime(2027, 3, 1))
    rural = next(r for r in targets if r[0] == "Avesnois rural")
    assert rural[6] == "non atteinte au rythme actuel"


def test_french_formats_and_sources(book) -> None:
    data, _ = book
    styles = zipfile.ZipFile(io.BytesIO(data)).read("xl/styles.xml").decode()
    assert "#,##0" in styles and "mmmm yyyy" in styles
    sources = rows(book, "Sources")
    assert sources[0] == ["Donnée", "Source", "Millésime"]
    assert ["Population de 15 à 29 ans", "INSEE, recensement de la population (IRIS)", "2021"] in [
        r[:3] for r in sources
    ]
    rates = rows(book, "Taux")
    assert rates[1][4:7] == [
        "population de 15 à 29 ans",
        "INSEE, recensement de la population (IRIS)",
        "2021",
    ]


def test_same_inputs_same_bytes(book, comparison, tmp_path) -> None:
    data, _ = book
    assert render_xlsx(comparison, k=11) == data
    out = tmp_path / "sub" / "copil.xlsx"
    assert write_report(comparison, out, k=11) == len(data)
    assert out.read_bytes() == data
