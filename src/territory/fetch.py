"""Fetch a real territory's official data and import it through the ordinary importers.

:func:`fetch_territory` downloads each source of :data:`territory.io.sources.SOURCES` into
the HTTP cache, cuts it down to the territory (the département, or the requested EPCI
and communes) into a small file in the source's own schema, and imports that file with
:func:`territory.ingest.import_file`: fetched data and user files go through the same
readers. A source that fails is reported in French and the others go on.

The data·inclusion token is :attr:`Settings.data_inclusion_token
<territory.settings.Settings.data_inclusion_token>` (the ``TERRITORY_DATA_INCLUSION_TOKEN``
environment variable); without it the production API answers 401 and the partners come
from the France services list.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
from python_calamine import CalamineError

from territory._errors import InputFileError, ValidationError
from territory.ingest import import_file
from territory.io import _http, sources
from territory.io._http import NetworkError
from territory.io.report import ImportReport
from territory.io.sources import SOURCES, Source
from territory.settings import Settings
from territory.store import Workspace

__all__ = [
    "ANCHOR_RADIUS_M",
    "MAX_FEEDS",
    "MAX_PAGES",
    "OFFLINE_PLACES",
    "TOKEN_ENV",
    "fetch_network",
    "fetch_places",
    "fetch_territory",
    "overpass_network_query",
    "overpass_query",
    "select_communes",
]

TOKEN_ENV = "TERRITORY_DATA_INCLUSION_TOKEN"
"""The environment variable of :attr:`Settings.data_inclusion_token`, named in messages."""
ANCHOR_RADIUS_M = 40_000.0
"""data·inclusion returns services within 50 km of a commune's centre: one query per 40 km."""
MAX_PAGES = 20
"""Pages of 1,000 services read at most per data·inclusion query."""
MAX_FEEDS = 5
"""GTFS feeds imported at most per fetch (each its own network), the best matches first."""
OFFLINE_PLACES = "pas de connexion : importez un extrait OSM avec territory import places"
"""What ``territory fetch --lieux`` says when Overpass cannot be reached."""
OFFLINE_NETWORK = (
    "pas de connexion : importez un extrait OSM du réseau routier avec territory import "
    "reseau FICHIER.osm (par exemple osmium tags-filter extrait.osm.pbf w/highway -o reseau.osm)"
)
"""What ``territory fetch --reseau`` says when Overpass cannot be reached."""
_CODES = {
    "département": re.compile(r"^(\d{2}|2[AB]|97\d)$"),
    "EPCI": re.compile(r"^\d{9}$"),
    "commune": re.compile(r"^(\d{5}|2[AB]\d{3})$"),
}


def fetch_territory(
    ws: Workspace,
    *,
    departement: str,
    epci: list[str] | None = None,
    communes: list[str] | None = None,
    settings: Settings,
    progress: Callable[[str], None] | None = None,
) -> list[ImportReport]:
    """Download a territory's official data and import it into ``ws``.

    Parameters
    ----------
    ws
        Workspace to fill: communes, density classes, QPV 2024 and 2015, the
        département's BAN addresses (to geocode contacts on this machine), partners, the
        stops of every GTFS feed covering the territory (one network each).
    departement
        Département code (``"14"``, ``"2A"``, ``"974"``).
    epci, communes
        Keep only the communes of these EPCI (SIREN) and these communes (INSEE codes);
        the whole département when both are empty.
    settings
        HTTP cache folder, timeout and User-Agent.
    progress
        Called with a French message before each download and import.

    Returns
    -------
    list of ImportReport
        One per source, in import order (one per GTFS feed: each is its own network);
        a source that failed has an empty report whose note says why.

    Raises
    ------
    ValidationError
        A code is malformed, or no commune of the département matches the selection.
    NetworkError
        Nothing at all could be downloaded.
    """
    problems = [
        f"code {label} invalide : « {code} »"
        for label, codes in (("département", [departement]), ("EPCI", epci), ("commune", communes))
        for code in codes or []
        if not _CODES[label].match(code)
    ]
    if problems:
        raise ValidationError(problems)
    run = _Run(ws, departement, list(epci or []), list(communes or []), settings, progress)
    reports, failures = [], []
    for name, step in _STEPS:
        source = SOURCES[name]
        run.say(f"Téléchargement : {source.title}…")
        try:
            done = step(run)
            reports.extend(done if isinstance(done, list) else [done])
        except (NetworkError, InputFileError) as exc:
            run.say(f"Échec : {source.title} : {exc}")
            failed = ImportReport(kind=source.kind, source=source.title)
            failed.note(f"non importé : {exc}")
            reports.append(failed.check())
            failures.append(f"{source.title} : {exc}")
    if len(failures) == len(_STEPS):
        raise NetworkError("aucune source n'a pu être téléchargée : " + " ; ".join(failures))
    return reports


