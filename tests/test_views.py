"""What leaves the store: protected density layer, summary, zone details."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from geopandas.testing import assert_geodataframe_equal

from territory.store import Workspace
from territory.territories import list_territories
from territory.views import DENSITY_COLUMNS, density_layer, density_parts, map_layers, summary


def test_density_layer_has_only_protected_columns(demo_workspace: Path, settings) -> None:
    density = density_layer(Workspace.open(demo_workspace), settings=settings)
    assert list(density.columns) == [*DENSITY_COLUMNS, "geometry"]
    shown = density["count"].dropna()
    assert len(shown) and (shown >= settings.k).all() and (shown % settings.rounding == 0).all()
    assert density["count"].isna().sum() != 1  # secondary suppression
    assert set(density["level"]) == {"200m", "1km", "commune"}  # urban cells and rural roll-ups
    assert density["commune"].str.fullmatch(r"\d{5}").all()
    assert density.crs.to_epsg() == 4326 and density.geometry.is_valid.all()


def test_density_parts_are_each_filter_s_layer_drawn_once(demo_workspace: Path, settings) -> None:
    """Every quarter of :func:`density_parts` is the map's quarter filter, row for row.

    The parts draw each zone once for every value; the rows, their order, values, areas,
    communes and polygons must be those of ``density_layer`` with the filter, for the
    whole workspace and for a territory (whose zones are those touching it).
    """
    ws = Workspace.open(demo_workspace)
    named = [t.name for t in list_territories(ws)]
    assert named  # the demo defines programme territories
    for territory in (None, named[0]):
        parts = density_parts(ws, "periode", settings=settings, territory=territory)
        assert len(parts) >= 2
        unfiltered = density_layer(ws, settings=settings, territory=territory)
        given = density_parts(
            ws, "periode", settings=settings, territory=territory, unfiltered=unfiltered
        )
        assert list(given) == list(parts)
        for value, layer in given.items():  # the unfiltered drawings serve every quarter
            assert_geodataframe_equal(layer, parts[value], check_less_precise=False)
        for value, layer in parts.items():
            alone = density_layer(
                ws, settings=settings, territory=territory, breakdown=("periode", value)
            )
            assert len(layer)
            assert_geodataframe_equal(layer, alone, check_less_precise=False)


def test_summary_total_is_rounded_and_protected(demo_workspace: Path, settings) -> None:
    figures = summary(Workspace.open(demo_workspace), settings=settings)
    total = int(figures["contacts"].replace("\u202f", ""))
    assert total % settings.rounding == 0 and total > 10_000
    assert figures["communes"] >= 30 and figures["qpv"] >= 3 and figures["population"] > 0


def test_rest_of_commune_zones_are_drawn_from_the_commune_shapes(
    demo_workspace: Path, settings
) -> None:
    """Every "rest of the commune" zone of the map references a commune the map draws.

    Each shows its protected figures and takes the commune's drawn shape.
    """
    from territory.map.build import territory_map

    layers = map_layers(Workspace.open(demo_workspace), settings=settings)
    rests = layers.density[layers.density["level"] == "commune"]
    assert len(rests) and rests["zone"].isin(layers.communes["code"]).all()
    m = territory_map(layers, k=settings.k)
    groups = {g.layer_name: g for g in m._children.values() if hasattr(g, "layer_name")}
    communes, _names = groups["Communes (grille de densité)"]._children.values()  # and names
    (density,) = groups["Densité de contacts (protégée)"]._children.values()
    assert density.data.needs is communes.data
    assert '"level":"commune"' not in density.data.encoded.explicit  # none sent as given
    shapes = {f["properties"]["code"]: f["geometry"] for f in communes.features}
    drawn = {f["properties"]["zone"]: f for f in density.features}
    for zone in rests.itertuples():
        feature = drawn[zone.zone]
        assert feature["geometry"] == shapes[zone.zone]
        assert feature["properties"]["label"] == zone.label
        assert feature["properties"]["count"] == (None if pd.isna(zone.count) else zone.count)
        assert feature["properties"]["area_km2"] == round(zone.area_km2, 4)
