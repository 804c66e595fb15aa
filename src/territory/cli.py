"""The ``territory`` command: build the demo, import files, inspect and export a workspace.

Errors the user can fix print one French line on stderr and exit with code 2; a
traceback is shown only with ``TERRITORY_DEBUG=1`` (:attr:`Settings.debug
<territory.settings.Settings.debug>`).

Only the ground floor is imported at the top, so that ``territory --help`` answers at
once: each command imports what it needs (geopandas, ortools, the bench…) when it runs.

The shareable file is its own command, ``territory export-partage OUT.gpkg --workspace W
[--territoire NOM …]``, rather than a flag of ``export``: ``export`` writes one layer in
the format of its extension, ``export-partage`` writes the one GeoPackage that may be
handed to an evaluation team, a partner or a funder (published values only, see
:func:`territory.export.export_shareable`); a separate name keeps the two from being
confused. It stays (in WGS84, unstyled) beside ``territory export package --out
evaluation.gpkg [--crs EPSG:XXXX] [--territoire NOM …] [--date AAAA-MM-JJ]``, the
evaluation package of :func:`territory.evaluation.export_package` (the same published
values, in Lambert-93, with QGIS styles, metadata, ``datapackage.json`` and
``methodes.md``): ``package`` is a word no workspace layer bears.

``territory run PARAMETRES.yaml`` writes every output a parameters file names, and
``run.json`` (:mod:`territory.runs`): the same file and data give the same bytes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from territory._errors import TerritoryError, ValidationError, plain_reason
from territory.settings import Settings
from territory.vocab import IMPORT_KINDS

if TYPE_CHECKING:
    from territory.io.report import ImportReport

__all__ = ["EXIT_NOTHING", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK, EXIT_NOTHING, EXIT_USAGE = 0, 1, 2
PACKAGE = "package"
"""``territory export package``: the evaluation package rather than one layer."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    debug = False
    try:
        settings = Settings.from_env()
        debug = settings.debug
        code = int(args.func(args, settings))
        if code == EXIT_OK:
            from territory.cli_access import record_command

            record_command(args, settings)  # a server's workspace: its audit line
        return code
    except TerritoryError as exc:
        print(f"territory : erreur : {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("territory : interrompu", file=sys.stderr)
        return 130
    except Exception:  # a bug: one line unless debugging
        if debug:
            raise
        print(  # no library text, path or type name: TERRITORY_DEBUG=1 shows them
            "territory : erreur inattendue — relancez avec TERRITORY_DEBUG=1 pour le détail "
            "et signalez-la",
            file=sys.stderr,
        )
        return EXIT_USAGE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="territory", description="Planifier l'aller-vers sur une carte."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMANDE")

    demo = sub.add_parser(
        "demo", help="construire l'espace de travail du territoire fictif de démonstration"
    )
    _workspace_arg(demo)
    demo.add_argument("--seed", type=int, default=2026, help="graine du générateur (défaut : 2026)")
    demo.add_argument(
        "--scale",
        choices=["demo", "departement", "region"],
        default="demo",
        help="taille : démo (≈ 40 communes), département (1 550 communes, 1 M contacts) ou "
        "région (3 996 communes, environ 1 000 QPV, 1 M contacts)",
    )
    demo.add_argument(
        "--force", action="store_true", help="remplacer un espace de travail existant"
    )
    demo.add_argument(
        "--if-missing",
        action="store_true",
        help="ne rien faire si l'espace de travail existe et s'ouvre",
    )
    demo.set_defaults(func=_demo)

    info = sub.add_parser("info", help="décrire les couches d'un espace de travail")
    _workspace_arg(info)
    info.add_argument("--json", action="store_true", help="sortie JSON")
    info.set_defaults(func=_info)

    imp = sub.add_parser("import", help="importer des fichiers dans un espace de travail")
    imp.add_argument(
        "kind",
        choices=IMPORT_KINDS,
        metavar="TYPE",
        help=", ".join(IMPORT_KINDS),
    )
    imp.add_argument("files", nargs="+", type=Path, metavar="FICHIER")
    _workspace_arg(imp)
    imp.add_argument(
        "--create", metavar="NOM", help="créer l'espace de travail s'il n'existe pas, avec ce nom"
    )
    imp.add_argument(
        "--crs", help="système de coordonnées quand le fichier n'en déclare pas (ex. EPSG:2154)"
    )
    imp.add_argument(
        "--add",
        action="store_true",
        help="communes : ajouter aux communes déjà importées au lieu de les remplacer "
        "(plusieurs fichiers d'une même commande s'ajoutent toujours)",
    )
    imp.add_argument(
        "--remplacer",
        dest="replace",
        action="store_true",
        help="partenaires : remplacer les partenaires déjà importés au lieu de les compléter "
        "(par défaut, un fichier ajoute ses partenaires et met à jour ceux qu'il reconnaît)",
    )
    imp.add_argument(
        "--reseau",
        metavar="NOM",
        help="gtfs : nom du réseau de transport du flux (par défaut : l'exploitant de "
        "agency.txt, ou le nom du fichier) ; réimporter un réseau remplace ses seuls arrêts",
    )
    imp.add_argument("--vintage", default="", help="millésime de la source (ex. COG 2026)")
    imp.add_argument("--licence", default="", help="licence de la source")
    imp.add_argument("--mapping", help='correspondance de colonnes JSON, ex. {"date": "Date RDV"}')
    imp.add_argument(
        "--geocodage-en-ligne",
        dest="geocode_online",
        action="store_true",
        help="contacts : envoyer au service en ligne de la BAN (api-adresse.data.gouv.fr) les "
        "adresses que la BAN importée ne trouve pas ; les adresses des personnes quittent "
        "alors la machine (réponses jamais gardées en cache). Sans cette option, elles sont "
        "géocodées sur place ou restent « à géocoder »",
    )
    imp.add_argument(
        "--feuille",
        dest="sheet",
        metavar="NOM",
        help="classeur (.xlsx, .ods) : la feuille à importer (contacts, partenaires, lieux, "
        "table des communes, grille de densité) ; sans elle, un classeur de plusieurs "
        "feuilles qui ressemblent au tableau attendu est refusé avec leurs noms",
    )
    imp.add_argument("--json", action="store_true", help="rapport en JSON")
    _author_arg(imp)
    imp.set_defaults(func=_import, audit="import")

    export = sub.add_parser(
        "export",
        help="exporter une couche (GeoJSON, GPKG ou CSV selon l'extension), ou le paquet "
        "d'évaluation (export package)",
        description="territory export COUCHE --out FICHIER : une couche. territory export "
        "package --out evaluation.gpkg : le paquet d'évaluation (toutes les couches publiées, "
        "en Lambert-93, styles QGIS, métadonnées, datapackage.json et methodes.md à côté ; "
        ".zip : les trois dans une archive).",
    )
    export.add_argument("layer", metavar="COUCHE", help=f"une couche, ou « {PACKAGE} »")
    _workspace_arg(export)
    export.add_argument("--out", type=Path, required=True, metavar="FICHIER")
    export.add_argument(
        "--filter",
        metavar="FILTRE=VALEUR",
        help="densité d'un trimestre ou d'une catégorie : periode=2026-T1, statut=hors radars, "
        "tranche_age=18-21, sexe=F",
    )
    export.add_argument(
        "--crs",
        metavar="EPSG:XXXX",
        help=f"{PACKAGE} : système de coordonnées des couches (défaut EPSG:2154, Lambert-93)",
    )
    export.add_argument(
        "--territoire",
        "--territory",
        dest="territoires",
        nargs="+",
        action="extend",
        default=[],
        metavar="NOM",
        help=f"{PACKAGE} : territoire(s) du programme (défaut : tout l'espace de travail)",
    )
    export.add_argument(
        "--date",
        type=_iso_date,
        metavar="AAAA-MM-JJ",
        help=f"{PACKAGE} : date écrite dans le paquet (défaut : aujourd'hui) ; même date, "
        "mêmes données et paramètres : mêmes octets",
    )
    export.set_defaults(func=_export, audit="export")

    share = sub.add_parser(
        "export-partage",
        help="écrire le fichier partageable (.gpkg) : valeurs publiées seulement, sans contacts",
        description="Écrit un nouveau GeoPackage qui ne contient que des valeurs publiées "
        "(couches publiques, densité protégée, indicateurs, territoires, métadonnées) : il "
        "peut être remis à une équipe d'évaluation, un partenaire ou un financeur. "
        "L'espace de travail, lui, contient des contacts pseudonymisés et ne se partage pas.",
    )
    share.add_argument("out", type=Path, metavar="FICHIER.gpkg")
    _workspace_arg(share)
    share.add_argument(
        "--territoire",
        "--territory",
        dest="territoires",
        nargs="+",
        action="extend",
        default=[],
        metavar="NOM",
        help="territoire(s) du programme à exporter (défaut : tout l'espace de travail)",
    )
    share.set_defaults(func=_export_shareable, audit="export")

    fetch = sub.add_parser("fetch", help="télécharger les données officielles d'un territoire réel")
    fetch.add_argument(
        "--departement",
        metavar="DEP",
        help="code du département (ex. 14, 2A, 974) ; facultatif avec --lieux ou --reseau seuls",
    )
    fetch.add_argument(
        "--lieux",
        action="store_true",
        help="télécharger aussi les points d'intérêt OpenStreetMap (parcs, terrains de sport, "
        "marchés, centres commerciaux, gares, lycées…) des communes par Overpass ; sans "
        "--departement, seulement eux, sur les communes déjà importées",
    )
    fetch.add_argument(
        "--reseau",
        dest="roads",
        action="store_true",
        help="télécharger aussi le réseau routier et les chemins OpenStreetMap des communes "
        "par Overpass (temps de trajet et tracés des tournées) ; sans --departement, "
        "seulement lui, sur les communes déjà importées",
    )
    fetch.add_argument(
        "--epci",
        nargs="+",
        action="extend",
        default=[],
        metavar="SIREN",
        help="ne garder que les communes de ces EPCI",
    )
    fetch.add_argument(
        "--communes",
        nargs="+",
        action="extend",
        default=[],
        metavar="CODE",
        help="ne garder que ces communes (codes INSEE)",
    )
    _workspace_arg(fetch)
    fetch.add_argument(
        "--create", metavar="NOM", help="créer l'espace de travail s'il n'existe pas, avec ce nom"
    )
    fetch.add_argument("--json", action="store_true", help="rapports en JSON")
    fetch.set_defaults(func=_fetch)

    terr = sub.add_parser("territory", help="territoires du programme (communes, EPCI, QPV)")
    actions = terr.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="définir un territoire")
    add.add_argument("name", metavar="NOM")
    add.add_argument("--communes", nargs="+", default=[], metavar="INSEE")
    add.add_argument("--epci", nargs="+", default=[], metavar="SIREN")
    add.add_argument("--qpv", nargs="+", default=[], metavar="CODE")
    add.add_argument("--replace", action="store_true", help="remplacer un territoire du même nom")
    _workspace_arg(add)
    add.set_defaults(func=_territory_add)
    listing = actions.add_parser("list", help="lister les territoires")
    _workspace_arg(listing)
    listing.add_argument("--json", action="store_true", help="sortie JSON")
    listing.set_defaults(func=_territory_list)
    delete = actions.add_parser("delete", help="supprimer un territoire")
    delete.add_argument("name", metavar="NOM")
    _workspace_arg(delete)
    delete.set_defaults(func=_territory_delete)

    from territory.cli_programme import add_commands as _programme_commands

    _programme_commands(sub)

    report = sub.add_parser(
        "report",
        help="dossier du comité de pilotage : PDF A4 ou classeur XLSX selon l'extension",
        description="Écrit le dossier A4 (.pdf : une synthèse puis une page par territoire) "
        "ou le classeur (.xlsx : une feuille par tableau) d'un programme, à partir des seules "
        "valeurs protégées de « territory compare ». Les mêmes données donnent le même fichier.",
    )
    _workspace_arg(report)
    report.add_argument("--programme", required=True, metavar="NOM")
    report.add_argument(
        "--periode",
        "--period",
        dest="period",
        default=None,
        metavar="PÉRIODE",
        help="« programme » (défaut), une année « 2026 » ou un trimestre « 2026-T1 »",
    )
    report.add_argument(
        "--out", type=Path, required=True, metavar="FICHIER", help="copil.pdf ou copil.xlsx"
    )
    report.set_defaults(func=_report, audit="export")

    purge = sub.add_parser(
        "purge", help="supprimer les contacts plus anciens que la durée de conservation"
    )
    _workspace_arg(purge)
    purge.add_argument(
        "--older-than",
        metavar="DURÉE",
        help="durée de conservation en mois, ex. 24m ou 24 (défaut : réglage retention_months)",
    )
    purge.add_argument(
        "--today",
        type=_iso_date,
        metavar="AAAA-MM-JJ",
        help="date de référence (défaut : aujourd'hui)",
    )
    _author_arg(purge)
    purge.set_defaults(func=_purge, audit="purge")

    lots = sub.add_parser(
        "batches", help="lots d'import (imports, retours, purges) : les lister, en annuler un"
    )
    lot_actions = lots.add_subparsers(dest="action", required=True, metavar="ACTION")
    lot_list = lot_actions.add_parser("list", help="lister les lots, du plus ancien au plus récent")
    _optional_workspace_arg(lot_list)
    lot_list.add_argument("--json", action="store_true", help="sortie JSON")
    lot_list.set_defaults(func=_batches_list)
    lot_undo = lot_actions.add_parser(
        "undo",
        help="annuler un lot : ses contacts effacés, ou les couches remises comme avant lui",
    )
    lot_undo.add_argument("batch", type=int, metavar="ID", help="numéro du lot (batches list)")
    _optional_workspace_arg(lot_undo)
    _author_arg(lot_undo)
    lot_undo.set_defaults(func=_batches_undo, audit="undo")

    prio = sub.add_parser("priorities", help="classer les zones par priorité, avec les raisons")
    _workspace_arg(prio)
    prio.add_argument("--territory", metavar="NOM", help="territoire (défaut : tout l'espace)")
    prio.add_argument(
        "--weights",
        metavar="POIDS",
        help="ex. need=1,coverage=1,access=1,mobility=1 (défaut : poids enregistrés du territoire)",
    )
    prio.add_argument(
        "--zones", choices=("commune", "qpv", "cell"), default="commune", help="type de zone"
    )
    prio.add_argument("--at", metavar="AAAA-MM-JJTHH", help="moment (défaut : mardi 17 h)")
    prio.add_argument("--top", type=int, default=20, help="zones affichées sans --json")
    prio.add_argument("--json", action="store_true", help="sortie JSON")
    prio.add_argument(
        "--out", type=Path, metavar="FICHIER", help="écrire le classement (.geojson, .gpkg, .csv)"
    )
    prio.set_defaults(func=_priorities, audit="export", audit_out=True)

    from territory.cli_analysis import add_commands as _analysis_commands
    from territory.cli_db import add_commands as _db_commands

    _analysis_commands(sub)
    _db_commands(sub)

    from territory.cli_access import add_commands as _access_commands

    _access_commands(sub)

    when = sub.add_parser("when", help="créneaux recommandés pour une ou plusieurs zones")
    _workspace_arg(when)
    when.add_argument(
        "--zone",
        required=True,
        nargs="+",
        metavar="CODE",
        help="code INSEE, QPV ou carreau (plusieurs : les contacts ne sont lus qu'une fois)",
    )
    when.add_argument("--territory", metavar="NOM", help="territoire du profil de repli")
    when.add_argument("--week", type=_iso_date, metavar="AAAA-MM-JJ", help="semaine à planifier")
    when.add_argument(
        "--open-type", metavar="TYPE", help="garder les créneaux où ce type est ouvert"
    )
    when.add_argument("--top", type=int, default=5, help="nombre de créneaux")
    when.add_argument("--json", action="store_true", help="sortie JSON")
    when.set_defaults(func=_when)

    plan = sub.add_parser(
        "plan",
        help="planifier les tournées d'une semaine (plan export : .ics, .csv ; plan restore)",
        description="Sans action : optimise la semaine et enregistre une nouvelle version "
        "(les visites verrouillées restent). « plan export » écrit la dernière version. "
        "« plan restore --version N » enregistre une nouvelle version égale à la version N "
        "(l'historique reste).",
    )
    plan.add_argument(
        "action",
        nargs="?",
        choices=["export", "restore"],
        help="exporter le plan enregistré, ou restaurer une version antérieure",
    )
    _workspace_arg(plan)
    plan.add_argument("--week", required=True, metavar="AAAA-Wnn", help="semaine ISO, ex. 2026-W49")
    plan.add_argument(
        "--teams", type=Path, metavar="FICHIER", help="équipes (CSV, XLSX, ODS ou JSON)"
    )
    plan.add_argument(
        "--feuille", dest="sheet", metavar="NOM", help="--teams : la feuille du classeur"
    )
    plan.add_argument(
        "--geocodage-en-ligne",
        dest="geocode_online",
        action="store_true",
        help="--teams : chercher avec le service en ligne de la BAN les adresses de base "
        "(« adresse_base ») que la BAN importée ne trouve pas (adresses de bureaux, publiques)",
    )
    plan.add_argument(
        "--territory",
        metavar="NOM",
        help="territoire du programme à planifier, dont la semaine a ses propres versions "
        "(défaut : tout l'espace de travail ; sur le serveur, le territoire de votre session "
        "quand elle n'en voit qu'un)",
    )
    plan.add_argument(
        "--hors-secteur",
        dest="outside_sector",
        action="store_true",
        help="autoriser les visites hors du secteur d'une équipe (pénalisées)",
    )
    plan.add_argument(
        "--time-limit", type=float, default=5.0, metavar="S", help="durée de recherche"
    )
    plan.add_argument(
        "--out",
        type=Path,
        metavar="FICHIER",
        help="export : .ics (par équipe), .csv, .pdf (feuilles de route A4) ou .html",
    )
    plan.add_argument("--version", type=int, metavar="N", help="restore : la version à restaurer")
    _author_arg(plan)
    plan.add_argument("--json", action="store_true", help="sortie JSON")
    plan.set_defaults(
        func=_plan, audit={None: "plan_change", "restore": "plan_change", "export": "export"}
    )

    run = sub.add_parser(
        "run",
        help="exécuter un fichier de paramètres (YAML) : toutes ses sorties et run.json",
        description="Lit le fichier de paramètres (espace de travail, territoires, période, "
        "sorties et leurs options, dossier de sortie), le vérifie en entier, puis écrit "
        "chaque sortie et run.json (paramètres, empreinte, version, couches d'entrée, "
        "sha256 de chaque fichier). Même fichier, mêmes données : mêmes octets (sauf le plan de la "
        "semaine, dont la recherche est bornée en temps).",
    )
    run.add_argument("params", type=Path, metavar="PARAMETRES.yaml")
    run.add_argument("--json", action="store_true", help="afficher run.json")
    run.set_defaults(func=_run)

    calendar = sub.add_parser(
        "calendrier",
        help="vérifier le calendrier scolaire livré (zones A, B, C) contre les données du "
        "ministère de l'Éducation nationale",
        description="Télécharge le jeu de données « fr-en-calendrier-scolaire » (mis en cache) "
        "et liste les différences avec les vacances scolaires livrées avec territory. Hors "
        "ligne, le dit : le calendrier livré reste utilisé.",
    )
    calendar.add_argument("--json", action="store_true", help="sortie JSON")
    calendar.set_defaults(func=_calendar)

    bench = sub.add_parser(
        "bench",
        help="mesurer la carte (démo, département, région), les contacts, le classement et "
        "le planificateur, face à la manière naïve",
    )
    bench.add_argument(
        "--quick", action="store_true", help="mesure rapide : territoire de démo seulement"
    )
    bench.add_argument("--json", action="store_true", help="sortie JSON")
    bench.add_argument(
        "--out",
        type=Path,
        default=Path("bench-results"),
        metavar="DOSSIER",
        help="dossier du fichier bench.json (défaut : bench-results)",
    )
    bench.set_defaults(func=_bench)

    from territory.cli_oidc import add_commands as _oidc_commands

    _oidc_commands(sub)
    return parser


