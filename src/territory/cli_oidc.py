"""The login's command: ``territory oidc check``.

Kept apart from :mod:`territory.cli` (which registers it with :func:`add_commands`), like
:mod:`territory.cli_analysis`; same conventions: a French error on one line and exit
code 2.

``territory oidc check`` reads the ``TERRITORY_OIDC_*`` settings of the server's
environment, asks the provider for its discovery document, and says whether the login
would work (scopes offered, ID token signatures Authlib can check, keys published, token
endpoint authentication accepted), what to declare at the provider (the return address),
and whether the provider offers a logout. Run it on the server before starting the app.
"""

from __future__ import annotations

import argparse
from typing import Any

from territory._errors import ValidationError
from territory.settings import Settings

__all__ = ["add_commands"]

EXIT_OK = 0


def add_commands(sub: Any) -> None:
    """Register ``oidc check`` on the ``territory`` command's subparsers."""
    oidc = sub.add_parser("oidc", help="connexion OpenID Connect (ProConnect) du serveur")
    actions = oidc.add_subparsers(dest="oidc_action", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check", help="vérifier le fournisseur configuré par TERRITORY_OIDC_* avant d'ouvrir"
    )
    check.set_defaults(func=_check)


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from territory.access.oidc import check_provider, config_from_settings

    config = config_from_settings(settings)
    if config is None:
        raise ValidationError(
            "TERRITORY_OIDC_ISSUER non défini : pas de connexion OpenID Connect sur ce serveur"
        )
    for line in check_provider(config):
        print(line)
    print("Connexion OpenID Connect prête.")
    return EXIT_OK
