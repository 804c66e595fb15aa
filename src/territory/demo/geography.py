"""The fictional territory: its outline, communes, density levels, names, codes and QPV.

Everything is built in Lambert-93 (:data:`territory.crs.METRIC_CRS`): an outline, urban
cores, commune seeds by Lloyd iterations (:func:`_lloyd_seeds`), their Voronoi cells bent
by a smooth warp (:func:`_warp_field`), INSEE density levels decreasing away from the
towns, populations, unique French-looking names, INSEE-style codes and EPCI; then the QPV
(:func:`place_qpv`) in the urban communes.

Nothing can be mistaken for real data: the territory is named "fictif", communes are in
the never-assigned département ``00`` (and ``96`` beyond 999 communes), EPCI SIRENs are
``2000000xx`` and QPV codes ``QN000xxM`` (``QN096xxM``).

A commune code is the département's two digits and a three-digit serial, so a département
holds at most 999 communes, and only two prefixes were never given to any département:
``00`` and ``96``. Beyond 1,998 communes (the regional scale,
:meth:`territory.demo.scale.DemoScale.region`), the generator takes the two prefixes that
no current commune can have either: ``20``, retired in 1976 when Corsica became ``2A`` /
``2B``, and ``99``, which INSEE gives to countries abroad (places of birth), never to a
commune. That makes at most 3,996 communes in four fictional départements, from west to
east ``00``, ``20``, ``99``, ``96`` (``00`` and ``96`` alone up to 1,998, as before).
Their QPV codes are ``QN0ddnnM`` with the département's two digits (``QN020``, ``QN099``
never existed: Corsica's are ``QN02A`` / ``QN02B``), and three-digit serials
``QN0ddnnnM`` when more than 99 QPV per département are asked; the postcodes of ``20``
start with ``00``, as Corsica's still start with ``20``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import Transformer

from territory._errors import ValidationError
from territory.crs import METRIC_CRS, STORAGE_CRS

__all__ = [
    "DEPARTEMENTS",
    "TOWN_NAME",
    "TO_WGS84",
    "Floats",
    "Ints",
    "Objects",
    "Territory",
    "bounds",
    "distances",
    "make_territory",
    "place_qpv",
]

TOWN_NAME = "Ardoise-la-Ville"
"""The main town's name."""
DEPARTEMENTS = ("00", "96", "20", "99")  # no current commune code starts with these
"""Fictional département prefixes, in the order they are taken (see the module docs)."""
_DEP_NAMES = {
    "00": "Département fictif",
    "96": "Département fictif de l'Est",
    "20": "Département fictif des Confins",
    "99": "Département fictif des Marches",
}

_CENTER_LONLAT = (2.75, 46.45)
_TO_L93 = Transformer.from_crs(STORAGE_CRS, METRIC_CRS, always_xy=True)
TO_WGS84 = Transformer.from_crs(METRIC_CRS, STORAGE_CRS, always_xy=True)
"""Lambert-93 to longitude / latitude, as every source file is written."""
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Objects = npt.NDArray[np.object_]


@dataclass
class Territory:
    """Communes and urban cores in Lambert-93."""

    geoms: Objects
    centre: Floats  # (n, 2) village centres, inside their commune
    cores: Floats  # (c, 2) town centres; row 0 is the main town
    core_host: Ints  # commune holding each core
    level: Ints
    inner: shapely.Geometry  # the territory shrunk by 100 m: safe for random points
    population: Ints = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    names: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    deps: list[str] = field(default_factory=list)
    epci: list[str] = field(default_factory=list)
    tree: shapely.STRtree = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.tree = shapely.STRtree(self.geoms)

    def locate(self, xy: Floats) -> Ints:
        """Index of the commune holding each point of an (n, 2) array, -1 outside."""
        pt, com = self.tree.query(shapely.points(xy), predicate="within")
        out = np.full(len(xy), -1, dtype=np.int64)
        out[pt] = com
        return out


def bounds(geom: shapely.Geometry) -> tuple[Floats, Floats]:
    """The lower-left and upper-right corners of a geometry's box."""
    b = np.asarray(shapely.bounds(geom), dtype=float)
    return b[:2], b[2:]