def _workspace_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace",
        type=Path,
        required=True,
        metavar="CHEMIN",
        help="fichier de l'espace de travail (.gpkg)",
    )


def _optional_workspace_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace",
        type=Path,
        metavar="CHEMIN",
        help="fichier de l'espace de travail (.gpkg ; défaut : TERRITORY_WORKSPACE)",
    )


def _author_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--auteur",
        metavar="NOM",
        help="auteur inscrit au journal des lots (défaut : l'utilisateur du système)",
    )


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from territory.demo import build_demo_workspace
    from territory.store import Workspace

    if args.if_missing and args.workspace.exists():
        Workspace.open(args.workspace)  # a damaged file is reported, not silently kept
        print(f"Espace de travail déjà présent : {args.workspace}")
        return EXIT_OK
    reports = build_demo_workspace(
        args.workspace,
        settings=settings,
        seed=args.seed,
        scale=args.scale,
        overwrite=args.force,
        progress=lambda m: print(m, file=sys.stderr),
    )
    for report in reports:
        print(report.to_text(max_reasons=3))
    print(f"Espace de travail prêt : {args.workspace}")
    return EXIT_OK


def _info(args: argparse.Namespace, settings: Settings) -> int:
    from territory.store import Workspace
    from territory.views import info

    data = info(Workspace.open(args.workspace), settings=settings)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"{data['name']} — {data['workspace']} (seuil k = {data['k']})")
    for name, layer in data["layers"].items():
        print(
            f"  {name:<18} {layer['count']:>8}  {layer['crs'] or '-':<10} "
            f"{layer['source']} {layer['vintage']}"
        )
    return EXIT_OK


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from territory.ingest import import_file
    from territory.store import Workspace

    if args.geocode_online and args.kind != "contacts":
        raise ValidationError("--geocodage-en-ligne ne concerne que l'import de contacts")
    if args.create and not args.workspace.exists():
        ws = Workspace.create(args.workspace, name=args.create)
    else:
        ws = Workspace.open(args.workspace)
    mapping = _mapping(args.mapping)
    if args.replace and args.kind != "partners":
        raise ValidationError("--remplacer ne concerne que l'import de partenaires")
    if args.reseau is not None and (args.kind != "gtfs" or len(args.files) > 1):
        raise ValidationError("--reseau ne concerne que l'import d'un seul flux gtfs")
    if args.geocode_online:
        print(
            "attention : les adresses de contacts introuvables dans la BAN importée seront "
            "envoyées à api-adresse.data.gouv.fr (service en ligne)",
            file=sys.stderr,
        )
    reports = [
        import_file(
            ws,
            args.kind,
            f,
            settings=settings,
            crs=args.crs,
            vintage=args.vintage,
            licence=args.licence,
            mapping=mapping,
            geocode_online=args.geocode_online,
            add=args.add or i > 0,  # several communes files: one territory
            replace=args.replace and i == 0,  # several partner files: the first replaces
            author=args.auteur,
            sheet=args.sheet,
            network=args.reseau,
        )
        for i, f in enumerate(args.files)
    ]
    if args.json:
        dicts = [_report_dict(r, f, args.kind) for r, f in zip(reports, args.files, strict=True)]
        payload = dicts[0] if len(dicts) == 1 else dicts
        print(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        for report in reports:
            print(report.to_text())
    return EXIT_OK if any(r.accepted for r in reports) else EXIT_NOTHING


def _report_dict(report: ImportReport, file: Path, kind: str) -> dict[str, Any]:
    """The report's JSON, plus for contacts the files of refused and pending rows."""
    data: dict[str, Any] = report.to_dict()
    if kind == "contacts":
        from territory.io.contacts import side_file_paths

        paths = side_file_paths(file)
        for key, path in (("refused_file", paths.refused), ("pending_file", paths.pending)):
            data[key] = str(path) if path is not None and path.exists() else None
    return data


def _purge(args: argparse.Namespace, settings: Settings) -> int:
    from territory.ingest import purge_old_contacts
    from territory.store import Workspace

    label, cutoff = purge_old_contacts(
        Workspace.open(args.workspace),
        settings=settings,
        today=args.today or date.today(),
        older_than_months=None if args.older_than is None else _months(args.older_than),
        author=args.auteur,
    )
    print(f"{label} contact(s) supprimé(s) (antérieurs au {cutoff.isoformat()}, valeur protégée)")
    return EXIT_OK


def _batches_list(args: argparse.Namespace, settings: Settings) -> int:
    from territory.batches import batches_table, list_batches
    from territory.store import Workspace

    found = list_batches(Workspace.open(args.workspace or settings.workspace))
    if args.json:
        keys = ("id", "kind", "author", "time", "file", "counts", "state", "undone_at")
        rows = [{k: getattr(b, k) for k in (*keys, "undone_by", "target")} for b in found]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    if not found:
        print("Aucun lot enregistré dans cet espace de travail.")
        return EXIT_OK
    table = batches_table(found).astype(str)
    widths = {c: max(len(c), *table[c].str.len()) for c in table.columns}
    print("  ".join(f"{c:<{widths[c]}}" for c in table.columns).rstrip())
    for row in table.itertuples(index=False):
        cells = (f"{v:<{widths[c]}}" for c, v in zip(table.columns, row, strict=True))
        print("  ".join(cells).rstrip())
    return EXIT_OK


def _batches_undo(args: argparse.Namespace, settings: Settings) -> int:
    from territory.batches import counts_text
    from territory.ingest import undo_batch
    from territory.store import Workspace

    ws = Workspace.open(args.workspace or settings.workspace)
    entry = undo_batch(ws, args.batch, author=args.auteur)
    print(f"Lot {args.batch} annulé (annulation n° {entry.id}) : {counts_text(entry)}")
    return EXIT_OK


def _months(text: str) -> int:
    """``24m`` or ``24`` → 24; anything else is a French one-line error."""
    match = re.fullmatch(r"\s*(\d+)\s*m?\s*", text, flags=re.IGNORECASE)
    if match is None or int(match.group(1)) < 1:
        raise ValidationError(
            f"--older-than « {text} » invalide : attendu un nombre de mois, ex. 24m ou 24"
        )
    return int(match.group(1))


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"date invalide « {text} » (attendu AAAA-MM-JJ)") from exc


