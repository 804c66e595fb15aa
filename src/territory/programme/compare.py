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

from dataclasses import dataclass
from typing import Any

import pandas as pd

from territory.programme.model import Programme, load_programme
from territory.settings import Settings
from territory.store import Workspace

__all__ = ["PROGRAMME_PERIOD", "Comparison", "compare", "comparison_json", "periods"]

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
ZONE_TYPES = ("QPV", "rural", "autre")


@dataclass(frozen=True)
class Comparison:
    """The protected tables of one programme over one period (see the module's docs)."""

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
    """
    p = load_programme(ws, programme)
    chosen = period or PROGRAMME_PERIOD
    return Comparison(
        programme=p,
        period=chosen,
        funnel=frame([], FUNNEL_COLUMNS),
        targets=frame([], TARGET_COLUMNS),
        rates=frame([], RATE_COLUMNS),
        zones=frame([], ZONE_COLUMNS),
        trends=frame([], TREND_COLUMNS),
        exits=frame([], EXIT_COLUMNS),
        rounds=frame([], ROUND_COLUMNS),
        notes=(),
        sources=frame([], SOURCE_COLUMNS),
    )


def comparison_json(c: Comparison) -> dict[str, Any]:
    """What ``territory compare --json`` prints: every table as records, plain JSON."""

    def records(table: pd.DataFrame) -> list[dict[str, Any]]:
        out = table.astype(object).where(table.notna(), None)
        return [dict(zip(out.columns, row, strict=True)) for row in out.itertuples(index=False)]

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
    }