def make_territory(rng: np.random.Generator, n: int) -> Territory:
    """Outline, urban cores, Voronoi communes, density levels, names, populations, EPCI."""
    s = (n / 40) ** 0.375  # linear size: commune areas shrink slowly as the count grows
    cx, cy = _TO_L93.transform(*_CENTER_LONLAT)
    theta = np.linspace(0, 2 * np.pi, 256, endpoint=False)
    k = np.arange(2, 6)[:, None]
    r = 1 + (rng.uniform(0.02, 0.06, (4, 1)) * np.cos(k * theta + rng.uniform(0, 7, (4, 1)))).sum(0)
    outline = shapely.Polygon(
        np.c_[cx + 20e3 * s * r * np.cos(theta), cy + 15e3 * s * r * np.sin(theta)]
    )
    # The main town near the centre, then smaller towns spread apart (one more per 150 communes).
    n_cores = 2 + n // 150
    cores = [np.array([cx, cy]) + rng.normal(0, 1500, 2)]
    inside = outline.buffer(-6e3 * s)
    gap = max(11e3, 0.6 * np.sqrt(outline.area / n_cores))
    while len(cores) < n_cores:
        cand = rng.uniform(*bounds(inside), size=(64, 2))
        cand = cand[shapely.contains_xy(inside, cand[:, 0], cand[:, 1])]
        far = distances(cand, np.array(cores)).min(axis=1) > gap
        if far.any():
            cores.append(cand[np.argmax(far)])
        gap *= 0.98  # relax until every core fits
    core_xy = np.array(cores)
    # Communes expected around each core, where cells are ~3 km2 (a ring of small communes).
    around = np.r_[10 * (n / 40) ** 0.55, rng.uniform(1.8, 4.2, n_cores - 1) * (n / 40) ** 0.3]
    sigma = 1800 * np.sqrt(around / 10)
    seeds = _lloyd_seeds(rng, outline, core_xy, sigma, around.round(), n + 3)
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=outline, ordered=True)
    geoms = shapely.intersection(shapely.get_parts(cells), outline)
    town = np.argsort(distances(seeds, core_xy[:1])[:, 0])[:4]  # the main town: 4 central cells
    geoms[town[0]] = shapely.coverage_union_all(geoms[town])
    seeds[town[0]] = core_xy[0]
    keep = np.setdiff1d(np.arange(n + 3), town[1:])
    warp = _warp_field(rng)
    geoms = shapely.transform(np.array([_densify(g, 150.0) for g in geoms[keep]]), warp)
    seeds, core_xy = warp(seeds[keep]), warp(core_xy)
    ok = shapely.contains_xy(geoms, seeds[:, 0], seeds[:, 1])
    centre = np.where(ok[:, None], seeds, shapely.get_coordinates(shapely.point_on_surface(geoms)))
    inner = shapely.coverage_union_all(geoms).buffer(-100)
    terr = Territory(
        geoms, centre, core_xy, np.zeros(n_cores, np.int64), np.zeros(n, np.int64), inner
    )
    terr.core_host = terr.locate(core_xy)
    _levels(rng, terr, distances(centre, core_xy) / sigma)
    _populate(rng, terr)
    return terr


def distances(a: Floats, b: Floats) -> Floats:
    """(len(a), len(b)) matrix of distances between two point arrays."""
    return np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])