def select_communes(
    collection: dict[str, Any], *, epci: list[str], communes: list[str]
) -> tuple[dict[str, Any], list[str]]:
    """Keep the features of the requested EPCI and communes; return them and French notes."""
    features = collection.get("features") or []
    if not epci and not communes:
        return collection, []
    props = [f.get("properties") or {} for f in features]
    keep = [str(p.get("codeEpci")) in epci or str(p.get("code")) in communes for p in props]
    kept = [f for f, k in zip(features, keep, strict=True) if k]
    if not kept:
        raise ValidationError(
            f"aucune commune du département ne correspond aux EPCI {', '.join(epci) or '-'} "
            f"ni aux communes {', '.join(communes) or '-'}"
        )
    notes = [
        (
            f"territoire : {len(kept)} commune(s) gardée(s) sur {len(features)} du département "
            f"(EPCI {', '.join(epci) or '-'} ; communes {', '.join(communes) or '-'}), filtrées "
            "avant l'import : les autres ne sont pas dans l'espace de travail"
        )
    ]
    found = {
        str(p.get(k)) for p, ok in zip(props, keep, strict=True) if ok for k in ("code", "codeEpci")
    }
    if missing := sorted(set(epci + communes) - found):
        notes.append(f"codes introuvables dans le département : {', '.join(missing)}")
    return {**collection, "features": kept}, notes


class _Run:
    """One fetch: its arguments, the folder of prepared files, the territory."""

    def __init__(
        self,
        ws: Workspace,
        dep: str,
        epci: list[str],
        communes: list[str],
        settings: Settings,
        progress: Callable[[str], None] | None,
    ) -> None:
        self.ws, self.dep, self.epci, self.communes = ws, dep, epci, communes
        self.settings = settings
        self.say: Callable[[str], None] = progress or (lambda _message: None)
        self.folder = Path(settings.cache_dir) / "territoires" / dep
        self.folder.mkdir(parents=True, exist_ok=True)
        self._area: tuple[int, gpd.GeoDataFrame | None] | None = None

    def territory(self) -> gpd.GeoDataFrame:
        """The département's communes stored in the workspace (those just fetched)."""
        if self._area is None or self._area[0] != self.ws.version:
            layer = self.ws.read_layer("communes") if self.ws.has("communes") else None
            if layer is not None:
                layer = layer[layer["departement"].astype("string") == self.dep]
            self._area = (self.ws.version, layer)
        if self._area[1] is None or self._area[1].empty:
            raise NetworkError("ignoré : les communes du territoire n'ont pas pu être téléchargées")
        return self._area[1]

    def load(
        self,
        kind: str,
        path: Path,
        source: Source,
        *,
        vintage: str,
        licence: str,
        notes: list[str],
        network: str | None = None,
    ) -> ImportReport:
        """Import a prepared file and add the source's notes and attribution."""
        self.say(f"Import : {source.title}…")
        report = import_file(
            self.ws, kind, path, settings=self.settings, vintage=vintage, licence=licence,
            network=network,
        )  # fmt: skip
        for note in [*notes, f"source : {source.attribution} ; licence : {licence}"]:
            report.note(note)
        return report