def _export(args: argparse.Namespace, settings: Settings) -> int:
    from territory.export import export_layer
    from territory.store import Workspace

    if args.layer == PACKAGE:
        return _export_package(args, settings)
    if args.crs or args.territoires or args.date:
        raise ValidationError(
            f"--crs, --territoire et --date ne s'appliquent qu'à « territory export {PACKAGE} »"
        )
    breakdown = None
    if args.filter:
        by, _, value = args.filter.partition("=")
        if not value:
            raise ValidationError(f"--filter attend FILTRE=VALEUR, reçu « {args.filter} »")
        breakdown = (by.strip(), value.strip())
    ws = Workspace.open(args.workspace)
    n = export_layer(ws, args.layer, args.out, settings=settings, breakdown=breakdown)
    print(f"{n} entité(s) écrite(s) dans {args.out}")
    return EXIT_OK


def _export_package(args: argparse.Namespace, settings: Settings) -> int:
    from territory.evaluation import DEFAULT_CRS, export_package
    from territory.store import Workspace

    if args.filter:
        raise ValidationError("--filter ne s'applique pas au paquet d'évaluation")
    ws = Workspace.open(args.workspace)
    report = export_package(
        ws,
        args.out,
        settings=settings,
        crs=args.crs or DEFAULT_CRS,
        territories=args.territoires,
        today=args.date,
    )
    for note in report.notes:
        print(f"note : {note}", file=sys.stderr)
    print(report.to_text())
    return EXIT_OK


