"""The server engine: the store's semantics on PostgreSQL + PostGIS (issue #24).

Each test gets a fresh database (``pg_database``); without a server they skip, saying so.
"""

from __future__ import annotations

import threading
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from territory import WorkspaceError, _pgstore
from territory._pgimport import checksum
from territory.store import GROUP_COUNTS, SCHEMA_VERSION, ServerWorkspace, Workspace


@pytest.fixture
def server_ws(pg_database: str) -> ServerWorkspace:
    ws = Workspace.create(f"{pg_database}#Essai", name="Essai")
    assert isinstance(ws, ServerWorkspace)
    return ws


def contacts(cells: str, communes: str) -> pd.DataFrame:
    return pd.DataFrame({"cell": list(cells), "commune": list(communes)})


EMPTY = contacts("a", "1").iloc[:0]


def scanned(ws: Workspace) -> pd.DataFrame:
    """The counts per group as a scan of the table gives them."""
    return ws.query(
        "SELECT cell, commune, count(*) AS n FROM contacts GROUP BY cell, commune "
        "ORDER BY cell, commune"
    )


def checksums(ws: Workspace) -> dict[str, tuple[int, str]]:
    """Rows and a digest of every table of the workspace (its bookkeeping included)."""
    return {
        t: (len(frame := ws.query(f'SELECT * FROM "{t}"')), checksum(frame))
        for t in ws.table_names()
    }


def test_a_server_workspace_is_a_postgis_schema(server_ws: ServerWorkspace) -> None:
    points = gpd.GeoDataFrame(
        {"code": ["a", "b"], "n": [1, 2]},
        geometry=[shapely.Point(2.0, 46.0), shapely.box(3, 47, 4, 48)],
        crs=2154,
    )
    server_ws.write_layer("zones", points, source="z.csv", vintage="2026")
    info = server_ws.layers()["zones"]
    assert (info.count, info.spatial, info.crs, info.source_crs) == (
        2,
        True,
        "EPSG:4326",
        "EPSG:2154",
    )
    read = server_ws.read_layer("zones")
    assert read.crs == "EPSG:4326" and read.columns.tolist() == ["code", "n", "geometry"]
    assert read.geometry.geom_equals_exact(points.to_crs(4326).geometry, 1e-9).all()
    found = server_ws.query(
        "SELECT f_table_schema, srid, type FROM geometry_columns WHERE f_table_name = 'zones'"
    )
    assert found.values.tolist() == [["essai", 4326, "GEOMETRY"]]
    index = server_ws.query("SELECT indexdef FROM pg_indexes WHERE tablename = 'zones'")
    assert index["indexdef"].str.contains("USING gist").any()
    assert server_ws.name == "Essai" and server_ws.version == 1
    with pytest.raises(
        WorkspaceError, match=r"« absente » n'existe pas dans « essai » \(serveur\)"
    ):
        server_ws.read_table("absente")


def test_counts_per_group_follow_every_write(server_ws: ServerWorkspace) -> None:
    server_ws.write_table("contacts", contacts("aab", "11x"), source="s", vintage="")
    with server_ws.appending("contacts", schema=EMPTY, source="s") as table:
        for i in range(12):
            table.append(contacts("cd", f"{i % 3}{i % 2}"))
    pd.testing.assert_frame_equal(server_ws.group_counts("contacts"), scanned(server_ws))
    server_ws.delete_rows("contacts", "cell = ?", ("c",))
    server_ws.update_rows("contacts", "commune = ?", "cell = ?", ("9", "d"))
    server_ws.write_table("contacts", contacts("zz", "12"), source="s", vintage="", append=True)
    counts = server_ws.group_counts("contacts")
    pd.testing.assert_frame_equal(counts, scanned(server_ws))
    assert counts["n"].sum() == server_ws.layers()["contacts"].count == 3 + 12 + 2
    with pytest.raises(WorkspaceError, match="doit contenir du texte"):
        server_ws.write_table("contacts", pd.DataFrame({"cell": [1], "commune": ["1"]}),
                              source="s", vintage="", append=True)  # fmt: skip


