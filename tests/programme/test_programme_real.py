"""Issue #22's check on real communes: 12 hubs of Nord and Pas-de-Calais, a held-out file.

The workspace is built from the real extracts of ``../shared/data/real`` (skipped with
the reason when absent) as ``territory import`` makes it: the communes of both
départements, the COG 2026 table (populations, EPCI), the density grid and the 2024 QPV.
Twelve hubs are real EPCIs (one spans both départements: the MEL with the CA de Lens -
Liévin). Synthetic contacts of a fixed seed are imported through the contact importer,
then a held-out parcours file through the parcours importer; the comparison is checked
against the truth of the synthetic data: every hub shown with its named denominators and
their sources, no value from fewer than k people, every value within the noise.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import shared_file

from territory import Settings
from territory.ingest import import_file
from territory.programme import Target, compare, define_programme
from territory.store import Workspace
from territory.territories import define_territory, resolve

pytestmark = pytest.mark.real_data

HUBS = {
    "Lille et Lens": ("200093201", "246200364"),  # across the two départements
    "Béthune-Bruay": ("200072460",),
    "Valenciennes": ("245901160",),
    "Dunkerque": ("245900428",),
    "Porte du Hainaut": ("200042190",),
    "Douaisis": ("200044618",),
    "Hénin-Carvin": ("246200299",),
    "Maubeuge": ("200043396",),
    "Boulonnais": ("246200729",),
    "Arras": ("200033579",),
    "Saint-Omer": ("200069037",),
    "Coeur de Flandre": ("200040947",),
}
STATUSES = ("premier contact", "hors radars", "entrée en parcours", "accompagné", "sortie positive")
K = Settings().k


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings
) -> tuple[Workspace, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("copil-real")
    ws = Workspace.create(folder / "nord-pdc.gpkg", name="Nord et Pas-de-Calais")
    for i, name in enumerate(("communes-59-nord.geojson", "communes-62-pas-de-calais.geojson")):
        import_file(ws, "communes", shared_file(name), settings=settings, add=i > 0)
    for kind, name in (
        ("communes-table", "communes_cog2026_pop_epci.csv"),
        ("density", "grille_densite_7_niveaux_communes.csv"),
        ("qpv", "qpv_2024_with_codes_wgs84.geojson"),
    ):
        import_file(ws, kind, shared_file(name), settings=settings, geocode=False)
    for hub, epci in HUBS.items():
        define_territory(ws, hub, epci=list(epci))
    # synthetic contacts: in 3 communes of each hub, a number of people drawn per commune
    # (some under k), each met 1-3 times with a furthest status
    rng = np.random.default_rng(22)
    communes = ws.read_layer("communes", columns=["code"]).to_crs(4326)
    points = communes.set_index("code").geometry.representative_point()
    rows, truth = [], []
    person = 0
    for hub in HUBS:
        for code in sorted(resolve(ws, hub))[:3]:
            for _ in range(int(rng.choice([3, 8, 30, 60]))):
                person += 1
                furthest = int(rng.choice(5, p=[0.35, 0.2, 0.2, 0.15, 0.1]))
                times = int(rng.integers(1, 4))
                for t in range(times):
                    status = STATUSES[furthest] if t == times - 1 else STATUSES[0]
                    day, month = int(rng.integers(1, 28)), int(rng.integers(1, 11))
                    rows.append(
                        {
                            "date_contact": f"{day:02d}/{month:02d}/2026 15:00",
                            "longitude": f"{points[code].x:.6f}".replace(".", ","),
                            "latitude": f"{points[code].y:.6f}".replace(".", ","),
                            "statut": status,
                            "id_personne": f"R{person:05d}",
                        }
                    )
                truth.append({"person": f"R{person:05d}", "commune": code, "rank": furthest})
    pd.DataFrame(rows).to_csv(folder / "contacts.csv", sep=";", index=False)
    report = import_file(ws, "contacts", folder / "contacts.csv", settings=settings,
                         geocode=False, today=date(2026, 11, 30))  # fmt: skip
    assert report.refused == 0, report.to_text()
    define_programme(
        ws, "Comité Nord - Pas-de-Calais", territories=list(HUBS), start=date(2026, 1, 1),
        end=date(2026, 12, 31),
        targets=[Target(hub, "entrée en parcours", "2026", 40) for hub in HUBS],
    )  # fmt: skip
    return ws, pd.DataFrame(truth)


def test_every_hub_is_shown_with_named_denominators(
    built: tuple[Workspace, pd.DataFrame], settings: Settings
) -> None:
    ws, _ = built
    c = compare(ws, "Comité Nord - Pas-de-Calais", settings=settings)
    assert list(dict.fromkeys(c.funnel["Territoire"])) == list(HUBS)
    table = pd.read_csv(shared_file("communes_cog2026_pop_epci.csv"), dtype=str)
    habitants = c.rates[c.rates["Nom du dénominateur"] == "population municipale (habitants)"]
    assert len(habitants) == len(HUBS)
    for row in habitants.itertuples(index=False):
        epci = HUBS[row.Territoire]
        expected = pd.to_numeric(table.loc[table["codeEpci"].isin(epci), "population"]).sum()
        assert abs(int(row.Dénominateur) - expected) <= 0.01 * expected  # COG 2018 contours
        assert row.Source == "communes_cog2026_pop_epci.csv"
    # no census ages in the extracts: the 15-29 denominator is named as missing
    assert any("population par âge" in note for note in c.notes)
    assert {"Communes (contours)", "Quartiers prioritaires (QPV)"} <= set(c.sources["Donnée"])


def test_no_value_from_fewer_than_k_people_and_each_within_the_noise(
    built: tuple[Workspace, pd.DataFrame], settings: Settings
) -> None:
    ws, truth = built
    c = compare(ws, "Comité Nord - Pas-de-Calais", settings=settings)
    steps = list(dict.fromkeys(c.funnel["Étape"]))
    for hub in HUBS:
        mine = truth[truth["commune"].isin(resolve(ws, hub))]
        part = c.funnel[c.funnel["Territoire"] == hub].set_index("Étape")["Personnes"]
        for s, step in enumerate(steps):
            people = int((mine["rank"] >= s).sum())
            if 0 < people < K:
                assert pd.isna(part[step]), (hub, step, people)
            elif people >= K:
                assert abs(int(part[step]) - people) <= 8, (hub, step)
    # the QPV / rural / other split never shows a part alone hidden
    for (_, _), part in c.zones.groupby(["Territoire", "Étape"]):
        assert part["Personnes"].isna().sum() != 1


def test_a_held_out_parcours_file_moves_entries_and_exits(
    built: tuple[Workspace, pd.DataFrame], settings: Settings, tmp_path: Path
) -> None:
    ws, truth = built
    before = compare(ws, "Comité Nord - Pas-de-Calais", settings=settings)
    hub = "Lille et Lens"
    people = truth.loc[truth["commune"].isin(resolve(ws, hub)) & (truth["rank"] < 2), "person"]
    chosen = list(people[:40])
    lines = [f"{p};0{1 + i % 9}/03/2026;{'15/09/2026' if i % 2 else ''};"
             f"{'CDI' if i % 4 == 1 else 'Formation qualifiante' if i % 2 else ''}"
             for i, p in enumerate(chosen)]  # fmt: skip
    file = tmp_path / "parcours.csv"
    file.write_text("Identifiant jeune;Date d'entrée;Date de sortie;Situation à la sortie\n"
                    + "\n".join(lines) + "\n", encoding="utf-8")  # fmt: skip
    report = import_file(ws, "parcours", file, settings=settings, today=date(2026, 11, 30))
    assert report.accepted == len(chosen) and report.refused == 0
    after = compare(ws, "Comité Nord - Pas-de-Calais", settings=settings)

    def entry(c: object) -> int:
        funnel = c.funnel.set_index(["Territoire", "Étape"])  # type: ignore[attr-defined]
        return int(funnel.loc[(hub, "entrée en parcours"), "Personnes"])

    assert entry(after) > entry(before)
    exits = after.exits[after.exits["Territoire"] == hub].set_index("Classe de sortie")
    assert not pd.isna(exits.loc["sortie positive", "Personnes"]) or (
        exits["Affiché"].isin([f"< {K}", "secret"]).sum() >= 2
    )
    # other hubs are not touched by this hub's pathways
    other = before.funnel[before.funnel["Territoire"] == "Arras"]
    assert other.equals(after.funnel[after.funnel["Territoire"] == "Arras"])
