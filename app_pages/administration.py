"""Administration page (admins only): accounts, grants, lockouts, the audit log."""

import streamlit as st

from territory.ui.administration import accounts_section, audit_section, changes_section

st.title("Administration")
accounts_section()
changes_section()
audit_section()
