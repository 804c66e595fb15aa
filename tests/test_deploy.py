"""The deployment recipe of deploy/, tested where this machine can.

* ``backup.sh`` / ``restore.sh`` against the test PostgreSQL + PostGIS: a database with
  data (geometries included) is dumped, dropped, restored; counts and checksums compared;
  the retention, a corrupted dump and a failed restore that leaves the server as it was.
* ``postgres/setup.sh``: the roles and the database it makes (unique names, removed after).
* ``nginx -t`` on the site configuration (skipped without Debian's nginx).
* ``systemd-analyze verify`` on the units (skipped without systemd-analyze).
* ``shellcheck`` on the scripts (skipped without it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from territory import Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"


def libpq_env(url: str) -> dict[str, str]:
    """The libpq environment for ``url`` (the scripts never take a password argument)."""
    parts = urlsplit(url)
    return {
        **os.environ,
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGUSER": parts.username or "",
        "PGPASSWORD": parts.password or "",
        "PGDATABASE": parts.path.lstrip("/"),
    }


def run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)


def fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Rows and an MD5 of every row, in order, for each table of the test schema."""
    import psycopg

    with psycopg.connect(url) as con:
        tables = {
            "programme.contacts": "id",
            "programme.places": "id",
            "programme.plans": "week, team",
        }
        out = {}
        for table, order in tables.items():
            count, digest = con.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY {order}), '')) "
                f"FROM {table} t"
            ).fetchone()
            out[table] = (count, digest)
        geoms = con.execute(
            "SELECT md5(string_agg(ST_AsEWKT(geom), '|' ORDER BY id)) FROM programme.places"
        ).fetchone()
        out["geometries"] = (0, geoms[0])
    return out


def fill(url: str) -> None:
    """A small programme: contacts, places with PostGIS points, plans with a JSON column."""
    import psycopg

    with psycopg.connect(url) as con:
        con.execute(
            """
            CREATE SCHEMA programme;
            CREATE TABLE programme.contacts (
                id bigserial PRIMARY KEY, fingerprint text NOT NULL, seen date NOT NULL,
                status text, cell text);
            CREATE TABLE programme.places (
                id serial PRIMARY KEY, name text NOT NULL, geom geometry(Point, 4326));
            CREATE INDEX ON programme.places USING gist (geom);
            CREATE TABLE programme.plans (
                week text, team text, version int NOT NULL, body jsonb,
                PRIMARY KEY (week, team));
            INSERT INTO programme.contacts (fingerprint, seen, status, cell)
              SELECT md5(g::text), date '2026-01-01' + (g % 300), (ARRAY['NEET','emploi',
                     'formation'])[1 + g % 3], 'CRS3035RES200mN2' || (g % 97)
              FROM generate_series(1, 5000) g;
            INSERT INTO programme.places (name, geom)
              SELECT 'Lieu ' || g || ' — Cusset', ST_SetSRID(ST_MakePoint(3.4 + g / 1000.0,
                     46.1 + g / 2000.0), 4326)
              FROM generate_series(1, 300) g;
            INSERT INTO programme.plans VALUES
              ('2026-W10', 'Équipe nord', 3, '{"slots": [["lundi", "16h"]]}'),
              ('2026-W10', 'Équipe sud', 1, '{"slots": []}');
            """
        )


@pytest.fixture
def backups(tmp_path: Path) -> Path:
    return tmp_path / "sauvegardes"


