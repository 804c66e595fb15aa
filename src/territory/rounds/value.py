"""What a visit is worth and which zones are due: the values of the weekly plan.

* the **value** of a visit: the place's priority × its commune's priority score (the
  "Où et quand" ranking) × the contact yield of the slot in the place's zone's weekday ×
  2 h profile — its QPV's, else its commune's, shrunk towards its commune, EPCI and
  territory as "Où et quand" does (:func:`zone_yields`, from
  :func:`territory.analysis.slots.contact_profiles`) —, so that only published figures
  drive the plan;
* the **reasons** of a visit, in French ("pourquoi"), shown on the page and the sheets;
* the **zones to cover** in a week: every commune with a QPV each week, the rural
  communes in turn once a month.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd

from territory._fr import format_short
from territory.analysis.access import rural_labels
from territory.rounds.naming import commune_names, named_codes
from territory.settings import Settings
from territory.store import Workspace

__all__ = [
    "FIRST_SLOT",
    "SLOT_MINUTES",
    "ZoneYields",
    "commune_ranking",
    "communes_with_qpv",
    "coverage_zones",
    "monthly_zones",
    "place_factor",
    "place_reasons",
    "place_values",
    "rule_notes",
    "slot_yield",
    "visit_reason",
    "yields_from_profile",
    "zone_yields",
]

SLOT_MINUTES = 120
"""Length of a slot of the values (minutes): the 2-hour slots of the contact profile."""
FIRST_SLOT = 8 * 60
"""Start of the first slot (minutes since midnight)."""


def place_values(
    ws: Workspace,
    places: gpd.GeoDataFrame,
    *,
    settings: Settings,
    days: Sequence[int] = (0, 1, 2, 3, 4),
    slots: int = 6,
    ranking: pd.DataFrame | None = None,
    yields: np.ndarray | None = None,
) -> np.ndarray:
    """Value of a visit per place × day × 2-hour slot (from 8 h).

    ``priorite`` × (0.5 + the commune's priority score / 100) × the slot's relative
    yield: ``yields`` (per place, :attr:`ZoneYields.array`), else the territory's
    **protected** weekday × 2 h profile for every place (0.5 where a slot is suppressed
    or no contact is stored). Communes are the ``zone`` column of the places;
    ``ranking`` is :func:`commune_ranking`, computed when not given.
    """
    if ranking is None:
        ranking = commune_ranking(ws, settings=settings)
    factor = place_factor(places, ranking)
    if yields is None:
        yields = slot_yield(ws, settings=settings, days=days, slots=slots)[None, :, :]
    return cast("np.ndarray", factor[:, None, None] * yields)


def commune_ranking(ws: Workspace, *, settings: Settings) -> pd.DataFrame:
    """The communes' priority rank and score (index ``code``; empty without communes)."""
    from territory.analysis.priority import priorities

    if not ws.has("communes"):
        return pd.DataFrame({"rang": [], "score": []}, index=pd.Index([], name="code"))
    # kept per state of the file (every write bumps the version) and day (the default
    # moment of the indicators may follow today's date): a new plan of the same workspace
    # reads the same published ranking
    key = (ws.key, ws.changed_ns, ws.version, settings, date.today())
    if key not in _RANKINGS:
        table = priorities(ws, settings=settings).table
        _RANKINGS[key] = table.set_index("code")[["rang", "score"]]
        while len(_RANKINGS) > 4:
            del _RANKINGS[next(iter(_RANKINGS))]
    return _RANKINGS[key].copy()


_RANKINGS: dict[tuple[Any, ...], pd.DataFrame] = {}


def place_factor(places: gpd.GeoDataFrame, ranking: pd.DataFrame) -> np.ndarray:
    """``priorite`` × (0.5 + the zone's score / 100): a visit's value before the slot."""
    priority = pd.to_numeric(places.get("priorite", 1.0), errors="coerce")
    priority = pd.Series(priority, index=places.index).fillna(1.0).to_numpy(dtype=float)
    zone = places.get("zone", pd.Series("", index=places.index)).astype(str)
    score = zone.map(ranking["score"]).fillna(50.0).to_numpy(dtype=float)
    return cast("np.ndarray", priority * (0.5 + score / 100))


def slot_yield(
    ws: Workspace,
    *,
    settings: Settings,
    days: Sequence[int] = (0, 1, 2, 3, 4),
    slots: int = 6,
) -> np.ndarray:
    """Relative yield of each day × 2-hour slot, from 0.2 to 1.

    Read in the territory's protected weekday profile (0.5 where a slot is suppressed or
    nothing is stored).
    """
    from territory.analysis.slots import contact_profile

    yield_ = np.full((len(days), slots), 0.5)
    if ws.has("contacts"):
        profile = contact_profile(ws, settings=settings).table
        counts = pd.to_numeric(profile["contacts"], errors="coerce")
        top = counts.max()
        for day_pos, day in enumerate(days):
            for slot in range(slots):
                start = (FIRST_SLOT + slot * SLOT_MINUTES) // 60
                match = counts[(profile["jour"] == day) & (profile["debut"] == start)]
                if len(match) and pd.notna(match.iloc[0]) and top:
                    yield_[day_pos, slot] = 0.2 + 0.8 * float(match.iloc[0]) / float(top)
    return yield_


@dataclass(frozen=True)
class ZoneYields:
    """The relative yield of each place × day × 2-hour slot, from its zone's profile.

    Attributes
    ----------
    array
        Shape ``(places, days, slots)``, from 0.2 to 1 (0.5 where a slot's share is
        unknown or no contact is stored).
    levels
        Per place, the level whose published profile weighs most in its zone's
        (:attr:`territory.analysis.slots.Profile.main_level`): ``qpv`` or ``commune``
        (the zone's own), ``epci``, ``territoire``; ``""`` without contacts.
    """

    array: np.ndarray
    levels: tuple[str, ...]

    def note(self) -> str:
        """The plan's French note: whose profile valued the places' slots."""
        if not any(self.levels):
            return "Valeur des créneaux : aucun contact importé, tous les créneaux se valent."
        counts = {level: self.levels.count(level) for level in _LEVEL_WORDS}
        said = [f"{_LEVEL_WORDS[lv]} pour {n} lieu(x)" for lv, n in counts.items() if n]
        return (
            "Valeur des créneaux : profil horaire publié de la zone de chaque lieu (son QPV, "
            "sinon sa commune), rapproché de sa commune, de son EPCI et du territoire comme "
            f"dans « Où et quand » ; profil qui pèse le plus : {', '.join(said)}."
        )


_LEVEL_WORDS = {
    "qpv": "celui de leur QPV",
    "commune": "celui de leur commune",
    "epci": "celui de leur EPCI",
    "territoire": "celui du territoire",
}


def zone_yields(
    ws: Workspace,
    zones: pd.DataFrame,
    *,
    settings: Settings,
    communes: set[str] | None = None,
    days: Sequence[int] = (0, 1, 2, 3, 4),
    slots: int = 6,
) -> ZoneYields:
    """Each place's slot yields from its zone's published profile (as « Où et quand »).

    ``zones``: ``zone_kind`` and ``code_zone`` of each place
    (:func:`territory.rounds.naming.place_zones`). Every distinct zone's profile is
    :func:`territory.analysis.slots.contact_profiles` — the zone's own published
    profile shrunk towards its commune's, EPCI's and the territory's (``communes``: the
    programme territory's, None: the workspace) — so only published values, never a
    contact row, are read here. A place outside every commune takes the territory's.
    """
    from territory.analysis.slots import contact_profiles
    from territory.analysis.zones import load_zones

    keys = list(zip(zones["zone_kind"].astype(str), zones["code_zone"].astype(str), strict=True))
    distinct = list(dict.fromkeys(keys))
    qpv = None
    if any(kind == "qpv" for kind, _ in distinct):
        qpv = load_zones(ws, "qpv").set_index("code", drop=False)
    asked: list[tuple[gpd.GeoDataFrame, Any] | None] = []
    for kind, code in distinct:
        if kind == "qpv" and qpv is not None and code in qpv.index:
            asked.append((qpv.loc[[code]].reset_index(drop=True), "qpv"))
        elif kind == "commune":
            asked.append((gpd.GeoDataFrame({"code": [code]}), "commune"))
        else:
            asked.append(None)
    profiles = contact_profiles(ws, asked, settings=settings, communes=communes, shares_only=True)
    by_key = {}
    for (kind, _), profile in zip(distinct, profiles, strict=True):
        level = "" if profile.period is None else profile.main_level
        if level == "zone":
            level = kind or "territoire"
        by_key[(kind, _)] = (yields_from_profile(profile.table, days, slots), level)
    array = np.stack([by_key[k][0] for k in keys]) if keys else np.empty((0, len(days), slots))
    return ZoneYields(array, tuple(by_key[k][1] for k in keys))


def yields_from_profile(profile: pd.DataFrame, days: Sequence[int], slots: int) -> np.ndarray:
    """Day × slot yields, 0.2 + 0.8 × the slot's share over the profile's largest.

    ``profile`` is a :attr:`territory.analysis.slots.Profile.table` (``jour``,
    ``debut``, ``part``: shares computed from published counts only); a slot of unknown
    share gets 0.5.

    Examples
    --------
    >>> table = pd.DataFrame({"jour": [2, 2], "debut": [8, 14], "part": [0.1, 0.4]})
    >>> yields_from_profile(table, [2, 3], 4).round(3).tolist()
    [[0.4, 0.5, 0.5, 1.0], [0.5, 0.5, 0.5, 0.5]]
    """
    out = np.full((len(days), slots), 0.5)
    shares = pd.to_numeric(profile["part"], errors="coerce").to_numpy(dtype=float)
    if not len(shares) or np.isnan(shares).all() or np.nanmax(shares) <= 0:
        return out
    dense = np.full(7 * 24, np.nan)  # weekday × first hour
    where = profile["jour"].to_numpy(dtype=np.int64) * 24 + profile["debut"].to_numpy(np.int64)
    dense[where] = shares
    hours = (FIRST_SLOT + np.arange(slots) * SLOT_MINUTES) // 60
    found = dense[np.asarray(days, dtype=np.int64)[:, None] * 24 + hours[None, :]]
    known = ~np.isnan(found)
    out[known] = 0.2 + 0.8 * found[known] / np.nanmax(shares)
    return out


def place_reasons(
    places: gpd.GeoDataFrame,
    ranking: pd.DataFrame,
    *,
    weekly: Collection[str] = (),
    due: Collection[str] = (),
) -> pd.Series:
    """Why each place is worth a visit, in French.

    Its zone's coverage rule (``weekly``: communes with a QPV; ``due``: other zones to
    cover this week), the zone's priority rank and score, and the place's own priority when
    it is not 1.

    Examples
    --------
    >>> places = gpd.GeoDataFrame({"zone": ["14118", "14200"], "priorite": [1, 2]},
    ...                           geometry=[None, None])
    >>> ranking = pd.DataFrame({"rang": [1, 2], "score": [81.4, 40.0]},
    ...                        index=pd.Index(["14118", "14200"], name="code"))
    >>> for reason in place_reasons(places, ranking, weekly={"14118"}):
    ...     print(reason)
    commune avec QPV : chaque semaine · commune n° 1 sur 2 (score 81)
    commune n° 2 sur 2 (score 40) · priorité du lieu × 2
    """
    weekly, due = set(weekly), set(due)
    zones = places.get("zone", pd.Series("", index=places.index)).astype(str)
    priority = pd.to_numeric(places.get("priorite", 1.0), errors="coerce")
    priority = pd.Series(priority, index=places.index).fillna(1.0)
    reasons = []
    for zone, weight in zip(zones, priority, strict=True):
        parts = []
        if zone in weekly:
            parts.append("commune avec QPV : chaque semaine")
        elif zone in due:
            parts.append("zone à couvrir cette semaine (tour mensuel des communes rurales)")
        if zone in ranking.index:
            rank, score = ranking.at[zone, "rang"], ranking.at[zone, "score"]
            parts.append(f"commune n° {int(rank)} sur {len(ranking)} (score {score:.0f})")
        if weight != 1:
            parts.append(f"priorité du lieu × {format_short(float(weight))}")
        reasons.append(" · ".join(parts))
    return pd.Series(reasons, index=places.index, dtype=str)


def _slot_reason(slot_yield: float) -> str:
    if slot_yield >= 0.7:
        return "créneau fort (beaucoup de contacts à cette heure)"
    if slot_yield < 0.45:
        return "créneau calme (peu de contacts à cette heure)"
    return ""


def coverage_zones(
    ws: Workspace,
    monday: date,
    *,
    communes: Collection[str] | None = None,
    rural_every_weeks: int = 4,
) -> list[str]:
    """Zones (commune codes) to visit during the week of ``monday``.

    The default rules of a lead: every commune holding a QPV **every week**, and every
    rural commune without one (an INSEE density label « bourgs ruraux », « rural à
    habitat dispersé / très dispersé », « peu dense »…, read from the label, never from
    the level number) **once a month**: those communes are split, by code, into
    ``rural_every_weeks`` groups of equal size and the ISO week number picks the group
    whose turn it is. ``communes``: the programme territory's (None: the workspace's),
    so that its own rural communes are split evenly over the weeks. Without the density
    grid the rural rule cannot run: :func:`rule_notes` says so.
    """
    if not ws.has("communes"):
        return []
    table = _density_labels(ws)
    if communes is not None:
        table = table[table["code"].astype(str).isin(set(communes))]
    with_qpv = communes_with_qpv(ws)
    rural = table.loc[rural_labels(table["densite_libelle"]).fillna(False), "code"]
    rural = sorted(set(rural.astype(str)) - with_qpv)
    turn = monday.isocalendar().week % rural_every_weeks
    due = [code for i, code in enumerate(rural) if i % rural_every_weeks == turn]
    return sorted(with_qpv & set(table["code"].astype(str))) + due


RURAL_RULE_OFF = (
    "règle de couverture rurale inactive : grille de densité non importée "
    "(territory import density FICHIER, grille communale de densité de l'INSEE)"
)
"""The plan's note when no commune has a density class (the monthly rural round is off)."""


def rule_notes(ws: Workspace) -> list[str]:
    """French notes on the coverage rules that cannot run, or only in part, for lack of data.

    Examples
    --------
    >>> from territory.store import Workspace
    >>> import tempfile, pathlib
    >>> rule_notes(Workspace.create(pathlib.Path(tempfile.mkdtemp()) / "w.gpkg", name="w"))
    ['aucune commune importée : aucune zone à couvrir']
    """
    if not ws.has("communes"):
        return ["aucune commune importée : aucune zone à couvrir"]
    communes = _density_labels(ws)
    known = rural_labels(communes["densite_libelle"]).notna()
    if not known.any():
        return [RURAL_RULE_OFF]
    if not known.all():
        missing = sorted(communes.loc[~known, "code"].astype(str))
        listed = named_codes(missing, commune_names(ws))
        text = (
            f"règle de couverture rurale partielle : {len(missing)} commune(s) sans classe de "
            f"densité ({listed}) : absentes de la grille importée"
        )
        return [text]
    return []


def _density_labels(ws: Workspace) -> pd.DataFrame:
    """``code`` and ``densite_libelle`` of the stored communes (labels empty without grid)."""
    communes = ws.read_table("communes", columns=["code", "densite_libelle"])
    return communes.assign(code=communes["code"].astype(str))


def monthly_zones(ws: Workspace) -> set[str]:
    """Codes of the communes visited once a month: rural (by density label) without a QPV.

    The planner visits such a commune in its turn's week only, every four weeks
    (:func:`territory.rounds.recurrence.monthly_turn`).
    Rural is read from the INSEE density label, as in :func:`coverage_zones`.
    """
    if not ws.has("communes"):
        return set()
    communes = _density_labels(ws)
    rural = communes.loc[rural_labels(communes["densite_libelle"]).fillna(False), "code"]
    return set(rural.astype(str)) - communes_with_qpv(ws)


def communes_with_qpv(ws: Workspace) -> set[str]:
    """Codes of the communes that hold (part of) a QPV."""
    found: set[str] = set()
    if ws.has("qpv"):
        for text in ws.read_table("qpv", columns=["communes"])["communes"].fillna(""):
            found |= {c.strip() for c in str(text).split(",") if c.strip()}
    return found


def visit_reason(place: pd.Series, value: float) -> str:
    """The place's reasons (:func:`place_reasons`) and what the slot adds.

    ``place`` is a row of the places with their ``pourquoi`` and ``valeur_lieu``
    (:func:`place_factor`); ``value`` the visit's value.
    """
    reasons = [str(place.get("pourquoi", "") or "")]
    factor = pd.to_numeric(place.get("valeur_lieu"), errors="coerce")
    if pd.notna(factor) and factor > 0:
        reasons.append(_slot_reason(value / float(factor)))
    return " · ".join(r for r in reasons if r)
