"""A deterministic, clearly fictional demo territory, written as source files.

The demo goes through the same importers as real data, so this module only *writes*
files, in the official or team formats: communes (geo.api.gouv.fr GeoJSON), the INSEE
7-level density grid (CSV), QPV 2024 (GeoJSON), a team's partner list (French CSV), a
GTFS feed and a street team's contact export (French CSV). Everything is built in
Lambert-93 (EPSG:2154) and written in EPSG:4326 with 6 decimals; the same seed and scale
give byte-identical files (with the same library versions).

Nothing can be mistaken for real data: the territory is named "fictif", communes are in
the never-assigned département ``00`` (and ``96`` beyond 999 communes), EPCI SIRENs are
``2000000xx``, QPV codes ``QN000xxM`` (``QN096xxM``) and phones ``01 99 00 xx xx``.

A commune code is the département's two digits and a three-digit serial, so a département
holds at most 999 communes, and only two prefixes were never given to any département:
``00`` and ``96``. Beyond 1,998 communes (the regional scale, :meth:`DemoScale.region`),
the generator takes the two prefixes that no current commune can have either: ``20``,
retired in 1976 when Corsica became ``2A`` / ``2B``, and ``99``, which INSEE gives to
countries abroad (places of birth), never to a commune. That makes at most 3,996 communes
in four fictional départements, from west to east ``00``, ``20``, ``99``, ``96`` (``00``
and ``96`` alone up to 1,998, as before). Their QPV codes are ``QN0ddnnM`` with the
département's two digits (``QN020``, ``QN099`` never existed: Corsica's are ``QN02A`` /
``QN02B``), and three-digit serials ``QN0ddnnnM`` when more than 99 QPV per département are
asked; the postcodes of ``20`` start with ``00``, as Corsica's still start with ``20``.

The contact export holds a few malformed rows on purpose, about 0.1 % of the rows per
kind (20 each at the default scale; exact counts in :attr:`DemoSources.malformed`):

- ``date_impossible``: a date that does not exist, e.g. ``31/02/2026 14:00``;
- ``coordonnees_vides``: empty longitude and latitude;
- ``hors_territoire``: a valid point in western France, far outside the territory;
- ``lat_lon_inversees``: the latitude written in the longitude column and vice versa;
- ``statut_inconnu``: the status ``à recontacter``, which is not in the team's list.

Examples
--------
>>> import tempfile
>>> sources = write_demo_sources(Path(tempfile.mkdtemp()), scale=DemoScale(contacts=500))
>>> sources.territory_name
"Territoire fictif de la Vallée de l'Ardoise"
>>> sources.contacts.name
'contacts.csv'
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import Transformer

from territory._errors import ValidationError
from territory.crs import METRIC_CRS
from territory.io.report import ImportReport
from territory.settings import Settings

DEMO_NAME = "Territoire fictif de la Vallée de l'Ardoise"
TOWN_NAME = "Ardoise-la-Ville"
DEPARTEMENTS = ("00", "96", "20", "99")  # no current commune code starts with these
"""Fictional département prefixes, in the order they are taken (see the module docs)."""
_DEP_NAMES = {
    "00": "Département fictif",
    "96": "Département fictif de l'Est",
    "20": "Département fictif des Confins",
    "99": "Département fictif des Marches",
}
_POSTCODE_PREFIX = {"20": "00"}  # Corsica's postcodes still start with 20
DENSITY_LABELS = {
    1: "Grands centres urbains",
    2: "Centres urbains intermédiaires",
    3: "Ceintures urbaines",
    4: "Petites villes",
    5: "Bourgs ruraux",
    6: "Rural à habitat dispersé",
    7: "Rural à habitat très dispersé",
}
STATUTS = (
    "premier contact",
    "contact répété",
    "hors radars",
    "entrée en parcours",
    "accompagné",
    "sortie positive",
)
MALFORMED_KINDS = (
    "date_impossible",
    "coordonnees_vides",
    "hors_territoire",
    "lat_lon_inversees",
    "statut_inconnu",
)
CONTACTS_END = pd.Timestamp("2026-10-31")
GTFS_START, GTFS_END = "20250901", "20270831"

_CENTER_LONLAT = (2.75, 46.45)
_TO_L93 = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
_TO_WGS84 = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
_Floats = npt.NDArray[np.float64]
_Ints = npt.NDArray[np.int64]
_Objects = npt.NDArray[np.object_]


@dataclass(frozen=True)
class DemoScale:
    """Size of the demo; the defaults make a small intercommunal territory.

    Attributes
    ----------
    communes
        Number of communes, 7 to 3,996 (999 per fictional département: one up to 999,
        two up to 1,998, four beyond).
    qpv
        Number of QPV wanted, up to 3,996; an upper bound, as a QPV with no room left in
        the urban communes is left out (a few dozen fit in the default territory, about
        a thousand in the regional one).
    partners, contacts
        Rows of the partner list and of the contact export.
    months
        Months of contacts, ending on :data:`CONTACTS_END`.
    """

    communes: int = 40
    qpv: int = 4
    partners: int = 25
    contacts: int = 20_000
    months: int = 12

    def __post_init__(self) -> None:
        problems = [
            f"{name} doit être entre {lo} et {hi}, reçu {value}"
            for name, value, lo, hi in [
                ("communes", self.communes, 7, 999 * len(DEPARTEMENTS)),
                ("qpv", self.qpv, 0, 999 * len(DEPARTEMENTS)),
                ("partners", self.partners, 3, 10_000),
                ("contacts", self.contacts, 1, 10_000_000),
                ("months", self.months, 1, 36),
            ]
            if not lo <= value <= hi
        ]
        if problems:
            raise ValidationError(problems)

    @classmethod
    def departement(cls) -> DemoScale:
        """A benchmark with the commune count of Nord + Pas-de-Calais and 1 M contacts."""
        return cls(communes=1_550, qpv=160, partners=500, contacts=1_000_000)

    @classmethod
    def region(cls) -> DemoScale:
        """A regional benchmark: the most communes the fictional codes allow, 1 M contacts.

        3,996 communes in four fictional départements (a region such as
        Auvergne-Rhône-Alpes or Hauts-de-France has 3,800-4,000), 1,600 QPV asked (all of
        France has about 1,600; 1,039 find room in the urban communes with the default
        seed) and 1,500 partners. About 90 s of processor time to build.
        """
        return cls(communes=999 * len(DEPARTEMENTS), qpv=1_600, partners=1_500, contacts=1_000_000)

    @classmethod
    def named(cls, name: str) -> DemoScale:
        """The preset called ``name``: ``"demo"``, ``"departement"`` or ``"region"``.

        Examples
        --------
        >>> DemoScale.named("region").communes
        3996
        >>> DemoScale.named("pays")
        Traceback (most recent call last):
        ...
        territory._errors.ValidationError: échelle « pays » inconnue (demo, departement, region)
        """
        presets: dict[str, Callable[[], DemoScale]] = {
            "demo": cls,
            "departement": cls.departement,
            "region": cls.region,
        }
        if name not in presets:
            raise ValidationError(f"échelle « {name} » inconnue ({', '.join(presets)})")
        return presets[name]()


@dataclass(frozen=True)
class DemoSources:
    """The files written, and facts an import of them can be checked against.

    Attributes
    ----------
    malformed
        Number of deliberately malformed rows of ``contacts``, per kind (see the module
        docs); empty when there are too few contacts to spoil.
    """

    territory_name: str
    communes: Path
    density: Path
    qpv: Path
    partners: Path
    gtfs: Path
    contacts: Path
    malformed: Mapping[str, int] = field(default_factory=dict, hash=False)


def write_demo_sources(
    out_dir: Path, *, seed: int = 2026, scale: DemoScale | None = None
) -> DemoSources:
    """Write the fictional territory's source files into ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder to write into, created if missing; demo files already there are replaced.
    seed
        Seed of :func:`numpy.random.default_rng`: the same seed gives the same bytes.
    scale
        Size of the territory, :class:`DemoScale` defaults if omitted;
        :meth:`DemoScale.departement` is the benchmark (about 20 s, 80 MB of files).

    Returns
    -------
    DemoSources
        Paths of ``communes.geojson``, ``densite.csv``, ``qpv.geojson``,
        ``partenaires.csv``, ``gtfs.zip`` and ``contacts.csv``.
    """
    scale = scale or DemoScale()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "communes": out_dir / "communes.geojson",
        "density": out_dir / "densite.csv",
        "qpv": out_dir / "qpv.geojson",
        "partners": out_dir / "partenaires.csv",
        "gtfs": out_dir / "gtfs.zip",
        "contacts": out_dir / "contacts.csv",
    }
    rng = np.random.default_rng(seed).spawn(5)  # one stream per file family
    terr = _territory(rng[0], scale.communes)
    qpv, qpv_props = _qpv(rng[1], terr, scale.qpv)
    _write_communes(terr, paths["communes"], paths["density"])
    _write_geojson(paths["qpv"], qpv, qpv_props)
    _write_partners(rng[2], terr, qpv, scale.partners, paths["partners"])
    _write_gtfs(rng[3], terr, paths["gtfs"])
    malformed = _write_contacts(rng[4], terr, qpv, scale, paths["contacts"])
    return DemoSources(territory_name=DEMO_NAME, malformed=malformed, **paths)


# --- geography ------------------------------------------------------------------------


def build_demo_workspace(
    path: str | Path,
    *,
    settings: Settings,
    seed: int = 2026,
    scale: str | DemoScale = "demo",
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
) -> list[ImportReport]:
    """Build the demo workspace: write the source files, then import them like real data.

    The source files live in a temporary folder removed afterwards: the workspace
    keeps only what any import keeps (the contacts anonymised at the door).

    Parameters
    ----------
    path
        Workspace file to create.
    settings
        Gives the HMAC secret and the stop buffer used by the importers.
    seed, scale
        Generator seed; ``"demo"``, ``"departement"``, ``"region"`` (see
        :meth:`DemoScale.named`) or a :class:`DemoScale`.
    overwrite
        Replace an existing workspace instead of refusing.
    progress
        Called with a French message before each step.

    Returns
    -------
    list of ImportReport
        One report per imported file.
    """
    from territory.ingest import import_file
    from territory.store import Workspace

    size = scale if isinstance(scale, DemoScale) else DemoScale.named(scale)
    say = progress or (lambda _: None)
    with tempfile.TemporaryDirectory(prefix="territory-demo-") as tmp:
        say("Génération des fichiers sources du territoire fictif…")
        sources = write_demo_sources(Path(tmp), seed=seed, scale=size)
        ws = Workspace.create(path, name=sources.territory_name, overwrite=overwrite)
        steps = [
            ("communes", sources.communes),
            ("density", sources.density),
            ("qpv", sources.qpv),
            ("partners", sources.partners),
            ("gtfs", sources.gtfs),
            ("contacts", sources.contacts),
        ]
        reports = []
        for kind, file in steps:
            say(f"Import {kind} ({file.name})…")
            reports.append(
                import_file(
                    ws,
                    kind,
                    file,
                    settings=settings,
                    vintage=_DEMO_VINTAGE,
                    licence="données fictives (démonstration)",
                    today=CONTACTS_END.date(),
                    geocode=False,  # the demo is offline by design: fictitious addresses
                )
            )
    _demo_territories(ws)
    _demo_teams_and_places(ws)
    return reports


def _demo_territories(ws: Any) -> None:
    """Two programme territories, as a team would define them: the town's EPCI, the rural belt."""
    from territory.territories import define_territory

    communes = ws.read_table("communes", columns=["code", "epci", "densite"])
    define_territory(ws, "Agglomération de l'Ardoise", epci=[communes["epci"].min()])
    define_territory(
        ws, "Communes rurales", communes=communes.loc[communes["densite"] >= 5, "code"]
    )


