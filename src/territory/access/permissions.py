"""What each role may do: the one table of pages and actions, and a user's grants.

The app shows only the pages of :func:`Access.pages` (``st.navigation``), and every action
asks :meth:`Access.may` (or :meth:`Access.require`, which raises a French refusal); the
command line asks the same when it talks to a server. The database enforces the territory
scope again on every row (:mod:`territory.access.rls`).

Examples
--------
>>> lead = Access("lea@example.fr", (Grant(Role.CHEF_EQUIPE, "nord", "Sambre"),))
>>> lead.pages()
('Accueil', 'Carte', 'Contacts', 'Où et quand', 'Tournées', 'Données', 'Méthodes')
>>> lead.may("import", workspace="nord", territory="Sambre")
True
>>> lead.may("import", workspace="nord", territory="Avesnois")
False
>>> lead.may("purge")
False
>>> Access("a@example.fr", (Grant(Role.ADMIN),)).may("read_audit")
True
"""

from __future__ import annotations

from dataclasses import dataclass

from territory._errors import TerritoryError
from territory.access.identity import Role

__all__ = [
    "ACTIONS",
    "ACTION_LABELS",
    "ALL",
    "PAGES",
    "PERMISSIONS",
    "Access",
    "AccessDeniedError",
    "Grant",
]

ALL = "*"
"""A grant's workspace or territory that covers every one."""

PAGES = (
    "Accueil",
    "Carte",
    "Contacts",
    "Où et quand",
    "Tournées",
    "Comparer",
    "Données",
    "Méthodes",
    "Administration",
)
"""Every page of the app, in the navigation's order."""

ACTION_LABELS = {
    "import": "importer des fichiers",
    "plan": "modifier les tournées",
    "feedback": "saisir les retours de tournée",
    "purge": "purger les contacts anciens",
    "export_package": "exporter le paquet partageable",
    "report": "produire les rapports du comité",
    "manage_accounts": "gérer les comptes",
    "read_audit": "lire le journal d'audit",
}
ACTIONS = tuple(ACTION_LABELS)

PERMISSIONS: dict[Role, tuple[frozenset[str], frozenset[str]]] = {
    Role.CHEF_EQUIPE: (
        frozenset(
            {"Accueil", "Carte", "Contacts", "Où et quand", "Tournées", "Données", "Méthodes"}
        ),
        frozenset({"import", "plan", "feedback"}),
    ),
    Role.COMITE: (
        frozenset({"Accueil", "Comparer", "Méthodes"}),
        frozenset({"report"}),
    ),
    Role.GEOGRAPHE: (
        frozenset({"Accueil", "Carte", "Données", "Méthodes"}),
        frozenset({"export_package"}),
    ),
    Role.ADMIN: (
        frozenset({"Accueil", "Données", "Méthodes", "Administration"}),
        frozenset({"purge", "manage_accounts", "read_audit"}),
    ),
}
"""Role → (pages, actions): the one table of who may do what."""


class AccessDeniedError(TerritoryError):
    """An action the user's roles do not allow (message in French)."""


@dataclass(frozen=True)
class Grant:
    """One role on one workspace (``*``: all) and one territory (``None``: all of it)."""

    role: Role
    workspace: str = ALL
    territory: str | None = None

    def covers(self, workspace: str | None, territory: str | None) -> bool:
        """Whether the grant reaches ``workspace`` and ``territory`` (``None``: any)."""
        if workspace is not None and self.workspace not in (ALL, workspace):
            return False
        return territory is None or self.territory in (None, territory)


@dataclass(frozen=True)
class Access:
    """A logged-in user and their grants; ``None`` for the laptop app (no server)."""

    email: str
    grants: tuple[Grant, ...]

    @property
    def roles(self) -> frozenset[Role]:
        """The user's roles, whatever their scope."""
        return frozenset(g.role for g in self.grants)

    def pages(self) -> tuple[str, ...]:
        """The pages this user sees, in the navigation's order."""
        allowed = set().union(*(PERMISSIONS[r][0] for r in self.roles)) if self.roles else set()
        return tuple(p for p in PAGES if p in allowed)

    def may(
        self, action: str, *, workspace: str | None = None, territory: str | None = None
    ) -> bool:
        """Whether a grant allows ``action`` on ``workspace`` / ``territory`` (``None``: any)."""
        if action not in ACTION_LABELS:
            raise ValueError(f"unknown action {action!r}")
        return any(
            action in PERMISSIONS[g.role][1] and g.covers(workspace, territory) for g in self.grants
        )

    def require(
        self, action: str, *, workspace: str | None = None, territory: str | None = None
    ) -> None:
        """Raise :class:`AccessDeniedError` (one French line) unless :meth:`may` allows it."""
        if not self.may(action, workspace=workspace, territory=territory):
            where = f" sur {territory}" if territory else f" dans {workspace}" if workspace else ""
            raise AccessDeniedError(
                f"{self.email} n'a pas le droit de {ACTION_LABELS[action]}{where} : "
                "demandez-le à un administrateur"
            )

    def may_open(self, workspace: str) -> bool:
        """Whether any grant reaches ``workspace`` (its name: the file's stem, the schema).

        >>> Access("lea@example.fr", (Grant(Role.CHEF_EQUIPE, "nord"),)).may_open("sud")
        False
        """
        return any(g.workspace in (ALL, workspace) for g in self.grants)

    def territories(self, workspace: str) -> tuple[str, ...] | None:
        """The territories of ``workspace`` this user is scoped to; ``None``: all of them."""
        names: set[str] = set()
        for g in self.grants:
            if g.workspace not in (ALL, workspace):
                continue
            if g.territory is None:
                return None
            names.add(g.territory)
        return tuple(sorted(names))
