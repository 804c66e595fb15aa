"""Programme territories: definition, storage, resolution, and the views restricted to them.

Every test works on a copy of the session's demo workspace (``tmp_path``), never on the
shared one. Raw contact counts are read here only to check the protected outputs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import shapely
from conftest import demo_copy_without_territories
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from territory import Settings, ValidationError
from territory.privacy.protect import MAX_NOISE, SECONDARY
from territory.privacy.raw import contact_cell_counts
from territory.store import Workspace
from territory.territories import (
    WHOLE_WORKSPACE,
    Territory,
    choices,
    define_territory,
    delete_territory,
    get_territory,
    list_territories,
    resolve,
    territories_table,
)
from territory.views import (
    density_layer,
    map_layers,
    summary,
    territory_layers,
)


def copy_of(demo_workspace: Path, folder: Path) -> Workspace:
    """A private copy of the demo workspace without its two demo territories."""
    return Workspace.open(demo_copy_without_territories(demo_workspace, folder))


@pytest.fixture
def ws(demo_workspace: Path, tmp_path: Path) -> Workspace:
    return copy_of(demo_workspace, tmp_path)


@pytest.fixture(scope="module")
def shared_copy(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """One copy for the read-mostly property test (territories are replaced, never added)."""
    return copy_of(demo_workspace, tmp_path_factory.mktemp("territories"))


def communes_table(ws: Workspace) -> pd.DataFrame:
    return ws.read_table("communes", columns=["code", "epci"])


def raw_contacts(ws: Workspace, codes: set[str]) -> int:
    """Raw contact total of some communes (test-side check only)."""
    per = ws.query("SELECT commune, count(*) AS n FROM contacts GROUP BY commune")
    return int(per.loc[per["commune"].isin(codes), "n"].sum())


def assert_protected_label(label: str, settings: Settings) -> None:
    """A published contact label: a rounded number ≥ k, "< k", "secret" or 0."""
    if label in (SECONDARY, f"< {settings.k}", "0"):
        return
    value = int(label.replace("\u202f", ""))
    assert value >= settings.k and value % settings.rounding == 0, label


def assert_protected_density(density: pd.DataFrame, settings: Settings, ws: Workspace) -> None:
    """Protected values only, and each zone exactly as in the whole-workspace view.

    Protection runs once over the workspace (secondary suppression holds there); a
    territory shows a subset of those zones, so no two views differ on any zone.
    """
    shown = density["count"].dropna()
    assert (shown >= settings.k).all() and (shown % settings.rounding == 0).all()
    for label in density["label"]:
        assert not re.fullmatch(r"\d+", str(label)) or int(label) >= settings.k
    whole = density_layer(ws, settings=settings).set_index("zone")
    assert whole["count"].isna().sum() != 1
    same = whole.loc[density["zone"], ["count", "label"]].reset_index(drop=True)
    assert same.equals(density[["count", "label"]].reset_index(drop=True))


# ------------------------------------------------------------------------- definition
def test_define_list_resolve_delete(ws: Workspace) -> None:
    communes = communes_table(ws)
    epci = sorted(communes["epci"].unique())[1]
    version = ws.version
    by_epci = define_territory(ws, "Intercommunalité", epci=[epci])
    by_codes = define_territory(ws, "Deux communes", communes=[" 00002", "00004", "00002"])
    qpv = ws.read_table("qpv", columns=["code", "communes"]).iloc[0]
    by_qpv = define_territory(ws, "Un QPV", qpv=[qpv["code"]])

    assert by_codes == Territory("Deux communes", communes=("00002", "00004"))
    assert ws.version > version  # caches keyed on the version see the change
    reopened = Workspace.open(ws.path)
    assert list_territories(reopened) == [by_epci, by_codes, by_qpv]
    assert resolve(reopened, "Intercommunalité") == set(
        communes.loc[communes["epci"] == epci, "code"]
    )
    assert resolve(reopened, "Deux communes") == {"00002", "00004"}
    assert resolve(reopened, "Un QPV") == {c.strip() for c in qpv["communes"].split(",")}
    everything = set(communes["code"])
    assert resolve(reopened, None) == resolve(reopened, WHOLE_WORKSPACE) == everything

    table = territories_table(reopened)
    assert table["Territoire"].tolist() == ["Intercommunalité", "Deux communes", "Un QPV"]
    assert table["Communes couvertes"].tolist()[1] == 2

    delete_territory(reopened, "Deux communes")
    assert [t.name for t in list_territories(reopened)] == ["Intercommunalité", "Un QPV"]
    delete_territory(reopened, "Intercommunalité")
    delete_territory(reopened, "Un QPV")
    assert list_territories(reopened) == []
    assert territories_table(reopened).empty


def test_mixed_definition_is_the_union(ws: Workspace) -> None:
    communes = communes_table(ws)
    epci = communes["epci"].iloc[-1]
    outside = communes.loc[communes["epci"] != epci, "code"].iloc[0]
    define_territory(ws, "Mixte", epci=epci, communes=[outside])  # a lone string is one code
    expected = set(communes.loc[communes["epci"] == epci, "code"]) | {outside}
    assert resolve(ws, "Mixte") == expected
    assert get_territory(ws, "Mixte").description == "1 commune(s), 1 EPCI"


def test_unknown_codes_are_all_listed_at_once(ws: Workspace) -> None:
    with pytest.raises(ValidationError) as caught:
        define_territory(
            ws,
            "Faux",
            communes=["00001", "99998", "99999"],
            epci=["123456789"],
            qpv=["QN99999M", "QN00001M"],
        )
    problems = caught.value.problems
    assert len(problems) == 3
    message = str(caught.value)
    for code in ("99998", "99999", "123456789", "QN99999M"):
        assert code in message
    assert "00001" not in message and "QN00001M" not in message
    assert "communes inconnues" in message and "EPCI inconnus" in message
    assert list_territories(ws) == []  # nothing stored


def test_names_are_checked(ws: Workspace) -> None:
    define_territory(ws, "Centre", communes=["00001"])
    for name, expected in [
        ("  ", "nom du territoire vide"),
        (WHOLE_WORKSPACE, "est réservé"),
        ("Centre", "existe déjà"),
    ]:
        with pytest.raises(ValidationError, match=expected):
            define_territory(ws, name, communes=["00002"])
    with pytest.raises(ValidationError, match="au moins un code"):
        define_territory(ws, "Vide")
    replaced = define_territory(ws, "Centre", communes=["00002"], replace=True)
    assert list_territories(ws) == [replaced]
    with pytest.raises(ValidationError, match="« Centre »"):
        delete_territory(ws, "Inconnu")  # the message lists the defined territories
    with pytest.raises(ValidationError, match="inconnu"):
        resolve(ws, "Inconnu")


def test_a_workspace_without_layers_rejects_every_code(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "vide.gpkg", name="Vide")
    with pytest.raises(ValidationError, match="00001"):
        define_territory(ws, "T", communes=["00001"])
    assert resolve(ws, None) == set() and list_territories(ws) == []
    assert choices(ws).communes == {}


def test_no_commune_left_gives_empty_layers(ws: Workspace, settings: Settings) -> None:
    """A territory whose communes all left the layer (re-import) shows nothing, no error."""
    layers = territory_layers(ws, set())
    assert all(layer is not None and layer.empty for layer in layers.values())
    assert contact_cell_counts(ws, communes=set()).empty


def test_choices_label_every_code(ws: Workspace) -> None:
    options = choices(ws)
    assert len(options.communes) == len(communes_table(ws))
    assert all(label.endswith(f"({code})") for code, label in options.communes.items())
    assert set(options.epci) == set(communes_table(ws)["epci"])
    assert len(options.qpv) == ws.layers()["qpv"].count


# --------------------------------------------------------------------------- views
def test_layers_are_clipped_to_the_territory(ws: Workspace, settings: Settings) -> None:
    define_territory(ws, "Ville", qpv=["QN00001M"])
    codes = resolve(ws, "Ville")
    layers = map_layers(ws, settings=settings, territory="Ville")
    assert set(layers.communes["code"]) == codes
    area = shapely.union_all(layers.communes.geometry.to_numpy()).buffer(1e-9)
    assert len(layers.partners) and len(layers.stops)
    located = layers.partners[layers.partners.geometry.notna()]
    assert shapely.covers(area, located.geometry.to_numpy()).all()
    assert layers.partners.loc[layers.partners.geometry.isna(), "code_insee"].isin(codes).all()
    assert shapely.covers(area, layers.stops.geometry.to_numpy()).all()
    assert shapely.covers(area.buffer(1e-6), layers.service_gaps.geometry.to_numpy()).all()
    whole = map_layers(ws, settings=settings)
    assert len(layers.stops) < len(whole.stops) and len(layers.communes) < len(whole.communes)
    assert "QN00001M" in set(layers.qpv["code"])
    # the commune-level zones of the density are the territory's communes
    density = layers.density
    assert set(density.loc[density["level"] == "commune", "zone"]) <= codes
    assert_protected_density(density, settings, ws)


def test_qpv_by_link_or_overlap(ws: Workspace) -> None:
    qpv = ws.read_layer("qpv")
    communes = ws.read_layer("communes")
    linked = {c.strip() for c in qpv["communes"].iloc[1].split(",")}
    clipped = territory_layers(ws, linked)["qpv"]
    area = shapely.union_all(communes[communes["code"].isin(linked)].geometry.to_numpy())
    expected = {
        row.code
        for row in qpv.itertuples()
        if linked & {c.strip() for c in row.communes.split(",")}
        or (row.geometry.intersects(area) and not row.geometry.touches(area))
    }
    assert set(clipped["code"]) == expected and qpv["code"].iloc[1] in expected


def test_territory_summary_is_protected_and_consistent(ws: Workspace, settings: Settings) -> None:
    communes = communes_table(ws)
    epci = communes["epci"].value_counts().index[-1]
    define_territory(ws, "Rural", epci=[epci])
    codes = resolve(ws, "Rural")
    figures = summary(ws, settings=settings, territory="Rural")
    whole = summary(ws, settings=settings)
    assert figures["territory"] == "Rural" and whole["territory"] is None
    assert figures["communes"] == len(codes) < whole["communes"]
    assert 0 < figures["population"] < whole["population"]
    assert figures["partners"] <= whole["partners"] and figures["stops"] <= whole["stops"]
    assert_protected_label(figures["contacts"], settings)
    raw = raw_contacts(ws, codes)
    value = int(figures["contacts"].replace("\u202f", ""))
    # the same contacts as the density, perturbed (at most MAX_NOISE) then rounded
    assert abs(value - raw) <= MAX_NOISE + settings.rounding / 2

    density = density_layer(ws, settings=settings, territory="Rural")
    assert_protected_density(density, settings, ws)
    assert density_layer(ws, settings=settings, territory=WHOLE_WORKSPACE).equals(
        density_layer(ws, settings=settings)
    )


def test_a_territory_of_every_commune_is_the_whole_workspace(
    ws: Workspace, settings: Settings
) -> None:
    define_territory(ws, "Tout", epci=sorted(communes_table(ws)["epci"].unique()))
    mine = summary(ws, settings=settings, territory="Tout")
    whole = summary(ws, settings=settings)
    assert {k: v for k, v in mine.items() if k != "territory"} == {
        k: v for k, v in whole.items() if k != "territory"
    }
    a = density_layer(ws, settings=settings, territory="Tout")
    b = density_layer(ws, settings=settings)
    assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))


def test_nested_totals_differ_by_noise_not_by_a_small_count(
    ws: Workspace, settings: Settings
) -> None:
    """Differencing attack: the workspace total minus a territory's total.

    The territory holds every commune but one, where 3 contacts are left. Published totals
    are perturbed from the records' keys: redrawing the keys (another workspace with the
    same contacts) moves the difference, which is not the 3 contacts.
    """
    small = "00039"
    keep = 3  # 1..k-1 contacts left in one commune
    ws.delete_rows(
        "contacts",
        "commune = ? AND rowid NOT IN (SELECT rowid FROM contacts WHERE commune = ? LIMIT ?)",
        (small, small, keep),
    )
    others = sorted(set(communes_table(ws)["code"]) - {small})
    define_territory(ws, "Presque tout", communes=others)
    differences = set()
    for _ in range(12):
        ws.update_rows("contacts", "cle = abs(random()) % 256", "1 = 1", ())
        whole = summary(ws, settings=settings)["contacts"]
        most = summary(ws, settings=settings, territory="Presque tout")["contacts"]
        assert_protected_label(most, settings)
        differences.add(int(whole.replace("\u202f", "")) - int(most.replace("\u202f", "")))
    assert len(differences) > 1
    assert all(d % 5 == 0 for d in differences)


@hsettings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(picked=st.sets(st.integers(min_value=1, max_value=40), min_size=1, max_size=12))
def test_any_territory_shows_no_small_count(
    shared_copy: Workspace, settings: Settings, picked: set[int]
) -> None:
    codes = [f"{i:05d}" for i in sorted(picked)]
    define_territory(shared_copy, "Essai", communes=codes, replace=True)
    figures = summary(shared_copy, settings=settings, territory="Essai")
    assert_protected_label(str(figures["contacts"]), settings)
    density = density_layer(shared_copy, settings=settings, territory="Essai")
    if len(density):
        assert_protected_density(density, settings, shared_copy)
        assert set(density.loc[density["level"] == "commune", "zone"]) <= set(codes)
