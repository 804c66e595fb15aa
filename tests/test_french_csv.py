"""The CSV files written for people open in columns in a French spreadsheet.

``;`` separator, decimal comma, UTF-8 with BOM, French headers, codes kept as text with
their leading zeros, and no more decimals than chosen (issue #19, item 7). Each file is
read back as a French office's Excel would split it.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest

from territory import Settings
from territory._fr import french_csv
from territory.analysis.priority import Weights, rank_zones, zone_indicators
from territory.export import CSV_HEADERS, export_layer, export_ranking, ranking_csv
from territory.store import Workspace

BOM = b"\xef\xbb\xbf"


def read_french(data: bytes | Path) -> pd.DataFrame:
    """The CSV as text columns (``dtype=str``): what the file holds, character by character."""
    raw = data.read_bytes() if isinstance(data, Path) else data
    assert raw.startswith(BOM)
    return pd.read_csv(io.BytesIO(raw), sep=";", encoding="utf-8-sig", dtype=str)


def parsed(data: bytes | Path) -> pd.DataFrame:
    raw = data.read_bytes() if isinstance(data, Path) else data
    return pd.read_csv(io.BytesIO(raw), sep=";", decimal=",", encoding="utf-8-sig")


def max_decimals(column: pd.Series) -> int:
    """The most digits after the decimal comma in a text column (0: none)."""
    digits = column.dropna().str.extract(r"^-?\d+,(\d+)$")[0].dropna()
    return int(digits.str.len().max()) if len(digits) else 0


def assert_no_decimal_point(table: pd.DataFrame) -> None:
    for name in table.columns:
        values = table[name].dropna()
        assert not values.str.fullmatch(r"-?\d+\.\d+").any(), name


def test_french_csv_formats_numbers_codes_and_booleans() -> None:
    frame = pd.DataFrame(
        {
            "code": ["01004", "97411"],
            "rate": [12.34567, 0.1 + 0.2],
            "count": [12.0, None],
            "ok": [True, False],
            "note": ["a;b", "é"],
        }
    )
    data = french_csv(
        frame, headers={"rate": "Taux (%)", "count": "Effectif"}, decimals={"rate": 1}
    )
    text = read_french(data)
    assert list(text.columns) == ["code", "Taux (%)", "Effectif", "ok", "note"]
    assert text["code"].tolist() == ["01004", "97411"]
    assert text["Taux (%)"].tolist() == ["12,3", "0,3"]
    assert text["Effectif"].tolist()[0] == "12"  # a whole count with gaps: no « ,0 »
    assert text["ok"].tolist() == ["oui", "non"] and text["note"].tolist() == ["a;b", "é"]
    assert parsed(data)["Taux (%)"].tolist() == [12.3, 0.3]


def test_communes_csv(demo_workspace: Path, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "communes.csv"
    export_layer(Workspace.open(demo_workspace), "communes", out, settings=settings)
    text = read_french(out)
    assert {"Code", "Nom", "Population", "Département"} <= set(text.columns)
    assert text["Code"].str.fullmatch(r"\d{5}").all() and text["Code"].str.startswith("0").any()
    assert pd.to_numeric(parsed(out)["Population"]).notna().all()
    assert_no_decimal_point(text)


def test_partners_csv_coordinates_have_six_decimals(
    demo_workspace: Path, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "partenaires.csv"
    export_layer(Workspace.open(demo_workspace), "partners", out, settings=settings)
    text = read_french(out)
    assert {"Nom", "Type", "Code INSEE", "Longitude", "Latitude"} <= set(text.columns)
    assert text["Code INSEE"].dropna().str.fullmatch(r"\d{5}").all()
    assert max_decimals(text["Longitude"]) <= 6 and max_decimals(text["Latitude"]) <= 6
    table = parsed(out)
    assert table["Longitude"].dtype == float and table["Latitude"].dropna().between(41, 52).all()


def test_density_csv(demo_workspace: Path, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "densite.csv"
    export_layer(Workspace.open(demo_workspace), "density", out, settings=settings)
    text = read_french(out)
    assert {"Zone", "Contacts (protégés)", "Surface (km²)", "Commune (code INSEE)"} <= set(
        text.columns
    )
    assert not set(text.columns) & {"count", "label", "area_km2"}
    assert max_decimals(text["Surface (km²)"]) <= 2
    assert max_decimals(text["Contacts (protégés)"]) == 0
    assert text["Commune (code INSEE)"].dropna().str.fullmatch(r"\d{5}").all()
    assert pd.api.types.is_float_dtype(parsed(out)["Surface (km²)"])
    assert_no_decimal_point(text)


@pytest.fixture(scope="module")
def ranking(demo_workspace: Path, settings: Settings):
    return rank_zones(zone_indicators(Workspace.open(demo_workspace), settings=settings), Weights())


def test_ranking_csv_export_and_download(ranking, tmp_path: Path) -> None:
    out = tmp_path / "priorites.csv"
    assert export_ranking(ranking, out) == len(ranking.table)
    assert out.read_bytes() == ranking_csv(ranking)  # the page's download is the same file
    text = read_french(out)
    assert list(text.columns[:4]) == ["Rang", "Code", "Nom", "Score de priorité (0-100)"]
    assert "Pourquoi" in text.columns and not {"score", "need", "rang"} & set(text.columns)
    assert text["Code"].str.fullmatch(r"\d{5}").all()
    for name in [c for c in text.columns if c.startswith("Score")]:
        assert max_decimals(text[name]) <= 1, name
    table = parsed(out)
    assert table["Rang"].tolist() == list(range(1, len(table) + 1))
    assert pd.api.types.is_numeric_dtype(table["Score de priorité (0-100)"])


def test_headers_are_french_labels() -> None:
    assert all(re.search(r"[A-ZÉ]", label[0]) for label in CSV_HEADERS.values())
