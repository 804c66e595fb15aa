"""nginx with the deployment's own site file in front of several local Streamlit servers.

:func:`behind_nginx` runs Debian's nginx on ``deploy/nginx/territory.conf`` as a server
would, with only what ties it to a machine swapped: its ports (loopback), the upstream's
``server`` lines (the servers started here), a throw-away self-signed certificate and the
log folder. The balancing rule measured is therefore the deployment's: a random
``territory_node`` cookie on the first response, every later request hashed on it.

:func:`sticky_sessions` reads the access log afterwards: which process each websocket
went to, and whether every browser (cookie) stayed on one.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bench._browser import ROOT

SITE = ROOT / "deploy" / "nginx" / "territory.conf"
_UPSTREAM_SERVERS = re.compile(r"(?:    server 127\.0\.0\.1:\d+;\n)+")
_LOG_FORMAT = "log_format sticky '$cookie_territory_node $upstream_addr $status $request_uri';"


def nginx_path() -> Path | None:
    """Debian's nginx, or None when it is not installed."""
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    return Path(found) if Path(found).exists() else None


def free_port() -> int:
    """A free TCP port on the loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def site_file(ports: Sequence[int], *, https: int, http: int, folder: Path) -> str:
    """The deployment's site file with this machine's ports, certificate and log folder."""
    site = SITE.read_text(encoding="utf-8")
    upstream = "".join(f"    server 127.0.0.1:{port};\n" for port in ports)
    site, swapped = _UPSTREAM_SERVERS.subn(upstream, site, count=1)
    swaps = {
        "    listen 80;\n": f"    listen 127.0.0.1:{http};\n",
        "    listen [::]:80;\n": "",
        "    listen 443 ssl http2;\n": f"    listen 127.0.0.1:{https} ssl http2;\n",
        "    listen [::]:443 ssl http2;\n": "",
        "/etc/letsencrypt/live/territory.example.fr/fullchain.pem": str(folder / "cert.pem"),
        "/etc/letsencrypt/live/territory.example.fr/privkey.pem": str(folder / "key.pem"),
        "access_log /var/log/nginx/territory.access.log;": (
            f"access_log {folder}/territory.access.log sticky;"
        ),
        "/var/log/nginx/": f"{folder}/",
    }
    missing = [old for old in swaps if old not in site]
    if swapped != 1 or missing:
        raise RuntimeError(f"deploy/nginx/territory.conf a changé : {missing or 'upstream'}")
    for old, new in swaps.items():
        site = site.replace(old, new)
    return site


def self_signed(cert: Path, key: Path) -> None:
    """A throw-away self-signed certificate for 127.0.0.1 (``openssl req -x509``)."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        capture_output=True,
        check=True,
        timeout=60,
    )  # fmt: skip


@contextmanager
def behind_nginx(ports: Sequence[int], folder: Path) -> Iterator[str]:
    """Run the deployment's nginx site file in front of ``ports``; yield its https URL."""
    nginx = nginx_path()
    if nginx is None:
        raise RuntimeError("nginx absent (apt-get install nginx) : pas de répartition")
    folder.mkdir(parents=True, exist_ok=True)
    self_signed(folder / "cert.pem", folder / "key.pem")
    https, http = free_port(), free_port()
    (folder / "territory.conf").write_text(
        site_file(ports, https=https, http=http, folder=folder), encoding="utf-8"
    )
    (folder / "nginx.conf").write_text(
        f"user root;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\nevents {{}}\n"
        f"http {{\n  {_LOG_FORMAT}\n  include {folder}/territory.conf;\n}}\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [nginx, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", https), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    log = (folder / "error.log").read_text(errors="replace")[-500:]
                    raise RuntimeError(f"nginx n'a pas démarré : {log}") from None
                time.sleep(0.2)
        yield f"https://127.0.0.1:{https}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def sticky_sessions(folder: Path) -> tuple[dict[str, int], list[str]]:
    """Websockets per process, and the browsers (cookies) that went to more than one.

    Read from the access log of :func:`behind_nginx`; a websocket without the cookie is
    reported too (nothing would keep it on its process).
    """
    per_process: dict[str, int] = {}
    seen: dict[str, set[str]] = {}
    strays = []
    log = folder / "territory.access.log"
    for line in log.read_text(encoding="utf-8").splitlines():
        cookie, upstream, _status, uri = line.split(" ", 3)
        if not uri.startswith("/_stcore/stream"):
            continue
        per_process[upstream] = per_process.get(upstream, 0) + 1
        if cookie == "-":
            strays.append(f"websocket sans cookie vers {upstream}")
        seen.setdefault(cookie, set()).add(upstream)
    strays += [f"{c} : {sorted(u)}" for c, u in seen.items() if len(u) > 1]
    return per_process, strays
