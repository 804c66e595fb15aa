"""The programme model: validation, storage, the comparison's shape."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from territory import Settings
from territory._errors import ValidationError
from territory.programme import (
    FUNNEL_STEPS,
    Target,
    compare,
    comparison_json,
    define_programme,
    delete_programme,
    list_programmes,
    load_programme,
    periods,
)
from territory.programme.compare import (
    EXIT_COLUMNS,
    FUNNEL_COLUMNS,
    RATE_COLUMNS,
    ROUND_COLUMNS,
    TARGET_COLUMNS,
    TREND_COLUMNS,
    ZONE_COLUMNS,
)
from territory.store import Workspace
from territory.territories import define_territory


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace.create(tmp_path / "w.gpkg", name="Essai")
    communes = gpd.GeoDataFrame(
        {"code": ["59001", "62001", "62002"], "epci": ["1", "2", "2"]},
        geometry=[shapely.box(i, 50, i + 1, 51) for i in range(3)],
        crs="EPSG:4326",
    )
    ws.write_layer("communes", communes, source="test", vintage="2026")
    define_territory(ws, "Pôle A", communes=["59001", "62001"])  # spans two départements
    define_territory(ws, "Pôle B", communes=["62002"])
    return ws


def test_define_list_load_delete(ws: Workspace) -> None:
    target = Target("Pôle A", "entrée en parcours", "2026", 120)
    p = define_programme(
        ws, " Dest ", territories=["Pôle A", "Pôle B"], start=date(2025, 1, 1),
        end=date(2026, 12, 31), targets=[target],
    )  # fmt: skip
    assert p.name == "Dest"
    assert load_programme(ws, "Dest") == p
    assert [x.name for x in list_programmes(ws)] == ["Dest"]
    with pytest.raises(ValidationError, match="existe déjà"):
        define_programme(ws, "Dest", territories=["Pôle A"], start=date(2025, 1, 1),
                         end=date(2025, 12, 31))  # fmt: skip
    delete_programme(ws, "Dest")
    assert list_programmes(ws) == []
    with pytest.raises(ValidationError, match="inconnu"):
        load_programme(ws, "Dest")


def test_every_problem_reported_at_once(ws: Workspace) -> None:
    targets = [
        Target("Pôle Z", "entrée", "2031", 0),
        Target("Pôle A", "sortie", "2026-T5", 10),
    ]
    with pytest.raises(ValidationError) as caught:
        define_programme(ws, "", territories=["Pôle A", "Inconnu"], start=date(2026, 1, 1),
                         end=date(2025, 1, 1), targets=targets)  # fmt: skip
    text = "\n".join(caught.value.problems)
    for expected in ("nom du programme vide", "Inconnu", "précède", "hors du programme",
                     "étape « entrée »", "supérieur à 0", "2026-T5"):  # fmt: skip
        assert expected in text
    assert list_programmes(ws) == []


def test_comparison_has_the_contract_columns(ws: Workspace) -> None:
    define_programme(ws, "Dest", territories=["Pôle A", "Pôle B"], start=date(2025, 3, 1),
                     end=date(2026, 6, 30))  # fmt: skip
    assert periods(ws, "Dest", settings=Settings())[:3] == ["programme", "2025", "2026"]
    assert periods(ws, "Dest", settings=Settings())[3] == "2025-T1"
    assert periods(ws, "Dest", settings=Settings())[-1] == "2026-T2"
    c = compare(ws, "Dest", settings=Settings())
    for table, columns in [
        (c.funnel, FUNNEL_COLUMNS), (c.targets, TARGET_COLUMNS), (c.rates, RATE_COLUMNS),
        (c.zones, ZONE_COLUMNS), (c.trends, TREND_COLUMNS), (c.exits, EXIT_COLUMNS),
        (c.rounds, ROUND_COLUMNS),
    ]:  # fmt: skip
        assert list(table.columns) == list(columns)
        for name, dtype in columns.items():
            if dtype != "str":
                assert str(table[name].dtype) == dtype, name
    assert set(comparison_json(c)) >= {"funnel", "targets", "rates", "notes", "sources"}
    assert FUNNEL_STEPS[0] == "contact"
