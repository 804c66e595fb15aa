"""The Streamlit layer: the widgets, rendering helpers and cached loaders of the pages.

What it holds:

- ``state``: the session-state keys (:class:`~territory.ui.state.Keys`) and
  ``init_session_state``;
- ``common``: what every page shares (workspace or a way home, demo banner, territory
  choice, URL prefix, the one-shot message after a rerun);
- ``loaders``: every ``st.cache_data`` / ``st.cache_resource`` of the app, keyed on
  hashable inputs; nothing cached is changed by its users;
- ``mapview``: maps rendered once into immutable strings, shown by any session
  (``st_folium`` changes the map it renders: a cached ``folium.Map`` is never shared);
- ``uploads``: uploaded files imported, with their French report (Données, Contacts);
- one module per page, its widgets: ``accueil``, ``carte``, ``contacts``,
  ``ou_et_quand``, ``tournees``, ``donnees``.

The pages in ``app_pages/`` stay thin: they read widgets, call these helpers and the
core, and render.

What it may import: anything in the ``territory`` core (``map``, ``analysis``,
``rounds``, ``io``, ``privacy``' public views, services, ground floor); nothing in the
core imports it. It is the only part of the package importing streamlit (with ``bench/``
outside it). It reads no environment variable: settings come from
:class:`~territory.settings.Settings`.
"""

__all__ = [
    "accueil",
    "carte",
    "common",
    "contacts",
    "donnees",
    "loaders",
    "mapview",
    "ou_et_quand",
    "state",
    "tournees",
    "uploads",
]
