"""The workspace file: layers with metadata, versions, and damaged files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from territory import WorkspaceError, store
from territory.store import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create(tmp_path / "w.gpkg", name="Essai")


def test_layers_keep_their_metadata_and_are_stored_in_wgs84(ws: Workspace) -> None:
    gdf = gpd.GeoDataFrame({"code": ["00001"]}, geometry=[shapely.Point(700000, 6600000)], crs=2154)
    ws.write_layer("communes", gdf, source="a.gpkg", vintage="COG 2026", licence="Licence Ouverte")
    info = ws.layers()["communes"]
    assert (info.count, info.crs, info.source_crs, info.vintage) == (
        1,
        "EPSG:4326",
        "EPSG:2154",
        "COG 2026",
    )
    back = ws.read_layer("communes")
    assert back.crs.to_epsg() == 4326
    assert back.geometry.iloc[0].x == pytest.approx(3.0, abs=1e-6)


def test_every_write_bumps_the_version(ws: Workspace) -> None:
    v0 = ws.version
    ws.write_table("t", pd.DataFrame({"a": [1, 2]}), source="x", vintage="")
    ws.write_table("t", pd.DataFrame({"a": [3]}), source="x", vintage="", append=True)
    assert ws.version > v0 + 1
    assert ws.layers()["t"].count == 3
    assert ws.delete_rows("t", "a >= ?", (2,)) == 2
    assert ws.layers()["t"].count == 1


@pytest.mark.file_only
def test_qgis_sees_a_geopackage(ws: Workspace) -> None:
    gdf = gpd.GeoDataFrame({"code": ["00001"]}, geometry=[shapely.Point(2, 46)], crs=4326)
    ws.write_layer("partners", gdf, source="s", vintage="v")
    names = [n for n, _ in pyogrio.list_layers(ws.path)]
    assert "partners" in names
    with sqlite3.connect(ws.path) as con:
        assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47  # "GPKG"


@pytest.mark.parametrize("content", [None, b"", b"not a database at all" * 100])
def test_missing_empty_or_corrupted_workspace_gives_a_french_message(
    tmp_path: Path, content
) -> None:
    path = tmp_path / "bad.gpkg"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(WorkspaceError, match=r"espace de travail|endommagé|vide"):
        Workspace.open(path)


@pytest.mark.file_only
def test_another_sqlite_file_is_not_a_workspace(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE x (a)")
    with pytest.raises(WorkspaceError, match="n'est pas un espace de travail"):
        Workspace.open(path)


def test_unknown_layer_lists_what_exists(ws: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="n'existe pas"):
        ws.read_layer("qpv")


# ------------------------------------------------------------------ counts per group
def scanned(ws: Workspace) -> pd.DataFrame:
    return ws.query(
        "SELECT cell, commune, count(*) AS n FROM contacts "
        "GROUP BY cell, commune ORDER BY cell, commune"
    )


def assert_counts_kept(ws: Workspace) -> None:
    """The count table is in place, equals a scan of the table, and is what is read."""
    with sqlite3.connect(ws.path) as con:
        assert store._counts_in_place(con, "contacts")
    kept = ws.query("SELECT cell, commune, n FROM territory_counts_contacts ORDER BY cell, commune")
    pd.testing.assert_frame_equal(kept, scanned(ws))
    pd.testing.assert_frame_equal(ws.group_counts("contacts"), scanned(ws))


def rows(cells: str, communes: str) -> pd.DataFrame:
    return pd.DataFrame({"cell": list(cells), "commune": list(communes), "hour": range(len(cells))})


@pytest.mark.file_only
def test_group_counts_follow_every_write(ws: Workspace) -> None:
    ws.write_table("contacts", rows("aab", "112"), source="s", vintage="")
    assert_counts_kept(ws)
    schema = rows("", "")
    with ws.appending("contacts", schema=schema, source="s") as table:
        table.append(rows("abc", "111"))
        # categorical columns are counted from their codes (an unused category, a missing value)
        categorical = rows("cca", "221").astype({"cell": "category", "commune": "category"})
        categorical["cell"] = categorical["cell"].cat.add_categories(["zz"])
        categorical.loc[1, "commune"] = None
        table.append(categorical)
        table.append(pd.DataFrame({"cell": ["a", None], "commune": [None, None], "hour": [1, 2]}))
        with sqlite3.connect(ws.path, timeout=0.1) as other:  # nothing is visible yet
            assert other.execute("SELECT count(*) FROM contacts").fetchone() == (3,)
    assert ws.layers()["contacts"].count == 11
    assert_counts_kept(ws)
    assert ws.group_counts("contacts").query("cell.isna()")["n"].tolist() == [1]

    # rows read again from the start: what was appended before is forgotten
    with ws.appending("contacts", schema=schema, source="s") as table:
        table.append(rows("dd", "33"))
        table.discard()
        table.append(rows("d", "3"))
    assert_counts_kept(ws)
    assert (scanned(ws)["cell"] == "d").sum() == 1

    # a failure in the middle leaves the table and its counts as they were
    before = scanned(ws)
    with pytest.raises(RuntimeError), ws.appending("contacts", schema=schema, source="s") as table:
        table.append(rows("eee", "444"))
        raise RuntimeError("panne")
    pd.testing.assert_frame_equal(scanned(ws), before)
    assert_counts_kept(ws)

    # deletions, and other programs' writes (GDAL, QGIS, SQLite) go through the triggers
    assert ws.delete_rows("contacts", "cell = ?", ("a",)) == 5
    assert_counts_kept(ws)
    pyogrio.write_dataframe(rows("ffb", "551"), ws.path, layer="contacts", append=True)
    assert_counts_kept(ws)
    with sqlite3.connect(ws.path) as con:
        con.execute("UPDATE contacts SET commune = '9' WHERE cell = 'f'")
        con.execute("UPDATE contacts SET cell = NULL WHERE cell = 'c' AND commune = '2'")
        con.execute("INSERT INTO contacts (cell, commune, hour) VALUES ('g', NULL, 1)")
        con.execute("DELETE FROM contacts WHERE cell = 'b'")
    assert_counts_kept(ws)

    # a table replaced through GDAL gets its counts built again
    ws.write_table("contacts", rows("xyx", "777"), source="s", vintage="")
    assert_counts_kept(ws)
    assert ws.group_counts("contacts")["n"].tolist() == [2, 1]


@pytest.mark.file_only
def test_a_frame_that_cannot_be_written_rolls_everything_back(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.write_table("contacts", rows("aab", "112"), source="s", vintage="")
    before = scanned(ws)
    original, calls = store._insert, []

    def failing(con: sqlite3.Connection, table: str, df: pd.DataFrame) -> None:
        calls.append(table)
        if len(calls) == 10:  # the tenth frame: after the counts of 8 frames were summed
            raise sqlite3.OperationalError("database or disk is full")
        original(con, table, df)

    monkeypatch.setattr(store, "_insert", failing)
    with (
        pytest.raises(WorkspaceError, match="disque plein"),
        ws.appending("contacts", schema=rows("", ""), source="s") as table,
    ):
        for i in range(12):
            table.append(rows("cd", f"{i % 3}{i % 2}"))
    assert len(calls) == 10
    pd.testing.assert_frame_equal(scanned(ws), before)
    assert ws.layers()["contacts"].count == 3
    assert_counts_kept(ws)
    with sqlite3.connect(ws.path) as con:  # GDAL's feature count trigger is back
        assert con.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = ?",
            ("trigger_insert_feature_count_contacts",),
        ).fetchone() == (1,)


@pytest.mark.file_only
def test_counts_of_many_frames_are_summed_exactly(ws: Workspace) -> None:
    ws.write_table("contacts", rows("ab", "12"), source="s", vintage="")
    with ws.appending("contacts", schema=rows("", ""), source="s") as table:
        for i in range(20):  # more frames than are kept before summing
            frame = rows("abc"[: 1 + i % 3], "123"[: 1 + i % 3])
            if i % 4 == 0:
                frame = frame.astype({"cell": "category", "commune": "category"})
                frame.loc[0, "commune"] = None
            table.append(frame)
    assert_counts_kept(ws)
    assert ws.layers()["contacts"].count == 2 + sum(1 + i % 3 for i in range(20))


@pytest.mark.file_only
def test_group_counts_of_an_older_workspace(ws: Workspace) -> None:
    ws.write_table("contacts", rows("aab", "112"), source="s", vintage="")
    with sqlite3.connect(ws.path) as con:  # as made before the count table existed
        con.execute("DROP TABLE territory_counts_contacts")
        for trigger in store._count_triggers("contacts"):
            con.execute(f'DROP TRIGGER "{trigger}"')
        con.execute("INSERT INTO contacts (cell, commune, hour) VALUES ('a', '1', 1)")
    pd.testing.assert_frame_equal(ws.group_counts("contacts"), scanned(ws))  # counted
    assert ws.group_counts("contacts")["n"].tolist() == [3, 1]
    with ws.appending("contacts", schema=rows("", ""), source="s") as table:  # then kept
        table.append(rows("c", "1"))
    assert_counts_kept(ws)
    # a count table without its triggers is stale: it is not read
    with sqlite3.connect(ws.path) as con:
        con.execute(f'DROP TRIGGER "{store._count_triggers("contacts")[1]}"')
        con.execute("DELETE FROM contacts WHERE cell = 'c'")
    pd.testing.assert_frame_equal(ws.group_counts("contacts"), scanned(ws))


@pytest.mark.file_only
def test_counted_columns_must_hold_text(ws: Workspace) -> None:
    ws.write_table("contacts", rows("a", "1"), source="s", vintage="")
    # 1 and 1.0 are one value in Python, two texts in SQLite: refused, nothing written
    mixed = pd.DataFrame({"cell": ["b", "b"], "commune": [1, 1.0], "hour": [1, 2]}, dtype=object)
    with pytest.raises(WorkspaceError, match="commune"):
        ws.write_table(
            "contacts", mixed.astype({"hour": "int64"}), source="s", vintage="", append=True
        )
    assert ws.layers()["contacts"].count == 1
    assert_counts_kept(ws)


@pytest.mark.file_only
def test_a_table_copy_puts_back_rows_columns_index_and_registration(ws: Workspace) -> None:
    points = gpd.GeoDataFrame(
        {"code": ["a", "b", "c"], "n": [1, 2, 3]},
        geometry=[shapely.Point(2.0, 46.0), shapely.Point(3.0, 47.0), shapely.Point(4.0, 48.0)],
        crs=4326,
    )
    ws.write_layer("points", points, source="a.csv", vintage="2025")
    before, meta, stamp = ws.read_layer("points"), ws.layers()["points"], ws.stamps()["points"]
    saved = ws.copy_table("points", "copie_points")
    assert saved is not None and ws.copy_table("absente", "copie") is None
    other = gpd.GeoDataFrame(
        {"code": ["z"], "extra": [1.5]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326
    )
    ws.write_layer("points", other, source="b.csv", vintage="2026")  # other columns, geometry
    assert ws.stamps()["points"] > stamp

    ws.restore_tables([saved], stamps={"points": stamp})

    pd.testing.assert_frame_equal(ws.read_layer("points"), before)
    assert ws.layers()["points"] == meta and ws.stamps()["points"] == stamp
    info = pyogrio.read_info(ws.path, layer="points")
    assert (info["features"], info["geometry_type"]) == (3, "Point")
    assert info["fields"].tolist() == ["code", "n"]
    assert len(pyogrio.read_dataframe(ws.path, layer="points", bbox=(2.5, 46.5, 3.5, 47.5))) == 1
    ws.drop_copies(["copie_points"])
    assert ws.query("SELECT name FROM sqlite_master WHERE name LIKE 'copie%'").empty


def test_a_failed_restore_leaves_the_file_as_it_was(ws: Workspace) -> None:
    ws.write_table("t", pd.DataFrame({"a": [1, 2]}), source="x", vintage="")
    saved = ws.copy_table("t", "copie_t")
    assert saved is not None
    ws.write_table("t", pd.DataFrame({"a": [3]}), source="y", vintage="")
    version = ws.version

    def fails(con: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    with pytest.raises(WorkspaceError, match="disque plein"):
        ws.restore_tables([saved], properties={"name": "Autre"}, then=fails)
    assert ws.read_table("t")["a"].tolist() == [3]
    assert (ws.name, ws.version, ws.layers()["t"].source) == ("Essai", version, "y")


def test_a_column_is_added_to_an_older_table_once(ws: Workspace) -> None:
    ws.write_table("t", pd.DataFrame({"a": [1]}), source="x", vintage="")
    assert ws.add_column("t", "lot", "INTEGER") is True
    assert ws.add_column("t", "lot", "INTEGER") is False
    assert ws.read_table("t")["lot"].isna().all()


# --- the app's folder of workspaces (issue #19, item 8) -----------------------------------
def test_workspace_in_accepts_the_files_of_the_folder_only(tmp_path: Path) -> None:
    from territory._errors import WorkspaceError
    from territory.store import workspace_in, workspaces_in

    folder = tmp_path / "espaces"
    folder.mkdir()
    (folder / "a.gpkg").write_bytes(b"x")
    (folder / "notes.txt").write_text("x")
    elsewhere = tmp_path / "ailleurs.gpkg"
    elsewhere.write_bytes(b"x")
    (folder / "lien.gpkg").symlink_to(elsewhere)
    assert workspace_in(folder, folder / "a.gpkg") == (folder / "a.gpkg").resolve()
    assert workspace_in(folder, folder / "pas-encore.gpkg").name == "pas-encore.gpkg"
    refused = {
        elsewhere: "hors du dossier",
        folder / ".." / "ailleurs.gpkg": "« .. »",
        folder / ".." / "espaces" / "a.gpkg": "« .. »",
        folder / "lien.gpkg": "hors du dossier",
        folder / "notes.txt": "n'est pas un fichier .gpkg",
        Path("/etc/passwd"): "n'est pas un fichier .gpkg",
    }
    for path, message in refused.items():
        with pytest.raises(WorkspaceError, match=message) as error:
            workspace_in(folder, path)
        assert str(tmp_path) not in str(error.value)  # names the file, not the server path
    assert workspaces_in(folder) == [folder / "a.gpkg"]
    assert workspaces_in(tmp_path / "absent") == []


def test_workspaces_dir_setting(tmp_path: Path) -> None:
    from territory import Settings

    assert Settings().workspaces_dir == Path("workspaces")
    assert Settings().workspace.parent == Settings().workspaces_dir  # the README's demo
    env = {"TERRITORY_WORKSPACES_DIR": str(tmp_path)}
    assert Settings.from_env(env).workspaces_dir == tmp_path


@pytest.mark.file_only
def test_append_rows_writes_several_tables_or_none(ws: Workspace) -> None:
    """Both tables and their metadata in one transaction; a failing check writes nothing."""
    head = pd.DataFrame({"week": ["w"], "version": [1]})
    rows = pd.DataFrame({"week": ["w", "w"], "version": [1, 1], "place": ["a", "b"]})

    def last_is(expected: int):
        def check(con: sqlite3.Connection) -> None:
            found = con.execute("SELECT coalesce(max(version), 0) FROM heads").fetchone()[0]
            if found != expected:
                raise WorkspaceError(f"version {found}, pas {expected}")

        return check

    ws.append_rows({"rows": rows, "heads": head}, source="t", vintage="w", check=last_is(0))
    version = ws.version
    assert ws.layers()["rows"].count == 2 and ws.layers()["heads"].count == 1
    assert ws.read_table("rows")["place"].tolist() == ["a", "b"]
    with pytest.raises(WorkspaceError, match="version 1, pas 0"):  # another writer was first
        ws.append_rows({"rows": rows, "heads": head}, source="t", vintage="w", check=last_is(0))
    assert len(ws.read_table("rows")) == 2 and len(ws.read_table("heads")) == 1
    assert ws.version == version
    ws.append_rows({"rows": rows, "heads": head.assign(version=2)}, source="t", vintage="w")
    assert ws.layers()["rows"].count == 4 and ws.version == version + 1
    assert pyogrio.list_layers(ws.path)[:, 0].tolist().count("heads") == 1  # GeoPackage tables


@pytest.mark.file_only
def test_a_layer_reads_as_gdal_reads_it(ws: Workspace, demo_workspace: Path) -> None:
    """Read through ``sqlite3``: the columns, dtypes, nulls, CRS and geometries GDAL gives."""
    mixed = gpd.GeoDataFrame(
        {
            "i": [1, 2, 3],
            "i_null": pd.array([1, None, 3], dtype="Int64"),
            "f": [1.5, float("nan"), 2.0],
            "f32": pd.array([1, 2, 3], dtype="float32"),
            "i16": pd.array([1, 2, 3], dtype="int16"),
            "i32": pd.array([1, 2, 3], dtype="int32"),
            "s": ["a", None, "c"],
            "s_none": [None, None, None],
            "b": [True, False, True],
            "b_null": pd.array([True, None, False], dtype="boolean"),
            "d": pd.to_datetime(["2026-01-01", None, "2026-03-01"]),
            "utc": pd.to_datetime(["2026-01-01 10:00", "2026-01-02 11:30", None]).tz_localize(
                "UTC"
            ),
        },
        geometry=[shapely.Point(1, 2), None, shapely.Polygon()],
        crs=4326,
    )
    ws.write_layer("mixed", mixed, source="s", vintage="v")
    ws.write_layer("empty", mixed.iloc[:0], source="s", vintage="v")
    demo = Workspace.open(demo_workspace)
    cases = [(ws, "mixed", None), (ws, "empty", None), (ws, "mixed", ["s", "i"])]
    cases += [(demo, name, None) for name, info in demo.layers().items() if info.spatial]
    assert len(cases) > 6
    for where, name, columns in cases:
        gdal = pyogrio.read_dataframe(where.path, layer=name, columns=columns)
        ours = where.read_layer(name, columns=columns)
        pd.testing.assert_frame_equal(ours.drop(columns="geometry"), gdal.drop(columns="geometry"))
        assert (ours.crs, ours.geometry.name) == (gdal.crs, gdal.geometry.name), name
        assert ours.geometry.to_wkb().tolist() == gdal.geometry.to_wkb().tolist(), name


def test_layers_read_while_another_thread_writes_the_file(ws: Workspace) -> None:
    """Readers and a writer in one process (the app's sessions): every read whole, no error.

    GDAL carries its own SQLite, blind to the locks of Python's: read through GDAL, about
    one read in seven failed here (« attempt to write a readonly database », « not
    recognized as being in a supported file format »…) while the writer committed.
    """
    import threading
    import time

    n = 300
    squares = [shapely.box(2 + i / 1000, 46, 2.001 + i / 1000, 46.001) for i in range(n)]
    layer = gpd.GeoDataFrame({"code": [f"{i:05d}" for i in range(n)]}, geometry=squares, crs=4326)
    ws.write_layer("communes", layer, source="s", vintage="v")
    ws.write_table("log", pd.DataFrame({"a": [0]}), source="s", vintage="")
    until = time.monotonic() + 3
    errors: list[str] = []
    reads, writes = [0], [0]

    def read() -> None:
        mine = Workspace.open(ws.path)
        while time.monotonic() < until:
            try:
                got = mine.read_layer("communes")
                assert len(got) == n and got.geometry.notna().all()
                reads[0] += 1
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                errors.append(repr(exc))

    def write() -> None:
        mine = Workspace.open(ws.path)
        while time.monotonic() < until:
            mine.append_rows({"log": pd.DataFrame({"a": [1] * 50})}, source="s", vintage="")
            writes[0] += 1

    threads = [threading.Thread(target=read) for _ in range(6)]
    threads.append(threading.Thread(target=write))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, f"{len(errors)} of {reads[0] + len(errors)} reads failed: {errors[:3]}"
    assert reads[0] > 50 and writes[0] > 20, (reads, writes)
    assert ws.layers()["log"].count == 1 + 50 * writes[0]


def test_the_file_is_read_while_gdal_writes_it(ws: Workspace, backend: str) -> None:
    """GDAL writes a table while other threads read through ``sqlite3``: no read fails.

    Without the guard of :class:`territory._gpkg.Sides`, a ``sqlite3`` connection opened
    during GDAL's write took GDAL's journal for the leftover of a crash (« attempt to
    write a readonly database »; a read-write one would have rolled GDAL's write back).
    """
    import threading
    import time

    n = 300
    squares = [shapely.box(2 + i / 1000, 46, 2.001 + i / 1000, 46.001) for i in range(n)]
    layer = gpd.GeoDataFrame({"code": [f"{i:05d}" for i in range(n)]}, geometry=squares, crs=4326)
    ws.write_layer("communes", layer, source="s", vintage="v")
    table = pd.DataFrame({"a": range(20_000), "b": ["x" * 20] * 20_000})
    until = time.monotonic() + 4
    errors: list[str] = []
    reads, writes = [0], [0]

    def read() -> None:
        mine = Workspace.open(ws.path)
        while time.monotonic() < until:
            try:
                assert len(mine.read_layer("communes")) == n
                assert mine.query("SELECT count(*) AS n FROM communes")["n"].iloc[0] == n
                reads[0] += 1
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                errors.append(repr(exc))

    def write() -> None:
        mine = Workspace.open(ws.path)
        while time.monotonic() < until:
            mine.write_table("other", table, source="s", vintage="")
            writes[0] += 1

    threads = [threading.Thread(target=read) for _ in range(4)]
    threads.append(threading.Thread(target=write))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, f"{len(errors)} of {reads[0] + len(errors)} reads failed: {errors[:3]}"
    assert reads[0] > 20 and writes[0] > 3, (reads, writes)
    if backend == "file":  # on the server, ws.path is the schema's name, not a file
        with sqlite3.connect(ws.path) as con:
            assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert len(ws.read_table("other")) == len(table)
