"""The protected comparison of a programme's territories (the steering committee's tables).

:func:`compare` returns a :class:`Comparison`: for each territory of the programme, the
funnel (each step's people and share of the previous step), targets against actuals with
the date each target would be reached at the current pace, rates per 1,000 with their
denominator named (name, source, vintage), the QPV / rural / other split, monthly trends,
exit classes and the rounds planned and done. Every person count comes already
protected from :mod:`territory.privacy.funnel` (threshold on distinct people, cell-key
perturbation, rounding, secondary suppression); this module only lays them out and
computes shares and rates from published values (``privacy.md`` rule 6). Renderers (the
page, the PDF, the XLSX) never compute a count from people: they lay out these tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from territory._errors import ValidationError
from territory.analysis.need import AGE_TABLE
from territory.analysis.zones import cells_in_zones, load_zones
from territory.privacy import raw
from territory.privacy.funnel import STEPS, FunnelTables, commune_people, funnel
from territory.privacy.parcours import PARCOURS
from territory.programme.model import Programme, load_programme, period_bounds
from territory.rounds.feedback import recorded_visits, visit_label
from territory.rounds.week import PLANS, VISITS
from territory.settings import Settings
from territory.store import Workspace
from territory.territories import resolve_many

__all__ = [
    "PROGRAMME_PERIOD",
    "Comparison",
    "compare",
    "comparison_json",
    "month_fr",
    "periods",
    "reach_date",
]

PROGRAMME_PERIOD = "programme"
"""The period that spans the programme's start to its end."""

FUNNEL_COLUMNS = {
    "Territoire": "str",
    "Étape": "str",
    "Personnes": "Int64",
    "Affiché": "str",
    "Part de l'étape précédente": "Float64",
}
TARGET_COLUMNS = {
    "Territoire": "str",
    "Étape": "str",
    "Période": "str",
    "Cible": "Int64",
    "Réalisé": "Int64",
    "Avancement": "Float64",
    "Date d'atteinte estimée": "str",
}
RATE_COLUMNS = {
    "Territoire": "str",
    "Indicateur": "str",
    "Numérateur": "Int64",
    "Dénominateur": "Int64",
    "Nom du dénominateur": "str",
    "Source": "str",
    "Millésime": "str",
    "Pour 1 000": "Float64",
}
ZONE_COLUMNS = {
    "Territoire": "str",
    "Type de zone": "str",
    "Étape": "str",
    "Personnes": "Int64",
    "Affiché": "str",
}
TREND_COLUMNS = {
    "Territoire": "str",
    "Mois": "str",
    "Étape": "str",
    "Personnes": "Int64",
    "Affiché": "str",
}
EXIT_COLUMNS = {
    "Territoire": "str",
    "Classe de sortie": "str",
    "Personnes": "Int64",
    "Affiché": "str",
}
ROUND_COLUMNS = {
    "Territoire": "str",
    "Visites prévues": "int64",
    "Visites faites": "int64",
    "Heures de terrain": "float64",
}
SOURCE_COLUMNS = {"Donnée": "str", "Source": "str", "Millésime": "str"}
MAP_COLUMNS = {
    "Territoire": "str",
    "Code": "str",
    "Commune": "str",
    "Personnes": "Int64",
    "Affiché": "str",
    "Habitants": "Int64",
    "Pour 1 000 habitants": "Float64",
}
ZONE_TYPES = ("QPV", "rural", "autre")


