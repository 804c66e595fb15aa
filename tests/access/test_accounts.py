"""Local accounts (argon2id, lockout), OpenID Connect identities mapped by e-mail, sessions."""

from __future__ import annotations

import pytest
from access_server import Server

from territory import _pg
from territory._errors import ValidationError
from territory.access import accounts as acc
from territory.access import audit, schema
from territory.access.identity import Identity, Role
from territory.access.permissions import Grant

PASSWORD = "correct horse battery"
OPERATOR = "operateur@serveur.fr"


def make_lead(server: Server, email: str = "lea@nord.fr") -> None:
    with _pg.connect(server.owner, autocommit=True) as owner:
        acc.add_account(owner, email, by=OPERATOR, name="Léa", password=PASSWORD)
        acc.grant(owner, email, Role.CHEF_EQUIPE, by=OPERATOR, workspace="nord", territory="Sambre")


def test_a_local_login_opens_a_session_with_the_account_s_grants(server: Server) -> None:
    make_lead(server)
    with _pg.connect(server.login, autocommit=True) as login:
        session = acc.login_local(login, "  Lea@Nord.fr ", PASSWORD)
    assert session.identity.email == "lea@nord.fr" and session.identity.provider == "local"
    assert session.access.grants == (Grant(Role.CHEF_EQUIPE, "nord", "Sambre"),)
    with _pg.connect(server.app, autocommit=True) as app:
        assert acc.current_access(app, session.token) == session.access
        acc.end_session(app, session.token)
        assert acc.current_access(app, session.token) is None
    with _pg.connect(server.owner) as owner:
        actions = [e.action for e in audit.entries(owner)]
        (hashed,) = owner.execute("SELECT password_hash FROM territory_access.accounts").fetchone()
    assert actions[:2] == ["logout", "login"]
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed


def test_five_failures_lock_the_address_without_telling_whether_it_exists(server: Server) -> None:
    make_lead(server)
    answers = {}
    with _pg.connect(server.login, autocommit=True) as login:
        for email in ("lea@nord.fr", "personne@nord.fr"):
            said = []
            for _ in range(acc.MAX_FAILURES):
                with pytest.raises(acc.LoginError) as info:
                    acc.login_local(login, email, "mauvais mot de passe")
                said.append(str(info.value))
            with pytest.raises(acc.LoginError) as info:  # the right password, but locked
                acc.login_local(login, email, PASSWORD)
            said.append(str(info.value))
            answers[email] = said
    assert answers["lea@nord.fr"] == answers["personne@nord.fr"]
    assert answers["lea@nord.fr"][:4] == [acc.BAD_LOGIN] * 4
    assert answers["lea@nord.fr"][4:] == [acc.LOCKED, acc.LOCKED]
    assert "15 minutes" in acc.LOCKED
    with _pg.connect(server.owner, autocommit=True) as owner:
        lea = acc.account(owner, "lea@nord.fr")
        assert lea.failed_attempts == acc.MAX_FAILURES and lea.locked_until is not None
        acc.unlock(owner, "lea@nord.fr", by=OPERATOR)
        failed = audit.entries(owner, action="login_failed")
    assert len(failed) == 2 * (acc.MAX_FAILURES + 1)
    with _pg.connect(server.login, autocommit=True) as login:
        assert acc.login_local(login, "lea@nord.fr", PASSWORD).access.email == "lea@nord.fr"


def test_the_lock_ends_after_its_minutes(server: Server) -> None:
    make_lead(server)
    with _pg.connect(server.login, autocommit=True) as login:
        for _ in range(acc.MAX_FAILURES):
            with pytest.raises(acc.LoginError):
                acc.login_local(login, "lea@nord.fr", "faux")
    with _pg.connect(server.owner, autocommit=True) as owner:  # fifteen minutes later
        owner.execute(
            "UPDATE territory_access.accounts SET locked_until = now() - interval '1 second'"
        )
    with _pg.connect(server.login, autocommit=True) as login:
        assert acc.login_local(login, "lea@nord.fr", PASSWORD).token


def test_an_old_hash_is_rehashed_at_login(server: Server) -> None:
    from argon2 import PasswordHasher

    make_lead(server)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with _pg.connect(server.owner, autocommit=True) as owner:
        owner.execute("UPDATE territory_access.accounts SET password_hash = %s", (weak,))
    with _pg.connect(server.login, autocommit=True) as login:
        acc.login_local(login, "lea@nord.fr", PASSWORD)
    with _pg.connect(server.owner) as owner:
        (hashed,) = owner.execute("SELECT password_hash FROM territory_access.accounts").fetchone()
    assert hashed != weak and not PasswordHasher().check_needs_rehash(hashed)


