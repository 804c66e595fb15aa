"""Who may do what on the shared server (issue #24): identities, roles scoped by territory.

``identity`` is the ground both logins build on: an OpenID Connect provider (ProConnect's
userinfo claims) or a local account both yield an :class:`~territory.access.identity.Identity`.
``permissions`` is the one table of what each role may see and do; ``schema`` the server's
``territory_access`` schema and its two login roles; ``accounts`` local passwords, lockout,
OIDC identities and sessions; ``rls`` the row-level security of a workspace's tables;
``audit`` the append-only log. Each imports psycopg and argon2 only when called.
"""

from territory.access.identity import Identity, Role

__all__ = ["Identity", "Role"]
