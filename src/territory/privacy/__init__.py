"""Disclosure control: every contact figure that leaves the store goes through here.

- :mod:`~territory.privacy.raw`: the only code that reads or writes the stored contacts
  and their raw counts (queries, the one writer, the one delete, the purge);
- :mod:`~territory.privacy.protect`: the disclosure-control step (threshold on distinct
  people, the protected partition, secondary suppression, cell-key perturbation and
  rounding);
- :mod:`~territory.privacy.published`: protected figures read through ``raw`` (what views
  and analysis use);
- :mod:`~territory.privacy.pseudonyms`: the one key and fingerprint scheme.

May import the ground floor (``settings``, ``store``, ``grid``, ``territories``…) only:
nothing from ``io``, ``analysis``, ``rounds``, ``map`` or ``ui``.
"""

__all__ = ["protect", "pseudonyms", "published", "raw"]
