"""The « Administration » page (admins only): accounts, grants, lockouts, the audit log.

Everything goes through :mod:`territory.access` on the app role in the admin's session: the
database's row-level security lets only an admin's session read or change accounts and read
the log, and writes the admin's e-mail in every audit line. The page checks the role too,
before drawing anything.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pandas as pd
import streamlit as st

from territory._errors import TerritoryError
from territory.access import accounts, audit
from territory.access.identity import Role
from territory.access.permissions import ALL
from territory.ui.login import ACCESS, may, session_connection

__all__ = ["accounts_section", "accounts_table", "audit_section", "changes_section"]

W_ADD_FORM = "widget_admin_add_form"
W_ADD_EMAIL = "widget_admin_add_email"
W_ADD_NAME = "widget_admin_add_name"
W_ADD_PASSWORD = "widget_admin_add_password"
W_GRANT_FORM = "widget_admin_grant_form"
W_GRANT_EMAIL = "widget_admin_grant_email"
W_GRANT_ROLE = "widget_admin_grant_role"
W_GRANT_WORKSPACE = "widget_admin_grant_workspace"
W_GRANT_TERRITORY = "widget_admin_grant_territory"
W_GRANT_REVOKE = "widget_admin_grant_revoke"
W_STATE_FORM = "widget_admin_state_form"
W_STATE_EMAIL = "widget_admin_state_email"
W_STATE_ACTION = "widget_admin_state_action"
W_AUDIT_SINCE = "widget_admin_audit_since"
W_AUDIT_ACTION = "widget_admin_audit_action"
W_AUDIT_WHO = "widget_admin_audit_who"
W_AUDIT_CSV = "widget_admin_audit_csv"
ANY = "Toutes"
STATES = ("Déverrouiller", "Désactiver", "Réactiver")


def _only_admins() -> None:
    if not may("manage_accounts"):
        st.error("Cette page est réservée à l'administration du serveur.")
        st.stop()


def accounts_table(found: list[accounts.Account], now: datetime) -> pd.DataFrame:
    """The accounts as the page shows them: French headers, one line each."""
    rows = []
    for a in found:
        grants = "; ".join(
            f"{g.role.label} — {'tous les espaces' if g.workspace == ALL else g.workspace}"
            + (f" / {g.territory}" if g.territory else "")
            for g in a.grants
        )
        rows.append(
            {
                "Adresse e-mail": a.email,
                "Nom": a.name,
                "Structure": a.organisation,
                "Droits": grants or "aucun",
                "Connexion": "mot de passe" if a.has_password else "OpenID Connect",
                "Échecs": a.failed_attempts,
                "Verrouillé": "oui" if a.locked(now) else "non",
                "Désactivé": "oui" if a.disabled else "non",
            }
        )
    return pd.DataFrame(rows)


def accounts_section() -> None:
    """The accounts, their grants and locks."""
    _only_admins()
    st.subheader("Comptes")
    with session_connection() as con:
        found = accounts.accounts(con)
    st.dataframe(accounts_table(found, datetime.now(UTC)), hide_index=True)


def _who() -> str:
    access = st.session_state.get(ACCESS)
    return access.email if access is not None else ""


def changes_section() -> None:
    """Forms: open an account, give or take back a role, unlock or disable an account."""
    _only_admins()
    left, middle, right = st.columns(3)
    with left, st.form(W_ADD_FORM, clear_on_submit=True):
        st.markdown("**Ouvrir un compte**")
        email = st.text_input("Adresse e-mail", key=W_ADD_EMAIL)
        name = st.text_input("Nom", key=W_ADD_NAME)
        password = st.text_input(
            "Mot de passe (vide : connexion OpenID Connect seule)",
            type="password",
            key=W_ADD_PASSWORD,
        )
        if st.form_submit_button("Ouvrir le compte"):
            _apply(
                lambda con: accounts.add_account(
                    con, email, by=_who(), name=name, password=password or None
                ),
                f"Compte ouvert : {email.strip().lower()}",
            )
    with middle, st.form(W_GRANT_FORM):
        st.markdown("**Donner ou retirer un rôle**")
        email = st.text_input("Adresse e-mail", key=W_GRANT_EMAIL)
        role = st.selectbox(
            "Rôle", list(Role), format_func=lambda r: Role(r).label, key=W_GRANT_ROLE
        )
        workspace = st.text_input("Espace de travail (vide : tous)", key=W_GRANT_WORKSPACE)
        territory = st.text_input("Territoire (vide : tout l'espace)", key=W_GRANT_TERRITORY)
        revoke = st.checkbox("Retirer ce rôle", key=W_GRANT_REVOKE)
        if st.form_submit_button("Enregistrer"):
            chosen = Role(role or Role.CHEF_EQUIPE)
            space, area = workspace.strip() or ALL, territory.strip() or None
            change = accounts.revoke if revoke else accounts.grant
            _apply(
                lambda con: change(con, email, chosen, by=_who(), workspace=space, territory=area),
                "Rôle retiré." if revoke else "Rôle donné.",
            )
    with right, st.form(W_STATE_FORM):
        st.markdown("**Verrou et désactivation**")
        email = st.text_input("Adresse e-mail", key=W_STATE_EMAIL)
        action = st.radio("Action", STATES, key=W_STATE_ACTION)
        if st.form_submit_button("Appliquer"):
            if action == STATES[0]:
                _apply(lambda con: accounts.unlock(con, email, by=_who()), "Compte déverrouillé.")
            else:
                off = action == STATES[1]
                _apply(
                    lambda con: accounts.disable(con, email, by=_who(), disabled=off),
                    "Compte désactivé." if off else "Compte réactivé.",
                )


def _apply(change: object, done: str) -> None:
    """Run one change in the admin's session; a French line either way."""
    try:
        with session_connection() as con:
            result = change(con)  # type: ignore[operator]
    except TerritoryError as exc:
        st.error(str(exc))
        return
    if result is False or (isinstance(result, int) and result == 0):
        st.info("Rien à changer : ce droit était déjà dans cet état.")
        return
    st.success(done)


