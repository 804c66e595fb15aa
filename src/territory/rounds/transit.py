"""Door-to-door public-transport times from the GTFS timetables.

The GTFS import stores a **frequency-based network** (:func:`save_transit_links`, table
:data:`TRANSIT_LINKS`): for the reference weekday between 9 h and 19 h
(:data:`TRANSIT_HOURS`), each route's stop-to-stop hops with their median ride time and
number of trips, from which the headways follow. :class:`TransitNetwork` is its numeric
form in metres (:func:`transit_network`, :func:`load_transit_network`), and
:func:`transit_time_matrix` the door-to-door minutes between points on it: walk to a
stop, wait half the headway, ride, change, walk, never slower than walking. Walking
follows the one travel model (:class:`territory.travel.TravelModel`, whose walking speed
and detour factor are in :class:`~territory.Settings`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from numpy.typing import ArrayLike

from territory._errors import CRSError, ValidationError
from territory._fr import format_number, format_short
from territory.crs import METRIC_CRS
from territory.io.gtfs import GtfsFeed, active_services, require_schedule
from territory.io.gtfs_networks import replace_network_rows
from territory.store import Workspace
from territory.travel import TravelModel
from territory.vocab import LEGACY_NETWORK, WEEKDAYS_FR

if TYPE_CHECKING:  # scipy is imported when transit times are computed (the map needs none)
    from scipy import sparse

__all__ = [
    "TRANSIT",
    "TRANSIT_ACCESS_M",
    "TRANSIT_HOURS",
    "TRANSIT_LINKS",
    "TRANSIT_MAX_WAIT",
    "TRANSIT_TRANSFER_M",
    "TransitNetwork",
    "load_transit_network",
    "save_transit_links",
    "transit_links",
    "transit_model_note",
    "transit_network",
    "transit_time_matrix",
]

TRANSIT = "transports en commun"
"""The mode whose times come from the GTFS timetables when a network is given."""

TRANSIT_ACCESS_M = 800.0
"""Straight-line distance walked to or from a stop (m): about 10 min on foot with the
detour, the usual catchment of a bus stop."""

TRANSIT_TRANSFER_M = 300.0
"""Straight-line distance walked between two stops to change lines (m)."""

TRANSIT_MAX_WAIT = 30.0
"""Cap on the boarding wait (half the headway), in minutes: on a line with fewer than
one bus an hour a team times its trip on the timetable rather than waits at random."""


TRANSIT_HOURS = (9, 19)
"""Clock hours ``[start, end)`` of the timetable window the round planner uses: outreach
teams work in the daytime, and the evening and night services (much sparser) would
otherwise lengthen the headways."""

TRANSIT_LINKS = "transit_links"
"""Workspace table of the frequency-based transit network (:func:`save_transit_links`)."""

_TRANSIT_HOURS_KEY = "gtfs_transit_hours"


def transit_links(
    feed: GtfsFeed, day: date, *, hours: tuple[int, int] = TRANSIT_HOURS
) -> pd.DataFrame:
    """The frequency-based transit network of ``day``: one row per route and stop-to-stop hop.

    For every trip running on ``day`` (its service day; trips of the day before that run
    after midnight are left out, the window being a daytime one), the consecutive stops
    are taken in ``stop_sequence`` order (file order when the feed has no readable
    ``stop_sequence``). Each hop whose departure falls in the clock-hour window
    ``[h0, h1)`` counts: per route and pair of stops, the ride time is the median over
    those trips of the difference of the departure times (ride plus dwell at the next
    stop), and ``departs`` the number of trips. Hops without a time, going back in time or
    from a stop to itself are left out.

    Parameters
    ----------
    feed
        A feed with ``stop_times``, ``trips`` and a calendar
        (:attr:`territory.io.gtfs.GtfsFeed.has_schedule`).
    day
        The service day (the import's reference weekday,
        :func:`territory.io.gtfs.reference_weekday`).
    hours
        Clock-hour window, ``0 <= h0 < h1 <= 24``.

    Returns
    -------
    pandas.DataFrame
        ``route_id``, ``from_stop``, ``to_stop`` (str), ``minutes`` (float) and
        ``departs`` (int64), sorted by route and stops; empty when no trip runs in the
        window.

    Raises
    ------
    ValidationError
        The feed has no schedule, or ``hours`` is not a window.
    """
    require_schedule(feed)
    h0, h1 = hours
    if not (0 <= h0 < h1 <= 24):
        raise ValidationError(f"plage horaire invalide {hours} : attendu 0 ≤ début < fin ≤ 24")
    st = feed.stop_times
    trip_of_category = feed.trips.drop_duplicates("trip_id").set_index("trip_id")
    trip_of_category = trip_of_category.reindex(st["trip_id"].cat.categories)
    running = trip_of_category["service_id"].isin(active_services(feed, day)).to_numpy()
    route_codes, routes = pd.factorize(trip_of_category["route_id"])
    usable = np.append(running & (route_codes >= 0), False)  # code -1 (no trip) → False
    route_codes = np.append(route_codes, -1)

    trip = st["trip_id"].cat.codes.to_numpy().astype("int64")
    sequence = st["stop_sequence"]
    if len(st) and not sequence.isna().any():
        rank = sequence.to_numpy(dtype="int64")
    else:
        rank = np.arange(len(st), dtype="int64")
    order = np.lexsort((rank, trip))  # by trip, then stop order (stable: file order on ties)
    here, after = order[:-1], order[1:]
    stop = st["stop_id"].cat.codes.to_numpy().astype("int64")
    seconds = st["departure_s"].to_numpy(dtype="int64", na_value=-1)
    depart, arrive = seconds[here], seconds[after]
    keep = (
        (trip[here] == trip[after])
        & usable[trip[here]]
        & (stop[here] >= 0)
        & (stop[after] >= 0)
        & (stop[here] != stop[after])
        & (depart >= h0 * 3600)
        & (depart < h1 * 3600)
        & (arrive >= depart)
    )
    hops = pd.DataFrame(
        {
            "route": route_codes[trip[here][keep]],
            "origin": stop[here][keep],
            "target": stop[after][keep],
            "minutes": (arrive[keep] - depart[keep]) / 60.0,
        }
    )
    grouped = hops.groupby(["route", "origin", "target"], sort=True)["minutes"]
    table = grouped.agg(["median", "size"]).reset_index()
    stop_names = np.asarray(st["stop_id"].cat.categories, dtype=object)
    return (
        pd.DataFrame(
            {
                "route_id": np.asarray(routes, dtype=object)[table["route"].to_numpy()],
                "from_stop": stop_names[table["origin"].to_numpy()],
                "to_stop": stop_names[table["target"].to_numpy()],
                "minutes": table["median"].to_numpy(dtype="float64"),
                "departs": table["size"].to_numpy(dtype="int64"),
            }
        )
        .astype({"route_id": "str", "from_stop": "str", "to_stop": "str"})
        .sort_values(["route_id", "from_stop", "to_stop"], ignore_index=True)
    )


@dataclass(frozen=True, eq=False)
class TransitNetwork:
    """A frequency-based transit network in a projected CRS.

    The numeric form of :func:`transit_links`, ready for door-to-door times
    (:func:`transit_time_matrix`).

    Attributes
    ----------
    stop_xy
        ``(n_stops, 2)`` stop coordinates in metres (``crs``).
    route, origin, target
        Per hop: route index, and the indices (rows of ``stop_xy``) of its two stops.
    minutes, departs
        Per hop: median ride minutes and number of trips in the window.
    hours
        The clock-hour window ``[h0, h1)`` the departures were counted in.
    day
        The service day of the timetables (``None`` when unknown).
    crs
        CRS of ``stop_xy`` (Lambert-93 by default).
    """

    stop_xy: npt.NDArray[np.float64]
    route: npt.NDArray[np.int64]
    origin: npt.NDArray[np.int64]
    target: npt.NDArray[np.int64]
    minutes: npt.NDArray[np.float64]
    departs: npt.NDArray[np.int64]
    hours: tuple[int, int] = TRANSIT_HOURS
    day: date | None = None
    crs: str = METRIC_CRS

    @property
    def window_minutes(self) -> float:
        """Length of the timetable window (minutes)."""
        return float(60 * (self.hours[1] - self.hours[0]))

    @property
    def headway(self) -> npt.NDArray[np.float64]:
        """Minutes between two departures of each hop's route at its first stop."""
        return self.window_minutes / np.maximum(self.departs, 1)


