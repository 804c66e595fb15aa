"""Need: population, target population and poverty of zones, from the best official source.

Three sources, each stored by an import with its source file and vintage:

* :data:`AGE_TABLE`: INSEE census population by age per commune (``territory import
  population``, RP base infracommunale or commune base): ``pop_1529`` (else ``pop_1524``);
* :data:`FILOSOFI_TABLE`: INSEE Filosofi 200 m cells (``territory import filosofi``):
  ``ind`` (people), ``ind_1824`` (18-24, the only young adult band Filosofi publishes),
  ``men`` and ``men_pauv`` (or a given ``pauvrete`` share);
* the communes' legal population (always).

The target population of a zone is, in order of preference:

1. a zone column :data:`~territory.analysis.indicators.AGE_COLUMN` (zones that carry it);
2. for 1 km cells and QPV: the Filosofi cells whose centre lies in the zone (18-24 ans);
3. the census 15-29 of the communes: as such for communes, spread by area over
   sub-commune zones (IRIS contours are not imported, so an IRIS figure cannot be placed);
4. for communes without census ages: the Filosofi 18-24 summed over their cells;
5. else none: the total population stands in, and a note says so.

Zones outside the extent of the imported cells get no Filosofi figure (NA, said in a note),
never a zero. Every choice is named in :attr:`Need.target_source` for the reasons and the
notes (« population 15-29 ans, RP 2021, INSEE »).

Examples
--------
>>> import geopandas as gpd, shapely
>>> from territory.crs import METRIC_CRS
>>> communes = gpd.GeoDataFrame({"code": ["A"], "population": [1000]},
...     geometry=[shapely.box(0, 0, 1000, 1000)], crs=METRIC_CRS)
>>> data = NeedData(ages=pd.DataFrame({"code": ["A"], "pop_1529": [180.0]}),
...                 ages_vintage="RP 2021")
>>> need = zone_need(communes, kind="commune", communes=communes, data=data)
>>> need.target.tolist(), need.target_source
([180.0], 'population 15-29 ans, RP 2021, INSEE')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from territory.analysis.indicators import AGE_COLUMN, population
from territory.analysis.zones import ZoneKind, grid_coords, zone_centres, zones_of_cells
from territory.crs import GRID_CRS
from territory.store import Workspace

__all__ = [
    "AGE_IRIS_TABLE",
    "AGE_TABLE",
    "FILOSOFI_TABLE",
    "Need",
    "NeedData",
    "load_need_data",
    "zone_need",
]

AGE_TABLE = "population_age"
"""Census population by age per commune (written by ``territory import population``)."""
AGE_IRIS_TABLE = "population_age_iris"
"""The same figures per IRIS when the file was by IRIS (kept, not yet placed: no contours)."""
FILOSOFI_TABLE = "filosofi_cells"
"""Filosofi 200 m cells (written by ``territory import filosofi``)."""
_CELL = 200.0


@dataclass(frozen=True)
class NeedData:
    """The need tables of a workspace, with their vintages (empty when not imported)."""

    ages: pd.DataFrame | None = None
    ages_vintage: str = ""
    cells: pd.DataFrame | None = None
    cells_vintage: str = ""


@dataclass(frozen=True)
class Need:
    """Need figures of a set of zones, aligned on their index, and what they come from.

    Attributes
    ----------
    population
        Inhabitants (``Float64``).
    population_source
        French: where the population comes from.
    estimated
        Whether some population was spread by area from the communes.
    target
        Target population (None: no age data, the total population stands in).
    target_label
        French noun phrase of the target band (« jeunes de 15 à 29 ans »).
    target_source
        French: band, source and vintage (« population 15-29 ans, RP 2021, INSEE »).
    poverty
        Poor households / households (None without Filosofi).
    poverty_source
        French source of the poverty rate.
    notes
        What is missing or estimated, in French.
    """

    population: pd.Series
    population_source: str
    estimated: bool
    target: pd.Series | None = None
    target_label: str = ""
    target_source: str = "population totale (pas de données par âge importées)"
    poverty: pd.Series | None = None
    poverty_source: str = ""
    notes: list[str] = field(default_factory=list)


def load_need_data(ws: Workspace) -> NeedData:
    """The census ages and Filosofi cells stored in ``ws`` (None where not imported)."""
    layers = ws.layers()
    ages = ws.read_table(AGE_TABLE) if ws.has(AGE_TABLE) else None
    cells = ws.read_table(FILOSOFI_TABLE) if ws.has(FILOSOFI_TABLE) else None
    return NeedData(
        ages=ages,
        ages_vintage=layers[AGE_TABLE].vintage if ages is not None else "",
        cells=cells,
        cells_vintage=layers[FILOSOFI_TABLE].vintage if cells is not None else "",
    )


def zone_need(
    zones: gpd.GeoDataFrame,
    *,
    kind: ZoneKind,
    communes: gpd.GeoDataFrame | None,
    data: NeedData | None = None,
    method: Literal["intersection", "centre"] = "intersection",
) -> Need:
    """Population, target population and poverty of ``zones`` (see the module docs).

    Parameters
    ----------
    zones
        Zones with a unique ``code`` and a CRS (communes carry ``population``).
    kind
        ``commune``, ``qpv`` or ``cell``.
    communes
        Communes with ``code``, ``population`` and a CRS (areal estimates); may be None
        when the zones carry their population.
    data
        :func:`load_need_data` (None: no census ages, no Filosofi).
    method
        Areal estimate of :func:`territory.analysis.indicators.population`.
    """
    data = data or NeedData()
    notes: list[str] = []
    cells = _cell_sums(zones, kind, data) if _usable(data.cells) else None
    filosofi = f"Filosofi {_year(data.cells_vintage)}, INSEE"

    # --- population
    if "population" in zones or cells is None:
        pop = population(zones, communes, method=method)
        estimated = bool(pop.attrs.get("estimee"))
        source = (
            "population des communes répartie au prorata de la surface"
            if estimated
            else "population légale des communes (INSEE)"
        )
    else:
        from_cells = cells["ind"].where(cells["covered"])
        estimated = bool((~cells["covered"]).any())
        if estimated and communes is not None:
            areal = population(zones, communes, method=method)
            from_cells = from_cells.fillna(areal)
        pop = from_cells.astype("Float64").rename("population")
        source = f"population des carreaux ({filosofi})"
        if estimated:
            notes.append(
                f"{int((~cells['covered']).sum())} {_NOUN[kind]} hors de l'emprise de la grille "
                "Filosofi importée : population estimée à partir des communes"
            )

    # --- target
    need = Need(population=pop, population_source=source, estimated=estimated, notes=notes)
    target = _target(zones, kind, communes, data, cells, method, filosofi, notes)
    if target is not None:
        values, label, where = target
        need = Need(
            population=pop,
            population_source=source,
            estimated=estimated,
            target=values.astype("Float64").rename("population_cible"),
            target_label=label,
            target_source=where,
            notes=notes,
        )
    else:
        notes.append(
            "population cible : population totale (pas de données par âge importées : "
            "territory import population FICHIER, base infracommunale de l'INSEE, ou "
            "territory import filosofi FICHIER) ; non comptée deux fois dans le score"
        )

    # --- poverty
    if cells is not None and cells["pauvrete"].notna().any():
        how = (
            "ménages pauvres / ménages (Men_pauv / Men)"
            if cells.attrs.get("households")
            else "part de ménages pauvres des carreaux pondérée par leur population"
        )
        return Need(
            population=need.population,
            population_source=need.population_source,
            estimated=need.estimated,
            target=need.target,
            target_label=need.target_label,
            target_source=need.target_source,
            poverty=cells["pauvrete"].where(cells["covered"]).astype("Float64"),
            poverty_source=f"{how}, {filosofi}",
            notes=notes,
        )
    return need


_NOUN = {"commune": "communes", "qpv": "QPV", "cell": "carreaux"}


def _year(vintage: str) -> str:
    return vintage.removeprefix("Filosofi ").strip() or "?"


def _usable(cells: pd.DataFrame | None) -> bool:
    return cells is not None and len(cells) > 0


def _target(
    zones: gpd.GeoDataFrame,
    kind: ZoneKind,
    communes: gpd.GeoDataFrame | None,
    data: NeedData,
    cells: pd.DataFrame | None,
    method: Literal["intersection", "centre"],
    filosofi: str,
    notes: list[str],
) -> tuple[pd.Series, str, str] | None:
    """(values, French label, French source) of the target population, or None."""
    if AGE_COLUMN in zones:
        values = pd.to_numeric(zones[AGE_COLUMN], errors="coerce")
        return values, "jeunes de 16 à 29 ans", f"colonne {AGE_COLUMN} des zones"
    young_cells = cells is not None and cells["ind_1824"].notna().any()
    if young_cells and kind != "commune":
        assert cells is not None
        return _from_cells(cells, kind, filosofi, notes)
    ages = data.ages
    band = _census_band(ages)
    if ages is not None and band is not None and (kind == "commune" or communes is not None):
        column, years = band
        by_code = pd.to_numeric(ages.set_index("code")[column], errors="coerce")
        by_code = by_code[~by_code.index.duplicated()]
        where = f"population {years} ans, {data.ages_vintage or 'RP ?'}, INSEE"
        if "neet_1524" in ages and pd.to_numeric(ages["neet_1524"], errors="coerce").notna().any():
            notes.append(
                "jeunes de 15 à 24 ans ni en emploi ni en études importés : gardés dans la "
                f"table {AGE_TABLE}, pas encore dans le score (la population cible reste les "
                f"{years} ans)"
            )
        label = f"jeunes de {years.replace('-', ' à ')} ans"
        codes = zones["code"].astype(str) if kind == "commune" else None
        if codes is not None:
            values = codes.map(by_code).set_axis(zones.index)
            missing = int(values.isna().sum())
            if missing:
                notes.append(
                    f"{missing} commune(s) sans population par âge dans la table importée "
                    f"({data.ages_vintage}) : population cible inconnue, comptée neutre"
                )
            return values, label, where
        assert communes is not None
        spread = communes.assign(population=communes["code"].astype(str).map(by_code))
        bare = zones.drop(columns="population", errors="ignore")
        values = population(bare, spread, method=method)
        # Share of each zone's area in communes with ages: under half, the figure is unknown.
        known = spread["population"].notna().to_numpy()
        area = communes.assign(population=np.where(known, communes.geometry.area, 0.0))
        share = population(bare, area, method=method) / bare.to_crs(communes.crs).geometry.area
        unknown = (share < 0.5).to_numpy()
        if unknown.any():
            values = values.mask(unknown)
            notes.append(
                f"{int(unknown.sum())} {_NOUN[kind]} surtout dans des communes sans population "
                "par âge : population cible inconnue, comptée neutre"
            )
        if cells is not None:  # people of the Filosofi cells, rather than area, spread them
            by_cells = _spread_by_cells(zones, kind, communes, by_code, data)
            inside = cells["covered"].to_numpy()
            values = values.mask(inside, by_cells.where(~pd.Series(unknown, index=zones.index)))
            if inside.any():
                notes.append(
                    f"population cible des {_NOUN[kind]} estimée : {years} ans des communes "
                    f"({data.ages_vintage}) répartis selon la population des carreaux {filosofi} "
                    f"(au prorata de la surface pour {int((~inside).sum())} hors de leur emprise)"
                )
                return values, label, f"{where}, répartie selon les carreaux {filosofi}"
        notes.append(
            f"population cible des {_NOUN[kind]} estimée : {years} ans des communes ("
            f"{data.ages_vintage}) répartis au prorata de la surface (sans les contours des IRIS)"
        )
        return values, label, f"{where}, répartie au prorata de la surface"
    if young_cells:
        assert cells is not None
        return _from_cells(cells, kind, filosofi, notes)
    return None


def _spread_by_cells(
    zones: gpd.GeoDataFrame,
    kind: ZoneKind,
    communes: gpd.GeoDataFrame,
    by_code: pd.Series,
    data: NeedData,
) -> pd.Series:
    """Census figures of communes shared among their Filosofi cells by population, per zone.

    Each cell takes ``figure of its commune × Ind of the cell / Ind of the commune's
    cells`` (the commune under its centre); a zone sums its cells (dasymetric estimate).
    """
    cells = data.cells
    assert cells is not None
    coords = grid_coords(cells["cell"].astype(str).to_numpy(dtype=object))
    frame = pd.DataFrame(
        {
            "commune": zones_of_cells(coords, communes, "qpv"),
            "zone": zones_of_cells(coords, zones, kind),
            "ind": pd.to_numeric(cells["ind"], errors="coerce").fillna(0.0).to_numpy(),
        }
    )
    total = frame.groupby("commune")["ind"].transform("sum")
    frame["young"] = frame["commune"].map(by_code) * frame["ind"] / total.where(total > 0)
    sums = frame.dropna(subset=["zone"]).groupby("zone")["young"].sum(min_count=1)
    out = sums.reindex(zones["code"].astype(str).to_numpy()).fillna(0.0)
    return pd.Series(out.to_numpy(), index=zones.index, dtype="Float64")


def _census_band(ages: pd.DataFrame | None) -> tuple[str, str] | None:
    if ages is None or len(ages) == 0:
        return None
    for column, years in (("pop_1529", "15-29"), ("pop_1524", "15-24")):
        if column in ages and pd.to_numeric(ages[column], errors="coerce").notna().any():
            return column, years
    return None


def _from_cells(
    cells: pd.DataFrame, kind: ZoneKind, filosofi: str, notes: list[str]
) -> tuple[pd.Series, str, str]:
    values = cells["ind_1824"].where(cells["covered"])
    outside = int((~cells["covered"]).sum())
    if outside:
        notes.append(
            f"{outside} {_NOUN[kind]} hors de l'emprise de la grille Filosofi importée : "
            "population cible inconnue, comptée neutre"
        )
    notes.append(
        "population cible : 18-24 ans des carreaux Filosofi (Filosofi ne publie ni 15-29 ni "
        "15-24 ans ; la tranche 11-17 ans, surtout des enfants, n'est pas comptée)"
    )
    return values, "jeunes de 18 à 24 ans", f"population 18-24 ans, {filosofi}"


def _cell_sums(zones: gpd.GeoDataFrame, kind: ZoneKind, data: NeedData) -> pd.DataFrame:
    """Filosofi sums per zone (cells attributed by centre, or by 1 km parent), and coverage."""
    cells = data.cells
    assert cells is not None
    ids = cells["cell"].astype(str).to_numpy(dtype=object)
    coords = grid_coords(ids)
    codes = zones_of_cells(coords, zones, kind)
    frame = pd.DataFrame(
        {
            "zone": codes,
            **{
                name: pd.to_numeric(cells[name], errors="coerce").to_numpy(dtype=float)
                if name in cells
                else np.full(len(cells), np.nan)
                for name in ("ind", "ind_1824", "men", "men_pauv", "pauvrete")
            },
        }
    )
    frame["weighted"] = frame["pauvrete"] * frame["ind"]
    frame["weight"] = frame["ind"].where(frame["pauvrete"].notna())
    sums = frame.dropna(subset=["zone"]).groupby("zone").sum(min_count=1)
    order = zones["code"].astype(str).to_numpy()
    sums = sums.reindex(order)
    households = bool(frame["men"].notna().any() and frame["men_pauv"].notna().any())
    if households:
        rate = sums["men_pauv"] / sums["men"].where(sums["men"] > 0)
    else:
        rate = sums["weighted"] / sums["weight"].where(sums["weight"] > 0)
    # The extent of the cells: zones whose centre lies in it and that hold no cell hold
    # nobody (Filosofi leaves out uninhabited cells); zones outside it are unknown.
    _, east, north = coords
    centres = zone_centres(zones).to_crs(GRID_CRS)
    cx, cy = centres.x.to_numpy(), centres.y.to_numpy()
    covered = (
        (cx >= east.min())
        & (cx <= east.max() + _CELL)
        & (cy >= north.min())
        & (cy <= north.max() + _CELL)
    )
    out = pd.DataFrame(
        {
            "ind": sums["ind"].fillna(0.0).to_numpy(),
            "ind_1824": sums["ind_1824"].fillna(0.0).to_numpy()
            if frame["ind_1824"].notna().any()
            else np.nan,
            "pauvrete": rate.to_numpy(),
            "covered": covered,
        },
        index=zones.index,
    )
    out.attrs["households"] = households
    return out