def audit_section() -> None:
    """The audit log, filtered, and its CSV for Excel."""
    _only_admins()
    st.subheader("Journal d'audit")
    left, middle, right = st.columns(3)
    since = left.date_input("Depuis le", value=None, key=W_AUDIT_SINCE, format="DD/MM/YYYY")
    action = middle.selectbox(
        "Action",
        [ANY, *audit.ACTION_LABELS],
        format_func=lambda a: audit.ACTION_LABELS.get(a, a),
        key=W_AUDIT_ACTION,
    )
    who = right.text_input("Qui (adresse e-mail)", key=W_AUDIT_WHO)
    start = datetime.combine(since, time(), tzinfo=UTC) if isinstance(since, date) else None
    with session_connection() as con:
        rows = audit.entries(
            con, since=start, action=None if action == ANY else action, who=who.strip() or None
        )
    table = pd.DataFrame(
        [
            {
                "Date (UTC)": e.at.astimezone(UTC).strftime("%d/%m/%Y %H:%M:%S"),
                "Qui": e.who,
                "Action": audit.ACTION_LABELS.get(e.action, e.action),
                "Espace de travail": e.workspace or "",
                "Cible": e.target or "",
            }
            for e in rows
        ],
        columns=["Date (UTC)", "Qui", "Action", "Espace de travail", "Cible"],
    )
    st.caption(f"{len(rows)} ligne(s)")
    st.dataframe(table, hide_index=True)
    st.download_button(
        "Journal d'audit (.csv)",
        data=audit.to_csv(rows),
        file_name="journal-audit.csv",
        mime="text/csv",
        key=W_AUDIT_CSV,
        on_click=_record_download,
    )


def _record_download() -> None:
    """The log's download is itself a line of the log."""
    with session_connection() as con:
        audit.record(con, _who(), "download", target="journal-audit.csv")
