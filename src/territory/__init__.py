"""territory: plan "aller vers" outreach rounds on a map.

The package is the tested core behind the Streamlit pages in ``app_pages/``, in pipeline
folders that import the ground floor and never a folder after them (``analysis/`` no
``io/`` either, ``map/`` the ground floor only):

- ground floor: :mod:`~territory.settings`, :mod:`~territory._errors`, :mod:`~territory.vocab`
  (the domain's words), :mod:`~territory.hours`, :mod:`~territory.travel`,
  :mod:`~territory._fr` (French formatting), :mod:`~territory.crs`, :mod:`~territory.grid`,
  :mod:`~territory.store` (the workspace file) and :mod:`~territory.territories`;
- ``io/`` reads official and team files → ``privacy/`` (the one disclosure-control step
  every contact count goes through) → ``analysis/`` (indicators, priorities, slots) →
  ``rounds/`` (the weekly plan) → ``map/`` (the folium map) → ``ui/`` (the pages' parts);
- services on top: :mod:`~territory.ingest`, :mod:`~territory.fetch`,
  :mod:`~territory.export`, :mod:`~territory.views`, :mod:`~territory.cli`; ``demo/``
  writes and imports the fictional territory.

Importing the package stays light (the settings and errors only): no geopandas here.
"""

from territory._errors import (
    CRSError,
    EditConflictError,
    InputFileError,
    NetworkError,
    SheetChoiceError,
    TerritoryError,
    ValidationError,
    WorkspaceError,
)
from territory.settings import Settings

__all__ = [
    "CRSError",
    "EditConflictError",
    "InputFileError",
    "NetworkError",
    "Settings",
    "SheetChoiceError",
    "TerritoryError",
    "ValidationError",
    "WorkspaceError",
]
__version__ = "0.1.0"
