"""``territory db init / import / list``: a workspace file moved onto the server (issue #24)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from territory import _pgimport
from territory.cli import main
from territory.store import Workspace

# the source of an import is a file: these tests make files, then use the server
pytestmark = pytest.mark.file_only


def schemas(url: str) -> list[str]:
    from territory import _pgstore

    return [s for s, _ in _pgstore.workspace_schemas(url)]


def test_the_demo_moves_onto_the_server_without_loss(
    demo_workspace: Path, pg_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "init", "--url", pg_database]) == 0
    assert "PostGIS 3." in capsys.readouterr().out
    assert main(["db", "import", str(demo_workspace), "--url", pg_database]) == 0
    out = capsys.readouterr().out
    assert "import sans perte" in out and "DIFFÉRENT" not in out
    for table in ("contacts", "communes", "territory_batches", "territory_counts_contacts"):
        assert f"  {table} : " in out
    assert main(["db", "list", "--url", pg_database]) == 0
    assert capsys.readouterr().out.startswith("demo\t")
    file, server = Workspace.open(demo_workspace), Workspace.open(f"{pg_database}#demo")
    assert server.version == file.version and server.stamps() == file.stamps()
    assert server.layers() == file.layers()
    # a second import under the same name is refused, the first one left as it is
    assert main(["db", "import", str(demo_workspace), "--url", pg_database]) == 2
    assert "existe déjà" in capsys.readouterr().err
    assert schemas(pg_database) == ["demo"]


def test_a_refused_value_leaves_nothing_on_the_server(
    tmp_path: Path, pg_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "abime.gpkg"
    ws = Workspace.create(path, name="Abîmé")
    ws.write_table("t", pd.DataFrame({"n": [1, 2]}), source="s", vintage="")
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        con.execute("UPDATE t SET n = 'deux' WHERE n = 2")  # SQLite keeps it, PostgreSQL not
    assert main(["db", "import", str(path), "--url", pg_database]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("territory : erreur : ") and "valeur refusée" in err
    assert "\n" not in err and "Traceback" not in err
    assert schemas(pg_database) == []


def test_a_table_that_differs_after_the_copy_cancels_the_import(
    tmp_path: Path,
    pg_database: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "w.gpkg"
    Workspace.create(path, name="W").write_table(
        "t", pd.DataFrame({"n": [1, 2]}), source="s", vintage=""
    )
    real = _pgimport._compare

    def one_row_lost(db: sqlite3.Connection, target: object, table: str) -> _pgimport.TableCheck:
        check = real(db, target, table)  # type: ignore[arg-type]
        if table != "t":
            return check
        return _pgimport.TableCheck(table, check.file_rows, check.server_rows - 1,
                                    check.file_sum, "0" * 64)  # fmt: skip

    monkeypatch.setattr(_pgimport, "_compare", one_row_lost)
    assert main(["db", "import", str(path), "--url", pg_database, "--name", "essai"]) == 2
    captured = capsys.readouterr()
    assert "  t : 2 ligne(s) dans le fichier, 1 sur le serveur" in captured.err
    assert "DIFFÉRENT" in captured.err and "annulé" in captured.err
    assert schemas(pg_database) == []


def test_without_a_server_the_commands_say_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TERRITORY_DATABASE_URL", raising=False)
    assert main(["db", "list"]) == 2
    assert "TERRITORY_DATABASE_URL" in capsys.readouterr().err
    assert main(["db", "list", "--url", "postgresql://u:s3cret@127.0.0.1:9/x"]) == 2
    err = capsys.readouterr().err
    assert "injoignable" in err and "s3cret" not in err


def test_a_batch_made_on_the_file_is_undone_on_the_server_as_on_the_file(
    demo_workspace: Path, tmp_path: Path, pg_database: str
) -> None:
    from territory.batches import list_batches
    from territory.ingest import undo_batch

    copy = tmp_path / "demo.gpkg"
    copy.write_bytes(demo_workspace.read_bytes())
    assert _pgimport.import_file(copy, pg_database).ok
    file, server = Workspace.open(copy), Workspace.open(f"{pg_database}#demo")
    layers = [b for b in list_batches(file) if b.id >= 2 and b.kind != "contacts"]
    for batch in reversed(layers):  # the copies the file kept, put back on the server
        for ws in (file, server):
            undo_batch(ws, batch.id)

    def described(ws: Workspace) -> dict[str, tuple[int, str, str]]:
        return {n: (i.count, i.source, i.vintage) for n, i in ws.layers().items()}

    assert described(server) == described(file)
    assert not file.has("partners") and not server.has("partners")  # its first import
    mine, theirs = file.read_layer("communes"), server.read_layer("communes")
    pd.testing.assert_frame_equal(mine.drop(columns="geometry"), theirs.drop(columns="geometry"))
    assert mine.geometry.to_wkb().tolist() == theirs.geometry.to_wkb().tolist()
    assert [(b.id, b.state) for b in list_batches(server)] == [
        (b.id, b.state) for b in list_batches(file)
    ]
