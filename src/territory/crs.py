"""The three coordinate reference systems of the product, named once.

Examples
--------
>>> STORAGE_CRS, METRIC_CRS, GRID_CRS
('EPSG:4326', 'EPSG:2154', 'EPSG:3035')
"""

from __future__ import annotations

__all__ = ["GRID_CRS", "METRIC_CRS", "STORAGE_CRS"]

STORAGE_CRS = "EPSG:4326"
"""WGS 84 longitude / latitude: every spatial layer of the workspace, the map, GeoJSON."""

METRIC_CRS = "EPSG:2154"
"""Lambert-93: every distance, area, buffer and travel time (mainland France)."""

GRID_CRS = "EPSG:3035"
"""ETRS89-LAEA: the INSEE / INSPIRE 200 m and 1 km grid."""