def _export_shareable(args: argparse.Namespace, settings: Settings) -> int:
    from territory.export import export_shareable
    from territory.store import Workspace

    ws = Workspace.open(args.workspace)
    report = export_shareable(ws, args.out, settings=settings, territories=args.territoires)
    for note in report.notes:
        print(f"note : {note}", file=sys.stderr)
    print(report.to_text())
    return EXIT_OK


def _report(args: argparse.Namespace, settings: Settings) -> int:
    from territory.programme import compare
    from territory.report import check_suffix, write_report
    from territory.store import Workspace

    check_suffix(args.out)  # before the comparison is computed
    ws = Workspace.open(args.workspace)
    comparison = compare(ws, args.programme, period=args.period, settings=settings)
    size = write_report(comparison, args.out, k=settings.k)
    print(f"{args.out} écrit ({size // 1024 or 1} Ko)")
    return EXIT_OK


def _fetch(args: argparse.Namespace, settings: Settings) -> int:
    from territory.fetch import fetch_network, fetch_places, fetch_territory
    from territory.store import Workspace

    if not args.departement:
        if not args.lieux and not args.roads:
            raise ValidationError(
                "donnez --departement (ou --lieux, --reseau pour les seules données OSM)"
            )
        ws = Workspace.open(args.workspace)
        steps = [
            f for f, wanted in ((fetch_places, args.lieux), (fetch_network, args.roads)) if wanted
        ]
        only = [
            step(ws, settings=settings, progress=lambda m: print(m, file=sys.stderr))
            for step in steps
        ]
        print(
            json.dumps([r.to_dict() for r in only], ensure_ascii=False, indent=2)
            if args.json and len(only) > 1
            else json.dumps(only[0].to_dict(), ensure_ascii=False, indent=2)
            if args.json
            else "\n".join(r.to_text(max_reasons=5) for r in only)
        )
        return EXIT_OK if all(r.accepted for r in only) else EXIT_NOTHING
    created = bool(args.create) and not args.workspace.exists()
    ws = (
        Workspace.create(args.workspace, name=args.create)
        if created
        else Workspace.open(args.workspace)
    )
    try:
        reports = fetch_territory(
            ws,
            departement=args.departement.upper(),
            epci=_codes(args.epci),
            communes=_codes(args.communes),
            settings=settings,
            progress=lambda m: print(m, file=sys.stderr),
        )
    except TerritoryError:
        if created:  # do not leave an empty workspace behind
            args.workspace.unlink(missing_ok=True)
        raise
    if args.lieux:
        from territory._errors import NetworkError

        try:
            reports.append(
                fetch_places(ws, settings=settings, progress=lambda m: print(m, file=sys.stderr))
            )
        except (NetworkError, ValidationError) as exc:  # the official sources are kept
            print(f"territory : lieux OSM non importés : {exc}", file=sys.stderr)
    if args.roads:
        from territory._errors import NetworkError

        try:
            reports.append(
                fetch_network(ws, settings=settings, progress=lambda m: print(m, file=sys.stderr))
            )
        except (NetworkError, ValidationError) as exc:  # the official sources are kept
            print(f"territory : réseau routier OSM non importé : {exc}", file=sys.stderr)
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], ensure_ascii=False, indent=2))
    else:
        for report in reports:
            print(report.to_text(max_reasons=5))
    return EXIT_OK if any(r.accepted for r in reports) else EXIT_NOTHING


