"""Accounts and sessions: local passwords (argon2id), lockout, OIDC identities, grants.

Three kinds of connection call these functions (:mod:`territory.access.schema`):

- the **owner** (the operator's command line, ``territory users …``) or an **admin's
  session** on the app role (the « Administration » page) manage accounts and grants:
  :func:`add_account`, :func:`grant`, :func:`revoke`, :func:`unlock`, :func:`disable`,
  :func:`set_password` — each change is written to the audit log in the same transaction;
- the **login role** checks a password (:func:`login_local`) or maps an OpenID Connect
  identity to its account by e-mail (:func:`login_identity`) and opens a session: a random
  token, of which the server keeps only the SHA-256;
- the **app role** names the session in each transaction (:func:`apply_session`) and reads
  the user's current grants (:func:`current_access`): a revoked grant or a disabled account
  takes effect at the next rerun.

Passwords are hashed with argon2id (argon2-cffi's :class:`~argon2.PasswordHasher`) and
rehashed at the next login when the parameters change. After :data:`MAX_FAILURES` failures
an address is locked for :data:`LOCK_MINUTES` minutes, whether or not it has an account:
the French answer never tells whether an address exists.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from territory._errors import TerritoryError, ValidationError
from territory.access.audit import record
from territory.access.identity import Identity, Role
from territory.access.permissions import ALL, Access, Grant
from territory.access.schema import SCHEMA

__all__ = [
    "BAD_LOGIN",
    "LOCKED",
    "LOCK_MINUTES",
    "MAX_FAILURES",
    "MIN_PASSWORD",
    "Account",
    "LoginError",
    "Session",
    "account",
    "accounts",
    "add_account",
    "apply_session",
    "current_access",
    "disable",
    "end_session",
    "grant",
    "login_identity",
    "login_local",
    "revoke",
    "set_password",
    "unlock",
]

MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 12
SESSION_HOURS = 12
BAD_LOGIN = "Adresse e-mail ou mot de passe incorrect."
LOCKED = (
    f"Trop d'essais infructueux : la connexion est bloquée {LOCK_MINUTES} minutes "
    "pour cette adresse."
)
_S = SCHEMA


class LoginError(TerritoryError):
    """A login the server refuses; the message is the one French line to show."""


@dataclass(frozen=True)
class Account:
    """An account as an admin sees it (never its password hash)."""

    id: int
    email: str
    name: str
    organisation: str
    has_password: bool
    failed_attempts: int
    locked_until: datetime | None
    disabled: bool
    grants: tuple[Grant, ...]

    def locked(self, now: datetime) -> bool:
        """Whether the account is locked at ``now``."""
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True)
class Session:
    """A logged-in user: the token their transactions carry, who they are, their grants."""

    token: str
    identity: Identity
    access: Access


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2id with the library's current parameters


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    """A hash to verify against when the address has no account (same time either way)."""
    if not _DUMMY:
        _DUMMY.append(_hasher().hash(secrets.token_hex(16)))
    return _DUMMY[0]


def _clean_email(email: str) -> str:
    text = email.strip().lower()
    if "@" not in text or text.startswith("@") or text.endswith("@") or " " in text:
        raise ValidationError(f"adresse e-mail invalide : {email!r}")
    return text


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"mot de passe trop court : au moins {MIN_PASSWORD} caractères")


# --------------------------------------------------------------------- administration
def add_account(
    con: Any,
    email: str,
    *,
    by: str,
    name: str = "",
    organisation: str = "",
    password: str | None = None,
) -> int:
    """Create an account (no password: OpenID Connect only); its id. Audited."""
    from psycopg import errors

    email = _clean_email(email)
    hashed = None
    if password is not None:
        _check_password(password)
        hashed = _hasher().hash(password)
    try:
        with con.transaction():
            (account_id,) = con.execute(
                f"INSERT INTO {_S}.accounts (email, name, organisation, password_hash) "
                "VALUES (%s, %s, %s, %s) RETURNING id",
                (email, name, organisation, hashed),
            ).fetchone()
            record(
                con,
                by,
                "account_change",
                target=email,
                details={"change": "created", "password": hashed is not None},
            )
    except errors.UniqueViolation as exc:
        raise ValidationError(f"un compte existe déjà pour {email}") from exc
    return int(account_id)


def _account_id(con: Any, email: str) -> int:
    row = con.execute(
        f"SELECT id FROM {_S}.accounts WHERE email = %s", (_clean_email(email),)
    ).fetchone()
    if not row:
        raise ValidationError(f"aucun compte pour {email.strip().lower()}")
    return int(row[0])


def set_password(con: Any, email: str, password: str, *, by: str) -> None:
    """Set (or reset) a local password; unlocks the account. Audited."""
    _check_password(password)
    with con.transaction():
        account_id = _account_id(con, email)
        con.execute(
            f"UPDATE {_S}.accounts SET password_hash = %s, failed_attempts = 0, "
            "locked_until = NULL WHERE id = %s",
            (_hasher().hash(password), account_id),
        )
        record(con, by, "account_change", target=email.lower(), details={"change": "password"})


def grant(
    con: Any,
    email: str,
    role: Role | str,
    *,
    by: str,
    workspace: str = ALL,
    territory: str | None = None,
) -> bool:
    """Give ``role`` on ``workspace`` / ``territory``; False when it was already given."""
    role = _role(role)
    if role is Role.ADMIN and (workspace != ALL or territory):
        raise ValidationError("le rôle admin vaut pour tout le serveur : sans espace ni territoire")
    if territory and workspace == ALL:
        raise ValidationError("un territoire se donne dans un espace de travail (--workspace)")
    with con.transaction():
        account_id = _account_id(con, email)
        row = con.execute(
            f"INSERT INTO {_S}.grants (account_id, role, workspace, territory) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            (account_id, role.value, workspace, territory),
        ).fetchone()
        if row:
            record(
                con,
                by,
                "role_change",
                workspace=None if workspace == ALL else workspace,
                target=email.lower(),
                details={"change": "grant", "role": role.value, "territory": territory},
            )
    return row is not None


def revoke(
    con: Any,
    email: str,
    role: Role | str,
    *,
    by: str,
    workspace: str = ALL,
    territory: str | None = None,
) -> int:
    """Take ``role`` back on ``workspace`` / ``territory``; how many grants were removed."""
    role = _role(role)
    with con.transaction():
        account_id = _account_id(con, email)
        removed = con.execute(
            f"DELETE FROM {_S}.grants WHERE account_id = %s AND role = %s AND workspace = %s "
            "AND territory IS NOT DISTINCT FROM %s",
            (account_id, role.value, workspace, territory),
        ).rowcount
        if removed:
            record(
                con,
                by,
                "role_change",
                workspace=None if workspace == ALL else workspace,
                target=email.lower(),
                details={"change": "revoke", "role": role.value, "territory": territory},
            )
    return int(removed)


def unlock(con: Any, email: str, *, by: str) -> None:
    """Clear an account's failures and lock. Audited."""
    with con.transaction():
        account_id = _account_id(con, email)
        con.execute(
            f"UPDATE {_S}.accounts SET failed_attempts = 0, locked_until = NULL WHERE id = %s",
            (account_id,),
        )
        record(con, by, "account_change", target=email.lower(), details={"change": "unlock"})


