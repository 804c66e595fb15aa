"""AppTest of the "Données" page, its import helper and the home page's territory choice.

The page shows layers, imports and programme territories; the territory choice restricts
the map.

Workspaces are copies (or new files) under ``tmp_path``: the session's demo workspace is
never written to.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from conftest import demo_copy_without_territories, map_text
from streamlit.testing.v1 import AppTest

from territory import Settings
from territory.demo import DemoScale, write_demo_sources
from territory.ingest import KINDS
from territory.store import Workspace
from territory.territories import (
    WHOLE_WORKSPACE,
    define_territory,
    list_territories,
    resolve,
)
from territory.ui.donnees import SHARING_RULE, shareable_name
from territory.ui.state import Keys
from territory.ui.uploads import IMPORT_LABELS, import_kinds, import_upload
from territory.views import LAYER_LABELS

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGE = "app_pages/donnees.py"


def open_page(workspace: Path, page: str = PAGE) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[Keys.WORKSPACE] = str(workspace)
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    return at


def click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    return at.run()


def layers_frame(at: AppTest):
    return next(d.value for d in at.dataframe if "Couche" in d.value.columns)


@pytest.fixture
def demo_copy(demo_workspace: Path, tmp_path: Path) -> Path:
    """A copy of the demo workspace without its two demo territories."""
    return demo_copy_without_territories(demo_workspace, tmp_path)


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory):
    return write_demo_sources(tmp_path_factory.mktemp("sources"), scale=DemoScale(contacts=300))


@pytest.fixture
def communes_with_a_bad_row(sources, tmp_path: Path) -> bytes:
    """Five demo communes, the second without its INSEE code."""
    data = json.loads(sources.communes.read_text(encoding="utf-8"))
    data["features"] = data["features"][:5]
    data["features"][1]["properties"]["code"] = ""
    return json.dumps(data).encode()


# ------------------------------------------------------------------------- the page
def test_page_lists_the_layers_with_their_sources(demo_copy: Path) -> None:
    at = open_page(demo_copy)
    assert not at.exception, at.exception
    assert any("fictif" in w.value for w in at.warning)  # demo banner
    layers = layers_frame(at)
    names = {"communes", "qpv", "partners", "stops", "service_gaps", "density", "stop_hours"}
    assert {LAYER_LABELS[n] for n in names} <= set(layers["Couche"])
    assert "contacts" not in set(layers["Couche"])  # only the protected density is listed
    assert "Table" not in layers.columns  # no internal name on the page (issue #21)
    for column in ("Source", "Millésime", "Licence", "SCR d'origine", "SCR stocké", "Entités"):
        assert column in layers.columns
    communes = layers.set_index("Couche").loc["Communes"]
    assert communes.name == "Communes" and communes["SCR stocké"] == "EPSG:4326"
    assert communes["Entités"] >= 30 and communes["Source"] == "communes.geojson"
    kinds = at.selectbox(key=Keys.W_IMPORT_KIND)
    assert kinds.options == [IMPORT_LABELS.get(k, k) for k in import_kinds()]
    assert "Aucun territoire défini" in at.info[0].value


def test_upload_shows_the_french_report(tmp_path: Path, communes_with_a_bad_row: bytes) -> None:
    path = tmp_path / "nouveau.gpkg"
    Workspace.create(path, name="Mon territoire")
    at = open_page(path)
    assert not at.exception and not at.warning  # not the demo: no banner
    at.file_uploader(key=Keys.W_IMPORT_FILE).set_value(
        ("communes.geojson", communes_with_a_bad_row, "application/geo+json")
    )
    at.selectbox(key=Keys.W_IMPORT_KIND).set_value("communes")
    at.text_input(key=Keys.W_IMPORT_VINTAGE).set_value("2026")
    at = click(at, "Importer")
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {
        "Lues": "5",
        "Acceptées": "4",
        "dont corrigées": "0",
        "Refusées": "1",
        "En attente": "0",
    }
    refusals = next(d.value for d in at.dataframe if "Motif" in d.value.columns)
    assert refusals["Ligne"].tolist() == ["2"] and "code" in refusals["Motif"].iloc[0]
    assert "communes.geojson" in at.warning[0].value
    layers = layers_frame(at)  # filled after the import: already up to date
    row = layers.set_index("Couche").loc["Communes"]
    assert row["Entités"] == 4 and row["Source"] == "communes.geojson"
    assert row["Millésime"] == "2026"
    assert Workspace.open(path).layers()["communes"].count == 4


@pytest.mark.parametrize(
    ("name", "content", "kind", "expected"),
    [
        ("carte.geojson", b"\x00pas du geojson" * 20, "communes", "lisible"),
        ("contacts.csv", b"date;lon;lat\n01/02/2026 10:00;2.7;46.4\n", "contacts", "communes"),
    ],
)
def test_a_bad_upload_is_a_french_error(
    tmp_path: Path, name: str, content: bytes, kind: str, expected: str
) -> None:
    path = tmp_path / "vide.gpkg"
    Workspace.create(path, name="Vide")
    at = open_page(path)
    at.file_uploader(key=Keys.W_IMPORT_FILE).set_value((name, content, "text/plain"))
    at.selectbox(key=Keys.W_IMPORT_KIND).set_value(kind)
    at = click(at, "Importer")
    assert not at.exception, at.exception
    assert at.error and at.error[0].value.startswith("Import impossible")
    assert expected in at.error[0].value and "Traceback" not in at.error[0].value


def test_submitting_without_a_file_asks_for_one(demo_workspace: Path) -> None:
    at = click(open_page(demo_workspace), "Importer")
    assert not at.exception
    assert any("Choisissez d'abord un fichier" in w.value for w in at.warning)


def test_define_and_delete_a_territory(demo_copy: Path) -> None:
    at = open_page(demo_copy)
    at.text_input(key=Keys.W_DEFINE_NAME).set_value("Bassin nord")
    epci = at.multiselect(key=Keys.W_DEFINE_EPCI)
    epci.set_value([epci.options[0].split(" ")[0]])
    at = click(at, "Enregistrer le territoire")
    assert not at.exception, at.exception
    assert "« Bassin nord » enregistré" in at.success[0].value
    [territory] = list_territories(Workspace.open(demo_copy))
    assert territory.name == "Bassin nord" and len(territory.epci) == 1
    table = next(d.value for d in at.dataframe if "Territoire" in d.value.columns)
    assert table["Territoire"].tolist() == ["Bassin nord"]

    at.text_input(key=Keys.W_DEFINE_NAME).set_value("")  # no name, no code: both reported
    at = click(at, "Enregistrer le territoire")
    assert not at.exception
    message = at.error[0].value
    assert "nom du territoire vide" in message and "au moins un code" in message

    at.selectbox(key=Keys.W_DELETE_NAME).set_value("Bassin nord")
    at = click(at, "Supprimer")
    assert not at.exception
    assert "supprimé" in at.success[0].value
    assert list_territories(Workspace.open(demo_copy)) == []
    assert "Aucun territoire défini" in at.info[0].value


def test_without_workspace_the_page_points_home(tmp_path: Path) -> None:
    at = open_page(tmp_path / "absent.gpkg")
    assert not at.exception
    assert "introuvable" in at.error[0].value


def test_batches_are_listed_and_one_is_undone_after_confirmation(demo_copy: Path) -> None:
    from territory import batches

    listed = batches.list_batches(Workspace.open(demo_copy))
    # the demo has two contact exports (2025, then the main one): the main one is undone
    contacts_batch = next(b for b in listed if b.kind == "contacts" and b.file == "contacts.csv")
    earlier = next(b for b in listed if b.kind == "contacts" and b.file != "contacts.csv")
    earlier_rows = (
        Workspace.open(demo_copy)
        .query("SELECT count(*) AS n FROM contacts WHERE lot = ?", (earlier.id,))["n"]
        .iloc[0]
    )
    at = open_page(demo_copy)
    table = next(d.value for d in at.dataframe if "Comptes" in d.value.columns)
    assert {"Lot", "Type", "Auteur", "Date", "Fichier", "État"} <= set(table.columns)
    assert "contacts" in set(table["Type"]) and set(table["État"]) == {"actif"}
    choice = at.selectbox(key=Keys.W_UNDO_BATCH)
    assert f"Lot {contacts_batch.id} — contacts — contacts.csv" in choice.options
    choice.set_value(contacts_batch.id)
    at = click(at, "Annuler ce lot")  # not confirmed: nothing happens
    assert not at.exception, at.exception
    assert any("Cochez la confirmation" in w.value for w in at.warning)
    assert batches.get_batch(Workspace.open(demo_copy), contacts_batch.id).state == "active"

    at.checkbox(key=Keys.W_UNDO_CONFIRM).check()
    at = click(at, "Annuler ce lot")
    assert not at.exception, at.exception
    assert f"Lot {contacts_batch.id} annulé" in at.success[0].value
    ws = Workspace.open(demo_copy)
    assert batches.get_batch(ws, contacts_batch.id).state == "undone"
    assert ws.layers()["contacts"].count == earlier_rows  # the 2025 export's rows only
    table = next(d.value for d in at.dataframe if "Comptes" in d.value.columns)
    assert table["Type"].iloc[0] == "annulation"  # the newest first
    options = at.selectbox(key=Keys.W_UNDO_BATCH).options
    assert not [o for o in options if o.endswith("— contacts.csv")]
    assert f"Lot {earlier.id} — contacts — {earlier.file}" in options
    assert at.checkbox(key=Keys.W_UNDO_CONFIRM).value is False

    layer = next(b for b in batches.list_batches(ws) if b.kind == "communes")
    at.selectbox(key=Keys.W_UNDO_BATCH).set_value(layer.id)
    at.checkbox(key=Keys.W_UNDO_CONFIRM).check()
    at = click(at, "Annuler ce lot")  # other layers were built on the communes since
    assert not at.exception, at.exception
    assert at.error and at.error[0].value.startswith("Annulation impossible")
    assert "Traceback" not in at.error[0].value


def test_old_contacts_are_purged_after_confirmation(demo_copy: Path) -> None:
    """The purge of the page: confirmed, logged, its count the protected one, the rest kept."""
    from territory import batches
    from territory.privacy.raw import retention_cutoff

    cutoff = retention_cutoff(date.today(), 12)
    ws = Workspace.open(demo_copy)
    kept = ws.query("SELECT count(*) AS n FROM contacts WHERE date >= ?", (cutoff.isoformat(),))
    at = open_page(demo_copy)
    at.number_input(key=Keys.W_PURGE_MONTHS).set_value(12)
    at = click(at, "Purger")  # not confirmed: nothing happens
    assert any("Cochez la confirmation pour purger" in w.value for w in at.warning)
    assert Workspace.open(demo_copy).layers()["contacts"].count == 31_940
    at.checkbox(key=Keys.W_PURGE_CONFIRM).check()
    at = click(at, "Purger")
    assert not at.exception, at.exception
    (done,) = [s.value for s in at.success if s.value.startswith("Purge faite")]
    assert f"antérieur(s) au {cutoff:%d/%m/%Y} supprimé(s) (valeur protégée)" in done
    ws = Workspace.open(demo_copy)
    assert ws.layers()["contacts"].count == int(kept["n"].iloc[0])
    (entry,) = [b for b in batches.list_batches(ws) if b.kind == "purge"]
    assert entry.counts["deleted"] == done.split(" : ")[1].split(" ")[0]  # the published count
    assert at.checkbox(key=Keys.W_PURGE_CONFIRM).value is False


# --------------------------------------------------------------- the import helper
def test_import_upload_keeps_the_file_name_and_imports(
    tmp_path: Path, sources, settings: Settings
) -> None:
    ws = Workspace.create(tmp_path / "w.gpkg", name="Essai")
    communes = import_upload(
        ws,
        "communes",
        "dossier/../communes.geojson",  # any folder part is dropped
        sources.communes.read_bytes(),
        settings=settings,
        vintage=" 2026 ",
        licence="Licence Ouverte",
    )
    assert communes.accepted == communes.read > 0
    meta = ws.layers()["communes"]
    assert (meta.source, meta.vintage, meta.licence) == (
        "communes.geojson",
        "2026",
        "Licence Ouverte",
    )
    contacts = import_upload(
        ws, "contacts", "export.csv", sources.contacts.read_bytes(), settings=settings
    )
    assert contacts.read == 300 and contacts.accepted + contacts.refused == 300
    assert ws.layers()["contacts"].source == "export.csv"
    assert set(import_kinds()) == set(KINDS)


# ------------------------------------------------------------- home page territory
def test_home_territory_choice_restricts_the_map(demo_copy: Path, settings: Settings) -> None:
    at = open_page(demo_copy, page="")
    assert not at.exception
    assert not [s for s in at.selectbox if s.label == "Territoire"]  # none defined yet
    whole = {m.label: m.value for m in at.metric}

    ws = Workspace.open(demo_copy)
    define_territory(ws, "Centre-ville", qpv=["QN00001M"])
    codes = resolve(ws, "Centre-ville")
    at.run()
    choice = at.selectbox(key=Keys.W_TERRITORY)
    assert choice.options == [WHOLE_WORKSPACE, "Centre-ville"]
    assert choice.value == WHOLE_WORKSPACE
    choice.set_value("Centre-ville")
    at.run()
    assert not at.exception, at.exception
    assert at.session_state[Keys.TERRITORY] == "Centre-ville"
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Communes"]) == len(codes) < int(whole["Communes"])
    contacts = metrics["Contacts (protégés)"].replace("\u202f", "")
    assert contacts == "secret" or (int(contacts) >= settings.k and int(contacts) % 5 == 0)
    assert "Centre-ville" in at.subheader[0].value

    at.switch_page("app_pages/carte.py")
    at.run()
    assert not at.exception, at.exception
    assert "Centre-ville" in at.caption[0].value
    script = map_text(at)
    shown = set(re.findall(r'"code":"(\d{5})"', script))
    assert shown == codes  # communes of the territory only
    counts = [int(c) for c in re.findall(r'"count":(\d+)', script)]
    assert counts and all(c >= settings.k for c in counts)


def test_fetch_offline_says_so_in_french(demo_copy: Path) -> None:
    """No internet: the page says which sources failed, no traceback, workspace unchanged."""
    import responses

    at = open_page(demo_copy)
    version = Workspace.open(demo_copy).version
    at.text_input(key=Keys.W_FETCH_DEP).input("14")
    submit = next(b for b in at.button if "Télécharger" in str(b.label))
    with responses.RequestsMock(assert_all_requests_are_fired=False):  # every request fails
        at = submit.click().run()
    assert not at.exception
    assert any("aucune source" in e.value for e in at.error)
    assert Workspace.open(demo_copy).version == version


# ------------------------------------------------------------------ the shareable file
def test_page_says_what_may_be_shared_and_offers_the_shareable_file(
    demo_workspace: Path,
) -> None:
    at = open_page(demo_workspace)  # the page only reads: the file is built on click
    assert not at.exception, at.exception
    rule = next(i.value for i in at.info if "partageable" in i.value)
    assert rule == SHARING_RULE
    assert "il ne se partage pas" in rule and "équipe d'évaluation" in rule
    buttons = {b.proto.label: b.proto for b in at.get("download_button")}
    package = "Paquet d'évaluation (.zip)"
    assert set(buttons) == {"Fichier partageable (.gpkg)", package}  # never the workspace
    assert "aucun contact" in buttons["Fichier partageable (.gpkg)"].help
    assert "Lambert-93" in buttons[package].help and "Méthodes" in buttons[package].help
    choice = at.multiselect(key=Keys.W_SHARE_TERRITORIES)
    assert choice.options == [t.name for t in list_territories(Workspace.open(demo_workspace))]
    choice.set_value(["Communes rurales"])
    at.run()
    assert not at.exception, at.exception


def test_shareable_file_name_is_plain_ascii() -> None:
    assert shareable_name("Territoire fictif de la Vallée de l'Ardoise") == (
        "territoire-fictif-de-la-vallee-de-l-ardoise-partageable.gpkg"
    )
    assert shareable_name("???") == "territoire-partageable.gpkg"


def test_a_second_partner_file_adds_unless_replace_is_ticked(demo_copy: Path) -> None:
    """#19: a partner file adds to the stored ones; the page's box replaces them, explicitly."""
    before = Workspace.open(demo_copy).layers()["partners"].count
    one = "nom;type;adresse;code_insee;longitude;latitude;horaires\n"
    one += "Point jeunes de test;PIJ_BIJ;1 rue du Test;00001;2,7500;46,4500;Mo-Fr 09:00-12:00\n"

    def upload(replace: bool) -> AppTest:
        at = open_page(demo_copy)
        at.file_uploader(key=Keys.W_IMPORT_FILE).set_value(
            ("partenaires_test.csv", one.encode("utf-8"), "text/csv")
        )
        at.selectbox(key=Keys.W_IMPORT_KIND).set_value("partners")
        at.checkbox(key=Keys.W_IMPORT_REPLACE).set_value(replace)
        at = click(at, "Importer")
        assert not at.exception, at.exception
        return at

    upload(replace=False)
    assert Workspace.open(demo_copy).layers()["partners"].count == before + 1
    upload(replace=True)
    assert Workspace.open(demo_copy).layers()["partners"].count == 1


