"""The demo workspace: the demo's source files imported like real data, then set up.

:func:`build_demo_workspace` writes the source files (:mod:`territory.demo.sources`),
imports them through :func:`territory.ingest.import_file`, and adds what a team would set
up first: programme territories (two, then the other two EPCI for the steering
committee's programme, :mod:`territory.demo.programme`), three teams and the candidate
places of the rounds. The team's parcours export is imported like any file.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from territory.crs import METRIC_CRS, STORAGE_CRS
from territory.demo.contacts import CONTACTS_END
from territory.demo.programme import define_demo_programme, write_parcours
from territory.demo.scale import DemoScale
from territory.demo.sources import write_demo_sources
from territory.io.report import ImportReport
from territory.settings import Settings

__all__ = ["build_demo_workspace"]

_DEMO_VINTAGE = "démo fictive"


def build_demo_workspace(
    path: str | Path,
    *,
    settings: Settings,
    seed: int = 2026,
    scale: str | DemoScale = "demo",
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
) -> list[ImportReport]:
    """Build the demo workspace: write the source files, then import them like real data.

    The source files live in a temporary folder removed afterwards: the workspace
    keeps only what any import keeps (the contacts anonymised at the door).

    Parameters
    ----------
    path
        Workspace file to create.
    settings
        Gives the HMAC secret and the stop buffer used by the importers.
    seed, scale
        Generator seed; ``"demo"``, ``"departement"``, ``"region"`` (see
        :meth:`DemoScale.named`) or a :class:`DemoScale`.
    overwrite
        Replace an existing workspace instead of refusing.
    progress
        Called with a French message before each step.

    Returns
    -------
    list of ImportReport
        One report per imported file.
    """
    from territory.ingest import import_file
    from territory.store import Workspace

    size = scale if isinstance(scale, DemoScale) else DemoScale.named(scale)
    say = progress or (lambda _: None)
    with tempfile.TemporaryDirectory(prefix="territory-demo-") as tmp:
        say("Génération des fichiers sources du territoire fictif…")
        sources = write_demo_sources(Path(tmp), seed=seed, scale=size)
        parcours = write_parcours(
            sources.contacts, Path(tmp) / "parcours.csv", seed=seed,
            earlier=sources.earlier_contacts,
        )  # fmt: skip
        ws = Workspace.create(path, name=sources.territory_name, overwrite=overwrite)
        steps = [
            ("communes", sources.communes),
            ("density", sources.density),
            ("qpv", sources.qpv),
            ("partners", sources.partners),
            ("gtfs", sources.gtfs),
            *([("contacts", sources.earlier_contacts)] if sources.earlier_contacts else []),
            ("contacts", sources.contacts),
            ("parcours", parcours),
        ]
        reports = []
        for kind, file in steps:
            say(f"Import {kind} ({file.name})…")
            reports.append(
                import_file(
                    ws,
                    kind,
                    file,
                    settings=settings,
                    vintage=_DEMO_VINTAGE,
                    licence="données fictives (démonstration)",
                    today=CONTACTS_END.date(),
                    geocode=False,  # the demo is offline by design: fictitious addresses
                )
            )
        # the refused rows' side files go with the generated sources: say so, not their path
        for report in reports:
            report.notes = [
                re.sub(rf"écrite\(s\) dans {re.escape(tmp)}\S* \([^)]*\)", _DROPPED, note)
                for note in report.notes
            ]
    _demo_territories(ws)
    define_demo_programme(ws, scale_contacts=size.contacts)
    _demo_teams_and_places(ws)
    return reports


_DROPPED = "écartée(s) (fichier de démonstration généré, supprimé après la construction)"


def _demo_territories(ws: Any) -> None:
    """Two programme territories, as a team would define them: the town's EPCI, the rural belt."""
    from territory.territories import define_territory

    communes = ws.read_table("communes", columns=["code", "epci", "densite"])
    define_territory(ws, "Agglomération de l'Ardoise", epci=[communes["epci"].min()])
    define_territory(
        ws, "Communes rurales", communes=communes.loc[communes["densite"] >= 5, "code"]
    )


