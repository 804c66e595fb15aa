"""Typed errors whose messages are written for the user, in French.

Pages catch :class:`TerritoryError` only and show ``str(error)`` with ``st.error``;
the CLI prints it on one line and exits with code 2. Any other exception is a bug.
"""

from __future__ import annotations

import json
import sqlite3
import zipfile
import zlib
from collections.abc import Sequence


class TerritoryError(Exception):
    """Base class of every error the user can fix (message in French)."""


class WorkspaceError(TerritoryError):
    """The workspace file is missing, empty, corrupted or of another kind."""


class InputFileError(TerritoryError):
    """A file given by the user cannot be read as the expected kind."""


class SheetChoiceError(InputFileError):
    """A workbook with several sheets, none of which can be chosen for the user.

    ``sheets`` lists its non-empty sheets, in the workbook's order: the user picks one.
    """

    def __init__(self, message: str, sheets: Sequence[str]) -> None:
        super().__init__(message)
        self.sheets = tuple(sheets)


class ValidationError(TerritoryError, ValueError):
    """Arguments or data break a rule; the message lists every problem found."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__(" ; ".join(self.problems))


class EditConflictError(ValidationError):
    """Saved on a version that someone else has replaced since: nothing was written.

    The message says who changed what meanwhile; the edit can be made again (or carried
    over) on the newest version.
    """


class CRSError(InputFileError):
    """Coordinates that cannot be in the stated coordinate reference system."""


class NetworkError(TerritoryError):
    """A download failed: offline, timeout, HTTP error or corrupted file (message in French).

    Attributes
    ----------
    host
        Host name of the URL that failed (``geo.api.gouv.fr``).
    status
        HTTP status of the last answer, or ``None`` when no answer came.
    """

    def __init__(self, message: str, *, host: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.host = host
        self.status = status


def plain_reason(exc: BaseException) -> str:
    r"""Why a library failed, in French words, without its internals.

    For the messages of :class:`TerritoryError` built from another library's exception:
    pages and the command line show no English text of pandas, SQLite or Arrow, no
    codec name, byte offset or temporary path (the exception stays chained for
    ``TERRITORY_DEBUG``).

    Examples
    --------
    >>> plain_reason(UnicodeDecodeError("utf-8", b"\\xe9", 0, 1, "invalid continuation byte"))
    'encodage des caractères non reconnu (enregistrez le fichier en UTF-8)'
    >>> plain_reason(sqlite3.OperationalError("database is locked"))
    'fichier verrouillé par un autre programme (QGIS ?) : réessayez une fois fermé'
    """
    if isinstance(exc, TerritoryError):
        return str(exc)
    text = str(exc).lower()
    if isinstance(exc, UnicodeError) or "codec" in text or "utf-8" in text or "utf8" in text:
        return "encodage des caractères non reconnu (enregistrez le fichier en UTF-8)"
    if isinstance(exc, json.JSONDecodeError):
        return f"JSON invalide (ligne {exc.lineno}, colonne {exc.colno})"
    if isinstance(exc, sqlite3.Error):
        if "locked" in text or "busy" in text:
            return "fichier verrouillé par un autre programme (QGIS ?) : réessayez une fois fermé"
        if "full" in text or "disk i/o" in text:
            return "disque plein ou inaccessible"
        if "readonly" in text or "read-only" in text:
            return "fichier en lecture seule"
        return "fichier endommagé, ou qui n'est pas une base SQLite / GeoPackage"
    if isinstance(exc, zipfile.BadZipFile | EOFError | zlib.error):
        return "archive endommagée ou incomplète"
    if isinstance(exc, PermissionError):
        return "accès refusé"
    if isinstance(exc, FileNotFoundError | IsADirectoryError | NotADirectoryError):
        return "fichier ou dossier introuvable"
    if isinstance(exc, OSError):
        if "gzip" in text or "compressed" in text:
            return "archive endommagée ou incomplète"
        return "lecture ou écriture impossible (disque plein ou fichier inaccessible ?)"
    if type(exc).__name__ == "EmptyDataError" or "empty" in text:
        return "fichier vide"
    if "column" in text or "tokeniz" in text or "field" in text:
        return "lignes de longueurs différentes (séparateur ou guillemets mal placés ?)"
    return "contenu inattendu pour ce type de fichier"
