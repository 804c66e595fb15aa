"""The PostgreSQL connection of the shared server (issue #24), and its errors in French.

The one place that opens a connection to ``TERRITORY_DATABASE_URL``: the store's server
engine and the accounts, roles and audit of :mod:`territory.access` both go through
:func:`connect`. Messages never show the URL's password (:func:`redact`).

Examples
--------
>>> redact("postgresql://territory:s3cret@db.example.fr:5432/copil")
'postgresql://territory:***@db.example.fr:5432/copil'
>>> redact("postgresql:///copil")
'postgresql:///copil'
>>> redact("postgresql://territory_app:s3cret@db/copil#demo;session=Zk9-token")
'postgresql://territory_app:***@db/copil#demo;session=***'
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from territory._errors import WorkspaceError

if TYPE_CHECKING:  # psycopg is imported only when a server is used
    import psycopg

_PASSWORD = re.compile(r"(://[^:/@]+:)[^@]*@")
_SESSION = re.compile(r"(;session=)[^;#\s]+")


def redact(url: str) -> str:
    """``url`` with its password and a user's session token replaced by ``***``."""
    return _SESSION.sub(r"\1***", _PASSWORD.sub(r"\1***@", url))


def is_server_url(text: str) -> bool:
    """Whether ``text`` names a PostgreSQL server rather than a workspace file."""
    return text.startswith(("postgresql://", "postgres://"))


def connect(url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """A new connection to the server at ``url``, with a French message when it fails.

    Keyword arguments go to :func:`psycopg.connect` (``autocommit``, ``row_factory``…).
    The session speaks UTC and names itself ``territory`` in ``pg_stat_activity``.
    """
    import psycopg

    try:
        return psycopg.connect(
            url, application_name="territory", options="-c timezone=UTC", **kwargs
        )
    except psycopg.OperationalError as exc:
        raise WorkspaceError(
            f"serveur PostgreSQL injoignable ({redact(url)}) : {_reason(exc)}"
        ) from exc


def _reason(exc: BaseException) -> str:
    """Why a connection failed, in French."""
    text = str(exc).lower()
    if "password authentication failed" in text or "authentication" in text:
        return "identifiant ou mot de passe refusé"
    if "does not exist" in text:
        return "base de données inconnue"
    if "connection refused" in text or "could not connect" in text or "timeout" in text:
        return "le serveur ne répond pas (démarré ? bonne adresse et bon port ?)"
    return "connexion refusée"
