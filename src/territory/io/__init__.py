"""Readers of official and team files: boundaries, COG, partners, contacts, GTFS, geocoding.

Nothing here writes to the workspace except through :mod:`territory.ingest`.
"""
