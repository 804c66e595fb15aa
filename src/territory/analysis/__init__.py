"""Where and when to go: zone indicators, the priority score and the "when" slots.

* :mod:`~territory.analysis.zones`: the zones (communes, QPV, 1 km cells), their centres,
  and which cells fall in which zone;
* :mod:`~territory.analysis.access`: distances to partners, travel times (the one travel
  model, :class:`territory.travel.TravelModel`), transit service and mobility barriers;
* :mod:`~territory.analysis.indicators`: the indicator registry, need (population) and
  coverage (protected contacts), as pure functions aligned on the zones' index;
* :mod:`~territory.analysis.need`: which official source the need uses (census ages,
  Filosofi cells, else the total population), with its band and vintage;
* :mod:`~territory.analysis.priority`: the transparent weighted score, its French
  reasons, the saved weights;
* :mod:`~territory.analysis.slots`: protected weekday × 2-hour profiles, partner hours and
  transit by hour, the recommended slots of a zone;
* :mod:`~territory.analysis.hotspots`: Getis-Ord Gi* and local Moran hot spots of the
  published density (conditional permutations, a seed, Benjamini-Hochberg), on the
  protected partition's published zones only;
* :mod:`~territory.analysis.transit_coverage`: where the imported GTFS feeds say something
  (coverage by network), the ``service_gaps`` layer (zone blanche, horaires de transport
  inconnus, pas de données de transport) and the transit state of zones.

Imports: the ground floor and :mod:`territory.privacy` (contact figures arrive already
protected, through :mod:`territory.privacy.published`); never ``territory.io``,
``rounds``, ``map`` or ``ui`` (checked by ``tests/test_architecture.py``).
"""

__all__ = [
    "access",
    "hotspots",
    "indicators",
    "need",
    "priority",
    "slots",
    "transit_coverage",
    "zones",
]
