"""``territory users …`` and ``territory audit`` against a real server."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from access_server import Server

from territory import _pg
from territory.access import audit
from territory.cli import main

PASSWORD = "correct horse battery"


def run(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
    *argv: str,
    stdin: str = "",
    env: dict[str, str] | None = None,
) -> tuple[int, str, str]:
    monkeypatch.setenv("TERRITORY_DATABASE_URL", url)
    monkeypatch.delenv("TERRITORY_SESSION_TOKEN", raising=False)
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_operator_bootstraps_an_admin_who_then_manages_the_server(
    server: Server,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    url = server.owner
    code, out, _ = run(monkeypatch, capsys, url, "users", "init")
    assert code == 0 and "aucune (déjà à jour)" in out
    code, out, _ = run(
        monkeypatch,
        capsys,
        url,
        "users",
        "add",
        "Chef@Prog.fr",
        "--role",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert code == 0 and "chef@prog.fr (Administration, tous les espaces)" in out
    # once an admin exists, every change names its author
    code, _, err = run(
        monkeypatch,
        capsys,
        url,
        "users",
        "add",
        "lea@prog.fr",
        "--role",
        "chef_equipe",
        "--workspace",
        "nord",
        "--territory",
        "Sambre",
    )
    assert (
        code == 2
        and err == "territory : erreur : --as EMAIL manquant : le compte administrateur qui agit\n"
    )
    code, _, err = run(
        monkeypatch,
        capsys,
        url,
        "users",
        "add",
        "lea@prog.fr",
        "--role",
        "chef_equipe",
        "--workspace",
        "nord",
        "--territory",
        "Sambre",
        "--as",
        "lea@prog.fr",
    )
    assert code == 2 and "n'est pas un compte administrateur actif" in err
    code, out, _ = run(
        monkeypatch,
        capsys,
        url,
        "users",
        "add",
        "lea@prog.fr",
        "--role",
        "chef_equipe",
        "--workspace",
        "nord",
        "--territory",
        "Sambre",
        "--as",
        "chef@prog.fr",
    )
    assert code == 0
    code, out, _ = run(
        monkeypatch,
        capsys,
        url,
        "users",
        "grant",
        "lea@prog.fr",
        "--role",
        "geographe",
        "--workspace",
        "nord",
        "--as",
        "chef@prog.fr",
    )
    assert code == 0 and out.startswith("Droit donné")
    code, out, _ = run(monkeypatch, capsys, url, "users", "list", "--json", "--as", "chef@prog.fr")
    listed = {a["email"]: a for a in json.loads(out)}
    assert listed["lea@prog.fr"]["droits"] == [
        {"role": "chef_equipe", "espace": "nord", "territoire": "Sambre"},
        {"role": "geographe", "espace": "nord", "territoire": None},
    ]
    assert listed["chef@prog.fr"]["mot_de_passe_local"] is True
    for argv in (
        ("users", "revoke", "lea@prog.fr", "--role", "geographe", "--workspace", "nord"),
        ("users", "disable", "lea@prog.fr"),
        ("users", "unlock", "lea@prog.fr"),
    ):
        code, _, err = run(monkeypatch, capsys, url, *argv, "--as", "chef@prog.fr")
        assert code == 0, err
    code, _, err = run(
        monkeypatch,
        capsys,
        url,
        "users",
        "revoke",
        "lea@prog.fr",
        "--role",
        "comite",
        "--as",
        "chef@prog.fr",
    )
    assert code == 2 and "n'a pas ce droit" in err
    out_csv = tmp_path / "audit.csv"
    code, out, _ = run(
        monkeypatch, capsys, url, "audit", "--csv", str(out_csv), "--as", "chef@prog.fr"
    )
    assert code == 0 and out == f"8 lignes écrites dans {out_csv}\n"
    raw = out_csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == list(audit.CSV_HEADERS)
    assert {r[1] for r in rows[1:]} == {"operateur", "chef@prog.fr"}
    assert [r[2] for r in rows[1:4]] == ["Changement de compte"] * 2 + ["Changement de droits"]
    code, out, _ = run(
        monkeypatch, capsys, url, "audit", "--who", "operateur", "--as", "chef@prog.fr"
    )
    assert code == 0 and len(out.splitlines()) == 2  # the admin's account and its grant


def test_a_user_s_session_token_acts_under_row_level_security(
    server: Server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run(
        monkeypatch,
        capsys,
        server.owner,
        "users",
        "add",
        "a@prog.fr",
        "--role",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    run(
        monkeypatch,
        capsys,
        server.owner,
        "users",
        "add",
        "c@prog.fr",
        "--role",
        "comite",
        "--password-stdin",
        "--as",
        "a@prog.fr",
        stdin=PASSWORD + "\n",
    )
    tokens = {}
    for who in ("a@prog.fr", "c@prog.fr"):
        code, out, err = run(
            monkeypatch,
            capsys,
            server.app,
            "users",
            "login",
            who,
            "--password-stdin",
            stdin=PASSWORD + "\n",
            env={"TERRITORY_LOGIN_DATABASE_URL": server.login},
        )
        assert code == 0, err
        tokens[who] = out.strip()
    code, out, err = run(
        monkeypatch,
        capsys,
        server.app,
        "users",
        "grant",
        "c@prog.fr",
        "--role",
        "geographe",
        env={"TERRITORY_SESSION_TOKEN": tokens["a@prog.fr"]},
    )
    assert code == 0, err
    code, _, err = run(
        monkeypatch,
        capsys,
        server.app,
        "users",
        "grant",
        "c@prog.fr",
        "--role",
        "admin",
        env={"TERRITORY_SESSION_TOKEN": tokens["c@prog.fr"]},
    )
    assert code == 2 and err[-1] == "\n" and err.count("\n") == 1
    code, _, err = run(
        monkeypatch,
        capsys,
        server.app,
        "audit",
        env={"TERRITORY_SESSION_TOKEN": tokens["c@prog.fr"]},
    )
    assert (code, _) == (0, "Aucune ligne.\n")  # a committee member reads no audit
    code, _, err = run(
        monkeypatch, capsys, server.app, "audit", env={"TERRITORY_SESSION_TOKEN": "forgé"}
    )
    assert code == 2 and "session expirée ou inconnue" in err
    with _pg.connect(server.owner) as owner:
        (who,) = owner.execute(
            "SELECT who FROM territory_access.audit WHERE details->>'role' = 'geographe'"
        ).fetchone()
    assert who == "a@prog.fr"


def test_errors_are_one_french_line(
    pg_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(monkeypatch, capsys, pg_database, "users", "list", "--as", "a@b.fr")
    assert (code, err) == (
        2,
        "territory : erreur : schéma des comptes absent : lancez d'abord territory users init\n",
    )
    code, _, err = run(monkeypatch, capsys, "", "audit")
    assert code == 2 and "TERRITORY_DATABASE_URL non défini" in err
    code, _, err = run(monkeypatch, capsys, "postgresql://u:s3cret@127.0.0.1:9/x", "users", "init")
    assert code == 2 and "s3cret" not in err and err.count("\n") == 1


def test_territories_of_a_workspace_become_the_scope_of_the_grants(
    server: Server,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    import geopandas as gpd
    import shapely

    from territory.access.rls import territory_communes
    from territory.store import Workspace
    from territory.territories import define_territory

    # the workspace on the server, beside the access schema (schema « nord »)
    monkeypatch.setenv("TERRITORY_DATABASE_URL", server.owner)
    ws = Workspace.create(tmp_path / "nord.gpkg", name="Nord")
    communes = gpd.GeoDataFrame(
        {"code": ["59001", "59002", "59010"], "epci": ["245900001", "245900001", "245900002"]},
        geometry=[shapely.box(i, 50, i + 1, 51) for i in range(3)],
        crs="EPSG:4326",
    )
    ws.write_layer("communes", communes, source="test", vintage="2026")
    define_territory(ws, "Sambre", epci=["245900001"])
    define_territory(ws, "Avesnois", communes=["59010"])
    run(monkeypatch, capsys, server.owner, "users", "add", "a@prog.fr", "--role", "admin")
    code, out, err = run(
        monkeypatch, capsys, server.owner, "users", "territories", str(ws.path),
        "--workspace", "nord", "--as", "a@prog.fr",
    )  # fmt: skip
    assert code == 0, err
    assert out.splitlines() == ["nord / Sambre : 2 communes", "nord / Avesnois : 1 commune"]
    with _pg.connect(server.owner) as owner:
        assert territory_communes(owner, "nord", "Sambre") == {"59001", "59002"}
    empty = Workspace.create(tmp_path / "vide.gpkg", name="Vide")
    code, _, err = run(
        monkeypatch, capsys, server.owner, "users", "territories", str(empty.path),
        "--workspace", "vide", "--as", "a@prog.fr",
    )  # fmt: skip
    assert code == 2 and "ne définit aucun territoire" in err
