"""The browser receives only published values: no raw count, no fine place, no pseudonym.

``privacy.md`` (How it is checked): the pages send the browser only what the
disclosure-control step published. Each page is run with Streamlit's ``AppTest`` on the
demo workspace, and everything it sends is collected: every element's message (texts,
metrics, tables, charts and their data, the map component's HTML and script), the
dataframes and chart data decoded, and the files offered for download. The map's
density zones are decoded from the page's compact format (the zone ids the browser
rebuilds) and compared with the truth, counted here from the contacts table with SQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import map_args, map_element
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from territory import Settings
from territory._fr import format_number
from territory.analysis.indicators import default_windows, protected_contacts
from territory.analysis.slots import when
from territory.analysis.zones import load_zones
from territory.privacy import published
from territory.privacy.protect import PUBLISHED
from territory.store import Workspace
from territory.ui.state import Keys
from territory.vocab import UNKNOWN

APP = str(Path(__file__).resolve().parents[2] / "app.py")
DATA = re.compile(r'<script type="application/json" id="([^"]+)">(.*?)</script>', re.DOTALL)
CELL_ID = re.compile(r"CRS3035RES200mN\d+E\d+")
HEX = re.compile(r"[0-9a-f]{16,}")
_SIZES = {"200m": 200, "1km": 1000}


# ----------------------------------------------------------------- what a page sends
@dataclass
class Sent:
    """Everything one run of a page sent: raw messages as text, decoded tables, the map."""

    text: str
    frames: list[pd.DataFrame]
    map: dict[str, Any] | None


def _nodes(node: Any) -> Iterator[Any]:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _nodes(child)


def sent(at: AppTest, downloads: list[bytes]) -> Sent:
    """What ``at``'s last run sent, with the files it offered for download."""
    texts, frames = [], []
    for root in (at.main, at.sidebar):
        for node in _nodes(root):
            proto = getattr(node, "proto", None)
            if proto is None or not hasattr(proto, "SerializeToString"):
                continue
            texts.append(proto.SerializeToString().decode("utf-8", errors="replace"))
            kind = getattr(node, "type", "")
            if kind in ("dataframe", "table"):
                frames.append(node.value)
            elif kind in ("vega_lite_chart", "arrow_vega_lite_chart"):
                frames += [convert_arrow_bytes_to_pandas_df(d.data.data) for d in proto.datasets]
    texts += [d.decode("utf-8", errors="replace") for d in downloads]
    maps = [e for e in at.main.get("component_instance") if "folium" in e.proto.component_name]
    args = map_args(at) if maps else None
    if args is not None:
        texts.append(args["html"] + args["script"])
    texts += [f.to_csv() for f in frames]
    return Sent("\n".join(texts), frames, args)


@pytest.fixture(scope="module")
def downloads() -> Iterator[list[bytes]]:
    """Every file a page offers for download, as it is added.

    The media manager's data, and the files built on click (deferred: built here, as a
    click would, when the button is offered).
    """
    files: list[bytes] = []
    original = MemoryMediaFileStorage.load_and_get_id
    deferred = MediaFileManager.add_deferred

    def keep(self: MemoryMediaFileStorage, path_or_data: str | bytes, *args: Any, **kw: Any) -> str:
        data = path_or_data if isinstance(path_or_data, bytes) else Path(path_or_data).read_bytes()
        files.append(data)
        return original(self, path_or_data, *args, **kw)

    def build(self: MediaFileManager, data: Callable[[], Any], *args: Any, **kw: Any) -> str:
        made = data()
        files.append(made.encode("utf-8") if isinstance(made, str) else bytes(made))
        return deferred(self, data, *args, **kw)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
        patch.setattr(MediaFileManager, "add_deferred", build)
        yield files