def disable(con: Any, email: str, *, by: str, disabled: bool = True) -> None:
    """Disable (or enable again) an account: its sessions stop at once. Audited."""
    with con.transaction():
        account_id = _account_id(con, email)
        con.execute(f"UPDATE {_S}.accounts SET disabled = %s WHERE id = %s", (disabled, account_id))
        record(
            con,
            by,
            "account_change",
            target=email.lower(),
            details={"change": "disable" if disabled else "enable"},
        )


def accounts(con: Any) -> list[Account]:
    """Every account with its grants, by e-mail (the owner or an admin's session)."""
    grants: dict[int, list[Grant]] = {}
    for account_id, role, workspace, territory in con.execute(
        f"SELECT account_id, role, workspace, territory FROM {_S}.grants "
        "ORDER BY role, workspace, territory NULLS FIRST"
    ):
        grants.setdefault(account_id, []).append(Grant(Role(role), workspace, territory))
    rows = con.execute(
        f"SELECT id, email, name, organisation, failed_attempts, locked_until, disabled "
        f"FROM {_S}.accounts ORDER BY email"
    ).fetchall()
    has_password = _has_password(con)
    return [
        Account(
            id=r[0],
            email=r[1],
            name=r[2],
            organisation=r[3],
            has_password=r[0] in has_password,
            failed_attempts=r[4],
            locked_until=r[5],
            disabled=r[6],
            grants=tuple(grants.get(r[0], ())),
        )
        for r in rows
    ]


