"""The French tables of the steering committee's outputs, read from a comparison.

The « Comparer » page, the PDF pack and the XLSX lay out these same tables. Every person
count is the published value ``compare`` returns (its « Affiché » text: ``1 230``,
``secret`` or ``< k``); a share, a progress or a rate is shown only as ``compare`` gives
it, from published values, and « — » where it gives none.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from territory._fr import MONTHS_SHORT_FR, format_number

if TYPE_CHECKING:
    from territory.programme.compare import Comparison

__all__ = [
    "MISSING",
    "RateCard",
    "TargetCard",
    "exits_side_by_side",
    "funnel_by_territory",
    "funnel_of",
    "funnel_side_by_side",
    "inputs_hash",
    "number_text",
    "percent_text",
    "period_label",
    "rate_cards",
    "rates_display",
    "rounds_display",
    "rounds_table",
    "target_cards",
    "targets_display",
    "territory_notes",
    "zones_side_by_side",
]

MISSING = "—"
"""What a cell shows when ``compare`` gives no value (no share, no rate, no target)."""

_QUARTERS = {"1": "1er", "2": "2e", "3": "3e", "4": "4e"}


def percent_text(value: object) -> str:
    """``0.219`` → ``"22 %"`` (narrow no-break space); « — » for a missing value.

    Examples
    --------
    >>> percent_text(0.219), percent_text(None)
    ('22\u202f%', '—')
    """
    if value is None or pd.isna(value):
        return MISSING
    return f"{format_number(100 * float(value))}\u202f%"  # type: ignore[arg-type]


def number_text(value: object, decimals: int = 0) -> str:
    """A French number (``1 230``, ``123,5``); « — » for a missing value.

    Examples
    --------
    >>> number_text(1230), number_text(123.46, 1), number_text(None)
    ('1 230', '123,5', '—')
    """
    if value is None or pd.isna(value):
        return MISSING
    return format_number(float(value), decimals=decimals)  # type: ignore[arg-type]


def period_label(comparison: Comparison) -> str:
    """The compared period in words: « année 2026 », « 1er trimestre 2026 », « programme… ».

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> from datetime import date
    >>> p = NS(start=date(2025, 1, 1), end=date(2027, 12, 31))
    >>> period_label(NS(period="2026-T1", programme=p))
    '1er trimestre 2026'
    >>> period_label(NS(period="programme", programme=p))
    'tout le programme (janv. 2025 – déc. 2027)'
    """
    period = comparison.period
    if period == "programme":
        start, end = comparison.programme.start, comparison.programme.end
        return (
            f"tout le programme ({MONTHS_SHORT_FR[start.month - 1]} {start.year} – "
            f"{MONTHS_SHORT_FR[end.month - 1]} {end.year})"
        )
    year, _, quarter = period.partition("-T")
    if quarter:
        return f"{_QUARTERS.get(quarter, quarter + 'e')} trimestre {year}"
    return f"année {year}"


def _of(frame: pd.DataFrame, territory: str) -> pd.DataFrame:
    return frame[frame["Territoire"] == territory]


def funnel_of(comparison: Comparison, territory: str) -> pd.DataFrame:
    """One territory's funnel: Étape, Personnes (published text), Part de l'étape précédente."""
    rows = _of(comparison.funnel, territory)
    return pd.DataFrame(
        {
            "Étape": rows["Étape"].astype(str).to_list(),
            "Personnes": rows["Affiché"].astype(str).to_list(),
            "Part de l'étape précédente": [
                percent_text(v) for v in rows["Part de l'étape précédente"]
            ],
        }
    )


def funnel_side_by_side(comparison: Comparison) -> pd.DataFrame:
    """Steps in rows, territories in columns: ``"1 230 (22 %)"`` (the share of the step above)."""
    steps = list(dict.fromkeys(comparison.funnel["Étape"].astype(str)))
    table = pd.DataFrame({"Étape": steps})
    for territory in comparison.programme.territories:
        rows = _of(comparison.funnel, territory).set_index("Étape")
        cells = []
        for step in steps:
            if step not in rows.index:
                cells.append(MISSING)
                continue
            shown = str(rows.at[step, "Affiché"])
            share = rows.at[step, "Part de l'étape précédente"]
            cells.append(shown if pd.isna(share) else f"{shown} ({percent_text(share)})")
        table[territory] = cells
    return table


def funnel_by_territory(comparison: Comparison) -> pd.DataFrame:
    """Territories in rows, steps in columns: ``"1 230 (22 %)"`` (fits A4 with 12 territories)."""
    wide = funnel_side_by_side(comparison)
    table = wide.set_index("Étape").T.reset_index(names="Territoire")
    table.columns.name = None
    return table


def targets_display(comparison: Comparison) -> pd.DataFrame:
    """Targets as texts: Territoire, Cible de, Cible, Réalisé, Avancement, Atteinte estimée."""
    targets = comparison.targets
    return pd.DataFrame(
        {
            "Territoire": targets["Territoire"].astype(str),
            "Cible de": [
                f"{s} {p}" for s, p in zip(targets["Étape"], targets["Période"], strict=True)
            ],
            "Cible": [number_text(v) for v in targets["Cible"]],
            "Réalisé": ["secret" if pd.isna(v) else number_text(v) for v in targets["Réalisé"]],
            "Avancement": [percent_text(v) for v in targets["Avancement"]],
            "Atteinte estimée": [
                str(v) or ("atteinte" if _reached(a) else MISSING)
                for v, a in zip(
                    targets["Date d'atteinte estimée"], targets["Avancement"], strict=True
                )
            ],
        }
    )


def rates_display(comparison: Comparison) -> pd.DataFrame:
    """Rates as texts, each with its denominator's name and count, source and vintage."""
    rates = comparison.rates
    return pd.DataFrame(
        {
            "Territoire": rates["Territoire"].astype(str),
            "Indicateur": rates["Indicateur"].astype(str),
            "Pour 1 000": [number_text(v, 1) for v in rates["Pour 1 000"]],
            "Dénominateur": [
                f"{name} : {number_text(d)}"
                for name, d in zip(rates["Nom du dénominateur"], rates["Dénominateur"], strict=True)
            ],
            "Source, millésime": [
                _source_text(s, v) for s, v in zip(rates["Source"], rates["Millésime"], strict=True)
            ],
        }
    )


