"""The evaluation team's package and the « Méthodes » document (issue #23).

* :mod:`~territory.evaluation.package`: :func:`export_package`, every published layer in
  one GeoPackage (Lambert-93 by default) with QGIS styles, GeoPackage metadata, a
  Frictionless ``datapackage.json`` and ``methodes.md``; :data:`EXTRA_LAYERS`, where other
  analyses (hot spots, accessibility) add their layers;
* :mod:`~territory.evaluation.styles`: the QGIS styles (QML) in the app's colours;
* :mod:`~territory.evaluation.methods`: the « Méthodes » document with the parameters in
  force in the workspace.

Floor: beside :mod:`territory.export`, whose shareable layers it builds on (it reads
``territory.analysis``, ``territory.privacy.published``, ``territory.rounds`` constants
and ``territory.map.styles`` colours, never ``territory.ui``).
"""

from territory.evaluation.methods import METHODS_TITLE, methods_markdown, methods_parameters
from territory.evaluation.package import (
    DEFAULT_CRS,
    EXTRA_LAYERS,
    METHODS_FILE,
    PACKAGE_DESCRIPTOR,
    PackageLayer,
    PackageReport,
    export_package,
    package_bytes,
    package_styles,
)

__all__ = [
    "DEFAULT_CRS",
    "EXTRA_LAYERS",
    "METHODS_FILE",
    "METHODS_TITLE",
    "PACKAGE_DESCRIPTOR",
    "PackageLayer",
    "PackageReport",
    "export_package",
    "methods_markdown",
    "methods_parameters",
    "package_bytes",
    "package_styles",
]
