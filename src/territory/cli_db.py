"""The server commands: ``territory db init``, ``territory db import``, ``territory db list``.

Kept apart from :mod:`territory.cli` (which registers them with :func:`add_commands`), like
:mod:`territory.cli_analysis`; same conventions: a French error on one line, exit code 2.
The server is ``TERRITORY_DATABASE_URL`` (or ``--url``); its password is never printed.

``territory db init`` checks the server and PostGIS (installed when the role may), then
puts row-level security on every table of every workspace when the server has accounts
(:func:`territory.access.rls.protect_workspace`: idempotent, run it again after
``territory users init`` or an upgrade);
``territory db import ESPACE.gpkg [--name NOM]`` copies every table of a workspace file
into a new schema and compares each table (rows and a digest) between the file and the
server, printing the report; any difference or error drops the schema again;
``territory db list`` lists the server's workspaces.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from territory._errors import TerritoryError
from territory.settings import Settings

__all__ = ["add_commands"]

EXIT_OK = 0


def add_commands(sub: Any) -> None:
    """Register ``db`` and its subcommands on the ``territory`` command's subparsers."""
    db = sub.add_parser("db", help="serveur PostgreSQL + PostGIS partagé (init, import, list)")
    commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMANDE")
    init = commands.add_parser("init", help="vérifier le serveur et PostGIS")
    _url_argument(init)
    init.set_defaults(func=_init)
    imp = commands.add_parser(
        "import", help="copier un espace de travail .gpkg sur le serveur, sans perte vérifiée"
    )
    imp.add_argument("file", type=Path, metavar="ESPACE.gpkg", help="fichier de l'espace")
    imp.add_argument("--name", metavar="NOM", help="nom sur le serveur (défaut : nom du fichier)")
    _url_argument(imp)
    imp.set_defaults(func=_import)
    ls = commands.add_parser("list", help="espaces de travail du serveur")
    _url_argument(ls)
    ls.set_defaults(func=_list)


def _url_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        metavar="URL",
        help="postgresql://… (défaut : TERRITORY_DATABASE_URL ; évitez d'y mettre le mot de passe)",
    )


def _url(args: argparse.Namespace, settings: Settings) -> str:
    from territory import _pg

    url = str(args.url or settings.database_url or "")
    if not url:
        raise TerritoryError(
            "aucun serveur : définissez TERRITORY_DATABASE_URL=postgresql://… ou --url"
        )
    if not _pg.is_server_url(url):
        raise TerritoryError(f"adresse de serveur invalide : {_pg.redact(url)}")
    return url


def _init(args: argparse.Namespace, settings: Settings) -> int:
    from territory._pgimport import init_server, protect_server

    url = _url(args, settings)
    print(f"Serveur prêt : {init_server(url)}")
    protected = protect_server(url)
    for schema, scopes in protected.items():
        if scopes:
            kinds = sorted(set(scopes.values()))
            print(f"{schema} : sécurité par ligne sur {len(scopes)} table(s) ({', '.join(kinds)})")
    return EXIT_OK


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from territory._pgimport import import_file

    report = import_file(args.file, _url(args, settings), name=args.name)
    out = sys.stdout if report.ok else sys.stderr
    print("\n".join(report.lines()), file=out)
    if not report.ok:
        raise TerritoryError(f"import de {args.file.name} annulé : des tables diffèrent")
    return EXIT_OK


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from territory._pgimport import list_workspaces

    found = list_workspaces(_url(args, settings))
    if not found:
        print("Aucun espace de travail sur le serveur (« territory db import » en ajoute).")
    for schema, name in found:
        print(f"{schema}\t{name}")
    return EXIT_OK