def _source_text(source: object, vintage: object) -> str:
    source, vintage = str(source or "").strip(), str(vintage or "").strip()
    if not source:
        return "aucune : dénominateur non importé"
    return f"{source}, millésime {vintage}" if vintage else source


def rounds_display(comparison: Comparison) -> pd.DataFrame:
    """:func:`rounds_table` as texts (French numbers, share in %)."""
    rounds = rounds_table(comparison)
    return pd.DataFrame(
        {
            "Territoire": rounds["Territoire"].astype(str),
            "Visites prévues": [number_text(v) for v in rounds["Visites prévues"]],
            "Visites faites": [number_text(v) for v in rounds["Visites faites"]],
            "Part faite": [percent_text(v) for v in rounds["Part des visites faites"]],
            "Heures de terrain": [number_text(v, 1) for v in rounds["Heures de terrain"]],
        }
    )


STEP_TITLES = {
    "contact": "Jeunes en contact",
    "hors radars": "Jeunes hors radars",
    "entrée en parcours": "Entrées en parcours",
    "accompagné": "Jeunes accompagnés",
    "sortie": "Sorties de parcours",
}
"""A funnel step as a card's title says it (the tables keep the steps' own names)."""


def step_title(step: str) -> str:
    """The card title of a funnel step (« Jeunes en contact »), the step itself if unknown."""
    return STEP_TITLES.get(step, step[:1].upper() + step[1:])


@dataclass(frozen=True)
class TargetCard:
    """A target with its reference value, as a card shows it (texts, French)."""

    step: str
    period: str
    target: str
    done: str
    progress: str
    progress_value: float | None  # 0-1+, for a bar; None when hidden
    reached_on: str


def target_cards(comparison: Comparison, territory: str) -> list[TargetCard]:
    """The territory's targets: cible, réalisé (published), avancement, estimated date."""
    cards = []
    for row in _of(comparison.targets, territory).itertuples(index=False):
        step, period, goal, done, progress, when = row[1:7]
        cards.append(
            TargetCard(
                step=str(step),
                period=str(period),
                target=number_text(goal),
                done=number_text(done) if not pd.isna(done) else "secret",
                progress=percent_text(progress),
                progress_value=None if pd.isna(progress) else float(progress),
                reached_on=str(when) or ("atteinte" if _reached(progress) else ""),
            )
        )
    return cards


