"""The need group from official data: census ages, Filosofi cells, and the notes that say which."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from territory import Settings
from territory.analysis.need import NeedData, zone_need
from territory.analysis.priority import Weights, build_indicators, priorities, rank_zones
from territory.crs import GRID_CRS
from territory.grid import cell_ids
from territory.ingest import import_file
from territory.store import Workspace

TUESDAY_17 = datetime(2026, 10, 27, 17)
NEED_ONLY = Weights(need=1, coverage=0, access=0, mobility=0)


def communes() -> gpd.GeoDataFrame:
    """A: many people, few young ones; B: fewer people, more young ones (Lambert-93, 2 km)."""
    return gpd.GeoDataFrame(
        {
            "code": ["14001", "14002"],
            "nom": ["Alpha", "Bêta"],
            "population": [5000, 2000],
            "densite_libelle": ["Petites villes", "Bourgs ruraux"],
        },
        geometry=[shapely.box(x, 6_900_000, x + 2000, 6_902_000) for x in (450_000, 452_000)],
        crs="EPSG:2154",
    )


AGES = NeedData(
    ages=pd.DataFrame({"code": ["14001", "14002"], "pop_1529": [400.0, 700.0]}),
    ages_vintage="RP 2021",
)


def test_more_young_people_ranks_higher_than_more_people() -> None:
    zones = communes()
    without = rank_zones(
        build_indicators(zones, kind="commune", settings=Settings(), at=TUESDAY_17), NEED_ONLY
    )
    assert without.table["code"].tolist() == ["14001", "14002"]  # total population
    assert any("population totale (pas de données par âge importées" in n for n in without.notes)
    ind = build_indicators(zones, kind="commune", settings=Settings(), at=TUESDAY_17, need=AGES)
    ranking = rank_zones(ind, NEED_ONLY)
    assert ranking.table["code"].tolist() == ["14002", "14001"]
    assert ranking.table["pourquoi"].iloc[0] == "700 jeunes de 15 à 29 ans (RP 2021, INSEE)"
    assert any("besoin : population 15-29 ans, RP 2021, INSEE" in n for n in ranking.notes)
    assert ind.values.loc["14002", "population"] == 2000  # still the rates' denominator


def test_sub_commune_zones_spread_the_census_ages_by_area() -> None:
    # a QPV covering the west half of Bêta: half of its 700 young people
    qpv = gpd.GeoDataFrame(
        {"code": ["QN01401M"], "nom": ["Quartier"]},
        geometry=[shapely.box(452_000, 6_900_000, 453_000, 6_902_000)],
        crs="EPSG:2154",
    )
    need = zone_need(qpv, kind="qpv", communes=communes(), data=AGES)
    assert need.target is not None and need.target.tolist() == [pytest.approx(350.0)]
    assert need.target_source.endswith("répartie au prorata de la surface")
    assert any("sans les contours des IRIS" in n for n in need.notes)


def filosofi_cells(zone: shapely.Polygon) -> pd.DataFrame:
    """The 200 m cells whose centre lies in ``zone`` (Lambert-93), 10 people and 2 aged 18-24."""
    box = gpd.GeoSeries([zone], crs="EPSG:2154").to_crs(GRID_CRS).total_bounds
    xs = np.arange(np.floor(box[0] / 200) * 200, box[2], 200)
    ys = np.arange(np.floor(box[1] / 200) * 200, box[3], 200)
    east, north = (a.ravel() for a in np.meshgrid(xs, ys))
    centres = gpd.GeoSeries(shapely.points(east + 100, north + 100), crs=GRID_CRS)
    inside = centres.to_crs("EPSG:2154").within(zone).to_numpy()
    n = int(inside.sum())
    return pd.DataFrame(
        {
            "cell": cell_ids(east[inside] + 1, north[inside] + 1),
            "ind": np.full(n, 10.0),
            "ind_1824": np.full(n, 2.0),
            "men": np.full(n, 4.0),
            "men_pauv": np.full(n, 1.0),
        }
    )


def test_filosofi_cells_are_summed_in_qpv_and_zones_beyond_them_are_unknown() -> None:
    west = shapely.box(450_000, 6_900_000, 451_000, 6_902_000)
    cells = filosofi_cells(west)
    zones = gpd.GeoDataFrame(
        {"code": ["Q1", "Q2"], "nom": ["Ouest", "Loin"]},
        geometry=[west, shapely.box(470_000, 6_900_000, 471_000, 6_901_000)],
        crs="EPSG:2154",
    )
    data = NeedData(
        ages=AGES.ages, ages_vintage="RP 2021", cells=cells, cells_vintage="Filosofi 2017"
    )
    need = zone_need(zones, kind="qpv", communes=communes(), data=data)
    assert need.population.iloc[0] == 10.0 * len(cells)
    assert need.target is not None
    assert need.target.iloc[0] == 2.0 * len(cells) and pd.isna(need.target.iloc[1])
    assert need.target_source == "population 18-24 ans, Filosofi 2017, INSEE"
    assert need.poverty is not None and need.poverty.iloc[0] == pytest.approx(0.25)
    assert any("1 QPV hors de l'emprise de la grille Filosofi" in n for n in need.notes)
    ind = build_indicators(
        zones, kind="qpv", settings=Settings(), at=TUESDAY_17, communes=communes(), need=data
    )
    assert {"population_cible", "taux_pauvrete"} <= set(ind.components)
    assert ind.phrases.loc["Q1", "taux_pauvrete"] == "25 % de ménages pauvres (Filosofi)"


def test_the_priority_page_says_when_the_rural_part_cannot_run() -> None:
    stops = gpd.GeoDataFrame(
        {"stop_id": ["s1"], "nom": ["Gare"], "departs_jour": [40]},
        geometry=[shapely.Point(451_000, 6_901_000)],
        crs="EPSG:2154",
    )
    bare = communes().drop(columns="densite_libelle")
    ind = build_indicators(
        bare, kind="commune", settings=Settings(), at=TUESDAY_17, communes=bare, stops=stops
    )
    assert any("grille de densité non importée" in n for n in ind.notes)
    ind = build_indicators(
        communes(),
        kind="commune",
        settings=Settings(),
        at=TUESDAY_17,
        communes=communes(),
        stops=stops,
    )
    assert not any("grille de densité" in n for n in ind.notes)


def test_imported_census_file_drives_the_workspace_ranking(
    tmp_path: Path, settings: Settings
) -> None:
    ws = Workspace.create(tmp_path / "w.gpkg", name="test")
    ws.write_layer("communes", communes(), source="test", vintage="2024")
    path = tmp_path / "base-ic-evol-struct-pop-2021.csv"
    path.write_text(
        "IRIS;COM;P21_POP;P21_POP1529\n140010000;14001;5000;400\n140020000;14002;2000;700\n",
        encoding="utf-8",
    )
    import_file(ws, "population", path, settings=settings)
    ranking = priorities(ws, settings=settings, weights=NEED_ONLY, at=TUESDAY_17)
    assert ranking.table["code"].tolist() == ["14002", "14001"]
    assert any("RP 2021" in n for n in ranking.notes)


def test_census_ages_follow_the_people_of_the_filosofi_cells_where_there_are_some() -> None:
    # Alpha's inhabited cells all lie in its west half: its 400 young people go there
    west = shapely.box(450_000, 6_900_000, 451_000, 6_902_000)
    cells = filosofi_cells(west).drop(columns="ind_1824")
    zones = gpd.GeoDataFrame(
        {"code": ["W", "E"], "nom": ["Ouest", "Est"]},
        geometry=[west, shapely.box(452_000, 6_900_000, 453_000, 6_902_000)],
        crs="EPSG:2154",
    )
    data = NeedData(
        ages=AGES.ages, ages_vintage="RP 2021", cells=cells, cells_vintage="Filosofi 2017"
    )
    need = zone_need(zones, kind="qpv", communes=communes(), data=data)
    assert need.target is not None
    assert need.target.iloc[0] == pytest.approx(400.0)  # not half of it, as by area
    assert need.target.iloc[1] == pytest.approx(350.0)  # beyond the cells: by area
    assert need.target_source.endswith("répartie selon les carreaux Filosofi 2017, INSEE")


def test_a_neet_figure_is_kept_and_said_not_scored() -> None:
    ages = AGES.ages.assign(neet_1524=[40.0, 90.0])
    need = zone_need(
        communes(),
        kind="commune",
        communes=communes(),
        data=NeedData(ages=ages, ages_vintage="RP 2021"),
    )
    assert need.target is not None and need.target.tolist() == [400.0, 700.0]
    assert any("ni en emploi ni en études importés" in n for n in need.notes)
