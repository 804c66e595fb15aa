"""Catalogue of the official sources ``territory fetch`` downloads (model: geodatasets).

One frozen :class:`Source` per source: URL template, licence, attribution, vintage, CRS,
expected format and, when known, sha256 and row count (checked on download). What has
been checked about each URL and answer shape, and how, is in ``checked``; what still
has to be checked against the live service is in ``to_verify`` (none of these hosts
is reachable from the machines this was written on).

Datasets published on data.gouv.fr are resolved through its API: the dataset answer
lists resources and :func:`pick_resource` chooses one by format and title.

Examples
--------
>>> SOURCES["communes"].url_for(dep="14")[:48]
'https://geo.api.gouv.fr/departements/14/communes'
>>> pick_resource({"resources": [{"title": "qp-2024.geojson", "format": "geojson",
...     "url": "https://static.data.gouv.fr/q.geojson"}]}, SOURCES["qpv2024"].rule).url
'https://static.data.gouv.fr/q.geojson'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from territory._errors import InputFileError
from territory.crs import METRIC_CRS
from territory.io.partners import weekday_columns_to_osm
from territory.vocab import WEEKDAYS_FR

PARTNER_FIELDS = (
    "nom",
    "typologie",
    "adresse",
    "code_insee",
    "latitude",
    "longitude",
    "horaires_accueil",
    "telephone",
)
"""Columns of the partners CSV written from data·inclusion and France services answers."""

LICENCE_OUVERTE = "Licence Ouverte 2.0 (Etalab)"
_LICENCES = {
    "lov2": LICENCE_OUVERTE,
    "fr-lo": "Licence Ouverte 1.0 (Etalab)",
    "odc-odbl": "ODbL 1.0",
    "mobility-licence": "Licence Mobilités",
    "cc-by": "CC BY",
}


@dataclass(frozen=True)
class ResourceRule:
    """How to choose one resource among a data.gouv.fr dataset's resources.

    A resource matches when its format (or URL suffix) is one of ``formats``, its title
    or URL holds one of ``any_of`` (if given) and none of ``exclude``; ties go to the
    one holding a ``prefer`` word, then to the most recently modified.
    """

    formats: tuple[str, ...]
    any_of: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    prefer: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """One official source: where it is, what it is, under which licence.

    Attributes
    ----------
    name
        Key in :data:`SOURCES`.
    title
        French label used in progress messages and reports.
    url
        URL template (``{dep}``…); for data.gouv.fr datasets, the dataset API URL.
    kind
        Importer kind it feeds (:data:`territory.ingest.KINDS`).
    format
        Expected format of the downloaded file (``geojson``, ``zip-shp``, ``xlsx``…).
    licence, attribution, vintage, crs
        What the workspace records; ``crs`` is None when the file declares its own.
    sha256, rows
        Checksum and national row count, checked on download when known.
    rule
        How to choose the resource in a data.gouv.fr dataset answer.
    checked, to_verify
        What has been checked about the URL and answer shape (and how), and what
        still has to be checked against the live service.
    extra
        Source-specific reading hints (sheet name, layer name).
    """

    name: str
    title: str
    url: str
    kind: str
    format: str
    licence: str
    attribution: str
    vintage: str
    crs: str | None = "EPSG:4326"
    sha256: str | None = None
    rows: int | None = None
    rule: ResourceRule | None = None
    checked: str = ""
    to_verify: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    def url_for(self, **values: str) -> str:
        """The URL with its ``{placeholders}`` filled."""
        return self.url.format(**values)

    def rows_note(self, found: int) -> str | None:
        """A French note when the national row count is not the expected one."""
        if self.rows is None or found == self.rows:
            return None
        return (
            f"{self.title} : {found} lignes dans le fichier national, {self.rows} attendues "
            "(nouvelle édition ? vérifiez le millésime)"
        )


# Slug cited by several public projects and pages; to be checked against the live API.
_DATAGOUV_QPV = (
    "https://www.data.gouv.fr/api/1/datasets/"
    "quartiers-prioritaires-de-la-politique-de-la-ville-qpv/"
)
SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            name="communes",
            title="communes (geo.api.gouv.fr)",
            url="https://geo.api.gouv.fr/departements/{dep}/communes?fields=nom,code,population,"
            "codeEpci,codeDepartement,contour&format=geojson&geometry=contour",
            kind="communes",
            format="geojson",
            licence=LICENCE_OUVERTE,
            attribution="API Découpage administratif (geo.api.gouv.fr) : IGN, INSEE, DGCL",
            vintage="COG en vigueur",
            checked="URL from docs/domain.md; properties code, nom, population, codeEpci, "
            "codeDepartement as read by boundaries.read_communes (geo.api schema).",
            to_verify="live answer; population and codeEpci present for every commune",
        ),
        Source(
            name="qpv2024",
            title="QPV 2024 (ANCT, data.gouv.fr)",
            url=_DATAGOUV_QPV,
            kind="qpv",
            format="geojson",
            licence=LICENCE_OUVERTE,
            attribution="ANCT, quartiers prioritaires de la politique de la ville 2024",
            vintage="QPV 2024",
            crs=None,  # the dataset has an EPSG:2154 and a WGS84 GeoJSON; either is read
            rows=1584,
            rule=ResourceRule(formats=("geojson",), any_of=("2024",), prefer=("wgs84", "4326")),
            checked="dataset slug cited by several public projects; resource seen in the "
            "wild: static.data.gouv.fr/resources/quartiers-prioritaires-de-la-politique-de-la-"
            "ville-qpv/20240822-094641/qp-2024-epsg2154-20240820.geojson",
            to_verify="resource titles in the live API; 1,584 features (MANIFEST §1b, unverified)",
        ),
        Source(
            name="qpv2015",
            title="QPV 2015 (ANCT, data.gouv.fr)",
            url=_DATAGOUV_QPV,
            kind="qpv",
            format="zip-shp",
            licence=LICENCE_OUVERTE,
            attribution="ANCT, quartiers prioritaires de la politique de la ville 2015",
            vintage="QPV 2015",
            crs=METRIC_CRS,
            rows=1296,
            rule=ResourceRule(
                formats=("zip", "shp"),
                any_of=("politiquedelaville", "2015", "qp_metropole"),
                exclude=("2024",),
            ),
            checked="zip qp-politiquedelaville-shp.zip holding QP_METROPOLE_LB93.shp "
            "(MANIFEST §1a); attributes CODE_QP, NOM_QP, COMMUNE_QP verified on the real extract",
            to_verify="resource title in the live API; 1,296 mainland QPV (from memory)",
            extra={"layer": "qp_metropole"},
        ),
        Source(
            name="density",
            title="grille communale de densité 2025 (INSEE)",
            url="https://www.insee.fr/fr/statistiques/fichier/8571524/fichier_diffusion_2025.xlsx",
            kind="density",
            format="xlsx",
            licence=LICENCE_OUVERTE,
            attribution="INSEE, grille communale de densité 2025",
            vintage="grille de densité 2025",
            crs=None,
            rows=34875,
            checked="URL used by several public projects; sheet « Maille communale », header "
            "on row 5: CODGEO, LIBGEO, DENS, LIBDENS, PMUN22, P1-P3, DENS_AAV, LIBDENS_AAV, "
            "DENS7, LIBDENS7 (read from third-party code, range A5:L34880)",
            to_verify="URL, sheet name, columns and row count against the real file",
            extra={"sheet": "Maille communale"},
        ),
        Source(
            name="data_inclusion",
            title="services d'insertion (data·inclusion)",
            url="https://api.data.inclusion.beta.gouv.fr/api/v1/search/services",
            kind="partners",
            format="json",
            licence=LICENCE_OUVERTE + " (sauf mention contraire de la source d'origine)",
            attribution="data·inclusion (GIP Plateforme de l'inclusion) et ses sources",
            vintage="au téléchargement",
            checked="answer {items: [{service, distance}], total, page, size, pages}; service "
            "with nested structure (nom, adresse, code_insee, latitude, longitude, "
            "horaires_accueil, telephone, reseaux_porteurs) read in gip-inclusion/data-inclusion "
            "v1 schemas; results within 50 km of the commune's centre; page size ≤ 10,000",
            to_verify="host: the API's own config now names api.data.inclusion.gouv.fr; token "
            "required in production (TOKEN_ENABLED)",
        ),
        Source(
            name="france_services",
            title="France services (ANCT)",
            url="https://raw.githubusercontent.com/anct-carto/france_services/"
            "e1016fd717a8c9cc53406621959c837fb74fc0c9/data/liste-fs-20240801.csv",
            kind="partners",
            format="csv",
            licence=LICENCE_OUVERTE,
            attribution="ANCT, liste des France services (1er août 2024)",
            vintage="2024-08-01",
            crs="EPSG:4326",
            checked="schema verified: the real extract (MANIFEST §3a) is this file at this "
            "(immutable) commit; the raw.githubusercontent.com address itself not fetched",
            to_verify="a fresher official list (ANCT on data.gouv.fr): dataset slug unknown",
        ),
        Source(
            name="ban",
            title="adresses du département (Base Adresse Nationale)",
            url="https://adresse.data.gouv.fr/data/ban/adresses/latest/csv/adresses-{dep}.csv.gz",
            kind="ban",
            format="csv.gz",
            licence=LICENCE_OUVERTE,
            attribution="Base Adresse Nationale (adresse.data.gouv.fr)",
            vintage="BAN au téléchargement",
            checked="URL and columns from the schema « Format .csv pour un usage classique » "
            "(adresse.data.gouv.fr, public/schemas/adresses-csv.md): ; separator, UTF-8, "
            "id;id_fantoir;numero;rep;nom_voie;code_postal;code_insee;nom_commune;…;lon;lat;…; "
            "read by io.ban.read_ban",
            to_verify="live file (300,000 to 700,000 rows a département); the « latest » folder "
            "is rebuilt about weekly",
        ),
        Source(
            name="transport",
            title="réseaux de transport (transport.data.gouv.fr)",
            url="https://transport.data.gouv.fr/api/datasets",
            kind="gtfs",
            format="json",
            licence="selon le jeu de données (souvent ODbL)",
            attribution="transport.data.gouv.fr (Point d'accès national) et les producteurs",
            vintage="au téléchargement",
            checked="list of datasets {id, title, slug, type, licence, resources: [{format, "
            "url, is_available, updated, title}], covered_area: [{type, insee, nom}], "
            "legal_owners} from etalab/transport-site DatasetController; older answers had "
            "covered_area as one object (aom / cities / region): both are read",
            to_verify="live answer (several MB, not paginated)",
        ),
        Source(
            name="osm_places",
            title="points d'intérêt OpenStreetMap (Overpass)",
            url="https://overpass-api.de/api/interpreter",
            kind="places",
            format="json",
            licence="ODbL",
            attribution="© les contributeurs d'OpenStreetMap",
            vintage="au téléchargement",
            checked="Overpass QL `[out:json]` with `out center tags;`: elements {type, id, "
            "lat, lon | center {lat, lon}, tags} (Overpass API documentation); read by "
            "io.osm.read_osm",
            to_verify="live answer and its size on a whole département (timeout 120 s asked)",
        ),
        Source(
            name="osm_roads",
            title="réseau routier et chemins OpenStreetMap (Overpass)",
            url="https://overpass-api.de/api/interpreter",
            kind="reseau",
            format="osm",
            licence="ODbL",
            attribution="© les contributeurs d'OpenStreetMap",
            vintage="au téléchargement",
            checked="Overpass QL `[out:xml]` with `(._;>;); out body;`: OSM XML (nodes, "
            "ways with their tags), the format osmnx.graph_from_xml reads; read by "
            "io.roads.read_road_network",
            to_verify="live answer on a whole département: size (hundreds of MB) and time "
            "(timeout 900 s asked); a large territory may need an extract instead",
        ),
    )
}
"""Every source, by name."""


@dataclass(frozen=True)
class Resource:
    """The chosen resource of a data.gouv.fr dataset."""

    url: str
    title: str
    modified: str
    checksum: tuple[str, str] | None


def pick_resource(dataset: Mapping[str, Any], rule: ResourceRule) -> Resource:
    """Choose the resource of a data.gouv.fr dataset answer that ``rule`` describes.

    Raises
    ------
    InputFileError
        The answer lists no matching resource (the message names those it lists).
    """
    resources = dataset.get("resources")
    if not isinstance(resources, list):
        raise InputFileError("réponse data.gouv.fr inattendue : pas de liste « resources »")
    candidates = []
    for res in resources:
        if not isinstance(res, Mapping) or not res.get("url"):
            continue
        text = f"{res.get('title', '')} {res['url']}".lower()
        fmt = str(res.get("format") or "").lower().strip(".")
        suffix = str(res["url"]).lower().rsplit(".", 1)[-1]
        if fmt not in rule.formats and suffix not in rule.formats:
            continue
        if rule.any_of and not any(w in text for w in rule.any_of):
            continue
        if any(w in text for w in rule.exclude):
            continue
        preferred = any(w in text for w in rule.prefer)
        candidates.append((preferred, str(res.get("last_modified") or ""), res))
    if not candidates:
        titles = ", ".join(str(r.get("title")) for r in resources if isinstance(r, Mapping))
        raise InputFileError(
            f"aucune ressource {'/'.join(rule.formats)} attendue dans le jeu de données "
            f"(ressources : {titles or 'aucune'})"
        )
    _, modified, best = max(candidates, key=lambda c: (c[0], c[1]))
    checksum = best.get("checksum")
    pair = None
    if isinstance(checksum, Mapping) and checksum.get("type") and checksum.get("value"):
        pair = (str(checksum["type"]), str(checksum["value"]))
    return Resource(str(best["url"]), str(best.get("title") or ""), modified, pair)


def licence_label(code: object, default: str = "") -> str:
    """French label of a licence id used by data.gouv.fr / transport.data.gouv.fr."""
    text = str(code or "").strip()
    return _LICENCES.get(text.lower(), text or default)


# ------------------------------------------------------------------ reading the answers
_RESEAUX = {
    "mission-locale": "ML",
    "france-travail": "FT",
    "fcsf": "CS",
    "ecoles-de-la-deuxieme-chance": "E2C",
    "reseau-information-jeunesse": "PIJ_BIJ",
    "france-service": "FRANCE_SERVICES",
    "msap": "FRANCE_SERVICES",
}


def inclusion_places(answer: object) -> list[dict[str, str]]:
    """Partner rows (:data:`PARTNER_FIELDS` plus ``key``) from one data·inclusion search page.

    Each service is placed at its structure (name, address, coordinates, hours of the
    structure, those of the service when the structure has none); ``key`` identifies
    the structure, so that a structure with several services gives one partner. The
    typology is the v0 ``typologie`` code or, in schema v1, the first known
    ``reseaux_porteurs`` network (``mission-locale`` → ``ML``…), else ``AUTRE``.
    """
    if not isinstance(answer, Mapping) or not isinstance(answer.get("items"), list):
        raise InputFileError("réponse data·inclusion inattendue : pas de liste « items »")
    rows = []
    for item in answer["items"]:
        service = item.get("service") if isinstance(item, Mapping) else None
        if not isinstance(service, Mapping):
            continue
        structure = service.get("structure") or {}
        place = {**service, **{k: v for k, v in structure.items() if v not in (None, "", [])}}
        networks = [_RESEAUX[r] for r in place.get("reseaux_porteurs") or [] if r in _RESEAUX]
        town = f"{place.get('code_postal') or ''} {place.get('commune') or ''}".strip()
        parts = (place.get("adresse"), place.get("complement_adresse"), town)
        row = {
            "nom": _text(place.get("nom")),
            "typologie": _text(place.get("typologie")) or (networks or ["AUTRE"])[0],
            "adresse": ", ".join(_text(p) for p in parts if _text(p)),
            "code_insee": _text(place.get("code_insee")),
            "latitude": _text(place.get("latitude")),
            "longitude": _text(place.get("longitude")),
            "horaires_accueil": _text(place.get("horaires_accueil")),
            "telephone": _text(place.get("telephone")),
            "key": f"{place.get('source', '')}:{place.get('id', '')}",
        }
        rows.append(row)
    return rows


def france_services_rows(table: pd.DataFrame) -> list[dict[str, str]]:
    """Partner rows from the ANCT France services list (one column of hours per weekday)."""
    missing = {"lib_fs", "insee_com", "latitude", "longitude"} - set(table.columns)
    if missing:
        raise InputFileError(
            f"liste France services inattendue : colonnes {sorted(missing)} absentes"
        )
    rows = []
    for rec in table.to_dict("records"):
        town = f"{_text(rec.get('code_postal'))} {_text(rec.get('lib_com'))}".strip()
        parts = (rec.get("adresse"), rec.get("complement_adresse"), town)
        days = {f"h_{d}": _text(rec.get(f"h_{d}")) or None for d in WEEKDAYS_FR}
        rows.append(
            {
                "nom": _text(rec["lib_fs"]),
                "typologie": "FRANCE_SERVICES",
                "adresse": ", ".join(_text(p) for p in parts if _text(p)),
                "code_insee": _text(rec["insee_com"]),
                "latitude": _text(rec["latitude"]),
                "longitude": _text(rec["longitude"]),
                "horaires_accueil": weekday_columns_to_osm(days),
                "telephone": _text(rec.get("telephone")),
            }
        )
    return rows


def gtfs_feeds(
    answer: object, wanted: set[tuple[str, str]]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(dataset, GTFS resource) pairs of transport.data.gouv.fr covering ``wanted``, best first.

    ``wanted`` holds ``(type, code)`` pairs: ``("commune", "14118")``, ``("epci",
    "200065597")``, ``("departement", "14")``. A dataset's area is read from
    ``covered_area`` (a list of ``{type, insee}`` today, one ``aom``/``cities`` object
    before), ``legal_owners`` and the deprecated ``aom``; an EPCI or AOM match weighs
    more than a département match, which weighs more than one commune. Regional and
    national datasets never match (their feeds are far larger than a territory).
    """
    datasets = answer.get("data", []) if isinstance(answer, Mapping) else answer
    if not isinstance(datasets, list):
        raise InputFileError("réponse transport.data.gouv.fr inattendue : liste de jeux attendue")
    weights = {"epci": 10, "departement": 5, "commune": 1}
    found = []
    for data in datasets:
        if not isinstance(data, dict) or data.get("type") not in (None, "public-transit"):
            continue
        score = sum(weights.get(t, 0) for t, c in _areas(data) if (t, c) in wanted)
        resource = _gtfs_resource(data)
        if score and resource is not None:
            found.append((score, data, resource))
    found.sort(key=lambda f: f[0], reverse=True)
    return [(d, r) for _, d, r in found]


