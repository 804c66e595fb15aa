"""Who may do what on the shared server (issue #24): identities, roles scoped by territory.

``identity`` is the ground both logins build on: an OpenID Connect provider (ProConnect's
userinfo claims) or a local account both yield an :class:`~territory.access.identity.Identity`.
"""

from territory.access.identity import Identity, Role

__all__ = ["Identity", "Role"]
