"""Names, colours and drawing order of the map layers (plain values, no folium).

The French names shown in the layer control and the legend, the identifiers clickable
features carry, the palettes and classes, and the stacking order of the shared canvas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from territory._fr import format_number
from territory.vocab import (
    KINDS,
    TEAM_COLOURS,
    TRANSIT_NO_DATA,
    TRANSIT_UNKNOWN_HOURS,
    team_colour,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ACCESS_COLOURS",
    "CLICKABLE_LAYERS",
    "COMMUNE_LABEL_TIERS",
    "CONTACT_COLOURS",
    "DENSITY_BREAKS",
    "DENSITY_COLUMNS",
    "DENSITY_LEVEL_COLOURS",
    "FRANCE_CENTRE",
    "GAP_COLOUR",
    "HIDDEN_AT_FIRST",
    "HOTSPOT_COLOURS",
    "HOTSPOT_COLUMNS",
    "LAYER_COMMUNES",
    "LAYER_DENSITY",
    "LAYER_HOTSPOTS",
    "LAYER_PARTNERS",
    "LAYER_QPV",
    "LAYER_SCORES",
    "LAYER_STOPS",
    "LEVEL_NAMES_FR",
    "NAME_ACCESS",
    "NAME_COMMUNES",
    "NAME_DENSITY",
    "NAME_HOTSPOTS",
    "NAME_PARTNERS",
    "NAME_PLACES",
    "NAME_QPV",
    "NAME_ROUTES",
    "NAME_SCORES",
    "NAME_STOPS",
    "NO_ACCESS_COLOUR",
    "NO_DATA_COLOUR",
    "NO_TRANSIT_DATA_COLOUR",
    "PARTNER_COLOURS",
    "PLACE_COLOURS",
    "QPV_2015_COLOUR",
    "QPV_COLOUR",
    "QPV_EDGE_PX",
    "QPV_LABEL_ZOOM",
    "RETURNED_OBJECTS",
    "ROUTE_COLOURS",
    "SCORE_COLOURS",
    "SECRET_GREY",
    "STOP_COLOUR",
    "STOP_IDLE_COLOUR",
    "STOP_THIN_PX",
    "STOP_THIN_UNTIL",
    "TRANSIT_STATE_COLOURS",
    "UNKNOWN_HOURS_COLOUR",
    "_MIN_EXTENT_DEG",
    "_POINTS_PANE",
    "_STACK",
    "_SVG_LAYERS",
    "_fr_number",
    "_level_colour",
    "_name_gaps",
    "_partner_colour",
    "_place_colour",
    "_rgba",
    "route_colours",
]

# --- names (French, shown in the layer control and the legend) -------------------------
NAME_COMMUNES = "Communes (grille de densité)"
NAME_QPV = "QPV"
NAME_DENSITY = "Densité de contacts (protégée)"
NAME_HOTSPOTS = "Points chauds"
NAME_ACCESS = "Accessibilité aux partenaires"
NAME_PARTNERS = "Partenaires"
NAME_STOPS = "Arrêts de transport"


def _name_gaps(stop_buffer_m: float) -> str:
    return (
        f"Zones blanches (> {_fr_number(stop_buffer_m)} m d'un arrêt desservi) et zones "
        "sans données de transport"
    )


# --- identifiers carried by clickable features (``properties.layer``) ------------------
LAYER_COMMUNES = "communes"
LAYER_QPV = "qpv"
LAYER_DENSITY = "density"
LAYER_PARTNERS = "partners"
LAYER_STOPS = "stops"
LAYER_SCORES = "scores"
LAYER_HOTSPOTS = "hotspots"
HOTSPOT_COLOURS = {
    "point chaud": "#b2182b",
    "point froid": "#2166ac",
    "valeur haute isolée": "#f46d43",
    "valeur basse isolée": "#74add1",
}
"""Outline and tint of each significant class (the others are not drawn)."""
HOTSPOT_COLUMNS = ("zone", "classe", "q")
ACCESS_COLOURS = ("#f7fcf5", "#c7e9c0", "#74c476", "#31a354", "#006d2c")
"""Accessibility quintiles of the communes with a partner in reach: light (low) → dark."""
NO_ACCESS_COLOUR = "#fdd0a2"
"""Communes with no partner within the catchment."""
"""The only columns of the hot spots that reach the browser (no count)."""
CLICKABLE_LAYERS = (
    LAYER_COMMUNES,
    LAYER_QPV,
    LAYER_DENSITY,
    LAYER_PARTNERS,
    LAYER_STOPS,
    LAYER_SCORES,
)
"""Values of ``properties.layer`` that :func:`zone_from_click` may return."""
NAME_SCORES = "Score de priorité"
NAME_ROUTES = "Tournées"
ROUTE_COLOURS = TEAM_COLOURS
"""One colour per team (:func:`territory.vocab.team_colour`)."""


def route_colours(routes: pd.DataFrame) -> dict[str, str]:
    """Each team's colour: the routes' ``colour`` column when given, else its team_colour.

    :func:`territory.rounds.outputs.route_layer` gives each team its colour among all the
    teams of the plan, so that a day's map (fewer teams) keeps the week's colours.
    """
    teams = routes["team"].astype(str)
    given = routes.get("colour")
    colours: dict[str, str] = {}
    for i, team in enumerate(teams):
        colour = None if given is None else given.iloc[i]
        colours[team] = (
            str(colour) if isinstance(colour, str) and colour else team_colour(team, teams)
        )
    return colours


NAME_PLACES = "Lieux d'aller-vers"
PLACE_COLOURS = (
    *ROUTE_COLOURS,
    "#5d4037",
    "#ad1457",
    "#455a64",
    "#f9a825",
    "#0277bd",
    "#558b2f",
    "#8e24aa",
    "#d84315",
    "#00695c",
    "#9e9d24",
)
"""One colour per kind of place (:data:`territory.vocab.KINDS`, in that order)."""
SCORE_COLOURS = ("#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704")
"""Priority score 0-20, 20-40, 40-60, 60-80, 80-100: light (low) → dark (high)."""

RETURNED_OBJECTS = ("last_active_drawing",)
"""What to pass to ``st_folium(returned_objects=…)``: reruns on feature clicks only."""

DENSITY_COLUMNS = ("zone", "level", "count", "label", "area_km2")
"""The only columns of the contact density that reach the browser."""

# --- palettes ---------------------------------------------------------------------------
# INSEE density grid, level 1 (large urban centres) → 7 (very scattered rural): dark → light.
DENSITY_LEVEL_COLOURS = (
    "#0c2c84",
    "#225ea8",
    "#1d91c0",
    "#41b6c4",
    "#7fcdbb",
    "#c7e9b4",
    "#edf8b1",
)
NO_DATA_COLOUR = "#d9d9d9"

QPV_COLOUR = "#d81b60"  # 2024 generation: bold magenta outline
QPV_2015_COLOUR = "#6a1b9a"  # 2015 generation (comparison): dashed purple outline

# Contacts per km² (protected counts / area): fixed classes, comparable between maps.
DENSITY_BREAKS = (5, 25, 100, 500, 2000)
CONTACT_COLOURS = ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026")
SECRET_GREY = "#bdbdbd"

PARTNER_COLOURS = {  # data·inclusion typology codes used by territory.io.partners
    "ML": "#e69f00",
    "FT": "#0072b2",
    "CS": "#009e73",
    "E2C": "#cc79a7",
    "PREVENTION": "#d55e00",
    "PIJ_BIJ": "#56b4e9",
    "FRANCE_SERVICES": "#f0e442",
    "AUTRE": "#7f7f7f",
}
STOP_COLOUR = "#3949ab"
STOP_IDLE_COLOUR = "#9e9e9e"
GAP_COLOUR = "#4527a0"  # dots: never the grey lines of the secret zones
NO_TRANSIT_DATA_COLOUR = "#9e9e9e"
UNKNOWN_HOURS_COLOUR = "#bc8f5f"
TRANSIT_STATE_COLOURS = {
    TRANSIT_NO_DATA: NO_TRANSIT_DATA_COLOUR,
    TRANSIT_UNKNOWN_HOURS: UNKNOWN_HOURS_COLOUR,
}
"""Flat tints of the transit areas that are not zones blanches (``etat`` of service_gaps)."""

STOP_THIN_PX = 18
"""Stops are thinned to one per square of this many pixels (the most served one)…"""
STOP_THIN_UNTIL = 15
"""…below this zoom (street level: 4.8 m a pixel); from it on, every stop is drawn."""

# --- names on the map (js/labels.js): the zoom from which a name shows -----------------
COMMUNE_LABEL_TIERS = ((10_000, 0), (2_000, 10), (0, 12))
"""(population threshold, zoom): communes of 10,000 inhabitants or more at any zoom (a
département fits at about 9), of 2,000 from zoom 10 (an EPCI), all from zoom 12.
Overlapping names are left out, largest first."""
QPV_EDGE_PX = 5
"""A QPV's outline takes the mouse this many pixels either side of its border."""
QPV_LABEL_ZOOM = 13
"""QPV names show from this zoom (a neighbourhood fills the screen)."""

