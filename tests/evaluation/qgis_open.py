"""Open an evaluation package in QGIS itself and say what QGIS sees, as JSON on stdout.

Run with Debian's ``/usr/bin/python3`` (``python3-qgis``), never the project's venv:
``QT_QPA_PLATFORM=offscreen /usr/bin/python3 qgis_open.py PACKAGE.gpkg``. For each layer
of the GeoPackage (as QGIS lists them): valid or not, CRS, feature count, the renderer
of the default style QGIS loaded from ``layer_styles``, and the metadata QGIS shows in the
layer's properties (title, licences, rights, history).
"""

import json
import os
import sys


def main(path: str) -> dict:
    """What QGIS sees of each layer of ``path``."""
    # Imported here: pytest imports this file for its doctests, with no QGIS around.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import Qgis, QgsApplication, QgsProviderRegistry, QgsVectorLayer

    app = QgsApplication([], False)
    app.initQgis()
    # no exitQgis(): the process leaves with os._exit once the JSON is out
    metadata = QgsProviderRegistry.instance().providerMetadata("ogr")
    names = [d.name() for d in metadata.querySublayers(path)]
    layers = {}
    for name in names:
        layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
        info = {"valid": layer.isValid()}
        if layer.isValid():
            meta = layer.metadata()
            renderer = layer.renderer()
            info.update(
                {
                    "spatial": layer.isSpatial(),
                    "crs": layer.crs().authid() if layer.isSpatial() else "",
                    "features": layer.featureCount(),
                    "renderer": renderer.type() if renderer is not None else None,
                    "classes": (
                        len(renderer.ranges())
                        if renderer is not None and renderer.type() == "graduatedSymbol"
                        else len(renderer.categories())
                        if renderer is not None and renderer.type() == "categorizedSymbol"
                        else 0
                    ),
                    "attribute": getattr(renderer, "classAttribute", lambda: "")(),
                    "title": meta.title(),
                    "abstract": meta.abstract(),
                    "licenses": list(meta.licenses()),
                    "rights": list(meta.rights()),
                    "history": list(meta.history()),
                    "metadata_crs": meta.crs().authid(),
                }
            )
        layers[name] = info
        del layer
    return {"qgis": Qgis.QGIS_VERSION, "layers": layers}


if __name__ == "__main__":
    # QGIS's teardown may end the process before Python flushes: write, flush, leave.
    sys.stdout.write(json.dumps(main(sys.argv[1]), ensure_ascii=False))
    sys.stdout.flush()
    os._exit(0)