def _demo_teams_and_places(ws: Any) -> None:
    """Three teams and the candidate places of the rounds, so a first plan needs no set-up.

    Places are the partners and transit hubs (:func:`territory.rounds.solver.suggest_places`)
    plus outreach spots a team would add: a city stade by each QPV (after school), a park
    and a Tuesday market in the main town.
    """
    import geopandas as gpd

    from territory.rounds.week import PLACES, candidate_places, save_teams

    communes = ws.read_layer("communes").to_crs(2154)
    main = communes.sort_values("population", ascending=False).iloc[0]
    rural = communes[communes["densite"] >= 5].sort_values("code").iloc[0]

    def lonlat(point: Any) -> tuple[float, float]:
        p = gpd.GeoSeries([point], crs=2154).to_crs(4326).iloc[0]
        return round(p.x, 6), round(p.y, 6)

    town = main.geometry.representative_point()
    (tx, ty), (rx, ry) = lonlat(town), lonlat(rural.geometry.representative_point())
    save_teams(
        ws,
        pd.DataFrame(
            {
                "nom": ["Équipe centre", "Équipe quartiers", "Équipe rurale"],
                "mode": ["marche", "transports en commun", "voiture"],
                "taille": [2, 2, 2],
                "base_lon": [tx, tx, rx],
                "base_lat": [ty, ty, ry],
                "disponibilites": [
                    "Mo-Fr 09:30-12:30,14:00-18:30",
                    "Tu-Sa 13:30-20:00",
                    "Mo-Th 09:00-17:00",
                ],
                "max_tournees": [8, 5, 4],
                "max_heures": [28, 30, 26],
            }
        ),
    )
    places = candidate_places(ws).to_crs(2154)
    qpv = ws.read_layer("qpv").to_crs(2154) if ws.has("qpv") else None
    extra = [
        (
            "Parc de la mairie",
            "parc",
            town.buffer(300).boundary.interpolate(0.1, normalized=True),
            "Mo-Su 10:00-19:00",
        ),
        ("Marché du mardi", "marché", town, "Tu 08:00-12:30"),
    ]
    for c in communes[communes["densite"] >= 5].itertuples():
        extra.append(
            (
                f"Place du village – {c.nom}",
                "place de village",
                c.geometry.representative_point(),
                "Mo-Sa 09:00-18:00",
            )
        )
    for q in [] if qpv is None else qpv.itertuples():
        extra.append(
            (
                f"City stade {q.nom}",
                "city stade",
                q.geometry.representative_point(),
                "Mo-Sa 16:00-20:00",
            )
        )
    added = gpd.GeoDataFrame(
        {
            "id": [f"lieu-{i + 1}" for i in range(len(extra))],
            "nom": [e[0] for e in extra],
            "type": [e[1] for e in extra],
            "duree": 60,
            "priorite": 1.5,
            "horaires": [e[3] for e in extra],
            "source": "lieu d'aller-vers (démo)",
        },
        geometry=[e[2] for e in extra],
        crs=2154,
    )
    under = added.sjoin(communes[["code", "geometry"]], predicate="within", how="left")
    added["zone"] = under["code"].groupby(level=0).first().reindex(added.index).fillna("")
    layer = pd.concat([places, added[places.columns]], ignore_index=True).to_crs(4326)
    ws.write_layer(
        PLACES,
        layer,
        source="lieux suggérés (démo)",
        vintage=_DEMO_VINTAGE,
        licence="données fictives (démonstration)",
    )


