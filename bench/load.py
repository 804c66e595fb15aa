"""Many real Streamlit sessions at once (issue #24): browse, filter, edit one week.

Each simulated user is a real session of the served app. It speaks Streamlit's own
websocket protocol, the ``BackMsg`` / ``ForwardMsg`` protobufs that the browser sends and
receives on ``/_stcore/stream``, so the server runs every script rerun exactly as for a
browser tab (same session state, same widgets, same caches), without twenty Chromium
processes competing with the server for the two cores. A client keeps the widget states
of its last run and sends them all with each rerun, as the browser does.

Each session loops for the given duration, waiting a few seconds between two actions
(the time a user reads the page):

1. **browse**: the « Carte », « Contacts » and « Où et quand » pages in turn;
2. **filter**: the sidebar's territory, to another option drawn at random;
3. **edit**: on « Tournées », toggle « Verrouillée » of one visit of the week and press
   « Enregistrer les modifications »; when another session saved first, the page keeps the
   edit and offers to carry it over: the client presses « Reprendre mes modifications
   sur la dernière version », as a user would.

Measured: every rerun's time (from the message sent to ``script_finished``; p50, p95,
max), the errors (an exception shown by a page, a rerun that did not finish, a dropped
connection), and the **lost edits**: every save the page confirmed (« Version N
enregistrée ») is checked afterwards in the store — version N must hold that visit with
the lock the session gave it, and no two confirmations may name the same version.

``python -m bench.load WORKSPACE --sessions 20 --minutes 10`` (on a copy of the workspace,
where ``territory plan`` first plans the week the « Tournées » page opens on).

``--processes 2`` serves the app as the deployment does (deploy/): two Streamlit processes
behind nginx with the deployment's own site file (:mod:`bench._nginx`: TLS, the sticky
``territory_node`` cookie). Each simulated user then first loads the page over https, as a
browser does, and opens its websocket with the cookies it got; the access log shows which
process each session went to and that none moved (a session that did is an error).
``--processes 1`` (the default) talks to the one server directly. Reported beside the
rerun times: the CPU time of the Streamlit processes during the load (``/proc``), per
rerun, and the load average before and after.

``--database-url URL`` (a database with PostGIS, a role that may create schemas) runs the
same load on the server's engine: the copy is moved onto PostgreSQL in a schema of its own
(``db import``'s code), the app opens it by name (``TERRITORY_DATABASE_URL``), the week is
planned, edited and checked there; the schema is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import http.cookies
import json
import os
import random
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from websockets.exceptions import WebSocketException

from bench._browser import ROOT, streamlit_server
from bench._nginx import behind_nginx, sticky_sessions

_SAVED = re.compile(r"Version (\d+) enregistrée")
_ALREADY = re.compile(r"déjà dans la version (\d+)")
RERUN_TIMEOUT_S = 60.0


@dataclass
class Widget:
    """A widget of the last run: its id, kind and (for a selectbox) its options."""

    id: str
    kind: str
    options: list[str] = field(default_factory=list)


@dataclass
class Run:
    """What one rerun showed: widgets by user key, texts, exceptions, time taken."""

    seconds: float
    widgets: dict[str, Widget]
    texts: list[str]
    exceptions: list[str]


@dataclass
class Claim:
    """A save the page confirmed: version, the visit (team, start, place), its lock."""

    session: int
    version: int
    visit: tuple[str, str, str]
    locked: bool


@dataclass
class Tally:
    """What every session saw."""

    reruns: list[float] = field(default_factory=list)
    by_page: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    conflicts: int = 0
    replays: int = 0


class Session:
    """One Streamlit session over the websocket, driven like a browser tab."""

    def __init__(self, url: str, number: int, tally: Tally) -> None:
        self.url, self.number, self.tally = url, number, tally
        self.pages: dict[str, str] = {}
        self.page = ""
        self.states: dict[str, Any] = {}  # widget id → WidgetState (last value sent)
        self.last: Run | None = None
        self._ws: Any = None

    async def __aenter__(self) -> Session:
        import websockets

        # a browser loads the page first, then opens the websocket with the cookies it
        # got (behind nginx: the sticky territory_node cookie); the test certificate of
        # bench._nginx is self-signed
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        cookies = await asyncio.to_thread(_page_cookies, self.url, context)
        self._ws = await websockets.connect(
            self.url.replace("http", "ws", 1) + "/_stcore/stream",
            subprotocols=["streamlit"],  # type: ignore[list-item]
            origin=self.url,  # type: ignore[arg-type]
            max_size=None,
            open_timeout=30,
            additional_headers={"Cookie": cookies} if cookies else None,
            ssl=context if self.url.startswith("https") else None,
        )
        await self.rerun()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._ws.close()

    def _page_name(self) -> str:
        return next((n for n, h in self.pages.items() if h == self.page), "Accueil")

    async def goto(self, name: str) -> Run:
        """Open the page titled ``name`` (its widgets start from their defaults)."""
        self.page = self.pages[name]
        return await self.rerun()

    async def rerun(
        self, *, values: dict[str, Any] | None = None, trigger: str | None = None
    ) -> Run:
        """Send the widget states (``values`` by user key changed, ``trigger`` pressed)."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        msg = BackMsg()
        state = msg.rerun_script
        state.page_script_hash = self.page
        widgets = self.last.widgets if self.last else {}
        for key, value in (values or {}).items():
            widget = widgets[key]
            ws = WidgetState(id=widget.id)
            if isinstance(value, bool):
                ws.bool_value = value
            else:
                ws.string_value = value
            self.states[widget.id] = ws
        live = {w.id for w in widgets.values()}
        sent = [s for wid, s in self.states.items() if wid in live]
        if trigger is not None:
            sent.append(WidgetState(id=widgets[trigger].id, trigger_value=True))
        state.widget_states.widgets.extend(sent)
        start = time.perf_counter()
        await self._ws.send(msg.SerializeToString())
        run = await asyncio.wait_for(self._read(start), RERUN_TIMEOUT_S)
        self.tally.reruns.append(run.seconds)
        self.tally.by_page.setdefault(self._page_name(), []).append(run.seconds)
        for text in run.exceptions:
            self.tally.errors.append(f"session {self.number}: {text}")
        self.last = run
        return run

    async def _read(self, start: float) -> Run:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        widgets: dict[str, Widget] = {}
        texts: list[str] = []
        exceptions: list[str] = []
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(await self._ws.recv())
            kind = msg.WhichOneof("type")
            if kind == "navigation":
                self.pages = {p.page_name: p.page_script_hash for p in msg.navigation.app_pages}
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                name = str(element.WhichOneof("type"))
                inner = getattr(element, name)
                if name == "exception":
                    exceptions.append(f"{inner.type}: {inner.message}")
                elif name in ("alert", "toast", "markdown"):
                    texts.append(inner.body)
                widget_id = getattr(inner, "id", "") if hasattr(inner, "id") else ""
                if widget_id.startswith("$$ID-") and "-" in widget_id[5:]:
                    key = widget_id.split("-", 2)[2]
                    options = list(getattr(inner, "options", [])) if name == "selectbox" else []
                    widgets[key] = Widget(widget_id, name, options)
            elif kind == "script_finished":
                if msg.script_finished == msg.FINISHED_EARLY_FOR_RERUN:  # st.rerun(): go on
                    widgets = {}  # the rerun draws the page again; its texts are kept
                    continue
                if msg.script_finished == msg.FINISHED_WITH_COMPILE_ERROR:
                    exceptions.append("erreur de compilation de la page")
                return Run(time.perf_counter() - start, widgets, texts, exceptions)


