"""OpenStreetMap points of interest as candidate outreach places.

Reads three shapes of OSM data without any new dependency:

* ``.osm`` XML extracts (JOSM, the OSM website's export, ``osmium cat -o x.osm``), with
  :func:`xml.etree.ElementTree.iterparse` in two passes so that only the nodes of the
  kept ways are held in memory: tagged nodes are points, ways the centroid of their nodes
  (the representative point of their polygon when closed);
* GeoJSON exported from OSM (overpass turbo, ``osmtogeojson``, QGIS QuickOSM): tags as
  properties, or in a ``tags`` object; polygons give their representative point;
* Overpass JSON (``out center tags;``), what ``territory fetch --lieux`` downloads.

:func:`osm_kind` maps OSM tags to the place kinds of :data:`territory.vocab.KINDS`
(parks, sports grounds, playgrounds, marketplaces, youth and community centres, lycées,
town halls, malls, stations, squares and pedestrian areas); every other feature is
refused with its reason. :func:`places_from_osm` keeps those inside the workspace's
communes and writes the import report.
"""

from __future__ import annotations

import json
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import LineString, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

from territory._errors import InputFileError, plain_reason
from territory.hours import read_hours, windows_from_opening_hours
from territory.io.report import ImportReport

__all__ = ["OSM_KEYS", "is_osm_file", "osm_kind", "places_from_osm", "read_osm"]

OSM_KEYS = ("leisure", "amenity", "shop", "railway", "public_transport", "place", "highway")
"""The OSM keys :func:`osm_kind` reads (also what an Overpass query asks for)."""

_LEISURE = {
    "park": "parc",
    "pitch": "terrain de sport",
    "sports_centre": "terrain de sport",
    "stadium": "terrain de sport",
    "playground": "aire de jeux",
}
_AMENITY = {
    "marketplace": "marché",
    "community_centre": "maison de quartier / jeunesse",
    "youth_centre": "maison de quartier / jeunesse",
    "social_centre": "maison de quartier / jeunesse",
    "townhall": "centre-bourg",
    "bus_station": "gare / pôle d'échanges",
}
_STATION = "gare / pôle d'échanges"
_ATTRIBUTES = ("id", "@id", "type", "tags", "timestamp", "version", "changeset", "user", "uid")