def _lloyd_seeds(
    rng: np.random.Generator,
    outline: shapely.Geometry,
    cores: Floats,
    sigma: Floats,
    around: Floats,
    n: int,
) -> Floats:
    """Commune seeds, denser near the cores, by Lloyd iterations (k-means) on samples.

    Lloyd centres settle with a density proportional to the square root of the sample
    density, so the Gaussian amplitudes are set from the commune counts wanted around each
    core, and the start already has those counts (Lloyd moves mass slowly).
    """
    background = n - around.sum()
    amp = (around / background * outline.area / (4 * np.pi * sigma**2)) ** 2

    def sample(mass: Floats, spread: Floats, m: int) -> Floats:
        comp = rng.choice(len(mass), size=m, p=mass / mass.sum())
        pts = rng.uniform(*bounds(outline), (m, 2))
        g = comp > 0
        pts[g] = cores[comp[g] - 1] + rng.normal(size=(g.sum(), 2)) * spread[comp[g] - 1, None]
        return cast("Floats", pts[shapely.contains_xy(outline, pts[:, 0], pts[:, 1])])

    start = sample(np.r_[background, around], sigma * np.sqrt(2), 4 * n)
    centres = start[rng.choice(len(start), n, replace=False)]
    pts = sample(np.r_[outline.area, amp * 2 * np.pi * sigma**2], sigma, 40 * n)
    samples = shapely.points(pts)
    for _ in range(10):
        near = shapely.STRtree(shapely.points(centres)).query_nearest(samples, all_matches=False)[1]
        count = np.bincount(near, minlength=n)
        for d in range(2):
            total = np.bincount(near, weights=pts[:, d], minlength=n)
            centres[:, d] = np.where(count > 0, total / np.maximum(count, 1), centres[:, d])
    return np.round(centres, 2)


def _densify(geom: shapely.Geometry, step: float) -> shapely.Geometry:
    """Add vertices every ``step`` metres, bit-identical on both sides of a shared edge.

    ``shapely.segmentize`` interpolates from each ring's own direction, so neighbours
    would get vertices a few ulps apart; here each segment is split from its
    lexicographically smaller end.
    """

    def ring(c: Floats) -> Floats:
        p, q = c[:-1], c[1:]
        swap = (p[:, 0] > q[:, 0]) | ((p[:, 0] == q[:, 0]) & (p[:, 1] > q[:, 1]))
        a, b = np.where(swap[:, None], q, p), np.where(swap[:, None], p, q)
        m = np.maximum(1, np.ceil(np.hypot(*(b - a).T) / step)).astype(np.int64)
        seg = np.repeat(np.arange(len(p)), m)
        j = np.arange(m.sum()) - np.repeat(np.cumsum(m) - m, m)  # position from p
        jc = np.where(swap[seg], m[seg] - j, j)  # the same position counted from a
        pts = np.where(
            (j == 0)[:, None], p[seg], a[seg] + (b[seg] - a[seg]) * (jc / m[seg])[:, None]
        )
        return np.vstack([pts, pts[:1]])

    polys = [
        shapely.Polygon(
            ring(shapely.get_coordinates(pl.exterior)),
            [ring(shapely.get_coordinates(h)) for h in pl.interiors],
        )
        for pl in shapely.get_parts(geom)
    ]
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def _warp_field(rng: np.random.Generator) -> Callable[[Floats], Floats]:
    """A smooth displacement that bends straight borders, one-to-one (Jacobian norm < 1)."""
    wave = np.r_[rng.uniform(4_000, 8_000, 3), rng.uniform(1_200, 2_400, 3)]
    amp = np.r_[np.full(3, 80.0), np.full(3, 20.0)]  # |gradient| <= 0.38 + 0.31 per axis
    angle = rng.uniform(0, np.pi, (2, 6))
    phase = rng.uniform(0, 2 * np.pi, (2, 6))

    def warp(c: Floats) -> Floats:
        out = np.array(c, dtype=float)
        for d in range(2):
            arg = (c[:, :1] * np.cos(angle[d]) + c[:, 1:2] * np.sin(angle[d])) / wave
            out[:, d] += (amp * np.sin(2 * np.pi * arg + phase[d])).sum(axis=1)
        return out

    return warp


def _levels(rng: np.random.Generator, terr: Territory, dist: Floats) -> None:
    """INSEE density levels, decreasing with the (core-scaled) distance to the towns."""
    n, near = len(dist), dist.min(axis=1)
    level = np.zeros(n, dtype=np.int64)
    level[np.argsort(dist[:, 0])[: max(1, round(0.02 * n))]] = 1
    level[terr.core_host[0]] = 1
    level[terr.core_host[1:][level[terr.core_host[1:]] == 0]] = 2
    free = np.flatnonzero(level == 0)
    level[free[np.argsort(near[free])][: max(2, round(0.12 * n))]] = 3
    free = np.flatnonzero(level == 0)  # small towns and bourgs: scattered, rather nearer
    n4, n5 = max(1, round(0.05 * n)), max(1, round(0.2 * n))
    p = np.exp(-near[free] / np.median(near[free]))
    pick = rng.choice(free, n4 + n5, replace=False, p=p / p.sum())
    level[pick[:n4]], level[pick[n4:]] = 4, 5
    free = np.flatnonzero(level == 0)
    order = free[np.argsort(near[free])]
    level[order[: round(0.55 * len(free))]] = 6
    level[order[round(0.55 * len(free)) :]] = 7
    terr.level = level