HIDDEN_AT_FIRST = frozenset({"gaps", "stops"})
"""Layers listed in the layer control but off when the map opens (one click away)."""

LEVEL_NAMES_FR = {"200m": "carreau 200 m", "1km": "carreau 1 km", "commune": "reste de la commune"}

FRANCE_CENTRE = (46.6, 2.4)
_MIN_EXTENT_DEG = 0.02  # a single point is shown with ~1 km around it, never at zoom ∞

# Drawing order of the layers (low first), kept when the layer control adds one again.
_STACK = {
    "communes": 0,  # and the priority scores
    "qpv_fill": 1,
    "density": 2,
    "gaps": 3,
    "hotspots": 3,  # outlines over the density
    "qpv_line": 4,
    "stops": 5,
    "partners": 6,
    "routes": 7,
    "places": 7,
}
_SVG_LAYERS = frozenset({"partners", "routes", "places"})
"""Layers drawn as SVG, in :data:`_POINTS_PANE`; every other one on the shared canvas."""
# Leaflet's overlay pane (the canvas) is at z-index 400, markers at 600, tooltips at 650.
_POINTS_PANE = "territory-points"


def _rgba(colour: str, alpha: float) -> str:
    """``#rrggbb`` and an opacity as a CSS ``rgba()`` colour."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _place_colour(kind: str) -> str:
    return PLACE_COLOURS[KINDS.index(kind) % len(PLACE_COLOURS)] if kind in KINDS else "#757575"


def _level_colour(level: int) -> str:
    return DENSITY_LEVEL_COLOURS[level - 1] if 1 <= level <= 7 else NO_DATA_COLOUR


def _partner_colour(code: str) -> str:
    return PARTNER_COLOURS.get(code, PARTNER_COLOURS["AUTRE"])


def _fr_number(value: float) -> str:
    """French number (:func:`territory._fr.format_number`).

    Integers without decimals, other values with one.
    """
    if float(value).is_integer():
        return format_number(int(value))
    return format_number(value, decimals=1)