def transit_network(
    links: pd.DataFrame,
    stops: gpd.GeoDataFrame,
    *,
    hours: tuple[int, int] = TRANSIT_HOURS,
    day: date | None = None,
    metric_crs: str = METRIC_CRS,
) -> TransitNetwork:
    """:class:`TransitNetwork` from a :func:`transit_links` table and the stops' positions.

    Parameters
    ----------
    links
        :func:`transit_links` (or the stored ``transit_links`` table).
    stops
        Points with a ``stop_id`` column, in any declared CRS (the ``stops`` layer).
        Hops whose stops have no position are left out.
    hours, day
        The window and service day ``links`` was computed for.
    metric_crs
        Projected CRS in metres for the stop coordinates.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> stops = gpd.GeoDataFrame({"stop_id": ["a", "b"]},
    ...     geometry=[Point(700000, 6600000), Point(701000, 6600000)], crs=METRIC_CRS)
    >>> links = pd.DataFrame({"route_id": ["1"], "from_stop": ["a"], "to_stop": ["b"],
    ...                       "minutes": [3.0], "departs": [60]})
    >>> network = transit_network(links, stops)
    >>> network.stop_xy.tolist(), network.headway.tolist()
    ([[700000.0, 6600000.0], [701000.0, 6600000.0]], [10.0])
    """
    if stops.crs is None:
        raise CRSError("couche des arrêts sans système de coordonnées : attendu EPSG:4326")
    located = stops[~(stops.geometry.isna() | stops.geometry.is_empty)]
    located = located.drop_duplicates("stop_id").to_crs(metric_crs)
    position = pd.Series(np.arange(len(located)), index=located["stop_id"].astype(str).to_numpy())
    origin = position.reindex(links["from_stop"].astype(str).to_numpy()).to_numpy()
    target = position.reindex(links["to_stop"].astype(str).to_numpy()).to_numpy()
    known = ~(np.isnan(origin) | np.isnan(target))
    used, inverse = np.unique(np.r_[origin[known], target[known]], return_inverse=True)
    points = located.geometry.iloc[used.astype("int64")]
    route_codes = pd.factorize(links["route_id"].astype(str).to_numpy()[known])[0]
    count = int(known.sum())
    return TransitNetwork(
        stop_xy=np.column_stack([points.x.to_numpy(), points.y.to_numpy()]).astype("float64"),
        route=route_codes.astype("int64"),
        origin=inverse[:count].astype("int64"),
        target=inverse[count:].astype("int64"),
        minutes=links["minutes"].to_numpy(dtype="float64")[known],
        departs=links["departs"].to_numpy(dtype="int64")[known],
        hours=(int(hours[0]), int(hours[1])),
        day=day,
        crs=metric_crs,
    )


