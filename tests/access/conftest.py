"""The access tests' fixture: a server database with the access schema (``access_server``)."""

from access_server import server

__all__ = ["server"]
