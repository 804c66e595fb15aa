"""The layers drawn by the map: plain data (no folium)."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import shapely

from territory.map.prepare import _geometry_array, _is_empty

__all__ = ["MapLayers"]


@dataclass(frozen=True, eq=False)
class MapLayers:
    """The layers drawn by :func:`territory_map`; each may be None or empty.

    Every frame is in EPSG:4326 with the workspace schemas (see ``ARCHITECTURE.md``).
    ``density`` is the protected contact density (``zone``, ``level``, ``count``,
    ``label``, ``area_km2``); any other column it holds is ignored. ``partners`` may
    carry ``horaires_fr`` (French rendering of ``horaires``); partners without a
    position ("à géocoder") are not drawn and are counted by :attr:`pending_partners`.
    ``scores`` (the "Où et quand" page) are ranked zones (``code``, ``nom``, ``rang``,
    ``score`` 0-100, ``pourquoi``), drawn as a choropleth of the priority score.
    ``routes`` (the "Tournées" page) are rounds as lines (``team``, ``label``) and their
    stops as points (``team``, ``label``, ``ordre``), one colour per team. ``places`` are
    the candidate places of the rounds (``nom``, ``type``, optional ``horaires``), one
    colour per kind. ``hotspots`` (optional, the "Carte" page's « Points chauds ») are
    the zones of :func:`territory.views.hot_spots_layer` (``zone``, ``classe``, ``q``;
    ``attrs["alpha"]``): only the significant ones are drawn, and no count is sent.
    ``access`` (optional, the "Carte" page's accessibility choice) are communes of
    :func:`territory.views.accessibility_layer` (``code``, ``nom``, ``acces``,
    ``sans_partenaire``; ``attrs`` with the mode, method and catchment), drawn as a
    choropleth of quintiles.
    Equality is identity (frames have no meaningful ``==``).
    """

    communes: gpd.GeoDataFrame | None = None
    qpv: gpd.GeoDataFrame | None = None
    partners: gpd.GeoDataFrame | None = None
    stops: gpd.GeoDataFrame | None = None
    service_gaps: gpd.GeoDataFrame | None = None
    density: gpd.GeoDataFrame | None = None
    scores: gpd.GeoDataFrame | None = None
    routes: gpd.GeoDataFrame | None = None
    places: gpd.GeoDataFrame | None = None
    hotspots: gpd.GeoDataFrame | None = None
    access: gpd.GeoDataFrame | None = None

    @property
    def pending_partners(self) -> int:
        """Partners without a position (not drawn on the map)."""
        if _is_empty(self.partners):
            return 0
        geometry = _geometry_array(self.partners, "partners")
        return int((shapely.is_missing(geometry) | shapely.is_empty(geometry)).sum())
