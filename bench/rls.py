"""Benchmark: the workspace tables read and written as the app role under RLS (issue #24).

The demo workspace moved onto a fresh database with the access schema, its contacts
repeated to about a million rows, one ``chef_equipe`` of « Agglomération de l'Ardoise »
(17 communes) and one workspace-wide ``comite``. Each figure is measured in the same run
on the owner's connection (no policy) and as the app role in each user's session:

* SQL: ``count(*)`` and ``GROUP BY commune`` on the contacts;
* the home page's view (``views.summary``), cold (the published figures' caches cleared);
* appending 20,000 contacts (``COPY``; as the app role through a temporary table, then an
  ``INSERT`` the policies check row by row).

``python -m bench.rls [COPIES]`` (from a checkout, ``PYTHONPATH=src:.``); the server is
``TERRITORY_BENCH_DATABASE_URL`` (else ``TERRITORY_TEST_DATABASE_URL``), a role allowed to
create databases and roles.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["rls_benchmark"]

TERRITORY = "Agglomération de l'Ardoise"
_PASSWORD = "correct horse battery"


def rls_benchmark(*, copies: int = 30, repeats: int = 3) -> dict[str, Any]:
    """Median seconds of each step, owner against app role (keys ``<step>_<who>_s``)."""
    import psycopg

    from territory import _pgstore
    from territory._pgimport import import_file
    from territory.access import accounts as acc
    from territory.access import schema
    from territory.access.identity import Role
    from territory.access.rls import set_territory_communes
    from territory.demo import build_demo_workspace
    from territory.privacy import published
    from territory.settings import Settings
    from territory.store import Workspace, session_address
    from territory.territories import list_territories, resolve
    from territory.views import summary

    admin = os.environ.get("TERRITORY_BENCH_DATABASE_URL") or os.environ.get(
        "TERRITORY_TEST_DATABASE_URL", ""
    )
    if not admin:
        return {"skipped": "aucun serveur PostgreSQL (TERRITORY_BENCH_DATABASE_URL)"}
    name = f"territory_rls_{uuid.uuid4().hex[:8]}"
    owner_url = admin.rsplit("/", 1)[0] + "/" + name
    scheme, rest = owner_url.split("://", 1)
    app_url = f"{scheme}://{schema.APP_ROLE}:bench-app@{rest.split('@', 1)[1]}"
    login_url = f"{scheme}://{schema.LOGIN_ROLE}:bench-login@{rest.split('@', 1)[1]}"
    settings = Settings(secret_path=Path(tempfile.mkdtemp()) / "secret.key")
    out: dict[str, Any] = {}
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory(prefix="territory-bench-rls-") as tmp:
            demo = Path(tmp) / "demo.gpkg"
            build_demo_workspace(demo, settings=settings)
            with psycopg.connect(owner_url, autocommit=True) as con:
                con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
                schema.init(con, app_password="bench-app", login_password="bench-login")
            assert import_file(demo, owner_url, name="demo").ok
            file = Workspace.open_file(demo)
            communes = {t.name: set(resolve(file, t.name)) for t in list_territories(file)}
        with psycopg.connect(owner_url, autocommit=True) as con:
            columns = "cell, commune, date, hour, statut, tranche_age, sexe, partenaire, "
            columns += "personne, cle, lot"
            con.execute(
                f"INSERT INTO demo.contacts ({columns}, fingerprint) SELECT {columns}, "
                f"fingerprint || '-' || g FROM demo.contacts, generate_series(1, {int(copies)}) g"
            )
            con.execute("ANALYZE demo.contacts")
            (out["contacts"],) = con.execute("SELECT count(*) FROM demo.contacts").fetchone() or (
                0,
            )
            for territory, codes in communes.items():
                set_territory_communes(con, "demo", territory, codes)
            people: tuple[tuple[str, Role, str | None], ...] = (
                ("chef@bench.fr", Role.CHEF_EQUIPE, TERRITORY),
                ("comite@bench.fr", Role.COMITE, None),
            )
            for email, role, scope in people:
                acc.add_account(con, email, by="bench", password=_PASSWORD)
                acc.grant(con, email, role, by="bench", workspace="demo", territory=scope)
        with psycopg.connect(login_url, autocommit=True) as con:
            tokens = {
                who: acc.login_local(con, f"{who}@bench.fr", _PASSWORD).token
                for who in ("chef", "comite")
            }
        out["territory_communes"] = len(communes[TERRITORY])

        def sql(url: str, token: str | None, query: str) -> Callable[[], Any]:
            def run() -> Any:
                with psycopg.connect(url) as con:
                    if token is not None:
                        acc.apply_session(con, token)
                    return con.execute(query).fetchone()

            return run

        count = "SELECT count(*) FROM demo.contacts"
        grouped = "SELECT count(*) FROM (SELECT commune, count(*) FROM demo.contacts GROUP BY 1) g"
        sessions = {"owner": (owner_url, None), **{w: (app_url, t) for w, t in tokens.items()}}
        for who, (url, token) in sessions.items():
            out[f"count_{who}_s"] = _median(sql(url, token, count), repeats)
            out[f"group_by_commune_{who}_s"] = _median(sql(url, token, grouped), repeats)
            out[f"rows_{who}"] = sql(url, token, count)()[0]
        owner = Workspace.open(f"{owner_url}#demo")
        users = {w: Workspace.open(session_address(app_url, "demo", t)) for w, t in tokens.items()}

        def cold(ws: Any, territory: str | None) -> Callable[[], Any]:
            def run() -> Any:
                for function in vars(published).values():
                    if hasattr(function, "cache_clear"):
                        function.cache_clear()
                return summary(ws, settings=Settings(), territory=territory)["contacts"]

            return run

        out["summary_owner_territory_s"] = _median(cold(owner, TERRITORY), repeats)
        out["summary_chef_s"] = _median(cold(users["chef"], None), repeats)
        out["summary_owner_whole_s"] = _median(cold(owner, None), repeats)
        out["summary_comite_s"] = _median(cold(users["comite"], None), repeats)
        out["summary_same_figure"] = cold(owner, TERRITORY)() == cold(users["chef"], None)()
        one = min(communes[TERRITORY])
        rows = owner.read_table("contacts", where=f"commune = '{one}'").head(20_000)
        rows = rows.reset_index(drop=True)
        out["append_rows"] = len(rows)
        for who, ws in (("owner", owner), ("chef", users["chef"])):
            tag = iter(range(repeats))

            def append(ws: Any = ws, who: str = who, tag: Any = tag) -> int:
                run = next(tag)
                marked = rows.assign(fingerprint=[f"{who}{run}-{i}" for i in rows.index])
                with ws.appending("contacts", schema=marked.iloc[:0], source="bench") as table:
                    table.append(marked)
                return len(marked)

            out[f"append_{who}_s"] = _median(append, repeats)
        _pgstore.close_idle()
    finally:
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return out


def _median(step: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times), 3)


if __name__ == "__main__":
    print(f"load avant : {Path('/proc/loadavg').read_text().strip()}")
    for key, value in rls_benchmark(copies=int(sys.argv[1]) if len(sys.argv) > 1 else 30).items():
        print(f"{key}\t{value}")
    print(f"load après : {Path('/proc/loadavg').read_text().strip()}")
