"""Cards of what is clicked on the map: names and figures in French, protected contacts."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from territory.analysis.priority import load_stop_hours
from territory.cards import card, qpv_contacts
from territory.store import Workspace
from territory.views import map_layers

MONDAY = date(2026, 12, 7)
ENGLISH_NUMBER = re.compile(r"\d,\d{3}\b|\d\.\d")


@pytest.fixture(scope="module")
def demo(demo_workspace: Path, settings):  # type: ignore[no-untyped-def]
    ws = Workspace.open(demo_workspace)
    return ws, map_layers(ws, settings=settings)


def _text(c) -> str:  # type: ignore[no-untyped-def]
    parts = [c.title, c.rows.to_string()] + [t.to_string() for _, t in c.tables]
    return "\n".join(parts)


def test_a_qpv_card_has_its_names_figures_partners_and_transit(demo, settings) -> None:  # type: ignore[no-untyped-def]
    ws, layers = demo
    contacts = qpv_contacts(ws, layers.qpv, settings=settings, communes=None)
    hours = load_stop_hours(ws, weekday=MONDAY.weekday())
    names = dict(zip(layers.communes["code"], layers.communes["nom"], strict=True))
    q = layers.qpv.iloc[0]
    c = card(
        layers, "qpv", q["code"], k=settings.k, today=MONDAY, contacts=contacts, stop_hours=hours
    )
    rows = c.rows.set_index("Indicateur")["Valeur"]
    assert c.title == f"QPV {q['nom']}"
    first = str(q["communes"]).split(",")[0].strip()
    assert names[first] in rows["Communes"] and first not in rows["Communes"]
    assert rows["Population (estimée)"].startswith("≈ ")
    label = next(v for k, v in rows.items() if k.startswith("Contacts publiés"))
    assert label == contacts[0].get(q["code"], label)  # the protected label, nothing else
    assert label.replace("\u202f", "").isdigit() and int(label.replace("\u202f", "")) % 5 == 0
    captions = [caption for caption, _ in c.tables]
    assert any(x.startswith("Partenaires à moins de") for x in captions)
    assert any(x.startswith("Départs par heure, lundi") for x in captions)
    for _, table in c.tables:
        assert len(table) > 0
    partners = dict(c.tables)[next(x for x in captions if x.startswith("Partenaires"))]
    assert set(partners.columns) == {"Partenaire", "Type", "Aujourd’hui (lundi)", "Distance"}
    assert not ENGLISH_NUMBER.search(_text(c))


def test_a_partner_card_has_its_type_hours_and_phone(demo, settings) -> None:  # type: ignore[no-untyped-def]
    _, layers = demo
    label = layers.partners.index[0]
    p = layers.partners.loc[label]
    c = card(layers, "partners", str(label), k=settings.k, today=MONDAY)
    rows = c.rows.set_index("Indicateur")["Valeur"]
    assert c.title == p["nom"] and not c.title.isdigit()
    assert rows["Type"] == "Mission locale"
    assert rows["Téléphone"] == p["telephone"]
    assert rows["Aujourd’hui (lundi)"] == "8h30–12h30, 13h30–17h"
    assert "lun.–ven." in rows["Horaires"]
    sunday = card(layers, "partners", str(label), k=settings.k, today=date(2026, 12, 6))
    assert sunday.rows.set_index("Indicateur")["Valeur"]["Aujourd’hui (dimanche)"] == "fermé"


def test_a_cell_card_offers_the_commune_and_qpv_under_it(demo, settings) -> None:  # type: ignore[no-untyped-def]
    _, layers = demo
    inside = layers.density[
        (layers.density["level"] == "200m")
        & layers.density.geometry.representative_point().within(layers.qpv.union_all())
    ]
    zone = inside.dropna(subset=["count"]).iloc[0]
    c = card(layers, "density", zone["zone"], k=settings.k, today=MONDAY)
    assert c.title == "Carreau de 200 m"
    assert c.rows.set_index("Indicateur").loc["Contacts (protégés)", "Valeur"] == zone["label"]
    kinds = {layer for _, layer, _ in c.others}
    assert kinds == {"communes", "qpv"}
    commune = card(layers, "communes", zone["commune"], k=settings.k, today=MONDAY)
    assert commune.title.endswith(f"({zone['commune']})")


def test_no_card_is_titled_by_a_bare_code_or_holds_an_empty_table(demo, settings) -> None:  # type: ignore[no-untyped-def]
    _, layers = demo
    clicks = [("partners", str(i)) for i in layers.partners.index]
    clicks += [("stops", str(s)) for s in layers.stops["stop_id"].head(20)]
    clicks += [("communes", c) for c in layers.communes["code"]]
    clicks += [("qpv", c) for c in layers.qpv["code"]] + [("partners", "9999")]
    for layer, code in clicks:
        c = card(layers, layer, code, k=settings.k, today=MONDAY)
        assert not re.fullmatch(r"[\d\s]+", c.title), (layer, code, c.title)
        assert len(c.rows) and all(len(t) for _, t in c.tables), (layer, code)
        assert not ENGLISH_NUMBER.search(_text(c)), (layer, code)
        assert isinstance(c.rows, pd.DataFrame)