def run_page(workspace: Path, page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state[Keys.WORKSPACE] = str(workspace)
    at.run()
    at.switch_page(f"app_pages/{page}.py")
    at.run()
    assert not at.exception, at.exception
    return at


# --------------------------------------------------------------- the map's density
def density_features(args: dict[str, Any]) -> pd.DataFrame:
    """The density zones the browser builds: ``zone``, ``level``, ``count``, ``label``.

    The density travels as a table of property sets (``P``), grid squares as (property
    index, Δeast, Δnorth) in units of 200 m (``R``), rests of communes as (property index,
    Δ index of the commune in the communes' collection, ``K``), other zones as GeoJSON
    (``X``). Decoded here as the page's script does (``map/js/compact_grid.js``).
    """
    data = {name: json.loads(text) for name, text in DATA.findall(args["html"])}
    (name,) = [n for n, d in data.items() if isinstance(d, dict) and {"P", "R", "K"} <= set(d)]
    density = data[name]
    rows = [dict(f["properties"]) for f in density["X"]]
    if density["K"]:
        shared = re.search(
            rf'territoryData\(\s*"{name}"\)\)\((\w+)\)', args["script"]
        )  # the communes' collection the rests refer to
        assert shared is not None
        source = re.search(
            rf'var {shared.group(1)} = .*?territoryData\(\s*"([^"]+)"', args["script"], re.DOTALL
        )
        assert source is not None
        codes = [p["code"] for p in data[source.group(1)]["p"]]
        at = 0
        for r in range(0, len(density["K"]), 2):
            at += density["K"][r + 1]
            rows.append({"zone": codes[at], **density["P"][density["K"][r]]})
    east = north = 0
    for r in range(0, len(density["R"]), 3):
        entry = density["P"][density["R"][r]]
        east += density["R"][r + 1]
        north += density["R"][r + 2]
        size = _SIZES[entry["level"]]
        rows.append({"zone": f"CRS3035RES{size}mN{north * 200}E{east * 200}", **entry})
    return pd.DataFrame(rows)[["zone", "level", "count", "label"]]


# ---------------------------------------------------------------------- the truth
@pytest.fixture(scope="module")
def truth(demo_workspace: Path, settings: Settings) -> pd.DataFrame:
    """Every (cell, commune, quarter, category) of the contacts with its count, and its zone."""
    ws = Workspace.open(demo_workspace)
    rows = ws.query(
        "SELECT cell, commune, statut, tranche_age, sexe, "
        "substr(date, 1, 4) || '-T' || ((CAST(substr(date, 6, 2) AS INTEGER) + 2) / 3) "
        "AS periode, count(*) AS n FROM contacts "
        "GROUP BY cell, commune, statut, tranche_age, sexe, periode"
    )
    for name in ("statut", "tranche_age", "sexe"):
        rows[name] = rows[name].fillna("").replace("", UNKNOWN)
    zones = published.zones(ws, settings=settings).astype({"cell": str, "commune": str})
    return rows.merge(zones, on=["cell", "commune"], how="left")


@pytest.fixture(scope="module")
def secrets(demo_workspace: Path) -> set[str]:
    """Every pseudonym and row fingerprint of the contacts table."""
    ws = Workspace.open(demo_workspace)
    values = ws.query("SELECT personne AS v FROM contacts UNION SELECT fingerprint FROM contacts")[
        "v"
    ]
    out = {str(v) for v in values.dropna() if v}
    assert out and all(HEX.fullmatch(v) for v in out)  # what the scan looks for
    return out


@pytest.fixture(scope="module")
def big_cells(demo_workspace: Path, settings: Settings) -> set[str]:
    """The 200 m cells of k people or more: the only cells that may be zones."""
    ws = Workspace.open(demo_workspace)
    people = ws.query(
        "SELECT cell, count(DISTINCT coalesce(nullif(personne, ''), 'row' || fid)) AS p "
        "FROM contacts GROUP BY cell"
    )
    return set(people.loc[people["p"] >= settings.k, "cell"])


def check_no_secret(page: Sent, secrets: set[str], big_cells: set[str]) -> None:
    """No pseudonym or fingerprint; no 200 m cell id but those of k people."""
    lengths = {len(s) for s in secrets}
    found = {
        run[i : i + n]
        for run in HEX.findall(page.text)
        for n in lengths
        for i in range(len(run) - n + 1)
    }
    assert not found & secrets
    assert set(CELL_ID.findall(page.text)) <= big_cells
    for forbidden in ("fingerprint", "personne", "id_personne", "commentaire"):
        assert f'"{forbidden}"' not in page.text


def check_map(
    page: Sent,
    density: pd.DataFrame,
    truth: pd.DataFrame,
    big_cells: set[str],
    settings: Settings,
) -> pd.DataFrame:
    """The map's density zones are the published ones; a hidden zone carries no number.

    ``density`` is the published table of the view (``zone``, ``count``, ``label``,
    ``status``); ``truth`` the contacts of the view. Returns the zones as decoded.
    """
    assert page.map is not None
    drawn = density_features(page.map).set_index("zone")
    assert not drawn.index.duplicated().any()
    expected = density.set_index("zone")
    assert set(drawn.index) == set(expected.index)
    counts = pd.to_numeric(drawn["count"]).astype("Int64")
    pd.testing.assert_series_equal(
        counts, expected["count"].astype("Int64").reindex(drawn.index), check_names=False
    )
    assert (drawn["label"] == expected["label"].reindex(drawn.index)).all()
    shown = counts.dropna()
    assert ((shown == 0) | (shown >= settings.k)).all() and (shown % settings.rounding == 0).all()
    # a zone whose value is not published: no number, and never its true count
    true = truth.groupby("zone")["n"].sum()
    for zone in expected.index[expected["status"] != PUBLISHED]:
        assert pd.isna(counts[zone]), zone
        assert drawn.loc[zone, "label"] in (f"< {settings.k}", "secret"), zone
        if zone in true.index:
            said = {str(v) for v in drawn.loc[zone].to_dict().values()}
            assert str(int(true[zone])) not in said, zone
    # no finer place than a zone of the protected partition
    cells = drawn.index[drawn["level"] == "200m"]
    assert set(cells) <= big_cells
    return drawn


# ------------------------------------------------------------------------- the pages
def test_the_map_page_sends_only_published_values(
    demo_workspace: Path,
    settings: Settings,
    downloads: list[bytes],
    truth: pd.DataFrame,
    secrets: set[str],
    big_cells: set[str],
) -> None:
    at = run_page(demo_workspace, "carte")
    page = sent(at, downloads)
    ws = Workspace.open(demo_workspace)
    density = published.density(ws, settings=settings)
    drawn = check_map(page, density, truth, big_cells, settings)
    assert (drawn["level"] == "200m").any() and drawn["count"].isna().any()
    check_no_secret(page, secrets, big_cells)

    # a click on a hidden zone shows its label, not its count
    true = truth.groupby("zone")["n"].sum()
    hidden = density[density["status"] != PUBLISHED].drop_duplicates("status")
    assert len(hidden)
    for zone in hidden["zone"]:
        at.session_state[map_element(at).key] = {
            "last_active_drawing": {
                "type": "Feature",
                "properties": {"layer": "density", "zone": zone, **drawn.loc[zone].to_dict()},
            }
        }
        at.run()
        assert not at.exception, at.exception
        table = at.table[0].value  # the card: « Indicateur » as its index
        figures = (table.set_index("Indicateur") if "Indicateur" in table else table)["Valeur"]
        assert figures["Contacts (protégés)"] in (f"< {settings.k}", "secret"), zone
        clicked = sent(at, [])
        assert str(int(true[zone])) not in " ".join(figures.astype(str)), zone
        check_no_secret(clicked, secrets, big_cells)


@pytest.mark.parametrize(
    ("by", "value"), [(None, None), ("statut", "hors radars"), ("periode", None), ("sexe", "F")]
)
def test_the_contacts_page_sends_only_published_values(
    demo_workspace: Path,
    settings: Settings,
    downloads: list[bytes],
    truth: pd.DataFrame,
    secrets: set[str],
    big_cells: set[str],
    by: str | None,
    value: str | None,
) -> None:
    at = run_page(demo_workspace, "contacts")
    ws = Workspace.open(demo_workspace)
    if by is None:
        density, rows = published.density(ws, settings=settings), truth
    else:
        at.selectbox(key=Keys.W_CONTACTS_FILTER).set_value(by).run()
        values = at.selectbox(key=f"{Keys.W_CONTACTS_VALUE}_{by}")
        value = value or values.options[0]
        values.set_value(value).run()
        assert not at.exception, at.exception
        parts = published.density_by(ws, by, parts=list(values.options), settings=settings)
        density = parts[parts["part"] == value]
        rows = truth[truth[by] == value]
    page = sent(at, downloads)
    check_map(page, density, rows, big_cells, settings)
    check_no_secret(page, secrets, big_cells)


def test_the_where_and_when_page_sends_only_published_values(
    demo_workspace: Path,
    settings: Settings,
    downloads: list[bytes],
    secrets: set[str],
    big_cells: set[str],
) -> None:
    """Ranking, reasons, a zone's indicators, its weekday profile, the downloads."""
    start = len(downloads)
    at = run_page(demo_workspace, "ou_et_quand")
    page = sent(at, downloads[start:])
    assert len(downloads) - start == 3  # the ranking as CSV and GeoJSON, the zone as CSV
    check_no_secret(page, secrets, big_cells)
    ws = Workspace.open(demo_workspace)
    k = settings.k

    # the reasons name only the published contact figure of their zone
    communes = load_zones(ws, "commune")
    figures = protected_contacts(ws, communes, kind="commune", settings=settings)
    figures.index = communes["code"].astype(str)
    windows = default_windows(ws, settings=settings)
    assert windows is not None
    recent = ws.query(
        "SELECT commune, count(*) AS n FROM contacts WHERE date BETWEEN ? AND ? GROUP BY commune",
        (windows.recent[0].isoformat(), windows.recent[1].isoformat()),
    ).set_index("commune")["n"]
    ranking = next(f for f in page.frames if "pourquoi" in f.columns).set_index("code")
    said = re.compile(r"(\d[\d\u202f]*) contacts depuis|contacts depuis \d+ mois \((\d[\d\u202f]*)")
    hidden = 0
    for code, why in ranking["pourquoi"].items():
        row = figures.loc[code]
        numbers = {a or b for a, b in said.findall(why)}
        if row["contacts_recents_statut"] == PUBLISHED:
            assert numbers <= {row["contacts_recents_libelle"]}, (code, why)
        else:
            hidden += 1
            assert not numbers, (code, why)
            assert f"{int(recent.get(code, 0))} contacts" not in why, (code, why)
    assert hidden  # the demo has communes whose recent contacts are not published

    # the chosen zone's indicators and its weekday profile
    zone = at.selectbox(key=f"{Keys.W_PRIORITY_ZONE}_commune").value
    table = next(f for f in page.frames if "Indicateur" in f.columns).set_index("Indicateur")
    for label, column in (
        ("Contacts des 3 derniers mois (protégés)", "contacts_recents"),
        ("Contacts des 3 mois précédents (protégés)", "contacts_precedents"),
    ):
        value = figures.loc[zone, column]
        if pd.isna(value):  # a hidden figure is not listed
            assert label not in table.index, (zone, label)
        else:
            assert str(table.loc[label, "Valeur"]) == str(value), (zone, label)
    result = when(ws, zone, settings=settings, kind="commune")
    chart = next(f for f in page.frames if {"jour", "debut", "contacts"} <= set(f.columns))
    expected = result.profile.table.set_index(["jour", "debut"])["contacts"]
    got = chart.set_index(["jour", "debut"])["contacts"]
    pd.testing.assert_series_equal(
        pd.to_numeric(got).astype("Int64").sort_index(),
        expected.astype("Int64").sort_index(),
        check_names=False,
    )
    shown = expected.dropna()
    assert ((shown == 0) | (shown >= k)).all() and (shown % settings.rounding == 0).all()
    assert "part" not in chart.columns  # the blended shares stay on the server
    # the level the profile rests on: its published number of people, nothing else
    people = {format_number(lv.people) for lv in result.profile.levels if lv.people is not None}
    said = re.findall(r"\((\d[\d\u202f]*) personnes?\)", result.profile.basis)
    assert said and set(said) <= people, result.profile.basis
