"""The one travel model: network distance at a speed per mode, plus an access time.

Straight-line distances (metres, in a metric CRS) are multiplied by a detour factor
(network distance / straight-line distance), divided by the mode's door-to-door speed and
increased by a fixed access time for every non-zero trip (parking, unlocking a bike,
walking to a stop and waiting). The parameters live in :class:`~territory.Settings`
(``TERRITORY_DETOUR_FACTOR``, ``TERRITORY_CAR_KMH``…), so that "Où et quand" and the
rounds of "Tournées" give the same time for the same trip. Public-transport times come
from the GTFS timetables when the rounds have a network (:mod:`territory.rounds.transit`);
this model is their fallback.

Examples
--------
>>> from territory import Settings
>>> model = TravelModel.from_settings(Settings())
>>> model.minutes([0.0, 4500.0], "marche").round(1).tolist()
[0.0, 78.0]
>>> model.minutes([10_000.0], "voiture").round(1).tolist()
[24.5]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from territory._errors import ValidationError
from territory.vocab import MODES

if TYPE_CHECKING:
    from territory.settings import Settings

__all__ = ["SAME_PLACE_M", "Network", "TravelModel"]

SAME_PLACE_M = 1.0
"""Straight-line metres under which two points are one place (no travel time)."""


class Network(Protocol):
    """What the model needs of a road network (:class:`territory.roads.RoadNetwork`)."""

    @property
    def edges(self) -> int:
        """Number of edges."""
        ...

    @property
    def crs(self) -> str:
        """The metric CRS of its coordinates (the points given must be in it)."""
        ...

    def serves(self, mode: str) -> bool:
        """Whether ``mode`` is timed on the network."""
        ...

    def times(self, xy: Any, mode: str, *, speed_kmh: float) -> Any:
        """Moving minutes (NaN off the network) and the count of pairs off it."""
        ...

    def nearest_times(
        self, origins: Any, targets: Any, mode: str, *, speed_kmh: float
    ) -> npt.NDArray[np.float64]:
        """Moving minutes from each origin to its nearest target (NaN off the network)."""
        ...

    def reach(
        self, origins: Any, targets: Any, mode: str, *, speed_kmh: float, limit: float
    ) -> tuple[Any, Any, Any, Any, Any]:
        """Pairs within ``limit`` moving minutes, and which origins and targets are on it."""
        ...

    def reach_chunks(
        self, origins: Any, targets: Any, mode: str, *, speed_kmh: float, limit: float
    ) -> tuple[Any, Any, Any, Any]:
        """The same pairs chunk by chunk: on it, targets' ranks, chunks (ReachChunk)."""
        ...


