"""Read an OpenStreetMap road and path network (``.osm`` XML) into the edges of the workspace.

:func:`read_road_network` reads the file with osmnx (``graph_from_xml``, offline), keeps
the ways tagged ``highway`` that someone may travel on, simplifies the graph between
intersections (an edge ends where its tags change) and returns one row per edge in
EPSG:4326 with what :mod:`territory.roads` needs:

``u``, ``v``
    OSM ids of the edge's end nodes (the geometry runs from ``u`` to ``v``).
``longueur_m``
    Length along the geometry (metres, great-circle, as osmnx measures it).
``highway``, ``nom``
    OSM class and name.
``marche``, ``velo``, ``voiture``
    Whether the edge is open to walking, cycling, driving (see :func:`modes_of`).
``sens_unique``
    Cars may drive it only from ``u`` to ``v`` (``oneway=yes``, roundabouts); walking and
    cycling ignore it.
``vitesse_kmh``
    Car speed: ``maxspeed`` when tagged, capped by the class's typical speed
    (:data:`CAR_KMH`), else that typical speed.

A ``.osm.pbf`` file is refused with the command that converts it: osmnx reads XML only.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import numpy as np
import pandas as pd

from territory._errors import InputFileError
from territory.io.report import ImportReport

__all__ = [
    "CAR_CLASSES",
    "CAR_KMH",
    "COLUMNS",
    "NOT_ROADS",
    "is_pbf",
    "modes_of",
    "read_road_network",
]

CAR_KMH: dict[str, float] = {
    "motorway": 110.0,
    "trunk": 90.0,
    "primary": 65.0,
    "secondary": 55.0,
    "tertiary": 45.0,
    "unclassified": 40.0,
    "road": 40.0,
    "residential": 30.0,
    "service": 20.0,
    "living_street": 15.0,
}
"""Typical car speed by OSM class (km/h): a free-flowing average, junctions included,
below the French limits (130, 110, 80, 50 in towns); ``*_link`` ramps take their class's."""
CAR_CLASSES = (
    frozenset(CAR_KMH)
    | {f"{c}_link" for c in ("motorway", "trunk", "primary")}
    | {f"{c}_link" for c in ("secondary", "tertiary")}
)
"""OSM classes open to cars unless tagged otherwise (tracks, paths and footways are not)."""
_NO_WALK_BIKE = frozenset({"motorway", "motorway_link"})
_NO_BIKE = frozenset({"footway", "pedestrian", "steps", "corridor", "elevator"})
NOT_ROADS = frozenset(
    {
        "proposed",
        "construction",
        "abandoned",
        "disused",
        "platform",
        "raceway",
        "bus_guideway",
        "busway",
        "escape",
        "emergency_bay",
        "rest_area",
        "services",
        "razed",
        "no",
    }
)
"""``highway`` values that are no way to travel on (planned, disused, platforms…)."""
_NO = frozenset({"no", "private", "agricultural", "forestry", "delivery", "customers"})
_YES = frozenset({"yes", "designated", "permissive", "destination"})
_TAGS = (
    "highway",
    "name",
    "oneway",
    "junction",
    "access",
    "foot",
    "bicycle",
    "motor_vehicle",
    "motorcar",
    "vehicle",
    "maxspeed",
    "area",
)
COLUMNS = (
    "u",
    "v",
    "longueur_m",
    "highway",
    "nom",
    "marche",
    "velo",
    "voiture",
    "sens_unique",
    "vitesse_kmh",
)
"""Columns of the edges layer, geometry aside."""
_SPEED = re.compile(r"(\d+(?:[.,]\d+)?)\s*(mph)?")
_ZONE_SPEEDS = {"urban": 50.0, "rural": 80.0, "motorway": 130.0, "trunk": 110.0, "walk": 6.0}


def is_pbf(path: Path) -> bool:
    """Whether ``path`` is a binary ``.pbf`` extract (osmnx reads XML only)."""
    return Path(path).name.lower().endswith(".pbf")


def _tag(tags: Mapping[str, Any], key: str) -> str:
    value = tags.get(key)
    if isinstance(value, list):  # osmnx merges values of merged ways into lists
        value = value[0] if value else None
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip().lower()


