"""The domain's words: contact statuses, age bands, partner types, place kinds, modes, weekdays.

Shared by readers, analysis, rounds and the map, so that each word is written once.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

__all__ = [
    "AGE_BANDS",
    "IMPORT_KINDS",
    "KINDS",
    "KIND_SPELLINGS",
    "LEGACY_NETWORK",
    "MODES",
    "MODE_SPELLINGS",
    "NETWORK",
    "PARTNER_SPELLINGS",
    "PARTNER_TYPES",
    "STATUSES",
    "TEAM_COLOURS",
    "TRANSIT_GAP",
    "TRANSIT_NO_DATA",
    "TRANSIT_TIMED",
    "TRANSIT_UNKNOWN_HOURS",
    "UNKNOWN",
    "WEEKDAYS",
    "WEEKDAYS_FR",
    "place_kind",
    "team_colour",
    "team_mode",
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
    "gare / pôle d'échanges",
    "arrêt de bus",
    "centre commercial",
    "marché",
    "city stade",
    "terrain de sport",
    "aire de jeux",
    "pied d'immeuble",
    "place publique",
    "place de village",
    "centre-bourg",
    "quartier prioritaire (cœur de QPV)",
    "maison de quartier / jeunesse",
    "lycée",
    "local partenaire",
    "événement",
)
"""Kinds of outreach places (lieux d'aller-vers).

« gare / pôle d'échanges » is a railway or metro station, or a GTFS station where several
lines meet; a busy bus stop is an « arrêt de bus ». « centre-bourg » is a commune's centre
(its mairie when known), « quartier prioritaire (cœur de QPV) » a point inside a QPV.
"""

KIND_SPELLINGS: dict[str, tuple[str, ...]] = {
    "gare / pôle d'échanges": ("gare", "gare routière", "pôle d'échanges", "station"),
    "arrêt de bus": ("arrêt", "arrêt de transport", "arrêt de tram"),
    "terrain de sport": ("stade", "équipement sportif", "gymnase"),
    "city stade": ("city-stade", "citystade", "city park"),
    "place publique": ("place", "square", "esplanade"),
    "centre-bourg": ("mairie", "centre bourg", "chef-lieu", "centre-ville"),
    "quartier prioritaire (cœur de QPV)": ("qpv", "cœur de qpv", "quartier prioritaire"),
    "maison de quartier / jeunesse": (
        "maison de quartier",
        "centre social",
        "maison des jeunes",
        "mjc",
        "espace jeunes",
    ),
    "centre commercial": ("galerie commerciale",),
    "local partenaire": ("partenaire",),
}
"""Other ways a team writes a place kind (compared without case or accents)."""


def place_kind(text: str) -> str | None:
    """The canonical kind of ``text`` (:data:`KINDS`, :data:`KIND_SPELLINGS`), or None.

    Examples
    --------
    >>> place_kind("Gare"), place_kind("Lycee"), place_kind("piscine")
    ("gare / pôle d'échanges", 'lycée', None)
    """
    return _place_kind(str(text))


@lru_cache(maxsize=4096)
def _place_kind(text: str) -> str | None:
    """:func:`place_kind`, once per distinct text (the planner reads it for every place)."""
    key = _plain(text)
    for kind in KINDS:
        if key == _plain(kind):
            return kind
    for kind, spellings in KIND_SPELLINGS.items():
        if any(key == _plain(s) for s in spellings):
            return kind
    return None


def _plain(text: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", str(text).strip().lower().replace("œ", "oe"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


MODES = ("marche", "transports en commun", "voiture", "vélo")
"""How a team moves between places."""
MODE_SPELLINGS = {
    "marche": ("à pied", "a pied", "pied", "piéton", "marche à pied", "walk", "walking"),
    "transports en commun": (
        "transport en commun",
        "transports",
        "tc",
        "bus",
        "tram",
        "métro",
        "transit",
    ),
    "voiture": ("en voiture", "véhicule", "auto", "automobile", "car"),
    "vélo": ("à vélo", "en vélo", "bicyclette", "vae", "vélo électrique", "bike"),
}
"""Other ways a team writes its mode (compared without case or accents)."""


def team_mode(text: str) -> str | None:
    """The stored mode of ``text`` (:data:`MODES`, :data:`MODE_SPELLINGS`), or None.

    Examples
    --------
    >>> team_mode("À pied"), team_mode("Velo"), team_mode("Transports en commun")
    ('marche', 'vélo', 'transports en commun')
    >>> team_mode("trottinette") is None
    True
    """
    key = _plain(text)
    for mode in MODES:
        if key == _plain(mode):
            return mode
    for mode, spellings in MODE_SPELLINGS.items():
        if any(key == _plain(s) for s in spellings):
            return mode
    return None


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
    "parcours",
    "places",
    "ban",
    "population",
    "filosofi",
    "reseau",
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


TEAM_COLOURS = ("#c62828", "#1565c0", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f")
"""The teams' colours, in the order of their names (then again from the first)."""


def team_colour(team: str, teams: Iterable[str]) -> str:
    """A team's one colour, the same on every map, legend and field sheet.

    ``teams`` are all the teams that may be shown together (the teams of the workspace
    and of the plan): the colour depends on the team's rank among them, never on which
    of them a view happens to show (a day map shows fewer teams than the week's).

    Examples
    --------
    >>> team_colour("Nord", ["Sud", "Nord", "Est"]), team_colour("Nord", ["Nord"])
    ('#1565c0', '#c62828')
    """
    names = sorted({str(t) for t in teams} | {str(team)})
    return TEAM_COLOURS[names.index(str(team)) % len(TEAM_COLOURS)]