def test_a_failed_import_leaves_every_table_as_it_was(server_ws: ServerWorkspace) -> None:
    """Rows, counts, metadata, properties: the same digests after an import that fails."""
    server_ws.write_table("contacts", contacts("aab", "112"), source="s", vintage="2025")
    server_ws.write_layer(
        "communes",
        gpd.GeoDataFrame({"code": ["1"]}, geometry=[shapely.Point(2, 46)], crs=4326),
        source="c",
        vintage="2025",
    )
    with server_ws.transaction(what="journal") as con:
        con.execute("CREATE TABLE journal (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT)")
        assert con.execute("INSERT INTO journal (k) VALUES (?)", ("x",)).lastrowid == 1
    before, version = checksums(server_ws), server_ws.version
    with (
        pytest.raises(WorkspaceError, match="doit contenir du texte"),
        server_ws.appending("contacts", schema=EMPTY, source="t") as table,
    ):
        for i in range(5):
            table.append(contacts("cd", f"{i}{i}"))
        table.append(pd.DataFrame({"cell": ["e"], "commune": [3]}))  # refused mid-import
    with pytest.raises(RuntimeError), server_ws.appending("nouvelle", schema=EMPTY,
                                                          source="t") as table:  # fmt: skip
        table.append(contacts("ab", "12"))
        raise RuntimeError("interrompu")
    with pytest.raises(WorkspaceError, match="valeur refusée"):  # the server refuses a value
        server_ws.append_rows({"journal": pd.DataFrame({"id": ["x"]})}, source="t", vintage="")
    assert checksums(server_ws) == before
    assert server_ws.version == version and not server_ws.has("nouvelle")


def test_two_connections_appending_at_once_lose_nothing(pg_database: str) -> None:
    Workspace.create(f"{pg_database}#Essai", name="Essai").write_table(
        "contacts", contacts("a", "1"), source="s", vintage=""
    )
    errors: list[BaseException] = []

    def append(seed: int) -> None:
        ws = Workspace.open(f"{pg_database}#essai")  # its own connections
        try:
            for i in range(10):
                with ws.appending("contacts", schema=EMPTY, source="s") as table:
                    table.append(contacts("abcdef"[seed::2] * 50, f"{i % 4}" * 150))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(s,)) for s in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ws = Workspace.open(f"{pg_database}#essai")
    assert ws.layers()["contacts"].count == 1 + 2 * 10 * 150
    pd.testing.assert_frame_equal(ws.group_counts("contacts"), scanned(ws))
    assert ws.version == 1 + 2 * 10  # each import bumped it once


def test_a_table_copy_is_put_back(server_ws: ServerWorkspace) -> None:
    server_ws.write_table("contacts", contacts("aab", "112"), source="s", vintage="1")
    before, meta = server_ws.read_table("contacts"), server_ws.layers()["contacts"]
    saved = server_ws.copy_table("contacts", "copie")
    assert saved is not None
    server_ws.write_table("contacts", contacts("zz", "99").assign(extra=1.5), source="t",
                          vintage="2")  # fmt: skip
    server_ws.restore_tables([saved], absent=["jamais"], properties={"name": "Autre"})
    pd.testing.assert_frame_equal(server_ws.read_table("contacts"), before)
    assert server_ws.layers()["contacts"] == meta and server_ws.name == "Autre"
    pd.testing.assert_frame_equal(server_ws.group_counts("contacts"), scanned(server_ws))
    server_ws.drop_copies(["copie"])
    assert "copie" not in server_ws.table_names()
    assert set(GROUP_COUNTS) == {"contacts"}


