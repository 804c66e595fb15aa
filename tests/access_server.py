"""A server database with the access schema, and the URLs of its three kinds of connection."""

from __future__ import annotations

from dataclasses import dataclass

from territory import _pg
from territory.access import schema

APP_PASSWORD = "territory-app-test"
LOGIN_PASSWORD = "territory-login-test"


@dataclass(frozen=True)
class Server:
    """The owner's, the app role's and the login role's URLs of one test database."""

    owner: str
    app: str
    login: str


def as_role(url: str, user: str, password: str) -> str:
    """``url`` logging in as ``user`` instead."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{user}:{password}@{rest.split('@', 1)[1]}"


def init_server(pg_database: str) -> Server:
    """``territory access init`` on ``pg_database`` (roles' passwords set for the tests)."""
    with _pg.connect(pg_database, autocommit=True) as con:
        schema.init(con, app_password=APP_PASSWORD, login_password=LOGIN_PASSWORD)
    return Server(
        owner=pg_database,
        app=as_role(pg_database, schema.APP_ROLE, APP_PASSWORD),
        login=as_role(pg_database, schema.LOGIN_ROLE, LOGIN_PASSWORD),
    )
