"""The batch log: every import a batch, undone without a trace, purges logged, failures undone."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from conftest import shared_file
from samples import ROWS, two_communes_workspace, write

from territory import InputFileError, Settings, ValidationError, WorkspaceError
from territory import batches as log
from territory.demo import DemoScale, write_demo_sources
from territory.ingest import import_file, undo_batch
from territory.io import contacts
from territory.privacy import raw
from territory.privacy.pseudonyms import load_secret
from territory.privacy.published import count_before
from territory.store import Workspace

TODAY = date(2026, 3, 1)  # the sample rows are of February 2026


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(secret_path=tmp_path / "secret" / "key")


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory):
    return write_demo_sources(tmp_path_factory.mktemp("sources"), scale=DemoScale(contacts=50))


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """Two square communes holding the sample contacts."""
    return two_communes_workspace(tmp_path / "w.gpkg")


def people(prefix: str, n: int) -> list[str]:
    """``n`` contacts of people ``{prefix}0000``… in February 2026, in the first commune."""
    return [
        f"0{1 + i % 9}/02/2026 1{i % 10}:00;2,7512;46,4512;suivi;18-21;F;;{prefix}{i:04d};"
        for i in range(n)
    ]


def stored_print(ws: Workspace, where: str) -> tuple[set[bytes], set[bytes]]:
    """Fingerprints and pseudonyms of the stored contacts matching ``where``, as bytes."""
    rows = ws.query(f"SELECT fingerprint, personne FROM contacts WHERE {where}")
    return {f.encode() for f in rows["fingerprint"]}, {p.encode() for p in rows["personne"] if p}


def assert_counts_kept(ws: Workspace) -> None:
    scan = ws.query(
        "SELECT cell, commune, count(*) AS n FROM contacts GROUP BY cell, commune "
        "ORDER BY cell, commune"
    )
    pd.testing.assert_frame_equal(raw.contact_cell_counts(ws), scan)


# ------------------------------------------------------------------ the log
def test_every_import_is_a_batch_with_author_time_file_and_counts(
    ws: Workspace, tmp_path: Path, settings: Settings, backend: str
) -> None:
    assert log.list_batches(ws) == []  # a workspace without a log
    folder = tmp_path / "Dossier de Camille Martin"  # a folder may name a person
    folder.mkdir()
    source = write(folder / "equipe.csv", ROWS)
    before = datetime.now(UTC).replace(microsecond=0)
    report = import_file(ws, "contacts", source, settings=settings, today=TODAY, author="camille")
    again = import_file(ws, "contacts", source, settings=settings, today=TODAY)

    first, second = log.list_batches(ws)
    assert (report.batch, again.batch) == (first.id, second.id) == (1, 2)
    assert (first.kind, first.author, first.file, first.state) == (
        "contacts",
        "camille",
        "equipe.csv",
        "active",
    )
    assert second.author == log.author_name()  # the OS user
    assert before <= datetime.fromisoformat(first.time) and first.time.endswith("+00:00")
    assert first.counts == {
        "read": 8,
        "accepted": 5,
        "fixed": report.fixed,
        "refused": 3,
        "pending": 0,
        "already": 0,
    }
    assert second.counts["already"] == 5 == again.already
    stored = ws.query("SELECT lot, count(*) AS n FROM contacts GROUP BY lot")
    assert stored.to_dict("list") == {"lot": [1], "n": [5]}
    if backend == "file":  # the log keeps the base name only (above): the file says so too
        assert b"Camille Martin" not in ws.path.read_bytes()

    table = log.batches_table(log.list_batches(ws))
    assert list(table.columns) == ["Lot", "Type", "Auteur", "Date", "Fichier", "Comptes", "État"]
    assert table["Comptes"].iloc[1] == "8 lue(s), 5 acceptée(s) dont 5 déjà présente(s), " + (
        "3 refusée(s)" if not report.fixed else f"{report.fixed} corrigée(s), 3 refusée(s)"
    )
    assert table["État"].tolist() == ["actif", "actif"]
    assert "lot n° 1" in report.to_text()


def test_a_failed_import_leaves_no_batch(ws: Workspace, tmp_path: Path, settings: Settings) -> None:
    bad = tmp_path / "c.csv"
    bad.write_text("nom;prenom\nDupont;Jean\n", encoding="utf-8")
    with pytest.raises(InputFileError):
        import_file(ws, "contacts", bad, settings=settings, today=TODAY)
    assert log.list_batches(ws) == []


def test_a_purge_is_logged_with_its_protected_count_and_cutoff_month(
    ws: Workspace, tmp_path: Path, settings: Settings
) -> None:
    """The log says the published count the purge printed, never the raw number."""
    import_file(ws, "contacts", write(tmp_path / "c.csv", ROWS), settings=settings, today=TODAY)
    label = count_before(ws, date(2026, 2, 20), settings=settings)
    assert label == f"< {settings.k}"  # 5 contacts of few people: never a number
    assert (
        raw.purge(ws, older_than_months=1, today=date(2026, 3, 20), author="dpo", published=label)
        == 5
    )
    assert raw.purge(ws, older_than_months=24, today=date(2026, 3, 20)) == 0
    first, second = log.list_batches(ws)[1:]
    assert (first.kind, first.author, first.counts, first.state) == (
        "purge",
        "dpo",
        {"deleted": f"< {settings.k}", "cutoff": "2026-02"},
        "done",
    )
    assert second.counts == {"deleted": "non publié", "cutoff": "2024-03"}
    assert "purge ne s'annule pas" in log.why_not_undoable(ws, first)
    assert log.counts_text(first) == (
        f"< {settings.k} contact(s) effacé(s) (valeur protégée), antérieurs à 2026-02"
    )


# ------------------------------------------------------------------ undoing contacts
@pytest.mark.file_only
def test_undoing_a_contact_batch_leaves_no_trace_of_its_rows(
    ws: Workspace, tmp_path: Path, settings: Settings
) -> None:
    first = import_file(
        ws, "contacts", write(tmp_path / "a.csv", people("A", 40)), settings=settings, today=TODAY
    )
    import_file(
        ws, "contacts", write(tmp_path / "b.csv", people("B", 30)), settings=settings, today=TODAY
    )
    prints, pseudonyms = stored_print(ws, "lot = 1")
    kept, _ = stored_print(ws, "lot = 2")
    assert len(prints) == 40 and len(pseudonyms) == 40
    assert all(f in ws.path.read_bytes() for f in prints)  # the scan finds what is there

    entry = undo_batch(ws, first.batch or 0, author="camille")

    after = ws.path.read_bytes()
    assert [f for f in prints if f in after] == []
    assert [p for p in pseudonyms if p in after] == []
    assert all(f in after for f in kept)
    assert ws.layers()["contacts"].count == 30
    assert not ws.path.with_name(ws.path.name + "-journal").exists()
    assert_counts_kept(ws)
    undone = log.get_batch(ws, 1)
    assert (undone.state, undone.undone_by) == ("undone", entry.id)
    assert (entry.kind, entry.target, entry.counts, entry.author) == (
        "undo",
        1,
        {"deleted": 40},
        "camille",
    )
    assert log.state_text(undone).startswith("annulé le ")
    with pytest.raises(ValidationError, match="lot 1 : déjà annulé"):
        undo_batch(ws, 1)
    with pytest.raises(ValidationError, match="lot 99 inconnu"):
        undo_batch(ws, 99)
    # imported again, the rows come back (they are new again)
    again = import_file(
        ws, "contacts", write(tmp_path / "a.csv", people("A", 40)), settings=settings, today=TODAY
    )
    assert again.already == 0 and ws.layers()["contacts"].count == 70


@pytest.mark.file_only
def test_a_failed_undo_leaves_the_workspace_as_it_was(
    ws: Workspace, tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_file(
        ws, "contacts", write(tmp_path / "a.csv", people("A", 20)), settings=settings, today=TODAY
    )
    prints, _ = stored_print(ws, "1 = 1")

    def broken(*args: object, **kwargs: object) -> int:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(log, "log_undo", broken)
    with pytest.raises(WorkspaceError, match="disque plein"):
        undo_batch(ws, 1)
    assert ws.layers()["contacts"].count == 20 == len(ws.read_table("contacts"))
    assert all(f in ws.path.read_bytes() for f in prints)
    assert_counts_kept(ws)
    assert [(b.id, b.state) for b in log.list_batches(ws)] == [(1, "active")]


def test_rows_stored_before_batches_stay_readable_and_purgeable(
    ws: Workspace, tmp_path: Path, settings: Settings
) -> None:
    """A workspace of an earlier version: no ``lot`` column, fingerprints of the file's fields."""
    source = write(tmp_path / "c.csv", ROWS)

    class Earlier:  # what the earlier version stored: its fingerprints, no batch
        occurrences, legacy = contacts.Occurrences(), True

        def __init__(self) -> None:
            self.rows: list[pd.DataFrame] = []

        def write(self, rows: pd.DataFrame) -> None:
            self.rows.append(rows)

        def discard(self) -> None:
            self.rows.clear()

    sink = Earlier()
    secret = load_secret(settings)
    contacts.read_contacts(source, communes=ws.read_layer("communes"), secret=secret, sink=sink)
    earlier = pd.concat(sink.rows, ignore_index=True)
    earlier["fingerprint"] = earlier.pop(contacts.LEGACY_FINGERPRINT)
    ws.write_table(
        "contacts",
        earlier[[c for c in raw.STORED_COLUMNS if c != "cle"]].astype(  # a file before keys
            {"cell": object, "commune": object}
        ),
        source="c.csv",
        vintage="",
    )
    assert raw.has_rows_before_batches(ws)

    again = import_file(ws, "contacts", source, settings=settings, today=TODAY)

    assert again.already == again.accepted == 5  # the file imported before is not doubled
    assert ws.query("SELECT lot FROM contacts")["lot"].isna().all()
    other = import_file(
        ws, "contacts", write(tmp_path / "d.csv", people("D", 3)), settings=settings, today=TODAY
    )
    assert ws.query("SELECT count(*) AS n FROM contacts WHERE lot = ?", (other.batch,))["n"][0] == 3
    assert raw.purge(ws, older_than_months=1, today=date(2026, 3, 20)) == 8
    assert_counts_kept(ws)