_DEMO_VINTAGE = "démo fictive"


@dataclass
class _Territory:
    """Communes and urban cores in Lambert-93."""

    geoms: _Objects
    centre: _Floats  # (n, 2) village centres, inside their commune
    cores: _Floats  # (c, 2) town centres; row 0 is the main town
    core_host: _Ints  # commune holding each core
    level: _Ints
    inner: shapely.Geometry  # the territory shrunk by 100 m: safe for random points
    population: _Ints = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    names: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    deps: list[str] = field(default_factory=list)
    epci: list[str] = field(default_factory=list)
    tree: shapely.STRtree = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.tree = shapely.STRtree(self.geoms)

    def locate(self, xy: _Floats) -> _Ints:
        """Index of the commune holding each point of an (n, 2) array, -1 outside."""
        pt, com = self.tree.query(shapely.points(xy), predicate="within")
        out = np.full(len(xy), -1, dtype=np.int64)
        out[pt] = com
        return out


def _bounds(geom: shapely.Geometry) -> tuple[_Floats, _Floats]:
    b = np.asarray(shapely.bounds(geom), dtype=float)
    return b[:2], b[2:]


def _territory(rng: np.random.Generator, n: int) -> _Territory:
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
        cand = rng.uniform(*_bounds(inside), size=(64, 2))
        cand = cand[shapely.contains_xy(inside, cand[:, 0], cand[:, 1])]
        far = _dist(cand, np.array(cores)).min(axis=1) > gap
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
    town = np.argsort(_dist(seeds, core_xy[:1])[:, 0])[:4]  # the main town: 4 central cells
    geoms[town[0]] = shapely.coverage_union_all(geoms[town])
    seeds[town[0]] = core_xy[0]
    keep = np.setdiff1d(np.arange(n + 3), town[1:])
    warp = _warp_field(rng)
    geoms = shapely.transform(np.array([_densify(g, 150.0) for g in geoms[keep]]), warp)
    seeds, core_xy = warp(seeds[keep]), warp(core_xy)
    ok = shapely.contains_xy(geoms, seeds[:, 0], seeds[:, 1])
    centre = np.where(ok[:, None], seeds, shapely.get_coordinates(shapely.point_on_surface(geoms)))
    inner = shapely.coverage_union_all(geoms).buffer(-100)
    terr = _Territory(
        geoms, centre, core_xy, np.zeros(n_cores, np.int64), np.zeros(n, np.int64), inner
    )
    terr.core_host = terr.locate(core_xy)
    _levels(rng, terr, _dist(centre, core_xy) / sigma)
    _populate(rng, terr)
    return terr


def _dist(a: _Floats, b: _Floats) -> _Floats:
    """(len(a), len(b)) matrix of distances between two point arrays."""
    return np.hypot(a[:, None, 0] - b[None, :, 0], a[:, None, 1] - b[None, :, 1])


def _lloyd_seeds(
    rng: np.random.Generator,
    outline: shapely.Geometry,
    cores: _Floats,
    sigma: _Floats,
    around: _Floats,
    n: int,
) -> _Floats:
    """Commune seeds, denser near the cores, by Lloyd iterations (k-means) on samples.

    Lloyd centres settle with a density proportional to the square root of the sample
    density, so the Gaussian amplitudes are set from the commune counts wanted around each
    core, and the start already has those counts (Lloyd moves mass slowly).
    """
    background = n - around.sum()
    amp = (around / background * outline.area / (4 * np.pi * sigma**2)) ** 2

    def sample(mass: _Floats, spread: _Floats, m: int) -> _Floats:
        comp = rng.choice(len(mass), size=m, p=mass / mass.sum())
        pts = rng.uniform(*_bounds(outline), (m, 2))
        g = comp > 0
        pts[g] = cores[comp[g] - 1] + rng.normal(size=(g.sum(), 2)) * spread[comp[g] - 1, None]
        return pts[shapely.contains_xy(outline, pts[:, 0], pts[:, 1])]

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

    def ring(c: _Floats) -> _Floats:
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


