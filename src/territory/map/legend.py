"""The legend of the map as self-contained HTML (inline styles only)."""

from __future__ import annotations

import html
import itertools

import geopandas as gpd
import pandas as pd

from territory.map.model import MapLayers
from territory.map.prepare import _column, _is_empty, _level_labels
from territory.map.styles import (
    ACCESS_COLOURS,
    CONTACT_COLOURS,
    DENSITY_BREAKS,
    GAP_COLOUR,
    HIDDEN_AT_FIRST,
    HOTSPOT_COLOURS,
    NAME_ACCESS,
    NAME_COMMUNES,
    NAME_DENSITY,
    NAME_HOTSPOTS,
    NAME_PARTNERS,
    NAME_PLACES,
    NAME_QPV,
    NAME_ROUTES,
    NAME_SCORES,
    NAME_STOPS,
    NO_ACCESS_COLOUR,
    NO_DATA_COLOUR,
    PARTNER_COLOURS,
    QPV_2015_COLOUR,
    QPV_COLOUR,
    SCORE_COLOURS,
    SECRET_GREY,
    STOP_COLOUR,
    STOP_IDLE_COLOUR,
    TRANSIT_STATE_COLOURS,
    _fr_number,
    _level_colour,
    _name_gaps,
    _partner_colour,
    _place_colour,
    route_colours,
)
from territory.vocab import KINDS, TRANSIT_GAP, TRANSIT_NO_DATA, TRANSIT_UNKNOWN_HOURS

__all__ = ["legend_html"]


def legend_html(layers: MapLayers, *, k: int = 11, stop_buffer_m: float = 500.0) -> str:
    """A compact French legend of the layers present, as self-contained HTML.

    Inline styles only (no stylesheet, no URL): usable with ``st.html``, with
    ``st.markdown(..., unsafe_allow_html=True)`` or inside the map. Labels come from the
    data (density classes from ``densite_libelle``, partner types from ``type_libelle``).

    Parameters
    ----------
    layers
        The layers given to :func:`territory_map`.
    k
        Disclosure threshold, explained next to the hatched swatch.
    stop_buffer_m
        Walking distance that defines the zones blanches.

    Returns
    -------
    str
        One ``<div>``; says "Aucune couche à afficher." when every layer is empty.
    """
    sections: list[str] = []
    if not _is_empty(layers.communes):
        labels = _level_labels(layers.communes)
        levels = pd.to_numeric(_column(layers.communes, "densite"), errors="coerce")
        rows = [_row(_swatch(_level_colour(level)), label) for level, label in labels.items()]
        if levels.isna().any():
            rows.append(_row(_swatch(NO_DATA_COLOUR), "classe de densité non renseignée"))
        sections.append(_section(NAME_COMMUNES, rows))
    if not _is_empty(layers.access):
        sections.append(_section(NAME_ACCESS, _access_rows(layers.access)))
    if not _is_empty(layers.scores):
        rows = [
            _row(_swatch(colour), f"score de {20 * i} à {20 * (i + 1)}")
            for i, colour in enumerate(SCORE_COLOURS)
        ]
        rows.append(_note("Somme pondérée des indicateurs ; survolez une zone pour ses raisons."))
        sections.append(_section(NAME_SCORES, rows))
    if not _is_empty(layers.routes):
        routes = layers.routes
        assert routes is not None
        colours = route_colours(routes[routes["team"].notna()])
        rows = [_row(_dot(colours[team], 7), team) for team in sorted(colours)]
        rows.append(_note("Pointillés : trajets depuis la base ; points : visites, dans l'ordre."))
        sections.append(_section(NAME_ROUTES, rows))
    if not _is_empty(layers.places):
        kinds = set(_column(layers.places, "type").dropna().astype(str))
        rows = [_row(_dot(_place_colour(kind), 7), kind) for kind in KINDS if kind in kinds]
        rows.append(_note("Cliquez sur la carte pour placer un nouveau lieu."))
        sections.append(_section(NAME_PLACES, rows))
    if not _is_empty(layers.qpv):
        is_2015 = _column(layers.qpv, "generation").astype(str) == "2015"
        rows = []
        if not is_2015.all():
            rows.append(
                _row(
                    _outline(QPV_COLOUR, dashed=False),
                    "quartier prioritaire (QPV)" + (", génération 2024" if is_2015.any() else ""),
                )
            )
        if is_2015.any():
            rows.append(
                _row(_outline(QPV_2015_COLOUR, dashed=True), "QPV génération 2015 (comparaison)")
            )
        sections.append(_section(NAME_QPV, rows))
    if not _is_empty(layers.density):
        rows = [
            _row(_swatch(colour), f"{text} contacts par km²")
            for colour, text in zip(CONTACT_COLOURS, _class_texts(), strict=True)
        ]
        rows.append(
            _row(
                _hatch(SECRET_GREY, "#757575"),
                f"« < {k} » — moins de {k} personnes : non affiché (secret statistique)",
            )
        )
        if (_column(layers.density, "label").astype(str) == "secret").any():
            rows.append(
                _row(
                    _hatch(SECRET_GREY, "#757575"),
                    "« secret » — masqué pour qu'un petit effectif ne puisse pas "
                    "être retrouvé par différence",
                )
            )
        rows.append(
            _note(
                f"Carreaux de 200 m ; sous {k} personnes, regroupés en carreaux de "
                "1 km puis en reste de la commune. Nombres de contacts légèrement "
                "perturbés puis arrondis à 5 : aucun contact n'est placé individuellement."
            )
        )
        sections.append(_section(NAME_DENSITY, rows))
    if not _is_empty(layers.hotspots):
        sections.append(_section(NAME_HOTSPOTS, _hotspot_rows(layers.hotspots)))
    if not _is_empty(layers.service_gaps):
        assert layers.service_gaps is not None
        states = set(_column(layers.service_gaps, "etat").astype("string").fillna(TRANSIT_GAP))
        rows = []
        if TRANSIT_GAP in states:
            rows.append(
                _row(
                    _dots(GAP_COLOUR),
                    f"zone blanche : à plus de {_fr_number(stop_buffer_m)} m à pied d'un arrêt "
                    "desservi",
                )
            )
        for state, text in _TRANSIT_STATE_TEXTS.items():
            if state in states:
                rows.append(_row(_tint(TRANSIT_STATE_COLOURS[state]), text))
        if "gaps" in HIDDEN_AT_FIRST:
            rows.append(_note(_HIDDEN_NOTE))
        sections.append(_section(_name_gaps(stop_buffer_m), rows))
    if not _is_empty(layers.stops):
        sections.append(
            _section(
                NAME_STOPS,
                [
                    _row(
                        _dot(STOP_COLOUR, 5) + _dot(STOP_COLOUR, 9),
                        "arrêt desservi (taille selon le nombre de départs par jour)",
                    ),
                    _row(
                        _dot(STOP_IDLE_COLOUR, 4),
                        "aucun départ le jour de référence, ou horaires inconnus (non desservi)",
                    ),
                    _note(
                        "Vue d'ensemble : des arrêts voisins, seul le plus desservi est "
                        "dessiné ; tous à partir du niveau de la rue."
                        + (" " + _HIDDEN_NOTE if "stops" in HIDDEN_AT_FIRST else "")
                    ),
                ],
            )
        )
    if not _is_empty(layers.partners):
        types = _partner_types(layers.partners)
        rows = [
            _row(_dot(_partner_colour(code), 7, border="#212121"), label)
            for code, label in types.items()
        ]
        pending = layers.pending_partners
        if pending:
            rows.append(
                _note(
                    f"{_fr_number(pending)} partenaire{'s' if pending > 1 else ''} "
                    f"à géocoder, non placé{'s' if pending > 1 else ''} sur la carte."
                )
            )
        sections.append(_section(NAME_PARTNERS, rows))
    if not sections:
        sections.append(_note("Aucune couche à afficher."))
    return (
        '<div class="territory-legende" style="font:13px/1.35 system-ui,-apple-system,'
        'Segoe UI,Roboto,sans-serif;color:#212121">' + "".join(sections) + "</div>"
    )


