"""Doctest fixtures of the package: the demo workspace for :mod:`territory.api`'s examples.

The ``Examples`` of the notebook API and of the runs run on the demo workspace, as a
notebook would. The demo is built once per test session, and only when a doctest of
``territory.api`` or ``territory.runs`` runs; its path is ``demo`` in the doctest namespace.

Why here, at the root: pytest shares no fixture between ``tests/`` and ``src/``, and a
``src/conftest.py`` would be imported as ``conftest`` after ``tests/conftest.py``, so that a
test importing ``from conftest import …`` while it runs would get this module instead. The
root conftest is loaded first, before ``tests/conftest.py`` takes the name.
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
