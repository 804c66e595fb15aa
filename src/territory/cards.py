"""The card of what was clicked on the map: a title, figures and small tables, in French.

:func:`card` is pure: it reads the map's layers (:class:`~territory.map.model.MapLayers`)
and figures already protected — the QPV's published contacts from
:func:`qpv_contacts` (through :func:`territory.analysis.indicators.protected_contacts`,
the disclosure-control step), the density zones' labels — and public tables (GTFS
departures by stop and hour). No card shows a code alone as its title, nor an empty table:
a missing figure reads « non renseigné », a missing table is left out.

A click answers with the topmost meaningful object (:mod:`territory.map.build`: a partner
before a cell, a QPV on its outline); the density card names the commune and the QPV
under the cell (``others``), so that the page offers them in one more click.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import Point
>>> from territory.map.model import MapLayers
>>> partners = gpd.GeoDataFrame({"nom": ["ML"], "type": ["ML"], "horaires": ["Mo 09:00-12:00"],
...     "telephone": ["01 02 03 04 05"]}, geometry=[Point(3, 50)], crs=4326)
>>> c = card(MapLayers(partners=partners), "partners", "0", k=11, today=date(2026, 12, 7))
>>> c.title, c.rows.iloc[0].tolist(), c.rows.iloc[2].tolist()
('ML', ['Type', 'Mission locale'], ['Aujourd’hui (lundi)', '9h–12h'])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import pandas as pd
import shapely

from territory._fr import format_distance, format_number
from territory.crs import METRIC_CRS
from territory.hours import format_hours_fr, hours_on_fr
from territory.map.model import MapLayers
from territory.privacy.protect import LEVEL_COMMUNE
from territory.settings import Settings
from territory.store import Workspace
from territory.vocab import PARTNER_TYPES, WEEKDAYS_FR

__all__ = ["Card", "card", "qpv_contacts"]

COLUMNS = ["Indicateur", "Valeur"]
MISSING = "non renseigné"


@dataclass(frozen=True)
class Card:
    """What the side panel shows for a clicked object.

    Attributes
    ----------
    title
        A name (« QPV Les Tilleuls », « Mission locale… »), never a bare code.
    rows
        ``Indicateur`` / ``Valeur`` (text, French formats).
    tables
        ``(caption, table)`` pairs, each table non-empty.
    others
        ``(label, layer, code)`` of the other objects under the click (the commune and
        the QPV under a density cell).
    """

    title: str
    rows: pd.DataFrame
    tables: tuple[tuple[str, pd.DataFrame], ...] = ()
    others: tuple[tuple[str, str, str], ...] = field(default=())


def qpv_contacts(
    ws: Workspace, qpv: gpd.GeoDataFrame, *, settings: Settings, communes: set[str] | None
) -> tuple[dict[str, str], str]:
    """Published (protected) contact labels of every QPV, and the months they cover.

    All QPV are protected together (secondary suppression across them), contacts of
    ``communes`` only when given (a programme territory).
    """
    from territory.analysis.indicators import default_windows, protected_contacts

    windows = default_windows(ws, settings=settings)
    if windows is None or qpv.empty:
        return {}, ""
    zones = qpv[["code", "geometry"]].drop_duplicates("code").reset_index(drop=True)
    table = protected_contacts(
        ws, zones, kind="qpv", settings=settings, windows=windows, communes=communes
    )
    labels = dict(zip(zones["code"].astype(str), table["contacts_recents_libelle"], strict=True))
    months = windows.label_fr.partition(" (contre ")[0]
    return {c: str(v) for c, v in labels.items() if pd.notna(v)}, months


def card(
    layers: MapLayers,
    layer: str,
    code: str,
    *,
    k: int,
    today: date,
    contacts: tuple[Mapping[str, str], str] = ({}, ""),
    stop_hours: pd.DataFrame | None = None,
    reach_m: float = 1_000.0,
    stop_reach_m: float = 500.0,
) -> Card:
    """The card of ``(layer, code)`` as :func:`territory.map.zone_from_click` reads it.

    Parameters
    ----------
    layers
        The layers of the map shown (their row labels are the partners' and stops' codes).
    layer, code
        The clicked object.
    k
        Disclosure threshold (what « < k » means).
    today
        The day whose opening hours and departures are shown.
    contacts
        :func:`qpv_contacts` (protected labels by QPV code, months covered).
    stop_hours
        Departures of ``today``'s weekday by ``stop_id`` and ``hour`` (None: unknown).
    reach_m, stop_reach_m
        Partners within ``reach_m`` of a QPV are listed, its transit is that of the stops
        within ``stop_reach_m`` (the zones blanches' walking distance).
    """
    names = _commune_names(layers)
    if layer == "partners" and layers.partners is not None and code in _labels(layers.partners):
        return _partner_card(layers.partners.loc[_label(layers.partners, code)], names, today)
    if layer == "qpv" and layers.qpv is not None:
        match = layers.qpv[layers.qpv["code"].astype(str) == code]
        if len(match):
            return _qpv_card(
                layers,
                match.iloc[[0]],
                names,
                today,
                contacts,
                stop_hours,
                reach_m,
                stop_reach_m,
                k,
            )
    if layer == "communes" and layers.communes is not None:
        match = layers.communes[layers.communes["code"].astype(str) == code]
        if len(match):
            return _commune_card(layers, match.iloc[0], today, k)
    if layer == "density" and layers.density is not None:
        match = layers.density[layers.density["zone"].astype(str) == code]
        if len(match):
            return _density_card(layers, match.iloc[0], names, k)
    if layer == "stops" and layers.stops is not None:
        match = layers.stops[layers.stops["stop_id"].astype(str) == code]
        if len(match):
            return _stop_card(match.iloc[0], stop_hours, today)
    return Card("Élément de la carte", _rows([("Lecture", "cet élément n'a pas de fiche")]))


# ---------------------------------------------------------------------------- the cards
def _partner_card(p: pd.Series, names: Mapping[str, str], today: date) -> Card:
    kind = str(p.get("type") or "")
    label = PARTNER_TYPES.get(kind) or _text(p.get("type_libelle")) or "Autre partenaire"
    osm = _text(p.get("horaires"))
    rows = [
        ("Type", label),
        ("Horaires", format_hours_fr(osm)),
        (f"Aujourd’hui ({WEEKDAYS_FR[today.weekday()]})", hours_on_fr(osm, today)),
        ("Téléphone", _text(p.get("telephone")) or MISSING),
        ("Adresse", _text(p.get("adresse")) or MISSING),
    ]
    commune = names.get(_text(p.get("code_insee")))
    if commune:
        rows.append(("Commune", commune))
    return Card(_text(p.get("nom")) or label, _rows(rows))


def _qpv_card(
    layers: MapLayers,
    q: gpd.GeoDataFrame,
    names: Mapping[str, str],
    today: date,
    contacts: tuple[Mapping[str, str], str],
    stop_hours: pd.DataFrame | None,
    reach_m: float,
    stop_reach_m: float,
    k: int,
) -> Card:
    row = q.iloc[0]
    code = str(row["code"])
    communes = [c.strip() for c in str(row.get("communes") or "").split(",") if c.strip()]
    labels, months = contacts
    rows = [
        ("Communes", ", ".join(names.get(c, c) for c in communes) or MISSING),
        ("Population (estimée)", _qpv_population(layers, q)),
        (
            f"Contacts publiés{f', {months}' if months else ''} (protégés)",
            labels.get(code, f"< {k} ou aucun" if months else "aucun contact importé"),
        ),
        ("Code", code),
        ("Génération", _text(row.get("generation")) or MISSING),
    ]
    shape = q.to_crs(METRIC_CRS).geometry.iloc[0]
    tables: list[tuple[str, pd.DataFrame]] = []
    near = _partners_near(layers.partners, shape, reach_m, today)
    if near is not None:
        tables.append((f"Partenaires à moins de {format_distance(reach_m)}{_today(today)}", near))
    else:
        rows.append(("Partenaires", f"aucun à moins de {format_distance(reach_m)}"))
    rows_t, transit = _transit(layers.stops, shape, stop_reach_m, stop_hours, today)
    rows.append(rows_t)
    if transit is not None:
        tables.append((f"Départs par heure, {WEEKDAYS_FR[today.weekday()]}", transit))
    return Card(f"QPV {row['nom']}", _rows(rows), tuple(tables))


def _commune_card(layers: MapLayers, c: pd.Series, today: date, k: int) -> Card:
    code = str(c["code"])
    population = c.get("population")
    rows = [
        ("Population", MISSING if pd.isna(population) else format_number(int(population))),
        ("Classe de densité", _text(c.get("densite_libelle")) or MISSING),
        ("EPCI", _text(c.get("epci")) or MISSING),
    ]
    if layers.qpv is not None and len(layers.qpv):
        inside = layers.qpv["communes"].fillna("").astype(str).str.contains(code, regex=False)
        rows.append(("QPV", ", ".join(layers.qpv.loc[inside, "nom"].astype(str)) or "aucun"))
    rows.append(_density_row(layers.density, code, k))
    tables: list[tuple[str, pd.DataFrame]] = []
    if layers.partners is not None and "code_insee" in layers.partners:
        own = layers.partners[layers.partners["code_insee"].astype(str) == code]
        if len(own):
            tables.append((f"Partenaires de la commune{_today(today)}", _partner_table(own, today)))
        else:
            rows.append(("Partenaires", "aucun"))
    return Card(f"{c['nom']} ({code})", _rows(rows), tuple(tables))


def _density_card(layers: MapLayers, z: pd.Series, names: Mapping[str, str], k: int) -> Card:
    commune = str(z["commune"])
    if z["level"] == LEVEL_COMMUNE:
        title = f"Reste de la commune {names.get(commune, commune)}"
        note = "contacts hors des carreaux publiés de la commune"
    else:
        title = {"200m": "Carreau de 200 m", "1km": "Carreau de 1 km"}.get(
            str(z["level"]), "Zone de densité"
        )
        note = "carreau INSEE (identifiant Filosofi)"
    label = _text(z.get("label")) or f"< {k}"
    rows = [
        ("Contacts (protégés)", label),
        ("Commune", names.get(commune, commune)),
        ("Lecture", note),
        ("Zone", str(z["zone"])),
    ]
    others = []
    if commune in names:
        others.append((f"Commune : {names[commune]}", "communes", commune))
    if layers.qpv is not None and len(layers.qpv) and z.get("geometry") is not None:
        point = shapely.Point(*z.geometry.representative_point().coords[0])
        qpv = layers.qpv  # both in the storage CRS (longitudes, latitudes)
        for _, q in qpv[qpv.geometry.covers(point)].iterrows():
            others.append((f"QPV : {q['nom']}", "qpv", str(q["code"])))
    return Card(title, _rows(rows), others=tuple(others))


def _stop_card(s: pd.Series, stop_hours: pd.DataFrame | None, today: date) -> Card:
    per_day = s.get("departs_jour")
    rows = [
        ("Lignes", _text(s.get("lignes")) or MISSING),
        (
            "Départs par jour",
            "horaires inconnus" if pd.isna(per_day) else format_number(int(per_day)),
        ),
    ]
    tables: tuple[tuple[str, pd.DataFrame], ...] = ()
    if stop_hours is not None:
        table = _by_hour(stop_hours[stop_hours["stop_id"].astype(str) == str(s.get("stop_id"))])
        if table is not None:
            tables = ((f"Départs par heure, {WEEKDAYS_FR[today.weekday()]}", table),)
    return Card(_text(s.get("nom")) or "Arrêt de transport", _rows(rows), tables)


# ------------------------------------------------------------------------------ helpers
def _qpv_population(layers: MapLayers, q: gpd.GeoDataFrame) -> str:
    if layers.communes is None or layers.communes.empty:
        return MISSING
    from territory.analysis.indicators import population

    value = population(q.reset_index(drop=True), layers.communes).iloc[0]
    return MISSING if pd.isna(value) else f"≈ {format_number(round(float(value), -1))}"


def _partners_near(
    partners: gpd.GeoDataFrame | None, shape: shapely.Geometry, reach: float, today: date
) -> pd.DataFrame | None:
    if partners is None or partners.empty:
        return None
    placed = partners[partners.geometry.notna()]
    distance = placed.to_crs(METRIC_CRS).geometry.distance(shape)
    near = placed[distance <= reach].assign(_d=distance[distance <= reach]).sort_values("_d")
    if near.empty:
        return None
    table = _partner_table(near, today)
    table["Distance"] = ["dans le QPV" if d == 0 else format_distance(d) for d in near["_d"]]
    return table


def _partner_table(partners: pd.DataFrame, today: date) -> pd.DataFrame:
    day = f"Aujourd’hui ({WEEKDAYS_FR[today.weekday()]})"
    return pd.DataFrame(
        {
            "Partenaire": [_text(n) for n in partners["nom"]],
            "Type": [
                PARTNER_TYPES.get(str(t), "Autre partenaire")
                for t in partners.get("type", pd.Series("", index=partners.index))
            ],
            day: [
                hours_on_fr(_text(h), today) for h in partners.get("horaires", [""] * len(partners))
            ],
        }
    ).reset_index(drop=True)


def _transit(
    stops: gpd.GeoDataFrame | None,
    shape: shapely.Geometry,
    reach: float,
    stop_hours: pd.DataFrame | None,
    today: date,
) -> tuple[tuple[str, str], pd.DataFrame | None]:
    title = f"Arrêts à moins de {format_distance(reach)}"
    if stops is None or stops.empty:
        return (title, "aucune donnée de transport"), None
    near = stops[stops.to_crs(METRIC_CRS).geometry.distance(shape) <= reach]
    if near.empty:
        return (title, "aucun"), None
    text = f"{format_number(len(near))} ({', '.join(sorted(set(map(_text, near['nom'])))[:4])}"
    text += ", …)" if near["nom"].nunique() > 4 else ")"
    if stop_hours is None:
        return (title, f"{text} ; horaires inconnus"), None
    ids = set(near["stop_id"].astype(str))
    return (title, text), _by_hour(stop_hours[stop_hours["stop_id"].astype(str).isin(ids)])


def _by_hour(hours: pd.DataFrame) -> pd.DataFrame | None:
    """Departures per hour, consecutive hours of the same count in one row (« 7 h – 20 h »)."""
    sums = hours.groupby("hour")["departs"].sum()
    sums = sums[sums > 0].sort_index()
    if sums.empty:
        return None
    runs: list[list[int]] = []
    for hour, value in sums.items():
        if runs and hour == runs[-1][1] + 1 and value == runs[-1][2]:
            runs[-1][1] = int(hour)
        else:
            runs.append([int(hour), int(hour), int(value)])
    return pd.DataFrame(
        {
            "Heures": [f"{a} h" if a == b else f"{a} h – {b} h" for a, b, _ in runs],
            "Départs par heure": [format_number(v) for _, _, v in runs],
        }
    )


def _density_row(density: gpd.GeoDataFrame | None, code: str, k: int) -> tuple[str, str]:
    if density is None or density.empty:
        return ("Contacts (protégés)", "aucun")
    shown = density.loc[density["commune"] == code, "count"].dropna()
    if shown.empty:
        return ("Contacts (protégés)", f"< {k} ou aucun")
    return ("Contacts affichés sur ses zones", format_number(int(shown.sum())))


def _commune_names(layers: MapLayers) -> dict[str, str]:
    if layers.communes is None:
        return {}
    return dict(
        zip(layers.communes["code"].astype(str), layers.communes["nom"].astype(str), strict=True)
    )


def _labels(frame: pd.DataFrame) -> set[str]:
    return {str(i) for i in frame.index}


def _label(frame: pd.DataFrame, code: str) -> object:
    return next(i for i in frame.index if str(i) == code)


def _today(today: date) -> str:
    return f" (horaires d’aujourd’hui, {WEEKDAYS_FR[today.weekday()]})"


def _rows(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
