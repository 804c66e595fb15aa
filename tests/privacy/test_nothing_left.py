"""Nothing personal left behind: purged or undone rows leave the file, refused rows stay private."""

from __future__ import annotations

import os
import shutil
import stat
from datetime import date
from pathlib import Path

import pytest
from samples import ROWS, write

from territory import Settings
from territory.batches import list_batches
from territory.ingest import import_file, undo_batch
from territory.io.contacts import side_file_paths
from territory.privacy.raw import purge
from territory.store import Workspace


def _purged_by_may(ws: Workspace) -> tuple[set[bytes], set[bytes]]:
    """Fingerprints and pseudonyms (300 of each) of the people met only before May 2026."""
    gone = ws.query(
        "SELECT fingerprint, personne FROM contacts WHERE date < ? "
        "AND personne NOT IN (SELECT personne FROM contacts WHERE date >= ?)",
        ("2026-05-01", "2026-05-01"),
    )
    prints = {str(f).encode() for f in gone["fingerprint"].head(300)}
    people = {str(p).encode() for p in gone["personne"].dropna().head(300) if p}
    return prints, people


def test_purged_contacts_leave_no_trace_in_the_file(demo_workspace: Path, tmp_path: Path) -> None:
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    ws = Workspace.open(path)
    prints, people = _purged_by_may(ws)
    assert prints and people
    before = path.read_bytes()
    assert all(f in before for f in prints)  # the scan finds what is there

    deleted = purge(ws, older_than_months=6, today=date(2026, 11, 1))

    assert deleted >= len(prints)
    after = path.read_bytes()
    assert [f for f in prints if f in after] == []
    assert [p for p in people if p in after] == []
    assert not path.with_name(path.name + "-journal").exists()
    assert ws.layers()["contacts"].count == len(ws.read_table("contacts"))


def test_an_undone_import_leaves_no_trace_in_the_file(demo_workspace: Path, tmp_path: Path) -> None:
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    ws = Workspace.open(path)
    batch = next(b for b in list_batches(ws) if b.kind == "contacts")
    gone = ws.query("SELECT fingerprint, personne FROM contacts WHERE lot = ?", (batch.id,))
    prints = {str(f).encode() for f in gone["fingerprint"]}
    # the demo's two contact exports (2025, then the main one) share young people: those
    # met in another batch legitimately stay; the batch's own people must leave no trace
    kept = ws.query("SELECT DISTINCT personne FROM contacts WHERE lot <> ?", (batch.id,))
    others = int(ws.query("SELECT count(*) AS n FROM contacts WHERE lot <> ?", (batch.id,))["n"][0])
    people = {str(p).encode() for p in gone["personne"].dropna() if p} - {
        str(p).encode() for p in kept["personne"].dropna() if p
    }
    before = path.read_bytes()
    assert prints and people and all(f in before for f in prints)

    # the demo's parcours export (issue #22) holds the same people's pseudonyms: it is
    # another import, undone first (the latest), and must leave no trace either
    for later in reversed([b for b in list_batches(ws) if b.kind == "parcours"]):
        undo_batch(ws, later.id)
    undo_batch(ws, batch.id)

    after = path.read_bytes()
    assert [f for f in prints if f in after] == []
    assert [p for p in people if p in after] == []
    assert not path.with_name(path.name + "-journal").exists()
    assert ws.layers()["contacts"].count == len(ws.read_table("contacts")) == others


def test_refused_rows_are_written_for_their_owner_only(
    demo_workspace: Path, tmp_path: Path, settings: Settings
) -> None:
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace, path)
    export = write(tmp_path / "equipe.csv", [*ROWS, "pas une date;2,75;46,45;suivi;18-21;F;;P9;"])
    refused = side_file_paths(export).refused
    assert refused is not None
    refused.write_text("ancien fichier lisible par tous\n")
    refused.chmod(0o644)  # left by an earlier version

    report = import_file(Workspace.open(path), "contacts", export, settings=settings)

    assert report.refused >= 1
    assert stat.S_IMODE(refused.stat().st_mode) == 0o600
    assert "pas une date" in refused.read_text(encoding="utf-8-sig")
    assert any("lisible par vous seul" in note for note in report.notes)


def _database_files(url: str) -> Path | None:
    """The folder of ``url``'s database on this machine, when the tests may read it."""
    from territory import _pg

    with _pg.connect(url, autocommit=True) as con:
        con.execute("CHECKPOINT")  # the server's buffers written to the table files
        (folder,) = con.execute("SHOW data_directory").fetchone()
        (oid,) = con.execute(
            "SELECT oid FROM pg_database WHERE datname = current_database()"
        ).fetchone()
    path = Path(folder) / "base" / str(oid)
    return path if path.is_dir() and os.access(path, os.R_OK) else None


def _found(folder: Path, needles: set[bytes]) -> set[bytes]:
    data = [f.read_bytes() for f in folder.iterdir() if f.is_file()]
    return {n for n in needles if any(n in d for d in data)}


def test_purged_contacts_leave_no_trace_in_the_server_s_table_files(
    demo_workspace: Path, pg_database: str
) -> None:
    """On the server too: after the purge, the database's table files no longer hold them.

    (The write-ahead log keeps them until its segments are recycled, and so do backups made
    before: ``ServerWorkspace.compact`` and deploy/README.md say so.)
    """
    from territory import _pg
    from territory._pgimport import import_file as move_to_server

    assert move_to_server(demo_workspace, pg_database, name="demo").ok
    with _pg.connect(pg_database, autocommit=True) as con:
        con.execute("ANALYZE")  # as the server's autovacuum does after a load
    ws = Workspace.open(f"{pg_database}#demo")
    prints, people = _purged_by_may(ws)
    folder = _database_files(pg_database)
    if folder is None:
        pytest.skip("les fichiers du serveur PostgreSQL ne sont pas lisibles ici (pas root)")
    assert prints and people and _found(folder, prints) == prints  # the scan finds them

    assert purge(ws, older_than_months=6, today=date(2026, 11, 1)) >= len(prints)

    assert _database_files(pg_database) == folder
    assert _found(folder, prints | people) == set()
    assert ws.layers()["contacts"].count == len(ws.read_table("contacts"))