def save_transit_links(
    ws: Workspace,
    feed: GtfsFeed,
    *,
    day: date,
    hours: tuple[int, int] = TRANSIT_HOURS,
    network: str = LEGACY_NETWORK,
) -> int:
    """Store the :func:`transit_links` of ``day`` as the ``network`` rows of :data:`TRANSIT_LINKS`.

    Meant to be called by the GTFS import with its reference weekday; returns the number
    of hops written. The links of the other networks are kept
    (:func:`territory.io.gtfs_networks.replace_network_rows`). A feed without a schedule,
    or without any trip in the window that day, stores no link: the planner then falls
    back on an average speed where no other network has links.
    """
    if feed.has_schedule:
        links = transit_links(feed, day, hours=hours)
    else:
        links = pd.DataFrame(
            {
                "route_id": pd.Series(dtype="str"),
                "from_stop": pd.Series(dtype="str"),
                "to_stop": pd.Series(dtype="str"),
                "minutes": pd.Series(dtype="float64"),
                "departs": pd.Series(dtype="int64"),
            }
        )
    stored = ws.layers().get(TRANSIT_LINKS)
    replace_network_rows(
        ws,
        TRANSIT_LINKS,
        links,
        network,
        source=f"GTFS (réseau cadencé, {hours[0]} h–{hours[1]} h)",
        vintage=day.isoformat() if len(links) or stored is None else stored.vintage,
    )
    ws.set_property(_TRANSIT_HOURS_KEY, f"{hours[0]}-{hours[1]}")
    return len(links)


