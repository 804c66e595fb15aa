"""The server's entry point: ``streamlit run serve.py`` (or ``uvicorn serve:app``).

Runs ``app.py`` as an ``st.App`` whose ``[auth]`` secrets come from the environment
(``TERRITORY_OIDC_*``, see deploy/README.md): no secret is written to a file. Without
``TERRITORY_OIDC_ISSUER`` it serves the app exactly as ``streamlit run app.py`` does.
"""

import os

import streamlit as st
from starlette.middleware import Middleware

from territory.ui.oidc import (
    LoginOutcomeMiddleware,
    auth_secrets_from_environment,
    lengthen_state_and_nonce,
)

auth = auth_secrets_from_environment(os.environ)  # wrong: one French line, exit code 2
if auth:
    lengthen_state_and_nonce()  # ProConnect: state and nonce of 32 characters at least
app = st.App(
    "app.py",
    secrets=auth,
    middleware=[Middleware(LoginOutcomeMiddleware)],
)
