"""AppTest of the "Où et quand" page: ranking, weights, zone card, slots, downloads."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import map_text
from streamlit.testing.v1 import AppTest

from territory.analysis.priority import GROUPS
from territory.ui.state import Keys
from territory.vocab import PARTNER_TYPES

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture(scope="module")
def page(demo_workspace: Path) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state[Keys.WORKSPACE] = str(demo_workspace)
    at.run()
    at.switch_page("app_pages/ou_et_quand.py")
    at.run()
    assert not at.exception, at.exception
    return at


def ranking(at: AppTest):
    return next(d.value for d in at.dataframe if "pourquoi" in d.value.columns)


def test_ranked_zones_each_with_reasons(page: AppTest) -> None:
    table = ranking(page)
    assert len(table) >= 30 and table["rang"].tolist() == list(range(1, len(table) + 1))
    assert table["pourquoi"].str.len().gt(10).all()
    assert table["score"].is_monotonic_decreasing
    labels = [b.proto.label for b in page.get("download_button")]
    assert labels[:2] == ["Classement (CSV)", "Classement (GeoJSON)"]


def test_weights_move_the_ranking(page: AppTest) -> None:
    before = ranking(page)["code"].tolist()
    for group in GROUPS:
        page.select_slider(key=f"{Keys.W_PRIORITY_WEIGHT}_{group}").set_value(
            3.0 if group == "access" else 0.0
        )
    page.run()
    assert not page.exception, page.exception
    after = ranking(page)
    assert after["code"].tolist() != before
    assert after["access"].iloc[0] == after["access"].max()


def test_zone_card_and_slots(page: AppTest) -> None:
    table = ranking(page).set_index("code")
    zone = page.selectbox(key=f"{Keys.W_PRIORITY_ZONE}_commune").value
    text = " ".join(m.value for m in page.markdown)
    assert "Créneaux recommandés" in text and " h" in text
    basis = " ".join(c.value for c in page.caption)
    assert "Profil : profil " in basis and "personnes)" in basis  # the level and its people
    assert any(m.label.endswith(f"rang {table.loc[zone, 'rang']}") for m in page.metric)
    indicators = next(d.value for d in page.dataframe if "Indicateur" in d.value.columns)
    assert "Population" in indicators["Indicateur"].tolist()
    assert "Indicateurs de la zone (CSV)" in [b.proto.label for b in page.get("download_button")]
    # The recommended slots, each with what its rank rests on; partner types in French.
    slots = next(d.value for d in page.dataframe if "Pourquoi" in d.value.columns)
    assert len(slots) == 5 and slots["Pourquoi"].str.startswith("présence ").any()
    assert slots["Pourquoi"].str.match(r"(jour férié .*; )?présence \w+ : \d+(er|e) des ").all()
    shown = {t for cell in slots["Types ouverts"] for t in cell.split(", ") if t}
    assert shown and not shown & set(PARTNER_TYPES), shown  # labels, not codes
    assert any(c.value.startswith("Classés par la présence observée") for c in page.caption)
    page.radio(key=Keys.W_PRIORITY_OPEN).set_value("ML").run()
    assert not page.exception, page.exception


def test_qpv_zones(page: AppTest) -> None:
    page.get("button_group")[0].set_value("qpv").run()
    assert not page.exception, page.exception
    assert len(ranking(page)) >= 1


def test_score_map_holds_the_ranked_zones(page: AppTest) -> None:
    script = map_text(page)
    assert "Score de priorit" in script and '"pourquoi"' in script
    codes = ranking(page)["code"].tolist()
    assert all(f'"code":"{c}"' in script for c in codes[:5])
