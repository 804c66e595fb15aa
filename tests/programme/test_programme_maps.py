"""The small-multiple maps' values (``Comparison.maps``) under attack (``privacy.md`` v2).

A territory's communes are parts of its published total: a lone hidden commune would be
the total less the others. The same commune in two territories must show the same value
or be hidden in both. Every value is from at least k people, perturbed and rounded, and
the SVG of the page and the PDF holds only those values.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from programme_data import contacts, names, programme_workspace

from territory import Settings
from territory.programme import compare, define_programme
from territory.report.maps import classes, territory_map_svg
from territory.territories import define_territory

K = Settings().k


def _maps(c: object, territory: str) -> pd.DataFrame:
    maps = c.maps  # type: ignore[attr-defined]
    return maps[maps["Territoire"] == territory].set_index("Code")


def _total(c: object, territory: str) -> object:
    funnel = c.funnel  # type: ignore[attr-defined]
    row = funnel[(funnel["Territoire"] == territory) & (funnel["Étape"] == "contact")]
    return row["Personnes"].iloc[0]


def test_a_lone_small_commune_is_not_the_total_less_the_others(tmp_path: Path) -> None:
    """Pôle A+ = 59001 (60 people) + 59002 (4 people): 59002 must not come out by subtraction."""
    ws = programme_workspace(tmp_path / "p.gpkg")
    contacts(ws, names("a", 60), commune="59001", day=date(2026, 2, 3), status="premier contact")
    contacts(ws, names("b", 4), commune="59002", day=date(2026, 2, 3), status="premier contact")
    define_programme(ws, "P", territories=["Pôle A+"], start=date(2026, 1, 1),
                     end=date(2026, 12, 31))  # fmt: skip
    c = compare(ws, "P", settings=Settings())
    maps = _maps(c, "Pôle A+")
    assert maps.loc["59002", "Affiché"] == f"< {K}"
    # the only other commune is hidden too (« secret »): total − shown gives nothing
    assert maps.loc["59001", "Affiché"] == "secret"
    assert maps["Personnes"].isna().all()
    assert maps["Pour 1 000 habitants"].isna().all()
    assert not pd.isna(_total(c, "Pôle A+"))  # the territory's total is still published


def test_the_same_commune_is_hidden_in_every_territory_or_in_none(tmp_path: Path) -> None:
    """59001 is secret in Pôle A+ (to cover 59002): Pôle A alone must not show it."""
    ws = programme_workspace(tmp_path / "p.gpkg")
    contacts(ws, names("a", 60), commune="59001", day=date(2026, 2, 3), status="premier contact")
    contacts(ws, names("b", 4), commune="59002", day=date(2026, 2, 3), status="premier contact")
    contacts(ws, names("c", 30), commune="62001", day=date(2026, 2, 3), status="premier contact")
    define_programme(ws, "P", territories=["Pôle A", "Pôle A+", "Pôle C"],
                     start=date(2026, 1, 1), end=date(2026, 12, 31))  # fmt: skip
    c = compare(ws, "P", settings=Settings())
    assert _maps(c, "Pôle A+").loc["59001", "Affiché"] == "secret"
    assert _maps(c, "Pôle A").loc["59001", "Affiché"] == "secret"
    # (a) Pôle A's own total is published, but it is the funnel's count of the same people
    # over the same commune: it tells 59001 (already public) and nothing about 59002.
    shown = _maps(c, "Pôle C").loc["62001"]
    assert shown["Affiché"] != "secret" and int(shown["Personnes"]) % 5 == 0


def test_map_cells_and_their_total_differ_by_noise_and_hide_nothing(tmp_path: Path) -> None:
    """Two shown communes and one small: the small one is never the total less the others."""
    for seed in range(4):
        ws = programme_workspace(tmp_path / f"p{seed}.gpkg")
        define_territory(ws, "Tout", communes=["59001", "59002", "62001"])
        contacts(ws, names(f"a{seed}", 40 + seed), commune="59001", day=date(2026, 3, 3),
                 status="premier contact")  # fmt: skip
        contacts(ws, names(f"b{seed}", 30 + seed), commune="59002", day=date(2026, 3, 3),
                 status="premier contact")  # fmt: skip
        contacts(ws, names(f"c{seed}", 3), commune="62001", day=date(2026, 3, 3),
                 status="premier contact")  # fmt: skip
        define_programme(ws, "P", territories=["Tout"], start=date(2026, 1, 1),
                         end=date(2026, 12, 31))  # fmt: skip
        c = compare(ws, "P", settings=Settings())
        maps = _maps(c, "Tout")
        hidden = maps["Personnes"].isna()
        assert maps.loc["62001", "Affiché"] == f"< {K}"
        assert int(hidden.sum()) >= 2  # the small commune never hidden alone
        assert not pd.isna(_total(c, "Tout"))  # beside a published total


def test_map_values_follow_the_threshold_and_the_rounding(tmp_path: Path) -> None:
    ws = programme_workspace(tmp_path / "p.gpkg")
    rng = np.random.default_rng(7)
    truth: dict[str, set[str]] = {"59001": set(), "59002": set(), "62001": set()}
    for commune, n in (("59001", 47), ("59002", 12), ("62001", 9)):
        people = names(f"{commune}-", n)
        truth[commune] |= set(people)
        contacts(ws, people, commune=commune, day=date(2026, int(rng.integers(1, 7)), 2),
                 status="premier contact")  # fmt: skip
    # 20 people met in two communes: each commune counts them
    both = names("both", 20)
    contacts(ws, both, commune="59001", day=date(2026, 4, 2), status="hors radars")
    contacts(ws, both, commune="59002", day=date(2026, 4, 9), status="hors radars")
    truth["59001"] |= set(both)
    truth["59002"] |= set(both)
    define_programme(ws, "P", territories=["Pôle A", "Pôle A+", "Pôle C"],
                     start=date(2026, 1, 1), end=date(2026, 12, 31))  # fmt: skip
    c = compare(ws, "P", settings=Settings())
    for row in c.maps.itertuples(index=False):
        people = len(truth[row.Code])
        if pd.isna(row.Personnes):
            assert row.Affiché in (f"< {K}", "secret")
            assert people < K or row.Affiché == "secret"
        else:
            assert people >= K
            assert int(row.Personnes) % 5 == 0 and abs(int(row.Personnes) - people) <= 8
    # one commune, one published value, whichever territory shows it
    a = _maps(c, "Pôle A").loc["59001", "Affiché"]
    assert _maps(c, "Pôle A+").loc["59001", "Affiché"] == a


def test_the_svg_holds_only_published_values_and_is_reproducible(tmp_path: Path) -> None:
    ws = programme_workspace(tmp_path / "p.gpkg")
    contacts(ws, names("a", 60), commune="59001", day=date(2026, 2, 3), status="premier contact")
    contacts(ws, names("b", 4), commune="59002", day=date(2026, 2, 3), status="premier contact")
    contacts(ws, names("c", 30), commune="62001", day=date(2026, 2, 3), status="premier contact")
    define_programme(ws, "P", territories=["Pôle A+", "Pôle C"], start=date(2026, 1, 1),
                     end=date(2026, 12, 31))  # fmt: skip
    c = compare(ws, "P", settings=Settings())
    svg = territory_map_svg(c, "Pôle A+")
    assert svg == territory_map_svg(c, "Pôle A+")
    titles = re.findall(r"<title>([^<]*)</title>", svg)
    assert len(titles) == 2 and all("non diffusé" in t for t in titles)
    assert " 4 " not in svg and ": 4 " not in " ".join(titles)
    assert svg.count("url(#cache)") == 2  # both hatched
    other = territory_map_svg(c, "Pôle C", bounds=classes(c))
    assert 'fill="#' in other and "url(#cache)" not in other


def test_the_maps_follow_the_file_after_an_import_and_a_purge(tmp_path: Path) -> None:
    """Kept per state of the file: new contacts and a purge change the maps at once."""
    from territory.privacy.raw import purge

    ws = programme_workspace(tmp_path / "p.gpkg")
    contacts(ws, names("old", 40), commune="62001", day=date(2024, 11, 5), status="premier contact")
    contacts(ws, names("a", 5), commune="62001", day=date(2026, 2, 3), status="premier contact")
    define_programme(ws, "P", territories=["Pôle C"], start=date(2024, 1, 1),
                     end=date(2026, 12, 31))  # fmt: skip
    before = _maps(compare(ws, "P", settings=Settings()), "Pôle C").loc["62001"]
    assert not pd.isna(before["Personnes"])  # 45 people
    purge(ws, today=date(2026, 12, 1), older_than_months=24)  # the 40 of November 2024 go
    after = _maps(compare(ws, "P", settings=Settings()), "Pôle C").loc["62001"]
    assert after["Affiché"] == f"< {K}"  # 5 people left
    contacts(ws, names("b", 30), commune="62001", day=date(2026, 3, 3), status="hors radars")
    again = _maps(compare(ws, "P", settings=Settings()), "Pôle C").loc["62001"]
    assert not pd.isna(again["Personnes"]) and abs(int(again["Personnes"]) - 35) <= 8
