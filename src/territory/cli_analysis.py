"""The analysis commands: ``territory hotspots`` and ``territory access``.

Kept apart from :mod:`territory.cli` (which registers them with :func:`add_commands`),
like :mod:`territory.cli_programme`; same conventions: heavy imports inside each command,
a French error on one line and exit code 2.

``territory hotspots --workspace W [--territory NOM] [--method gi|moran] [--weights
queen|distance] [--permutations N] [--seed S] [--alpha A] [--json] [--out F]`` finds the
hot spots of the published density (:func:`territory.views.hot_spots_layer`);
``territory access --workspace W [--mode M] [--zones commune|qpv] [--decay …] [--out F]``
the accessibility to partners (:func:`territory.views.accessibility_layer`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from territory._errors import ValidationError
from territory.cli_programme import workspace_argument
from territory.settings import Settings
from territory.vocab import MODES

__all__ = ["add_commands"]

EXIT_OK = 0


def add_commands(sub: Any) -> None:
    """Register ``hotspots`` and ``access`` on the ``territory`` command's subparsers."""
    hot = sub.add_parser(
        "hotspots", help="points chauds de la densité publiée (Gi* ou Moran local, FDR)"
    )
    workspace_argument(hot)
    hot.add_argument("--territory", metavar="NOM", help="territoire (défaut : tout l'espace)")
    hot.add_argument("--method", choices=("gi", "moran"), default="gi", help="défaut : gi")
    hot.add_argument(
        "--weights",
        choices=("queen", "distance"),
        default="queen",
        help="voisinage : carreaux qui se touchent (défaut) ou bande de distance",
    )
    hot.add_argument("--band", type=float, default=500.0, metavar="M", help="bande (m)")
    hot.add_argument("--permutations", type=int, default=999, help="défaut : 999")
    hot.add_argument("--seed", type=int, default=20261207, help="graine (défaut : 20261207)")
    hot.add_argument("--alpha", type=float, default=0.05, help="taux de fausses découvertes")
    hot.add_argument("--json", action="store_true", help="paramètres et effectifs en JSON")
    hot.add_argument(
        "--out", type=Path, metavar="FICHIER", help="écrire les zones (.gpkg, .geojson, .csv)"
    )
    hot.set_defaults(func=_hotspots, audit="export", audit_out=True)

    acc = sub.add_parser(
        "access", help="accessibilité aux partenaires par commune ou QPV (2SFCA / E2SFCA)"
    )
    workspace_argument(acc)
    acc.add_argument("--territory", metavar="NOM", help="territoire (défaut : tout l'espace)")
    acc.add_argument("--mode", choices=MODES, default="voiture", help="défaut : voiture")
    acc.add_argument("--zones", choices=("commune", "qpv"), default="commune")
    acc.add_argument("--catchment", type=float, default=30.0, metavar="MIN", help="défaut : 30")
    acc.add_argument(
        "--decay",
        choices=("none", "stepped", "gaussian"),
        default="stepped",
        help="none : 2SFCA ; stepped (défaut) ou gaussian : E2SFCA",
    )
    acc.add_argument(
        "--supply", choices=("partners", "hours"), default="partners", help="offre (défaut : 1)"
    )
    acc.add_argument("--json", action="store_true", help="paramètres et effectifs en JSON")
    acc.add_argument(
        "--out", type=Path, metavar="FICHIER", help="écrire les zones (.gpkg, .geojson, .csv)"
    )
    acc.set_defaults(func=_access, audit="export", audit_out=True)


def _hotspots(args: argparse.Namespace, settings: Settings) -> int:
    from territory.store import Workspace
    from territory.views import hot_spots_layer

    result = hot_spots_layer(
        Workspace.open(args.workspace),
        settings=settings,
        territory=args.territory,
        method=args.method,
        weights=args.weights,
        band_m=args.band,
        permutations=args.permutations,
        seed=args.seed,
        alpha=args.alpha,
    )
    counts = result.frame["classe"].value_counts().to_dict()
    if args.out:
        _write_zones(result.frame, args.out)
    if args.json:
        print(json.dumps({"parameters": result.parameters, "classes": counts}, indent=2))
        return EXIT_OK
    from territory._fr import format_number

    p = result.parameters
    alpha = format_number(p["alpha"], decimals=len(f"{p['alpha']:g}".partition(".")[2]))
    print(
        f"{p['zones_analysed']} zone(s) analysée(s) ({p['method']}) : "
        f"{counts.get('point chaud', 0)} point(s) chaud(s), "
        f"{counts.get('point froid', 0)} point(s) froid(s) à q < {alpha} "
        f"({p['significant_raw']} à p < {alpha} sans correction)"
    )
    return EXIT_OK


def _access(args: argparse.Namespace, settings: Settings) -> int:
    from territory.store import Workspace
    from territory.views import accessibility_layer

    frame, parameters = accessibility_layer(
        Workspace.open(args.workspace),
        settings=settings,
        mode=args.mode,
        kind=args.zones,
        territory=args.territory,
        catchment_min=args.catchment,
        decay=args.decay,
        supply=args.supply,
    )
    if args.out:
        _write_zones(frame, args.out)
    if args.json:
        print(json.dumps(parameters, ensure_ascii=False, indent=2))
        return EXIT_OK
    from territory._fr import format_number

    reached = frame.loc[~frame["sans_partenaire"], "acces"]
    median = format_number(float(reached.median()) if len(reached) else 0.0, decimals=1)
    print(
        f"{len(frame)} zone(s), {parameters['method']} ({args.mode}, "
        f"{format_number(args.catchment)} min) : {int(frame['sans_partenaire'].sum())} sans "
        f"partenaire à portée ; médiane des autres {median} partenaire(s) pour 10 000 "
        f"habitants ({parameters['demand']})"
    )
    return EXIT_OK


def _write_zones(frame: Any, out: Path) -> None:
    """Zones to a GeoPackage, GeoJSON (EPSG:4326) or French CSV (without geometry)."""
    suffix = out.suffix.lower()
    if suffix == ".csv":
        from territory._fr import french_csv

        french_csv(frame.drop(columns=frame.geometry.name), out)
    elif suffix in (".gpkg", ".geojson"):
        frame.to_file(out, driver="GPKG" if suffix == ".gpkg" else "GeoJSON")
    else:
        raise ValidationError(f"format de sortie inconnu : {out.name} (.gpkg, .geojson ou .csv)")
    print(f"{len(frame)} zone(s) écrite(s) dans {out}", file=sys.stderr)