# ------------------------------------------------------------------------------ steps
def _communes(run: _Run) -> ImportReport:
    source = SOURCES["communes"]
    url = source.url_for(dep=run.dep)
    answer = _http.get_json(url, settings=run.settings)
    kept, notes = select_communes(answer, epci=run.epci, communes=run.communes)
    out = run.folder / f"communes-{run.dep}.geojson"
    out.write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
    day = date.fromtimestamp(_http.cache_path(url, settings=run.settings).stat().st_mtime)
    vintage = f"{source.vintage} au {day.isoformat()}"
    return run.load("communes", out, source, vintage=vintage, licence=source.licence, notes=notes)


def _density(run: _Run) -> ImportReport:
    source = SOURCES["density"]
    path = _http.get_file(source.url, settings=run.settings, checksum=_sha256(source))
    try:
        with pd.ExcelFile(path, engine="calamine") as book:
            names = [str(n) for n in book.sheet_names]
            wanted = source.extra["sheet"].lower()
            sheet = next((n for n in names if n.lower() == wanted), names[0])
            grid = pd.read_excel(book, sheet_name=sheet, header=None, dtype=str, engine="calamine")
    except (CalamineError, ValueError, OSError) as exc:
        raise _unreadable(path, source.title, exc) from exc
    heads = [i for i in range(min(len(grid), 30)) if "CODGEO" in set(grid.iloc[i].dropna())]
    if not heads:
        raise InputFileError(f"{source.title} : aucune ligne d'en-tête CODGEO (feuille {sheet})")
    table = grid.iloc[heads[0] + 1 :].set_axis([str(c) for c in grid.iloc[heads[0]]], axis=1)
    level = "7" if {"DENS7", "LIBDENS7"} <= set(table.columns) else ""
    if not {f"DENS{level}", f"LIBDENS{level}"} <= set(table.columns):
        raise InputFileError(f"{source.title} : colonnes DENS, LIBDENS absentes (feuille {sheet})")
    notes = _maybe(source.rows_note(int(table["CODGEO"].notna().sum())))
    if level:
        notes.append("grille à 7 niveaux retenue (colonnes DENS7, LIBDENS7 du fichier INSEE)")
    mine = table[table["CODGEO"].isin(set(run.territory()["code"]))]
    columns = {"CODGEO": "CODGEO", "LIBGEO": "LIBGEO", f"DENS{level}": "DENS"}
    columns[f"LIBDENS{level}"] = "LIBDENS"
    out = run.folder / f"grille-densite-{run.dep}.csv"
    mine[[c for c in columns if c in mine]].rename(columns=columns).to_csv(
        out, sep=";", index=False
    )
    return run.load(
        "density", out, source, vintage=source.vintage, licence=source.licence, notes=notes
    )


