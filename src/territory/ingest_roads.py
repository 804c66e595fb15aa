"""The road network import: an OpenStreetMap ``.osm`` extract becomes the ``road_edges`` layer.

Read by :func:`territory.io.roads.read_road_network` (osmnx, offline), stored in one write
as :data:`territory.roads.ROAD_LAYER` (EPSG:4326, like every layer), replacing the network
imported before; the report adds how much of the workspace's communes the network covers.
Called by :func:`territory.ingest.import_file` (kind ``reseau``), inside a batch that puts
the layer back as it was when anything fails.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely

from territory.crs import METRIC_CRS
from territory.io.report import ImportReport
from territory.io.roads import read_road_network
from territory.roads import MAX_SNAP_M, ROAD_LAYER
from territory.store import Workspace

__all__ = ["coverage_note", "import_roads"]

LICENCE = "ODbL (© les contributeurs d'OpenStreetMap)"


def import_roads(
    ws: Workspace, path: Path, *, vintage: str = "", licence: str = "", **_: object
) -> ImportReport:
    """Import the road and path network of an ``.osm`` extract (replaces the stored one)."""
    edges, report = read_road_network(path)
    if ws.has("communes"):
        report.note(coverage_note(edges, ws.read_layer("communes", columns=["code"])))
    replaced = ws.layers()[ROAD_LAYER].count if ws.has(ROAD_LAYER) else 0
    ws.write_layer(ROAD_LAYER, edges, source=path.name, vintage=vintage, licence=licence or LICENCE)
    if replaced:
        report.note(f"remplace le réseau importé avant ({replaced} tronçons)")
    report.note(
        "les temps de trajet à pied, à vélo et en voiture suivent désormais ce réseau "
        "(tournées, feuilles de route, accès)"
    )
    return report


def coverage_note(edges: gpd.GeoDataFrame, communes: gpd.GeoDataFrame) -> str:
    """How many of the communes the network's extent covers, in French.

    A commune is covered when the convex hull of the network, widened by
    :data:`territory.roads.MAX_SNAP_M` (the distance up to which a point is timed on the
    network), holds it entirely, partly when it crosses it.
    """
    if communes.empty:
        return "aucune commune dans l'espace de travail : couverture non mesurée"
    lines = edges.to_crs(METRIC_CRS).geometry.array
    hull = shapely.buffer(shapely.convex_hull(shapely.union_all(lines)), MAX_SNAP_M)
    shapes = communes.to_crs(METRIC_CRS).geometry.array
    inside = int(shapely.contains(hull, shapes).sum())
    partly = int(shapely.intersects(hull, shapes).sum()) - inside
    total = len(communes)
    return f"le réseau couvre {inside} commune(s) sur {total} entièrement et {partly} en partie" + (
        " ; hors de sa couverture, les temps restent en ligne droite × détour"
        if inside < total
        else ""
    )