def account(con: Any, email: str) -> Account:
    """One account by e-mail, or a French error."""
    email = _clean_email(email)
    for found in accounts(con):
        if found.email == email:
            return found
    raise ValidationError(f"aucun compte pour {email}")


def _has_password(con: Any) -> set[int]:
    """Accounts with a local password (the owner reads the hashes; the app role cannot)."""
    from psycopg import errors

    try:
        with con.transaction():
            rows = con.execute(
                f"SELECT id FROM {_S}.accounts WHERE password_hash IS NOT NULL"
            ).fetchall()
    except errors.InsufficientPrivilege:
        return set()
    return {r[0] for r in rows}


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError as exc:
        names = ", ".join(r.value for r in Role)
        raise ValidationError(f"rôle inconnu : {role} (rôles : {names})") from exc


# ------------------------------------------------------------------------ login
def login_local(con: Any, email: str, password: str) -> Session:
    """Check a local password on the login role's connection; a session, or :class:`LoginError`.

    Every failure counts, for an unknown address too (``probes``); the fifth locks the
    address for :data:`LOCK_MINUTES` minutes. The refusal is the same sentence whether the
    address exists or not; a disabled account is said so only with the right password.
    """
    from argon2.exceptions import InvalidHashError, VerificationError

    email = email.strip().lower()
    hasher = _hasher()
    refusal: str | None = None
    session: Session | None = None
    with con.transaction():
        row = con.execute(
            f"SELECT id, password_hash, locked_until > now(), disabled, name, organisation "
            f"FROM {_S}.accounts WHERE email = %s FOR UPDATE",
            (email,),
        ).fetchone()
        if row is None:
            refusal = _probe(con, email, hasher)
        else:
            account_id, hashed, locked, disabled, name, organisation = row
            ok = False
            if not locked:
                try:  # an account without a password (OpenID Connect only) costs the same
                    ok = hasher.verify(hashed or _dummy_hash(), password) and hashed is not None
                except (VerificationError, InvalidHashError):
                    ok = False
            if locked:
                refusal = LOCKED
                record(con, email, "login_failed", details={"reason": "locked"})
            elif not ok:
                refusal = _count_failure(con, account_id, email)
            elif disabled:
                refusal = "Ce compte est désactivé : adressez-vous à un administrateur."
                record(con, email, "login_failed", details={"reason": "disabled"})
            else:
                new_hash = hasher.hash(password) if hasher.check_needs_rehash(hashed) else hashed
                con.execute(
                    f"UPDATE {_S}.accounts SET failed_attempts = 0, locked_until = NULL, "
                    "password_hash = %s WHERE id = %s",
                    (new_hash, account_id),
                )
                identity = Identity(str(account_id), email, "local", name, organisation)
                session = _open(con, account_id, identity, {"provider": "local"})
                if session is None:
                    refusal = _NO_GRANT
    if refusal is not None or session is None:
        raise LoginError(refusal or BAD_LOGIN)
    return session


_NO_GRANT = (
    "Votre compte n'a encore aucun droit sur ce serveur : demandez à un administrateur "
    "de vous en donner."
)


def login_identity(con: Any, identity: Identity) -> Session:
    """Map an OpenID Connect identity to its account by e-mail; a session or a French refusal.

    An administrator opens the account and grants its roles before the first login; the
    provider's name and organisation are copied to the account at each login.
    """
    refusal: str | None = None
    session: Session | None = None
    with con.transaction():
        row = con.execute(
            f"SELECT id, disabled FROM {_S}.accounts WHERE email = %s FOR UPDATE",
            (identity.email,),
        ).fetchone()
        if row is None:
            refusal = (
                f"Aucun compte n'est ouvert pour {identity.email} sur ce serveur : demandez "
                "à un administrateur de vous donner accès."
            )
            record(con, identity.email, "login_failed", details={"reason": "unknown"})
        elif row[1]:
            refusal = "Ce compte est désactivé : adressez-vous à un administrateur."
            record(con, identity.email, "login_failed", details={"reason": "disabled"})
        else:
            con.execute(
                f"UPDATE {_S}.accounts SET name = coalesce(nullif(%s, ''), name), "
                "organisation = coalesce(nullif(%s, ''), organisation) WHERE id = %s",
                (identity.name, identity.organisation, row[0]),
            )
            session = _open(con, row[0], identity, {"provider": identity.provider})
            if session is None:
                refusal = _NO_GRANT
    if refusal is not None or session is None:
        raise LoginError(refusal or _NO_GRANT)
    return session


