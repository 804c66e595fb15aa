"""Issue #22's check, the outputs: the A4 pack and the XLSX of the 12 real hubs.

Built on the real-data workspace of :mod:`test_programme_real` (Nord and Pas-de-Calais,
12 hubs of real EPCIs, one across both départements; skipped when the extracts are
absent). The PDF shows every hub on a page of its own with its denominators, their
sources and vintages; every count of people it prints is one ``compare`` published (no
value from fewer than k people); the workbook holds the same published values. The PDF is
kept in ``tests/artifacts/copil_reel.pdf`` to be looked at page by page.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader
from python_calamine import CalamineWorkbook
from test_programme_real import HUBS, K, built  # noqa: F401 - the module's fixture

from territory import Settings
from territory.programme import compare
from territory.report.pdf import render_pdf
from territory.report.xlsx import render_xlsx
from territory.store import Workspace

pytestmark = pytest.mark.real_data

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PROGRAMME = "Comité Nord - Pas-de-Calais"


@pytest.fixture(scope="module")
def pack(built: tuple[Workspace, pd.DataFrame], settings: Settings):  # noqa: F811
    ws, _ = built
    comparison = compare(ws, PROGRAMME, settings=settings)
    data = render_pdf(comparison, k=settings.k)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "copil_reel.pdf").write_bytes(data)
    pages = [re.sub(r"\s+", " ", p.extract_text()) for p in PdfReader(io.BytesIO(data)).pages]
    return comparison, data, pages


def test_every_hub_has_its_page_with_named_denominators(pack) -> None:
    comparison, _, pages = pack
    hub_pages = pages[-len(HUBS) :]
    for hub, page in zip(HUBS, hub_pages, strict=True):
        assert page.startswith(hub), page[:60]
        assert "dénominateur : population municipale (habitants)" in page
        assert "Source du dénominateur : communes_cog2026_pop_epci.csv" in page
        assert "Source : " in page
    synthesis = " ".join(pages[: -len(HUBS)])
    assert all(hub in synthesis for hub in HUBS)
    packed = re.sub(r"\s+", "", synthesis)  # a file name may wrap after a hyphen
    for row in comparison.sources.itertuples(index=False):
        assert re.sub(r"\s+", "", str(row[1])) in packed  # every source named


def test_no_count_under_k_is_printed(pack) -> None:
    comparison, _, pages = pack
    published = {
        str(v)
        for table in (comparison.funnel, comparison.zones, comparison.exits, comparison.trends)
        for v in table["Affiché"]
    }
    assert all(
        v in {"secret", f"< {K}"}
        or int(v.replace("\u202f", "")) == 0
        or int(v.replace("\u202f", "")) >= K
        for v in published
    )
    for hub, page in zip(HUBS, pages[-len(HUBS) :], strict=True):
        mine = comparison.funnel[comparison.funnel["Territoire"] == hub]
        for step, shown in zip(mine["Étape"], mine["Affiché"], strict=True):
            assert f"{step} {shown}" in page  # the funnel's bars: the published text


def test_the_workbook_holds_the_same_published_values(pack, settings: Settings) -> None:
    comparison, _, _ = pack
    book = CalamineWorkbook.from_filelike(io.BytesIO(render_xlsx(comparison, k=settings.k)))
    rows = book.get_sheet_by_name("Entonnoir").to_python()[4:]
    assert len(rows) == len(comparison.funnel)
    for row, (n, shown) in zip(
        rows,
        zip(comparison.funnel["Personnes"], comparison.funnel["Affiché"], strict=True),
        strict=True,
    ):
        assert row[2] == (shown if pd.isna(n) else float(n))
