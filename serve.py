"""The server's entry point: ``streamlit run serve.py`` (or ``uvicorn serve:app``).

Runs ``app.py`` as an ``st.App`` whose ``[auth]`` secrets come from the environment
(``TERRITORY_OIDC_*``, see deploy/README.md): no secret is written to a file. Without
``TERRITORY_OIDC_ISSUER`` it serves the app exactly as ``streamlit run app.py`` does.
"""

import os

import streamlit as st
from starlette.middleware import Middleware

from territory.ui.login import LoginOutcomeMiddleware, auth_secrets_from_environment

app = st.App(
    "app.py",
    secrets=auth_secrets_from_environment(os.environ),
    middleware=[Middleware(LoginOutcomeMiddleware)],
)
