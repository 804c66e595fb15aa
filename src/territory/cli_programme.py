"""The steering committee's commands: ``territory programme …`` and ``territory compare``.

Kept apart from :mod:`territory.cli` (which registers them with :func:`add_commands`)
so that the programme's commands stay one file; same conventions: heavy imports inside
each command, a French error on one line and exit code 2 (raised as
:class:`~territory._errors.TerritoryError`, printed by :func:`territory.cli.main`).

``territory programme define NOM --territoires A B --debut 2025-01-01 --fin 2026-12-31
[--cible "A:entrée en parcours:2026:120" …] --workspace W`` stores a programme;
``territory programme list [--json]`` and ``territory programme delete NOM`` list and
delete them; ``territory compare --workspace W --programme NOM [--periode P] [--json]``
prints the protected comparison (a French table, or the JSON of
:func:`territory.programme.comparison_json`).
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import Any

from territory._errors import ValidationError
from territory.settings import Settings

__all__ = ["add_commands", "parse_target", "workspace_argument"]

EXIT_OK = 0


def add_commands(sub: Any) -> None:
    """Register ``programme`` and ``compare`` on the ``territory`` sub-command parser."""
    prog = sub.add_parser(
        "programme", help="programmes du comité de pilotage (territoires, cibles)"
    )
    actions = prog.add_subparsers(dest="action", required=True, metavar="ACTION")
    define = actions.add_parser("define", help="définir (enregistrer) un programme")
    define.add_argument("name", metavar="NOM")
    define.add_argument("--territoires", nargs="+", required=True, metavar="TERRITOIRE")
    define.add_argument("--debut", required=True, metavar="AAAA-MM-JJ", help="début du programme")
    define.add_argument("--fin", required=True, metavar="AAAA-MM-JJ", help="fin du programme")
    define.add_argument(
        "--cible",
        action="append",
        default=[],
        metavar="TERRITOIRE:ÉTAPE:PÉRIODE:VALEUR",
        help="une cible, par ex. « Pôle Nord:entrée en parcours:2026:120 » (répétable)",
    )
    define.add_argument("--replace", action="store_true", help="remplacer un programme du même nom")
    workspace_argument(define)
    define.set_defaults(func=_define)
    listing = actions.add_parser("list", help="lister les programmes")
    listing.add_argument("--json", action="store_true", help="sortie JSON")
    workspace_argument(listing)
    listing.set_defaults(func=_list)
    delete = actions.add_parser("delete", help="supprimer un programme")
    delete.add_argument("name", metavar="NOM")
    workspace_argument(delete)
    delete.set_defaults(func=_delete)

    compare = sub.add_parser(
        "compare", help="comparer les territoires d'un programme (valeurs protégées)"
    )
    workspace_argument(compare)
    compare.add_argument("--programme", required=True, metavar="NOM")
    compare.add_argument(
        "--periode",
        "--period",
        dest="period",
        default=None,
        metavar="PÉRIODE",
        help="« programme » (défaut), une année « 2026 » ou un trimestre « 2026-T1 »",
    )
    compare.add_argument("--json", action="store_true", help="les tables protégées en JSON")
    compare.set_defaults(func=_compare)


def parse_target(text: str) -> Any:
    """A ``--cible`` value, ``TERRITOIRE:ÉTAPE:PÉRIODE:VALEUR``, as a Target.

    >>> parse_target("Pôle Nord:entrée en parcours:2026:120")
    Target(territory='Pôle Nord', step='entrée en parcours', period='2026', value=120)
    """
    from territory.programme import Target

    parts = [p.strip() for p in str(text).rsplit(":", 3)]
    if len(parts) != 4 or not parts[3].lstrip("-").isdigit():
        raise ValidationError(
            f"cible « {text} » illisible (attendu TERRITOIRE:ÉTAPE:PÉRIODE:VALEUR, par ex. "
            "« Pôle Nord:entrée en parcours:2026:120 »)"
        )
    return Target(parts[0], parts[1], parts[2], int(parts[3]))


def workspace_argument(parser: argparse.ArgumentParser) -> None:
    """The `--workspace CHEMIN` option (shared by the commands kept beside cli.py)."""
    parser.add_argument(
        "--workspace",
        type=Path,
        required=True,
        metavar="CHEMIN",
        help="fichier de l'espace de travail (.gpkg)",
    )


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(f"{what} « {text} » illisible (attendu AAAA-MM-JJ)") from None


def _define(args: argparse.Namespace, settings: Settings) -> int:
    from territory.programme import define_programme
    from territory.store import Workspace

    ws = Workspace.open(args.workspace)
    problems: list[str] = []
    targets = []
    for text in args.cible:
        try:
            targets.append(parse_target(text))
        except ValidationError as error:
            problems += error.problems
    days = []
    for text, what in ((args.debut, "début"), (args.fin, "fin")):
        try:
            days.append(_day(text, what))
        except ValidationError as error:
            problems += error.problems
    if problems:
        raise ValidationError(problems)
    programme = define_programme(
        ws,
        args.name,
        territories=args.territoires,
        start=days[0],
        end=days[1],
        targets=targets,
        replace=args.replace,
    )
    print(
        f"Programme « {programme.name} » enregistré : {len(programme.territories)} "
        f"territoire(s), du {programme.start:%d/%m/%Y} au {programme.end:%d/%m/%Y}, "
        f"{len(programme.targets)} cible(s)"
    )
    return EXIT_OK


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from territory.programme import list_programmes
    from territory.store import Workspace

    programmes = list_programmes(Workspace.open(args.workspace))
    if args.json:
        print(json.dumps([p.to_dict() for p in programmes], ensure_ascii=False, indent=2))
        return EXIT_OK
    for p in programmes:
        print(
            f"  {p.name:<30} {p.start:%d/%m/%Y} – {p.end:%d/%m/%Y}  "
            f"{len(p.targets)} cible(s)  {', '.join(p.territories)}"
        )
    return EXIT_OK


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    from territory.programme import delete_programme
    from territory.store import Workspace

    delete_programme(Workspace.open(args.workspace), args.name)
    print(f"Programme « {args.name} » supprimé")
    return EXIT_OK


def _compare(args: argparse.Namespace, settings: Settings) -> int:
    from territory.programme import compare, comparison_json
    from territory.store import Workspace

    c = compare(Workspace.open(args.workspace), args.programme, period=args.period,
                settings=settings)  # fmt: skip
    if args.json:
        print(json.dumps(comparison_json(c), ensure_ascii=False, indent=2))
        return EXIT_OK
    period = "tout le programme" if c.period == "programme" else c.period
    print(f"Programme « {c.programme.name} », période : {period}")
    print("\nParcours (personnes distinctes, valeurs protégées)")
    steps = list(dict.fromkeys(c.funnel["Étape"]))
    print(_table(c.funnel, "Territoire", "Étape", "Affiché", steps))
    if len(c.targets):
        print("\nCibles")
        for row in c.targets.itertuples(index=False):
            done = "secret" if row[4] is None or _na(row[4]) else str(row[4])
            print(f"  {row[0]} — {row[1]} {row[2]} : {done} / {row[3]}  {row[6]}")
    if len(c.rates):
        print("\nTaux pour 1 000")
        for row in c.rates.itertuples(index=False):
            rate = "—" if _na(row[7]) else f"{row[7]:.1f}".replace(".", ",")
            print(f"  {row[0]} — {row[1]} : {rate} ({row[4]}, {row[5]}, {row[6]})")
    print("\nTournées (visites prévues / faites, heures de terrain)")
    for row in c.rounds.itertuples(index=False):
        hours = f"{row[3]:.1f}".replace(".", ",")
        print(f"  {row[0]} : {row[1]} / {row[2]}, {hours} h")
    for note in c.notes:
        print(f"\nNote : {note}")
    return EXIT_OK


def _na(value: Any) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def _table(frame: Any, rows: str, columns: str, values: str, order: list[str]) -> str:
    """A plain-text pivot: one line per ``rows`` value, one column per ``columns`` value."""
    names = list(dict.fromkeys(frame[rows]))
    width = max([len(n) for n in names] + [10])
    head = " " * (width + 2) + "".join(f"{o[:18]:>20}" for o in order)
    lines = [head]
    for name in names:
        part = frame[frame[rows] == name].set_index(columns)[values]
        lines.append(f"  {name:<{width}}" + "".join(f"{part.get(o, ''):>20}" for o in order))
    return "\n".join(lines)