_POP_RANGE = {
    1: (9e3, 26e3),
    2: (9e3, 22e3),
    3: (2.5e3, 9e3),
    4: (1.8e3, 4.5e3),
    5: (700, 2e3),
    6: (220, 800),
    7: (70, 260),
}
_STARTS = (
    "Ardol",
    "Brel",
    "Cal",
    "Fict",
    "Gren",
    "Lor",
    "Morv",
    "Pel",
    "Quen",
    "Ros",
    "Sarv",
    "Taur",
    "Vel",
    "Vir",
    "Orb",
    "Chaml",
    "Dral",
    "Fen",
    "Gland",
    "Lisb",
    "Noir",
    "Tiv",
    "Ambr",
    "Bourl",
    "Cléd",
    "Escl",
    "Jarn",
    "Mervil",
    "Pontr",
    "Tréb",
)
_ENDS = (
    "ac",
    "ières",
    "ange",
    "ay",
    "iers",
    "oux",
    "elle",
    "ignac",
    "ois",
    "ain",
    "eux",
    "ard",
    "eville",
    "ecourt",
    "emont",
    "ival",
    "ouze",
    "y",
)
_QUALIFIERS = (
    "-sur-Ardoise",
    "-le-Fictif",
    "-en-Vallée",
    "-les-Bois",
    "-lès-Ardoise",
    "-la-Fictive",
)


def _departements(count: int) -> tuple[str, ...]:
    """The prefixes of ``count`` fictional départements, from west to east.

    ``00`` stays the first and ``96`` the last (the east), as in the smaller territories;
    the others come in between.

    Examples
    --------
    >>> _departements(1), _departements(2), _departements(4)
    (('00',), ('00', '96'), ('00', '20', '99', '96'))
    """
    if not 1 <= count <= len(DEPARTEMENTS):
        raise ValidationError(f"{count} départements fictifs demandés, {len(DEPARTEMENTS)} au plus")
    if count == 1:
        return DEPARTEMENTS[:1]
    return (DEPARTEMENTS[0], *DEPARTEMENTS[2:count], DEPARTEMENTS[1])