def modes_of(tags: Mapping[str, Any]) -> tuple[bool, bool, bool]:
    """Whether walking, cycling and driving may use a way of these OSM tags.

    Motorways are for cars only; footways, paths, steps, cycleways, tracks and bridleways
    are not for cars; footways, pedestrian streets and steps are not for bikes unless
    ``bicycle=yes``; ``access=no`` (or private) closes a way to every mode unless the
    mode's own tag (``foot``, ``bicycle``, ``motor_vehicle``, ``motorcar``, ``vehicle``)
    opens it; ``foot=no`` / ``bicycle=no`` / ``motor_vehicle=no`` close it to that mode.

    Examples
    --------
    >>> modes_of({"highway": "residential"})
    (True, True, True)
    >>> modes_of({"highway": "motorway"}), modes_of({"highway": "footway"})
    ((False, False, True), (True, False, False))
    >>> modes_of({"highway": "service", "access": "private", "foot": "yes"})
    (True, False, False)
    """
    highway = _tag(tags, "highway")
    walk = highway not in _NO_WALK_BIKE
    bike = highway not in _NO_WALK_BIKE and highway not in _NO_BIKE
    car = highway in CAR_CLASSES
    if _tag(tags, "access") in _NO:
        walk = bike = car = False
    foot, bicycle = _tag(tags, "foot"), _tag(tags, "bicycle")
    motor = _tag(tags, "motorcar") or _tag(tags, "motor_vehicle") or _tag(tags, "vehicle")
    walk = (walk or foot in _YES) and foot not in _NO
    bike = (bike or bicycle in _YES) and bicycle not in _NO
    car = (car or (motor in _YES and highway in CAR_CLASSES)) and motor not in _NO
    if _tag(tags, "vehicle") in _NO:
        bike = bike and bicycle in _YES
    return walk, bike, car


def car_speed(tags: Mapping[str, Any]) -> float:
    """Car speed of a way (km/h): ``maxspeed`` capped by its class's typical speed.

    Examples
    --------
    >>> car_speed({"highway": "primary"}), car_speed({"highway": "primary", "maxspeed": "30"})
    (65.0, 30.0)
    >>> car_speed({"highway": "trunk_link", "maxspeed": "FR:urban"})
    50.0
    """
    highway = _tag(tags, "highway").removesuffix("_link")
    typical = CAR_KMH.get(highway, 30.0)
    text = _tag(tags, "maxspeed")
    limit: float | None = None
    if ":" in text:
        limit = _ZONE_SPEEDS.get(text.split(":", 1)[1])
    elif text in _ZONE_SPEEDS:
        limit = _ZONE_SPEEDS[text]
    else:
        found = [
            float(n.replace(",", ".")) * (1.609 if mph else 1.0) for n, mph in _SPEED.findall(text)
        ]
        limit = min(found) if found else None
    return float(min(typical, limit)) if limit and limit > 0 else typical


def _check_xml(path: Path) -> None:
    """Refuse a file that is not OSM XML with one French line (before osmnx reads it)."""
    try:
        for _, elem in ET.iterparse(path, events=("start",)):
            if elem.tag != "osm":
                raise InputFileError(
                    f"{path.name} n'est pas un extrait OpenStreetMap (.osm XML) : "
                    f"premier élément <{elem.tag}>, attendu <osm>"
                )
            return
    except ET.ParseError as exc:
        raise InputFileError(f"{path.name} illisible (XML OSM attendu) : {exc}") from exc
    except OSError as exc:
        raise InputFileError(f"{path.name} illisible : {exc.strerror or exc}") from exc
    raise InputFileError(f"{path.name} est vide")


@contextlib.contextmanager
def _osmnx_tags() -> Iterator[Any]:
    """Osmnx with the way tags the modes need, its global settings put back after."""
    import osmnx as ox

    saved = (ox.settings.useful_tags_way, ox.settings.log_console, ox.settings.use_cache)
    ox.settings.useful_tags_way = list(_TAGS)
    ox.settings.log_console = False
    ox.settings.use_cache = False
    try:
        yield ox
    finally:
        ox.settings.useful_tags_way, ox.settings.log_console, ox.settings.use_cache = saved


