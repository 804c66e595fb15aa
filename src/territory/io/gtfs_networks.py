"""Several GTFS feeds in one workspace: one named network per feed.

Each GTFS import adds or replaces ONE network (urban, regional…). Its name is given by
the user (``territory import gtfs --reseau NOM``) or read from ``agency.txt`` (the
agencies' names) or, failing that, the file name (:func:`network_name`). Every stored
row of a feed carries it:

* stop ids and route ids are prefixed by the network (``"CTS:1234"``,
  :func:`with_network`), so that two feeds using the same ids (``"1"``) never mix in the
  stop hours or in the planner's transit links;
* the ``stops`` layer, the stop-hours table and the transit links have a ``reseau``
  column (:data:`territory.vocab.NETWORK`), and re-importing a network replaces its rows
  only (:func:`replace_network_rows`).

A workspace stored before networks had names (no ``reseau`` column, ids without prefix)
is read as one network, :data:`territory.vocab.LEGACY_NETWORK`; its rows get that name
when another network is imported next to them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from territory._errors import ValidationError
from territory.io.gtfs import GtfsFeed
from territory.store import Workspace
from territory.vocab import LEGACY_NETWORK, NETWORK

__all__ = ["network_name", "replace_network_rows", "with_network"]

_SEPARATOR = ":"


def network_name(feed: GtfsFeed, path: Path, given: str | None = None) -> str:
    """The network's name: ``given``, else the agencies of ``agency.txt``, else the file stem.

    Examples
    --------
    >>> empty = pd.DataFrame()
    >>> feed = GtfsFeed(pd.DataFrame({"agency_name": ["CTS"]}), *[empty] * 6)
    >>> network_name(feed, Path("gtfs.zip")), network_name(feed, Path("x.zip"), " Fluo  67 ")
    ('CTS', 'Fluo 67')
    """
    if given is not None:
        name = " ".join(given.split())
        if not name:
            raise ValidationError("nom de réseau vide : donnez un nom (ex. --reseau CTS)")
        return name
    if "agency_name" in feed.agency:
        names = [" ".join(str(n).split()) for n in feed.agency["agency_name"].dropna()]
        names = list(dict.fromkeys(n for n in names if n))
        if names:
            return " / ".join(names)
    stem = path.name.removesuffix(".zip") if path.name.endswith(".zip") else path.name
    return " ".join(stem.split()) or LEGACY_NETWORK


def _prefix(network: str, values: pd.Series) -> pd.Series:
    text = values.astype("str")
    return (network + _SEPARATOR + text).where(text != "", text)


def with_network(feed: GtfsFeed, network: str) -> GtfsFeed:
    """``feed`` with its stop and route ids prefixed by ``network`` (``"CTS:1234"``)."""
    stops = feed.stops.assign(
        stop_id=_prefix(network, feed.stops["stop_id"]),
        parent_station=_prefix(network, feed.stops["parent_station"].fillna("")),
    )
    stop_times = feed.stop_times
    if len(stop_times.columns) and isinstance(stop_times["stop_id"].dtype, pd.CategoricalDtype):
        stop_times = stop_times.assign(
            stop_id=stop_times["stop_id"].cat.rename_categories(
                lambda s: f"{network}{_SEPARATOR}{s}"
            )
        )
    routes = feed.routes.assign(route_id=_prefix(network, feed.routes["route_id"]))
    trips = feed.trips.assign(route_id=_prefix(network, feed.trips["route_id"]))
    return dataclasses.replace(feed, stops=stops, stop_times=stop_times, routes=routes, trips=trips)


def _networks_of(rows: pd.DataFrame) -> pd.Series:
    if NETWORK not in rows:
        return pd.Series(LEGACY_NETWORK, index=rows.index, dtype="str")
    names = rows[NETWORK].astype("string").fillna("").str.strip()
    return names.where(names != "", LEGACY_NETWORK).astype("str")


def replace_network_rows(
    ws: Workspace,
    name: str,
    rows: pd.DataFrame,
    network: str,
    *,
    source: str,
    vintage: str,
    licence: str = "",
) -> tuple[int, int]:
    """Store ``rows`` as network ``network``'s rows of table or layer ``name``.

    The stored rows of the other networks are kept (legacy rows without ``reseau`` get
    :data:`~territory.vocab.LEGACY_NETWORK`), those of ``network`` replaced. ``rows``
    gets the ``reseau`` column. A GeoDataFrame is written as a layer.

    Returns
    -------
    tuple of int
        Rows written for ``network`` and stored rows of ``network`` they replace.
    """
    rows = rows.assign(**{NETWORK: network})
    replaced = 0
    merged: pd.DataFrame = rows
    if ws.has(name) and ws.layers()[name].count:
        spatial = hasattr(rows, "geometry")
        stored = ws.read_layer(name) if spatial else ws.read_table(name)
        networks = _networks_of(stored)
        mine = (networks == network).to_numpy()
        replaced = int(mine.sum())
        others = stored.loc[~mine].assign(**{NETWORK: networks[~mine].to_numpy()})
        if len(others):
            if spatial:
                others = others.to_crs(rows.crs)
            merged = pd.concat([others, rows], ignore_index=True)
            merged = merged[list(dict.fromkeys([*rows.columns, *others.columns]))]
    if hasattr(merged, "geometry"):
        ws.write_layer(name, merged, source=source, vintage=vintage, licence=licence)
    elif merged.empty and ws.has(name):
        ws.delete_rows(name, "1 = 1")
    elif not merged.empty:
        ws.write_table(name, merged, source=source, vintage=vintage, licence=licence)
    return len(rows), replaced
