"""Opening hours as French teams write them: read where unambiguous, else kept as text."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from territory.hours import (
    format_hours_fr,
    hours_known,
    is_open,
    read_hours,
    read_hours_fr,
    windows_from_opening_hours,
)
from territory.io.partners import read_partners


@pytest.mark.parametrize(
    ("text", "osm"),
    [
        ("du lundi au vendredi de 9h à 12h et de 14h à 17h", "Mo-Fr 09:00-12:00,14:00-17:00"),
        ("Lun-Ven 9h00-12h30", "Mo-Fr 09:00-12:30"),
        ("lu-ve 8h30-17h", "Mo-Fr 08:30-17:00"),
        ("mardi et jeudi de 14h à 17h", "Tu,Th 14:00-17:00"),
        ("Ouvert du mardi au samedi de 10 h à 18 h", "Tu-Sa 10:00-18:00"),
        ("9h-12h du lundi au vendredi", "Mo-Fr 09:00-12:00"),
        ("du lundi au vendredi de 9h à midi", "Mo-Fr 09:00-12:00"),
        ("de 9 à 12h le lundi", "Mo 09:00-12:00"),
        ("du lundi au vendredi sauf le mercredi 9h-17h", "Mo-Tu,Th-Fr 09:00-17:00"),
        ("tous les jours 8h-20h", "08:00-20:00"),
        ("7j/7 24h/24", "24/7"),
        (
            "du lundi au vendredi de 8 h 30 à 12 h et de 13 h 30 à 17 h 30",
            "Mo-Fr 08:30-12:00,13:30-17:30",
        ),
        (
            "Lundi : 9h-12h30 / 13h30-17h30 Mardi : 9h-12h30 Mercredi : fermé",
            "Mo 09:00-12:30,13:30-17:30; Tu 09:00-12:30",
        ),
        (
            "lundi-vendredi 9h-12h / 14h-17h ; samedi 9h-12h ; fermé dimanche et jours fériés",
            "Mo-Fr 09:00-12:00,14:00-17:00; Sa 09:00-12:00; Su,PH closed",
        ),
        (
            "Accueil du public : lundi, mercredi et vendredi de 9h à 12h",
            "Mo,We,Fr 09:00-12:00",
        ),
        # ambiguous or not hours: never guessed
        ("9h-12h", None),  # which days?
        ("lundi", None),  # which hours?
        ("fermé le samedi", None),  # and the other days?
        ("sur rendez-vous", None),
        ("lundi matin", None),
        ("du lundi au vendredi 9h-12h hors vacances scolaires", None),
        ("lundi 14h-12h", None),  # ends before it starts
        ("lundi 9h-12h, 11h-14h", None),  # overlapping ranges: a typo
        ("décembre 9h-12h", None),
        ("", None),
    ],
)
def test_read_hours_fr(text: str, osm: str | None) -> None:
    assert read_hours_fr(text) == osm


def test_unread_text_is_kept_never_open_and_shown_as_written() -> None:
    osm, how = read_hours("Sur rendez-vous (tél. avant)")
    assert how == "texte"
    assert osm == 'unknown "Sur rendez-vous (tél. avant)"'
    assert not hours_known(osm)
    assert is_open(osm, datetime(2025, 3, 11, 10)) is None
    assert windows_from_opening_hours(osm) is None  # a round never counts on it
    assert format_hours_fr(osm) == "Sur rendez-vous (tél. avant)"
    assert read_hours("Mo-Fr 09:00-12:00") == ("Mo-Fr 09:00-12:00", "osm")
    assert read_hours("  ") == ("", "")


@pytest.mark.parametrize(
    ("osm", "french"),
    [
        ("Mo-Fr 09:00-12:30", "lun.–ven. 9h–12h30"),
        (
            "Mo-Fr 08:30-12:00,13:30-17:30; Sa 09:00-12:00",
            "lun.–ven. 8h30–12h, 13h30–17h30 ; sam. 9h–12h",
        ),
        ("08:00-20:00", "tous les jours 8h–20h"),
        ("Mo-Fr 09:00-12:00; Su,PH closed", "lun.–ven. 9h–12h ; dim., jours fériés fermé"),
    ],
)
def test_hours_in_french(osm: str, french: str) -> None:
    assert format_hours_fr(osm) == french


def test_partner_file_with_french_hours(tmp_path: Path) -> None:
    path = tmp_path / "partenaires.csv"
    path.write_text(
        "nom;latitude;longitude;horaires\n"
        "Mission locale;49,18;-0,37;du lundi au vendredi de 9h à 12h et de 14h à 17h\n"
        "Collège Pasteur;49,19;-0,36;sur rendez-vous\n"
        "Centre social;49,17;-0,35;Mo-Fr 10:00-18:00\n"
        "Club de prévention;49,16;-0,34;\n",
        encoding="utf-8",
    )
    gdf, report = read_partners(path)
    hours = dict(zip(gdf["nom"], gdf["horaires"], strict=True))
    assert hours == {
        "Mission locale": "Mo-Fr 09:00-12:00,14:00-17:00",
        "Collège Pasteur": 'unknown "sur rendez-vous"',  # kept as written
        "Centre social": "Mo-Fr 10:00-18:00",
        "Club de prévention": "",
    }
    assert report.accepted == 4
    assert report.fixed == 1  # the one value the reader changed is counted
    text = report.to_text()
    assert "ligne 3 : horaires « sur rendez-vous » non lus sans deviner" in text
    assert "2 partenaire(s) aux horaires inconnus" in text
