"""The programme model: territories, dates and targets of an outreach programme.

A programme (Dest1's hubs, La Locomotive's four territories) groups territories already
defined in the workspace (:mod:`territory.territories`; a territory may span
départements), runs from a start to an end date, and sets targets per territory, funnel
step and period (a year ``"2026"`` or a quarter ``"2026-T1"``).

Programmes are stored in the workspace through the public
:class:`~territory.store.Workspace` API, like territories: the attribute table
``programmes`` (one row per programme and territory) and ``programme_targets`` (one row
per target). Validation reports every problem at once (:class:`ValidationError`, French).

Examples
--------
>>> import tempfile, geopandas as gpd, shapely
>>> from pathlib import Path
>>> from territory.territories import define_territory
>>> ws = Workspace.create(Path(tempfile.mkdtemp()) / "w.gpkg", name="Essai")
>>> communes = gpd.GeoDataFrame({"code": ["00001", "00002"], "epci": ["1", "2"]},
...     geometry=[shapely.box(i, 46, i + 1, 47) for i in range(2)], crs="EPSG:4326")
>>> ws.write_layer("communes", communes, source="test", vintage="2026")
>>> _ = define_territory(ws, "Nord", communes=["00001"])
>>> _ = define_territory(ws, "Sud", communes=["00002"])
>>> p = define_programme(ws, "Dest", territories=["Nord", "Sud"], start=date(2025, 1, 1),
...     end=date(2026, 12, 31), targets=[Target("Nord", "entrée en parcours", "2026", 100)])
>>> load_programme(ws, "Dest").targets[0].value
100
>>> try:
...     define_programme(ws, "", territories=["Est"], start=date(2026, 1, 1),
...                      end=date(2025, 1, 1))
... except ValidationError as error:
...     print(len(error.problems))
3
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from territory._errors import ValidationError
from territory.privacy import funnel
from territory.store import Workspace
from territory.territories import list_territories

__all__ = [
    "EXIT_CLASSES",
    "FUNNEL_STEPS",
    "Programme",
    "Target",
    "define_programme",
    "delete_programme",
    "list_programmes",
    "load_programme",
    "period_bounds",
]

FUNNEL_STEPS: tuple[str, ...] = funnel.STEPS
"""The funnel, in order: each person counts in every step up to the furthest one reached."""
EXIT_CLASSES: tuple[str, ...] = funnel.EXIT_CLASSES
"""The exit classes funders use (emploi durable: CDI, CDD or intérim of 6 months or more)."""
TABLE = "programmes"
TARGETS = "programme_targets"
_COLUMNS = ["name", "territory", "start", "end"]
_TARGET_COLUMNS = ["programme", "territory", "step", "period", "value"]
_PERIOD = re.compile(r"^(\d{4})(?:-T([1-4]))?$")


@dataclass(frozen=True)
class Target:
    """A target: ``value`` people reaching funnel ``step`` in ``territory`` during ``period``.

    ``period`` is a year (``"2026"``) or a calendar quarter (``"2026-T1"``).
    """

    territory: str
    step: str
    period: str
    value: int


@dataclass(frozen=True)
class Programme:
    """A programme: its territories (in display order), dates and targets."""

    name: str
    territories: tuple[str, ...]
    start: date
    end: date
    targets: tuple[Target, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (``territory programme list --json``)."""
        return {
            "name": self.name,
            "territories": list(self.territories),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "targets": [
                {"territory": t.territory, "step": t.step, "period": t.period, "value": t.value}
                for t in self.targets
            ],
        }


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of a period (``"2026"`` or ``"2026-T1"``); French error otherwise.

    >>> period_bounds("2026-T2")
    (datetime.date(2026, 4, 1), datetime.date(2026, 6, 30))
    """
    match = _PERIOD.match(str(period).strip())
    if not match:
        raise ValidationError(
            f"période « {period} » illisible (attendu : une année « 2026 » "
            "ou un trimestre « 2026-T1 »)"
        )
    year = int(match.group(1))
    if match.group(2) is None:
        return date(year, 1, 1), date(year, 12, 31)
    quarter = int(match.group(2))
    first = date(year, 3 * quarter - 2, 1)
    last = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return first, date.fromordinal(last.toordinal() - 1)


def define_programme(
    ws: Workspace,
    name: str,
    *,
    territories: Iterable[str],
    start: date,
    end: date,
    targets: Iterable[Target] = (),
    replace: bool = False,
) -> Programme:
    """Validate and store a programme in ``ws``.

    Raises
    ------
    ValidationError
        With every problem at once: empty name, name already used (unless ``replace``),
        no territory or unknown ones, end before start, and each target whose territory
        is not in the programme, whose step is not a funnel step, whose period is
        unreadable or outside the programme's dates, or whose value is not a positive
        whole number.
    """
    name = (name or "").strip()
    names = tuple(dict.fromkeys(str(t).strip() for t in territories if str(t).strip()))
    targets = tuple(targets)
    problems: list[str] = []
    if not name:
        problems.append("nom du programme vide : donnez-lui un nom")
    existing = list_programmes(ws)
    if name and not replace and any(p.name == name for p in existing):
        problems.append(
            f"le programme « {name} » existe déjà : choisissez un autre nom ou supprimez-le d'abord"
        )
    known = {t.name for t in list_territories(ws)}
    if not names:
        problems.append("aucun territoire : choisissez au moins un territoire défini")
    unknown = [t for t in names if t not in known]
    if unknown:
        defined = ", ".join(f"« {t} »" for t in sorted(known)) or "aucun"
        problems.append(
            f"territoires inconnus : {', '.join(unknown)} (territoires définis : {defined})"
        )
    if end < start:
        problems.append(f"la fin ({end:%d/%m/%Y}) précède le début ({start:%d/%m/%Y})")
    for number, target in enumerate(targets, start=1):
        problems += [f"cible {number} : {p}" for p in _target_problems(target, names, start, end)]
    if problems:
        raise ValidationError(problems)
    programme = Programme(name, names, start, end, targets)
    _write(ws, [*(p for p in existing if p.name != name), programme])
    return programme


def list_programmes(ws: Workspace) -> list[Programme]:
    """The programmes stored in ``ws``, in definition order (empty when none)."""
    if not ws.has(TABLE):
        return []
    rows = ws.read_table(TABLE, columns=_COLUMNS)
    targets: dict[str, list[Target]] = {}
    if ws.has(TARGETS):
        for t in ws.read_table(TARGETS, columns=_TARGET_COLUMNS).itertuples(index=False):
            targets.setdefault(str(t.programme), []).append(
                Target(str(t.territory), str(t.step), str(t.period), int(t.value))
            )
    found: dict[str, dict[str, Any]] = {}
    for row in rows.itertuples(index=False):
        entry = found.setdefault(
            str(row.name),
            {
                "territories": [],
                "start": date.fromisoformat(str(row.start)),
                "end": date.fromisoformat(str(row.end)),
            },
        )
        entry["territories"].append(str(row.territory))
    return [
        Programme(
            name,
            tuple(entry["territories"]),
            entry["start"],
            entry["end"],
            tuple(targets.get(name, ())),
        )
        for name, entry in found.items()
    ]


def load_programme(ws: Workspace, name: str) -> Programme:
    """The programme ``name``, or a French error listing the defined ones."""
    programmes = list_programmes(ws)
    for programme in programmes:
        if programme.name == name:
            return programme
    names = ", ".join(f"« {p.name} »" for p in programmes) or "aucun"
    raise ValidationError(
        f"programme « {name} » inconnu dans {ws.label} (programmes définis : {names})"
    )


def delete_programme(ws: Workspace, name: str) -> None:
    """Delete the programme ``name`` (a French error if it is not defined)."""
    load_programme(ws, name)
    _write(ws, [p for p in list_programmes(ws) if p.name != name])


# ------------------------------------------------------------------------------ private
def _target_problems(target: Target, names: tuple[str, ...], start: date, end: date) -> list[str]:
    problems = []
    if target.territory not in names:
        problems.append(f"territoire « {target.territory} » hors du programme")
    if target.step not in FUNNEL_STEPS:
        problems.append(f"étape « {target.step} » inconnue (attendu : {', '.join(FUNNEL_STEPS)})")
    try:
        first, last = period_bounds(target.period)
    except ValidationError as error:
        problems.append(str(error))
    else:
        if last < start or first > end:
            problems.append(
                f"période {target.period} hors des dates du programme "
                f"({start:%d/%m/%Y} – {end:%d/%m/%Y})"
            )
    if isinstance(target.value, bool) or not isinstance(target.value, int) or target.value <= 0:
        problems.append(f"valeur « {target.value} » : un nombre entier de personnes supérieur à 0")
    return problems


def _write(ws: Workspace, programmes: list[Programme]) -> None:
    rows = [
        {"name": p.name, "territory": t, "start": p.start.isoformat(), "end": p.end.isoformat()}
        for p in programmes
        for t in p.territories
    ]
    targets = [
        {
            "programme": p.name,
            "territory": t.territory,
            "step": t.step,
            "period": t.period,
            "value": int(t.value),
        }
        for p in programmes
        for t in p.targets
    ]
    stamp = date.today().isoformat()
    source = "programmes du comité de pilotage (définis par l'équipe)"
    ws.write_table(
        TABLE, pd.DataFrame(rows, columns=_COLUMNS).astype("str"), source=source, vintage=stamp
    )
    table = pd.DataFrame(targets, columns=_TARGET_COLUMNS)
    table = table.astype(dict.fromkeys(_TARGET_COLUMNS[:-1], "str") | {"value": "int64"})
    ws.write_table(TARGETS, table, source=source, vintage=stamp)
