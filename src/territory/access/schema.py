"""The server's access schema: accounts, grants, sessions, the audit log, versioned.

Everything lives in one PostgreSQL schema, :data:`SCHEMA` (``territory_access``), owned by
the role that runs :func:`init` (``territory access init``, the server's operator). Its
steps are :data:`MIGRATIONS`, a numbered list recorded in ``territory_access.migrations``:
:func:`migrate` applies the missing ones, in order, under an advisory lock.

Two login roles are created (or updated) by :func:`init`, never owners, never superusers:

- the **app role** (``territory_app``): the role the app's data connection logs in as.
  Each transaction names its user with ``set_config('territory.session', TOKEN, true)``
  (:func:`territory.access.accounts.apply_session`); the token is a random secret whose
  SHA-256 only is stored, so the role cannot forge another user's session. It reads and
  writes the access tables only through row-level security (an admin's session manages
  accounts and grants, anyone reads their own grants) and inserts into the audit log,
  whose ``who`` the database fills from the session.
- the **login role** (``territory_login``): reads password hashes, counts failures,
  opens sessions and records ``login`` / ``login_failed``. Only the login step of the app
  holds it, so a query made in a user's session (the app role) can mint no session.

The workspace tables get their policies from :func:`territory.access.rls.install_policies`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from territory._errors import ValidationError

__all__ = [
    "APP_ROLE",
    "AUDIT_ACTIONS",
    "LOGIN_ROLE",
    "MIGRATIONS",
    "SCHEMA",
    "Roles",
    "init",
    "migrate",
    "version",
]

SCHEMA = "territory_access"
APP_ROLE = "territory_app"
LOGIN_ROLE = "territory_login"

AUDIT_ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "import",
    "undo",
    "export",
    "download",
    "plan_change",
    "purge",
    "role_change",
    "account_change",
)
"""What the audit log records (``action`` column)."""

_S = SCHEMA
_ACTIONS = ", ".join(f"'{a}'" for a in AUDIT_ACTIONS)
_ROLES = "'chef_equipe', 'comite', 'geographe', 'admin'"
_DEFINER = "SECURITY DEFINER SET search_path = pg_catalog, pg_temp"

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "comptes, droits, sessions, communes des territoires",
        f"""
