"""The fictional demo territory, written as official-format source files and imported.

- :mod:`~territory.demo.geography`: the territory itself (outline, Lloyd seeds, warping,
  density levels, communes and their names, codes and EPCI, QPV), in Lambert-93;
- :mod:`~territory.demo.scale`: :class:`DemoScale`, its size and presets;
- :mod:`~territory.demo.sources`: the source files in the official or team formats
  (communes, density CSV, QPV, partners, GTFS), :func:`write_demo_sources`;
- :mod:`~territory.demo.contacts`: the street team's contact export, with its
  deliberately malformed rows;
- :mod:`~territory.demo.workspace`: :func:`build_demo_workspace`, the files imported
  like real data, with territories, teams and places.

It imports the ground floor (settings, crs, vocab) and, to build a workspace,
:mod:`territory.ingest`, :mod:`territory.store`, :mod:`territory.territories` and
:mod:`territory.rounds.week` (lazily).
"""

from territory.demo.contacts import CONTACTS_END, MALFORMED_KINDS, STATUTS
from territory.demo.geography import DEPARTEMENTS, TOWN_NAME
from territory.demo.scale import DemoScale
from territory.demo.sources import (
    DEMO_NAME,
    DENSITY_LABELS,
    GTFS_END,
    GTFS_START,
    DemoSources,
    write_demo_sources,
)
from territory.demo.workspace import build_demo_workspace

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
    "build_demo_workspace",
    "write_demo_sources",
]
