"""Privacy v2 attacks, one per class of ``privacy.md``: a curious user with import rights.

Each test plays the attack on a private copy of the demo workspace and checks that what
the product publishes tells nothing about fewer than k people.
"""

from __future__ import annotations

import itertools
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from samples import HEADER, write

from territory import Settings
from territory.analysis.indicators import protected_contacts
from territory.analysis.slots import contact_profile
from territory.analysis.zones import load_zones
from territory.grid import cell_ids_from_lonlat, parent_ids
from territory.ingest import import_file
from territory.privacy import published
from territory.store import Workspace
from territory.territories import define_territory
from territory.views import breakdown_choices, density_layer, summary

TODAY = date(2026, 12, 6)


@pytest.fixture
def ws(demo_workspace: Path, tmp_path: Path) -> Workspace:
    path = tmp_path / "copy.gpkg"
    shutil.copyfile(demo_workspace, path)
    return Workspace.open(path)


def _views(ws: Workspace, settings: Settings) -> dict[str, pd.Series]:
    """Every density view: the whole map and each value of each filter."""
    out = {"tout": density_layer(ws, settings=settings).set_index("zone")["count"]}
    for by, values in breakdown_choices(ws, settings=settings).items():
        for value in values:
            layer = density_layer(ws, settings=settings, breakdown=(by, value))
            out[f"{by}={value}"] = layer.set_index("zone")["count"]
    return out


def _lonely_rows(n: int, *, person: str, lon: str = "2,7790", lat: str = "46,4790") -> list[str]:
    return [
        f"{1 + i:02d}/10/2026 {8 + i % 10}:00;{lon};{lat};suivi;18-21;F;;{person};"
        for i in range(n)
    ]


def test_one_person_met_many_times_is_published_nowhere(ws: Workspace, settings: Settings) -> None:
    """15 contacts of one person in one cell: no view shows that cell, alone or filtered."""
    file = write(ws.path.with_name("one.csv"), _lonely_rows(15, person="SEUL01"))
    report = import_file(ws, "contacts", file, settings=settings, today=TODAY)
    assert report.accepted == 15
    lonely = density_layer(ws, settings=settings)
    cells = lonely[lonely["level"] == "200m"]
    # the 200 m cell of the person is never a zone: it would need k people
    point = pd.DataFrame({"lon": [2.7790], "lat": [46.4790]})
    cell = cell_ids_from_lonlat(point["lon"].to_numpy(), point["lat"].to_numpy())[0]
    assert cell not in set(cells["zone"])
    for name, view in _views(ws, settings).items():
        assert cell not in set(view.index), name


def test_feedback_added_then_removed_gives_back_the_same_values(
    ws: Workspace, settings: Settings
) -> None:
    """Differencing across a correction: the same records publish the same values."""
    before = _views(ws, settings)
    total = summary(ws, settings=settings)["contacts"]
    file = write(ws.path.with_name("fake.csv"), _lonely_rows(3, person="FAUX01", lon="2,7512"))
    import_file(ws, "contacts", file, settings=settings, today=TODAY)
    ws.delete_rows(
        "contacts", "personne IN (SELECT personne FROM contacts ORDER BY fid DESC LIMIT 1)"
    )
    after = _views(ws, settings)
    assert summary(ws, settings=settings)["contacts"] == total
    for name, view in before.items():
        pd.testing.assert_series_equal(view, after[name], obj=name)


def test_added_contacts_move_published_values_by_noise(ws: Workspace, settings: Settings) -> None:
    """A user who adds known contacts cannot read the rounding back: the step is noise."""
    steps = set()
    for i in range(20):  # a step alike by chance: about 1 in 2; twenty alike: 1 in a million
        before = summary(ws, settings=settings)["contacts"]
        file = write(ws.path.with_name(f"add{i}.csv"), _lonely_rows(1, person=f"AJOUT{i}"))
        import_file(ws, "contacts", file, settings=settings, today=TODAY)
        after = summary(ws, settings=settings)["contacts"]
        steps.add(int(after.replace("\u202f", "")) - int(before.replace("\u202f", "")))
    assert len(steps) > 1  # one contact more: sometimes 0, sometimes ±5 or ±10


def test_a_territory_of_one_small_commune_publishes_nothing_of_its_own(
    ws: Workspace, settings: Settings
) -> None:
    people = ws.query(
        "SELECT commune, count(DISTINCT personne) AS p FROM contacts GROUP BY commune ORDER BY p"
    )
    small = str(people["commune"].iloc[0])
    assert people["p"].iloc[0] < settings.k
    define_territory(ws, "Petite", communes=[small])
    assert summary(ws, settings=settings, territory="Petite")["contacts"] == f"< {settings.k}"
    profile = contact_profile(ws, settings=settings, communes={small})
    assert profile.table["contacts"].isna().all()
    communes = load_zones(ws, "commune")
    zone = communes[communes["code"] == small]
    own = contact_profile(ws, settings=settings, zone=zone, kind="commune")
    # Privacy v2: the zone borrows its parents' published profile and says so; nothing of
    # its own is shown (not its counts, not its number of people).
    assert own.scope != "zone" and own.levels[0].people is None
    assert "non publiable" in own.basis


