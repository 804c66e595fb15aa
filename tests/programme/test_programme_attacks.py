"""Attacks on the comparison by a curious user with import rights (``privacy.md`` v2).

Overlapping territories and their difference, a quarter and its year, a filter and its
complement (QPV / rural / autre), a parcours file imported then undone, a territory of
one person; and a property over random programmes: no published value from fewer than k
people, every value perturbed and rounded.
"""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from programme_data import contacts, names, programme_workspace

from territory import Settings
from territory.ingest import import_file, undo_batch
from territory.privacy.pseudonyms import load_secret, person_pseudonyms
from territory.programme import compare, define_programme
from territory.territories import define_territory

K = Settings().k
STEPS = ["contact", "hors radars", "entrée en parcours", "accompagné", "sortie"]


def _counts(c: object, territory: str) -> dict[str, object]:
    funnel = c.funnel  # type: ignore[attr-defined]
    part = funnel[funnel["Territoire"] == territory]
    return dict(zip(part["Étape"], part["Personnes"], strict=True))


def test_two_overlapping_territories_differ_by_noise_not_by_people(tmp_path: Path) -> None:
    """Pôle A+ is Pôle A and 3 people more: its values must not give those 3 away."""
    found_noise = 0
    for seed in range(6):
        ws = programme_workspace(tmp_path / f"p{seed}.gpkg")
        n = 40 + 3 * seed
        contacts(ws, names(f"s{seed}a", n), commune="59001", day=date(2026, 2, 3),
                 status="premier contact")  # fmt: skip
        contacts(ws, names(f"s{seed}b", 3), commune="59002", day=date(2026, 2, 3),
                 status="premier contact")  # fmt: skip
        define_programme(ws, "P", territories=["Pôle A", "Pôle A+"], start=date(2026, 1, 1),
                         end=date(2026, 12, 31))  # fmt: skip
        c = compare(ws, "P", settings=Settings())
        a, b = _counts(c, "Pôle A")["contact"], _counts(c, "Pôle A+")["contact"]
        assert int(a) % 5 == 0 and int(b) % 5 == 0  # type: ignore[call-overload]
        difference = int(b) - int(a)  # type: ignore[call-overload]
        assert difference != 3  # never the people who differ
        found_noise += difference != 0 or int(a) != n  # type: ignore[call-overload]
        # the 3 people alone are never shown, in any table of the comparison
        zones = c.zones[(c.zones["Territoire"] == "Pôle A+") & (c.zones["Étape"] == "contact")]
        assert not (zones["Personnes"].dropna() == 3).any()
    assert found_noise  # the published values are perturbed, not exact


def test_a_quarter_and_its_year_do_not_give_the_rest_of_the_year(tmp_path: Path) -> None:
    ws = programme_workspace(tmp_path / "p.gpkg")
    contacts(ws, names("q", 50), commune="59001", day=date(2026, 2, 3), status="premier contact")
    contacts(ws, names("r", 2), commune="59001", day=date(2026, 5, 3), status="premier contact")
    define_programme(ws, "P", territories=["Pôle A"], start=date(2026, 1, 1),
                     end=date(2026, 12, 31))  # fmt: skip
    year = _counts(compare(ws, "P", period="2026", settings=Settings()), "Pôle A")
    q1 = _counts(compare(ws, "P", period="2026-T1", settings=Settings()), "Pôle A")
    q2 = _counts(compare(ws, "P", period="2026-T2", settings=Settings()), "Pôle A")
    assert int(year["contact"]) - int(q1["contact"]) != 2  # type: ignore[call-overload]
    assert pd.isna(q2["contact"])  # the 2 people of Q2 alone: hidden
    trends = compare(ws, "P", settings=Settings()).trends
    assert "2026-05" not in set(trends["Mois"])  # a month of 2 people is not shown at all


def test_one_person_territory_shows_nothing(tmp_path: Path) -> None:
    ws = programme_workspace(tmp_path / "p.gpkg")
    for month in range(1, 13):  # one person met many times
        contacts(ws, ["seul"], commune="62001", day=date(2026, month, 5),
                 status="accompagné" if month > 6 else "premier contact")  # fmt: skip
    contacts(ws, names("x", 30), commune="59001", day=date(2026, 3, 3), status="premier contact")
    define_programme(ws, "P", territories=["Pôle C", "Pôle A"], start=date(2026, 1, 1),
                     end=date(2026, 12, 31))  # fmt: skip
    c = compare(ws, "P", settings=Settings())
    for table in (c.funnel, c.zones, c.trends, c.exits):
        part = table[table["Territoire"] == "Pôle C"]
        assert part["Personnes"].dropna().eq(0).all(), table.columns.tolist()
    assert (c.funnel.loc[c.funnel["Territoire"] == "Pôle C", "Affiché"] == f"< {K}").any()


