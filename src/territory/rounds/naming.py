"""Zones and places by name: what a lead reads in a plan, rather than codes and ids.

A place's **zone** is the QPV under it (latest generation) when there is one, else its
commune. :func:`place_zones` gives each place

* ``zone_name``: the zone as people call it (« Grâce de Dieu », « Hérouville-Saint-Clair »);
* ``code_zone``: the QPV code or the commune's INSEE code, kept beside the name in the
  exports for geographers (« Code zone »);
* ``zone_kind``: ``qpv`` or ``commune`` (``""`` outside every commune);
* ``nom_commune``: the name of the commune (the planner's ``zone`` column, a code).

The planner values a place's slots with that zone's published profile
(:func:`territory.rounds.value.zone_yields`); the plans store the name and the code of
each visit's zone (:func:`with_zone_names` fills them in for plans saved before).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from territory.store import Workspace

__all__ = [
    "ZONE_COLUMNS",
    "commune_names",
    "named_codes",
    "place_zones",
    "with_place_zones",
    "with_zone_names",
]

ZONE_COLUMNS = ("zone_name", "code_zone", "zone_kind", "nom_commune")
"""The columns :func:`place_zones` gives each place."""


def commune_names(ws: Workspace) -> dict[str, str]:
    """INSEE code → name of the workspace's communes (empty without communes)."""
    if not ws.has("communes"):
        return {}
    table = ws.read_table("communes", columns=["code", "nom"])
    names = table["nom"].fillna(table["code"]).astype(str)
    return dict(zip(table["code"].astype(str), names, strict=True))


def named_codes(codes: Iterable[str], names: Mapping[str, str], *, limit: int = 8) -> str:
    """Codes shown by name, at most ``limit`` of them, then « … ».

    Examples
    --------
    >>> named_codes(["14118", "14327", "99999"], {"14118": "Caen", "14327": "Hérouville"})
    'Caen, Hérouville, 99999'
    >>> named_codes(["a", "b", "c"], {}, limit=2)
    'a, b …'
    """
    codes = list(codes)
    shown = ", ".join(names.get(c, c) for c in codes[:limit])
    return shown + (" …" if len(codes) > limit else "")


def place_zones(ws: Workspace, places: gpd.GeoDataFrame) -> pd.DataFrame:
    """Each place's zone by name and code: the QPV under it, else its commune.

    ``places`` has a point geometry and ``zone`` (the commune's INSEE code). Returns
    :data:`ZONE_COLUMNS`, indexed like ``places``.
    """
    codes = places.get("zone", pd.Series("", index=places.index))
    codes = codes.fillna("").astype(str).to_numpy(dtype=object)
    names = commune_names(ws)
    commune = np.array([names.get(c, c) for c in codes], dtype=object)
    zone_name, code_zone = commune.copy(), codes.copy()
    kind = np.where(codes != "", "commune", "").astype(object)
    qpv = _latest_qpv(ws)
    if qpv is not None and len(places):
        points = gpd.GeoDataFrame(geometry=places.geometry.reset_index(drop=True))
        joined = gpd.sjoin(
            points, qpv.to_crs(points.crs), predicate="within", how="left"
        ).sort_index()
        first = joined[~joined.index.duplicated()]
        inside = first["code"].notna().to_numpy()
        zone_name[inside] = first.loc[inside, "nom"].fillna(first.loc[inside, "code"]).astype(str)
        code_zone[inside] = first.loc[inside, "code"].astype(str)
        kind[inside] = "qpv"
    return pd.DataFrame(
        {"zone_name": zone_name, "code_zone": code_zone, "zone_kind": kind, "nom_commune": commune},
        index=places.index,
    )


def with_place_zones(ws: Workspace, places: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``places`` with the columns of :func:`place_zones` (replaced when present)."""
    zones = place_zones(ws, places)
    return places.drop(columns=[c for c in ZONE_COLUMNS if c in places]).join(zones)


def with_zone_names(ws: Workspace, visits: pd.DataFrame) -> pd.DataFrame:
    """Stored visits with ``zone_name`` and ``code_zone`` (plans saved before them: filled).

    The zone of a visit saved without them is found again from its position (``lon``,
    ``lat``) and its commune (``zone``), as :func:`place_zones` does.
    """
    for column in ("zone_name", "code_zone"):
        if column not in visits:
            visits = visits.assign(**{column: pd.Series(None, index=visits.index, dtype=object)})
    missing = visits["zone_name"].isna() | visits["code_zone"].isna()
    if not missing.any():
        return visits
    rows = visits[missing]
    points = gpd.GeoDataFrame(
        {"zone": rows.get("zone", pd.Series("", index=rows.index))},
        geometry=gpd.points_from_xy(rows["lon"], rows["lat"]),
        crs=4326,
        index=rows.index,
    )
    zones = place_zones(ws, points)
    out = visits.copy()
    for column in ("zone_name", "code_zone"):
        out[column] = out[column].astype(object)
        out.loc[missing, column] = zones[column]
    return out


def _latest_qpv(ws: Workspace) -> gpd.GeoDataFrame | None:
    """The QPV of the latest generation (``code``, ``nom``, geometry); None without any."""
    if not ws.has("qpv"):
        return None
    qpv = ws.read_layer("qpv")
    if "generation" in qpv:
        generation = pd.to_numeric(qpv["generation"], errors="coerce")
        if generation.notna().any():
            qpv = qpv[generation == generation.max()]
    qpv = qpv[~(qpv.geometry.isna() | qpv.geometry.is_empty)]
    if "nom" not in qpv:
        qpv = qpv.assign(nom=qpv["code"])
    return qpv[["code", "nom", qpv.geometry.name]] if len(qpv) else None