def test_a_disabled_account_or_one_without_grants_cannot_log_in(server: Server) -> None:
    make_lead(server)
    with _pg.connect(server.owner, autocommit=True) as owner:
        acc.add_account(owner, "sans@droit.fr", by=OPERATOR, password=PASSWORD)
        acc.disable(owner, "lea@nord.fr", by=OPERATOR)
    with _pg.connect(server.login, autocommit=True) as login:
        with pytest.raises(acc.LoginError, match="désactivé"):
            acc.login_local(login, "lea@nord.fr", PASSWORD)
        with pytest.raises(acc.LoginError, match="aucun droit"):
            acc.login_local(login, "sans@droit.fr", PASSWORD)


def test_disabling_an_account_ends_its_open_sessions(server: Server) -> None:
    make_lead(server)
    with _pg.connect(server.login, autocommit=True) as login:
        session = acc.login_local(login, "lea@nord.fr", PASSWORD)
    with _pg.connect(server.owner, autocommit=True) as owner:
        acc.disable(owner, "lea@nord.fr", by=OPERATOR)
    with _pg.connect(server.app, autocommit=True) as app:
        assert acc.current_access(app, session.token) is None


def test_an_oidc_identity_maps_to_its_account_by_e_mail(server: Server) -> None:
    with _pg.connect(server.owner, autocommit=True) as owner:
        acc.add_account(owner, "Paul@Copil.fr", by=OPERATOR)  # no password: OIDC only
        acc.grant(owner, "paul@copil.fr", "comite", by=OPERATOR)
    who = Identity(
        "sub-1", "PAUL@copil.fr", "https://proconnect.example", "Paul D.", "13002526500013"
    )
    stranger = Identity("sub-2", "inconnu@copil.fr", "https://proconnect.example")
    with _pg.connect(server.login, autocommit=True) as login:
        session = acc.login_identity(login, who)
        with pytest.raises(
            acc.LoginError, match=r"Aucun compte n'est ouvert pour inconnu@copil\.fr"
        ):
            acc.login_identity(login, stranger)
        with pytest.raises(acc.LoginError, match="incorrect"):  # no local password
            acc.login_local(login, "paul@copil.fr", "")
    assert session.access.roles == {Role.COMITE}
    with _pg.connect(server.owner) as owner:
        paul = acc.account(owner, "paul@copil.fr")
    assert (paul.name, paul.organisation, paul.has_password) == ("Paul D.", "13002526500013", False)


def test_administration_refuses_bad_input_in_french(server: Server) -> None:
    with _pg.connect(server.owner, autocommit=True) as owner:
        with pytest.raises(ValidationError, match="adresse e-mail invalide"):
            acc.add_account(owner, "pas-une-adresse", by=OPERATOR)
        with pytest.raises(ValidationError, match="trop court"):
            acc.add_account(owner, "a@b.fr", by=OPERATOR, password="court")
        acc.add_account(owner, "a@b.fr", by=OPERATOR)
        with pytest.raises(ValidationError, match="existe déjà"):
            acc.add_account(owner, "A@b.fr", by=OPERATOR)
        with pytest.raises(ValidationError, match="rôle inconnu"):
            acc.grant(owner, "a@b.fr", "chef", by=OPERATOR)
        with pytest.raises(ValidationError, match="tout le serveur"):
            acc.grant(owner, "a@b.fr", "admin", by=OPERATOR, workspace="nord")
        with pytest.raises(ValidationError, match="aucun compte"):
            acc.grant(owner, "x@b.fr", "comite", by=OPERATOR)
        assert acc.grant(owner, "a@b.fr", "comite", by=OPERATOR, workspace="nord")
        assert not acc.grant(owner, "a@b.fr", "comite", by=OPERATOR, workspace="nord")
        assert acc.revoke(owner, "a@b.fr", "comite", by=OPERATOR, workspace="nord") == 1
        kinds = [(e.action, e.details.get("change")) for e in audit.entries(owner)]
    assert kinds == [
        ("role_change", "revoke"),
        ("role_change", "grant"),
        ("account_change", "created"),
    ]


def test_init_is_idempotent_and_records_its_steps(server: Server) -> None:
    with _pg.connect(server.owner, autocommit=True) as owner:
        assert schema.init(owner) == []
        steps = owner.execute(
            "SELECT version FROM territory_access.migrations ORDER BY version"
        ).fetchall()
        assert [s[0] for s in steps] == [n for n, _, _ in schema.MIGRATIONS]
        assert schema.version(owner) == schema.MIGRATIONS[-1][0]
        flags = owner.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = %s",
            (schema.APP_ROLE,),
        ).fetchone()
        (table_owner,) = owner.execute(
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'territory_access' "
            "AND tablename = 'accounts'"
        ).fetchone()
    assert flags == (False, False, False)
    assert table_owner not in (schema.APP_ROLE, schema.LOGIN_ROLE)
