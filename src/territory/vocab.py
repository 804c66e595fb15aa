"""The domain's words: contact statuses, age bands, partner types, place kinds, modes, weekdays.

Shared by readers, analysis, rounds and the map, so that each word is written once.
"""

from __future__ import annotations

__all__ = [
    "AGE_BANDS",
    "IMPORT_KINDS",
    "KINDS",
    "LEGACY_NETWORK",
    "MODES",
    "NETWORK",
    "PARTNER_SPELLINGS",
    "PARTNER_TYPES",
    "STATUSES",
    "TRANSIT_GAP",
    "TRANSIT_NO_DATA",
    "TRANSIT_TIMED",
    "TRANSIT_UNKNOWN_HOURS",
    "UNKNOWN",
    "WEEKDAYS",
    "WEEKDAYS_FR",
]

STATUSES: dict[str, list[str]] = {
    "premier contact": ["premier", "1er contact", "nouveau", "first contact", "premiere rencontre"],
    "contact répété": ["contact repete", "repete", "repeat", "suivi", "deja rencontre"],
    "hors radars": [
        "invisible",
        "hors radar",
        "hors radars / invisible",
        "inconnu des institutions",
    ],
    "entrée en parcours": ["entree en parcours", "parcours", "entree parcours"],
    "accompagné": ["accompagne", "accompagnement"],
    "sortie positive": ["sortie", "sortie positive", "emploi", "formation"],
}
UNKNOWN = "non renseigné"
"""The value of a category a row does not give."""
AGE_BANDS: list[str] = ["16-17", "18-21", "22-25", "26-29"]
"""Contact statuses (canonical French label → spellings read in team files), age bands."""

PARTNER_TYPES: dict[str, str] = {
    "ML": "Mission locale",
    "FT": "France Travail",
    "CS": "Centre social",
    "E2C": "École de la 2e chance",
    "PREVENTION": "Prévention spécialisée",
    "PIJ_BIJ": "Point / bureau information jeunesse",
    "FRANCE_SERVICES": "France services",
    "AUTRE": "Autre partenaire",
}
"""Typology code (data·inclusion where it exists) → French label."""

PARTNER_SPELLINGS: dict[str, tuple[str, ...]] = {
    "ML": ("mission locale", "missions locales", "ML"),
    "FT": ("France Travail", "Pôle emploi", "FT", "PE"),
    "CS": ("centre social", "centres sociaux", "CS"),
    "E2C": ("E2C", "école de la 2e chance", "école de la deuxième chance"),
    "PREVENTION": ("prévention", "prévention spécialisée", "éducateurs de rue"),
    "PIJ_BIJ": ("PIJ", "BIJ", "point information jeunesse", "information jeunesse"),
    "FRANCE_SERVICES": ("France services", "maison France services", "MSAP"),
    "AUTRE": ("autre", "autre partenaire"),
}
"""How team exports write each partner type (compared without case, accents or spaces)."""

KINDS = (
    "parc",
    "gare",
    "centre commercial",
    "marché",
    "city stade",
    "pied d'immeuble",
    "place de village",
    "local partenaire",
    "événement",
)
"""Kinds of outreach places (lieux d'aller-vers)."""

MODES = ("marche", "transports en commun", "voiture", "vélo")
"""How a team moves between places."""

WEEKDAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
"""French weekday names, Monday first (``date.weekday()`` order)."""

WEEKDAYS: tuple[tuple[str, str, str], ...] = (
    ("lundi", "Mo", "lun."),
    ("mardi", "Tu", "mar."),
    ("mercredi", "We", "mer."),
    ("jeudi", "Th", "jeu."),
    ("vendredi", "Fr", "ven."),
    ("samedi", "Sa", "sam."),
    ("dimanche", "Su", "dim."),
)
"""Each weekday (Monday first): French name, OSM ``opening_hours`` token, French abbreviation."""

IMPORT_KINDS = (
    "communes",
    "communes-table",
    "density",
    "qpv",
    "partners",
    "gtfs",
    "contacts",
    "places",
    "ban",
)
"""The kinds of file ``territory import`` and the Données page read, in the order shown."""

NETWORK = "reseau"
"""Column naming the transit network (one imported GTFS feed) of a stop, its hours and links."""
LEGACY_NETWORK = "réseau importé"
"""Network of the stops of a workspace imported before networks had names (no ``reseau``)."""

TRANSIT_TIMED = "horaires connus"
TRANSIT_GAP = "zone blanche"
TRANSIT_UNKNOWN_HOURS = "horaires de transport inconnus"
TRANSIT_NO_DATA = "pas de données de transport"
"""States of a place for public transport: covered by a feed with timetables (zones blanches
are computed there); a zone blanche (inside that area, no stop with departures within walking
distance); near stops of a feed without timetables, or covered only by such feeds; outside
every imported feed."""