# ------------------------------------------------------------------ undoing layers
@pytest.mark.file_only
def test_undoing_a_layer_import_puts_the_previous_layer_back(
    tmp_path: Path, sources, settings: Settings
) -> None:
    ws = Workspace.create(tmp_path / "w.gpkg", name="Essai")
    import_file(ws, "communes", sources.communes, settings=settings, vintage="2025")
    before = ws.read_layer("communes")
    meta = ws.layers()["communes"]
    data = json.loads(sources.communes.read_text(encoding="utf-8"))
    data["features"] = data["features"][:3]
    data["features"][0]["properties"]["nom"] = "Nouveau nom"
    smaller = tmp_path / "trois.geojson"
    smaller.write_text(json.dumps(data), encoding="utf-8")
    second = import_file(ws, "communes", smaller, settings=settings, vintage="2026")
    assert ws.layers()["communes"].count == 3
    assert "Nouveau nom" in set(ws.read_layer("communes")["nom"])

    entry = undo_batch(ws, second.batch or 0)

    after = ws.read_layer("communes")
    pd.testing.assert_frame_equal(after.drop(columns="geometry"), before.drop(columns="geometry"))
    assert after.geometry.geom_equals_exact(before.geometry, tolerance=0).all()
    assert ws.layers()["communes"] == meta  # source, vintage, count, update time
    assert ws.get_property("communes_vintage") == "2025"
    info = pyogrio.read_info(ws.path, layer="communes")
    assert info["features"] == len(before)
    assert info["fields"].tolist() == [c for c in before.columns if c != "geometry"]
    x0, y0, x1, y1 = before.total_bounds
    box = (x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)
    expected = before[before.intersects(shapely.box(*box))]
    assert len(pyogrio.read_dataframe(ws.path, layer="communes", bbox=box)) == len(expected) > 0
    assert entry.counts == {"restored": ["communes"]}
    assert [b.state for b in log.list_batches(ws)] == ["active", "undone", "done"]
    # the earlier import's copy was replaced by the second's: it cannot be undone any more
    with pytest.raises(ValidationError, match=r"importée à nouveau depuis \(lot 2\)"):
        undo_batch(ws, 1)
    copies = ws.query("SELECT name FROM sqlite_master WHERE name LIKE 'territory_before%'")
    assert copies.empty