def test_a_1km_ranking_never_locates_what_the_map_merged_into_a_commune(
    ws: Workspace, settings: Settings
) -> None:
    """A km square whose contacts the map left in the rest of its commune looks empty."""
    file = write(ws.path.with_name("km.csv"), _lonely_rows(4, person="KM0001"))
    import_file(ws, "contacts", file, settings=settings, today=TODAY)
    cells = load_zones(ws, "cell")
    table = protected_contacts(ws, cells, kind="cell", settings=settings)
    zones = published.zones(ws, settings=settings)
    shown = set(zones.loc[zones["level"] != "commune", "zone"])
    km_of_shown = set(parent_ids(np.array(sorted(shown), dtype=object))) | shown
    for code, row in zip(cells["code"], table.itertuples(), strict=True):
        if code not in km_of_shown:
            # no published zone inside: the same answer as a square without contacts
            assert row.contacts_recents_statut in ("publié", "secret", "sous le seuil")
            assert pd.isna(row.contacts_recents) or row.contacts_recents == 0


def test_reimporting_the_same_rows_adds_nothing(ws: Workspace, settings: Settings) -> None:
    rows = _lonely_rows(12, person="DOUBLE1")
    before = ws.layers()["contacts"].count
    import_file(
        ws, "contacts", write(ws.path.with_name("a.csv"), rows), settings=settings, today=TODAY
    )
    middle = ws.layers()["contacts"].count
    import_file(
        ws, "contacts", write(ws.path.with_name("b.csv"), rows), settings=settings, today=TODAY
    )
    assert middle == before + 12 and ws.layers()["contacts"].count == middle
    assert HEADER.startswith("date_contact")


def test_a_1km_zone_of_the_map_is_counted_in_its_1km_square(
    ws: Workspace, settings: Settings
) -> None:
    """The partition's 1 km zones (small cells merged) feed the 1 km ranking, not only 200 m."""
    spots = [(2.7600 + 0.0028 * (i % 4), 46.4600 + 0.0019 * (i // 4)) for i in range(16)]
    rows = [
        f"{1 + i:02d}/10/2026 10:00;{lon:.4f};{lat:.4f};suivi;18-21;F;;ETALE{i:02d};".replace(
            ".", ","
        )
        for i, (lon, lat) in enumerate(spots)
    ]
    import_file(
        ws, "contacts", write(ws.path.with_name("spread.csv"), rows), settings=settings, today=TODAY
    )
    zones = published.zones(ws, settings=settings)
    squares = set(zones.loc[zones["level"] == "1km", "zone"])
    cells = load_zones(ws, "cell")
    table = protected_contacts(ws, cells, kind="cell", settings=settings).set_axis(cells["code"])
    recent = ws.query(
        "SELECT cell, personne FROM contacts WHERE date >= '2026-09-01' AND personne LIKE '%'"
    )
    recent["km"] = parent_ids(recent["cell"].to_numpy(dtype=object))
    people = recent[recent["km"].isin(squares)].groupby("km")["personne"].nunique()
    assert (people >= settings.k).any()  # the spread people made a 1 km zone
    for km in people.index[people >= settings.k]:
        if km in table.index:
            assert table.loc[km, "contacts_recents_statut"] in ("publié", "secret")
    shown = table.loc[table.index.isin(list(people.index)), "contacts_recents"].dropna()
    assert (shown >= settings.k).any()


def test_a_zone_and_its_parents_move_by_noise_and_come_back(
    ws: Workspace, settings: Settings
) -> None:
    """Issue #20: a zone's profile rests on its own, its EPCI's and the territory's.

    A curious user adds known people one by one in a zone and reads the people and slot
    counts of every level on the « quand » card: each step moves them by noise, not by
    the person added; removing the added people gives back the very same card.
    """
    file = write(ws.path.with_name("z0.csv"), _lonely_rows(1, person="ZONE00"))
    import_file(ws, "contacts", file, settings=settings, today=TODAY)
    code = str(ws.query("SELECT commune FROM contacts ORDER BY fid DESC LIMIT 1")["commune"][0])
    communes = load_zones(ws, "commune")
    zone = communes[communes["code"] == code].reset_index(drop=True)

    def card() -> tuple[tuple[int | None, ...], pd.Series]:
        profile = contact_profile(ws, settings=settings, zone=zone)
        return tuple(lv.people for lv in profile.levels), profile.table["contacts"]

    first_people, first_counts = card()
    seen: list[tuple[int | None, ...]] = [first_people]
    for i in range(1, 13):
        rows = _lonely_rows(1, person=f"ZONE{i:02d}")
        import_file(ws, "contacts", write(ws.path.with_name(f"z{i}.csv"), rows), settings=settings,
                    today=TODAY)  # fmt: skip
        seen.append(card()[0])
    checked = 0
    for level in range(len(first_people)):
        values = [s[level] for s in seen]
        shown = [v for v in values if v is not None]
        if len(shown) == len(values):
            steps = {b - a for a, b in itertools.pairwise(shown)}
            assert steps != {1} and len(steps) > 1, (level, values)  # never the person added
            assert all(v % settings.rounding == 0 for v in shown), values
            checked += 1
    assert checked >= 2, seen  # the EPCI's or the zone's, and the territory's
    ws.delete_rows("contacts", "fid IN (SELECT fid FROM contacts ORDER BY fid DESC LIMIT 12)")
    people, counts = card()
    assert people == first_people
    pd.testing.assert_series_equal(counts, first_counts)