def _qpv(name: str) -> Callable[[_Run], ImportReport]:
    def step(run: _Run) -> ImportReport:
        source = SOURCES[name]
        area = run.territory()
        dataset = _http.get_json(source.url, settings=run.settings)
        res = sources.pick_resource(dataset, source.rule or sources.ResourceRule(("geojson",)))
        path = _http.get_file(res.url, settings=run.settings, checksum=res.checksum)
        target = f"/vsizip/{path}" if source.format == "zip-shp" else str(path)
        try:
            layers = [str(n) for n, _ in pyogrio.list_layers(target)]
            wanted = source.extra.get("layer", "")
            layer = next((n for n in layers if wanted in n.lower()), None)
            if layer is None:
                raise InputFileError(f"{res.title} : pas de couche « {wanted} » ({layers})")
            info = pyogrio.read_info(target, layer=layer)
            crs = info["crs"] or source.crs or "EPSG:4326"
            box = tuple(area.to_crs(crs).total_bounds)
            qpv = pyogrio.read_dataframe(target, layer=layer, bbox=box)
        except pyogrio.errors.DataSourceError as exc:
            raise _unreadable(path, res.title, exc) from exc
        qpv = qpv.set_crs(crs) if qpv.crs is None else qpv
        metric = area.estimate_utm_crs()
        shapes = qpv.geometry.to_crs(metric).make_valid()
        inside = shapes.intersection(area.to_crs(metric).union_all()).area
        qpv = qpv[(inside > 0.01 * shapes.area).to_numpy()]  # more than 1 % in the territory
        notes = [*_maybe(source.rows_note(int(info["features"]))), f"ressource : {res.title}"]
        if qpv.empty:
            empty = ImportReport(kind="qpv", source=res.title or source.title)
            empty.note(f"aucun quartier {source.vintage} dans le territoire")
            return empty.check()
        out = run.folder / f"{name}-{run.dep}.gpkg"
        out.unlink(missing_ok=True)
        pyogrio.write_dataframe(qpv, out, layer=name, driver="GPKG")
        vintage = f"{source.vintage} ({res.modified[:10]})" if res.modified else source.vintage
        licence = sources.licence_label(dataset.get("license"), source.licence)
        return run.load("qpv", out, source, vintage=vintage, licence=licence, notes=notes)

    return step


def _ban(run: _Run) -> ImportReport:
    """The département's BAN addresses: downloaded into the cache, imported as they are.

    The whole département is imported (a re-import replaces its addresses, those of
    other départements stay): contacts given by an address are then geocoded on this
    machine, and partners try it before the online BAN.
    """
    source = SOURCES["ban"]
    url = source.url_for(dep=run.dep)
    cached = _http.get_file(url, settings=run.settings)
    out = run.folder / f"adresses-{run.dep}.csv.gz"  # the cache keeps no « .gz » suffix
    shutil.copyfile(cached, out)
    day = date.fromtimestamp(cached.stat().st_mtime)
    try:
        return run.load(
            "ban", out, source, vintage=f"BAN au {day.isoformat()}", licence=source.licence,
            notes=[f"fichier : {url}"],
        )  # fmt: skip
    except InputFileError:
        cached.unlink(missing_ok=True)  # a damaged download is fetched again next time
        raise


def _partners(run: _Run) -> ImportReport:
    source, listing = SOURCES["data_inclusion"], SOURCES["france_services"]
    codes = set(run.territory()["code"])
    rows: list[dict[str, str]] = []
    notes = []
    try:
        path = _http.get_file(listing.url, settings=run.settings, checksum=_sha256(listing))
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        rows = [r for r in sources.france_services_rows(table) if r["code_insee"] in codes]
        notes.append(f"{len(rows)} France services : {listing.attribution}")
    except (NetworkError, InputFileError, ValueError) as exc:
        notes.append(f"France services non téléchargées : {exc}")
    try:
        found = _inclusion(run, codes, skip_france_services=bool(rows), notes=notes)
        without = " (hors France services, déjà listées)" if rows else ""
        notes.append(f"{len(found)} structure(s) data·inclusion{without}")
        rows += found
    except (NetworkError, InputFileError) as exc:
        hint = "" if _token(run.settings) else f" (jeton : variable {TOKEN_ENV})"
        notes.append(f"data·inclusion non téléchargé : {exc}{hint}")
    if not rows:
        raise NetworkError(" ; ".join(notes))
    out = run.folder / f"partenaires-{run.dep}.csv"
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(
            handle, sources.PARTNER_FIELDS, delimiter=";", extrasaction="ignore"
        )
        writer.writeheader()
        writer.writerows(rows)
    day = date.today().isoformat()
    return run.load("partners", out, source, vintage=day, licence=source.licence, notes=notes)