def load_transit_network(ws: Workspace, *, metric_crs: str = METRIC_CRS) -> TransitNetwork | None:
    """The stored transit network (:func:`save_transit_links`) with the stops' positions.

    The positions are those of the ``stops`` layer; ``None`` when the workspace has no
    timetable network.
    """
    if not (ws.has(TRANSIT_LINKS) and ws.has("stops")) or ws.layers()[TRANSIT_LINKS].count == 0:
        return None
    links = ws.read_table(TRANSIT_LINKS)
    stops = ws.read_layer("stops", columns=["stop_id"])
    stored_hours = (ws.get_property(_TRANSIT_HOURS_KEY) or "").split("-")
    hours = (
        (int(stored_hours[0]), int(stored_hours[1]))
        if len(stored_hours) == 2 and all(h.isdigit() for h in stored_hours)
        else TRANSIT_HOURS
    )
    vintage = ws.layers()[TRANSIT_LINKS].vintage
    try:
        day: date | None = date.fromisoformat(vintage)
    except ValueError:
        day = None
    return transit_network(links, stops, hours=hours, day=day, metric_crs=metric_crs)


def transit_time_matrix(
    xy: ArrayLike,
    network: TransitNetwork,
    *,
    travel_model: TravelModel | None = None,
    access_m: float = TRANSIT_ACCESS_M,
    transfer_m: float = TRANSIT_TRANSFER_M,
    max_wait: float = TRANSIT_MAX_WAIT,
) -> npt.NDArray[np.float64]:
    """Door-to-door public-transport minutes between points, from a timetable network.

    A trip walks to a stop within ``access_m``, waits for a route (half the headway of
    that route at that stop, at most ``max_wait``), rides, may change (walking to a stop
    within ``transfer_m``, or staying at the stop, then a new wait) and walks from the
    last stop to its destination; walking the whole way is always an option. Walking
    times are ``distance × detour / walking speed`` of the travel model; walking the whole
    way follows the model's road network when it has one (:mod:`territory.roads`). The times are
    **not** symmetric: headways and ride times depend on the direction.

    The graph has a node per origin point, per destination point, per stop and per
    (route, stop) pair: walking arcs from an origin to its stops, from stops to a
    destination and between nearby stops; *ride* arcs along each route between
    (route, stop) nodes; *alight* arcs from a (route, stop) node to its stop (0 min); and
    *board* arcs from a stop to the (route, next stop) node of each hop leaving it, worth
    the wait plus the ride, so that the wait is the one of the route in that direction
    even when the feed has no ``direction_id``. Shortest paths from every origin come from
    :func:`scipy.sparse.csgraph.dijkstra`.

    Parameters
    ----------
    xy
        Points, shape ``(n, 2)``, in metres in the CRS of ``network`` (Lambert-93).
    network
        Hops, headways and stop positions (:func:`transit_network`).
    travel_model
        Detour factor and walking speed (``TravelModel.from_settings(settings)``;
        default: the defaults of :class:`~territory.Settings`).
    access_m
        Straight-line distance walked to or from a stop (metres).
    transfer_m
        Straight-line distance walked between two stops to change (metres).
    max_wait
        Cap on the boarding wait (minutes): below one bus every hour, a team looks up
        the timetable rather than waits at random.

    Returns
    -------
    numpy.ndarray
        ``(n, n)`` minutes, row = from, column = to; 0 on the diagonal.

    Examples
    --------
    One route, stops 1 km apart, a bus every 10 min taking 3 min; points 100 m from each
    stop: walk 1.7 min, wait 5, ride 3, walk 1.7.

    >>> network = TransitNetwork(
    ...     stop_xy=np.array([[0.0, 0.0], [1000.0, 0.0]]), route=np.array([0]),
    ...     origin=np.array([0]), target=np.array([1]), minutes=np.array([3.0]),
    ...     departs=np.array([60]))
    >>> transit_time_matrix([[0, 100], [1000, 100]], network).round(1).tolist()
    [[0.0, 11.5], [17.3, 0.0]]
    """
    from scipy.sparse.csgraph import dijkstra

    points = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    n = len(points)
    model = travel_model if travel_model is not None else TravelModel()
    per_metre = model.detour / (model.speed("marche") * 1000 / 60)
    walking: npt.NDArray[np.float64] = (
        np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1)) * per_metre
    )
    if model.network is not None and n:
        walking = model.matrix(points, "marche")  # walking the whole way: along the network
    if n == 0 or len(network.route) == 0:
        return walking
    graph = _transit_graph(
        points,
        network,
        per_metre=per_metre,
        access_m=access_m,
        transfer_m=transfer_m,
        max_wait=max_wait,
    )
    result: npt.NDArray[np.float64] = np.empty((n, n))
    for start in range(0, n, 256):  # bounded memory: 256 rows of the full node range
        rows = np.arange(start, min(start + 256, n))
        result[rows] = dijkstra(graph, directed=True, indices=rows)[:, n : 2 * n]
    result = np.minimum(result, walking)
    np.fill_diagonal(result, 0.0)
    return result