def _page_cookies(url: str, context: ssl.SSLContext) -> str:
    """The ``Cookie`` header a browser sends after loading the app's page at ``url``."""
    with urllib.request.urlopen(url + "/", timeout=30, context=context) as answer:
        jar = http.cookies.SimpleCookie()
        for header in answer.headers.get_all("Set-Cookie") or []:
            jar.load(header)
    return "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())


async def _user(
    url: str, number: int, deadline: float, tally: Tally, seed: int, think: tuple[float, float]
) -> None:
    rng = random.Random(seed + number)

    async def pause() -> None:  # a user reads the page before the next action
        await asyncio.sleep(rng.uniform(*think))

    try:
        async with Session(url, number, tally) as s:
            while time.monotonic() < deadline:
                for page in ("Carte", "Contacts", "Où et quand"):
                    await pause()
                    await s.goto(page)
                await pause()
                await _filter(s, rng)
                await pause()
                await _edit(s, rng)
    except (TimeoutError, OSError, KeyError, WebSocketException) as exc:
        # a rerun that never finished, a dropped websocket, a widget gone: counted
        tally.errors.append(f"session {number}: {type(exc).__name__} {exc}")


async def _filter(s: Session, rng: random.Random) -> None:
    box = s.last.widgets.get("widget_territory") if s.last else None
    if box is None or len(box.options) < 2:
        return
    await s.rerun(values={"widget_territory": rng.choice(box.options)})