def _commune_codes(x: Floats, names: list[str]) -> tuple[list[str], list[str]]:
    """Département and INSEE-style code of each commune, from its easting and its name.

    Départements of up to 999 communes in strips from west to east (:func:`_departements`),
    codes numbered from 001 in the alphabetical order of the names in each.

    Examples
    --------
    >>> _commune_codes(np.array([3.0, 1.0, 2.0]), ["Brel", "Cal", "Ardol"])
    (['00', '00', '00'], ['00002', '00003', '00001'])
    """
    n = len(names)
    prefixes = _departements(-(-n // 999))
    rank = np.argsort(np.argsort(x, kind="stable"), kind="stable")
    dep = rank * len(prefixes) // n
    codes = [""] * n
    for d, prefix in enumerate(prefixes):
        for j, i in enumerate(sorted(np.flatnonzero(dep == d), key=lambda i: names[i]), start=1):
            codes[i] = f"{prefix}{j:03d}"
    return [prefixes[d] for d in dep], codes


def _all_town_names() -> list[str]:
    """Every name the town-name parts can make, in a fixed order (11,340 of them)."""
    return [
        saint + start + end + qualifier
        for saint in ("", "Saint-", "Sainte-")
        for start in _STARTS
        for end in _ENDS
        for qualifier in ("", *_QUALIFIERS)
    ]


def _populate(rng: np.random.Generator, terr: Territory) -> None:
    """Populations, unique names, codes (alphabetical per département) and EPCI."""
    n = len(terr.level)
    lo, hi = np.array([_POP_RANGE[int(lv)] for lv in terr.level]).T
    pop = np.exp(rng.uniform(np.log(lo), np.log(hi)))
    pop[terr.core_host[0]] = rng.uniform(42e3, 58e3) * (n / 40) ** 0.25
    terr.population = np.round(pop).astype(np.int64)
    m = 8 * n
    cand = [
        ("Saint-" if u < 0.12 else "Sainte-" if u < 0.16 else "") + a + e + (q if u > 0.65 else "")
        for a, e, q, u in zip(
            rng.choice(_STARTS, m),
            rng.choice(_ENDS, m),
            rng.choice(_QUALIFIERS, m),
            rng.uniform(size=m),
            strict=True,
        )
    ]
    names = [c for c in dict.fromkeys(cand) if c != TOWN_NAME]
    if len(names) < n - 1:  # large territories: the combinations not drawn, shuffled
        drawn = {*names, TOWN_NAME}
        spare = [c for c in _all_town_names() if c not in drawn]
        names += [spare[i] for i in rng.permutation(len(spare))]
    terr.names = names[: n - 1]
    terr.names.insert(int(terr.core_host[0]), TOWN_NAME)
    terr.deps, terr.codes = _commune_codes(terr.centre[:, 0], terr.names)
    # EPCI: Lloyd iterations on village centres, started at the towns.
    k = min(99, 3 if n <= 60 else round(n / 30))
    start = list(dict.fromkeys([*terr.core_host.tolist(), *rng.permutation(n).tolist()]))[:k]
    centres = terr.centre[start]
    for _ in range(8):
        near = np.argmin(distances(terr.centre, centres), axis=1)
        for j in range(k):
            if (near == j).any():
                centres[j] = terr.centre[near == j].mean(axis=0)
    size = np.bincount(near, minlength=k) + n * (np.arange(k) == near[terr.core_host[0]])
    rank = np.argsort(np.argsort(-size, kind="stable"), kind="stable")  # the town's EPCI first
    terr.epci = [f"{200000001 + rank[j]}" for j in near]


# --- QPV --------------------------------------------------------------------------------

_QPV_NAMES = (
    "Les Tilleuls",
    "La Chênaie",
    "Les Hauts de l'Ardoise",
    "Le Clos Fleuri",
    "Les Peupliers",
    "La Source",
    "Les Marronniers",
    "Le Plateau",
    "Les Glycines",
    "Bellevue",
    "Les Tisserands",
    "Le Moulin Neuf",
    "La Croix des Ardoisiers",
    "Les Coteaux",
    "Le Champ Fleuri",
)


_HOST_PATIENCE = 40


def _near(
    geom: shapely.Geometry, others: list[shapely.Geometry], boxes: Floats, gap: float
) -> bool:
    """Whether ``geom`` is closer than ``gap`` to one of ``others`` (their ``boxes`` given)."""
    x0, y0, x1, y1 = geom.bounds
    close = np.flatnonzero(
        (boxes[:, 0] < x1 + gap)
        & (boxes[:, 2] > x0 - gap)
        & (boxes[:, 1] < y1 + gap)
        & (boxes[:, 3] > y0 - gap)
    )
    return any(geom.distance(others[i]) < gap for i in close)


def place_qpv(
    rng: np.random.Generator, terr: Territory, n: int
) -> tuple[list[shapely.Geometry], list[dict[str, Any]]]:
    """QPV 2024 of 30-120 ha in urban communes; the first spans the town and a neighbour.

    Each QPV is drawn in a host commune picked by population (the main town every fourth
    try), and kept when it is large enough and at least 150 m from the others. The
    placement stops after 500 misses in a row, or when the QPV asked are there.
    """
    if n == 0:
        return [], []
    urban = np.flatnonzero(terr.level <= 3)
    main = int(terr.core_host[0])
    touch = terr.tree.query(terr.geoms[main], predicate="intersects")
    nbrs = [int(i) for i in touch if i != main and (terr.level[i] <= 3 or urban.size < 3)]
    edges = [terr.geoms[main].boundary.intersection(terr.geoms[i].boundary) for i in nbrs]
    pair = int(np.argmax([e.length for e in edges]))
    first = shapely.line_interpolate_point(shapely.line_merge(edges[pair]), 0.5, normalized=True)
    hosts = urban[np.argsort(-terr.population[urban], kind="stable")]
    weight = terr.population[hosts] ** 1.5
    misses = np.zeros(len(hosts), dtype=np.int64)  # in a row, per host
    ang = np.linspace(0, 2 * np.pi, 28, endpoint=False)
    polys: list[shapely.Geometry] = []
    boxes = np.empty((n, 4))  # bounds of the QPV placed, for the distance check
    hosts_of: list[int] = []
    # Two-digit serials (QN000xxM, as the real ones), three when more are asked.
    n_dep = len(set(terr.deps))
    last_serial = 99 if n <= 99 * n_dep else 999
    # Give up after 500 misses in a row. With three-digit serials (the regional scale),
    # a host that missed _HOST_PATIENCE times in a row is full and no longer drawn, and the
    # patience is longer (the smaller territories keep their QPV, byte for byte).
    large = last_serial > 99
    patience, host_patience = (5_000, _HOST_PATIENCE) if large else (500, np.inf)
    placed: dict[str, int] = dict.fromkeys(terr.deps, 0)  # QPV per département

    def missed(k: int) -> None:
        misses[k] += 1
        weight[k] *= misses[k] < host_patience

    last = 0  # the try that placed the last QPV
    for tries in range(100 * n):
        if len(polys) == n or tries - last > patience or not weight.any():
            break
        radius = np.sqrt(rng.uniform(45e4, 110e4) / np.pi)
        if polys:
            k = int(
                0
                if tries % 4 == 0 and weight[0]
                else rng.choice(len(hosts), p=weight / weight.sum())
            )
            host = int(hosts[k])
            room = terr.geoms[host].buffer(-0.6 * radius)
            centre = rng.uniform(*bounds(room)) if not room.is_empty else np.zeros(2)
            if room.is_empty or not shapely.contains_xy(room, *centre):
                missed(k)
                continue
            clip = terr.geoms[host]
        else:
            k, host, centre = -1, main, shapely.get_coordinates(first)[0]
            clip = terr.geoms[main].union(terr.geoms[nbrs[pair]])
        noise = 1 + 0.18 * np.sin(2 * ang + rng.uniform(0, 6)) + rng.uniform(-0.06, 0.06, 28)
        blob = shapely.Polygon(centre + np.c_[np.cos(ang), np.sin(ang)] * (radius * noise)[:, None])
        poly = blob.intersection(clip.buffer(-20))
        if (
            poly.area >= 30e4
            and poly.geom_type == "Polygon"
            and placed[terr.deps[host]] < last_serial
            and not _near(poly, polys, boxes[: len(polys)], 150.0)
        ):
            boxes[len(polys)] = poly.bounds
            polys.append(poly)
            hosts_of.append(host)
            placed[terr.deps[host]] += 1
            last = tries
            if k >= 0:
                misses[k] = 0
        elif k >= 0:
            missed(k)
    props = []
    for i, poly in enumerate(polys):
        cand = terr.tree.query(poly, predicate="intersects")
        share = shapely.area(shapely.intersection(terr.geoms[cand], poly)) / poly.area
        com = cand[share > 0.01][np.argsort(-share[share > 0.01], kind="stable")]
        dep = terr.deps[hosts_of[i]]
        serial = sum(terr.deps[h] == dep for h in hosts_of[: i + 1])
        lap = f" {i // len(_QPV_NAMES) + 1}" if i >= len(_QPV_NAMES) else ""
        props.append(
            {
                "code_qp": f"QN0{dep}{serial:0{len(str(last_serial))}d}M",
                "lib_qp": f"{_QPV_NAMES[i % len(_QPV_NAMES)]}{lap} – Fictif",
                "insee_reg": "00",
                "lib_reg": "Région fictive",
                "insee_dep": dep,
                "lib_dep": _DEP_NAMES[dep],
                "insee_com": ", ".join(terr.codes[c] for c in com),
                "lib_com": ", ".join(terr.names[c] for c in com),
                "siren_epci": terr.epci[com[0]],
            }
        )
    return polys, props