def _codes(values: list[str]) -> list[str]:
    """Codes given as ``a b`` or ``a,b``."""
    return [c.strip() for v in values for c in v.split(",") if c.strip()]


def _territory_add(args: argparse.Namespace, settings: Settings) -> int:
    from territory.store import Workspace
    from territory.territories import define_territory, resolve

    ws = Workspace.open(args.workspace)
    defined = define_territory(
        ws,
        args.name,
        communes=_codes(args.communes),
        epci=_codes(args.epci),
        qpv=_codes(args.qpv),
        replace=args.replace,
    )
    print(
        f"Territoire « {defined.name} » enregistré : {defined.description}, "
        f"{len(resolve(ws, defined.name))} commune(s)"
    )
    return EXIT_OK


def _territory_list(args: argparse.Namespace, settings: Settings) -> int:
    from territory.store import Workspace
    from territory.territories import list_territories, resolve

    ws = Workspace.open(args.workspace)
    rows = [t.to_dict() | {"resolved": sorted(resolve(ws, t.name))} for t in list_territories(ws)]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    for r in rows:
        print(
            f"  {r['name']:<30} {len(r['resolved']):>5} commune(s)  "
            f"EPCI {', '.join(r['epci']) or '-'}  QPV {', '.join(r['qpv']) or '-'}"
        )
    return EXIT_OK