@dataclass(frozen=True)
class Comparison:
    """The protected tables of one programme over one period (see the module's docs).

    What the renderers may rely on (the contract of issue #22, with what it left open):

    - ``funnel``: five rows per territory, in :data:`~territory.privacy.funnel.STEPS`
      order, territories in the programme's order; ``Affiché`` is ``"1 230"`` (narrow
      no-break space), ``"< 11"`` (under k) — the funnel has no ``"secret"``: its steps
      are nested totals, not parts; ``Part de l'étape précédente`` is NA for ``contact``.
    - ``targets``: one row per target, in the programme's order; ``Date d'atteinte
      estimée`` is ``"mars 2027"``, ``"déjà atteinte"``, ``"non atteinte au rythme
      actuel"`` or ``""`` (period not begun, or ``Réalisé`` hidden). The pace runs from the
      period's start to the last month the workspace publishes (k people met).
    - ``rates``: per territory, « Jeunes en contact » and « Entrées en parcours » per
      1,000 young people of the census band (15-29, else 15-24; ``Dénominateur`` NA and
      ``Nom du dénominateur`` « population par âge (non importée) » without census ages),
      « Jeunes en contact pour 1 000 jeunes de 15-24 ans ni en emploi ni en études » when
      the census file gives them, and « Jeunes en contact pour 1 000 habitants » (the
      communes' population, always there); ``Pour 1 000`` NA when the numerator is hidden
      or the denominator under k.
    - ``zones``: per territory and step, ``QPV``, ``rural``, ``autre`` (they sum to the
      step); ``exits``: per territory, the four :data:`EXIT_CLASSES` (they sum to
      ``sortie``); both may show ``"secret"`` (secondary suppression).
    - ``trends``: only months with at least k people met in the territory; five rows per
      month shown.
    - ``rounds``: one row per territory, zeros when no plan is saved.
    - ``maps``: one row per territory and commune (the small-multiple maps): the people
      met there in the period (:func:`~territory.privacy.funnel.commune_people`:
      ``Affiché`` a number, ``"< 11"`` or ``"secret"``), the commune's inhabitants and
      the rate per 1,000 inhabitants (NA when the count is hidden or the commune has
      under k inhabitants); ``outlines``: ``Code`` and ``geometry`` (shapely, Lambert-93,
      simplified without gaps) of every commune of the programme.
    """

    programme: Programme
    period: str
    funnel: pd.DataFrame
    targets: pd.DataFrame
    rates: pd.DataFrame
    zones: pd.DataFrame
    trends: pd.DataFrame
    exits: pd.DataFrame
    rounds: pd.DataFrame
    notes: tuple[str, ...]
    sources: pd.DataFrame
    maps: pd.DataFrame = field(default_factory=lambda: frame([], MAP_COLUMNS))
    outlines: pd.DataFrame = field(default_factory=lambda: _no_outlines())


def _no_outlines() -> pd.DataFrame:
    return pd.DataFrame({"Code": [], "geometry": []}, dtype=object)


def frame(rows: list[dict[str, Any]], columns: dict[str, str]) -> pd.DataFrame:
    """A table with exactly ``columns`` and their dtypes (empty when no rows)."""
    table = pd.DataFrame(rows, columns=list(columns))
    for name, dtype in columns.items():
        if dtype == "str":
            table[name] = table[name].astype(object).where(table[name].notna(), "").astype(str)
        else:
            table[name] = table[name].astype(dtype)
    return table.reset_index(drop=True)


