"""The server's accounts on the command line: ``territory users …`` and ``territory audit``.

Kept apart from :mod:`territory.cli` (which registers them with :func:`add_commands`), like
:mod:`territory.cli_analysis`; same conventions: heavy imports inside each command, a
French error on one line and exit code 2. (``territory access`` is already the
accessibility command, so the schema's set-up is ``territory users init``.)

Who is acting
-------------
Every command talks to ``TERRITORY_DATABASE_URL`` and acts in one of two ways:

- **the operator** (the URL of the schema's owner, as for ``psql``): ``users init`` creates
  the schema and the two login roles; the other commands need ``--as EMAIL``, an account
  with the ``admin`` role, whose e-mail the audit log records. The one exception is the
  first administrator: ``users add EMAIL --role admin`` while the server has none.
- **a user** (the app role's URL and ``TERRITORY_SESSION_TOKEN``, printed by ``territory
  users login EMAIL --password-stdin`` through ``TERRITORY_LOGIN_DATABASE_URL``): the
  command runs in that session, under row-level security, exactly as the app would, and
  the audit log names the session's account whatever ``--as`` says.

``territory users init [--passwords-stdin]`` (two lines: the app role's password, the
login role's), ``users add EMAIL --role ROLE [--workspace W] [--territory T]
[--password-stdin]``, ``users list [--json]``, ``users grant|revoke EMAIL --role ROLE
[--workspace W] [--territory T]``, ``users unlock EMAIL``, ``users disable EMAIL
[--enable]``, ``users password EMAIL --password-stdin``, ``users territories FILE.gpkg
--workspace W`` (the communes of a workspace's territories, the row-level security's
scope), ``users login EMAIL --password-stdin``; ``territory audit [--since AAAA-MM-JJ]
[--until AAAA-MM-JJ] [--who EMAIL] [--action A] [--workspace W] [--csv FICHIER]``.

The workspace commands that change or hand out a server's data (imports, undos, purges,
plans, exports) write their audit line too, as the pages do: :func:`record_command`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from territory._errors import TerritoryError, ValidationError, plain_reason
from territory.access.identity import Role
from territory.access.schema import AUDIT_ACTIONS
from territory.settings import Settings

__all__ = ["add_commands", "record_command"]

EXIT_OK = 0
ROLES = tuple(role.value for role in Role)
ACTIONS = AUDIT_ACTIONS


def add_commands(sub: Any) -> None:
    """Register ``users`` and ``audit`` on the ``territory`` command's subparsers."""
    users = sub.add_parser("users", help="comptes et droits du serveur partagé")
    actions = users.add_subparsers(dest="action", required=True, metavar="ACTION")

    init = actions.add_parser("init", help="créer le schéma des comptes et les rôles du serveur")
    init.add_argument(
        "--passwords-stdin",
        action="store_true",
        help="lire sur l'entrée standard le mot de passe du rôle de l'application, puis "
        "celui du rôle de connexion (une ligne chacun)",
    )
    init.set_defaults(func=_init)

    add = actions.add_parser("add", help="ouvrir un compte et lui donner un rôle")
    _email(add)
    _scope(add, required=True)
    add.add_argument("--name", default="", metavar="NOM", help="nom affiché")
    add.add_argument("--organisation", default="", metavar="ORG", help="structure")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="mot de passe local lu sur l'entrée standard (sinon : connexion OpenID seule)",
    )
    _as(add)
    add.set_defaults(func=_add)

    listing = actions.add_parser("list", help="lister les comptes, leurs droits et verrous")
    listing.add_argument("--json", action="store_true", help="sortie JSON")
    _as(listing)
    listing.set_defaults(func=_list)

    for name, helptext, func in (
        ("grant", "donner un rôle (sur un espace, un territoire)", _grant),
        ("revoke", "retirer un rôle", _revoke),
    ):
        cmd = actions.add_parser(name, help=helptext)
        _email(cmd)
        _scope(cmd, required=True)
        _as(cmd)
        cmd.set_defaults(func=func)

    unlock = actions.add_parser("unlock", help="lever le verrou après des échecs de connexion")
    _email(unlock)
    _as(unlock)
    unlock.set_defaults(func=_unlock)

    disable = actions.add_parser("disable", help="désactiver un compte (ses sessions cessent)")
    _email(disable)
    disable.add_argument("--enable", action="store_true", help="réactiver le compte")
    _as(disable)
    disable.set_defaults(func=_disable)

    password = actions.add_parser("password", help="définir le mot de passe local d'un compte")
    _email(password)
    password.add_argument("--password-stdin", action="store_true", required=True)
    _as(password)
    password.set_defaults(func=_password)

    terr = actions.add_parser(
        "territories",
        help="enregistrer les communes des territoires d'un espace (portée des droits)",
    )
    terr.add_argument("file", type=Path, metavar="FICHIER.gpkg", help="espace de travail")
    terr.add_argument("--workspace", required=True, metavar="NOM", help="nom sur le serveur")
    _as(terr)
    terr.set_defaults(func=_territories)

    login = actions.add_parser(
        "login", help="ouvrir une session et afficher son jeton (TERRITORY_SESSION_TOKEN)"
    )
    _email(login)
    login.add_argument("--password-stdin", action="store_true", required=True)
    login.set_defaults(func=_login)

    audit = sub.add_parser("audit", help="journal d'audit du serveur (administrateurs)")
    audit.add_argument("--since", type=_day, metavar="AAAA-MM-JJ", help="depuis ce jour")
    audit.add_argument("--until", type=_day, metavar="AAAA-MM-JJ", help="avant ce jour")
    audit.add_argument("--who", metavar="EMAIL", help="une personne")
    audit.add_argument("--action", choices=ACTIONS, help="une action")
    audit.add_argument("--workspace", metavar="NOM", help="un espace de travail")
    audit.add_argument("--csv", type=Path, metavar="FICHIER", help="écrire un CSV pour Excel")
    audit.add_argument("--limit", type=int, default=50, help="lignes affichées (défaut : 50)")
    _as(audit)
    audit.set_defaults(func=_audit)