def _drop(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_backup_drop_restore_gives_back_the_same_data(
    pg_server: str, pg_database: str, backups: Path
) -> None:
    fill(pg_database)
    before = fingerprint(pg_database)
    assert before["programme.contacts"][0] == 5000
    env = {**libpq_env(pg_database), "TERRITORY_BACKUP_DIR": str(backups)}
    done = run([str(DEPLOY / "backup.sh")], env)
    assert done.returncode == 0, done.stderr
    dump = Path(done.stdout.strip())
    assert dump.parent == backups and dump.name.endswith(".dump") and dump.stat().st_size > 0
    assert (backups.stat().st_mode & 0o777) == 0o700
    assert (dump.stat().st_mode & 0o077) == 0  # readable by its owner only
    assert Path(f"{dump}.sha256").exists()
    assert not list(backups.glob(".*partial"))

    name = urlsplit(pg_database).path.lstrip("/")
    _drop(pg_server, name)
    restored = run([str(DEPLOY / "restore.sh"), str(dump), name], libpq_env(pg_server))
    assert restored.returncode == 0, restored.stderr
    assert fingerprint(pg_database) == before


def test_restore_never_overwrites_silently_and_replace_keeps_the_old_base(
    pg_server: str, pg_database: str, backups: Path
) -> None:
    import psycopg

    fill(pg_database)
    before = fingerprint(pg_database)
    env = {**libpq_env(pg_database), "TERRITORY_BACKUP_DIR": str(backups)}
    dump = Path(run([str(DEPLOY / "backup.sh")], env).stdout.strip())
    name = urlsplit(pg_database).path.lstrip("/")
    with psycopg.connect(pg_database) as con:
        con.execute("DELETE FROM programme.contacts WHERE id > 10")  # the mistake to undo
    refused = run([str(DEPLOY / "restore.sh"), str(dump), name], libpq_env(pg_server))
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "existe déjà" in refused.stderr
    replaced = run([str(DEPLOY / "restore.sh"), "--replace", str(dump), name], libpq_env(pg_server))
    assert replaced.returncode == 0, replaced.stderr
    assert fingerprint(pg_database) == before
    with psycopg.connect(pg_server, autocommit=True) as con:
        kept = [
            row[0]
            for row in con.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{name}_avant_%",)
            )
        ]
    try:
        assert len(kept) == 1
        old = pg_server.rsplit("/", 1)[0] + "/" + kept[0]
        assert fingerprint(old)["programme.contacts"][0] == 10
    finally:
        for other in kept:
            _drop(pg_server, other)


