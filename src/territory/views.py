"""What leaves the store: layers, summaries and figures, every contact count protected.

Pages, the CLI and exports read the workspace through these functions, never the
``contacts`` table directly: contact numbers come out of :mod:`territory.privacy`.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from territory.store import Workspace
>>> ws = Workspace.create(Path(tempfile.mkdtemp()) / "w.gpkg", name="Vide")
>>> summary(ws, settings=Settings())["contacts"]
'0'
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd

from territory.grid import cell_polygons
from territory.maps import MapLayers
from territory.partners import format_hours_fr
from territory.privacy import LEVEL_COMMUNE, protect, protect_density
from territory.settings import Settings
from territory.store import Workspace

DENSITY = "density"
DENSITY_COLUMNS = ["zone", "level", "commune", "count", "label", "area_km2"]


def contact_cell_counts(ws: Workspace, *, period: tuple[str, str] | None = None) -> pd.DataFrame:
    """Raw counts per (cell, commune) — private input of the protection step."""
    if not ws.has("contacts"):
        return pd.DataFrame({"cell": [], "commune": [], "n": []})
    where, params = ("WHERE date BETWEEN ? AND ?", period) if period else ("", ())
    return ws.query(
        f"SELECT cell, commune, count(*) AS n FROM contacts {where} GROUP BY cell, commune",
        tuple(params),
    )


def density_layer(
    ws: Workspace, *, settings: Settings, period: tuple[str, str] | None = None
) -> gpd.GeoDataFrame:
    """The protected contact density as polygons (EPSG:4326), ready for the map or export.

    200 m and 1 km zones are grid squares; what is left of a commune is drawn as the
    commune itself. Only the protected columns :data:`DENSITY_COLUMNS` are present.
    """
    zones = protect_density(contact_cell_counts(ws, period=period), settings=settings)
    if zones.empty:
        return gpd.GeoDataFrame(
            columns=[*DENSITY_COLUMNS, "geometry"], geometry="geometry", crs="EPSG:4326"
        )
    is_commune = zones["level"] == LEVEL_COMMUNE
    communes = ws.read_layer("communes", columns=["code"])
    squares = cell_polygons(zones.loc[~is_commune, "zone"]).to_crs(4326)
    geometry = gpd.GeoSeries([None] * len(zones), index=zones.index, crs="EPSG:4326")
    geometry[~is_commune] = squares
    geometry[is_commune] = (
        communes.set_index("code").geometry.reindex(zones.loc[is_commune, "zone"]).to_numpy()
    )
    out = gpd.GeoDataFrame(zones, geometry=geometry, crs="EPSG:4326")
    # The commune of a grid zone is the one under its centre: geometry only, nothing
    # about where its contacts were.
    out["commune"] = out["zone"].where(is_commune)
    centres = gpd.GeoDataFrame(geometry=squares.to_crs(2154).centroid.to_crs(4326))
    under = centres.sjoin(communes, predicate="within", how="left")
    under = under[~under.index.duplicated()]
    out.loc[~is_commune, "commune"] = under["code"].reindex(squares.index).to_numpy()
    out["area_km2"] = out.geometry.to_crs(2154).area / 1e6
    return out[[*DENSITY_COLUMNS, "geometry"]]


def map_layers(ws: Workspace, *, settings: Settings) -> MapLayers:
    """Every layer the map shows, read once from the workspace."""

    def read(name: str) -> gpd.GeoDataFrame | None:
        return ws.read_layer(name) if ws.has(name) else None

    partners = read("partners")
    if partners is not None:
        partners["horaires_fr"] = partners["horaires"].fillna("").map(format_hours_fr)
    return MapLayers(
        communes=read("communes"),
        qpv=read("qpv"),
        partners=partners,
        stops=read("stops"),
        service_gaps=read("service_gaps"),
        density=density_layer(ws, settings=settings),
    )


def summary(ws: Workspace, *, settings: Settings) -> dict[str, Any]:
    """Headline figures of the territory (the home page); the contact total is protected."""
    layers = ws.layers()
    counts = contact_cell_counts(ws)
    total = protect(
        pd.Series([int(counts["n"].sum())] if len(counts) else [], dtype="int64"), settings=settings
    ).total_label
    population = None
    if "communes" in layers:
        population = ws.query("SELECT sum(population) AS p FROM communes")["p"].iloc[0]
    return {
        "name": ws.name,
        "communes": layers["communes"].count if "communes" in layers else 0,
        "qpv": layers["qpv"].count if "qpv" in layers else 0,
        "population": None if population is None or pd.isna(population) else int(population),
        "partners": layers["partners"].count if "partners" in layers else 0,
        "stops": layers["stops"].count if "stops" in layers else 0,
        "contacts": total,
    }


def info(ws: Workspace, *, settings: Settings) -> dict[str, Any]:
    """What ``territory info --json`` prints: layers with count, CRS, source, vintage; k."""
    layers: dict[str, Any] = {}
    for name, meta in ws.layers().items():
        if name == "contacts":
            continue  # person-level (pseudonymised) rows: only the protected layer is listed
        layers[name] = {
            "count": meta.count,
            "crs": meta.crs,
            "source": meta.source,
            "vintage": meta.vintage,
            "licence": meta.licence,
            "updated": meta.updated,
        }
    if "contacts" in ws.layers():
        meta = ws.layers()["contacts"]
        density = protect_density(contact_cell_counts(ws), settings=settings)
        layers[DENSITY] = {
            "count": len(density),
            "crs": "EPSG:4326",
            "source": f"contacts protégés (k={settings.k}, arrondi {settings.rounding})",
            "vintage": meta.vintage,
            "licence": meta.licence,
            "updated": meta.updated,
        }
    return {
        "name": ws.name,
        "workspace": str(ws.path),
        "version": ws.version,
        "layers": layers,
        "k": settings.k,
        "rounding": settings.rounding,
    }


def zone_details(layers: MapLayers, layer: str, code: str, *, k: int) -> dict[str, Any]:
    """Title and figures of a clicked zone (commune, QPV or density zone), in French.

    Contact figures come only from the protected density layer: a commune shows the
    sum of the numbers already displayed on its zones, nothing finer.
    """
    rows: list[tuple[str, str]] = []
    title = code
    if layer == "communes" and layers.communes is not None:
        match = layers.communes[layers.communes["code"] == code]
        if len(match):
            c = match.iloc[0]
            title = f"{c['nom']} ({code})"
            population = c["population"]
            rows += [
                (
                    "Population",
                    "—" if pd.isna(population) else f"{int(population):,}".replace(",", "\u202f"),
                ),
                ("Classe de densité", str(c.get("densite_libelle") or "—")),
                ("EPCI", str(c.get("epci") or "—")),
            ]
            if layers.qpv is not None and len(layers.qpv):
                names = layers.qpv.loc[layers.qpv["communes"].fillna("").str.contains(code), "nom"]
                rows.append(("QPV", ", ".join(names) or "aucun"))
            if layers.partners is not None and len(layers.partners):
                rows.append(
                    ("Partenaires", str(int((layers.partners["code_insee"] == code).sum())))
                )
            rows.append(_density_row(layers.density, code, k))
    elif layer == "qpv" and layers.qpv is not None:
        match = layers.qpv[layers.qpv["code"] == code]
        if len(match):
            q = match.iloc[0]
            title = f"QPV {q['nom']}"
            rows += [
                ("Code", code),
                ("Génération", str(q["generation"])),
                ("Communes", str(q["communes"] or "—")),
            ]
    elif layer == DENSITY and layers.density is not None:
        match = layers.density[layers.density["zone"] == code]
        if len(match):
            z = match.iloc[0]
            title = {"200m": "Carreau de 200 m", "1km": "Carreau de 1 km"}.get(
                z["level"], "Reste de la commune"
            )
            rows += [("Contacts (protégés)", str(z["label"])), ("Zone", code)]
    return {"title": title, "rows": pd.DataFrame(rows, columns=["Indicateur", "Valeur"])}


def _density_row(density: gpd.GeoDataFrame | None, code: str, k: int) -> tuple[str, str]:
    if density is None or density.empty:
        return ("Contacts (protégés)", "aucun")
    shown = density.loc[density["commune"] == code, "count"].dropna()
    if shown.empty:
        return ("Contacts (protégés)", f"< {k} ou aucun")
    return ("Contacts affichés sur ses zones", f"{int(shown.sum()):,}".replace(",", "\u202f"))