def _transit_graph(
    points: npt.NDArray[np.float64],
    network: TransitNetwork,
    *,
    per_metre: float,
    access_m: float,
    transfer_m: float,
    max_wait: float,
) -> sparse.csr_array:
    """The weighted directed graph of :func:`transit_time_matrix` (minutes).

    Nodes: origins ``[0, n)``, destinations ``[n, 2n)``, stops ``[2n, 2n + s)``, then
    one node per (route, stop) pair. Every (row, column) pair is set at most once.
    """
    from scipy import sparse
    from scipy.spatial import cKDTree

    n, s = len(points), len(network.stop_xy)
    hops = len(network.route)
    pairs, inverse = np.unique(
        np.r_[network.route * s + network.origin, network.route * s + network.target],
        return_inverse=True,
    )
    on_board_from, on_board_to = inverse[:hops] + 2 * n + s, inverse[hops:] + 2 * n + s
    stop_node = 2 * n + np.arange(s)
    wait = np.minimum(network.headway / 2, max_wait)
    stops = cKDTree(network.stop_xy)
    near = stops.sparse_distance_matrix(cKDTree(points), access_m, output_type="ndarray")
    changes = stops.query_pairs(transfer_m, output_type="ndarray")
    change_m = np.hypot(*(network.stop_xy[changes[:, 0]] - network.stop_xy[changes[:, 1]]).T)
    arcs = [
        (near["j"], stop_node[near["i"]], near["v"] * per_metre),  # walk to a stop
        (stop_node[near["i"]], n + near["j"], near["v"] * per_metre),  # walk from a stop
        (stop_node[changes[:, 0]], stop_node[changes[:, 1]], change_m * per_metre),
        (stop_node[changes[:, 1]], stop_node[changes[:, 0]], change_m * per_metre),
        (stop_node[network.origin], on_board_to, wait + network.minutes),  # board and ride
        (on_board_from, on_board_to, network.minutes),  # stay on board
        (2 * n + s + np.arange(len(pairs)), stop_node[pairs % s], np.zeros(len(pairs))),
    ]
    row, column, minutes = (np.concatenate(part) for part in zip(*arcs, strict=True))
    size = 2 * n + s + len(pairs)
    # Explicit zeros stay arcs in a CSR graph (alighting costs nothing).
    return sparse.csr_array((minutes, (row, column)), shape=(size, size))


def transit_model_note(
    transit: TransitNetwork | None,
    *,
    has_stops: bool = False,
    travel_model: TravelModel | None = None,
) -> str:
    """The French note saying how public-transport times were computed.

    Without a timetable network, the note gives the speed and access time of public
    transport in ``travel_model`` (default: the defaults of :class:`~territory.Settings`).

    Examples
    --------
    >>> print(transit_model_note(None))
    Aucun horaire GTFS : temps en transports en commun estimés à 15 km/h de moyenne plus 10 min d'accès et d'attente.
    """  # noqa: E501
    if transit is None:
        model = travel_model if travel_model is not None else TravelModel()
        speed = format_short(model.speed(TRANSIT))
        access = format_short(model.access_minutes.get(TRANSIT, 0.0))
        fallback = (
            f"temps en transports en commun estimés à {speed} km/h de moyenne "
            f"plus {access} min d'accès et d'attente."
        )
        if has_stops:
            return (
                "Aucun horaire GTFS exploitable dans l'espace de travail (réimportez le flux "
                f"GTFS avec ses stop_times pour des temps réels) : {fallback}"
            )
        return f"Aucun horaire GTFS : {fallback}"
    day = (
        f"du {WEEKDAYS_FR[transit.day.weekday()]} {transit.day:%d/%m/%Y}"
        if transit.day is not None
        else "du jour de référence"
    )
    h0, h1 = transit.hours
    return (
        f"Temps en transports en commun calculés sur les horaires GTFS {day}, {h0} h–{h1} h : "
        f"marche jusqu'à un arrêt à moins de {format_number(TRANSIT_ACCESS_M)} m, attente de "
        "la moitié de l'intervalle entre deux passages "
        f"({format_number(TRANSIT_MAX_WAIT)} min au plus), correspondances à pied jusqu'à "
        f"{format_number(TRANSIT_TRANSFER_M)} m ; jamais plus long qu'à pied."
    )