def test_every_transaction_goes_through_the_hooks(
    server_ws: ServerWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    def account(con: _pgstore.Connection, ws: ServerWorkspace) -> None:
        seen.append(ws.schema)
        con.execute("SELECT set_config('territory.account', ?, true)", ("chef-94",))

    monkeypatch.setattr(_pgstore, "TRANSACTION_HOOKS", [account])
    found = server_ws.query("SELECT current_setting('territory.account', true) AS a")
    assert found["a"].tolist() == ["chef-94"] and seen == ["essai"]
    server_ws.write_table("t", pd.DataFrame({"a": [1]}), source="s", vintage="")
    assert seen == ["essai", "essai"]  # write_table: one transaction
    monkeypatch.setattr(_pgstore, "TRANSACTION_HOOKS", [])
    assert server_ws.query("SELECT current_setting('territory.account', true) AS a")["a"][0] in (
        None,
        "",
    )  # SET LOCAL: gone with its transaction


def test_the_database_url_setting_names_workspaces_on_the_server(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERRITORY_DATABASE_URL", pg_database)
    ws = Workspace.create("workspaces/Val-de-Marne.gpkg", name="Val-de-Marne")
    assert isinstance(ws, ServerWorkspace) and ws.schema == "val_de_marne"
    assert Workspace.open("val-de-marne").name == "Val-de-Marne"
    assert "territory_test" not in ws.label
    with pytest.raises(WorkspaceError, match="introuvable sur le serveur : « autre »"):
        Workspace.open("autre")
    with pytest.raises(WorkspaceError, match="existe déjà"):
        Workspace.create("val_de_marne", name="x")


def _essai(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The address of a new workspace « essai » on ``backend``."""
    if backend == "file":
        return str(tmp_path / "w.gpkg")
    return f"{request.getfixturevalue('pg_database')}#essai"


@pytest.mark.parametrize("backend", ["file", "server"])
def test_a_workspace_of_an_older_schema_is_migrated_when_opened(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    target = _essai(backend, tmp_path, request)
    ws = Workspace.create(target, name="Essai")
    assert ws.get_property("schema_version") == str(SCHEMA_VERSION) == "3"
    with ws.transaction(what="retour au schéma 1") as con:  # as version 1 made it
        con.execute("DROP TABLE territory_migrations")
        con.execute("UPDATE territory_workspace SET value = '1' WHERE key = 'schema_version'")
    assert "territory_migrations" not in ws.table_names()
    opened = Workspace.open(target)
    assert opened.get_property("schema_version") == "3"
    log = opened.query("SELECT version, description FROM territory_migrations ORDER BY version")
    assert log.values.tolist() == [
        [2, "journal des migrations (territory_migrations)"],
        [3, "territoire des équipes et des plans (teams, plans, plan_visits)"],
    ]
    opened.set_property("schema_version", "99")
    with pytest.raises(WorkspaceError, match="version plus récente"):
        Workspace.open(target)


@pytest.mark.parametrize("backend", ["file", "server"])
def test_step_3_gives_teams_and_plans_the_territory_of_their_teams(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Rows stored before step 3: a team's sector, a week's teams' one territory, else ''."""
    target = _essai(backend, tmp_path, request)
    ws = Workspace.create(target, name="Essai")
    text = {"source": "test", "vintage": ""}
    ws.write_table(
        "territories",
        pd.DataFrame({"name": ["Nord", "Sud"], "kind": ["communes"] * 2, "codes": ["1", "2"]}),
        **text,
    )
    ws.write_table(
        "teams",
        pd.DataFrame({"nom": ["N", "S", "X"], "secteur": ["Nord", "Sud", "59350"]}),
        **text,
    )
    weeks = ["2026-W01", "2026-W01", "2026-W02", "2026-W02", "2026-W03", "2026-W04"]
    versions = [1, 2, 1, 1, 1, 1]
    ws.write_table(
        "plan_visits",
        pd.DataFrame({"week": weeks, "version": versions, "team": ["N", "N", "N", "S", "X", "?"]}),
        **text,
    )
    ws.write_table(
        "plans",
        pd.DataFrame({"week": [*weeks[:3], *weeks[4:], "2026-W05"], "version": [1, 2, 1, 1, 1, 1]}),
        **text,
    )
    with ws.transaction(what="retour au schéma 2") as con:  # as version 2 left them
        con.execute("DELETE FROM territory_migrations WHERE version = 3")
        con.execute("UPDATE territory_workspace SET value = '2' WHERE key = 'schema_version'")
    opened = Workspace.open(target)
    teams = opened.read_table("teams").sort_values("nom")
    assert teams["territory"].tolist() == ["Nord", "Sud", ""]  # « 59350 »: no territory
    plans = opened.read_table("plans").sort_values("week")
    # W01: Nord's team only; W02: two territories; W03, W04: none; W05: no visit
    assert plans["territory"].tolist() == ["Nord", "Nord", "", "", "", ""]
    visits = opened.read_table("plan_visits").sort_values(["week", "version", "team"])
    assert visits["territory"].tolist() == ["Nord", "Nord", "", "", "", ""]
    assert set(opened.columns("plans")) >= {"week", "version", "territory"}


@pytest.mark.parametrize("line_break", [False, True])
def test_copy_keeps_every_value_as_it_is(server_ws: ServerWorkspace, line_break: bool) -> None:
    """Tabs, backslashes, a literal backslash-N, quotes, empty texts and missing values."""
    texts = ["x\\y", "t\tab", "\\N", 'q"uote', "", None, "é ü", "a\nb" if line_break else "ab"]
    frame = pd.DataFrame(
        {
            "texte": pd.Series(texts, dtype=object),
            "reel": [1.5, float("nan"), 3.0, -0.1, 1e300, 2.0, 0.0, 7.25],
            "entier": pd.array([1, None, 3, 4, 5, 6, 7, 8], dtype="Int64"),
            "oui": [True, False, True, False, True, False, True, False],
        }
    )
    server_ws.write_table("t", frame, source="s", vintage="")
    with server_ws.appending("t", schema=frame.iloc[:0], source="s") as table:
        table.append(frame)
    back = server_ws.query("SELECT texte, reel, entier, oui FROM t ORDER BY fid")
    assert [None if pd.isna(v) else v for v in back["texte"]] == texts * 2
    assert back["reel"].isna().tolist() == frame["reel"].isna().tolist() * 2
    assert back["reel"].dropna().tolist() == frame["reel"].dropna().tolist() * 2
    assert back["entier"].isna().sum() == 2 and back["oui"].tolist() == frame["oui"].tolist() * 2
    arrow, fids = server_ws.read_arrow(
        "t", columns=["texte", "entier", "oui"], where="reel IS NOT NULL"
    )
    assert arrow.column("texte").to_pylist() == [
        t for t, r in zip(texts * 2, frame["reel"].tolist() * 2, strict=True) if r == r
    ]
    assert arrow.column("entier").null_count == 0 and fids.tolist() == [
        1,
        3,
        4,
        5,
        6,
        7,
        8,
        9,
        11,
        12,
        13,
        14,
        15,
        16,
    ]


def test_the_appender_adds_its_counts_once_and_exactly(server_ws: ServerWorkspace) -> None:
    """Missing and empty keys, a discard, the row writer's path: counts equal to a scan."""
    server_ws.write_table("contacts", contacts("ab", "12"), source="s", vintage="")
    keys = pd.DataFrame({"cell": ["a", None, "", "a", None], "commune": ["1", "1", "", None, None]})
    with server_ws.appending("contacts", schema=EMPTY, source="s") as table:
        table.append(keys)
        table.discard()  # forgotten: neither rows nor counts
        for _ in range(3):
            table.append(keys)
        mixed = keys.assign(note=pd.Series([1, "x", None, 2.5, "y"], dtype=object))
        table.append(mixed.drop(columns="note").assign(cell=pd.Categorical(keys["cell"])))
    counts = server_ws.group_counts("contacts")
    pd.testing.assert_frame_equal(counts, scanned(server_ws))
    assert counts["n"].sum() == 2 + 4 * 5
    missing = counts[counts["cell"].isna() & counts["commune"].isna()]
    assert missing["n"].tolist() == [4]
    # a count table made before the appenders counted (its trigger does not know the
    # setting) keeps counting by trigger: nothing counted twice
    with server_ws.transaction(what="ancien déclencheur") as con:
        function = "territory_counts_contacts_keep"
        body = con.execute("SELECT prosrc FROM pg_proc WHERE proname = ?", (function,)).fetchone()[
            0
        ]
        old = body.split("END IF;", 1)[1]  # the first block: the writer's own counts
        con.raw.execute(
            f'CREATE OR REPLACE FUNCTION "{server_ws.schema}"."{function}"() RETURNS trigger '
            f"LANGUAGE plpgsql AS $f$\nBEGIN{old}$f$"
        )
    with server_ws.appending("contacts", schema=EMPTY, source="s") as table:
        table.append(keys)
    pd.testing.assert_frame_equal(server_ws.group_counts("contacts"), scanned(server_ws))
    assert server_ws.group_counts("contacts")["n"].sum() == 2 + 5 * 5


def test_a_failed_read_says_why_and_leaves_the_connection_usable(
    server_ws: ServerWorkspace,
) -> None:
    server_ws.write_table("contacts", contacts("ab", "12"), source="s", vintage="")
    with pytest.raises(WorkspaceError, match="lecture de « contacts » impossible : valeur"):
        server_ws.read_arrow("contacts", columns=["cell"], where="1 / (length(cell) - 1) = 0")
    for _ in range(5):  # every pooled connection answers again
        table, fids = server_ws.read_arrow("contacts", columns=["cell", "commune"])
        assert table.column("cell").to_pylist() == ["a", "b"] and fids.tolist() == [1, 2]