def _probe(con: Any, email: str, hasher: Any) -> str:
    """A failed login for an address without an account: counted and locked the same way."""
    from argon2.exceptions import VerificationError

    locked = con.execute(
        f"SELECT locked_until > now() FROM {_S}.probes WHERE email = %s", (email,)
    ).fetchone()
    record(
        con, email, "login_failed", details={"reason": "locked" if locked and locked[0] else "bad"}
    )
    if locked and locked[0]:
        return LOCKED
    with contextlib.suppress(VerificationError):
        hasher.verify(_dummy_hash(), "-")  # the same work as a wrong password
    (failures,) = con.execute(
        f"INSERT INTO {_S}.probes (email, failed_attempts) VALUES (%s, 1) "
        "ON CONFLICT (email) DO UPDATE SET failed_attempts = CASE WHEN "
        f"{_S}.probes.locked_until IS NOT NULL THEN 1 ELSE {_S}.probes.failed_attempts + 1 END, "
        "locked_until = NULL RETURNING failed_attempts",
        (email,),
    ).fetchone()
    if failures >= MAX_FAILURES:
        con.execute(
            f"UPDATE {_S}.probes SET locked_until = now() + %s WHERE email = %s",
            (timedelta(minutes=LOCK_MINUTES), email),
        )
        return LOCKED
    return BAD_LOGIN


def _count_failure(con: Any, account_id: int, email: str) -> str:
    (failures,) = con.execute(
        f"UPDATE {_S}.accounts SET failed_attempts = CASE WHEN locked_until IS NOT NULL "
        "THEN 1 ELSE failed_attempts + 1 END, locked_until = NULL WHERE id = %s "
        "RETURNING failed_attempts",
        (account_id,),
    ).fetchone()
    record(con, email, "login_failed", details={"reason": "bad", "failures": failures})
    if failures >= MAX_FAILURES:
        con.execute(
            f"UPDATE {_S}.accounts SET locked_until = now() + %s WHERE id = %s",
            (timedelta(minutes=LOCK_MINUTES), account_id),
        )
        return LOCKED
    return BAD_LOGIN


def _open(con: Any, account_id: int, identity: Identity, details: dict[str, str]) -> Session | None:
    """A new session for an account with at least one grant (None without any)."""
    grants = tuple(
        Grant(Role(role), workspace, territory)
        for role, workspace, territory in con.execute(
            f"SELECT role, workspace, territory FROM {_S}.grants WHERE account_id = %s ORDER BY id",
            (account_id,),
        )
    )
    if not grants:
        record(con, identity.email, "login_failed", details={"reason": "no grant"})
        return None
    token = secrets.token_urlsafe(32)
    con.execute(
        f"INSERT INTO {_S}.sessions (token_hash, account_id, expires_at) "
        "VALUES (%s, %s, now() + %s)",
        (_digest(token), account_id, timedelta(hours=SESSION_HOURS)),
    )
    record(con, identity.email, "login", details=details)
    return Session(token, identity, Access(identity.email, grants))


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


# ------------------------------------------------------------------ the app's session
def apply_session(con: Any, token: str) -> None:
    """Name the session for the current transaction (``SET LOCAL territory.session``).

    Call it first in every transaction of the app role (the store's transaction hook):
    the row-level security and the audit log read it.
    """
    con.execute("SELECT set_config('territory.session', %s, true)", (token,))


def current_access(con: Any, token: str) -> Access | None:
    """The session's user and current grants, on the app role; None once it has ended."""
    with con.transaction():
        apply_session(con, token)
        row = con.execute(f"SELECT {_S}.current_email()").fetchone()
        if not row or row[0] is None:
            return None
        grants = tuple(
            Grant(Role(role), workspace, territory)
            for role, workspace, territory in con.execute(
                f"SELECT role, workspace, territory FROM {_S}.grants "
                f"WHERE account_id = {_S}.current_account() ORDER BY id"
            )
        )
    return Access(row[0], grants)


def end_session(con: Any, token: str) -> None:
    """Log out: the session ends on the server and the logout is audited."""
    with con.transaction():
        apply_session(con, token)
        if con.execute(f"SELECT {_S}.current_account()").fetchone()[0] is not None:
            record(con, "", "logout")
        con.execute(f"SELECT {_S}.end_session()")
