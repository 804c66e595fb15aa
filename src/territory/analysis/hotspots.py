"""Hot spots of the protected contact density: Getis-Ord Gi* and local Moran.

The analysis reads **only the published density** (privacy.md v2, rules 2 and 4): the
zones of the protected partition (:func:`territory.privacy.protect.partition`) with their
published, perturbed and rounded counts, as :func:`territory.views.density_layer` draws
them. Nothing finer than the partition and no raw count is ever read.

Which zones are analysed
    The grid zones of the partition: 200 m cells of at least k people and the 1 km
    squares that gather the smaller cells of a square. A cell merged into its parent is
    not a zone, so it has no value of its own here either. Zones whose count is hidden
    (under k, or secondary suppression) are **excluded**: they are not points of the
    analysis, their neighbours' weights are computed over the remaining zones
    (re-standardised for local Moran; Gi*'s expectation uses the remaining neighbours),
    and nothing is imputed for them. "Rest of the commune" zones are excluded too: their
    shape is a whole commune laid under the grid, with no location finer than it.
    Places without any contact are not zones of the partition, so the question answered
    is *where, among the places where contacts were made, they concentrate*.

The value
    Contacts per km² of the area the zone counts (the published count divided by 0.04 km²
    for a 200 m cell; for a 1 km zone, by its square less its 200 m cells that are zones
    of their own: those contacts are not in it), so that 200 m cells and 1 km squares
    compare; ``per_km2=False`` analyses the published count itself.

Weights
    ``"queen"`` (default): two zones are neighbours when their grid squares, rebuilt
    exactly from their ids in the grid's own CRS (EPSG:3035), share an edge or a corner
    — queen contiguity on a grid of mixed sizes (a 200 m cell neighbours the 1 km zone
    whose square holds or touches it). ``"distance"``: a fixed band of ``band_m`` metres
    between square centres (:data:`DEFAULT_BAND_M`), ArcGIS's default kind. Weights are
    binary. A zone with no neighbour is an island: class « sans voisin », no statistic.
    Gi* includes the focal zone (weight 1, the "star"); local Moran excludes it and
    row-standardises.

Inference
    Conditional permutations (Anselin 1995): the focal value stays, its neighbours' values
    are drawn without replacement from the other zones, :data:`DEFAULT_PERMUTATIONS` times,
    from a generator seeded with ``seed`` (:data:`DEFAULT_SEED`). The same draws serve every
    zone, as in PySAL esda's ``crand`` (here vectorised in numpy: esda 2.9 without numba
    runs Gi* with 999 permutations on 10,000 cells in about 4 s on these machines, over the
    3 s budget — see ``bench/hotspots.py``, which compares both). The pseudo p-value is
    esda's folded one, ``(min(#≥, #≤) + 1) / (P + 1)``, doubled to be **two-sided** (hot and
    cold spots are both looked for; esda 2.9 warns that its own default is moving to
    ``alternative="two-sided"``) and capped at 1. A zone that no permutation matched (its p
    at the floor ``2 / (P + 1)``) gets ``REFINE_FACTOR`` times more permutations: otherwise,
    over n zones, the false discovery rate could flag nothing until ``n × 2 / (P + 1) /
    alpha`` zones sit at the floor (36 of 900 with 999 permutations), and a compact cluster
    would be lost to the correction rather than to chance. Then **Benjamini-Hochberg**
    across the analysed zones gives ``q``; the class is read from ``q < alpha`` (both ``p``
    and ``q`` are returned, so that the effect of the multiple-testing correction can be
    seen).

Statistics
    Gi*: ``z`` is Getis and Ord's (1995) analytic z-score of ``Σ_j w_ij x_j`` (focal
    included), the figure ArcGIS Pro reports; hot spot when ``q < alpha`` and ``z > 0``,
    cold spot when ``z < 0``. Local Moran: ``z`` is the permutation z of ``I_i``; high-high
    is a hot spot, low-low a cold spot, high-low and low-high are outliers.

With the same seed, Gi* and local Moran give the **same p-values**: with the focal value
held, both statistics are monotone in the neighbours' sum, so the permutations rank them
alike. They differ in the classes: Gi* reads the sign of its z (a high zone among high
neighbours, or a low one among low), local Moran separates the outliers (a high zone among
low neighbours, and the reverse).

Why figures differ from ArcGIS's « Hot Spot Analysis (Getis-Ord Gi*) »: ArcGIS takes
its p-values from the normal approximation of ``z`` (no permutations), uses a fixed
distance band by default chosen so that every feature has a neighbour, applies FDR only
when asked (its classes are then 90/95/99 % confidence bins), and counts the focal
feature in Gi*. Here p comes from conditional permutations, FDR is always applied, the
band is fixed and documented (islands are said, not given a neighbour), and the values
are perturbed, rounded counts on a partition of mixed sizes.

Examples
--------
>>> import geopandas as gpd
>>> from territory.grid import cell_polygons, parent_ids
>>> cells = [(i, j) for i in range(10) for j in range(10)]
>>> ids = [f"CRS3035RES200mN{2_800_000 + 200 * i}E{3_700_000 + 200 * j}" for i, j in cells]
>>> counts = [200 if (i < 3 and j < 3) else 20 + 5 * ((i * 7 + j * 3) % 4) for i, j in cells]
>>> zones = gpd.GeoDataFrame({"zone": ids, "level": "200m", "count": counts,
...     "status": "publié"}, geometry=cell_polygons(pd.Series(ids)).to_numpy(), crs=GRID_CRS)
>>> result = hot_spots(zones)
>>> hot = result.frame["classe"] == HOT
>>> int(hot.sum()), bool(pd.Series(counts)[hot.to_numpy()].eq(200).all())
(6, True)
>>> result.parameters["permutations"], result.parameters["seed"]
(999, 20261207)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from scipy.stats import false_discovery_control

from territory._errors import ValidationError
from territory.crs import GRID_CRS  # noqa: F401  (the doctests use it)
from territory.grid import cell_polygons, parent_ids

__all__ = [
    "CLASSES_FR",
    "COLD",
    "DEFAULT_ALPHA",
    "DEFAULT_BAND_M",
    "DEFAULT_PERMUTATIONS",
    "DEFAULT_SEED",
    "HIGH_LOW",
    "HOT",
    "HOTSPOT_COLUMNS",
    "ISLAND",
    "LOW_HIGH",
    "NOT_SIGNIFICANT",
    "REFINE_FACTOR",
    "HotSpots",
    "Method",
    "Weights",
    "hot_spots",
    "local_gi_star",
    "local_moran",
]

DEFAULT_PERMUTATIONS = 999
"""Conditional permutations per zone (the two-sided pseudo p's floor is 2 / (P + 1))."""
DEFAULT_SEED = 20261207
"""The random generator's seed: the same seed and data give the same p, q and classes."""
DEFAULT_ALPHA = 0.05
"""False-discovery rate under which a zone is a hot or cold spot."""
REFINE_FACTOR = 10
"""Zones whose p sits at the floor of P permutations get ``10 × (P + 1) − 1`` in all."""
DEFAULT_BAND_M = 500.0
"""With ``weights="distance"``: metres between square centres (EPSG:3035) of neighbours."""

HOT = "point chaud"
COLD = "point froid"
HIGH_LOW = "valeur haute isolée"
LOW_HIGH = "valeur basse isolée"
NOT_SIGNIFICANT = "non significatif"
ISLAND = "sans voisin"
CLASSES_FR = (HOT, COLD, HIGH_LOW, LOW_HIGH, NOT_SIGNIFICANT, ISLAND)
"""Every class, in legend order."""
HOTSPOT_COLUMNS = ["zone", "level", "count", "valeur", "voisins", "z", "p", "q", "classe"]
"""The columns of :attr:`HotSpots.frame` (plus ``geometry``)."""

_GRID_LEVELS = ("200m", "1km")
_PUBLISHED = "publié"
_CHUNK = 250_000  # elements of one (permutations × zones) block: 2 MB, reused by the
# allocator (blocks of 4 M elements, 32 MB, were mapped and faulted in afresh each time: a
# département's first Gi* 1.97 → 1.13 s of CPU)

Method = Literal["gi", "moran"]
Weights = Literal["queen", "distance"]


@dataclass(frozen=True)
class HotSpots:
    """Hot spots of a published density and the parameters that made them.

    Attributes
    ----------
    frame
        One row per analysed zone (:data:`HOTSPOT_COLUMNS` and ``geometry`` in the
        input's CRS): ``count`` the published count, ``valeur`` the value analysed,
        ``voisins`` the neighbours in the band, ``z``, ``p`` (two-sided permutation
        pseudo p), ``q`` (Benjamini-Hochberg) and ``classe`` (French, :data:`CLASSES_FR`).
    parameters
        Everything needed to redo the analysis and to cite it (method, weights, band,
        permutations, seed, alpha, correction, zones excluded and why).
    """

    frame: gpd.GeoDataFrame
    parameters: dict[str, Any]


def hot_spots(
    zones: gpd.GeoDataFrame,
    *,
    method: Method = "gi",
    weights: Weights = "queen",
    band_m: float = DEFAULT_BAND_M,
    permutations: int = DEFAULT_PERMUTATIONS,
    seed: int = DEFAULT_SEED,
    alpha: float = DEFAULT_ALPHA,
    per_km2: bool = True,
) -> HotSpots:
    """Gi* or local Moran hot spots of a published density (see the module docs).

    Parameters
    ----------
    zones
        The published density (:func:`territory.views.density_layer`): ``zone``,
        ``level``, ``count`` (NA when hidden), optionally ``status``, and polygons with
        a CRS.
    method
        ``"gi"`` (Getis-Ord Gi*) or ``"moran"`` (local Moran's I).
    weights
        ``"queen"`` (squares touching) or ``"distance"`` (centres within ``band_m``).
    band_m
        Neighbour distance between square centres (metres, EPSG:3035), for
        ``weights="distance"``.
    permutations
        Conditional permutations per zone (at least 99).
    seed
        Seed of the permutations.
    alpha
        False-discovery rate of the classes (0 < alpha < 1).
    per_km2
        Analyse contacts per km² (default) rather than the published count.

    Returns
    -------
    HotSpots
        The analysed zones with ``z``, ``p``, ``q`` and ``classe``, and the parameters.
    """
    if method not in ("gi", "moran"):
        raise ValidationError(f"méthode inconnue « {method} » (attendu : gi, moran)")
    if not 0 < alpha < 1:
        raise ValidationError(f"seuil alpha {alpha} (attendu : entre 0 et 1)")
    if permutations < 99:
        raise ValidationError(f"{permutations} permutations (attendu : au moins 99)")
    if weights not in ("queen", "distance"):
        raise ValidationError(f"pondération inconnue « {weights} » (attendu : queen, distance)")
    if not band_m > 0:
        raise ValidationError(f"distance de voisinage {band_m} m (attendu : plus de 0)")
    if zones.crs is None:
        raise ValidationError("la couche de densité n'a pas de système de coordonnées")
    count = pd.to_numeric(zones["count"], errors="coerce").astype("Float64")
    level = zones["level"].astype(str)
    published = count.notna().to_numpy().copy()
    if "status" in zones:  # the privacy layer's frame; views' layer has the NA counts only
        published &= (zones["status"].astype(str) == _PUBLISHED).to_numpy()
    grid = level.isin(_GRID_LEVELS).to_numpy()
    kept = zones.loc[published & grid]
    squares = cell_polygons(kept["zone"].astype(str)).to_numpy()  # exact, EPSG:3035
    values = count[published & grid].to_numpy(dtype=float)
    if per_km2:
        values = values / _zone_km2(kept["zone"].astype(str), level[published & grid], zones)
    if weights == "queen":
        neighbours = _queen_neighbours(squares)
    else:
        centres = shapely.get_coordinates(shapely.centroid(squares)).reshape(-1, 2)
        neighbours = _band_neighbours(centres, band_m)
    rng = np.random.default_rng(seed)
    if method == "gi":
        z, p = local_gi_star(values, neighbours, permutations=permutations, rng=rng)
        lag_sign = np.sign(z)
        own_sign = np.sign(z)
    else:
        z, p, lag = local_moran(values, neighbours, permutations=permutations, rng=rng)
        own_sign = np.sign(values - values.mean()) if len(values) else values
        lag_sign = np.sign(lag)
    tested = ~np.isnan(p)
    q = np.full(len(p), np.nan)
    if tested.any():
        q[tested] = false_discovery_control(p[tested], method="bh")
    significant = tested & (q < alpha)
    classe = np.where(tested, NOT_SIGNIFICANT, ISLAND).astype(object)
    classe[significant & (own_sign > 0) & (lag_sign > 0)] = HOT
    classe[significant & (own_sign < 0) & (lag_sign < 0)] = COLD
    classe[significant & (own_sign > 0) & (lag_sign < 0)] = HIGH_LOW
    classe[significant & (own_sign < 0) & (lag_sign > 0)] = LOW_HIGH
    frame = gpd.GeoDataFrame(
        {
            "zone": kept["zone"].astype(str).to_numpy(dtype=object),
            "level": level[published & grid].to_numpy(dtype=object),
            "count": pd.array(count[published & grid].round().to_numpy(), dtype="Int64"),
            "valeur": values,
            "voisins": np.array([len(n) for n in neighbours], dtype=np.int64),
            "z": z,
            "p": p,
            "q": q,
            "classe": classe,
        },
        geometry=kept.geometry.to_numpy(),
        crs=zones.crs,
    )
    parameters: dict[str, Any] = {
        "method": "Getis-Ord Gi*" if method == "gi" else "Moran local (LISA)",
        "value": "contacts publiés par km²" if per_km2 else "contacts publiés",
        "weights": (
            (
                "contiguïté reine des carreaux (côté ou coin commun), binaire"
                if weights == "queen"
                else "bande de distance fixe entre centres (EPSG:3035), binaire"
            )
            + (", zone focale incluse (Gi*)" if method == "gi" else ", standardisée en ligne")
        ),
        "band_m": float(band_m) if weights == "distance" else None,
        "permutations": int(permutations),
        "seed": int(seed),
        "inference": "permutations conditionnelles, p bilatéral (pseudo p replié × 2)",
        "correction": "Benjamini-Hochberg (taux de fausses découvertes)",
        "alpha": float(alpha),
        "zones_analysed": len(frame),
        "zones_hidden_excluded": int((~published & grid).sum()),
        "zones_commune_excluded": int((published & ~grid).sum()),
        "islands": int((~tested).sum()),
        "significant_raw": int((tested & (p < alpha)).sum()),
        "significant_fdr": int(significant.sum()),
    }
    # What a legend needs to say how the classes were made (no figure of any zone).
    frame.attrs.update(
        {"alpha": float(alpha), "method": parameters["method"], "permutations": permutations}
    )
    return HotSpots(frame, parameters)


def _zone_km2(ids: pd.Series, levels: pd.Series, zones: gpd.GeoDataFrame) -> Any:
    """Area (km²) each zone counts contacts on: a 1 km zone less its own 200 m zones.

    The 200 m cells of a square that are zones of their own (any status: their ids are on
    the map) are not counted in the square's zone, so its contacts spread over the rest.
    """
    cells = zones.loc[zones["level"].astype(str) == "200m", "zone"].astype(str)
    own = pd.Series(parent_ids(cells) if len(cells) else [], dtype=object).value_counts()
    km = levels.to_numpy() == "1km"
    taken = own.reindex(ids[km].to_numpy()).fillna(0).to_numpy(dtype=float)
    area = np.full(len(ids), 0.04)
    area[km] = np.maximum(1.0 - 0.04 * taken, 0.04)
    return area


def _queen_neighbours(squares: npt.NDArray[np.object_]) -> list[npt.NDArray[np.int64]]:
    """For each square, the indices of the others it touches or overlaps (sorted)."""
    if not len(squares):
        return []
    a, b = shapely.STRtree(squares).query(squares, predicate="intersects")
    pairs = np.column_stack([a, b])[a != b]
    return _lists(pairs, len(squares))


def _lists(pairs: npt.NDArray[Any], n: int) -> list[npt.NDArray[np.int64]]:
    """Neighbour lists from (zone, neighbour) pairs."""
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    pairs = pairs[order]
    splits = np.searchsorted(pairs[:, 0], np.arange(1, n))
    return [x.astype(np.int64) for x in np.split(pairs[:, 1], splits)]


def _band_neighbours(xy: npt.NDArray[np.float64], band_m: float) -> list[npt.NDArray[np.int64]]:
    """For each point, the indices of the others within ``band_m`` (sorted)."""
    if not len(xy):
        return []
    pairs = cKDTree(xy).query_pairs(band_m, output_type="ndarray")
    both = np.concatenate([pairs, pairs[:, ::-1]]) if len(pairs) else np.empty((0, 2), np.int64)
    return _lists(both, len(xy))


def _draws(n: int, size: int, permutations: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """``permutations`` ordered draws of ``size`` distinct zones among ``n``.

    Rows drawn with replacement and redrawn whole while they hold a repeat: a row kept is
    then a uniform ordered draw without replacement (rejection sampling), and for the few
    neighbours of a grid among thousands of zones almost every row is kept at once. When
    ``size`` is a large share of ``n``, one ``choice`` per row.
    """
    if size * 4 > n:
        out = np.empty((permutations, size), dtype=np.int64)
        for row in range(permutations):
            out[row] = rng.choice(n, size=size, replace=False)
        return out
    out = rng.integers(0, n, size=(permutations, size), dtype=np.int64)
    while True:
        ordered = np.sort(out, axis=1)
        repeat = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
        if not repeat.any():
            return out
        out[repeat] = rng.integers(0, n, size=(int(repeat.sum()), size), dtype=np.int64)


def _permuted_sums(
    values: npt.NDArray[np.float64],
    neighbours: list[npt.NDArray[np.int64]],
    permutations: int,
    rng: np.random.Generator,
    subset: npt.NDArray[np.int64] | None = None,
) -> npt.NDArray[np.float64]:
    """Sum of the neighbours' values under each conditional permutation, ``(m, P)``.

    Each permutation is one ordered draw ``d`` of ``k_max + 1`` distinct zones among all
    ``n``, shared by every zone (as esda's ``crand`` shares its draws). Zone ``i`` of
    ``k`` neighbours takes the first ``k + 1`` drawn zones less ``i`` itself when it is
    among them, else less the last of them: exactly the first ``k`` zones of the same
    random order with ``i`` removed, so a uniform draw of ``k`` among the ``n − 1``
    others. The sum is then a prefix sum of the draw minus one value — O(P) per zone
    instead of O(P × k). One row per zone of ``subset`` (every zone by default); NaN
    rows for islands.
    """
    n = len(values)
    rows = np.arange(n) if subset is None else np.asarray(subset, dtype=np.int64)
    cardinality = np.array([len(neighbours[i]) for i in rows], dtype=np.int64)
    k = np.minimum(cardinality, n - 1)
    k_max = int(k.max(initial=0))
    if k_max == 0:
        return np.full((len(rows), permutations), np.nan)
    out = np.empty((len(rows), permutations))  # every row is written below
    draws = _draws(n, k_max + 1, permutations, rng)
    prefix = np.cumsum(values[draws], axis=1)  # sums of the first 1, 2, … drawn zones
    lookup = np.full(n, -1, dtype=np.int64)
    step = max(1, _CHUNK // permutations)
    # Positions in a draw fit a small integer: a quarter of the memory to fill and
    # compare (the chunks' arrays, not the arithmetic, were most of the time).
    small = np.int16 if k_max < np.iinfo(np.int16).max else np.int64
    place = np.empty((permutations, min(step, len(rows))), dtype=small)
    for start in range(0, len(rows), step):
        zones = rows[start : start + step]
        ks = k[start : start + step]
        lookup[zones] = np.arange(len(zones))
        local = lookup[draws]  # each drawn zone's column in this chunk, or -1
        p, t = np.nonzero(local >= 0)
        here = place[:, : len(zones)]
        here.fill(k_max + 1)
        here[p, local[p, t]] = t  # where each zone of the chunk was drawn
        lookup[zones] = -1
        drawn_self = here <= ks[None, :]
        last = values[draws[:, ks]]
        sums = prefix[:, ks] - np.where(drawn_self, values[zones][None, :], last)
        block = out[start : start + step]
        block[...] = sums.T
        block[ks == 0] = np.nan
    return out


def _extremes(
    observed: npt.NDArray[np.float64], simulated: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    """Per row, the permutations at least as extreme as observed, on its own side."""
    larger = np.count_nonzero(simulated >= observed[:, None], axis=1)
    smaller = np.count_nonzero(simulated <= observed[:, None], axis=1)
    extreme: npt.NDArray[np.int64] = np.minimum(larger, smaller).astype(np.int64)
    return extreme


def _two_sided_p(
    observed: npt.NDArray[np.float64],
    simulate: Callable[[int, npt.NDArray[np.int64]], npt.NDArray[np.float64]],
    permutations: int,
    island: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Two-sided pseudo p of every zone, refined where it sits at its floor.

    esda's folded ``(min(#≥, #≤) + 1) / (P + 1)``, doubled, capped at 1. With P
    permutations no p falls below ``2 / (P + 1)``, and then Benjamini-Hochberg over n
    zones needs ``n × 2 / (P + 1) / alpha`` zones at that floor before it flags any: a
    compact cluster in a large field would never show. The zones at the floor (no
    permutation as extreme) therefore get :data:`REFINE_FACTOR` × (P + 1) − (P + 1)
    more permutations from the same generator, and their p is computed over all of
    them. Returns p and the first P simulated statistics ``(n, P)``.
    """
    n = len(observed)
    simulated = simulate(permutations, np.arange(n))
    extreme = _extremes(observed, simulated)
    total = np.full(n, permutations, dtype=np.int64)
    floor = np.flatnonzero((extreme == 0) & ~island)
    if len(floor):
        more = (REFINE_FACTOR - 1) * (permutations + 1)
        extreme[floor] += _extremes(observed[floor], simulate(more, floor))
        total[floor] += more
    p = np.minimum(1.0, 2 * (extreme + 1) / (total + 1))
    return np.where(island, np.nan, p), simulated


def local_gi_star(
    values: npt.ArrayLike,
    neighbours: list[npt.NDArray[np.int64]],
    *,
    permutations: int = DEFAULT_PERMUTATIONS,
    rng: np.random.Generator | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Getis-Ord Gi* (binary weights, focal included): analytic z and permutation p.

    ``z_i = (Σ_j w_ij x_j − x̄ W_i) / (S √((n W_i − W_i²) / (n − 1)))`` with ``W_i`` the
    neighbours plus one (Getis & Ord 1995; binary weights so ``Σ w² = W``). Islands (no
    neighbour) get NaN.

    Examples
    --------
    >>> nb = [np.array([1]), np.array([0, 2]), np.array([1, 3]), np.array([2])]
    >>> z, p = local_gi_star([1.0, 2.0, 9.0, 4.0], nb, permutations=99,
    ...                      rng=np.random.default_rng(0))
    >>> z.round(3).tolist()
    [-1.405, 0.0, 0.973, 1.405]
    """
    x = np.asarray(values, dtype=float)
    n = len(x)
    cardinality = np.array([len(a) for a in neighbours], dtype=float)
    island = cardinality == 0
    z = np.full(n, np.nan)
    p = np.full(n, np.nan)
    if n < 3 or island.all():
        return z, p
    lag = np.array([x[a].sum() for a in neighbours]) + x
    weight = cardinality + 1
    mean = x.mean()
    spread = np.sqrt((x**2).mean() - mean**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (lag - mean * weight) / (spread * np.sqrt((n * weight - weight**2) / (n - 1)))
    z[island] = np.nan
    generator = rng if rng is not None else np.random.default_rng(DEFAULT_SEED)

    def simulate(count: int, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        sums: npt.NDArray[np.float64] = _permuted_sums(x, neighbours, count, generator, rows)
        sums += x[rows, None]
        return sums

    p, _ = _two_sided_p(lag, simulate, permutations, island)
    if spread == 0:  # a constant field: nothing stands out
        z = np.where(island, np.nan, 0.0)
        p = np.where(island, np.nan, 1.0)
    return z, p


def local_moran(
    values: npt.ArrayLike,
    neighbours: list[npt.NDArray[np.int64]],
    *,
    permutations: int = DEFAULT_PERMUTATIONS,
    rng: np.random.Generator | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Local Moran's I (row-standardised weights): permutation z, two-sided p, spatial lag.

    ``I_i = (x_i − x̄) Σ_j w_ij (x_j − x̄) / m2`` with ``m2 = Σ (x − x̄)² / (n − 1)``
    (Anselin 1995, as PySAL esda computes it). The lag (mean of the neighbours' deviations)
    gives the quadrant. Islands get NaN.

    Examples
    --------
    >>> nb = [np.array([1]), np.array([0, 2]), np.array([1, 3]), np.array([2])]
    >>> z, p, lag = local_moran([1.0, 2.0, 9.0, 4.0], nb, permutations=99,
    ...                         rng=np.random.default_rng(0))
    >>> lag.tolist()
    [-2.0, 1.0, -1.0, 5.0]
    """
    x = np.asarray(values, dtype=float)
    n = len(x)
    cardinality = np.array([len(a) for a in neighbours], dtype=float)
    island = cardinality == 0
    nan = np.full(n, np.nan)
    if n < 3 or island.all():
        return nan, nan.copy(), nan.copy()
    deviation = x - x.mean()
    m2 = (deviation**2).sum() / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        lag = np.array([deviation[a].sum() for a in neighbours]) / cardinality
        observed = deviation * lag / m2
        generator = rng if rng is not None else np.random.default_rng(DEFAULT_SEED)

        def simulate(count: int, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
            sums = _permuted_sums(deviation, neighbours, count, generator, rows)
            scale = deviation[rows, None] / cardinality[rows, None] / m2
            out: npt.NDArray[np.float64] = sums * scale
            return out

        p, simulated = _two_sided_p(observed, simulate, permutations, island)
        z = (observed - simulated.mean(axis=1)) / simulated.std(axis=1, ddof=1)
    z[island] = np.nan
    lag[island] = np.nan
    if m2 == 0:
        z = np.where(island, np.nan, 0.0)
        p = np.where(island, np.nan, 1.0)
    return z, p, lag