def _inclusion(
    run: _Run, codes: set[str], *, skip_france_services: bool, notes: list[str]
) -> list[dict[str, str]]:
    token = _token(run.settings)
    headers = {"Authorization": f"Bearer {token}"} if token else None
    places: dict[str, dict[str, str]] = {}
    for anchor in _anchors(run.territory()):
        page, pages = 1, 1
        while page <= min(pages, MAX_PAGES):
            params = {"code_commune": anchor, "size": 1000, "page": page}
            answer = _http.get_json(
                SOURCES["data_inclusion"].url, settings=run.settings, params=params, headers=headers
            )
            pages = int(answer.get("pages") or 1) if isinstance(answer, dict) else 1
            for row in sources.inclusion_places(answer):
                if row["code_insee"] in codes and not (
                    skip_france_services and row["typologie"] == "FRANCE_SERVICES"
                ):
                    places.setdefault(row["key"], row)
            page += 1
        if pages > MAX_PAGES:
            notes.append(
                f"data·inclusion : seules les {MAX_PAGES * 1000} premières réponses autour de "
                f"la commune {anchor} ont été lues (sur {pages} pages)"
            )
    return list(places.values())


def _token(settings: Settings) -> str:
    """The data·inclusion API token of the settings, ``""`` when there is none."""
    return settings.data_inclusion_token.strip()


def _anchors(area: gpd.GeoDataFrame) -> list[str]:
    """Communes (most populated first) whose 40 km circles cover every commune's centre."""
    area = area.sort_values("population", ascending=False, na_position="last")
    points = area.to_crs(area.estimate_utm_crs()).geometry.representative_point()
    left, anchors = pd.Series(True, index=points.index), []
    while left.any():
        first = left[left].index[0]
        anchors.append(str(area.at[first, "code"]))
        left &= points.distance(points.loc[first]) > ANCHOR_RADIUS_M
    return anchors


def _gtfs(run: _Run) -> list[ImportReport]:
    """Every GTFS feed covering the territory (best first, :data:`MAX_FEEDS` at most).

    Each feed is imported as its own network, named by its dataset's title
    (:mod:`territory.io.gtfs_networks`): an urban network and the on-demand service of a
    rural EPCI are both kept. A feed that cannot be downloaded or read is said in the
    notes and the others go on; none at all is a failure of the step.
    """
    source = SOURCES["transport"]
    area = run.territory()
    wanted = {("departement", run.dep), *(("commune", str(c)) for c in area["code"])}
    wanted |= {("epci", str(e)) for e in area["epci"].dropna()}
    feeds = sources.gtfs_feeds(_http.get_json(source.url, settings=run.settings), wanted)
    if not feeds:
        raise InputFileError("aucun flux GTFS de transport.data.gouv.fr ne couvre le territoire")
    reports: list[ImportReport] = []
    problems: list[str] = []
    offline = True  # every problem a download that failed
    names: set[str] = set()
    for dataset, resource in feeds[:MAX_FEEDS]:
        title = str(dataset.get("title") or "").strip()
        try:
            cached = _http.get_file(str(resource["url"]), settings=run.settings)
        except NetworkError as exc:
            problems.append(f"flux {title} non téléchargé : {exc}")
            continue
        slug = str(dataset.get("slug") or dataset.get("id"))
        out = run.folder / f"gtfs-{slug}.zip"
        shutil.copyfile(cached, out)
        name = title if title not in names else f"{title} ({slug})"  # the network's name
        names.add(name)
        licence = sources.licence_label(dataset.get("licence"), source.licence)
        notes = [f"réseau : {title} ({resource['url']})"]
        try:
            reports.append(
                run.load(
                    "gtfs",
                    out,
                    source,
                    vintage="",
                    licence=licence,
                    notes=notes,
                    network=name or None,
                )
            )
        except (InputFileError, ValidationError) as exc:
            offline = False
            problems.append(f"flux {title} non importé : {exc}")
    if not reports:
        raise (NetworkError if offline else InputFileError)(" ; ".join(problems))
    problems += [
        f"autre flux couvrant le territoire, non importé : {d.get('title')} ({r['url']})"
        for d, r in feeds[MAX_FEEDS : MAX_FEEDS + 5]
    ]
    for problem in problems:
        reports[0].note(problem)
    return reports