def _warp_field(rng: np.random.Generator) -> Callable[[_Floats], _Floats]:
    """A smooth displacement that bends straight borders, one-to-one (Jacobian norm < 1)."""
    wave = np.r_[rng.uniform(4_000, 8_000, 3), rng.uniform(1_200, 2_400, 3)]
    amp = np.r_[np.full(3, 80.0), np.full(3, 20.0)]  # |gradient| <= 0.38 + 0.31 per axis
    angle = rng.uniform(0, np.pi, (2, 6))
    phase = rng.uniform(0, 2 * np.pi, (2, 6))

    def warp(c: _Floats) -> _Floats:
        out = np.array(c, dtype=float)
        for d in range(2):
            arg = (c[:, :1] * np.cos(angle[d]) + c[:, 1:2] * np.sin(angle[d])) / wave
            out[:, d] += (amp * np.sin(2 * np.pi * arg + phase[d])).sum(axis=1)
        return out

    return warp


def _levels(rng: np.random.Generator, terr: _Territory, dist: _Floats) -> None:
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


def _commune_codes(x: _Floats, names: list[str]) -> tuple[list[str], list[str]]:
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


def _populate(rng: np.random.Generator, terr: _Territory) -> None:
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
        near = np.argmin(_dist(terr.centre, centres), axis=1)
        for j in range(k):
            if (near == j).any():
                centres[j] = terr.centre[near == j].mean(axis=0)
    size = np.bincount(near, minlength=k) + n * (np.arange(k) == near[terr.core_host[0]])
    rank = np.argsort(np.argsort(-size, kind="stable"), kind="stable")  # the town's EPCI first
    terr.epci = [f"{200000001 + rank[j]}" for j in near]


# --- boundaries and QPV -----------------------------------------------------------------


def _write_communes(terr: _Territory, path: Path, density_path: Path) -> None:
    """geo.api.gouv.fr commune GeoJSON and the INSEE 7-level density CSV, by code."""
    order = np.argsort(terr.codes, kind="stable")
    props = [
        {
            "nom": terr.names[i],
            "code": terr.codes[i],
            "population": int(terr.population[i]),
            "codeEpci": terr.epci[i],
            "codeDepartement": terr.deps[i],
        }
        for i in order
    ]
    _write_geojson(path, list(terr.geoms[order]), props)
    table = pd.DataFrame(
        {
            "CODGEO": [p["code"] for p in props],
            "LIBGEO": [p["nom"] for p in props],
            "DENS": terr.level[order],
            "LIBDENS": [DENSITY_LABELS[int(v)] for v in terr.level[order]],
            "PMUN": terr.population[order],
        }
    )
    table.to_csv(density_path, sep=";", index=False, encoding="utf-8", lineterminator="\n")


def _write_geojson(path: Path, geoms: list[shapely.Geometry], props: list[dict[str, Any]]) -> None:
    """An RFC 7946 FeatureCollection: EPSG:4326, 6 decimals, counter-clockwise shells."""

    def to_wgs84(c: _Floats) -> _Floats:
        return np.round(np.column_stack(_TO_WGS84.transform(c[:, 0], c[:, 1])), 6)

    wgs84 = shapely.orient_polygons(shapely.transform(np.asarray(geoms, dtype=object), to_wgs84))
    features = [
        {"type": "Feature", "properties": p, "geometry": shapely.geometry.mapping(g)}
        for g, p in zip(wgs84, props, strict=True)
    ]
    text = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")


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
    geom: shapely.Geometry, others: list[shapely.Geometry], boxes: _Floats, gap: float
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