def _access_rows(access: gpd.GeoDataFrame | None) -> list[str]:
    """The quintiles of accessibility, the communes without partner, the method."""
    assert access is not None
    value = pd.to_numeric(_column(access, "acces"), errors="coerce")
    positive = value[value > 0]
    rows = []
    if len(positive):
        edges = [
            float(positive.min()),
            *positive.quantile([0.2, 0.4, 0.6, 0.8]),
            float(positive.max()),
        ]
        rows = [
            _row(_swatch(colour), f"{_fr_decimal(round(a, 1))} à {_fr_decimal(round(b, 1))}")
            for colour, a, b in zip(ACCESS_COLOURS, edges[:-1], edges[1:], strict=True)
        ]
    attrs = access.attrs
    catchment = _fr_number(float(attrs.get("catchment_min", 30)))
    rows.append(_row(_swatch(NO_ACCESS_COLOUR), f"aucun partenaire à moins de {catchment} min"))
    rows.append(
        _note(
            f"{attrs.get('method', 'E2SFCA')} ({attrs.get('mode', '')}) : partenaires pour "
            f"10 000 habitants, chacun partagé entre toutes les personnes qui peuvent "
            f"l'atteindre ; demande : {attrs.get('demand', 'population')}."
        )
    )
    return rows


def _hotspot_rows(hotspots: gpd.GeoDataFrame | None) -> list[str]:
    """The classes present, with the false-discovery rate that made them."""
    assert hotspots is not None
    alpha = float(hotspots.attrs.get("alpha", 0.05))
    threshold = f"q < {_fr_decimal(alpha)}"
    classes = set(_column(hotspots, "classe").astype(str))
    rows = [
        _row(_outline(colour, dashed=False), f"{name} ({threshold})")
        for name, colour in HOTSPOT_COLOURS.items()
        if name in classes
    ]
    if not rows:
        rows.append(_note(f"Aucune zone significative ({threshold})."))
    method = str(hotspots.attrs.get("method", "Getis-Ord Gi*"))
    permutations = hotspots.attrs.get("permutations", 999)
    rows.append(
        _note(
            f"{method} sur les densités publiées (carreaux de 200 m et de 1 km), "
            f"{_fr_number(int(permutations))} permutations, taux de fausses découvertes "
            f"(Benjamini-Hochberg) : q est la valeur p corrigée pour l'ensemble des zones."
        )
    )
    return rows


