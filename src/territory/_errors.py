"""Typed errors whose messages are written for the user, in French.

Pages catch :class:`TerritoryError` only and show ``str(error)`` with ``st.error``;
the CLI prints it on one line and exits with code 2. Any other exception is a bug.
"""

from __future__ import annotations


class TerritoryError(Exception):
    """Base class of every error the user can fix (message in French)."""


class WorkspaceError(TerritoryError):
    """The workspace file is missing, empty, corrupted or of another kind."""


class InputFileError(TerritoryError):
    """A file given by the user cannot be read as the expected kind."""


class ValidationError(TerritoryError, ValueError):
    """Arguments or data break a rule; the message lists every problem found."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__(" ; ".join(self.problems))


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