def test_qpv_rural_and_the_rest_never_give_a_small_part_by_subtraction(tmp_path: Path) -> None:
    ws = programme_workspace(tmp_path / "p.gpkg")
    define_territory(ws, "Tout", communes=["59001", "59002", "62001"])
    contacts(ws, names("u", 33), commune="59001", day=date(2026, 2, 3), status="premier contact")
    contacts(ws, names("v", 20), commune="59002", day=date(2026, 2, 3), status="premier contact")
    contacts(ws, names("w", 5), commune="62001", day=date(2026, 2, 3), status="premier contact")
    define_programme(ws, "P", territories=["Tout"], start=date(2026, 1, 1),
                     end=date(2026, 12, 31))  # fmt: skip
    c = compare(ws, "P", settings=Settings())
    for step in STEPS:
        part = c.zones[(c.zones["Étape"] == step)]
        total = _counts(c, "Tout")[step]
        hidden = part["Personnes"].isna()
        if pd.isna(total):
            continue
        assert hidden.sum() != 1, step  # one hidden part would be the total minus the others


def _write_parcours(path: Path, rows: list[str]) -> Path:
    path.write_text(
        "Identifiant jeune;Date d'entrée;Date de sortie;Situation à la sortie\n"
        + "\n".join(rows)
        + "\n",
        encoding="utf-8",
    )
    return path


def test_a_parcours_file_imported_then_undone_leaves_the_figures_as_they_were(
    tmp_path: Path,
) -> None:
    settings = Settings(secret_path=tmp_path / "secret.key")
    ws = programme_workspace(tmp_path / "p.gpkg")
    keys = [f"J{i:03d}" for i in range(40)]
    pseudonyms = list(person_pseudonyms(pd.Series(keys), load_secret(settings)))
    contacts(ws, pseudonyms, commune="59001", day=date(2026, 2, 3), status="premier contact")
    define_programme(ws, "P", territories=["Pôle A"], start=date(2026, 1, 1),
                     end=date(2026, 12, 31))  # fmt: skip
    before = compare(ws, "P", settings=settings)
    assert int(_counts(before, "Pôle A")["entrée en parcours"]) == 0  # type: ignore[call-overload]
    rows = [f"{k};0{1 + i % 3}/03/2026;;" for i, k in enumerate(keys[:25])]
    rows += [f"{k};02/03/2026;15/09/2026;CDI" for k in keys[25:38]]
    rows += [
        ";01/03/2026;;",  # no key
        "J900;31/02/2026;;",  # no such day
        "J901;01/03/2031;;",  # in the future
        "J038;01/06/2026;01/04/2026;CDD 2 mois",  # exit before entry
        "J039;01/04/2026;01/10/2026;blablabla libre",  # exit class not recognised: autre
    ]
    file = _write_parcours(tmp_path / "parcours.csv", rows)
    report = import_file(ws, "parcours", file, settings=settings, today=date(2026, 12, 1))
    assert (report.read, report.accepted, report.refused) == (43, 39, 4)
    assert {r.reason for r in report.refusals} == {
        "identifiant de la personne manquant", "date d'entrée illisible ou manquante",
        "date d'entrée dans le futur", "date de sortie avant la date d'entrée",
    }  # fmt: skip
    text = report.to_text()
    assert "blablabla" not in text and "J03" not in text  # nothing of the file echoed
    after = compare(ws, "P", settings=settings)
    counts = _counts(after, "Pôle A")
    assert abs(int(counts["entrée en parcours"]) - 39) <= 8  # type: ignore[call-overload]
    assert abs(int(counts["sortie"]) - 14) <= 8  # type: ignore[call-overload]
    exits = after.exits.set_index("Classe de sortie")["Affiché"]
    assert exits["emploi durable"] != "0" and exits["autre"] in {f"< {K}", "secret"}
    # the same file again adds nothing
    again = import_file(ws, "parcours", file, settings=settings, today=date(2026, 12, 1))
    assert again.already == 39
    assert compare(ws, "P", settings=settings).funnel.equals(after.funnel)
    undo_batch(ws, again.batch)  # type: ignore[arg-type]
    undo_batch(ws, report.batch)  # type: ignore[arg-type]
    undone = compare(ws, "P", settings=settings)
    assert undone.funnel.equals(before.funnel) and undone.exits.equals(before.exits)
    # the raw keys are stored nowhere in the file
    data = ws.path.read_bytes()
    assert b"J001" not in data and b"blablabla" not in data