def _unreadable(path: Path, title: str, exc: Exception) -> InputFileError:
    """Drop an unreadable download from the cache (it will be fetched again) and say so."""
    path.unlink(missing_ok=True)
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return InputFileError(f"{title} : fichier téléchargé illisible ({first}) ; réessayez")


def _sha256(source: Source) -> tuple[str, str] | None:
    return ("sha256", source.sha256) if source.sha256 else None


def _maybe(note: str | None) -> list[str]:
    return [note] if note else []


_STEPS: list[tuple[str, Callable[[_Run], ImportReport | list[ImportReport]]]] = [
    ("communes", _communes),
    ("density", _density),
    ("qpv2024", _qpv("qpv2024")),
    ("qpv2015", _qpv("qpv2015")),
    ("ban", _ban),
    ("data_inclusion", _partners),
    ("transport", _gtfs),
]


# ------------------------------------------------------------------ OSM points of interest
def overpass_query(bounds: tuple[float, float, float, float], *, timeout_s: int = 120) -> str:
    """The Overpass QL query of the outreach places in ``bounds`` (west, south, east, north).

    Asks only for the tags :func:`territory.io.osm.osm_kind` keeps (schools only when
    named « Lycée » or of ISCED level 3), with the centre of ways and relations.

    Examples
    --------
    >>> print(overpass_query((-0.42, 49.15, -0.3, 49.22)).splitlines()[0])
    [out:json][timeout:120];
    """
    west, south, east, north = bounds
    box = f"({south:.5f},{west:.5f},{north:.5f},{east:.5f})"
    selectors = [
        'nwr["leisure"~"^(park|pitch|sports_centre|stadium|playground)$"]',
        (
            'nwr["amenity"~"^(marketplace|community_centre|youth_centre|social_centre'
            '|townhall|bus_station)$"]'
        ),
        'nwr["amenity"~"^(school|college)$"]["name"~"^[Ll]yc"]',
        'nwr["amenity"~"^(school|college)$"]["isced:level"~"3"]',
        'nwr["shop"="mall"]',
        'nwr["railway"~"^(station|halt)$"]',
        'nwr["public_transport"="station"]',
        'nwr["place"="square"]',
        'way["highway"="pedestrian"]["area"="yes"]',
    ]
    body = "\n".join(f"  {selector}{box};" for selector in selectors)
    return f"[out:json][timeout:{timeout_s}];\n(\n{body}\n);\nout center tags;"