def periods(ws: Workspace, programme: str, *, settings: Settings) -> list[str]:
    """The fixed period choices: the programme, then its years, then its quarters."""
    p = load_programme(ws, programme)
    years = [str(y) for y in range(p.start.year, p.end.year + 1)]
    quarters = [
        f"{y}-T{q}"
        for y in range(p.start.year, p.end.year + 1)
        for q in range(1, 5)
        if (y, q) >= (p.start.year, (p.start.month - 1) // 3 + 1)
        and (y, q) <= (p.end.year, (p.end.month - 1) // 3 + 1)
    ]
    return [PROGRAMME_PERIOD, *years, *quarters]


def compare(
    ws: Workspace, programme: str, *, period: str | None = None, settings: Settings
) -> Comparison:
    """The protected comparison of ``programme``'s territories over ``period``.

    ``period``: one of :func:`periods` (None: the whole programme). A French
    :class:`~territory._errors.ValidationError` for an unknown programme or period.
    Kept per state of the file (path, modification time, write counter), programme,
    period and disclosure settings: a rerun of the page costs a copy of small tables.
    The tables are copies: a renderer may change them freely.
    """
    chosen = period or PROGRAMME_PERIOD
    choices = periods(ws, programme, settings=settings)
    if chosen not in choices:
        raise ValidationError(
            f"période « {chosen} » non proposée pour le programme « {programme} » "
            f"(périodes : {', '.join(choices)})"
        )
    raw.migrate(ws)  # the contacts of an earlier version brought up to date (a write)
    found = _compare(
        ws.key, ws.changed_ns, ws.version, programme, chosen, settings.k,
        settings.rounding,
    )  # fmt: skip
    tables = ("funnel", "targets", "rates", "zones", "trends", "exits", "rounds", "sources",
              "maps", "outlines")  # fmt: skip
    return replace(found, **{name: getattr(found, name).copy() for name in tables})


@lru_cache(maxsize=16)
def _compare(
    path: str, mtime_ns: int, version: int, programme: str, period: str, k: int, rounding: int
) -> Comparison:
    ws = Workspace.open(Path(path))
    settings = Settings(k=k, rounding=rounding)
    p = load_programme(ws, programme)
    first, last = _bounds(p, period)
    codes = {name: frozenset(c) for name, c in resolve_many(ws, p.territories).items()}
    typer = _zone_typer(ws)
    tables = funnel(
        ws, codes, first=f"{first:%Y-%m}", last=f"{last:%Y-%m}", zone_typer=typer,
        settings=settings,
    )  # fmt: skip
    notes = [
        (
            f"Chaque effectif compte des personnes distinctes (pseudonymes). Une valeur est "
            f"affichée à partir de {k} personnes, légèrement perturbée puis arrondie à "
            f"{rounding} (méthode des clés de cellule) : les sommes et les différences entre "
            "territoires ou périodes ne retombent pas exactement, c'est voulu."
        ),
        *tables.notes,
    ]
    funnel_table = _funnel_table(tables, p)
    if funnel_table["Affiché"].isin(["secret"]).any() or funnel_table["Personnes"].isna().any():
        notes.append(
            f"« < {k} » : moins de {k} personnes, valeur non diffusée ; « secret » : valeur "
            "masquée pour qu'on ne puisse pas la retrouver par différence."
        )
    rates, rate_notes, rate_sources = _rates(ws, p, codes, funnel_table, k)
    notes += rate_notes
    zones = frame(
        [
            {"Territoire": t, "Type de zone": z, "Étape": s, "Personnes": c, "Affiché": lab}
            for t, z, s, c, lab in tables.zones.itertuples(index=False)
        ],
        ZONE_COLUMNS,
    )
    if typer is None:
        notes.append(
            "QPV / rural / autre : ni QPV ni grille de densité importés, toutes les "
            "personnes sont comptées en « autre »."
        )
    trends = frame(
        [
            {"Territoire": t, "Mois": m, "Étape": s, "Personnes": c, "Affiché": lab}
            for t, m, s, c, lab in tables.trends.itertuples(index=False)
        ],
        TREND_COLUMNS,
    )
    exits = frame(
        [
            {"Territoire": t, "Classe de sortie": c, "Personnes": n, "Affiché": lab}
            for t, c, n, lab in tables.exits.itertuples(index=False)
        ],
        EXIT_COLUMNS,
    )
    targets = _targets(ws, p, codes, typer, settings, tables.latest_month)
    rounds = _rounds(ws, p, codes, first, last)
    sources = frame(_sources(ws, rate_sources), SOURCE_COLUMNS)
    people = commune_people(
        ws, codes, first=f"{first:%Y-%m}", last=f"{last:%Y-%m}", settings=settings
    )
    maps, outlines = _maps(ws, people, k)
    return Comparison(
        programme=p, period=period, funnel=funnel_table, targets=targets, rates=rates,
        zones=zones, trends=trends, exits=exits, rounds=rounds, notes=tuple(notes),
        sources=sources, maps=maps, outlines=outlines,
    )  # fmt: skip


def _maps(ws: Workspace, people: pd.DataFrame, k: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The maps' table (names, inhabitants, rates) and the communes' simplified outlines."""
    import shapely

    wanted = sorted(set(people["commune"]))
    if not ws.has("communes") or not wanted:
        return frame([], MAP_COLUMNS), _no_outlines()
    columns = set(ws.read_table("communes", where="0").columns)
    layer = ws.read_layer(
        "communes", columns=[c for c in ("code", "nom", "population") if c in columns]
    )
    layer = layer[layer["code"].astype(str).isin(wanted)].sort_values("code").to_crs(2154)
    names = dict(zip(layer["code"].astype(str), layer.get("nom", layer["code"]).astype(str),
                     strict=True))  # fmt: skip
    inhabitants = (
        pd.to_numeric(layer["population"], errors="coerce")
        if "population" in layer
        else pd.Series(np.nan, index=layer.index)
    )
    population = dict(zip(layer["code"].astype(str), inhabitants, strict=True))
    rows = []
    for name, code, count, label in people.itertuples(index=False):
        habitants = population.get(code, np.nan)
        rate: Any = pd.NA
        if not pd.isna(count) and not pd.isna(habitants) and habitants >= k:
            rate = round(1000 * float(count) / float(habitants), 1)
        rows.append(
            {
                "Territoire": name, "Code": code, "Commune": names.get(code, code),
                "Personnes": count, "Affiché": label,
                "Habitants": pd.NA if pd.isna(habitants) else int(habitants),
                "Pour 1 000 habitants": rate,
            }
        )  # fmt: skip
    geoms = np.asarray(layer.geometry.to_numpy(), dtype=object)
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    tolerance = max(xmax - xmin, ymax - ymin) / 400  # a few hundred metres at most
    simple = shapely.coverage_simplify(geoms, tolerance) if len(geoms) else geoms
    outlines = pd.DataFrame(
        {"Code": layer["code"].astype(str).to_numpy(), "geometry": list(simple)}, dtype=object
    )
    return frame(rows, MAP_COLUMNS), outlines


def _bounds(p: Programme, period: str) -> tuple[date, date]:
    if period == PROGRAMME_PERIOD:
        return p.start, p.end
    return period_bounds(period)


def _funnel_table(tables: FunnelTables, p: Programme) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for name in p.territories:
        part = tables.steps[tables.steps["territory"] == name]
        previous: Any = pd.NA
        for step, count, label in zip(part["step"], part["count"], part["label"], strict=True):
            share = (
                float(count) / float(previous)
                if not pd.isna(count) and not pd.isna(previous) and previous
                else pd.NA
            )
            rows.append(
                {
                    "Territoire": name,
                    "Étape": step,
                    "Personnes": count,
                    "Affiché": label,
                    "Part de l'étape précédente": pd.NA if step == STEPS[0] else share,
                }
            )
            previous = count
    return frame(rows, FUNNEL_COLUMNS)


_MONTHS_FR = (
    "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
    "octobre", "novembre", "décembre",
)  # fmt: skip


def month_fr(year: int, month: int) -> str:
    """``"mars 2027"``."""
    return f"{_MONTHS_FR[month - 1]} {year}"


def reach_date(target: int, done: int, start: date, end: date, as_of: date) -> str:
    """When ``target`` would be reached at the pace of ``done`` from ``start`` to ``as_of``.

    ``"déjà atteinte"`` when done; ``""`` when the period has not begun; ``"non atteinte
    au rythme actuel"`` when the pace does not reach it by ``end`` (or nothing is done).

    >>> reach_date(100, 30, date(2026, 1, 1), date(2026, 12, 31), date(2026, 3, 31))
    'octobre 2026'
    >>> reach_date(100, 10, date(2026, 1, 1), date(2026, 12, 31), date(2026, 3, 31))
    'non atteinte au rythme actuel'
    """
    if done >= target:
        return "déjà atteinte"
    if as_of < start:
        return ""
    elapsed = (min(as_of, end).year - start.year) * 12 + min(as_of, end).month - start.month + 1
    if done <= 0 or elapsed <= 0:
        return "non atteinte au rythme actuel"
    months = math.ceil(target * elapsed / done)
    index = start.year * 12 + start.month - 1 + months - 1
    year, month = divmod(index, 12)
    if (year, month + 1) > (end.year, end.month):
        return "non atteinte au rythme actuel"
    return month_fr(year, month + 1)


def _targets(
    ws: Workspace,
    p: Programme,
    codes: dict[str, frozenset[str]],
    typer: Any,
    settings: Settings,
    latest: str | None,
) -> pd.DataFrame:
    as_of = _month_end(date.fromisoformat(f"{latest}-01")) if latest is not None else p.start
    rows = []
    done_by: dict[str, pd.DataFrame] = {}  # one funnel per period, every territory at once
    for t in p.targets:
        first, last = period_bounds(t.period)
        if t.period not in done_by:
            tables = funnel(
                ws, codes, first=f"{first:%Y-%m}", last=f"{last:%Y-%m}", zone_typer=typer,
                settings=settings, trends=False,
            )  # fmt: skip
            done_by[t.period] = tables.steps.set_index(["territory", "step"])
        done = done_by[t.period].loc[(t.territory, t.step), "count"]
        rows.append(
            {
                "Territoire": t.territory,
                "Étape": t.step,
                "Période": t.period,
                "Cible": t.value,
                "Réalisé": done,
                "Avancement": pd.NA if pd.isna(done) else float(done) / t.value,
                "Date d'atteinte estimée": ""
                if pd.isna(done)
                else reach_date(t.value, int(done), first, last, as_of),
            }
        )
    return frame(rows, TARGET_COLUMNS)


def _month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


_BANDS = {"pop_1529": "jeunes de 15 à 29 ans", "pop_1524": "jeunes de 15 à 24 ans"}


def _rates(
    ws: Workspace,
    p: Programme,
    codes: dict[str, frozenset[str]],
    funnel_table: pd.DataFrame,
    k: int,
) -> tuple[pd.DataFrame, list[str], list[dict[str, str]]]:
    """Rates per 1,000 with their named denominators (census by commune), and notes."""
    notes: list[str] = []
    sources: list[dict[str, str]] = []
    ages = ws.read_table(AGE_TABLE) if ws.has(AGE_TABLE) else None
    band = next((c for c in _BANDS if ages is not None and c in ages
                 and pd.to_numeric(ages[c], errors="coerce").notna().any()), None)  # fmt: skip
    info = ws.layers().get(AGE_TABLE)
    source = f"INSEE, recensement ({info.source})" if info is not None else ""
    vintage = info.vintage if info is not None else ""
    if ages is None or band is None:
        notes.append(
            "Taux pour 1 000 non calculés : la population par âge de l'INSEE n'est pas "
            "importée (territory import population, base infracommunale ou communale)."
        )
    else:
        sources.append({"Donnée": f"Population : {_BANDS[band]}", "Source": source,
                        "Millésime": vintage})  # fmt: skip
    neet = ages is not None and "neet_1524" in ages and ages["neet_1524"].notna().any()
    if ages is not None and not neet:
        notes.append(
            "Ratio « jeunes en contact / jeunes ni en emploi ni en études » non calculé : "
            "le fichier de population importé ne donne pas les 15-24 ans non insérés."
        )
    if neet:
        sources.append({"Donnée": "Population : 15-24 ans ni en emploi ni en études",
                        "Source": source, "Millésime": vintage})  # fmt: skip
    indicators = [
        ("Jeunes en contact pour 1 000 " + _BANDS.get(band or "pop_1529", ""), "contact", band),
        ("Entrées en parcours pour 1 000 " + _BANDS.get(band or "pop_1529", ""),
         "entrée en parcours", band),
    ]  # fmt: skip
    if neet:
        indicators.append(
            ("Jeunes en contact pour 1 000 jeunes de 15-24 ans ni en emploi ni en études",
             "contact", "neet_1524")
        )  # fmt: skip
    inhabitants = _inhabitants(ws)
    info_c = _population_layer(ws) if inhabitants is not None else None
    if inhabitants is not None and info_c is not None:
        label = "Jeunes en contact pour 1 000 habitants"
        indicators.append((label, "contact", "habitants"))
        sources.append({"Donnée": "Population municipale (toutes les classes d'âge)",
                        "Source": info_c.source, "Millésime": info_c.vintage})  # fmt: skip
    rows = []
    for name in p.territories:
        figures = None
        if ages is not None:
            figures = ages[ages["code"].astype(str).isin(codes[name])]
            missing = len(codes[name]) - figures["code"].nunique()
            if missing:
                notes.append(
                    f"{name} : {missing} commune(s) sans population par âge : dénominateur partiel."
                )
        for label, step, column in indicators:
            numerator = funnel_table.loc[
                (funnel_table["Territoire"] == name) & (funnel_table["Étape"] == step),
                "Personnes",
            ].iloc[0]
            denominator: Any = pd.NA
            if column == "habitants" and inhabitants is not None:
                denominator = int(inhabitants[inhabitants.index.isin(codes[name])].sum())
            elif figures is not None and column is not None:
                total = pd.to_numeric(figures[column], errors="coerce").sum(min_count=1)
                denominator = pd.NA if pd.isna(total) else round(float(total))
            rate: Any = pd.NA
            if not pd.isna(denominator) and denominator >= k and not pd.isna(numerator):
                rate = round(1000 * float(numerator) / float(denominator), 1)
            rows.append(
                {
                    "Territoire": name,
                    "Indicateur": label,
                    "Numérateur": numerator,
                    "Dénominateur": denominator,
                    "Nom du dénominateur": _DENOMINATORS.get(
                        column or "", "population par âge (non importée)"
                    ),
                    "Source": (
                        info_c.source
                        if column == "habitants" and info_c is not None
                        else (source if column else "")
                    ),
                    "Millésime": (
                        info_c.vintage
                        if column == "habitants" and info_c is not None
                        else (vintage if column else "")
                    ),
                    "Pour 1 000": rate,
                }
            )
    return frame(rows, RATE_COLUMNS), notes, sources


COMMUNE_TABLE = "commune_table"  # territory.ingest.COMMUNE_TABLE (a floor above)
_DENOMINATORS = {
    **_BANDS,
    "neet_1524": "jeunes de 15 à 24 ans ni en emploi ni en études",
    "habitants": "population municipale (habitants)",
}


def _population_layer(ws: Workspace) -> Any:
    """Where the communes' population comes from: the COG table when imported, else the layer."""
    layers = ws.layers()
    return layers.get(COMMUNE_TABLE) or layers["communes"]


def _inhabitants(ws: Workspace) -> pd.Series | None:
    """Legal population of each commune (the communes layer), None when it has none."""
    if not ws.has("communes"):
        return None
    if "population" not in set(ws.read_table("communes", where="0").columns):
        return None
    table = ws.read_table("communes", columns=["code", "population"])
    values = pd.to_numeric(table["population"], errors="coerce")
    if values.isna().all():
        return None
    return pd.Series(values.fillna(0).to_numpy(), index=table["code"].astype(str))


def _zone_typer(ws: Workspace) -> Any:
    """Whether each cell's centre is in a QPV, each commune rural (None: neither imported)."""
    has_qpv = ws.has("qpv")
    rural: set[str] = set()
    if ws.has("communes"):
        columns = set(ws.read_table("communes", where="0").columns)
        if "densite" in columns:
            communes = ws.read_table("communes", columns=["code", "densite"])
            level = pd.to_numeric(communes["densite"], errors="coerce")
            rural = set(communes.loc[level.between(5, 7), "code"].astype(str))
    if not has_qpv and not rural:
        return None
    qpv = load_zones(ws, "qpv") if has_qpv else None

    def typer(
        cells: npt.NDArray[np.object_], communes: npt.NDArray[np.object_]
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        in_qpv = np.zeros(len(cells), dtype=bool)
        if qpv is not None and len(qpv):
            inverse, distinct = pd.factorize(cells.astype(str))
            found = cells_in_zones(np.asarray(distinct, dtype=object), qpv, kind="qpv")
            in_qpv = np.array([z is not None for z in found], dtype=bool)[inverse]
        return in_qpv, pd.Index(communes.astype(str)).isin(list(rural))

    return typer


def _rounds(
    ws: Workspace, p: Programme, codes: dict[str, frozenset[str]], first: date, last: date
) -> pd.DataFrame:
    """Visits planned and done (feedback recorded) and field hours per territory.

    Counts of planned visits, not of people: the last saved version of each week (of each
    territory planned: :mod:`territory.rounds.plan_tables`), the
    visits starting in the period, placed in the commune under their place.
    """
    empty = frame(
        [{"Territoire": n, "Visites prévues": 0, "Visites faites": 0, "Heures de terrain": 0.0}
         for n in p.territories], ROUND_COLUMNS,
    )  # fmt: skip
    if not (ws.has(PLANS) and ws.has(VISITS) and ws.has("communes")):
        return empty
    plans = ws.read_table(PLANS, columns=["week", "territory", "version"])
    key = ["week", "territory", "version"]  # a week has its versions per territory
    latest = plans.groupby(key[:2], as_index=False)["version"].max()
    visits = ws.read_table(VISITS).merge(latest, on=key).reset_index(drop=True)
    if visits.empty:
        return empty
    visits["start"] = visits["start"].map(datetime.fromisoformat)
    visits["end"] = visits["end"].map(datetime.fromisoformat)
    day = visits["start"].map(lambda moment: moment.date())
    visits = visits[(day >= first) & (day <= last)].reset_index(drop=True)
    if visits.empty:
        return empty
    import geopandas as gpd

    points = gpd.GeoDataFrame(
        visits[[]], geometry=gpd.points_from_xy(visits["lon"], visits["lat"]), crs="EPSG:4326"
    )
    communes = ws.read_layer("communes", columns=["code"]).to_crs("EPSG:4326")
    joined = gpd.sjoin(points, communes, how="left", predicate="within")
    commune = joined[~joined.index.duplicated()]["code"].reindex(visits.index).astype(str)
    done_labels = recorded_visits(ws)
    done = np.array(
        [visit_label(str(row["week"]), row) in done_labels for _, row in visits.iterrows()]
    )
    hours = (visits["end"] - visits["start"]).map(lambda d: d.total_seconds() / 3600)
    rows = []
    for name in p.territories:
        inside = commune.isin(codes[name]).to_numpy()
        rows.append(
            {
                "Territoire": name,
                "Visites prévues": int(inside.sum()),
                "Visites faites": int((inside & done).sum()),
                "Heures de terrain": round(float(hours[inside & done].sum()), 1),
            }
        )
    return frame(rows, ROUND_COLUMNS)


def _sources(ws: Workspace, extra: list[dict[str, str]]) -> list[dict[str, str]]:
    layers = ws.layers()
    rows = []
    for table, what in (
        ("contacts", "Contacts de l'équipe (pseudonymisés)"),
        (PARCOURS, "Parcours (export de l'équipe, pseudonymisé)"),
        ("communes", "Communes (contours)"),
        ("qpv", "Quartiers prioritaires (QPV)"),
        ("density_classes", "Grille communale de densité (INSEE)"),
    ):
        if table in layers:
            rows.append({"Donnée": what, "Source": layers[table].source,
                         "Millésime": layers[table].vintage})  # fmt: skip
    return rows + extra


def comparison_json(c: Comparison) -> dict[str, Any]:
    """What ``territory compare --json`` prints: every table as records, plain JSON."""

    def plain(value: Any) -> Any:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating):
            return float(value)
        return value

    def records(table: pd.DataFrame) -> list[dict[str, Any]]:
        return [
            {c: plain(v) for c, v in zip(table.columns, row, strict=True)}
            for row in table.itertuples(index=False)
        ]

    return {
        "programme": c.programme.to_dict(),
        "period": c.period,
        "funnel": records(c.funnel),
        "targets": records(c.targets),
        "rates": records(c.rates),
        "zones": records(c.zones),
        "trends": records(c.trends),
        "exits": records(c.exits),
        "rounds": records(c.rounds),
        "notes": list(c.notes),
        "sources": records(c.sources),
        "maps": records(c.maps),
    }
