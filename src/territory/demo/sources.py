"""The demo's source files, written in the official or team formats.

The demo goes through the same importers as real data, so this module only *writes*
files: communes (geo.api.gouv.fr GeoJSON), the INSEE 7-level density grid (CSV), QPV 2024
(GeoJSON), a team's partner list (French CSV), a GTFS feed and a street team's contact
export (French CSV, :mod:`territory.demo.contacts`). Everything is built in Lambert-93 and
written in EPSG:4326 with 6 decimals; the same seed and scale give byte-identical files
(with the same library versions). Phones are ``01 99 00 xx xx``.

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
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from territory.demo.contacts import CONTACTS_END, write_contacts
from territory.demo.geography import (
    TO_WGS84,
    Floats,
    Ints,
    Territory,
    distances,
    make_territory,
    place_qpv,
)
from territory.demo.scale import DemoScale

__all__ = [
    "DEMO_NAME",
    "DENSITY_LABELS",
    "GTFS_END",
    "GTFS_START",
    "DemoSources",
    "write_demo_sources",
]

DEMO_NAME = "Territoire fictif de la Vallée de l'Ardoise"
"""The demo territory's name (the workspace's name)."""
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
"""INSEE 7-level density grid: level → French label."""
GTFS_START, GTFS_END = "20250901", "20270831"
"""Validity of the GTFS feed's calendar (YYYYMMDD)."""


@dataclass(frozen=True)
class DemoSources:
    """The files written, and facts an import of them can be checked against.

    Attributes
    ----------
    malformed
        Number of deliberately malformed rows of ``contacts``, per kind (see the module
        docs); empty when there are too few contacts to spoil.
    earlier_contacts
        The previous year's contact export (``contacts-2025.csv``, January 2025 to the
        month before ``contacts``), None when the scale asks none.
    """

    territory_name: str
    communes: Path
    density: Path
    qpv: Path
    partners: Path
    gtfs: Path
    contacts: Path
    malformed: Mapping[str, int] = field(default_factory=dict, hash=False)
    earlier_contacts: Path | None = None


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
        Size of the territory, :class:`~territory.demo.scale.DemoScale` defaults if omitted;
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
    terr = make_territory(rng[0], scale.communes)
    qpv, qpv_props = place_qpv(rng[1], terr, scale.qpv)
    _write_communes(terr, paths["communes"], paths["density"])
    _write_geojson(paths["qpv"], qpv, qpv_props)
    _write_partners(rng[2], terr, qpv, scale.partners, paths["partners"])
    _write_gtfs(rng[3], terr, paths["gtfs"])
    malformed = write_contacts(rng[4], terr, qpv, scale, paths["contacts"])
    earlier = _write_earlier_contacts(seed, terr, qpv, scale, out_dir / "contacts-2025.csv")
    return DemoSources(
        territory_name=DEMO_NAME, malformed=malformed, earlier_contacts=earlier, **paths
    )


EARLIER_START = pd.Timestamp("2025-01-01")
"""The first day of the previous year's export (the demo programme's start)."""


def _write_earlier_contacts(
    seed: int, terr: Territory, qpv: list[Any], scale: DemoScale, path: Path
) -> Path | None:
    """The previous year's export: the same team and territory, from January 2025 on.

    Its own random stream (so the main export's bytes do not change), fewer contacts
    than the main export (the programme ramps up), no malformed row, and the same
    person identifiers (some young people are met in both years).
    """
    main_start = CONTACTS_END - pd.DateOffset(months=scale.months) + pd.Timedelta(days=1)
    months = (main_start.year - EARLIER_START.year) * 12 + main_start.month - EARLIER_START.month
    if scale.earlier <= 0 or months < 1:
        return None
    size = replace(scale, contacts=max(1, round(scale.contacts * scale.earlier)), months=months)
    end = main_start - pd.Timedelta(days=1)
    write_contacts(np.random.default_rng([seed, 2025]), terr, qpv, size, path, end=end,
                   spoil=False)  # fmt: skip
    return path


# --- communes --------------------------------------------------------------------------


def _write_communes(terr: Territory, path: Path, density_path: Path) -> None:
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

    def to_wgs84(c: Floats) -> Floats:
        return np.round(np.column_stack(TO_WGS84.transform(c[:, 0], c[:, 1])), 6)

    wgs84 = shapely.orient_polygons(shapely.transform(np.asarray(geoms, dtype=object), to_wgs84))
    features = [
        {"type": "Feature", "properties": p, "geometry": shapely.geometry.mapping(g)}
        for g, p in zip(wgs84, props, strict=True)
    ]
    text = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")


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
    rng: np.random.Generator, terr: Territory, qpv: list[shapely.Geometry], n: int, path: Path
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
    lon, lat = TO_WGS84.transform(xy[:, 0], xy[:, 1])
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
    rng: np.random.Generator, terr: Territory
) -> tuple[list[tuple[float, float, str]], list[_Line]]:
    """Stops and lines: town lines across each core, rural lines from a station to a bourg."""
    n = len(terr.level)
    stops: list[tuple[float, float, str]] = []
    village: dict[int, int] = {}

    def stop(xy: Floats, name: str) -> int:
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
    far = distances(terr.centre[targets], terr.cores).min(axis=1) ** 2
    count = min(len(targets), max(3, round(n / (8 if n < 200 else 5))))
    for j, t in enumerate(rng.choice(targets, count, replace=False, p=far / far.sum())):
        c = int(np.argmin(distances(terr.centre[t][None], terr.cores)[0]))
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


def _stops_table(
    stops: list[tuple[float, float, str]], stop_ids: Any, lon: Any, lat: Any
) -> pd.DataFrame:
    """Served stops, and one GTFS station (``location_type`` 1) over each « Gare » hub.

    The hubs are where the town lines meet: their station is what makes them a « gare /
    pôle d'échanges » among the candidate places, while the other stops stay bus stops.
    """
    hubs = [i for i, s in enumerate(stops) if s[2].endswith("– Gare")]
    served = pd.DataFrame(
        {
            "stop_id": stop_ids,
            "stop_name": [s[2] for s in stops],
            "stop_lat": np.round(lat, 6),
            "stop_lon": np.round(lon, 6),
            "location_type": 0,
            "parent_station": "",
        }
    )
    served.loc[hubs, "parent_station"] = [f"P{i:05d}" for i in hubs]
    stations = served.loc[hubs].assign(
        stop_id=[f"P{i:05d}" for i in hubs], location_type=1, parent_station=""
    )
    return pd.concat([served, stations], ignore_index=True)


def _write_gtfs(rng: np.random.Generator, terr: Territory, path: Path) -> None:
    """A valid GTFS zip: SEM / SAM / DIM services, holidays in calendar_dates, fixed timestamps."""
    stops, lines = _network(rng, terr)
    xy = np.array([s[:2] for s in stops])
    lon, lat = TO_WGS84.transform(xy[:, 0], xy[:, 1])
    stop_ids = np.array([f"S{i:05d}" for i in range(len(stops))], dtype=object)
    clock = np.array([f"{m // 60:02d}:{m % 60:02d}:00" for m in range(40 * 60)], dtype=object)
    routes, trips, times = [], [], []
    for short, kind, seq in lines:
        route_id = f"L{short}"
        color = "8E5A2B" if kind == "rural" else "1F6FB2"
        long_name = f"{stops[seq[0]][2]} ↔ {stops[seq[-1]][2]}"
        routes.append((route_id, "ARDOISE", short, long_name, 3, color, "FFFFFF"))
        services: dict[str, Ints]
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
        "stops.txt": _stops_table(stops, stop_ids, lon, lat),
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
