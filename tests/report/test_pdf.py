"""The A4 pack: one page per territory after the synthesis, sources on the cards, same bytes."""

from __future__ import annotations

import dataclasses
import io
import re

import pytest
from comparison_data import hand_built_comparison
from pypdf import PdfReader

from territory import ValidationError
from territory.programme import Comparison
from territory.report import write_report
from territory.report.pdf import pack_html, render_pdf
from territory.report.tables import inputs_hash

A4 = (595.28, 841.89)  # points


@pytest.fixture
def comparison() -> Comparison:
    return hand_built_comparison()


@pytest.fixture(scope="module")
def pack() -> tuple[bytes, list[str]]:
    data = render_pdf(hand_built_comparison(), k=11)
    reader = PdfReader(io.BytesIO(data))
    return data, [page.extract_text() for page in reader.pages]


def test_every_page_is_a4(pack) -> None:
    data, _ = pack
    for page in PdfReader(io.BytesIO(data)).pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width, 1), round(height, 1)) == (round(A4[0], 1), round(A4[1], 1))


def test_a_synthesis_then_one_page_per_territory(pack, comparison) -> None:
    _, pages = pack
    territories = comparison.programme.territories
    n = len(pages)
    assert n >= 1 + len(territories)
    synthesis = "\n".join(pages[: n - len(territories)])
    assert "Dest1 — métropole et bassin minier" in pages[0]
    for name in territories:
        assert name in synthesis  # side by side in the synthesis
    for page, name in zip(pages[n - len(territories) :], territories, strict=True):
        assert page.split("\n", 1)[0].strip() == name, page[:80]  # its title first
        page = re.sub(r"\s+", " ", page)  # lines wrap anywhere
        # its cards, each with its source and vintage
        assert "Source : équipes du programme" in page
        assert "Cible 2026" in page
        assert "Tournées" in page and "h de terrain" in page
        assert "Source : ANCT, contours des QPV (2024)" in page


def test_rates_name_their_denominator_source_and_vintage(pack, comparison) -> None:
    _, pages = pack
    roubaix = re.sub(r"\s+", " ", pages[-3])
    assert "58,6 ‰" in roubaix
    assert "dénominateur : population de 15 à 29 ans" in roubaix
    assert "INSEE, recensement de la population (IRIS), millésime 2021" in roubaix
    rural = re.sub(r"\s+", " ", pages[-1])
    assert "non calculé : dénominateur absent ou inférieur à 11" in rural
    assert "‰" not in rural  # no rate shown without its denominator


def test_hidden_values_stay_hidden(pack) -> None:
    _, pages = pack
    rural = pages[-1]
    assert rural.count("secret") >= 4  # accompagnés, sorties, two exit classes
    assert "< k" in "\n".join(pages)
    # a page with hidden cells says what they mean, never « Aucune valeur masquée »
    assert "« < 11 » : moins de 11 personnes" in re.sub(r"\s+", " ", rural)
    assert "Aucune valeur masquée" not in rural


def test_running_header_page_numbers_and_fingerprint(pack, comparison) -> None:
    _, pages = pack
    fingerprint = inputs_hash(comparison)[:16]
    for i, page in enumerate(pages, start=1):
        assert "Dest1 — métropole et bassin minier — année 2026" in page
        assert f"page {i} / {len(pages)}" in page
        assert fingerprint in page


def test_same_inputs_same_bytes(pack) -> None:
    data, _ = pack
    assert render_pdf(hand_built_comparison(), k=11) == data
    assert b"CreationDate" not in data and b"ModDate" not in data
    fingerprint = inputs_hash(hand_built_comparison())[:32].encode("ascii")
    assert b"/ID [(" + fingerprint + b")" in data  # the PDF's identifier is the fingerprint


def test_another_published_value_changes_the_fingerprint(comparison) -> None:
    funnel = comparison.funnel.copy()
    funnel.loc[0, "Personnes"] = 1235
    funnel.loc[0, "Affiché"] = "1 235"
    other = dataclasses.replace(comparison, funnel=funnel)
    assert inputs_hash(other) != inputs_hash(comparison)
    assert inputs_hash(dataclasses.replace(comparison)) == inputs_hash(comparison)