@pytest.mark.file_only
def test_undoing_the_first_import_of_a_layer_removes_it(
    tmp_path: Path, sources, settings: Settings
) -> None:
    ws = Workspace.create(tmp_path / "w.gpkg", name="Essai")
    import_file(ws, "communes", sources.communes, settings=settings)
    qpv = import_file(ws, "qpv", sources.qpv, settings=settings)
    assert ws.has("qpv")
    undo_batch(ws, qpv.batch or 0)
    assert not ws.has("qpv")
    assert "qpv" not in set(pyogrio.list_layers(ws.path)[:, 0])
    assert ws.layers()["communes"].count > 0
    again = import_file(ws, "qpv", sources.qpv, settings=settings)  # and it imports again
    assert again.accepted == ws.layers()["qpv"].count > 0


def test_only_the_tables_an_import_wrote_are_its_to_put_back(
    tmp_path: Path, sources, settings: Settings
) -> None:
    """The density grid rewrites the communes only when they are there."""
    ws = Workspace.create(tmp_path / "w.gpkg", name="Essai")
    density = import_file(ws, "density", sources.density, settings=settings)
    assert log.get_batch(ws, density.batch or 0).tables() == ["density_classes"]
    import_file(ws, "communes", sources.communes, settings=settings)
    undo_batch(ws, density.batch or 0)  # the communes imported since are not in the way
    assert not ws.has("density_classes") and ws.has("communes")