def _fr_decimal(value: float) -> str:
    """``0.05`` → ``0,05``."""
    return f"{value:g}".replace(".", ",")


_HIDDEN_NOTE = (
    "Couche masquée à l'ouverture : à cocher dans la liste des couches (bouton en haut à "
    "droite de la carte)."
)
"""Under the layers of :data:`HIDDEN_AT_FIRST`."""


def _class_texts() -> list[str]:
    edges = [_fr_number(b) for b in DENSITY_BREAKS]
    return (
        [f"moins de {edges[0]}"]
        + [f"{lo} à {hi}" for lo, hi in itertools.pairwise(edges)]
        + [f"{edges[-1]} ou plus"]
    )


def _partner_types(partners: gpd.GeoDataFrame) -> dict[str, str]:
    """Type code → label of the partners present, in the palette's order."""
    codes = _column(partners, "type").fillna("AUTRE").astype(str)
    labels = _column(partners, "type_libelle")
    frame = pd.DataFrame({"code": codes, "label": labels})
    order = {code: i for i, code in enumerate(PARTNER_COLOURS)}
    out: dict[str, str] = {}
    for code in sorted(frame["code"].unique(), key=lambda c: (order.get(c, len(order)), c)):
        named = frame.loc[frame["code"] == code, "label"].dropna().astype(str)
        out[code] = named.mode().iloc[0] if len(named) else code
    return out


# --- legend building blocks (inline styles only) ----------------------------------------
def _section(title: str, rows: list[str]) -> str:
    return f'<div style="font-weight:600;margin:8px 0 3px">{html.escape(title)}</div>' + "".join(
        rows
    )


def _row(symbol: str, text: str) -> str:
    return (
        '<div style="display:flex;align-items:center;gap:6px;margin:1px 0">'
        f'<span style="display:inline-flex;align-items:center;gap:2px;min-width:18px">'
        f"{symbol}</span><span>{html.escape(text)}</span></div>"
    )


def _note(text: str) -> str:
    return f'<div style="color:#555;font-size:12px;margin:2px 0">{html.escape(text)}</div>'


def _swatch(colour: str) -> str:
    return (
        f'<span style="display:inline-block;width:16px;height:11px;background:{colour};'
        'border:1px solid #fff;outline:1px solid #ccc"></span>'
    )


def _outline(colour: str, *, dashed: bool) -> str:
    style = "dashed" if dashed else "solid"
    width = 2 if dashed else 3
    return (
        f'<span style="display:inline-block;width:14px;height:9px;'
        f'border:{width}px {style} {colour};background:rgba(216,27,96,.1)"></span>'
    )


_TRANSIT_STATE_TEXTS = {
    TRANSIT_UNKNOWN_HOURS: (
        "horaires de transport inconnus : flux GTFS sans horaires, arrêts non comptés "
        "comme desservis"
    ),
    TRANSIT_NO_DATA: (
        "pas de données de transport : aucun flux GTFS importé ne couvre ces communes"
    ),
}


def _tint(colour: str) -> str:
    return (
        '<span style="display:inline-block;width:16px;height:11px;border:1px dashed '
        f'{colour};background:{colour};opacity:0.6"></span>'
    )


def _hatch(background: str, line: str) -> str:
    return (
        '<span style="display:inline-block;width:16px;height:11px;border:1px solid '
        f"{line};background:repeating-linear-gradient(45deg,{line} 0 1.5px,"
        f'{background} 1.5px 5px)"></span>'
    )


def _dots(colour: str) -> str:
    """The zones blanches' swatch: dots (the secret zones are hatched with grey lines)."""
    return (
        '<span style="display:inline-block;width:16px;height:11px;border:1px dashed '
        f"{colour};background:radial-gradient(circle,{colour} 0 1.3px,transparent 1.6px)"
        ' 0 0/5px 5px"></span>'
    )


def _dot(colour: str, size: int, *, border: str = "#ffffff") -> str:
    return (
        f'<span style="display:inline-block;width:{size}px;height:{size}px;'
        f'border-radius:50%;background:{colour};border:1px solid {border}"></span>'
    )
