"""The Python API for notebooks: ``import territory.api as tt``.

A small flat namespace in the manner of osmnx: open a workspace, then ask for what the
app shows — the protected density, the zone indicators, the priority ranking, the
recommended slots (« Où et quand »), a week's plan, hot spots, accessibility to the
partners — and write the exports (the evaluation package, one layer). Every function is
a thin, keyword-only, typed wrapper over **the same protected functions as the app and
the command line** (:mod:`territory.views`, :mod:`territory.analysis.priority`,
:mod:`territory.analysis.slots`, :mod:`territory.rounds.week`,
:mod:`territory.evaluation`, :mod:`territory.export`): each contact figure it returns
went through the disclosure-control step (:mod:`territory.privacy.protect`), as privacy.md
requires of "the Python API's public functions". None runs a query on the contacts.

:func:`open_workspace` returns a :class:`Opened` handle rather than the store's
:class:`~territory.store.Workspace`: the handle carries the settings in force (``k``,
rounding: those of the environment, ``TERRITORY_K``…, never below the defaults'
protection) and offers no row method, so a notebook cannot reach a raw count through the
API by accident. (Whoever holds the workspace file can open it in SQLite: the file itself
is personal data and is not shared — the evaluation package is.)

Why not ``import territory as tt``: the package's ``__init__`` is on the ground floor and
stays light (settings and errors; ``import territory`` loads no pandas). A lazy
``__getattr__`` there would be an import from the ground floor up to the services floor,
which the architecture test refuses. ``territory.api`` itself is light to import (the
heavy modules load inside each function): ``import territory.api as tt`` costs what
``import territory`` costs (measured in ``tests/api/test_api.py``).

The ``Examples`` sections run on the demo workspace in the test suite (``demo`` is its
path, put in the doctest namespace by the root ``conftest.py``).

Examples
--------
>>> import territory.api as tt
>>> ws = tt.open_workspace(demo)
>>> ws.name
"Territoire fictif de la Vallée de l'Ardoise"
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from territory._errors import ValidationError
from territory.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import geopandas as gpd
    import pandas as pd

    from territory.analysis.hotspots import HotSpots
    from territory.analysis.slots import WhenResult
    from territory.evaluation import PackageReport
    from territory.rounds.model import Plan
    from territory.store import Workspace

__all__ = [
    "Opened",
    "accessibility",
    "density",
    "export_layer",
    "export_package",
    "hot_spots",
    "indicators",
    "open_workspace",
    "plan_week",
    "ranking",
    "when",
]

ZoneKind = Literal["commune", "qpv", "cell"]


@dataclass(frozen=True)
class Opened:
    """An open workspace and the settings in force (see :func:`open_workspace`).

    Attributes
    ----------
    path
        The workspace file.
    name
        Its name.
    settings
        The settings every function uses (``k``, rounding, travel model).
    """

    path: Path
    name: str
    settings: Settings = dataclasses.field(repr=False)

    @property
    def k(self) -> int:
        """The disclosure threshold in force (distinct people)."""
        return self.settings.k

    def layers(self) -> pd.DataFrame:
        """The workspace's layers in French (contacts only as the protected density).

        Examples
        --------
        >>> import territory.api as tt
        >>> "Communes" in set(tt.open_workspace(demo).layers()["Couche"])
        True
        """
        from territory import views

        return views.layers_table(views.info(self._store(), settings=self.settings)["layers"])

    def _store(self) -> Workspace:
        from territory.store import Workspace

        return Workspace.open(self.path)


def open_workspace(path: str | Path, *, settings: Settings | None = None) -> Opened:
    """Open a workspace for the other functions of this module.

    Parameters
    ----------
    path
        The workspace file (``.gpkg``) built by ``territory demo`` or ``territory import``.
    settings
        Default: :meth:`Settings.from_env() <territory.settings.Settings.from_env>`, the
        settings the app and the command line use (``TERRITORY_K``…). They can only be
        as protective as the defaults or more (``k`` ≥ 5, rounding ≥ 5: enforced by
        :class:`~territory.settings.Settings`).

    Returns
    -------
    Opened

    Raises
    ------
    WorkspaceError
        A missing or damaged file (French message).

    Examples
    --------
    >>> import territory.api as tt
    >>> ws = tt.open_workspace(demo)
    >>> ws.k >= 11
    True
    """
    from territory.store import Workspace

    store = Workspace.open(path)
    store.version  # noqa: B018 - reads the file: a damaged one fails here, not later
    return Opened(Path(path), store.name, settings or Settings.from_env())


def density(
    ws: Opened,
    *,
    territory: str | None = None,
    period: str | None = None,
) -> gpd.GeoDataFrame:
    """The protected contact density, as the map shows it (EPSG:4326 polygons).

    Parameters
    ----------
    ws
        From :func:`open_workspace`.
    territory
        A programme territory (``territory territory list``); None: the whole workspace.
    period
        A calendar quarter (``"2026-T1"``, one of those with at least ``k`` people);
        None: every contact.

    Returns
    -------
    geopandas.GeoDataFrame
        ``zone``, ``level`` (200 m, 1 km, commune), ``commune``, ``count`` (published,
        NA when hidden), ``label``, ``area_km2``, geometry.

    Examples
    --------
    >>> import territory.api as tt
    >>> d = tt.density(tt.open_workspace(demo))
    >>> list(d.columns)
    ['zone', 'level', 'commune', 'count', 'label', 'area_km2', 'geometry']
    >>> shown = d["count"].dropna()  # published: 0, or at least k, rounded to 5
    >>> bool((shown.eq(0) | shown.ge(11)).all() and shown.mod(5).eq(0).all())
    True
    """
    from territory.views import density_layer

    breakdown = None if period is None else ("periode", period)
    return density_layer(
        ws._store(), settings=ws.settings, territory=territory, breakdown=breakdown
    )


def indicators(
    ws: Opened,
    *,
    zones: ZoneKind = "commune",
    territory: str | None = None,
    at: datetime | None = None,
) -> gpd.GeoDataFrame:
    """The indicators of the zones (protected contact figures, need, access, mobility).

    Parameters
    ----------
    ws
        From :func:`open_workspace`.
    zones
        ``"commune"``, ``"qpv"`` or ``"cell"`` (1 km cells of the protected partition).
    territory
        A programme territory; None: the whole workspace.
    at
        The moment of the hour-dependent indicators (transit); default: Tuesday 17 h of
        the GTFS reference week.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per zone: ``code``, ``nom``, each indicator, geometry (EPSG:4326).

    Examples
    --------
    >>> import territory.api as tt
    >>> ind = tt.indicators(tt.open_workspace(demo))
    >>> ind.index.name, "nom" in ind.columns
    ('code', True)
    """
    import geopandas as gpd

    from territory.analysis.priority import zone_indicators

    found = zone_indicators(
        ws._store(), settings=ws.settings, kind=zones, territory=territory, at=at
    )
    values = found.values.drop(columns="nom", errors="ignore")
    table = found.zones.join(values, how="left")
    return gpd.GeoDataFrame(table, geometry="geometry", crs=found.zones.crs)


def ranking(
    ws: Opened,
    *,
    zones: ZoneKind = "commune",
    territory: str | None = None,
    weights: Mapping[str, float] | None = None,
    at: datetime | None = None,
) -> gpd.GeoDataFrame:
    """The zones ranked by priority score, with their reasons (« Carte » and ``priorities``).

    Parameters
    ----------
    ws
        From :func:`open_workspace`.
    zones
        ``"commune"``, ``"qpv"`` or ``"cell"``.
    territory
        A programme territory; None: the whole workspace.
    weights
        Weight of each group (``need``, ``coverage``, ``access``, ``mobility``; a group
        not named keeps 1); None: the weights saved for the territory.
    at
        As in :func:`indicators`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``rang``, ``code``, ``nom``, ``score`` (0-100), one column per group,
        ``pourquoi``, geometry (EPSG:4326), best first.

    Raises
    ------
    ValidationError
        An unknown group or a negative weight (every problem listed).

    Examples
    --------
    >>> import territory.api as tt
    >>> r = tt.ranking(tt.open_workspace(demo), weights={"need": 2})
    >>> list(r.columns[:4]), int(r["rang"].iloc[0])
    (['rang', 'code', 'nom', 'score'], 1)
    """
    from territory.analysis.priority import GROUPS, Weights, priorities
    from territory.export import ranking_layer

    chosen = None
    if weights is not None:
        unknown = [name for name in weights if name not in GROUPS]
        if unknown:
            raise ValidationError(
                [
                    f"groupe de poids inconnu « {n} » (attendu : {', '.join(GROUPS)})"
                    for n in unknown
                ]
            )
        chosen = Weights(**{name: float(value) for name, value in weights.items()})
    found = priorities(
        ws._store(), settings=ws.settings, territory=territory, weights=chosen, kind=zones, at=at
    )
    return ranking_layer(found)


def when(
    ws: Opened,
    *,
    zone: str,
    territory: str | None = None,
    week_start: date | None = None,
    open_type: str | None = None,
    top: int | None = 5,
) -> WhenResult:
    """The recommended slots of a zone (« Où et quand », ``territory when``).

    Parameters
    ----------
    ws
        From :func:`open_workspace`.
    zone
        A commune's INSEE code, a QPV code or a 1 km cell id.
    territory
        The territory whose profile a sparse zone falls back on.
    week_start
        The week whose holidays and opening hours count; default: next week.
    open_type
        Keep the slots where a partner of this type is open.
    top
        How many slots (None: all).

    Returns
    -------
    WhenResult
        ``slots`` (best first, with a French ``phrase``), the protected ``profile``, the
        ``partners`` considered and French ``notes``.

    Examples
    --------
    >>> import territory.api as tt
    >>> ws = tt.open_workspace(demo)
    >>> first = tt.ranking(ws)["code"].iloc[0]
    >>> result = tt.when(ws, zone=first, week_start=date(2026, 11, 30), top=3)
    >>> len(result.slots) <= 3, "phrase" in result.slots.columns
    (True, True)
    """
    from territory.analysis.slots import when as slots_when

    return slots_when(
        ws._store(),
        zone,
        settings=ws.settings,
        territory=territory,
        week_start=week_start,
        open_type=open_type,
        top=top,
    )


def plan_week(
    ws: Opened,
    *,
    week: str,
    territory: str | None = None,
    outside_sector: bool = False,
    time_limit: float = 5.0,
    solution_limit: int | None = None,
) -> tuple[Plan, gpd.GeoDataFrame]:
    """Optimise the rounds of an ISO week, without saving them (« Tournées », ``plan``).

    The teams are those saved in the workspace; the visits locked in the week's last
    saved version stay. The search is bounded by ``time_limit``: on a busy machine a
    longer search may find another plan of equal or higher value. With
    ``solution_limit`` it stops after that many solutions instead: the same workspace
    gives the same plan on any machine (``territory run``), ``time_limit`` being then a
    safety cap (``plan.stats["stopped_by"]`` says ``"solutions"`` or ``"temps"``).

    Parameters
    ----------
    ws
        From :func:`open_workspace`.
    week
        ``"2026-W49"``.
    territory
        Plan the places of this territory only; None: the whole workspace.
    outside_sector
        Allow visits outside a team's sector (at a reduced value).
    time_limit
        Seconds of search (with ``solution_limit``: the most it may take).
    solution_limit
        Solutions after which each part of the week stops its search (None: on time).

    Returns
    -------
    tuple
        The :class:`~territory.rounds.model.Plan` (visits, rounds, objective, French
        notes) and the candidate places (EPSG:4326).

    Examples
    --------
    >>> import territory.api as tt
    >>> plan, places = tt.plan_week(tt.open_workspace(demo), week="2026-W49", time_limit=1)
    >>> len(plan.visits) > 0, len(places) >= len({v.place for v in plan.visits})
    (True, True)
    """
    from territory.rounds.week import plan_week as optimise

    return optimise(
        ws._store(),
        week,
        settings=ws.settings,
        territory=territory,
        outside_sector=outside_sector,
        time_limit=time_limit,
        solution_limit=solution_limit,
    )


def hot_spots(
    ws: Opened,
    *,
    territory: str | None = None,
    period: str | None = None,
    method: Literal["gi", "moran"] = "gi",
    weights: Literal["queen", "distance"] = "queen",
    band_m: float = 500.0,
    permutations: int = 999,
    seed: int = 20261207,
    alpha: float = 0.05,
) -> HotSpots:
    """Hot spots of the protected density (Getis-Ord Gi* or local Moran, FDR).

    The same analysis as the map's « Points chauds » (:func:`territory.views.hot_spots_layer`):
    the zones and published counts of :func:`density`, conditional permutations with a
    seed, Benjamini-Hochberg q values.

    Parameters
    ----------
    ws
        From :func:`open_workspace`.
    territory
        A programme territory; None: the whole workspace.
    period
        A calendar quarter (``"2026-T1"``): the hot spots of that quarter's protected
        density; None: every contact.
    method
        ``"gi"`` (Gi*) or ``"moran"`` (local Moran's I).
    weights
        ``"queen"`` (squares touching) or ``"distance"`` (centres within ``band_m``).
    band_m
        Neighbour distance (metres) for ``weights="distance"``.
    permutations
        Permutations per zone (at least 99).
    seed
        Seed of the permutations: the same seed gives the same p values.
    alpha
        False-discovery rate of the classes.

    Returns
    -------
    HotSpots
        ``frame`` (zones with ``z``, ``p``, ``q``, ``classe``) and ``parameters``.

    Examples
    --------
    >>> import territory.api as tt
    >>> spots = tt.hot_spots(tt.open_workspace(demo), permutations=99, seed=1)
    >>> {"z", "p", "q", "classe"} <= set(spots.frame.columns), spots.parameters["seed"]
    (True, 1)
    """
    from territory.views import hot_spots_layer

    return hot_spots_layer(
        ws._store(),
        settings=ws.settings,
        territory=territory,
        breakdown=None if period is None else ("periode", period),
        method=method,
        weights=weights,
        band_m=band_m,
        permutations=permutations,
        seed=seed,
        alpha=alpha,
    )


def accessibility(
    ws: Opened,
    *,
    mode: str = "marche",
    zones: Literal["commune", "qpv"] = "commune",
    territory: str | None = None,
    catchment_min: float = 30.0,
    decay: Literal["none", "stepped", "gaussian"] = "stepped",
    supply: Literal["partners", "hours"] = "partners",
) -> gpd.GeoDataFrame:
    """Accessibility to the partners by zone (2SFCA, or E2SFCA with a distance decay).

    On the workspace's one travel model (its road network when imported); no contact
    figure is involved (:func:`territory.views.accessibility_layer`).

    Parameters
    ----------
    ws
        From :func:`open_workspace`.
    mode
        ``"marche"``, ``"vélo"``, ``"voiture"`` or ``"transports en commun"``.
    zones
        ``"commune"`` or ``"qpv"``.
    territory
        A programme territory; None: the whole workspace.
    catchment_min
        Minutes of travel within which a partner is in reach.
    decay
        ``"none"`` (2SFCA), ``"stepped"`` or ``"gaussian"`` (E2SFCA).
    supply
        A partner counts 1 (``"partners"``) or its weekly opening hours (``"hours"``).

    Returns
    -------
    geopandas.GeoDataFrame
        ``code``, ``nom``, the accessibility columns, geometry (EPSG:4326); its
        ``attrs["parametres"]`` hold the parameters (with the demand's source).

    Examples
    --------
    >>> import territory.api as tt
    >>> acc = tt.accessibility(tt.open_workspace(demo), decay="gaussian")
    >>> acc.attrs["parametres"]["decay"], len(acc) > 0
    ('gaussian', True)
    """
    from territory.views import accessibility_layer

    frame, parameters = accessibility_layer(
        ws._store(),
        settings=ws.settings,
        mode=mode,
        kind=zones,
        territory=territory,
        catchment_min=catchment_min,
        decay=decay,
        supply=supply,
    )
    frame.attrs["parametres"] = parameters
    return frame


def export_package(
    ws: Opened,
    *,
    out: str | Path,
    crs: str = "EPSG:2154",
    territories: Sequence[str] | None = None,
    day: date | None = None,
) -> PackageReport:
    """Write the evaluation package: every published layer, styled, with its metadata.

    :func:`territory.evaluation.export_package` (``territory export package``): one
    GeoPackage in Lambert-93 by default with QGIS styles, metadata and, beside it,
    ``datapackage.json`` and ``methodes.md`` (or the three in a ``.zip``). No contact
    table, nothing unpublished.

    Parameters
    ----------
    ws
        From :func:`open_workspace`.
    out
        ``….gpkg`` or ``….zip``.
    crs
        CRS of the layers (``EPSG:…``).
    territories
        Programme territories (together); None: the whole workspace.
    day
        The date written in the package (default: today); the same date, data and
        parameters give the same bytes.

    Returns
    -------
    PackageReport
        Files written, layers and their rows, CRS, parameters hash.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import territory.api as tt
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     report = tt.export_package(tt.open_workspace(demo),
    ...                                out=pathlib.Path(folder) / "evaluation.gpkg")
    ...     report.crs, "contacts" in report.layers
    ('EPSG:2154', False)
    """
    from territory.evaluation import export_package as write_package

    return write_package(
        ws._store(), out, settings=ws.settings, crs=crs, territories=territories, today=day
    )


def export_layer(
    ws: Opened,
    *,
    name: str,
    out: str | Path,
    period: str | None = None,
) -> int:
    """Write one layer (GeoJSON, GeoPackage or CSV by extension), as ``territory export``.

    Parameters
    ----------
    ws
        From :func:`open_workspace`.
    name
        A spatial layer of the workspace (``communes``, ``qpv``, ``partners``…) or
        ``"density"``, the protected density (the contacts themselves never export).
    out
        ``….geojson``, ``….gpkg`` or ``….csv``.
    period
        ``density`` only: a calendar quarter (``"2026-T1"``).

    Returns
    -------
    int
        Features written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import territory.api as tt
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     tt.export_layer(tt.open_workspace(demo), name="communes",
    ...                     out=pathlib.Path(folder) / "communes.geojson") > 0
    True
    """
    from territory.export import export_layer as write_layer

    breakdown = None if period is None else ("periode", period)
    return write_layer(ws._store(), name, out, settings=ws.settings, breakdown=breakdown)