def _plain(text: object) -> str:
    decomposed = unicodedata.normalize("NFKD", str(text or "").strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def osm_kind(tags: Mapping[str, str]) -> tuple[str | None, str]:
    """The place kind of an OSM feature, or None and why it is refused.

    Examples
    --------
    >>> osm_kind({"leisure": "park", "name": "Parc de la Colline"})
    ('parc', '')
    >>> osm_kind({"amenity": "school", "name": "Lycée Malherbe"})
    ('lycée', '')
    >>> osm_kind({"amenity": "school", "name": "École Jean Moulin"})
    (None, 'école ou collège (amenity=school) : lycées seulement')
    >>> osm_kind({"leisure": "pitch", "sport": "multi"})
    ('city stade', '')
    >>> osm_kind({})
    (None, 'aucune étiquette OSM')
    """
    if not tags:
        return None, "aucune étiquette OSM"
    leisure, amenity = tags.get("leisure", ""), tags.get("amenity", "")
    name = _plain(tags.get("name", ""))
    if leisure == "pitch" and ("multi" in tags.get("sport", "") or "city" in name):
        return "city stade", ""
    if leisure in _LEISURE:
        return _LEISURE[leisure], ""
    if amenity in ("school", "college"):
        isced = tags.get("isced:level", "")
        if name.startswith("lycee") or " lycee" in f" {name}" or "3" in isced.split(";"):
            return "lycée", ""
        return None, f"école ou collège (amenity={amenity}) : lycées seulement"
    if amenity in _AMENITY:
        return _AMENITY[amenity], ""
    if tags.get("shop") == "mall":
        return "centre commercial", ""
    if tags.get("railway") in ("station", "halt") or tags.get("public_transport") == "station":
        return _STATION, ""
    if tags.get("place") == "square":
        return "place publique", ""
    if tags.get("highway") == "pedestrian" and tags.get("area") == "yes":
        return "place publique", ""
    shown = [f"{k}={tags[k]}" for k in OSM_KEYS if k in tags][:3]
    what = ", ".join(shown) if shown else ", ".join(f"{k}={v}" for k, v in list(tags.items())[:2])
    return None, f"étiquettes non retenues ({what})"


# --------------------------------------------------------------------------- readers
def is_osm_file(path: Path) -> bool:
    """Whether ``path`` is an OSM extract (``.osm`` XML, Overpass JSON, OSM GeoJSON).

    A GeoJSON is OSM when its features carry OSM tags (``amenity``, ``leisure``…, or a
    ``tags`` object) or OSM ids (``node/123``) and no ``type`` column of a team's file.
    """
    suffix = "".join(Path(path).suffixes[-2:]).lower()
    if suffix.endswith((".osm", ".osm.xml")):
        return True
    if Path(path).suffix.lower() not in (".geojson", ".json"):
        return False
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    if isinstance(data, dict) and isinstance(data.get("elements"), list):
        return True
    features = data.get("features") if isinstance(data, dict) else None
    for feature in (features or [])[:50]:
        props = feature.get("properties") or {}
        if "type" in props and "nom" in props:
            return False
        ident = str(props.get("@id", props.get("id", feature.get("id", ""))))
        if isinstance(props.get("tags"), dict) or ident.startswith(("node/", "way/", "relation/")):
            return True
        if any(key in props for key in OSM_KEYS):
            return True
    return False


def read_osm(path: Path) -> gpd.GeoDataFrame:
    """The tagged features of an OSM extract: ``osm_id``, ``tags`` (dict), geometry.

    EPSG:4326. Ways are the centroid of their nodes, or the representative point of their
    polygon when closed; relations of an ``.osm`` file have no geometry (their members are
    not resolved) and are kept with an empty one, to be refused with their reason.
    """
    path = Path(path)
    try:
        if path.suffix.lower() in (".geojson", ".json"):
            rows = list(_json_features(json.loads(path.read_text(encoding="utf-8-sig"))))
        else:
            rows = _xml_features(path)
    except (OSError, ValueError, UnicodeDecodeError, ET.ParseError) as exc:
        raise InputFileError(f"{path.name} illisible : {plain_reason(exc)}") from exc
    return gpd.GeoDataFrame(
        {"osm_id": [r[0] for r in rows], "tags": [r[1] for r in rows]},
        geometry=[r[2] for r in rows],
        crs="EPSG:4326",
    )


_Row = tuple[str, dict[str, str], BaseGeometry | None]


def _json_features(data: Any) -> Iterator[_Row]:
    if isinstance(data, dict) and isinstance(data.get("elements"), list):  # Overpass JSON
        for element in data["elements"]:
            tags = {str(k): str(v) for k, v in (element.get("tags") or {}).items()}
            where = element if "lat" in element else element.get("center") or {}
            point = Point(where["lon"], where["lat"]) if "lat" in where else None
            yield f"{element.get('type', 'node')}/{element.get('id', '')}", tags, point
        return
    if not isinstance(data, dict) or not isinstance(data.get("features"), list):
        raise ValueError("ni GeoJSON (features) ni réponse Overpass (elements)")
    for position, feature in enumerate(data["features"]):
        props = dict(feature.get("properties") or {})
        tags = props.pop("tags", None)
        if not isinstance(tags, dict):
            tags = {k: v for k, v in props.items() if k not in _ATTRIBUTES and v is not None}
        ident = str(props.get("@id") or props.get("id") or feature.get("id") or position + 1)
        geometry = feature.get("geometry")
        try:
            geom = shape(geometry) if geometry else None
        except (ValueError, TypeError, AttributeError):
            geom = None
        yield ident, {str(k): str(v) for k, v in tags.items()}, geom


def _xml_features(path: Path) -> list[_Row]:
    """Two passes: tagged nodes and ways (with their node refs), then the nodes they use."""
    rows: list[_Row] = []
    ways: list[tuple[str, dict[str, str], list[str]]] = []
    for _, elem in ET.iterparse(path, events=("end",)):
        if elem.tag not in ("node", "way", "relation"):
            continue
        tags = {t.get("k", ""): t.get("v", "") for t in elem.iter("tag")}
        ident = f"{elem.tag}/{elem.get('id', '')}"
        if elem.tag == "node" and tags:
            rows.append(
                (ident, tags, Point(float(elem.get("lon", "")), float(elem.get("lat", ""))))
            )
        elif elem.tag == "way":
            ways.append((ident, tags, [nd.get("ref", "") for nd in elem.iter("nd")]))
        elif elem.tag == "relation" and tags:
            rows.append((ident, tags, None))
        elem.clear()
    wanted = {ref for _, _, refs in ways for ref in refs}
    coords: dict[str, tuple[float, float]] = {}
    for _, elem in ET.iterparse(path, events=("end",)):
        if elem.tag == "node" and elem.get("id") in wanted:
            coords[str(elem.get("id"))] = (float(elem.get("lon", "")), float(elem.get("lat", "")))
        if elem.tag in ("node", "way", "relation"):
            elem.clear()
    for ident, tags, refs in ways:
        points = [coords[r] for r in refs if r in coords]
        geom: BaseGeometry | None = None
        if len(points) >= 4 and refs[0] == refs[-1]:
            geom = Polygon(points)
            geom = geom if geom.is_valid else geom.buffer(0)
        elif len(points) >= 2:
            geom = LineString(points)
        elif points:
            geom = Point(points[0])
        rows.append((ident, tags, geom))
    return rows


# --------------------------------------------------------------------------- places
def places_from_osm(
    path: Path,
    *,
    communes: gpd.GeoDataFrame,
    features: gpd.GeoDataFrame | None = None,
    source: str | None = None,
) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """Candidate places from an OSM extract, clipped to ``communes``.

    Parameters
    ----------
    path
        ``.osm``, OSM GeoJSON or Overpass JSON (:func:`read_osm`).
    communes
        The workspace's communes (``code``, ``nom``): a place's ``zone`` is the commune
        under it; a feature outside every commune is refused.
    features
        Already read features (:func:`read_osm`), e.g. from an Overpass answer.
    source
        What the ``source`` column and the report name (default: the file name).

    Returns
    -------
    places, report
        EPSG:4326 places (``id`` = ``osm-node-123``, ``nom``, ``type``, ``zone``,
        ``duree``, ``priorite``, ``horaires`` from ``opening_hours`` when readable,
        ``source``) and the report: read, accepted, refused with reasons (no tag, tags not
        kept, no geometry, outside the territory), and a note of the kinds kept.
    """
    path = Path(path)
    name = source or path.name
    report = ImportReport(kind="places", source=name)
    found = read_osm(path) if features is None else features
    points = gpd.GeoSeries([_point(g) for g in found.geometry], index=found.index, crs="EPSG:4326")
    zones = communes[["code", "geometry"]].to_crs(4326)
    under = gpd.sjoin(
        gpd.GeoDataFrame(geometry=points.where(points.notna(), None), crs=4326),
        zones,
        predicate="within",
        how="left",
    )["code"]
    zone = under.groupby(level=0).first()
    rows: list[dict[str, Any]] = []
    unnamed = 0
    for index, (osm_id, tags) in enumerate(zip(found["osm_id"], found["tags"], strict=True)):
        report.read += 1
        kind, why = osm_kind(tags)
        line = str(osm_id)
        point = points.iloc[index]
        if kind is None:
            report.refuse(line, why)
        elif point is None:
            report.refuse(line, "géométrie absente (relation non résolue ou nœuds manquants)")
        elif pd.isna(zone.get(found.index[index])):
            report.refuse(line, "hors du territoire (aucune commune)")
        else:
            hours = ""
            if tags.get("opening_hours"):
                read, how = read_hours(tags["opening_hours"])
                if how != "texte" and read and windows_from_opening_hours(read) is not None:
                    hours = read
            label = tags.get("name", "").strip()
            if not label:
                unnamed += 1
                label = f"{kind[0].upper()}{kind[1:]} sans nom ({osm_id})"
            report.accept()
            rows.append(
                {
                    "id": "osm-" + str(osm_id).replace("/", "-"),
                    "nom": label,
                    "type": kind,
                    "zone": str(zone[found.index[index]]),
                    "duree": 45.0,
                    "priorite": 1.0,
                    "horaires": hours,
                    "source": f"OpenStreetMap ({name})",
                    "geometry": point,
                }
            )
    columns = ["id", "nom", "type", "zone", "duree", "priorite", "horaires", "source", "geometry"]
    places = gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs=4326)
    places = places.drop_duplicates("id").reset_index(drop=True)
    # 6 decimals (about 0.1 m), as the visits of a plan are stored.
    places = places.set_geometry(shapely.set_precision(places.geometry.array, 1e-6))
    if len(places):
        counts = places["type"].value_counts()
        report.note(
            "lieux OpenStreetMap retenus : "
            + ", ".join(f"{n} {kind}" for kind, n in counts.items())
            + (f" ({unnamed} sans nom, nommés d'après leur type)" if unnamed else "")
        )
    report.note("© les contributeurs d'OpenStreetMap, données sous licence ODbL")
    return places, report.check()


def _point(geometry: BaseGeometry | None) -> Point | None:
    if geometry is None or geometry.is_empty:
        return None
    if geometry.geom_type == "Point":
        return geometry
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry.representative_point()
    centroid = geometry.centroid
    return centroid if not centroid.is_empty else None
