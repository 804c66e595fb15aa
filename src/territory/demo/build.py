"""The former single module of the demo, kept so that old imports keep working.

Everything now lives in :mod:`territory.demo` (``geography``, ``scale``, ``sources``,
``contacts``, ``workspace``); import from there.
"""

from territory.demo import (
    CONTACTS_END,
    DEMO_NAME,
    DENSITY_LABELS,
    DEPARTEMENTS,
    GTFS_END,
    GTFS_START,
    MALFORMED_KINDS,
    STATUTS,
    TOWN_NAME,
    DemoScale,
    DemoSources,
    build_demo_workspace,
    write_demo_sources,
)
from territory.demo.geography import _all_town_names, _commune_codes

__all__ = [
    "CONTACTS_END",
    "DEMO_NAME",
    "DENSITY_LABELS",
    "DEPARTEMENTS",
    "GTFS_END",
    "GTFS_START",
    "MALFORMED_KINDS",
    "STATUTS",
    "TOWN_NAME",
    "DemoScale",
    "DemoSources",
    "_all_town_names",
    "_commune_codes",
    "build_demo_workspace",
    "write_demo_sources",
]
