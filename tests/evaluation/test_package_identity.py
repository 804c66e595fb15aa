"""Every published value of the evaluation package stays byte for byte what it was.

Speeding the package up (issue #23: shared reads, one drawing of the density's zones) must
not change one value: the demo workspace, built with a fixed secret, is packaged and every
table of the GeoPackage (rows in file order, every column, geometries as their blobs) and
both side files are hashed and compared with :data:`EXPECTED_FILE`, written by the code
before the speed-up (commit b0a6589) with::

    PYTHONPATH=src:. python tests/evaluation/test_package_identity.py --write

A change that is meant to alter published values (a new rule of privacy.md, a new layer)
regenerates the file in the same commit and says why; a speed-up never does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import secrets
import sqlite3
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from unittest import mock

import numpy as np

from territory import Settings
from territory.evaluation import METHODS_FILE, PACKAGE_DESCRIPTOR, export_package
from territory.store import Workspace

TODAY = date(2026, 12, 1)
SECRET = bytes(range(32))
SEED = 2026
EXPECTED_FILE = Path(__file__).with_name("package_hashes.json")
"""The hash of every table and side file of the demo's package, by name."""
SKIPPED = ("rtree_", "sqlite_")
"""Spatial indexes and SQLite's own tables: how GDAL indexes, not what is published."""


def package_hashes(folder: Path) -> dict[str, str]:
    """Build the demo (fixed secret and keys) and its package in ``folder``; hash it."""
    from territory.demo import build_demo_workspace

    secret = folder / "secret.key"
    secret.write_bytes(SECRET)
    settings = Settings(secret_path=secret)
    workspace = folder / "demo.gpkg"
    with reproducible_keys():
        build_demo_workspace(workspace, settings=settings)
    out = folder / "paquet" / "evaluation.gpkg"
    export_package(Workspace.open(workspace), out, settings=settings, today=TODAY)
    hashes = table_hashes(out)
    for name in (PACKAGE_DESCRIPTOR, METHODS_FILE):
        hashes[name] = hashlib.sha256(out.with_name(name).read_bytes()).hexdigest()
    return hashes


@contextlib.contextmanager
def reproducible_keys() -> Iterator[None]:
    """Record keys drawn from seeded generators instead of the OS's entropy.

    The importers draw every contact's (and parcours row's) key at random, so that keys
    are never reproducible (privacy.md); the protected values depend on them. Only to
    build the same workspace twice, the draws without a seed get one.
    """
    unseeded = np.random.default_rng
    draws = random.Random(SEED)

    def seeded(seed: object = None) -> np.random.Generator:
        return unseeded(SEED if seed is None else seed)  # type: ignore[arg-type]

    with (
        mock.patch.object(np.random, "default_rng", seeded),
        mock.patch.object(secrets, "randbelow", draws.randrange),
    ):
        yield


def table_hashes(path: Path) -> dict[str, str]:
    """SHA-256 of each table's rows (file order, every column, exact ``repr``)."""
    hashes = {}
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        query = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        for (name,) in con.execute(query).fetchall():
            if name.startswith(SKIPPED):
                continue
            digest = hashlib.sha256()
            for row in con.execute(f'SELECT * FROM "{name}" ORDER BY rowid'):
                digest.update(repr(row).encode())
            hashes[name] = digest.hexdigest()
    return hashes


def test_every_table_of_the_package_is_unchanged(tmp_path: Path) -> None:
    expected = json.loads(EXPECTED_FILE.read_text(encoding="utf-8"))
    found = package_hashes(tmp_path)
    assert sorted(found) == sorted(expected)
    changed = sorted(name for name in expected if found[name] != expected[name])
    assert not changed, f"published values changed: {changed}"


if __name__ == "__main__":
    import tempfile

    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: test_package_identity.py --write  (on the commit whose values stand)")
    with tempfile.TemporaryDirectory() as tmp:
        table = package_hashes(Path(tmp))
    EXPECTED_FILE.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    sys.stdout.write(f"{len(table)} hashes written to {EXPECTED_FILE}\n")