def _demo_teams_and_places(ws: Any) -> None:
    """Three teams and the candidate places of the rounds, so a first plan needs no set-up.

    Places are those generated on any territory (:func:`territory.rounds.geo.suggest_places`:
    partners, the bus station where the town lines meet, each commune's busiest bus stop,
    a point inside each QPV, each commune's centre) plus outreach spots a team would add,
    stored: a city stade in each QPV (after school), a park and a Tuesday market in the
    main town.
    """
    import geopandas as gpd
    from shapely.affinity import translate

    from territory.rounds.places import COLUMNS
    from territory.rounds.week import PLACES, save_teams

    communes = ws.read_layer("communes").to_crs(METRIC_CRS)
    main = communes.sort_values("population", ascending=False).iloc[0]
    rural = communes[communes["densite"] >= 5].sort_values("code").iloc[0]

    def lonlat(point: Any) -> tuple[float, float]:
        p = gpd.GeoSeries([point], crs=METRIC_CRS).to_crs(STORAGE_CRS).iloc[0]
        return round(p.x, 6), round(p.y, 6)

    town = main.geometry.representative_point()
    (tx, ty), (rx, ry) = lonlat(town), lonlat(rural.geometry.representative_point())
    save_teams(
        ws,
        pd.DataFrame(
            {
                "nom": ["Équipe centre", "Équipe quartiers", "Équipe rurale"],
                "mode": ["marche", "transports en commun", "voiture"],
                "taille": [2, 2, 2],
                "base_lon": [tx, tx, rx],
                "base_lat": [ty, ty, ry],
                "disponibilites": [
                    "Mo-Fr 09:30-12:30,14:00-18:30",
                    "Tu-Sa 13:30-20:00",
                    "Mo-Th 09:00-17:00",
                ],
                "max_tournees": [8, 5, 4],
                "max_heures": [28, 30, 26],
            }
        ),
    )
    qpv = ws.read_layer("qpv").to_crs(METRIC_CRS) if ws.has("qpv") else None
    extra = [
        (
            "Parc de la mairie",
            "parc",
            town.buffer(300).boundary.interpolate(0.1, normalized=True),
            "Mo-Su 10:00-19:00",
        ),
        # the market square, 200 m from the commune's generated centre (own places win
        # over a generated one on the same spot: rounds.places.merge_places)
        ("Marché du mardi", "marché", translate(town, 200, 0), "Tu 08:00-12:30"),
    ]
    extra.extend(
        (
            f"City stade {q.nom}",
            "city stade",
            q.geometry.buffer(-40).boundary.interpolate(0.25, normalized=True),
            "Mo-Sa 16:00-20:00",
        )
        for q in ([] if qpv is None else qpv.itertuples())
    )
    added = gpd.GeoDataFrame(
        {
            "id": [f"lieu-{i + 1}" for i in range(len(extra))],
            "nom": [e[0] for e in extra],
            "type": [e[1] for e in extra],
            "duree": 60,
            "priorite": 1.5,
            "horaires": [e[3] for e in extra],
            "source": "lieu d'aller-vers (démo)",
        },
        geometry=[e[2] for e in extra],
        crs=METRIC_CRS,
    )
    under = added.sjoin(communes[["code", "geometry"]], predicate="within", how="left")
    added["zone"] = under["code"].groupby(level=0).first().reindex(added.index).fillna("")
    layer = gpd.GeoDataFrame(added[[*COLUMNS, "geometry"]], crs=METRIC_CRS).to_crs(STORAGE_CRS)
    ws.write_layer(
        PLACES,
        layer,
        source="lieux de l'équipe (démo)",
        vintage=_DEMO_VINTAGE,
        licence="données fictives (démonstration)",
    )