def _qpv(
    rng: np.random.Generator, terr: _Territory, n: int
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
            centre = rng.uniform(*_bounds(room)) if not room.is_empty else np.zeros(2)
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


# --- partners -----------------------------------------------------------------------------

# 25 partners: 2 ML, 2 FT, 8 CS, 1 E2C, 4 PREVENTION, 4 PIJ_BIJ, 4 FS
_PARTNER_PATTERN = (
    "ML",
    "CS",
    "FT",
    "PREVENTION",
    "PIJ_BIJ",
    "FRANCE_SERVICES",
    "CS",
    "E2C",
    "CS",
    "PREVENTION",
    "FRANCE_SERVICES",
    "ML",
    "CS",
    "PIJ_BIJ",
    "FT",
    "CS",
    "FRANCE_SERVICES",
    "PREVENTION",
    "CS",
    "PIJ_BIJ",
    "CS",
    "PREVENTION",
    "PIJ_BIJ",
    "FRANCE_SERVICES",
    "CS",
)
_HOURS = {  # OSM opening_hours, as data·inclusion publishes them
    "ML": [
        "Mo-Fr 08:30-12:30,13:30-17:00; PH off",
        "Mo-Th 09:00-12:00,14:00-17:30; Fr 09:00-12:00; PH off",
    ],
    "FT": [
        "Mo-Fr 08:30-12:30; Mo-Th 13:30-16:30; PH off",
        "Mo-We 08:30-16:30; Th 08:30-12:30; Fr 08:30-15:30; PH off",
    ],
    "CS": [
        "Mo-Fr 09:00-12:00,14:00-18:30; PH off",
        "Mo,Tu,Th,Fr 08:45-12:15,13:45-18:00; We 08:45-18:00",
        "Tu-Fr 14:00-19:00; Sa 10:00-12:30; Aug off",
    ],
    "E2C": ["Mo-Fr 08:30-17:00; PH off"],
    "PREVENTION": [
        "Mo-Fr 10:00-19:00; PH off",
        "Tu-Sa 14:00-20:00; Aug off",
        "Mo,We,Fr 13:30-20:00; Tu,Th 10:00-18:00",
    ],
    "PIJ_BIJ": [
        "Tu,Th 14:00-18:00; We 09:00-12:00,13:30-18:00",
        "We 13:30-18:30; Sa 10:00-17:00",
        "Mo-Fr 13:30-18:00; We 09:30-12:00; PH off",
    ],
    "FRANCE_SERVICES": [
        "Mo-Fr 09:00-12:30,13:30-17:00; PH off",
        "Mo 13:30-17:30; Tu-Fr 09:00-12:30,13:30-17:30",
        "Tu,Th 09:00-12:00,14:00-17:00; Sa 09:00-12:00",
    ],
}
_SOCIAL = (
    "La Passerelle",
    "L'Escale",
    "Le Trait d'union",
    "Arc-en-ciel",
    "Les Tilleuls",
    "La Maison du Quartier",
    "Le Lien",
    "La Boussole",
    "Les Ardoisiers",
    "Le Carrefour",
)
_STREETS = (
    "rue des Écoles",
    "avenue de la Gare",
    "place de la Mairie",
    "rue du Marché",
    "rue des Tilleuls",
    "boulevard de l'Ardoise",
    "rue de la République",
    "allée des Peupliers",
    "rue du Stade",
    "place de l'Église",
    "rue des Ardoisiers",
    "chemin du Moulin",
)


def _partner_name(kind: str, town: str, j: int) -> str:
    """A French, clearly fictional name for the j-th partner of a kind."""
    of = ("d'" if town[0] in "AEIOUÉH" else "de ") + town
    head = {
        "ML": "Mission locale de la Vallée de l'Ardoise",
        "E2C": "École de la 2e chance de l'Ardoise",
        "PIJ_BIJ": "Bureau information jeunesse de l'Ardoise",
    }
    if j == 0 and kind in head:
        return head[kind]
    return {
        "ML": f"Mission locale – antenne {of}",
        "FT": f"France Travail – agence fictive {of}",
        "CS": f"Centre social {_SOCIAL[j % len(_SOCIAL)]}",
        "E2C": f"École de la 2e chance – site {of}",
        "PREVENTION": f"Prévention spécialisée – équipe {of}",
        "PIJ_BIJ": f"Point information jeunesse {of}",
        "FRANCE_SERVICES": f"France services {of}",
    }[kind]


def _write_partners(
    rng: np.random.Generator, terr: _Territory, qpv: list[shapely.Geometry], n: int, path: Path
) -> None:
    """A team's partner list: French CSV, data·inclusion typology, OSM opening hours."""
    kinds = [str(k) for k in np.resize(np.array(_PARTNER_PATTERN), n)]
    urban = np.flatnonzero(terr.level <= 3)
    bourgs = np.flatnonzero(np.isin(terr.level, (2, 4, 5)))
    qpv_xy = shapely.get_coordinates(shapely.point_on_surface(np.asarray(qpv, dtype=object)))
    xy = np.empty((n, 2))
    for i, kind in enumerate(kinds):
        if i < 8 and kind != "FRANCE_SERVICES":  # the first of each kind: in town
            base = terr.cores[0]
        elif kind == "FRANCE_SERVICES" or (kind in ("ML", "PIJ_BIJ") and rng.uniform() < 0.3):
            base = terr.centre[rng.choice(bourgs)]
        elif kind in ("PREVENTION", "CS") and len(qpv_xy) and rng.uniform() < 0.6:
            base = qpv_xy[rng.integers(len(qpv_xy))]
        else:
            base = terr.centre[
                rng.choice(urban, p=terr.population[urban] / terr.population[urban].sum())
            ]
        xy[i] = base + rng.normal(0, 250, 2)
    xy[terr.locate(xy) < 0] = terr.cores[0]
    com = terr.locate(xy)
    lon, lat = _TO_WGS84.transform(xy[:, 0], xy[:, 1])
    names: list[str] = []
    for kind, c in zip(kinds, com, strict=True):
        name = _partner_name(kind, terr.names[c], sum(k == kind for k in kinds[: len(names)]))
        dup = sum(nm == name or nm.startswith(f"{name} (site ") for nm in names)
        names.append(f"{name} (site {dup + 1})" if dup else name)
    table = pd.DataFrame(
        {
            "nom": names,
            "typologie": kinds,
            "adresse": [
                f"{rng.integers(1, 80)} {_STREETS[rng.integers(len(_STREETS))]}" for _ in kinds
            ],
            "code_postal": [
                f"{_POSTCODE_PREFIX.get(terr.deps[c], terr.deps[c])}"
                f"{100 + 10 * (int(terr.codes[c][2:]) // 4) % 900:03d}"
                for c in com
            ],
            "commune": [terr.names[c] for c in com],
            "code_insee": [terr.codes[c] for c in com],
            "latitude": [f"{v:.6f}".replace(".", ",") for v in lat],
            "longitude": [f"{v:.6f}".replace(".", ",") for v in lon],
            "horaires_accueil": [_HOURS[k][rng.integers(len(_HOURS[k]))] for k in kinds],
            "telephone": [
                f"01 99 00 {v // 100:02d} {v % 100:02d}"
                for v in rng.choice(10_000, n, replace=False)
            ],
        }
    )
    missing = rng.choice(np.arange(1, n), 2, replace=False)  # two addresses "à géocoder"
    table.loc[missing, ["latitude", "longitude"]] = ""
    table.to_csv(path, sep=";", index=False, encoding="utf-8-sig", lineterminator="\n")


# --- GTFS -------------------------------------------------------------------------------

_STOP_NAMES = (
    "Mairie",
    "Place du Marché",
    "Collège",
    "Lycée",
    "Hôpital",
    "Piscine",
    "Stade",
    "Médiathèque",
    "Les Tilleuls",
    "Les Peupliers",
    "Église",
    "La Poste",
    "Parc",
    "Cimetière",
    "Zone artisanale",
    "Rond-point",
    "Résidence du Lac",
    "Gendarmerie",
    "Salle des fêtes",
    "Les Coteaux",
)
_HAMLETS = ("La Croix-Blanche", "Le Moulin", "Les Granges", "La Fourche", "Le Pont", "Le Carrefour")
# French public holidays within the feed's validity
_HOLIDAYS = (
    "20251101",
    "20251111",
    "20251225",
    "20260101",
    "20260406",
    "20260501",
    "20260508",
    "20260514",
    "20260525",
    "20260714",
    "20260815",
    "20261101",
    "20261111",
    "20261225",
    "20270101",
    "20270329",
    "20270501",
    "20270506",
    "20270508",
    "20270517",
    "20270714",
    "20270815",
)
_AGENCY = "Réseau fictif de l'Ardoise"
_Line = tuple[str, str, list[int]]  # short name, kind ("main", "town", "rural"), stops


def _network(
    rng: np.random.Generator, terr: _Territory
) -> tuple[list[tuple[float, float, str]], list[_Line]]:
    """Stops and lines: town lines across each core, rural lines from a station to a bourg."""
    n = len(terr.level)
    stops: list[tuple[float, float, str]] = []
    village: dict[int, int] = {}

    def stop(xy: _Floats, name: str) -> int:
        stops.append((float(xy[0]), float(xy[1]), name))
        return len(stops) - 1

    def village_stop(c: int) -> int:
        if c not in village:
            place = ("Mairie", "Bourg", "Église")[c % 3]
            village[c] = stop(terr.centre[c], f"{terr.names[c]} – {place}")
        return village[c]

    lines: list[_Line] = []
    hubs = [stop(xy, f"{terr.names[terr.core_host[c]]} – Gare") for c, xy in enumerate(terr.cores)]
    for c, hub in enumerate(hubs):
        if c == 0:
            n_lines, half = max(3, round(4 * (n / 40) ** 0.375)), 3500 * (n / 40) ** 0.19
        else:
            n_lines, half = 2 + 2 * (n >= 200), 2400.0
        angles = np.pi * (np.arange(n_lines) + rng.uniform(-0.3, 0.3, n_lines)) / n_lines
        for j, angle in enumerate(angles):
            u = np.array([np.cos(angle), np.sin(angle)])
            v = np.array([-u[1], u[0]])
            origin, mid, phase = terr.cores[c], hub, rng.uniform(0, 2 * np.pi)
            if j >= 6:  # beyond six radial lines: cross-town lines that miss the station
                origin = origin + rng.uniform(0.25, 0.5) * half * v
                mid = stop(origin, f"{terr.names[terr.locate(origin[None])[0]]} – Centre")
            sides = []
            for sign in (-1, 1):
                d = sign * np.arange(400, half, 400)
                xy = origin + d[:, None] * u + (250 * np.sin(d / 1500 + phase))[:, None] * v
                inside = shapely.contains_xy(terr.inner, xy[:, 0], xy[:, 1])
                xy = xy[: len(xy) if inside.all() else int(np.argmin(inside))]
                labels = rng.choice(_STOP_NAMES, len(xy))
                where = [
                    f"{terr.names[k]} – {s}" for k, s in zip(terr.locate(xy), labels, strict=True)
                ]
                sides.append([stop(p, w) for p, w in zip(xy, where, strict=True)])
            short = chr(65 + j) if c == 0 else f"{c}{chr(65 + j)}"
            lines.append((short, "main" if c == 0 else "town", [*sides[0][::-1], mid, *sides[1]]))
    # Rural lines: to bourgs (far ones more often), stopping in villages near the way but
    # never in very dispersed communes, so large rural areas keep no stop at all.
    targets = np.flatnonzero(np.isin(terr.level, (4, 5)))
    far = _dist(terr.centre[targets], terr.cores).min(axis=1) ** 2
    count = min(len(targets), max(3, round(n / (8 if n < 200 else 5))))
    for j, t in enumerate(rng.choice(targets, count, replace=False, p=far / far.sum())):
        c = int(np.argmin(_dist(terr.centre[t][None], terr.cores)[0]))
        a, ab = terr.cores[c], terr.centre[t] - terr.cores[c]
        rel = terr.centre - a
        along = rel @ ab / (ab @ ab)
        off = np.abs(rel @ np.array([-ab[1], ab[0]])) / np.hypot(*ab)
        way = np.flatnonzero(
            (along > 0.05) & (along < 0.98) & (off < 1800) & (terr.level >= 2) & (terr.level <= 6)
        )
        route = [hubs[c]]
        for i in [*way[np.argsort(along[way])], t]:
            k = village_stop(int(i))
            p0, p1 = np.array(stops[route[-1]][:2]), np.array(stops[k][:2])
            com = terr.locate(((p0 + p1) / 2)[None])[0]
            if np.hypot(*(p1 - p0)) > 3000 and com >= 0 and terr.level[com] <= 6:
                hamlet = _HAMLETS[rng.integers(len(_HAMLETS))]
                route.append(stop((p0 + p1) / 2, f"{terr.names[com]} – {hamlet}"))
            route.append(k)
        lines.append((f"R{j + 1}", "rural", route))
    return stops, lines


def _frame(header: str, rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=header.split(","))


def _write_gtfs(rng: np.random.Generator, terr: _Territory, path: Path) -> None:
    """A valid GTFS zip: SEM / SAM / DIM services, holidays in calendar_dates, fixed timestamps."""
    stops, lines = _network(rng, terr)
    xy = np.array([s[:2] for s in stops])
    lon, lat = _TO_WGS84.transform(xy[:, 0], xy[:, 1])
    stop_ids = np.array([f"S{i:05d}" for i in range(len(stops))], dtype=object)
    clock = np.array([f"{m // 60:02d}:{m % 60:02d}:00" for m in range(40 * 60)], dtype=object)
    routes, trips, times = [], [], []
    for short, kind, seq in lines:
        route_id = f"L{short}"
        color = "8E5A2B" if kind == "rural" else "1F6FB2"
        long_name = f"{stops[seq[0]][2]} ↔ {stops[seq[-1]][2]}"
        routes.append((route_id, "ARDOISE", short, long_name, 3, color, "FFFFFF"))
        services: dict[str, _Ints]
        if kind != "rural":  # every 10-20 min on weekdays, half as often on Saturdays
            h = int(rng.choice((10, 12, 15) if kind == "main" else (15, 20)))
            sunday = np.arange(540, 1141, 60) if kind == "main" else np.zeros(0, np.int64)
            services = {"SEM": np.arange(360, 1260, h), "SAM": np.arange(420, 1200, 2 * h)}
            services["DIM"] = sunday
            shift, speed = h // 2, 300.0  # metres per minute, dwell times apart
        else:  # 3 or 4 return trips on weekdays, one on Saturdays, none on Sundays
            k = int(rng.integers(3, 5))
            jitter = 5 * rng.integers(-2, 3, k)
            services = {
                "SEM": np.array([420, 720, 1020, 1110])[:k] + jitter,
                "SAM": np.array([540]),
            }
            shift, speed = -30, 700.0
        for direction, order in enumerate((seq, seq[::-1])):
            run = np.hypot(*np.diff(xy[order], axis=0).T) * 1.2 / speed + 0.5
            offset = np.r_[0, np.cumsum(run)].round().astype(np.int64)
            for service, deps in services.items():
                ids = [f"{route_id}-{service}-{direction}-{i:03d}" for i in range(len(deps))]
                trips += [(route_id, service, t, stops[order[-1]][2], direction) for t in ids]
                at = clock[(deps[:, None] + shift * direction + offset[None]).ravel()]
                times.append(
                    pd.DataFrame(
                        {
                            "trip_id": np.repeat(np.array(ids, dtype=object), len(order)),
                            "arrival_time": at,
                            "departure_time": at,
                            "stop_id": np.tile(stop_ids[order], len(deps)),
                            "stop_sequence": np.tile(np.arange(1, len(order) + 1), len(deps)),
                        }
                    )
                )
    dow = pd.to_datetime(pd.Series(_HOLIDAYS), format="%Y%m%d").dt.day_of_week.tolist()
    holidays = [(day, d) for day, d in zip(_HOLIDAYS, dow, strict=True) if d < 6]
    tables = {
        "agency.txt": _frame(
            "agency_id,agency_name,agency_url,agency_timezone,agency_lang",
            [("ARDOISE", _AGENCY, "https://example.org/reseau-fictif", "Europe/Paris", "fr")],
        ),
        "stops.txt": pd.DataFrame(
            {
                "stop_id": stop_ids,
                "stop_name": [s[2] for s in stops],
                "stop_lat": np.round(lat, 6),
                "stop_lon": np.round(lon, 6),
                "location_type": 0,
            }
        ),
        "routes.txt": _frame(
            "route_id,agency_id,route_short_name,route_long_name,route_type,route_color,"
            "route_text_color",
            routes,
        ),
        "trips.txt": _frame("route_id,service_id,trip_id,trip_headsign,direction_id", trips),
        "stop_times.txt": pd.concat(times, ignore_index=True),
        "calendar.txt": _frame(
            "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,"
            "end_date",
            [
                (sv, *(int(i in days) for i in range(7)), GTFS_START, GTFS_END)
                for sv, days in [("SEM", range(5)), ("SAM", [5]), ("DIM", [6])]
            ],
        ),
        "calendar_dates.txt": _frame(
            "service_id,date,exception_type",
            [("SEM" if d < 5 else "SAM", day, 2) for day, d in holidays]
            + [("DIM", day, 1) for day, _ in holidays],
        ),
    }
    with zipfile.ZipFile(path, "w") as zf:
        for name, table in tables.items():
            info = zipfile.ZipInfo(name, date_time=(2025, 9, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, table.to_csv(index=False, lineterminator="\n"))


# --- contacts ---------------------------------------------------------------------------

_PARTNERS = ("mission locale", "France Travail", "centre social", "E2C")
_COMMENTS = (
    "rencontré près du city stade",
    "revu au marché avec des amis",
    "cherche un stage",
    "besoin d'aide pour le permis",
    "orienté vers la mission locale",
    "rencontré à la gare",
    "présent au parc en fin d'après-midi",
    "à rappeler la semaine prochaine",
    "intéressé par une formation",
    "rencontré devant le centre commercial",
)
_DOW_WEIGHT = np.array([1.0, 1.0, 1.25, 1.0, 1.05, 1.1, 0.35])
_HOUR_WEIGHT = np.array(
    [
        0.05,
        0.02,
        0.01,
        0.01,
        0.01,
        0.02,
        0.05,
        0.15,
        0.35,
        0.55,
        0.7,
        0.75,
        0.6,
        0.65,
        1.0,
        1.15,
        1.3,
        1.4,
        1.35,
        1.2,
        0.95,
        0.55,
        0.25,
        0.12,
    ]
)
# Where people are met: QPV, hot spots (station, park, shopping centre), the rest of the
# towns, bourgs, and anywhere in dispersed rural communes.
_WHERE = {"qpv": 0.42, "hotspot": 0.24, "urban": 0.12, "bourg": 0.14, "rural": 0.08}


def _write_contacts(
    rng: np.random.Generator,
    terr: _Territory,
    qpv: list[shapely.Geometry],
    scale: DemoScale,
    path: Path,
) -> dict[str, int]:
    """A street team's export: people met several times, hot spots, weekly rhythm, bad rows."""
    n, n_people = scale.contacts, max(len(_WHERE), round(scale.contacts / 2.2))
    share = np.array(list(_WHERE.values()))
    if not qpv:
        share[2], share[0] = share[2] + share[0], 0.0
    ptype = rng.choice(len(share), n_people, p=share)
    ptype[: len(share)] = np.arange(len(share))  # someone of every kind
    ctype = rng.choice(len(share), n, p=share)
    activity = rng.lognormal(0, 0.7, n_people)
    person = np.zeros(n, dtype=np.int64)
    for t in range(len(share)):
        who, rows = np.flatnonzero(ptype == t), np.flatnonzero(ctype == t)
        person[rows] = rng.choice(who, len(rows), p=activity[who] / activity[who].sum())
    anchor, sigma = _anchors(rng, terr, qpv, ptype)
    xy = anchor[person] + rng.normal(size=(n, 2)) * sigma[person, None]
    for _ in range(6):  # pull strays back towards the anchor, which is inside
        out = np.flatnonzero(~shapely.contains_xy(terr.inner, xy[:, 0], xy[:, 1]))
        xy[out] = anchor[person[out]] + 0.5 * (xy[out] - anchor[person[out]]) * (_ < 5)
    # When: day x hour weights over the months ending on CONTACTS_END.
    days = pd.date_range(
        CONTACTS_END - pd.DateOffset(months=scale.months) + pd.Timedelta(days=1), CONTACTS_END
    )
    dow, month = days.day_of_week.to_numpy(), days.month.to_numpy()
    day_w = _DOW_WEIGHT[dow] * np.select([month == 8, np.isin(month, (7, 12))], [0.45, 0.85], 1.0)
    day_w *= np.linspace(0.85, 1.15, len(days))  # the programme ramps up
    busy = (np.arange(24) >= 13) & (np.arange(24) <= 19)
    hour_w = np.where(np.isin(dow, (2, 5))[:, None] & busy, 1.5, 1.0) * _HOUR_WEIGHT
    hour_w[dow == 6] *= np.where(busy, 1.3, 0.5)
    w = (day_w[:, None] * hour_w).ravel()
    minutes = rng.choice(w.size, n, p=w / w.sum()) * 60 + rng.integers(0, 60, n)
    statut, orient = _pathways(rng, person, minutes, n_people)
    age = np.array(["16-17", "18-21", "22-25", "26-29"], dtype=object)
    sex = np.array(["H", "F", ""], dtype=object)
    ids = np.array([f"P{v:06d}" for v in rng.permutation(n_people) + 1], dtype=object)
    comment = np.array(["", *_COMMENTS], dtype=object)
    said = np.where(rng.uniform(size=n) < 0.07, rng.integers(1, len(comment), n), 0)
    day = np.array(days.strftime("%d/%m/%Y").tolist(), dtype=object)
    hm = np.array([f" {m // 60:02d}:{m % 60:02d}" for m in range(1440)], dtype=object)
    lon, lat = _TO_WGS84.transform(xy[:, 0], xy[:, 1])
    cols: dict[str, npt.NDArray[Any]] = {
        "date_contact": day[minutes // 1440] + hm[minutes % 1440],
        "longitude": lon,
        "latitude": lat,
        "statut": statut,
        "tranche_age": age[rng.choice(4, n_people, p=[0.12, 0.38, 0.32, 0.18])][person],
        "sexe": sex[rng.choice(3, n_people, p=[0.56, 0.4, 0.04])][person],
        "partenaire_orientation": orient,
        "id_personne": ids[person],
        "commentaire": comment[said],
    }
    chrono = np.argsort(minutes, kind="stable")
    cols = {k: v[chrono] for k, v in cols.items()}
    malformed = _spoil(rng, cols)
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        fh.write(";".join(cols) + "\n")
        for start in range(0, n, 100_000):  # plain text: no field holds ";", '"' or a newline
            part = [v[start : start + 100_000].tolist() for v in cols.values()]
            for i in (1, 2):
                part[i] = ["" if v != v else f"{v:.6f}".replace(".", ",") for v in part[i]]
            fh.writelines(";".join(row) + "\n" for row in zip(*part, strict=True))
    return malformed


def _anchors(
    rng: np.random.Generator, terr: _Territory, qpv: list[shapely.Geometry], ptype: _Ints
) -> tuple[_Floats, _Floats]:
    """Where each person is usually met (inside the territory) and how far they roam (m)."""
    anchor, sigma = np.zeros((len(ptype), 2)), np.zeros(len(ptype))
    home = np.zeros(len(ptype), dtype=np.int64)
    area = shapely.area(terr.geoms)
    spots, spot_w = [], []  # station, park and shopping centre of each town
    for c, xy in enumerate(terr.cores):
        weight = terr.population[terr.core_host[c]] / terr.population[terr.core_host[0]]
        for dist, w in (
            (0.0, 0.4),
            (rng.uniform(600, 1000), 0.25),
            (rng.uniform(1200, 2400), 0.35),
        ):
            ang = rng.uniform(0, 2 * np.pi)
            p = xy + dist * (1 if c == 0 else 0.6) * np.array([np.cos(ang), np.sin(ang)])
            spots.append(p if shapely.contains_xy(terr.inner, *p) else xy)
            spot_w.append(w * weight)

    def pick(pool: _Ints, w: npt.ArrayLike, size: int) -> _Ints:
        w = np.asarray(w, dtype=float)
        return pool[rng.choice(len(pool), size, p=w / w.sum())]

    for t, kind in enumerate(_WHERE):
        rows = np.flatnonzero(ptype == t)
        k = len(rows)
        if kind == "qpv" and qpv:
            polys = np.asarray(qpv, dtype=object)
            q = pick(np.arange(len(polys)), shapely.area(polys), k)
            anchor[rows] = shapely.get_coordinates(shapely.point_on_surface(polys))[q]
            sigma[rows] = np.sqrt(shapely.area(polys) / np.pi)[q] / 1.6
        elif kind == "hotspot":
            anchor[rows], sigma[rows] = (
                np.array(spots)[pick(np.arange(len(spots)), spot_w, k)],
                130.0,
            )
        elif kind in ("urban", "qpv", "bourg"):
            pool = np.flatnonzero(
                terr.level <= 3 if kind != "bourg" else np.isin(terr.level, (2, 4, 5))
            )
            home[rows] = com = pick(pool, terr.population[pool], k)
            spread = 0.3 * np.sqrt(area[com]) if kind != "bourg" else np.full(k, 150.0)
            anchor[rows] = terr.centre[com] + rng.normal(size=(k, 2)) * spread[:, None]
            sigma[rows] = 250.0 if kind != "bourg" else 300.0
        else:  # rural: anywhere in a dispersed commune
            pool = np.flatnonzero(terr.level >= 6)
            home[rows] = com = pick(pool, terr.population[pool], k)
            anchor[rows] = terr.centre[com]
            box = np.asarray(shapely.bounds(terr.geoms[com]))
            todo = np.arange(k)
            for _ in range(30):
                cand = rng.uniform(box[todo, :2], box[todo, 2:])
                ok = shapely.contains_xy(terr.geoms[com[todo]], cand[:, 0], cand[:, 1])
                anchor[rows[todo[ok]]] = cand[ok]
                todo = todo[~ok]
            sigma[rows] = 400.0
    bad = ~shapely.contains_xy(terr.inner, anchor[:, 0], anchor[:, 1])
    anchor[bad] = terr.centre[home[bad]]
    return anchor, sigma


def _pathways(
    rng: np.random.Generator, person: _Ints, minutes: _Ints, n_people: int
) -> tuple[_Objects, _Objects]:
    """Status and orientation of each contact, following each person's sequence."""
    n = len(person)
    seq = np.lexsort((minutes, person))
    ps = person[seq]
    first = np.r_[True, ps[1:] != ps[:-1]]
    rank = np.arange(n) - np.maximum.accumulate(np.where(first, np.arange(n), 0))
    size = np.bincount(person, minlength=n_people)[ps]
    u = rng.uniform(size=(3, n_people))
    invisible, enters = u[0][ps] < 0.45, (u[1][ps] < 0.5) & (size >= 3)
    status = np.full(n, "contact répété", dtype=object)
    status[rank == 0] = np.where(invisible[rank == 0], "hors radars", "premier contact")
    status[(rank == 1) & invisible & (rng.uniform(size=n) < 0.5)] = "hors radars"
    status[enters & (rank == 2)] = "entrée en parcours"
    status[enters & (rank > 2) & (rng.uniform(size=n) < 0.6)] = "accompagné"
    status[enters & (u[2][ps] < 0.45) & (size >= 4) & (rank == size - 1)] = "sortie positive"
    partner = np.array(_PARTNERS, dtype=object)[
        rng.choice(4, n_people, p=[0.55, 0.15, 0.15, 0.15])
    ][ps]
    oriented = (enters & (rank >= 2)) | (rng.uniform(size=n) < 0.05)
    back = np.empty(n, dtype=np.int64)
    back[seq] = np.arange(n)  # row -> its place in the per-person order
    return status[back], np.where(oriented, partner, "")[back]


def _spoil(rng: np.random.Generator, cols: dict[str, npt.NDArray[Any]]) -> dict[str, int]:
    """Spoil about 0.1 % of the rows per kind, as real exports go wrong; count per kind."""
    n = len(cols["statut"])
    k = round(n * 0.001)
    if k == 0:
        return {}
    rows = rng.choice(n, (len(MALFORMED_KINDS), k), replace=False)
    bad_day = np.array(
        ["31/02", "30/02", "29/02", "31/04", "31/06", "31/09", "31/11"], dtype=object
    )
    year_time = np.array([d[5:] for d in cols["date_contact"][rows[0]]], dtype=object)
    cols["date_contact"][rows[0]] = bad_day[rng.integers(0, len(bad_day), k)] + year_time
    cols["longitude"][rows[1]] = cols["latitude"][rows[1]] = np.nan
    cols["longitude"][rows[2]] = rng.uniform(-1.2, 0.2, k)
    cols["latitude"][rows[2]] = rng.uniform(47.2, 48.3, k)
    lon = cols["longitude"][rows[3]].copy()
    cols["longitude"][rows[3]] = cols["latitude"][rows[3]]
    cols["latitude"][rows[3]] = lon
    cols["statut"][rows[4]] = "à recontacter"
    return dict.fromkeys(MALFORMED_KINDS, k)