def _email(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("email", metavar="EMAIL", help="adresse e-mail du compte")


def _scope(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--role", choices=ROLES, required=required, help="rôle")
    parser.add_argument(
        "--workspace", default="*", metavar="NOM", help="espace de travail (défaut : tous)"
    )
    parser.add_argument("--territory", metavar="NOM", help="territoire (défaut : tout l'espace)")


def _as(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as",
        dest="actor",
        metavar="EMAIL",
        help="compte administrateur au nom duquel agir (inscrit au journal d'audit)",
    )


def _day(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"date attendue AAAA-MM-JJ, reçu {text!r}") from exc


def _url(settings: Settings) -> str:
    if not settings.database_url:
        raise ValidationError(
            "TERRITORY_DATABASE_URL non défini : ces commandes parlent au serveur PostgreSQL"
        )
    return settings.database_url


def _stdin_line() -> str:
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise ValidationError("mot de passe attendu sur l'entrée standard")
    return line


@contextmanager
def _acting(settings: Settings, actor: str | None, *, bootstrap: bool = False) -> Iterator[Any]:
    """One transaction as the operator (``--as`` an admin) or in the user's session.

    Yields ``(connection, who)``; commits at the end, rolls back on any error.
    """
    from psycopg import errors

    from territory import _pg
    from territory.access import accounts
    from territory.access.schema import SCHEMA

    con = _pg.connect(_url(settings))
    try:
        if settings.session_token:
            accounts.apply_session(con, settings.session_token)
            row = con.execute(f"SELECT {SCHEMA}.current_email()").fetchone()
            if not row or row[0] is None:
                raise ValidationError(
                    "session expirée ou inconnue (TERRITORY_SESSION_TOKEN) : "
                    "territory users login EMAIL --password-stdin"
                )
            who = str(row[0])
        else:
            who = _operator(con, actor, bootstrap=bootstrap)
        yield con, who
        con.commit()
    except errors.InsufficientPrivilege as exc:
        con.rollback()
        raise ValidationError(
            "droits insuffisants sur le serveur pour cette commande (compte administrateur "
            "ou URL du propriétaire du schéma nécessaires)"
        ) from exc
    except errors.UndefinedTable as exc:
        con.rollback()
        raise ValidationError(
            "schéma des comptes absent : lancez d'abord territory users init"
        ) from exc
    except BaseException:
        con.rollback()
        raise
    finally:
        con.close()


def _operator(con: Any, actor: str | None, *, bootstrap: bool) -> str:
    """The operator's ``--as`` account, checked to be an enabled admin."""
    from territory.access.schema import SCHEMA

    admins = {
        row[0]
        for row in con.execute(
            f"SELECT a.email FROM {SCHEMA}.accounts a JOIN {SCHEMA}.grants g "
            "ON g.account_id = a.id WHERE g.role = 'admin' AND NOT a.disabled"
        )
    }
    if bootstrap and not admins:
        return "operateur"
    if not actor:
        raise ValidationError("--as EMAIL manquant : le compte administrateur qui agit")
    if actor.strip().lower() not in admins:
        raise ValidationError(f"{actor} n'est pas un compte administrateur actif du serveur")
    return actor.strip().lower()


def _init(args: argparse.Namespace, settings: Settings) -> int:
    from psycopg import errors

    from territory import _pg
    from territory.access import schema

    app_password = login_password = None
    if args.passwords_stdin:
        app_password, login_password = _stdin_line(), _stdin_line()
    with _pg.connect(_url(settings), autocommit=True) as con:
        try:
            applied = schema.init(con, app_password=app_password, login_password=login_password)
        except errors.InsufficientPrivilege as exc:
            raise ValidationError(
                "droits insuffisants : territory users init demande l'URL du propriétaire "
                "de la base (avec CREATEROLE)"
            ) from exc
    steps = ", ".join(map(str, applied)) if applied else "aucune (déjà à jour)"
    print(f"Schéma des comptes prêt ; étapes appliquées : {steps}")
    return EXIT_OK


def _add(args: argparse.Namespace, settings: Settings) -> int:
    from territory.access import accounts

    password = _stdin_line() if args.password_stdin else None
    bootstrap = args.role == "admin"
    with _acting(settings, args.actor, bootstrap=bootstrap) as (con, who):
        accounts.add_account(
            con,
            args.email,
            by=who,
            name=args.name,
            organisation=args.organisation,
            password=password,
        )
        accounts.grant(
            con, args.email, args.role, by=who, workspace=args.workspace, territory=args.territory
        )
    print(f"Compte ouvert : {args.email.strip().lower()} ({_scope_text(args)})")
    return EXIT_OK


def _scope_text(args: argparse.Namespace) -> str:
    from territory.access.identity import Role

    where = "tous les espaces" if args.workspace == "*" else args.workspace
    if args.territory:
        where += f", territoire {args.territory}"
    return f"{Role(args.role).label}, {where}"


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from territory.access import accounts

    now = datetime.now(UTC)
    with _acting(settings, args.actor) as (con, _who):
        found = accounts.accounts(con)
    if args.json:
        data = [
            {
                "email": a.email,
                "nom": a.name,
                "organisation": a.organisation,
                "mot_de_passe_local": a.has_password,
                "echecs": a.failed_attempts,
                "verrouille": a.locked(now),
                "desactive": a.disabled,
                "droits": [
                    {"role": g.role.value, "espace": g.workspace, "territoire": g.territory}
                    for g in a.grants
                ],
            }
            for a in found
        ]
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return EXIT_OK
    for a in found:
        flags = [f for f, on in (("verrouillé", a.locked(now)), ("désactivé", a.disabled)) if on]
        grants = "; ".join(
            f"{g.role.label} {'tous les espaces' if g.workspace == '*' else g.workspace}"
            + (f" / {g.territory}" if g.territory else "")
            for g in a.grants
        )
        print(f"{a.email:<32} {grants or 'aucun droit'}{' — ' + ', '.join(flags) if flags else ''}")
    if not found:
        print("Aucun compte.")
    return EXIT_OK


def _grant(args: argparse.Namespace, settings: Settings) -> int:
    from territory.access import accounts

    with _acting(settings, args.actor) as (con, who):
        added = accounts.grant(
            con, args.email, args.role, by=who, workspace=args.workspace, territory=args.territory
        )
    print(("Droit donné" if added else "Droit déjà présent") + f" : {_scope_text(args)}")
    return EXIT_OK


def _revoke(args: argparse.Namespace, settings: Settings) -> int:
    from territory.access import accounts

    with _acting(settings, args.actor) as (con, who):
        removed = accounts.revoke(
            con, args.email, args.role, by=who, workspace=args.workspace, territory=args.territory
        )
    if not removed:
        raise ValidationError(f"{args.email} n'a pas ce droit : {_scope_text(args)}")
    print(f"Droit retiré : {_scope_text(args)}")
    return EXIT_OK


def _unlock(args: argparse.Namespace, settings: Settings) -> int:
    from territory.access import accounts

    with _acting(settings, args.actor) as (con, who):
        accounts.unlock(con, args.email, by=who)
    print(f"Compte déverrouillé : {args.email.strip().lower()}")
    return EXIT_OK


def _disable(args: argparse.Namespace, settings: Settings) -> int:
    from territory.access import accounts

    with _acting(settings, args.actor) as (con, who):
        accounts.disable(con, args.email, by=who, disabled=not args.enable)
    state = "réactivé" if args.enable else "désactivé"
    print(f"Compte {state} : {args.email.strip().lower()}")
    return EXIT_OK


def _password(args: argparse.Namespace, settings: Settings) -> int:
    from territory.access import accounts

    password = _stdin_line()
    with _acting(settings, args.actor) as (con, who):
        accounts.set_password(con, args.email, password, by=who)
    print(f"Mot de passe défini : {args.email.strip().lower()}")
    return EXIT_OK


def _territories(args: argparse.Namespace, settings: Settings) -> int:
    from territory.access.rls import set_territory_communes
    from territory.store import Workspace
    from territory.territories import list_territories, resolve

    ws = Workspace.open(args.file)
    resolved = {t.name: resolve(ws, t.name) for t in list_territories(ws)}
    if not resolved:
        raise ValidationError(f"{args.file.name} ne définit aucun territoire")
    with _acting(settings, args.actor) as (con, _who):
        for name, communes in resolved.items():
            set_territory_communes(con, args.workspace, name, communes)
    for name, communes in resolved.items():
        plural = "s" if len(communes) > 1 else ""
        print(f"{args.workspace} / {name} : {len(communes)} commune{plural}")
    return EXIT_OK


def _login(args: argparse.Namespace, settings: Settings) -> int:
    from territory import _pg
    from territory.access import accounts

    if not settings.login_database_url:
        raise ValidationError("TERRITORY_LOGIN_DATABASE_URL non défini : le rôle de connexion")
    password = _stdin_line()
    with _pg.connect(settings.login_database_url, autocommit=True) as con:
        session = accounts.login_local(con, args.email, password)
    print(session.token)
    return EXIT_OK


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    from territory.access import audit

    with _acting(settings, args.actor) as (con, _who):
        rows = audit.entries(
            con,
            since=args.since,
            until=args.until,
            who=args.who,
            action=args.action,
            workspace=args.workspace,
        )
    if args.csv:
        try:
            args.csv.write_bytes(audit.to_csv(rows))
        except OSError as exc:
            raise TerritoryError(f"impossible d'écrire {args.csv} : {exc.strerror}") from exc
        print(f"{len(rows)} lignes écrites dans {args.csv}")
        return EXIT_OK
    for e in rows[: args.limit]:
        where = " ".join(x for x in (e.workspace or "", e.target or "") if x)
        label = audit.ACTION_LABELS.get(e.action, e.action)
        print(f"{e.at:%Y-%m-%d %H:%M:%S} UTC  {e.who:<28} {label:<24} {where}")
    if len(rows) > args.limit:
        print(f"… {len(rows) - args.limit} lignes de plus (--limit, --csv)")
    if not rows:
        print("Aucune ligne.")
    return EXIT_OK


def record_command(args: argparse.Namespace, settings: Settings) -> None:
    """The audit line of a command that changed or exported a workspace of the server.

    A command's parser declares its action (``set_defaults(audit="import")``, or one per
    sub-action; with ``audit_out=True``, only when ``--out`` wrote a file). The line is
    written once the command succeeded, as the pages write theirs: in the user's session
    (``TERRITORY_SESSION_TOKEN``, the log names the account) or as the operator (the
    owner's URL: « operateur »). A workspace file writes nothing (a laptop has no log),
    nor a server without the accounts' schema; a line that cannot be written is an error.
    """
    action = getattr(args, "audit", None)
    if isinstance(action, dict):  # by the command's own action (``plan export``)
        action = action.get(getattr(args, "action", None))
    if not action or (getattr(args, "audit_out", False) and not getattr(args, "out", None)):
        return
    from territory.store import server_target

    workspace = getattr(args, "workspace", None) or settings.workspace
    server = server_target(workspace) if workspace else None
    if server is None:
        return
    url, schema, token = server
    import psycopg

    from territory import _pg
    from territory.access import accounts, audit

    files = [Path(f).name for f in getattr(args, "files", None) or []]
    out = getattr(args, "out", None)
    target = ", ".join(files) or (Path(out).name if out else None)
    if getattr(args, "batch", None) is not None:
        target = f"lot {args.batch}"
    command = " ".join(str(v) for v in (args.command, getattr(args, "action", None)) if v)
    try:
        with _pg.connect(url) as con:
            if token:
                accounts.apply_session(con, token)
            elif not _has_audit_log(con):
                return  # a server without accounts: no log to write
            audit.record(
                con,
                "" if token else "operateur",
                action,
                workspace=schema,
                target=target,
                details={"commande": f"territory {command}", **_planned(args)},
            )
    except (TerritoryError, psycopg.Error) as exc:
        raise ValidationError(
            f"fait, mais le journal d'audit n'a pas été écrit : {plain_reason(exc)}"
        ) from exc


def _planned(args: argparse.Namespace) -> dict[str, str]:
    """The week and the territory a ``plan`` command worked on (none for another command)."""
    if args.command != "plan":
        return {}
    return {"semaine": str(args.week), "territoire": args.territory or "tout l'espace"}


def _has_audit_log(con: Any) -> bool:
    from territory.access.schema import SCHEMA

    row = con.execute(f"SELECT to_regclass('{SCHEMA}.audit') IS NOT NULL").fetchone()
    return bool(row and row[0])
