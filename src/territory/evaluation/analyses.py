"""The package's analysis layers: hot spots of the protected density, access to partners.

Both are built by the same services as the Carte page and ``territory hotspots`` /
``territory access`` (:func:`territory.views.hot_spots_layer`,
:func:`territory.views.accessibility_layer`) with their defaults, so that the package and
the app agree: the hot spots read the published density only (the protected partition's
zones, published counts), the accessibility reads no contact at all. With territories
chosen, each layer holds one block per territory (column ``territoire``).

:mod:`territory.evaluation.package` lists them in its ``EXTRA_LAYERS``.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Mapping

import geopandas as gpd
import pandas as pd

from territory._errors import ValidationError
from territory.analysis.accessibility import ACCESS_COLUMNS, DEFAULT_CATCHMENT_MIN
from territory.analysis.hotspots import (
    DEFAULT_ALPHA,
    DEFAULT_PERMUTATIONS,
    DEFAULT_SEED,
    NOT_SIGNIFICANT,
)
from territory.evaluation import styles as st
from territory.map.styles import ACCESS_COLOURS, HOTSPOT_COLOURS
from territory.privacy.raw import has_contacts
from territory.settings import Settings
from territory.store import Workspace
from territory.views import accessibility_layers, hot_spots_layer
from territory.vocab import MODES

__all__ = [
    "ACCESS_MODES",
    "access_build",
    "access_parameters",
    "access_style",
    "hot_spots_build",
    "hot_spots_parameters",
    "hot_spots_style",
]

ACCESS_MODES: tuple[str, ...] = MODES
"""Every mode of the travel model, one column group each."""
ACCESS_STYLED_MODE = "voiture"
"""The mode the layer's QGIS style shows (the others are columns to restyle)."""


def _blocks(territories: tuple[str, ...]) -> list[str | None]:
    return list(territories) or [None]


def _with_territory(frame: gpd.GeoDataFrame, territory: str | None) -> gpd.GeoDataFrame:
    if territory is not None:
        frame.insert(0, "territoire", territory)
    return frame


def _concat(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame | None:
    frames = [f for f in frames if len(f)]
    if not frames:
        return None
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)


def mode_column(mode: str) -> str:
    """ASCII column suffix of a mode: « transports en commun » → ``transports_en_commun``."""
    ascii_ = unicodedata.normalize("NFKD", mode).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_.lower()).strip("_")


def hot_spots_build(
    ws: Workspace, *, settings: Settings, territories: tuple[str, ...]
) -> gpd.GeoDataFrame | None:
    """Gi* hot spots of the published density (the app's defaults), or None without contacts."""
    if not has_contacts(ws):
        return None
    frames = []
    for territory in _blocks(territories):
        try:
            result = hot_spots_layer(ws, settings=settings, territory=territory)
        except ValidationError:  # too few published zones to analyse: no layer
            continue
        frames.append(_with_territory(result.frame.copy(), territory))
    return _concat(frames)


def hot_spots_parameters(settings: Settings) -> Mapping[str, object]:
    """The hot spots' parameters (those of the app and of ``territory hotspots``)."""
    return {
        "methode": "Gi* (Getis-Ord, la zone comprise)",
        "voisinage": "contiguïté (reine) des carreaux publiés",
        "permutations": DEFAULT_PERMUTATIONS,
        "graine": DEFAULT_SEED,
        "alpha": DEFAULT_ALPHA,
        "correction": "Benjamini-Hochberg (taux de fausses découvertes)",
        "valeurs": "densité publiée (contacts par km², comptes protégés)",
        "seuil_k": settings.k,
    }


def hot_spots_style(gdf: gpd.GeoDataFrame) -> str:
    """Significant classes tinted as on the map; the others outlined in grey."""
    categories = [
        (name, st.fill_symbol(colour, outline=colour, width=0.4), name)
        for name, colour in HOTSPOT_COLOURS.items()
    ]
    categories.append((NOT_SIGNIFICANT, st.outline_symbol("#9e9e9e", width=0.2), NOT_SIGNIFICANT))
    return st.categorized_style("classe", categories, geometry="polygon")


def access_build(
    ws: Workspace, *, settings: Settings, territories: tuple[str, ...]
) -> gpd.GeoDataFrame | None:
    """E2SFCA accessibility to partners by commune, one column group per mode, or None."""
    if not ws.has("partners") or not ws.has("communes"):
        return None
    frames = []
    for territory in _blocks(territories):
        wide: gpd.GeoDataFrame | None = None
        try:  # the zones, demand, partners and travel model read once for every mode
            every = accessibility_layers(
                ws, settings=settings, modes=ACCESS_MODES, kind="commune", territory=territory
            )
        except ValidationError:  # no partner, no demand: no layer
            return None
        for mode in ACCESS_MODES:
            frame, _ = every[mode]
            suffix = mode_column(mode)
            columns = {c: f"{c}_{suffix}" for c in ACCESS_COLUMNS}
            if wide is None:
                wide = frame[["code", "nom", "geometry"]].copy()
            for old, new in columns.items():
                wide[new] = frame[old].to_numpy()
        if wide is not None:
            frames.append(_with_territory(wide, territory))
    return _concat(frames)


def access_parameters(settings: Settings) -> Mapping[str, object]:
    """The accessibility's parameters (those of ``territory access``)."""
    return {
        "methode": "E2SFCA (Luo et Qi 2009), poids par paliers",
        "zones": "communes",
        "modes": list(ACCESS_MODES),
        "bassin_min": DEFAULT_CATCHMENT_MIN,
        "offre": "1 par partenaire",
        "demande": "15-29 ans du recensement si importés, sinon population totale",
        "modele_de_deplacement": "celui de l'espace de travail (réseau routier s'il est importé)",
    }


def access_style(gdf: gpd.GeoDataFrame) -> str:
    """Quintiles of the car accessibility, communes out of reach in orange."""
    column = f"acces_{mode_column(ACCESS_STYLED_MODE)}"
    values = pd.to_numeric(gdf[column], errors="coerce")
    positive = values[values > 0].dropna()
    if positive.empty:
        return st.single_style(st.fill_symbol("#fdae6b"), geometry="polygon")
    edges = sorted({float(positive.quantile(q)) for q in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)})
    if len(edges) == 1:  # every commune in reach has the same value
        edges *= 2
    classes = [(-1.0, 0.0, "#fdae6b", "aucun partenaire à portée")]
    for (lower, upper), colour in zip(itertools.pairwise(edges), ACCESS_COLOURS, strict=False):
        classes.append((lower, upper, colour, f"{lower:.3g} à {upper:.3g}".replace(".", ",")))
    return st.graduated_style(column, classes, geometry="polygon")