def test_a_corrupted_dump_is_refused_and_the_base_is_untouched(
    pg_server: str, pg_database: str, backups: Path
) -> None:
    fill(pg_database)
    before = fingerprint(pg_database)
    env = {**libpq_env(pg_database), "TERRITORY_BACKUP_DIR": str(backups)}
    dump = Path(run([str(DEPLOY / "backup.sh")], env).stdout.strip())
    name = urlsplit(pg_database).path.lstrip("/")
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    refused = run([str(DEPLOY / "restore.sh"), "--replace", str(dump), name], libpq_env(pg_server))
    assert refused.returncode == 2
    assert "empreinte SHA-256 différente" in refused.stderr
    # without its checksum file, pg_restore itself finds the damage; nothing changes
    Path(f"{dump}.sha256").unlink()
    truncated = backups / "tronquee.dump"
    truncated.write_bytes(dump.read_bytes()[: len(data) // 3])
    refused = run(
        [str(DEPLOY / "restore.sh"), "--replace", str(truncated), name], libpq_env(pg_server)
    )
    assert refused.returncode == 2 and refused.stderr.startswith("restauration : ")
    assert "Traceback" not in refused.stderr
    assert fingerprint(pg_database) == before
    import psycopg

    with psycopg.connect(pg_server) as con:
        leftovers = con.execute(
            "SELECT count(*) FROM pg_database WHERE datname LIKE %s", (f"{name}_%",)
        ).fetchone()
    assert leftovers == (0,)


def test_retention_removes_old_dumps_but_never_the_newest(pg_database: str, backups: Path) -> None:
    env = {
        **libpq_env(pg_database),
        "TERRITORY_BACKUP_DIR": str(backups),
        "TERRITORY_BACKUP_KEEP_DAYS": "7",
    }
    name = urlsplit(pg_database).path.lstrip("/")
    backups.mkdir(mode=0o700)
    old = backups / f"territory-{name}-20250101T023000Z.dump"
    recent = backups / f"territory-{name}-20251230T023000Z.dump"
    other = backups / "territory-autre_base-20250101T023000Z.dump"
    for path, days in ((old, 40), (recent, 3), (other, 40)):
        path.write_bytes(b"x")
        Path(f"{path}.sha256").write_text("x")
        stamp = time.time() - days * 86400
        os.utime(path, (stamp, stamp))
    done = run([str(DEPLOY / "backup.sh")], env)
    assert done.returncode == 0, done.stderr
    assert not old.exists() and not Path(f"{old}.sha256").exists()
    assert recent.exists() and other.exists()  # recent enough; another database's
    assert Path(done.stdout.strip()).exists()
    wrong = run([str(DEPLOY / "backup.sh")], {**env, "TERRITORY_BACKUP_KEEP_DAYS": "0"})
    assert wrong.returncode == 2 and "au moins 1" in wrong.stderr


def test_a_failed_dump_leaves_nothing_and_says_why(pg_server: str, backups: Path) -> None:
    env = {
        **libpq_env(pg_server),
        "PGDATABASE": "territory_base_absente",
        "TERRITORY_BACKUP_DIR": str(backups),
    }
    failed = run([str(DEPLOY / "backup.sh")], env)
    assert failed.returncode == 2
    assert failed.stderr.startswith("sauvegarde : pg_dump a échoué pour la base")
    assert failed.stderr.count("\n") == 1
    assert list(backups.iterdir()) == []


@pytest.fixture
def setup_names(pg_server: str) -> Iterator[dict[str, str]]:
    """Unique role and database names for setup.sh, removed after the test."""
    import psycopg

    tag = uuid.uuid4().hex[:8]
    names = {
        "TERRITORY_DB_NAME": f"territory_setup_{tag}",
        "TERRITORY_DB_OWNER": f"territory_owner_{tag}",
        "TERRITORY_DB_APP_ROLE": f"territory_app_{tag}",
    }
    yield names
    with psycopg.connect(pg_server, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{names["TERRITORY_DB_NAME"]}" WITH (FORCE)')
        for role in (names["TERRITORY_DB_APP_ROLE"], names["TERRITORY_DB_OWNER"]):
            con.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_setup_makes_a_postgis_base_and_an_app_role_without_privileges(
    pg_server: str, setup_names: dict[str, str]
) -> None:
    import psycopg

    password = "mot-de-passe-d'essai-assez-long"
    env = {**libpq_env(pg_server), **setup_names, "TERRITORY_APP_DB_PASSWORD": password}
    for _ in range(2):  # idempotent
        done = run([str(DEPLOY / "postgres" / "setup.sh")], env)
        assert done.returncode == 0, done.stderr
        assert password not in done.stdout + done.stderr
    parts = urlsplit(pg_server)
    app = {
        "host": parts.hostname,
        "port": parts.port,
        "user": setup_names["TERRITORY_DB_APP_ROLE"],
        "password": password,
        "dbname": setup_names["TERRITORY_DB_NAME"],
    }
    with psycopg.connect(**app) as con:
        assert con.execute("SELECT postgis_version() IS NOT NULL").fetchone() == (True,)
        flags = con.execute(
            "SELECT rolsuper, rolbypassrls, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert flags == (False, False, False)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute("CREATE TABLE public.intrus (x int)")
    short = run(
        [str(DEPLOY / "postgres" / "setup.sh")], {**env, "TERRITORY_APP_DB_PASSWORD": "court"}
    )
    assert short.returncode == 2 and "trop court" in short.stderr


def test_nginx_accepts_the_site_configuration(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None:
        pytest.skip("nginx absent (apt-get install nginx-light) : configuration non vérifiée")
    if not shutil.which("openssl"):
        pytest.skip("openssl absent : pas de certificat d'essai pour nginx -t")
    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    made = subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=territory.example.fr",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    site = (DEPLOY / "nginx" / "territory.conf").read_text(encoding="utf-8")
    live = "/etc/letsencrypt/live/territory.example.fr/"
    assert live + "fullchain.pem" in site and live + "privkey.pem" in site
    site = site.replace(live + "fullchain.pem", str(cert)).replace(live + "privkey.pem", str(key))
    site = site.replace("/var/log/nginx/", f"{tmp_path}/")
    (tmp_path / "territory.conf").write_text(site, encoding="utf-8")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\n"
        f"http {{\n  access_log {tmp_path}/access.log;\n  include {tmp_path}/territory.conf;\n}}\n",
        encoding="utf-8",
    )
    checked = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr and "test is successful" in checked.stderr
    for needed in (
        "Strict-Transport-Security",
        "client_max_body_size 200m",
        "proxy_set_header Upgrade $http_upgrade",
        "proxy_read_timeout 86400s",
        "return 301 https://",
        "hash $territory_node consistent;",  # two app processes, a browser kept on one
        "server 127.0.0.1:8501;\n    server 127.0.0.1:8502;",
        "add_header Set-Cookie $territory_node_cookie always;",
    ):
        assert needed in site


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze absent : unités non vérifiées")
    units = sorted((DEPLOY / "systemd").iterdir())
    assert [u.name for u in units] == [
        "territory-backup.service",
        "territory-backup.timer",
        "territory-compact.service",
        "territory-compact.timer",
        "territory@.service",
    ]
    # the paths of a real installation, made here: the units are checked, not this machine
    for unit in units:
        shutil.copy(unit, tmp_path / unit.name)
    checked = subprocess.run(
        [analyze, "verify", "--man=no", *(str(tmp_path / u.name) for u in units)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    # the check can fail: a unit with a misspelt key is reported
    (tmp_path / "faute.service").write_text("[Service]\nExecStart=/bin/true\nRestrt=always\n")
    caught = subprocess.run(
        [analyze, "verify", "--man=no", str(tmp_path / "faute.service")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert "Unknown key 'Restrt'" in caught.stderr
    problems = [
        line
        for line in checked.stderr.splitlines()
        if line.strip() and not _about_this_machine(line)
    ]
    assert not problems, checked.stderr


def _about_this_machine(line: str) -> bool:
    """systemd-analyze lines about what this test machine lacks, not about the units."""
    return any(
        part in line
        for part in (
            "/opt/territory/",  # the app is installed elsewhere here
            "is not executable: No such file",
            "Failed to connect to bus",  # no systemd running in a container
            "System has not been booted with systemd",
            "postgresql.service",  # PostgreSQL runs without systemd here
        )
    )


def test_the_scripts_pass_shellcheck() -> None:
    checker = shutil.which("shellcheck")
    if checker is None:
        pytest.skip("shellcheck absent (apt-get install shellcheck) : scripts non vérifiés")
    scripts = [DEPLOY / "backup.sh", DEPLOY / "restore.sh", DEPLOY / "postgres" / "setup.sh"]
    checked = subprocess.run(
        [checker, *map(str, scripts)], capture_output=True, text=True, check=False, timeout=120
    )
    assert checked.returncode == 0, checked.stdout


def test_the_app_works_through_nginx_with_tls_and_its_websocket(
    tmp_path: Path, demo_workspace: Path, settings: Settings
) -> None:
    """Chromium loads the app over https through nginx and the site file.

    The real thing: nginx with deploy/nginx/territory.conf (ports and certificate swapped)
    in front of two ``streamlit run serve.py``, as deployed; the browser gets the sticky
    ``territory_node`` cookie once, and its websocket carries it.
    """
    from playwright.sync_api import sync_playwright
    from proconnect_mock import free_port

    from bench._browser import CHROMIUM_ARGS, ROOT, chromium_path, streamlit_server

    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None or chromium_path() is None or not shutil.which("openssl"):
        pytest.skip("nginx, Chromium ou openssl absent : mandataire non essayé")
    http, https, app, second = free_port(), free_port(), free_port(), free_port()
    cert, key = _certificate(tmp_path)
    site = (DEPLOY / "nginx" / "territory.conf").read_text(encoding="utf-8")
    swaps = {
        "    listen 80;\n": f"    listen 127.0.0.1:{http};\n",
        "    listen [::]:80;\n": "",
        "    listen 443 ssl http2;\n": f"    listen 127.0.0.1:{https} ssl http2;\n",
        "    listen [::]:443 ssl http2;\n": "",
        "server 127.0.0.1:8501;": f"server 127.0.0.1:{app};",
        "server 127.0.0.1:8502;": f"server 127.0.0.1:{second};",
        "/etc/letsencrypt/live/territory.example.fr/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/territory.example.fr/privkey.pem": str(key),
        "/var/log/nginx/": f"{tmp_path}/",
    }
    for old, new in swaps.items():
        assert old in site, old
        site = site.replace(old, new)
    (tmp_path / "territory.conf").write_text(site, encoding="utf-8")
    (tmp_path / "nginx.conf").write_text(
        f"user root;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\n"
        f"http {{\n  access_log {tmp_path}/access.log;\n  include {tmp_path}/territory.conf;\n}}\n",
        encoding="utf-8",
    )
    env = {
        "TERRITORY_WORKSPACE": str(demo_workspace),
        "TERRITORY_SECRET_PATH": str(settings.secret_path),
    }
    with (
        streamlit_server(ROOT / "serve.py", env=env, port=app),
        streamlit_server(ROOT / "serve.py", env=env, port=second),
    ):
        proxy = subprocess.Popen(
            [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for_port(https)
            plain = _get_no_redirect(f"http://127.0.0.1:{http}/carte")
            assert plain.status == 301
            assert plain.headers["Location"].startswith("https://127.0.0.1")
            secure = _get_no_redirect(f"https://127.0.0.1:{https}/_stcore/health", insecure=True)
            assert secure.status == 200
            assert secure.headers["Strict-Transport-Security"].startswith("max-age=63072000")
            sticky = [c for c in secure.headers.get_all("Set-Cookie") if "territory_node" in c]
            assert len(sticky) == 1 and re.fullmatch(
                r"territory_node=[0-9a-f]{32}; Path=/; HttpOnly; Secure; SameSite=Lax", sticky[0]
            ), sticky
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
                context = browser.new_context(ignore_https_errors=True)
                page = context.new_page()
                sockets: list[str] = []
                page.on("websocket", lambda ws: sockets.append(ws.url))
                page.goto(f"https://127.0.0.1:{https}/", wait_until="domcontentloaded")
                # the page's content comes through Streamlit's websocket, through nginx
                page.get_by_text("Planifier l'aller-vers").wait_for(timeout=90_000)
                cookies = [c for c in context.cookies() if c["name"] == "territory_node"]
                browser.close()
            assert any(u.startswith(f"wss://127.0.0.1:{https}/_stcore/stream") for u in sockets)
            assert len(cookies) == 1 and cookies[0]["httpOnly"] and cookies[0]["secure"]
        finally:
            proxy.terminate()
            proxy.wait(timeout=20)
    log = (tmp_path / "error.log").read_text(encoding="utf-8", errors="replace")
    assert "[emerg]" not in log and "upstream prematurely closed" not in log


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A throw-away self-signed certificate for 127.0.0.1."""
    from bench._nginx import self_signed

    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    self_signed(cert, key)
    return cert, key


def _wait_for_port(port: int, timeout_s: float = 20) -> None:
    import socket

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nginx n'écoute pas sur {port}")


def _get_no_redirect(url: str, *, insecure: bool = False) -> Any:
    """One GET, redirects not followed: the answer (status, headers)."""
    import ssl
    import urllib.error
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    context = ssl.create_default_context()
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=context))
    try:
        return opener.open(url, timeout=10)
    except urllib.error.HTTPError as answer:  # the 301 itself
        return answer