def _territory_delete(args: argparse.Namespace, settings: Settings) -> int:
    from territory.store import Workspace
    from territory.territories import delete_territory

    delete_territory(Workspace.open(args.workspace), args.name)
    print(f"Territoire « {args.name} » supprimé")
    return EXIT_OK


def _bench_package() -> Any:
    """The checkout's ``bench`` package (benchmarks are not part of the installed package)."""
    import importlib

    checkout = Path(__file__).resolve().parents[2]
    if not (checkout / "bench" / "__init__.py").is_file():
        raise ValidationError(
            "territory bench se lance depuis un dépôt cloné (dossier bench/ introuvable à côté "
            f"de src/) : {checkout}"
        )
    if str(checkout) not in sys.path:
        sys.path.insert(0, str(checkout))
    return importlib.import_module("bench.map_page")


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    bench = _bench_package()

    results = bench.run(
        quick=args.quick,
        settings=settings,
        out_dir=args.out,
        say=lambda m: print(m, file=sys.stderr),
    )
    print(json.dumps(results, indent=2, ensure_ascii=False) if args.json else bench.table(results))
    return EXIT_OK


def _priorities(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import datetime

    from territory.analysis.priority import Weights, priorities
    from territory.store import Workspace

    at = datetime.fromisoformat(args.at) if args.at else None
    weights = Weights.parse(args.weights) if args.weights else None
    ranking = priorities(
        Workspace.open(args.workspace),
        settings=settings,
        territory=args.territory,
        weights=weights,
        kind=args.zones,
        at=at,
    )
    if args.out:
        from territory.export import export_ranking

        n = export_ranking(ranking, args.out)
        print(f"{n} zone(s) classée(s) écrite(s) dans {args.out}", file=sys.stderr)
    if args.json:
        for note in ranking.notes:
            print(f"note : {note}", file=sys.stderr)
        print(json.dumps(ranking.records(), ensure_ascii=False, indent=2))
    else:
        print(ranking.to_text(top=args.top))
    return EXIT_OK


def _when(args: argparse.Namespace, settings: Settings) -> int:
    from territory.analysis.slots import when
    from territory.store import Workspace

    ws = Workspace.open(args.workspace)
    results = [
        when(
            ws,
            zone,
            settings=settings,
            territory=args.territory,
            week_start=args.week,
            open_type=args.open_type,
            top=args.top,
        )
        for zone in args.zone
    ]
    if args.json:
        dicts = [r.to_dict() for r in results]
        print(json.dumps(dicts[0] if len(dicts) == 1 else dicts, ensure_ascii=False, indent=2))
        return EXIT_OK
    for result in results:
        print(f"{result.name} ({result.code}) — semaine du {result.week_start:%d/%m/%Y}")
        if result.profile.basis:
            print(f"  profil : {result.profile.basis}")
        for phrase in result.slots["phrase"]:
            print(f"  {phrase}")
        for note in result.notes:
            print(f"  note : {note}")
    return EXIT_OK


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from territory.runs import run_file

    report = run_file(args.params, settings=settings)
    if args.json:
        print(json.dumps(report.manifest, ensure_ascii=False, indent=2, sort_keys=True))
    else:
        print(report.to_text())
    return EXIT_OK


def _calendar(args: argparse.Namespace, settings: Settings) -> int:
    from territory._errors import NetworkError
    from territory.calendar import KNOWN_FROM, KNOWN_UNTIL
    from territory.io.school_calendar import API_URL, check_school_calendar

    try:
        official, diffs = check_school_calendar(settings=settings)
    except NetworkError as exc:
        print(
            f"territory : calendrier officiel injoignable ({exc}) ; le calendrier livré reste "
            f"utilisé (du {KNOWN_FROM:%d/%m/%Y} au {KNOWN_UNTIL:%d/%m/%Y})",
            file=sys.stderr,
        )
        return EXIT_NOTHING
    if args.json:
        print(json.dumps({"source": API_URL, "periods": len(official), "differences": diffs},
                         ensure_ascii=False, indent=2))  # fmt: skip
        return EXIT_OK
    print(f"Calendrier scolaire officiel : {len(official)} période(s), zones A, B et C ({API_URL})")
    if not diffs:
        print("Le calendrier livré concorde avec les données officielles.")
    for line in diffs:
        print(f"  {line}")
    return EXIT_OK if not diffs else EXIT_NOTHING


def _plan(args: argparse.Namespace, settings: Settings) -> int:
    from territory.io.report import ImportReport
    from territory.rounds import outputs, sheets
    from territory.rounds import week as plans
    from territory.store import Workspace

    if args.sheet is not None and args.teams is None:
        raise ValidationError("--feuille ne concerne que le classeur des équipes (--teams)")
    ws = Workspace.open(args.workspace)
    territory = plans.session_territory(ws, args.territory)
    args.territory = territory  # the audit line names the territory planned
    if args.action == "restore":
        if args.version is None:
            raise ValidationError("plan restore : --version N (la version à restaurer) est requis")
        restored = plans.restore_version(
            ws, args.week, args.version, author=args.auteur, territory=territory
        )
        print(
            f"Semaine {restored.week} : version {args.version} restaurée comme version "
            f"{restored.version} ({len(restored.visits)} visite(s))"
        )
        return EXIT_OK
    if args.action == "export":
        if args.out is None:
            raise ValidationError(
                "plan export : --out FICHIER (.ics, .csv, .pdf ou .html) est requis"
            )
        saved = plans.load_plan(ws, args.week, territory=territory)
        if saved is None:
            raise ValidationError(f"aucun plan enregistré pour {args.week} : lancez « plan »")
        suffix = args.out.suffix.lower()
        if suffix == ".ics":
            earlier = plans.plan_versions(ws, args.week, before=saved.version, territory=territory)
            written = outputs.write_ics(saved, args.out, earlier=earlier)
        elif suffix == ".csv":
            written = [outputs.write_csv(saved, args.out)]
        elif suffix in (".pdf", ".html", ".htm"):
            written = [sheets.write_sheet(saved, ws, args.out, settings=settings)]
        else:
            raise ValidationError(
                f"extension « {suffix} » non prise en charge "
                "(.ics, .csv, .pdf ou .html : feuilles de route)"
            )
        print("\n".join(f"écrit : {path}" for path in written))
        return EXIT_OK
    if args.teams is not None:
        read = ImportReport(kind="teams", source=args.teams.name)
        table = plans.read_teams(
            args.teams,
            sheet=args.sheet,
            report=read,
            ws=ws,
            settings=settings,
            online=args.geocode_online,
        )
        plans.save_teams(ws, table, territory=territory)
        for note in read.notes:
            print(f"équipes : {note}", file=sys.stderr)
    plan, places = plans.plan_week(
        ws,
        args.week,
        settings=settings,
        territory=territory,
        outside_sector=args.outside_sector,
        time_limit=args.time_limit,
    )
    saved = plans.save_plan(
        ws,
        args.week,
        plan,
        places,
        change="optimisation (CLI)",
        author=args.auteur,
        territory=territory,
    )
    if args.json:
        print(json.dumps(saved.to_dict(), ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"Semaine {saved.week}, version {saved.version} : {len(saved.visits)} visite(s)")
    for row in saved.visits.itertuples(index=False):
        when = f"{outputs.day_label(row.start):<14} {row.start:%H:%M}-{row.end:%H:%M}"
        zone = outputs.zone_of(row)[0]
        print(f"  {row.team:<20} {when}  {row.place_name}" + (f" — {zone}" if zone else ""))
    for note in saved.notes:
        print(f"  note : {note}")
    return EXIT_OK


def _mapping(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TerritoryError(f"--mapping n'est pas du JSON valide : {plain_reason(exc)}") from exc
    if not isinstance(value, dict):
        raise TerritoryError('--mapping attend un objet JSON, ex. {"date": "Date RDV"}')
    return {str(k): str(v) for k, v in value.items()}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