def test_a_layer_changed_since_its_import_is_not_undone(
    tmp_path: Path, sources, settings: Settings
) -> None:
    ws = Workspace.create(tmp_path / "w.gpkg", name="Essai")
    import_file(ws, "communes", sources.communes, settings=settings)
    partners = import_file(ws, "partners", sources.partners, settings=settings, geocode=False)
    layer = ws.read_layer("partners")
    ws.write_layer("partners", layer.head(2), source="à la main", vintage="")
    with pytest.raises(ValidationError, match="« partners » a été modifiée depuis cet import"):
        undo_batch(ws, partners.batch or 0)
    assert ws.layers()["partners"].count == 2


@pytest.mark.file_only
def test_a_failed_layer_undo_or_import_leaves_the_layer_as_it_was(
    tmp_path: Path, sources, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace.create(tmp_path / "w.gpkg", name="Essai")
    import_file(ws, "communes", sources.communes, settings=settings)
    second = import_file(ws, "communes", sources.communes, settings=settings, vintage="2026")
    current = ws.read_layer("communes")

    def broken(*args: object, **kwargs: object) -> int:
        raise sqlite3.OperationalError("database or disk is full")

    with monkeypatch.context() as patched:
        patched.setattr(log, "log_undo", broken)
        with pytest.raises(WorkspaceError, match="disque plein"):
            undo_batch(ws, second.batch or 0)
    pd.testing.assert_frame_equal(ws.read_layer("communes"), current)
    assert ws.layers()["communes"].vintage == "2026"
    assert log.get_batch(ws, 2).state == "active"

    # an import that fails after writing its layer puts the layer back
    write_layer = Workspace.write_layer

    def fails_after_writing(self: Workspace, *args: object, **kwargs: object) -> None:
        write_layer(self, *args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("panne après l'écriture")

    monkeypatch.setattr(Workspace, "write_layer", fails_after_writing)
    data = json.loads(sources.communes.read_text(encoding="utf-8"))
    data["features"] = data["features"][:2]
    two = tmp_path / "deux.geojson"
    two.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(RuntimeError, match="panne"):
        import_file(ws, "communes", two, settings=settings)
    monkeypatch.undo()
    pd.testing.assert_frame_equal(ws.read_layer("communes"), current)
    assert [b.id for b in log.list_batches(ws)] == [1, 2]
    undo_batch(ws, 2)  # still the latest import of the communes
    assert ws.layers()["communes"].vintage == ""


@pytest.mark.real_data
def test_a_cog_table_that_moved_contacts_cannot_be_undone(
    tmp_path: Path, settings: Settings
) -> None:
    """Contacts of a merged commune move to its current code: that is not put back."""
    communes = shared_file("communes-14-calvados.geojson")
    table = shared_file("communes_cog2026_pop_epci.csv")
    old = gpd.read_file(communes).set_index("code").loc["14505"].geometry.representative_point()
    source = tmp_path / "contacts.csv"
    source.write_text(
        "date_contact;longitude;latitude;statut;tranche_age;sexe\n"
        f"03/02/2026 14:35;{old.x:.6f};{old.y:.6f};premier contact;18-21;F\n",
        encoding="utf-8",
    )
    ws = Workspace.create(tmp_path / "w.gpkg", name="Calvados")
    for kind, path in (("communes", communes), ("contacts", source)):
        import_file(ws, kind, path, settings=settings, today=TODAY)
    cog = import_file(ws, "communes-table", table, settings=settings)
    batch = log.get_batch(ws, cog.batch or 0)
    assert batch.blocked == "cet import a aussi modifié les contacts : il ne peut pas être annulé"
    with pytest.raises(ValidationError, match="aussi modifié les contacts"):
        undo_batch(ws, batch.id)
    assert ws.read_table("contacts")["commune"].tolist() == ["14150"]
