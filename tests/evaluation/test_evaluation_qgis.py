"""QGIS itself opens the evaluation package: every layer valid, in Lambert-93, styled.

A real client: Debian's QGIS (``python3-qgis``, headless) runs ``qgis_open.py`` on the
package of the demo workspace and answers in JSON what it sees of each layer — valid or
not, CRS, features, the renderer of the default style it loaded from ``layer_styles``
and the metadata it shows in the layer's properties. Skipped, with the reason, where
``/usr/bin/python3 -c "import qgis.core"`` fails (``scripts/test.sh`` installs it as root).
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date
from pathlib import Path

import pytest
from test_evaluation_package import SPATIAL

from territory import Settings
from territory.evaluation import export_package
from territory.store import Workspace

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("qgis_open.py")

pytestmark = pytest.mark.qgis


def _qgis_missing() -> str | None:
    try:
        found = subprocess.run(
            [SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, check=False
        )
    except OSError as exc:
        return f"{SYSTEM_PYTHON} absent ({exc.strerror})"
    if found.returncode:
        return "QGIS absent (apt-get install python3-qgis qgis-providers) : test QGIS ignoré"
    return None


def open_in_qgis(path: Path) -> dict:
    """What QGIS sees of the package (``qgis_open.py`` in Debian's Python)."""
    reason = _qgis_missing()
    if reason:
        pytest.skip(reason)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": ""}
    result = subprocess.run(
        [SYSTEM_PYTHON, str(SCRIPT), str(path)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=300,
        cwd=path.parent,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def seen(
    demo_workspace: Path, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict, dict[str, int], str]:
    out = tmp_path_factory.mktemp("qgis") / "evaluation.gpkg"
    report = export_package(
        Workspace.open(demo_workspace), out, settings=settings, today=date(2026, 12, 1)
    )
    return open_in_qgis(out), report.layers, report.parameters_hash


def test_qgis_opens_every_layer_valid_with_its_features(
    seen: tuple[dict, dict[str, int], str],
) -> None:
    answer, rows, _ = seen
    assert answer["qgis"].startswith("3.")
    layers = answer["layers"]
    assert set(layers) == set(rows)  # layer_styles is QGIS's own table: not a layer
    for name, info in layers.items():
        assert info["valid"], name
        assert info["features"] == rows[name], name


def test_qgis_reads_lambert_93_and_the_default_styles(
    seen: tuple[dict, dict[str, int], str],
) -> None:
    layers = seen[0]["layers"]
    spatial = {name for name, info in layers.items() if info["spatial"]}
    assert spatial == set(SPATIAL)
    for name, renderer in SPATIAL.items():
        info = layers[name]
        assert info["crs"] == "EPSG:2154", name
        assert info["renderer"] == renderer, name  # the style of layer_styles, not QGIS's
        if renderer != "singleSymbol":
            assert info["classes"] >= 3, name
    assert layers["density"]["attribute"] == '"count" / "area_km2"'
    assert layers["density"]["classes"] == 6
    assert layers["indicators_communes"]["attribute"] == "score"
    assert layers["partners"]["attribute"] == "type"
    assert layers["service_gaps"]["attribute"] == "etat"


def test_qgis_shows_each_layer_s_metadata(seen: tuple[dict, dict[str, int], str]) -> None:
    layers, digest = seen[0]["layers"], seen[2]
    for name, info in layers.items():
        assert info["title"] and info["abstract"], name
        assert info["licenses"] and all(info["licenses"]), name
        assert any(h.startswith("Source : ") for h in info["history"]), name
        assert f"Empreinte des paramètres : sha256:{digest}" in info["history"], name
        assert info["rights"] and "aucun contact" in info["rights"][0], name
        if info["spatial"]:
            assert info["metadata_crs"] == "EPSG:2154", name
    assert layers["density"]["licenses"] == ["Licence Ouverte 2.0 (Etalab)"]
