"""AppTest of the per-import opt-in of online geocoding, and of the BAN upload.

Contacts given by an address are geocoded against the imported BAN; the online BAN is
used only when the import's box is checked (then without cache). No network is used:
the online geocoder is replaced by a spy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from ban_sample import COMMUNES_14, ban_csv, write_ban
from streamlit.testing.v1 import AppTest

from territory import Settings
from territory.ingest import import_file
from territory.io import _http, geocoding
from territory.store import Workspace
from territory.ui.state import Keys
from territory.ui.uploads import ONLINE_GEOCODING_LABEL, ONLINE_GEOCODING_WARNING

APP = str(Path(__file__).resolve().parents[2] / "app.py")
CONTACTS = (
    b"date;adresse;statut\n"
    b"03/02/2026 14:00;10 rue de Bayeux 14000 Caen;premier contact\n"
    b"04/02/2026 17:30;12 rue des Jardins Secrets 14000 Caen;hors radars\n"
)


@pytest.fixture
def workspace(tmp_path: Path, settings: Settings) -> Path:
    path = tmp_path / "calvados.gpkg"
    ws = Workspace.create(path, name="Calvados")
    import_file(ws, "communes", COMMUNES_14, settings=settings, geocode=False)
    import_file(ws, "ban", write_ban(tmp_path / "adresses-14.csv.gz"), settings=settings)
    return path


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The online geocoder's calls (it places every address it gets); no request at all."""
    calls: list[dict[str, Any]] = []

    def spy(frame: pd.DataFrame, **options: Any) -> tuple[pd.DataFrame, list[str]]:
        calls.append({"rows": len(frame), **options})
        found = pd.DataFrame(
            {"longitude": -0.365, "latitude": 49.19, "score": 0.8, "label": "", "reason": None},
            index=frame.index,
        )
        return found, []

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("aucune requête réseau n'était permise")

    monkeypatch.setattr(geocoding, "geocode_addresses", spy)
    monkeypatch.setattr(_http, "_download", refuse)
    return calls


def open_page(workspace: Path, page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[Keys.WORKSPACE] = str(workspace)
    at.run()
    at.switch_page(page)
    return at.run()


def import_contacts(at: AppTest, *, online: bool) -> AppTest:
    at.file_uploader(key=Keys.W_IMPORT_FILE).set_value(("equipe.csv", CONTACTS, "text/csv"))
    at.selectbox(key=Keys.W_IMPORT_KIND).set_value("contacts")
    at.checkbox(key=Keys.W_IMPORT_ONLINE).set_value(online)
    next(b for b in at.button if b.label == "Importer").click()
    return at.run()


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_the_box_is_unchecked_and_says_what_it_sends(workspace: Path) -> None:
    at = open_page(workspace, "app_pages/donnees.py")
    assert not at.exception, at.exception
    box = at.checkbox(key=Keys.W_IMPORT_ONLINE)
    assert box.label == ONLINE_GEOCODING_LABEL and box.value is False
    assert any(c.value == ONLINE_GEOCODING_WARNING for c in at.caption)
    assert "service en ligne" in ONLINE_GEOCODING_WARNING
    contacts = open_page(workspace, "app_pages/contacts.py")
    assert not contacts.exception, contacts.exception


def test_without_the_box_addresses_stay_here(workspace: Path, online: list[dict[str, Any]]) -> None:
    at = import_contacts(open_page(workspace, "app_pages/donnees.py"), online=False)
    assert not at.exception, at.exception
    assert metrics(at)["Acceptées"] == "1" and metrics(at)["En attente"] == "1"
    assert online == []
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Lignes à géocoder" in labels  # the pending rows, to download (never kept)
    assert [label for label in labels if "géocoder" in label or "refus" in label.lower()] == [
        "Lignes à géocoder"
    ]


def test_with_the_box_the_rest_goes_online_without_cache(
    workspace: Path, online: list[dict[str, Any]]
) -> None:
    at = import_contacts(open_page(workspace, "app_pages/donnees.py"), online=True)
    assert not at.exception, at.exception
    assert metrics(at)["Acceptées"] == "2" and metrics(at)["En attente"] == "0"
    assert online == [{"rows": 1, "settings": online[0]["settings"], "address": "adresse",
                       "cache": False}]  # fmt: skip


def test_the_ban_is_uploaded_from_the_page(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "vide.gpkg"
    ws = Workspace.create(path, name="Vide")
    import_file(ws, "communes", COMMUNES_14, settings=settings, geocode=False)
    at = open_page(path, "app_pages/donnees.py")
    data = write_ban(tmp_path / "adresses-14.csv.gz", ban_csv()).read_bytes()
    at.file_uploader(key=Keys.W_IMPORT_FILE).set_value(
        ("adresses-14.csv.gz", data, "application/gzip")
    )
    at.selectbox(key=Keys.W_IMPORT_KIND).set_value("ban")
    next(b for b in at.button if b.label == "Importer").click()
    at.run()
    assert not at.exception, at.exception
    assert metrics(at)["Acceptées"] == metrics(at)["Lues"] == "18"
    layers = next(d.value for d in at.dataframe if "Couche" in d.value.columns)
    row = layers.set_index("Couche").loc["Adresses de la BAN (géocodage sur place)"]
    assert row["Entités"] == 18