def fetch_places(
    ws: Workspace, *, settings: Settings, progress: Callable[[str], None] | None = None
) -> ImportReport:
    """Download the OSM points of interest of the workspace's communes and import them.

    One Overpass query over the bounding box of the communes (:func:`overpass_query`),
    through the HTTP cache (an answer already downloaded is used offline); the answer is
    imported as places (:func:`territory.io.osm.places_from_osm`: kinds, clipping to the
    communes, report).

    Raises
    ------
    WorkspaceError
        The workspace has no communes.
    NetworkError
        Overpass cannot be reached: :data:`OFFLINE_PLACES`, one French line.
    """
    source = SOURCES["osm_places"]
    say = progress or (lambda _message: None)
    out, cached = _overpass_download(
        ws,
        source,
        overpass_query,
        settings=settings,
        say=say,
        what="les lieux sont cherchés",
        offline=OFFLINE_PLACES,
        hint="territory import places",
        name="osm-lieux-{}.json",
    )
    try:
        json.loads(out.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        cached.unlink(missing_ok=True)
        raise _unreadable(out, source.title, exc) from exc
    say(f"Import : {source.title}…")
    report = import_file(ws, "places", out, settings=settings, vintage=source.vintage)
    report.note(f"source : {source.attribution} ; licence : {source.licence}")
    return report


def _overpass_download(
    ws: Workspace,
    source: Source,
    query: Callable[[tuple[float, float, float, float]], str],
    *,
    settings: Settings,
    say: Callable[[str], None],
    what: str,
    offline: str,
    hint: str,
    name: str,
) -> tuple[Path, Path]:
    """One Overpass query over the communes' bounding box, through the HTTP cache.

    Returns the answer copied into the cache's ``territoires`` folder (``name`` with the
    answer's hash) and the cached download (removed by the caller when unreadable).
    Offline: ``offline``; another HTTP failure: the error and ``hint`` (the import command).
    """
    from territory._errors import WorkspaceError

    if not ws.has("communes"):
        raise WorkspaceError(f"importez d'abord les communes : {what} sur leur emprise")
    west, south, east, north = ws.read_layer("communes", columns=["code"]).to_crs(4326).total_bounds
    text = query((float(west), float(south), float(east), float(north)))
    say(f"Téléchargement : {source.title}…")
    try:
        cached = _http.get_file(source.url, settings=settings, params={"data": text})
    except NetworkError as exc:
        if exc.status is None:
            raise NetworkError(offline, host=exc.host) from exc
        raise NetworkError(
            f"{exc} ; importez un extrait OSM avec {hint}", host=exc.host, status=exc.status
        ) from exc
    folder = Path(settings.cache_dir) / "territoires"
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / name.format(cached.name[:16])
    shutil.copyfile(cached, out)
    return out, cached


# ------------------------------------------------------------------ OSM road network
def overpass_network_query(
    bounds: tuple[float, float, float, float], *, timeout_s: int = 900
) -> str:
    """The Overpass QL query of the roads and paths in ``bounds`` (west, south, east, north).

    Ways tagged ``highway`` except those no one travels on
    (:data:`territory.io.roads.NOT_ROADS`), with their nodes, as OSM XML.

    Examples
    --------
    >>> print(overpass_network_query((-0.42, 49.15, -0.3, 49.22)).splitlines()[1])
    way["highway"]["highway"!~"^(abandoned|bus_guideway|busway|construction|disused|\
emergency_bay|escape|no|platform|proposed|raceway|razed|rest_area|services)$"]\
(49.15000,-0.42000,49.22000,-0.30000);
    """
    from territory.io.roads import NOT_ROADS

    west, south, east, north = bounds
    box = f"({south:.5f},{west:.5f},{north:.5f},{east:.5f})"
    excluded = "|".join(sorted(NOT_ROADS))
    return (
        f"[out:xml][timeout:{timeout_s}];\n"
        f'way["highway"]["highway"!~"^({excluded})$"]{box};\n'
        "(._;>;);\nout body;"
    )


def fetch_network(
    ws: Workspace, *, settings: Settings, progress: Callable[[str], None] | None = None
) -> ImportReport:
    """Download the roads and paths over the workspace's communes and import them.

    One Overpass query over the communes' bounding box (:func:`overpass_network_query`),
    through the HTTP cache, imported as ``reseau`` (:mod:`territory.ingest_roads`).

    Raises
    ------
    WorkspaceError
        The workspace has no communes.
    NetworkError
        Overpass cannot be reached: :data:`OFFLINE_NETWORK`, one French line.
    """
    source = SOURCES["osm_roads"]
    say = progress or (lambda _message: None)
    out, cached = _overpass_download(
        ws,
        source,
        overpass_network_query,
        settings=settings,
        say=say,
        what="le réseau routier est cherché",
        offline=OFFLINE_NETWORK,
        hint="territory import reseau FICHIER.osm",
        name="osm-reseau-{}.osm",
    )
    say(f"Import : {source.title}…")
    try:
        report = import_file(ws, "reseau", out, settings=settings, vintage=date.today().isoformat())
    except InputFileError:
        cached.unlink(missing_ok=True)  # an unreadable answer is not kept in the cache
        raise
    report.note(f"source : {source.attribution} ; licence : {source.licence}")
    return report