def test_a_parcours_file_that_accepts_nothing_leaves_the_workspace_as_it_was(
    tmp_path: Path,
) -> None:
    settings = Settings(secret_path=tmp_path / "secret.key")
    ws = programme_workspace(tmp_path / "p.gpkg")
    version = ws.version
    file = _write_parcours(tmp_path / "bad.csv", [";01/03/2026;;", "J1;hier;;"])
    from territory._errors import ValidationError

    with pytest.raises(ValidationError, match="aucune ligne acceptée"):
        import_file(ws, "parcours", file, settings=settings, today=date(2026, 12, 1))
    assert not ws.has("parcours")
    assert ws.version >= version
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("nom;adresse\nx;y\n", encoding="utf-8")
    from territory._errors import InputFileError

    with pytest.raises(InputFileError, match="ne ressemble pas"):
        import_file(ws, "parcours", wrong, settings=settings, today=date(2026, 12, 1))


@st.composite
def _programmes(draw: st.DrawFn) -> list[tuple[str, str, int, str]]:
    """Random contacts: (person, commune, month, status)."""
    communes = st.sampled_from(["59001", "59002", "62001"])
    statuses = st.sampled_from(
        ["premier contact", "hors radars", "entrée en parcours", "accompagné", "sortie positive"]
    )
    rows = []
    for person in range(draw(st.integers(0, 45))):
        times = draw(st.integers(1, 3))
        rows += [
            (f"h{person}", draw(communes), draw(st.integers(1, 6)), draw(statuses))
            for _ in range(times)
        ]
    return rows


_counter = itertools.count()


@hsettings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=_programmes())
def test_no_published_value_from_fewer_than_k_people(
    rows: list[tuple[str, str, int, str]], tmp_path: Path
) -> None:
    ws = programme_workspace(tmp_path / f"h{next(_counter)}.gpkg")
    frame = pd.DataFrame(rows, columns=["person", "commune", "month", "status"])
    for (commune, month, status), part in frame.groupby(["commune", "month", "status"]):
        contacts(ws, part["person"], commune=str(commune), day=date(2026, int(month), 2),
                 status=str(status))  # fmt: skip
    define_programme(ws, "P", territories=["Pôle A", "Pôle A+", "Pôle C"],
                     start=date(2026, 1, 1), end=date(2026, 6, 30))  # fmt: skip
    c = compare(ws, "P", settings=Settings())
    rank = {"premier contact": 0, "hors radars": 1, "entrée en parcours": 2, "accompagné": 3,
            "sortie positive": 4}  # fmt: skip
    where = {"Pôle A": {"59001"}, "Pôle A+": {"59001", "59002"}, "Pôle C": {"62001"}}
    for territory, communes in where.items():
        inside = frame[frame["commune"].isin(communes)]
        furthest = inside.assign(r=inside["status"].map(rank)).groupby("person")["r"].max()
        for s, step in enumerate(STEPS):
            people = int((furthest >= s).sum())
            shown = _counts(c, territory)[step]
            if people == 0:
                assert shown == 0
            elif people < K:
                assert pd.isna(shown)
            else:
                assert int(shown) % 5 == 0 and int(shown) >= 15  # type: ignore[call-overload]
                assert abs(int(shown) - people) <= 8  # type: ignore[call-overload]
    for table in (c.zones, c.exits, c.trends):
        values = table["Personnes"].dropna().to_numpy()
        assert np.all((values == 0) | ((values % 5 == 0) & (values >= 15)))


def test_the_retention_purge_removes_old_pathways(tmp_path: Path) -> None:
    from territory.privacy.parcours import parcours_frame, store_parcours
    from territory.privacy.raw import purge

    ws = programme_workspace(tmp_path / "p.gpkg")
    rows = pd.DataFrame(
        {
            "personne": ["a", "b", "c"],
            "entree": ["2023-01", "2023-02", "2024-06"],
            "sortie": ["2023-05", "", "2026-01"],
            "classe": ["autre", "", "emploi durable"],
        }
    )
    store_parcours(ws, rows, source="p.csv")
    # a later import (a batch that keeps the table's previous state, to undo it)
    settings = Settings(secret_path=tmp_path / "secret.key")
    later = tmp_path / "later.csv"
    later.write_text("Identifiant;Date d'entrée\nZ1;03/01/2026\n", encoding="utf-8")
    report = import_file(ws, "parcours", later, settings=settings, today=date(2026, 1, 15))
    purge(ws, older_than_months=24, today=date(2026, 1, 15))
    assert len(parcours_frame(ws)) == 2 and "c" in set(parcours_frame(ws)["personne"])
    data = ws.path.read_bytes()
    assert b"2023-05" not in data and b"2023-02" not in data
    from territory._errors import ValidationError

    with pytest.raises(ValidationError, match="modifiée depuis cet import"):
        undo_batch(ws, report.batch)  # type: ignore[arg-type]  # it would bring them back
    assert len(parcours_frame(ws)) == 2
