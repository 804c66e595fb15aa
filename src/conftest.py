"""Doctest fixtures of the package: the demo workspace for :mod:`territory.api`'s examples.

The ``Examples`` of the notebook API run on the demo workspace, as a notebook would. The
demo is built once per test session, and only when a doctest of ``territory.api`` (or
``territory.runs``) is collected and run; its path is ``demo`` in the doctest namespace.
(``tests/conftest.py`` builds its own for the tests: pytest shares no fixture between
``tests/`` and ``src/``, and a root ``conftest.py`` would put every test fixture in the
doctests' reach.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

_NEEDS_DEMO = ("territory.api", "territory.runs")


@pytest.fixture(scope="session")
def doctest_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo workspace, built through the real importers, with a temporary secret."""
    from territory import Settings
    from territory.demo import build_demo_workspace

    folder = tmp_path_factory.mktemp("doctest-demo")
    path = folder / "demo.gpkg"
    build_demo_workspace(path, settings=Settings(secret_path=folder / "secret.key"))
    return path


@pytest.fixture(autouse=True)
def _demo_in_doctests(request: pytest.FixtureRequest, doctest_namespace: dict[str, Any]) -> None:
    """``demo`` (the demo workspace's path) for the doctests of :data:`_NEEDS_DEMO`."""
    if request.node.name.startswith(_NEEDS_DEMO):
        doctest_namespace["demo"] = request.getfixturevalue("doctest_demo")
