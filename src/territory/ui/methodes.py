"""The « Méthodes » page's content: the methods document of the open workspace.

The document is :func:`territory.evaluation.methods_markdown` (the text of the
evaluation package's ``methodes.md``, indicators and layers named by their French labels
rather than their table names), built from the parameters in force: k, rounding,
retention, the weights saved for each territory, the travel model. It is cached per
workspace version and parameters.
"""

from __future__ import annotations

import streamlit as st

from territory import Settings
from territory.evaluation import METHODS_FILE, methods_markdown
from territory.store import Workspace
from territory.ui.login import downloaded

__all__ = ["METHODS_INTRO", "cached_methods", "methods_section"]

METHODS_INTRO = (
    "Comment chaque indicateur, le score de priorité, la protection des données, les "
    "créneaux et la planification sont calculés, avec les paramètres en vigueur dans cet "
    "espace de travail. Le même texte accompagne le paquet d'évaluation (page « Données »)."
)


@st.cache_data(max_entries=8, show_spinner="Rédaction des méthodes…")
def cached_methods(path: str, version: int, parameters: str, _settings: Settings) -> str:
    """:func:`methods_markdown` of the workspace at ``path``, per version and parameters.

    ``parameters`` is ``repr(settings)`` (the cache key; the settings object itself is not
    hashed).
    """
    return methods_markdown(Workspace.open(path), settings=_settings, column_names=False)


def methods_section(ws: Workspace, *, settings: Settings) -> None:
    """The document, its title left to the page, and its download (Markdown)."""
    text = cached_methods(ws.key, ws.version, repr(settings), settings)
    body = text.split("\n", 1)[1] if text.startswith("# ") else text
    st.download_button(
        "Méthodes (.md)",
        downloaded(text, workspace=ws.path.stem, target=METHODS_FILE),
        file_name=METHODS_FILE,
        mime="text/markdown",
        on_click="ignore",
        icon=":material/download:",
    )
    st.markdown(body)
