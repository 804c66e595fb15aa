"""territory — the Streamlit frame: page config, session state, login, navigation."""

import streamlit as st

from territory.ui.login import LAPTOP_PAGES, gate
from territory.ui.state import init_session_state

st.set_page_config(
    page_title="territory — aller-vers", page_icon=":material/explore:", layout="wide"
)
init_session_state()
access = gate()  # on a server: the login page and a stop until someone is logged in
allowed = LAPTOP_PAGES if access is None else access.pages()

pages = [
    st.Page("app_pages/accueil.py", title="Accueil", icon=":material/home:", default=True),
    st.Page("app_pages/carte.py", title="Carte", icon=":material/map:"),
    st.Page("app_pages/contacts.py", title="Contacts", icon=":material/groups:"),
    st.Page("app_pages/ou_et_quand.py", title="Où et quand", icon=":material/schedule:"),
    st.Page("app_pages/tournees.py", title="Tournées", icon=":material/route:"),
    st.Page("app_pages/comparer.py", title="Comparer", icon=":material/compare_arrows:"),
    st.Page("app_pages/donnees.py", title="Données", icon=":material/database:"),
    st.Page("app_pages/methodes.py", title="Méthodes", icon=":material/menu_book:"),
    st.Page("app_pages/administration.py", title="Administration", icon=":material/shield_person:"),
]
st.navigation([p for p in pages if p.title in allowed]).run()