def test_a_workbook_of_several_sheets_asks_which_one_to_import(demo_copy: Path) -> None:
    """#19: two partner sheets: the page names them, the chosen one is imported."""
    from samples import xlsx

    before = Workspace.open(demo_copy).layers()["partners"].count
    header = ["Nom de la structure", "Catégorie", "Longitude", "Latitude"]
    book = xlsx(
        {
            "2025": [header, ["Ancien point jeunes", "PIJ", "2,75", "46,45"]],
            "2026": [header, ["PIJ test", "PIJ", "2,75", "46,45"], ["MJC", "", "2,76", "46,44"]],
        }
    )
    at = open_page(demo_copy)
    at.file_uploader(key=Keys.W_IMPORT_FILE).set_value(("partenaires.xlsx", book, "application"))
    at.selectbox(key=Keys.W_IMPORT_KIND).set_value("partners")
    at = click(at, "Importer")
    assert not at.exception, at.exception
    assert any("« 2025 », « 2026 »" in w.value for w in at.warning)
    assert Workspace.open(demo_copy).layers()["partners"].count == before
    at.selectbox(key=Keys.W_IMPORT_SHEET).set_value("2026")
    at = click(at, "Importer cette feuille")
    assert not at.exception, at.exception
    assert Workspace.open(demo_copy).layers()["partners"].count == before + 2
    notes = " ".join(m.value for m in at.markdown)
    assert "feuille « 2026 » lue ; feuille ignorée : « 2025 »" in notes
    assert "colonne « Nom de la structure » lue comme « nom »" in notes
    at = at.run()  # the choice is gone once imported
    assert all(s.key != Keys.W_IMPORT_SHEET for s in at.selectbox)


def test_a_parcours_file_is_imported_from_the_page(demo_workspace: Path, tmp_path: Path) -> None:
    """#22: the team's parcours export through the page, with its report.

    The raw number of pathways is listed nowhere on the page.
    """
    import shutil

    copy = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, copy)
    rows = "Identifiant jeune;Date d'entrée;Date de sortie;Situation à la sortie\n"
    rows += "P000001;02/03/2026;10/09/2026;CDI\n;02/03/2026;;\n"
    at = open_page(copy)
    at.file_uploader(key=Keys.W_IMPORT_FILE).set_value(
        ("parcours.csv", rows.encode("utf-8"), "text/csv")
    )
    at.selectbox(key=Keys.W_IMPORT_KIND).set_value("parcours")
    at = click(at, "Importer")
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Lues"], metrics["Acceptées"], metrics["Refusées"]) == ("2", "1", "1")
    refusals = next(d.value for d in at.dataframe if "Motif" in d.value.columns)
    assert "identifiant de la personne manquant" in refusals["Motif"].iloc[0]
    assert "Parcours" not in set(layers_frame(at)["Couche"]) and "parcours" not in set(
        layers_frame(at)["Couche"]
    )