def test_names_are_escaped(comparison) -> None:
    programme = dataclasses.replace(comparison.programme, name='<b>Prog "x"</b>')
    html = pack_html(dataclasses.replace(comparison, programme=programme))
    assert "<b>Prog" not in html and "&lt;b&gt;Prog" in html


def test_write_report_refuses_other_suffixes_before_writing(comparison, tmp_path) -> None:
    with pytest.raises(ValidationError, match=r"\.pdf.*\.xlsx"):
        write_report(comparison, tmp_path / "copil.docx")
    assert not list(tmp_path.iterdir())


def _with_maps(comparison: Comparison) -> Comparison:
    """The hand-built comparison with a small map per territory (three box communes each)."""
    import pandas as pd
    import shapely

    from territory.programme.compare import MAP_COLUMNS, frame

    rows, outlines = [], []
    for t, territory in enumerate(comparison.programme.territories):
        for c in range(3):
            code = f"{t:02d}{c:03d}"
            hidden = c == 2
            rows.append(
                {"Territoire": territory, "Code": code, "Commune": f"Commune {code}",
                 "Personnes": None if hidden else 20 + 5 * c,
                 "Affiché": "< 11" if hidden else str(20 + 5 * c), "Habitants": 1000,
                 "Pour 1 000 habitants": None if hidden else 20.0 + 5 * c}
            )  # fmt: skip
            x = 700_000 + 3_000 * c
            outlines.append((code, shapely.box(x, 7_000_000, x + 3_000, 7_004_000)))
    return dataclasses.replace(
        comparison,
        maps=frame(rows, MAP_COLUMNS),
        outlines=pd.DataFrame(outlines, columns=["Code", "geometry"], dtype=object),
    )


def test_small_multiple_maps_in_the_synthesis(comparison) -> None:
    mapped = _with_maps(comparison)
    html = pack_html(mapped, k=11)
    assert "Jeunes rencontrés pour 1 000 habitants, par commune" in html
    assert html.count('<figure class="map">') == len(mapped.programme.territories)
    data = render_pdf(mapped, k=11)
    assert data == render_pdf(mapped, k=11)  # still the same bytes
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "par commune" in text and "non diffusé" in text
    assert inputs_hash(mapped) != inputs_hash(comparison)  # the maps' values are fingerprinted


def test_territory_trends_are_drawn_without_vl_convert_and_keep_gaps(comparison) -> None:
    from territory.report.lines import trends_svg

    territory = comparison.programme.territories[0]
    svg = trends_svg(comparison, territory)
    assert svg == trends_svg(comparison, territory) and svg.startswith("<svg")
    trends = comparison.trends[comparison.trends["Territoire"] == territory]
    months = trends["Mois"].nunique()
    shown = trends.dropna(subset=["Personnes"])
    # one point per published value, in polylines and lone dots: never a hidden month
    points = sum(len(p.split()) for p in re.findall(r'points="([^"]*)"', svg))
    points += svg.count("<circle")
    assert points == len(shown) and months >= 1
    gapped = comparison.trends.copy()
    first = gapped.index[(gapped["Territoire"] == territory)][0]
    gapped.loc[first, "Personnes"] = None
    cut = trends_svg(dataclasses.replace(comparison, trends=gapped), territory)
    assert cut != svg


def test_the_targets_chart_draws_published_actuals_only(comparison) -> None:
    from territory.report.lines import targets_svg

    svg = targets_svg(comparison)
    assert svg == targets_svg(comparison)
    shown = comparison.targets["Réalisé"].notna().sum()
    assert svg.count("<rect") == shown  # one bar a published actual, none for a hidden one
    assert svg.count(">secret</text>") == len(comparison.targets) - shown
    assert svg.count('stroke="#c00000"') == len(comparison.targets)  # every target's tick