CREATE TABLE {_S}.accounts (
    id bigserial PRIMARY KEY,
    email text NOT NULL UNIQUE CHECK (email = lower(btrim(email)) AND email LIKE '%@%'),
    name text NOT NULL DEFAULT '',
    organisation text NOT NULL DEFAULT '',
    password_hash text,
    failed_attempts integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    disabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE {_S}.grants (
    id bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES {_S}.accounts (id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ({_ROLES})),
    workspace text NOT NULL DEFAULT '*',
    territory text,
    CHECK (territory IS NULL OR workspace <> '*'),
    CHECK (role <> 'admin' OR (workspace = '*' AND territory IS NULL)),
    UNIQUE NULLS NOT DISTINCT (account_id, role, workspace, territory)
);
CREATE TABLE {_S}.territory_communes (
    workspace text NOT NULL,
    territory text NOT NULL,
    commune text NOT NULL,
    PRIMARY KEY (workspace, territory, commune)
);
CREATE TABLE {_S}.sessions (
    token_hash bytea PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES {_S}.accounts (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    ended_at timestamptz
);
CREATE TABLE {_S}.probes (
    email text PRIMARY KEY,
    failed_attempts integer NOT NULL DEFAULT 0,
    locked_until timestamptz
);
COMMENT ON TABLE {_S}.probes IS
    'failed logins for e-mails without an account: locked like accounts, so that the '
    'answer never tells whether an address exists';
CREATE TABLE {_S}.role_names (kind text PRIMARY KEY, name text NOT NULL);
""",
    ),
    (
        2,
        "journal d'audit en ajout seulement",
        f"""
CREATE TABLE {_S}.audit (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    who text NOT NULL,
    action text NOT NULL CHECK (action IN ({_ACTIONS})),
    workspace text,
    target text,
    details jsonb NOT NULL DEFAULT '{{}}'::jsonb
);
CREATE INDEX audit_at ON {_S}.audit (at);
CREATE FUNCTION {_S}.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'journal d''audit : ajout seulement (% refusé)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON {_S}.audit
    FOR EACH ROW EXECUTE FUNCTION {_S}.audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON {_S}.audit
    FOR EACH STATEMENT EXECUTE FUNCTION {_S}.audit_append_only();
""",
    ),
    (
        3,
        "fonctions de session et de portée (SECURITY DEFINER)",
        f"""
CREATE FUNCTION {_S}.current_account() RETURNS bigint
LANGUAGE sql STABLE {_DEFINER} AS $$
    SELECT s.account_id
    FROM {_S}.sessions s JOIN {_S}.accounts a ON a.id = s.account_id
    WHERE s.token_hash = sha256(convert_to(
              coalesce(nullif(current_setting('territory.session', true), ''), '-'), 'UTF8'))
      AND s.ended_at IS NULL AND s.expires_at > now() AND NOT a.disabled
$$;
CREATE FUNCTION {_S}.current_email() RETURNS text
LANGUAGE sql STABLE {_DEFINER} AS $$
    SELECT email FROM {_S}.accounts WHERE id = {_S}.current_account()
$$;
CREATE FUNCTION {_S}.is_admin() RETURNS boolean
LANGUAGE sql STABLE {_DEFINER} AS $$
    SELECT EXISTS (SELECT 1 FROM {_S}.grants
                   WHERE account_id = {_S}.current_account() AND role = 'admin')
$$;
CREATE FUNCTION {_S}.sees_all(ws text, writing boolean DEFAULT false) RETURNS boolean
LANGUAGE sql STABLE {_DEFINER} AS $$
    SELECT EXISTS (
        SELECT 1 FROM {_S}.grants
        WHERE account_id = {_S}.current_account()
          AND workspace IN (ws, '*') AND territory IS NULL
          AND (NOT writing OR role IN ('chef_equipe', 'admin')))
$$;
CREATE FUNCTION {_S}.communes_of(ws text, writing boolean DEFAULT false) RETURNS text[]
LANGUAGE sql STABLE {_DEFINER} AS $$
    SELECT coalesce(array_agg(DISTINCT tc.commune), '{{}}')
    FROM {_S}.grants g
    JOIN {_S}.territory_communes tc ON tc.workspace = g.workspace AND tc.territory = g.territory
    WHERE g.account_id = {_S}.current_account() AND g.workspace = ws
      AND (NOT writing OR g.role IN ('chef_equipe', 'admin'))
$$;
CREATE FUNCTION {_S}.end_session() RETURNS void
LANGUAGE sql VOLATILE {_DEFINER} AS $$
    UPDATE {_S}.sessions SET ended_at = now()
    WHERE token_hash = sha256(convert_to(
              coalesce(nullif(current_setting('territory.session', true), ''), '-'), 'UTF8'))
      AND ended_at IS NULL
$$;
CREATE FUNCTION {_S}.audit_who() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    email text := {_S}.current_email();
BEGIN
    NEW.at := now();
    IF email IS NOT NULL THEN
        NEW.who := email;
    ELSIF current_user = (SELECT name FROM {_S}.role_names WHERE kind = 'app') THEN
        RAISE EXCEPTION 'journal d''audit : aucune session ouverte'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_who BEFORE INSERT ON {_S}.audit
    FOR EACH ROW EXECUTE FUNCTION {_S}.audit_who();
REVOKE ALL ON FUNCTION {_S}.current_account(), {_S}.current_email(), {_S}.is_admin(),
    {_S}.sees_all(text, boolean), {_S}.communes_of(text, boolean), {_S}.end_session()
    FROM PUBLIC;
""",
    ),
    (
        4,
        "communes de la portée en ensemble (sous-requête hachée, pas un tableau parcouru)",
        f"""
CREATE FUNCTION {_S}.communes_in(ws text, writing boolean DEFAULT false) RETURNS SETOF text
LANGUAGE sql STABLE ROWS 200 {_DEFINER} AS $$
    SELECT DISTINCT tc.commune
    FROM {_S}.grants g
    JOIN {_S}.territory_communes tc ON tc.workspace = g.workspace AND tc.territory = g.territory
    WHERE g.account_id = {_S}.current_account() AND g.workspace = ws
      AND (NOT writing OR g.role IN ('chef_equipe', 'admin'))
$$;
REVOKE ALL ON FUNCTION {_S}.communes_in(text, boolean) FROM PUBLIC;
""",
    ),
    (
        5,
        "portée des tables d'un espace : droit sur l'espace, territoires nommés",
        f"""
CREATE FUNCTION {_S}.on_workspace(ws text, writing boolean DEFAULT false) RETURNS boolean
LANGUAGE sql STABLE {_DEFINER} AS $$
    SELECT EXISTS (
        SELECT 1 FROM {_S}.grants
        WHERE account_id = {_S}.current_account() AND workspace IN (ws, '*')
          AND (NOT writing OR role IN ('chef_equipe', 'admin')))
$$;
CREATE FUNCTION {_S}.territories_in(ws text, writing boolean DEFAULT false)
RETURNS SETOF text
LANGUAGE sql STABLE ROWS 10 {_DEFINER} AS $$
    SELECT DISTINCT territory FROM {_S}.grants
    WHERE account_id = {_S}.current_account() AND workspace = ws AND territory IS NOT NULL
      AND (NOT writing OR role IN ('chef_equipe', 'admin'))
$$;
REVOKE ALL ON FUNCTION {_S}.on_workspace(text, boolean), {_S}.territories_in(text, boolean)
    FROM PUBLIC;
CREATE FUNCTION {_S}.session_author() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    email text := {_S}.current_email();
BEGIN
    IF email IS NOT NULL THEN
        NEW.author := email;
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION {_S}.session_author() IS
    'a row written in a user''s session names its author from the session, whatever the '
    'caller passes (the batch log of each workspace)';
""",
    ),
)
"""The schema's steps, in order: (number, French description, SQL)."""


@dataclass(frozen=True)
class Roles:
    """The two login roles of the server (names are cluster-wide in PostgreSQL)."""

    app: str = APP_ROLE
    login: str = LOGIN_ROLE


def version(con: Any) -> int:
    """The last migration applied (0 on a server without the access schema)."""
    row = con.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{SCHEMA}.migrations",)).fetchone()
    if not row or not row[0]:
        return 0
    (last,) = con.execute(f"SELECT coalesce(max(version), 0) FROM {SCHEMA}.migrations").fetchone()
    return int(last)


def migrate(con: Any) -> list[int]:
    """Apply the missing steps of :data:`MIGRATIONS` in one transaction; their numbers."""
    with con.transaction():
        con.execute("SELECT pg_advisory_xact_lock(hashtext('territory_access'))")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA}.migrations (version integer PRIMARY KEY, "
            "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in con.execute(f"SELECT version FROM {SCHEMA}.migrations")}
        applied = []
        for number, name, sql in MIGRATIONS:
            if number in done:
                continue
            con.execute(sql)
            con.execute(
                f"INSERT INTO {SCHEMA}.migrations (version, name) VALUES (%s, %s)",
                (number, name),
            )
            applied.append(number)
    return applied


def init(
    con: Any,
    *,
    roles: Roles = Roles(),
    app_password: str | None = None,
    login_password: str | None = None,
) -> list[int]:
    """Create or update the access schema and its two login roles; the steps applied.

    ``con`` is the owner's connection (a role with ``CREATEROLE``, e.g. the database
    owner): it owns every table, so the app never connects as their owner. Passwords,
    when given, are set on the roles (``None`` leaves them as they are). Idempotent.
    """
    applied = migrate(con)
    with con.transaction():
        for name, password in ((roles.app, app_password), (roles.login, login_password)):
            _ensure_role(con, name, password)
        con.execute(
            f"INSERT INTO {SCHEMA}.role_names VALUES ('app', %s), ('login', %s) "
            "ON CONFLICT (kind) DO UPDATE SET name = excluded.name",
            (roles.app, roles.login),
        )
        for statement in _grants(roles):
            con.execute(statement)
    return applied


def _ensure_role(con: Any, name: str, password: str | None) -> None:
    from psycopg import errors, sql

    row = con.execute(
        "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = %s", (name,)
    ).fetchone()
    if row and row[0]:
        raise ValidationError(
            f"le rôle {name} est superutilisateur ou ignore la sécurité par ligne : "
            "l'application ne peut pas s'y connecter"
        )
    if not row:
        try:
            with con.transaction():  # another database of the cluster may create it meanwhile
                con.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
        except errors.DuplicateObject:
            pass
    if password is not None:
        con.execute(
            sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(password)
            )
        )


def _grants(roles: Roles) -> list[str]:
    """Privileges and policies of the two roles (dropped and made again: idempotent)."""
    app, login = f'"{roles.app}"', f'"{roles.login}"'
    s = SCHEMA
    statements = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {app}, {login}",
        f"GRANT USAGE ON SCHEMA {s} TO {app}, {login}",
        f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {s} TO {app}, {login}",
        f"GRANT SELECT ON {s}.role_names, {s}.migrations TO {app}, {login}",
        # the app role: through row-level security only
        (
            f"GRANT SELECT (id, email, name, organisation, failed_attempts, locked_until, "
            f"disabled, created_at) ON {s}.accounts TO {app}"
        ),
        f"GRANT INSERT, UPDATE ON {s}.accounts TO {app}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {s}.grants, {s}.territory_communes TO {app}",
        f"GRANT SELECT, INSERT ON {s}.audit TO {app}",
        (
            f"GRANT EXECUTE ON FUNCTION {s}.current_account(), {s}.current_email(), "
            f"{s}.is_admin(), {s}.sees_all(text, boolean), {s}.communes_of(text, boolean), "
            f"{s}.end_session(), {s}.communes_in(text, boolean), "
            f"{s}.on_workspace(text, boolean), {s}.territories_in(text, boolean) TO {app}"
        ),
        # the login role: passwords, failures, sessions, login records
        (
            f"GRANT SELECT, UPDATE (password_hash, failed_attempts, locked_until, name, "
            f"organisation) ON {s}.accounts TO {login}"
        ),
        f"GRANT SELECT ON {s}.accounts, {s}.grants TO {login}",
        f"GRANT SELECT, INSERT, UPDATE ON {s}.probes TO {login}",
        f"GRANT INSERT ON {s}.sessions, {s}.audit TO {login}",
        f"GRANT EXECUTE ON FUNCTION {s}.current_account(), {s}.current_email() TO {login}",
    ]
    policies: dict[str, list[tuple[str, str, str, str | None, str | None]]] = {
        "accounts": [
            ("app_admin", "ALL", app, "{s}.is_admin()", "{s}.is_admin()"),
            ("app_self", "SELECT", app, "id = {s}.current_account()", None),
            ("login_all", "ALL", login, "true", "true"),
        ],
        "grants": [
            ("app_admin", "ALL", app, "{s}.is_admin()", "{s}.is_admin()"),
            ("app_self", "SELECT", app, "account_id = {s}.current_account()", None),
            ("login_all", "SELECT", login, "true", None),
        ],
        "territory_communes": [
            ("app_admin", "ALL", app, "{s}.is_admin()", "{s}.is_admin()"),
        ],
        "audit": [
            ("app_admin", "SELECT", app, "{s}.is_admin()", None),
            ("app_insert", "INSERT", app, None, "true"),
            ("login_insert", "INSERT", login, None, "true"),
        ],
        "sessions": [("login_insert", "INSERT", login, None, "true")],
        "probes": [("login_all", "ALL", login, "true", "true")],
    }
    for table, rules in policies.items():
        statements.append(f"ALTER TABLE {s}.{table} ENABLE ROW LEVEL SECURITY")
        for name, command, role, using, check in rules:
            statements.append(f"DROP POLICY IF EXISTS {name} ON {s}.{table}")
            text = f"CREATE POLICY {name} ON {s}.{table} FOR {command} TO {role}"
            if using:
                text += f" USING ({using.format(s=s)})"
            if check:
                text += f" WITH CHECK ({check.format(s=s)})"
            statements.append(text)
    return statements