def read_road_network(path: str | Path) -> tuple[gpd.GeoDataFrame, ImportReport]:
    """The road and path edges of an ``.osm`` XML extract, and the import report.

    The report reads one line per way of the file: kept when it carries some usable edge,
    refused with its reason otherwise (no ``highway`` tag, a class that is no way to travel
    on, closed to every mode). Its notes give the edges kept, by mode, and the bounding box.

    Raises
    ------
    InputFileError
        A ``.pbf`` file, a file that is not OSM XML, or one without any usable way: one
        French line.
    """
    path = Path(path)
    report = ImportReport(kind="reseau", source=path.name)
    if is_pbf(path):
        raise InputFileError(
            f"{path.name} : format .osm.pbf non lu ; convertissez-le en .osm "
            f"(osmium cat {path.name} -o reseau.osm, ou osmconvert {path.name} -o=reseau.osm)"
        )
    _check_xml(path)
    with tempfile.TemporaryDirectory(prefix="territory-reseau-") as folder:
        clean = Path(folder) / "voies.osm"
        ways, cut = _usable_ways(path, clean)
        report.read = len(ways)
        for way_id, (tags, pieces) in ways.items():
            reason = _refusal(tags)
            if reason is None and not pieces:
                reason = "nœuds absents de l'extrait (voie coupée à sa limite)"
            if reason is None:
                report.accept()
            else:
                report.refuse(f"way {way_id}", reason)
        if cut:
            report.fix(
                "voie(s) coupée(s) à la limite de l'extrait (nœuds absents) : gardée(s) "
                "sur leurs parties complètes",
                cut,
            )
        if not report.accepted:
            raise InputFileError(
                f"{path.name} : aucune voie utilisable ({len(ways)} chemin(s) OSM lu(s), aucun "
                "avec une étiquette highway ouverte à la marche, au vélo ou à la voiture)"
            )
        edges = _edges(clean, path.name)
    west, south, east, north = edges.total_bounds
    report.note(
        f"{len(edges)} tronçon(s) entre carrefours : {int(edges['marche'].sum())} à pied, "
        f"{int(edges['velo'].sum())} à vélo, {int(edges['voiture'].sum())} en voiture "
        f"(dont {int(edges['sens_unique'].sum())} à sens unique)"
    )
    report.note(
        f"emprise : longitude {west:.4f} à {east:.4f}, latitude {south:.4f} à {north:.4f}".replace(
            ".", ","
        )
    )
    return edges, report.check()


def _refusal(tags: Mapping[str, str]) -> str | None:
    """Why a way is no road to travel on (None: it is one)."""
    highway = tags.get("highway", "")
    if not highway:
        return "pas une voie (sans étiquette highway)"
    if highway in NOT_ROADS or tags.get("area") == "yes":
        return f"highway={highway} : pas une voie de circulation"
    if not any(modes_of(tags)):
        return "fermée à la marche, au vélo et à la voiture"
    return None