def _reached(progress: object) -> bool:
    return not pd.isna(progress) and float(progress) >= 1  # type: ignore[arg-type]


@dataclass(frozen=True)
class RateCard:
    """A rate per 1,000 with its denominator named, as a card shows it (texts, French)."""

    indicator: str
    value: str  # "58,6" or the reason it is not shown
    shown: bool
    numerator: str
    denominator: str
    denominator_name: str
    source: str  # "INSEE, recensement… (IRIS), millésime 2021", or why there is none


def rate_cards(comparison: Comparison, territory: str, *, k: int | None = None) -> list[RateCard]:
    """The territory's rates per 1,000, each with its denominator's name, source and vintage.

    A rate ``compare`` does not give (denominator missing or under k) says why instead of
    a value.
    """
    cards = []
    under = f"inférieur à {k}" if k else "trop petit"
    for row in _of(comparison.rates, territory).itertuples(index=False):
        indicator, numerator, denominator, name, source, vintage, per_1000 = row[1:8]
        shown = not pd.isna(per_1000)
        if shown:
            value = format_number(float(per_1000), decimals=1)
        elif pd.isna(denominator):
            value = f"non calculé : dénominateur absent ou {under}"
        else:
            value = "non calculé : numérateur masqué"
        cards.append(
            RateCard(
                indicator=str(indicator),
                value=value,
                shown=shown,
                numerator=number_text(numerator) if not pd.isna(numerator) else "secret",
                denominator=number_text(denominator),
                denominator_name=str(name),
                source=_source_text(source, vintage),
            )
        )
    return cards


def zones_side_by_side(comparison: Comparison) -> pd.DataFrame:
    """Territoire and Étape in rows, QPV / rural / autre in columns (published texts)."""
    zones = comparison.zones
    if zones.empty:
        return pd.DataFrame(columns=["Territoire", "Étape", "QPV", "rural", "autre"])
    table = zones.pivot_table(
        index=["Territoire", "Étape"],
        columns="Type de zone",
        values="Affiché",
        aggfunc="first",
        sort=False,
    ).reset_index()
    table.columns.name = None
    for kind in ("QPV", "rural", "autre"):
        if kind not in table.columns:
            table[kind] = MISSING
    order = {t: i for i, t in enumerate(comparison.programme.territories)}
    table = table.sort_values("Territoire", key=lambda s: s.map(order), kind="stable")
    return table[["Territoire", "Étape", "QPV", "rural", "autre"]].fillna(MISSING)


def exits_side_by_side(comparison: Comparison) -> pd.DataFrame:
    """Territories in rows, exit classes in columns (published texts)."""
    exits = comparison.exits
    classes = list(dict.fromkeys(exits["Classe de sortie"].astype(str)))
    rows = []
    for territory in comparison.programme.territories:
        mine = _of(exits, territory).set_index("Classe de sortie")["Affiché"]
        rows.append([territory, *(str(mine.get(c, MISSING)) for c in classes)])
    return pd.DataFrame(rows, columns=["Territoire", *classes])


def rounds_table(comparison: Comparison) -> pd.DataFrame:
    """Visits planned and done, the share done and field hours, one row a territory.

    These count plans, not people: they are not protected and are shown as they are.
    """
    table = comparison.rounds.copy()
    planned = pd.to_numeric(table["Visites prévues"], errors="coerce")
    done = pd.to_numeric(table["Visites faites"], errors="coerce")
    share = (done / planned.where(planned > 0)).astype("Float64")
    table.insert(3, "Part des visites faites", share)
    return table


def territory_notes(comparison: Comparison, territory: str) -> list[str]:
    """The notes that name ``territory``, for its own page."""
    return [n for n in comparison.notes if territory in n]


def inputs_hash(comparison: Comparison) -> str:
    """SHA-256 of the comparison's published tables (its JSON form): the pack's fingerprint.

    The same comparison gives the same hash; any published value, note, source, period or
    programme setting that changes changes it.
    """
    from territory.programme.compare import comparison_json

    payload = json.dumps(
        comparison_json(comparison), sort_keys=True, ensure_ascii=False, default=_plain
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _plain(value: Any) -> str:
    return str(value)
