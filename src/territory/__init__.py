"""territory: plan "aller vers" outreach rounds on a map.

The package is the tested core behind the Streamlit pages in ``app_pages/``: a workspace
file (:mod:`territory.store`) holds a territory's layers; importers read official and
team files into it; :mod:`territory.privacy.protect` is the one disclosure-control step every
contact count goes through; :mod:`territory.map.build` builds the folium map.
"""

from territory._errors import (
    CRSError,
    InputFileError,
    NetworkError,
    TerritoryError,
    ValidationError,
    WorkspaceError,
)
from territory.settings import Settings

__all__ = [
    "CRSError",
    "InputFileError",
    "NetworkError",
    "Settings",
    "TerritoryError",
    "ValidationError",
    "WorkspaceError",
]
__version__ = "0.1.0"