async def _edit(s: Session, rng: random.Random) -> None:
    run = await s.goto("Tournées")
    editor = next((k for k in run.widgets if k.startswith("widget_plan_edit_")), None)
    if editor is None:
        s.tally.errors.append(f"session {s.number}: pas de semaine à modifier")
        return
    week, version = editor.removeprefix("widget_plan_edit_").rsplit("_", 1)
    row, visit, locked = _visit(week, int(version), rng)
    edits = {
        "edited_rows": {str(row): {"locked": not locked}},
        "added_rows": [],
        "deleted_rows": [],
    }
    await s.rerun(values={editor: json.dumps(edits)})
    run = await s.rerun(trigger="widget_plan_save")
    if "widget_plan_replay" in run.widgets:
        s.tally.conflicts += 1
        s.tally.replays += 1
        run = await s.rerun(trigger="widget_plan_replay")
    for text in run.texts:
        if (m := _SAVED.search(text)) is not None:
            s.tally.claims.append(Claim(s.number, int(m.group(1)), visit, not locked))
            break
    else:
        # a replay refused again keeps the edit pending: drop it, as the user may
        if "widget_plan_drop" in run.widgets:
            await s.rerun(trigger="widget_plan_drop")


_WORKSPACE: str | None = None  # the copy's path, or its address on the server


def _visit(week: str, version: int, rng: random.Random) -> tuple[int, tuple[str, str, str], bool]:
    """A row of version ``version`` as the editor shows it: its position, key and lock."""
    from territory.rounds.week import load_plan
    from territory.store import Workspace

    assert _WORKSPACE is not None
    plan = load_plan(Workspace.open(_WORKSPACE), week, version=version)
    assert plan is not None
    row = rng.randrange(len(plan.visits))
    v = plan.visits.iloc[row]
    key = (str(v["team"]), f"{v['start']:%Y-%m-%dT%H:%M}", str(v["place_name"]))
    return row, key, bool(v["locked"])


def lost_edits(workspace: str | Path, week: str, claims: list[Claim]) -> list[str]:
    """Confirmed saves that the store does not hold as confirmed."""
    from territory.rounds.week import load_plan
    from territory.store import Workspace

    ws = Workspace.open(workspace)
    problems = []
    seen: dict[int, int] = {}
    for c in claims:
        if c.version in seen:
            problems.append(f"version {c.version} confirmée à deux sessions")
        seen[c.version] = c.session
        plan = load_plan(ws, week, version=c.version)
        if plan is None:
            problems.append(f"version {c.version} introuvable")
            continue
        v = plan.visits
        keys = zip(
            v["team"].astype(str),
            v["start"].map(lambda t: f"{t:%Y-%m-%dT%H:%M}"),
            v["place_name"].astype(str),
            strict=True,
        )
        match = [bool(lock) for key, lock in zip(keys, v["locked"], strict=True) if key == c.visit]
        if match != [c.locked]:
            problems.append(
                f"version {c.version} : visite {c.visit} verrouillée={match}, attendu {c.locked}"
            )
    return problems


def next_week() -> str:
    """The week the « Tournées » page opens on: next Monday's ISO week."""
    today = date.today()
    year, number, _ = (today + timedelta(days=7 - today.weekday())).isocalendar()
    return f"{year}-W{number:02d}"


@contextmanager
def _served(
    workspace: Path,
    secret: Path,
    processes: int,
    started: list[subprocess.Popen[bytes]],
    database_url: str | None = None,
) -> Iterator[str]:
    """The app on ``workspace``: one server, or ``processes`` of them behind nginx.

    ``database_url``: the workspace of that name on the server (no accounts).
    """
    env = {
        "TERRITORY_WORKSPACES_DIR": str(workspace.parent),
        "TERRITORY_WORKSPACE": str(workspace),
        "TERRITORY_SECRET_PATH": str(secret),
        **({"TERRITORY_DATABASE_URL": database_url} if database_url else {}),
        # as deploy/systemd/territory@.service runs it: no watcher of the sources. Left
        # on, with two servers, the watchers' inotify queues overflowed and re-walked the
        # checkout: 57 % of a server's samples (py-spy), three times the CPU per rerun.
        "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none",
    }
    with ExitStack() as stack:
        urls = [
            stack.enter_context(
                streamlit_server(ROOT / "app.py", env=env, timeout_s=120, started=started)
            )
            for _ in range(processes)
        ]
        if processes == 1:
            yield urls[0]
        else:
            ports = [int(url.rsplit(":", 1)[1]) for url in urls]
            yield stack.enter_context(behind_nginx(ports, workspace.parent / "nginx"))


