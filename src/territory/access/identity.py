"""Who is logged in, and the four roles of a programme's server.

Examples
--------
>>> who = Identity(subject="a1b2", email="Lea.Martin@Example.fr", provider="local")
>>> who.email
'lea.martin@example.fr'
>>> Role("comite").label
'Comité de pilotage'
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """A role on the server; every role but ``admin`` is scoped to territories."""

    CHEF_EQUIPE = "chef_equipe"
    """Team lead: their territories' imports, plans, feedback and protected views."""
    COMITE = "comite"
    """Steering committee: the programme's comparison and reports."""
    GEOGRAPHE = "geographe"
    """Evaluation geographer: the shareable package and the protected layers."""
    ADMIN = "admin"
    """Accounts, purge and audit, across the server."""

    @property
    def label(self) -> str:
        """The role's French name, as the pages show it."""
        return _LABELS[self]


_LABELS = {
    Role.CHEF_EQUIPE: "Chef·fe d'équipe",
    Role.COMITE: "Comité de pilotage",
    Role.GEOGRAPHE: "Géographe",
    Role.ADMIN: "Administration",
}


@dataclass(frozen=True)
class Identity:
    """A person as a login proves them: OpenID Connect claims or a local account.

    Attributes
    ----------
    subject
        The provider's stable identifier (``sub``), or the local account's id.
    email
        Lower-cased e-mail address: the key an administrator grants roles to.
    provider
        ``"local"`` or the OpenID Connect issuer's URL.
    name
        Display name (``given_name`` ``usual_name`` for ProConnect), may be empty.
    organisation
        SIRET or organisation name from the userinfo endpoint, may be empty.
    """

    subject: str
    email: str
    provider: str
    name: str = ""
    organisation: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "email", self.email.strip().lower())