@dataclass(frozen=True)
class TravelModel:
    """Travel times by mode: ``distance × detour / speed + access``.

    Attributes
    ----------
    detour
        Network distance / straight-line distance (1.3: the usual urban-rural average of
        France's road and path networks, between about 1.2 on grids and 1.4 in hills).
    speed_kmh
        Door-to-door speed of each mode of :data:`territory.vocab.MODES` (km/h).
    access_minutes
        Fixed time added to every non-zero trip, by mode (minutes).
    network
        An OpenStreetMap road and path network (:class:`territory.roads.RoadNetwork`, in
        Lambert-93): :meth:`matrix` then times walking, cycling and driving along it, and
        falls back to the straight line pair by pair (:mod:`territory.roads`).
    """

    detour: float = 1.3
    speed_kmh: Mapping[str, float] = field(
        default_factory=lambda: {
            "marche": 4.5,  # walking with a small group, crossings included
            "vélo": 15.0,  # city cycling, stops included
            "voiture": 40.0,  # urban and peri-urban average, lights and congestion included
            "transports en commun": 15.0,  # effective in-vehicle speed of buses and trams
        }
    )
    access_minutes: Mapping[str, float] = field(
        default_factory=lambda: {
            "marche": 0.0,
            "vélo": 2.0,  # unlock and lock
            "voiture": 5.0,  # park and walk to the spot
            "transports en commun": 10.0,  # walk to the stop and average wait
        }
    )
    network: Network | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        problems = [
            f"mode de déplacement sans vitesse : {m}" for m in MODES if m not in self.speed_kmh
        ]
        problems += [
            f"vitesse de « {m} » : {v} km/h (attendu : plus de 0)"
            for m, v in self.speed_kmh.items()
            if not v > 0
        ]
        if not self.detour >= 1:
            problems.append(f"facteur de détour {self.detour} (attendu : au moins 1)")
        if problems:
            raise ValidationError(problems)

    @classmethod
    def from_settings(cls, settings: Settings) -> TravelModel:
        """The model of these settings (``TERRITORY_*_KMH``, ``TERRITORY_DETOUR_FACTOR``…)."""
        return cls(
            detour=settings.detour_factor,
            speed_kmh={
                "marche": settings.walk_kmh,
                "vélo": settings.bike_kmh,
                "voiture": settings.car_kmh,
                "transports en commun": settings.transit_kmh,
            },
            access_minutes={
                "marche": 0.0,
                "vélo": settings.bike_access_min,
                "voiture": settings.car_access_min,
                "transports en commun": settings.transit_access_min,
            },
        )

    def with_network(self, network: Network | None) -> TravelModel:
        """The same model on ``network`` (None: straight lines)."""
        return replace(self, network=network)

    def matrix(self, xy: npt.ArrayLike, mode: str) -> npt.NDArray[np.float64]:
        """Travel minutes between every two points (metres, Lambert-93), ``(n, n)``.

        On the network when the model has one and ``mode`` is walking, cycling or driving
        (:meth:`territory.roads.RoadNetwork.times` plus the access time), else
        :meth:`minutes` of the straight-line distances.

        Examples
        --------
        >>> TravelModel().matrix([[0, 0], [3000, 4000]], "marche").round(1).tolist()
        [[0.0, 86.7], [86.7, 0.0]]
        """
        return self.matrix_and_fallback(xy, mode)[0]

    def matrix_and_fallback(
        self, xy: npt.ArrayLike, mode: str
    ) -> tuple[npt.NDArray[np.float64], int]:
        """:meth:`matrix`, and how many pairs were timed in a straight line off the network."""
        points = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        distance = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1))
        straight = self.minutes(distance, mode)
        if self.network is None or not self.network.serves(mode):
            return straight, 0
        times = self.network.times(points, mode, speed_kmh=self.speed(mode))
        access = float(self.access_minutes.get(mode, 0.0))
        on_network = np.where(times.minutes > 0, times.minutes + access, times.minutes)
        return np.where(np.isnan(times.minutes), straight, on_network), times.fallback

    def speed(self, mode: str) -> float:
        """Door-to-door speed of ``mode`` (km/h)."""
        if mode not in self.speed_kmh:
            raise ValidationError(
                f"mode de déplacement inconnu « {mode} » (attendu : {', '.join(MODES)})"
            )
        return float(self.speed_kmh[mode])

    def minutes(self, distance_m: npt.ArrayLike, mode: str) -> npt.NDArray[np.float64]:
        """Travel minutes over straight-line distances (metres); NaN stays NaN.

        Points less than :data:`SAME_PLACE_M` apart are one place (0 minutes): a place at
        a team's base (a commune's centre) must not cost a minute one way and none the
        other depending on how its coordinates were rounded when stored.
        """
        distance = np.asarray(distance_m, dtype=np.float64)
        moving = distance * self.detour / 1000.0 / self.speed(mode) * 60.0
        access = float(self.access_minutes.get(mode, 0.0))
        near = np.where(distance >= 0, 0.0, moving)  # NaN stays NaN
        return np.where(distance >= SAME_PLACE_M, moving + access, near)