def _areas(data: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(type, code) pairs of a dataset's covered area, legal owners and AOM."""
    covered = data.get("covered_area")
    owners = data.get("legal_owners")
    if isinstance(owners, Mapping):  # older answers: {"aoms": [...], "regions": [...]}
        owners = [{**a, "type": "aom"} for a in owners.get("aoms") or []]
    items = [
        *(covered if isinstance(covered, list) else [covered]),
        *(owners if isinstance(owners, list) else []),
        {**(data.get("aom") or {}), "type": "aom"},
    ]
    out: set[tuple[str, str]] = set()
    for area in (a for a in items if isinstance(a, Mapping)):
        kind = str(area.get("type") or "").lower()
        if kind == "cities":
            out |= {("commune", str(c.get("insee"))) for c in area.get("cities") or []}
        elif kind == "aom":
            aom = area["aom"] if isinstance(area.get("aom"), Mapping) else area
            out.add(("epci", str(aom.get("siren"))))
        else:
            out.add((kind, str(area.get("insee"))))
    return out


def _gtfs_resource(data: Mapping[str, Any]) -> dict[str, Any] | None:
    gtfs = [
        r
        for r in data.get("resources") or []
        if isinstance(r, dict) and str(r.get("format", "")).lower() == "gtfs" and r.get("url")
    ]
    gtfs.sort(key=lambda r: (r.get("is_available") is not False, str(r.get("updated") or "")))
    return gtfs[-1] if gtfs else None


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()