def _cpu_seconds(procs: list[subprocess.Popen[bytes]]) -> float:
    """User and system CPU time of ``procs`` so far (``/proc``; 0 where it is not)."""
    total = 0
    for proc in procs:
        try:
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def load_benchmark(
    workspace: Path,
    *,
    secret: Path,
    sessions: int = 20,
    minutes: float = 10.0,
    solo_s: float = 30.0,
    think: tuple[float, float] = (1.0, 5.0),
    seed: int = 0,
    processes: int = 1,
    database_url: str | None = None,
) -> dict[str, Any]:
    """Run the load on a copy of ``workspace``; the figures and the lost edits.

    First one session alone for ``solo_s`` seconds (the reference), then ``sessions`` at
    once for ``minutes``. Between two actions a session waits ``think`` seconds (drawn
    uniformly, as Locust's ``between``): the time a user reads the page. ``processes``
    above 1: that many servers behind nginx, as deployed (see the module's docstring).
    ``database_url``: the same on PostgreSQL (see the module's docstring).
    """
    global _WORKSPACE
    folder = Path(tempfile.mkdtemp(prefix="territory-load-"))
    schema = f"load_{os.getpid()}"
    try:
        copy = folder / f"{schema}.gpkg"
        shutil.copyfile(workspace, copy)
        _WORKSPACE = str(copy)
        if database_url:
            from territory._pgimport import import_file

            import_file(copy, database_url, name=schema)
            _WORKSPACE = f"{database_url}#{schema}"
        week = next_week()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "territory.cli",
                "plan",
                "--workspace",
                _WORKSPACE,
                "--week",
                week,
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "TERRITORY_SECRET_PATH": str(secret)},
        )
        solo, tally = Tally(), Tally()
        servers: list[subprocess.Popen[bytes]] = []
        with _served(copy, secret, processes, servers, database_url) as url:
            # the reference: one session alone on the server, the same loop
            asyncio.run(_user(url, sessions, time.monotonic() + solo_s, solo, seed, think))
            deadline = time.monotonic() + minutes * 60

            async def everyone() -> None:
                await asyncio.gather(
                    *(_user(url, n, deadline, tally, seed, think) for n in range(sessions))
                )

            started, cpu_before = time.monotonic(), _cpu_seconds(servers)
            load_before = os.getloadavg()[0]
            asyncio.run(everyone())
            elapsed = time.monotonic() - started
            cpu = _cpu_seconds(servers) - cpu_before
        per_process, strays = sticky_sessions(copy.parent / "nginx") if processes > 1 else ({}, [])
        tally.errors += [f"session sur deux processus : {stray}" for stray in strays]
        lost = lost_edits(_WORKSPACE, week, solo.claims + tally.claims)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if database_url:
            from territory import _pg

            with _pg.connect(database_url, autocommit=True) as con:
                con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return {
        "sessions": sessions,
        "minutes": round(elapsed / 60, 2),
        **_quantiles("rerun", tally.reruns),
        **_quantiles("solo_rerun", solo.reruns),
        "errors": len(tally.errors) + len(solo.errors),
        "error_samples": (solo.errors + tally.errors)[:5],
        "saves_confirmed": len(tally.claims) + len(solo.claims),
        "conflicts_carried_over": tally.replays,
        "think_s": list(think),
        "by_page_p95_s": {
            page: _quantiles("r", times)["r_p95_s"] for page, times in sorted(tally.by_page.items())
        },
        "lost_edits": len(lost),
        "lost_samples": lost[:5],
        "processes": processes,
        "engine": "PostgreSQL" if database_url else "GeoPackage",
        "websockets_per_process": per_process,
        "server_cpu_s": round(cpu, 1),
        "server_cpu_per_rerun_s": round(cpu / max(len(tally.reruns), 1), 3),
        "load_average_before": load_before,
        "load_average": os.getloadavg()[0],
    }


def _quantiles(name: str, seconds: list[float]) -> dict[str, Any]:
    """Count, median, 95th percentile and maximum of rerun times."""
    ordered = sorted(seconds)
    if not ordered:
        return {f"{name}s": 0}
    return {
        f"{name}s": len(ordered),
        f"{name}_p50_s": round(statistics.median(ordered), 3),
        f"{name}_p95_s": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        f"{name}_max_s": round(ordered[-1], 3),
    }


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.load WORKSPACE [--sessions N] [--minutes M]``: the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path)
    parser.add_argument(
        "--secret", type=Path, default=Path(os.environ.get("TERRITORY_SECRET_PATH", "secret.key"))
    )
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--think", type=float, nargs=2, default=(1.0, 5.0), metavar=("MIN", "MAX"))
    parser.add_argument(
        "--processes", type=int, default=1, help="Streamlit processes (above 1: behind nginx)"
    )
    parser.add_argument(
        "--database-url", help="the same load on PostgreSQL (a role that may create schemas)"
    )
    args = parser.parse_args(argv)
    figures = load_benchmark(
        args.workspace,
        secret=args.secret,
        sessions=args.sessions,
        minutes=args.minutes,
        think=tuple(args.think),
        processes=args.processes,
        database_url=args.database_url,
    )
    print(json.dumps(figures, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
