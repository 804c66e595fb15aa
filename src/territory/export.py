"""Export layers to GeoJSON, GeoPackage or CSV (format chosen by the file extension).

Contacts are never exported row by row: the ``density`` layer is the protected
aggregate of :func:`territory.views.density_layer` (an integer ``count`` ≥ k, or no
number where suppressed).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from territory._errors import ValidationError
from territory.analysis.priority import Ranking
from territory.privacy.raw import CONTACTS, has_contacts
from territory.settings import Settings
from territory.store import Workspace
from territory.views import DENSITY, density_layer

__all__ = ["FORMATS", "export_layer", "export_ranking", "exportable_layers", "ranking_layer"]

FORMATS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG", ".csv": "CSV"}


def exportable_layers(ws: Workspace) -> list[str]:
    """Names that :func:`export_layer` accepts for this workspace."""
    names = [n for n, meta in ws.layers().items() if meta.spatial]
    return [*names, DENSITY] if has_contacts(ws) else names


def export_layer(
    ws: Workspace,
    name: str,
    out: str | Path,
    *,
    settings: Settings,
    breakdown: tuple[str, str] | None = None,
) -> int:
    """Write layer ``name`` to ``out``; returns the number of features written.

    ``breakdown`` (a filter of :data:`territory.views.BREAKDOWNS` and its value) applies
    to the ``density`` layer only, protected exactly as the map shows it.
    """
    out = Path(out)
    driver = FORMATS.get(out.suffix.lower())
    if driver is None:
        raise ValidationError(
            f"extension « {out.suffix} » non prise en charge (attendu : {', '.join(FORMATS)})"
        )
    if name == CONTACTS:
        raise ValidationError(
            "les contacts ne s'exportent que protégés : exportez la couche « density »"
        )
    if name not in exportable_layers(ws):
        raise ValidationError(
            f"couche « {name} » absente "
            f"(disponibles : {', '.join(exportable_layers(ws)) or 'aucune'})"
        )
    if breakdown is not None and name != DENSITY:
        raise ValidationError(f"--filter ne s'applique qu'à la couche « {DENSITY} »")
    gdf = (
        density_layer(ws, settings=settings, breakdown=breakdown)
        if name == DENSITY
        else ws.read_layer(name)
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    if driver == "CSV":
        _table(gdf).to_csv(out, index=False)
    else:
        pyogrio.write_dataframe(gdf, out, layer=name, driver=driver)
    return len(gdf)


def _table(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    """Attributes, plus lon/lat for point layers (polygons stay in GeoJSON/GPKG)."""
    table = pd.DataFrame(gdf.drop(columns="geometry"))
    present = gdf.geometry.notna() & ~gdf.geometry.is_empty
    if present.any() and gdf.geometry[present].geom_type.eq("Point").all():
        table["longitude"] = gdf.geometry.x.where(present).round(6)
        table["latitude"] = gdf.geometry.y.where(present).round(6)
    return table


def ranking_layer(ranking: Ranking) -> gpd.GeoDataFrame:
    """The ranked zones with their score, group scores and reasons (EPSG:4326).

    One row per zone, best first: ``rang``, ``code``, ``nom``, ``score`` (0-100), one
    column per weight group, ``pourquoi``, and the zone's geometry. Contact figures in
    the reasons are the protected ones of :mod:`territory.analysis.indicators`.
    """
    table = ranking.table.drop(columns=["raisons"], errors="ignore")
    zones = ranking.indicators.zones
    geometry = zones.geometry.reindex(table["code"].to_numpy()).to_numpy()
    return gpd.GeoDataFrame(table.reset_index(drop=True), geometry=geometry, crs=zones.crs)


def export_ranking(ranking: Ranking, out: str | Path) -> int:
    """Write :func:`ranking_layer` to ``out`` (GeoJSON, GPKG or CSV by extension)."""
    out = Path(out)
    driver = FORMATS.get(out.suffix.lower())
    if driver is None:
        raise ValidationError(
            f"extension « {out.suffix} » non prise en charge (attendu : {', '.join(FORMATS)})"
        )
    gdf = ranking_layer(ranking)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    if driver == "CSV":
        pd.DataFrame(gdf.drop(columns="geometry")).to_csv(out, index=False)
    else:
        pyogrio.write_dataframe(gdf, out, layer="priorites", driver=driver)
    return len(gdf)