def _usable_ways(path: Path, clean: Path) -> tuple[dict[int, tuple[dict[str, str], int]], int]:
    """Every way of the file with its tags and usable pieces, written to ``clean``.

    Two streaming passes: the ways and the nodes present, then the nodes the usable ways
    need (osmnx then reads only these: no building, no river). A way whose nodes are not
    all in the file (an extract cut at a border) is split into its runs of present nodes,
    each written as a way of its own. Returns the ways (tags, number of pieces written)
    and the number of ways cut.
    """
    present: set[int] = set()
    ways: dict[int, tuple[dict[str, str], int]] = {}
    refs: dict[int, list[int]] = {}
    try:
        for _, elem in ET.iterparse(path, events=("end",)):
            if elem.tag == "node":
                present.add(int(elem.get("id", "0")))
            elif elem.tag == "way":
                tags = {t.get("k", ""): t.get("v", "") for t in elem.iter("tag")}
                way_id = int(elem.get("id", "0"))
                ways[way_id] = (tags, 0)
                if _refusal(tags) is None:
                    refs[way_id] = [int(nd.get("ref", "0")) for nd in elem.iter("nd")]
            if elem.tag in ("node", "way", "relation"):
                elem.clear()
    except (ET.ParseError, ValueError) as exc:
        raise InputFileError(f"{path.name} illisible (XML OSM attendu) : {exc}") from exc
    pieces: list[tuple[dict[str, str], list[int]]] = []
    cut = 0
    for way_id, nodes in refs.items():
        runs: list[list[int]] = [[]]
        for node in nodes:
            if node in present:
                runs[-1].append(node)
            elif runs[-1]:
                runs.append([])
        kept = [run for run in runs if len(run) >= 2]
        cut += any(node not in present for node in nodes) and bool(kept)
        tags = ways[way_id][0]
        ways[way_id] = (tags, len(kept))
        pieces += [(tags, run) for run in kept]
    wanted = {node for _, run in pieces for node in run}
    with clean.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n')
        for _, elem in ET.iterparse(path, events=("end",)):
            if elem.tag == "node" and int(elem.get("id", "0")) in wanted:
                out.write(
                    f'<node id="{elem.get("id")}" lat="{elem.get("lat")}" '
                    f'lon="{elem.get("lon")}"/>\n'
                )
            if elem.tag in ("node", "way", "relation"):
                elem.clear()
        for number, (tags, run) in enumerate(pieces, start=1):
            out.write(
                f'<way id="{number}">'
                + "".join(f'<nd ref="{node}"/>' for node in run)
                + "".join(
                    f"<tag k={quoteattr(k)} v={quoteattr(v)}/>"
                    for k, v in tags.items()
                    if k in _TAGS
                )
                + "</way>\n"
            )
        out.write("</osm>\n")
    return ways, int(cut)


def _edges(clean: Path, name: str) -> gpd.GeoDataFrame:
    """Osmnx's graph of the usable ways, simplified where no tag changes, one row an edge."""
    with _osmnx_tags() as ox:
        try:
            graph = ox.graph_from_xml(clean, bidirectional=False, simplify=False, retain_all=True)
        except (ValueError, KeyError, TypeError, ET.ParseError) as exc:
            raise InputFileError(f"{name} illisible par osmnx : {exc}") from exc
        graph = ox.simplify_graph(graph, edge_attrs_differ=[t for t in _TAGS if t != "area"])
        frame = ox.graph_to_gdfs(graph, nodes=False, fill_edge_geometry=True).reset_index()
    for column in _TAGS:
        if column not in frame.columns:
            frame[column] = None
    frame["pair"] = [(min(a, b), max(a, b)) for a, b in zip(frame["u"], frame["v"], strict=True)]
    frame["length_key"] = frame["length"].round(1)
    group = frame.groupby(["pair", "length_key"], sort=False)["u"].transform("size")
    frame["one_way"] = group == 1
    # Two-way edges come once each way: keep one, from the lower node id.
    keep = frame["one_way"] | (frame["u"] <= frame["v"])
    frame = frame[keep].drop_duplicates(["pair", "length_key"]).reset_index(drop=True)
    one_way = frame["one_way"].to_numpy(dtype=bool)
    rows = [row for _, row in frame[list(_TAGS)].iterrows()]
    modes = np.array([modes_of(row) for row in rows], dtype=bool).reshape(-1, 3)
    names = [_tag(row, "name") and _name(row["name"]) for row in rows]
    result = pd.DataFrame(
        {
            "u": frame["u"].astype("int64"),
            "v": frame["v"].astype("int64"),
            "longueur_m": frame["length"].astype("float64").round(1),
            "highway": [_tag(row, "highway") for row in rows],
            "nom": names,
            "marche": modes[:, 0],
            "velo": modes[:, 1],
            "voiture": modes[:, 2],
            "sens_unique": one_way & modes[:, 2],
            "vitesse_kmh": [car_speed(row) for row in rows],
        }
    )
    return gpd.GeoDataFrame(result, geometry=frame.geometry.to_numpy(), crs="EPSG:4326")


def _name(value: Any) -> str:
    if isinstance(value, list):
        return " / ".join(dict.fromkeys(str(v) for v in value))
    return str(value)
