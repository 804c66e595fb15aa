"""Two sessions at once: each gets its own territory's map, and no cached object changes.

Streamlit runs every session of a server in its own thread of one process, and the
``st.cache_resource`` / ``st.cache_data`` caches are shared by all of them. A cached
object that a page changes (``st_folium`` renames and renders again a ``folium.Map``) is
changed by every session at once, without a lock: before the maps were cached rendered
(:mod:`territory.ui.mapview`), two sessions on one map failed with "OrderedDict mutated
during iteration" and every render changed what the cache held.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import re
import threading
import types
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import pytest
from conftest import map_args, map_element, map_text
from streamlit.testing.v1 import AppTest

from territory.store import Workspace
from territory.territories import list_territories, resolve
from territory.ui.state import Keys

APP = str(Path(__file__).resolve().parents[2] / "app.py")
COMMUNE_CODE = re.compile(r'"code":"(\d{5})"')


@contextlib.contextmanager
def one_server() -> Iterator[None]:
    """Let AppTests run in several threads at once, as the sessions of one server.

    AppTest runs one script at a time: around each run it installs a mock Runtime
    (``Runtime._instance``) and patches ``config.get_option``, then undoes both, so two
    runs in two threads undo each other's ("Runtime hasn't been created!"). In this
    block both are installed once (a server has one runtime for all its sessions) and
    AppTest's own swaps go to a stand-in.
    """
    from streamlit.runtime import Runtime
    from streamlit.testing.v1 import app_test
    from streamlit.testing.v1.util import patch_config_options

    runtime = mock.MagicMock(spec=Runtime)  # as AppTest makes it
    runtime.media_file_mgr = app_test.MediaFileManager(
        app_test.MemoryMediaFileStorage("/mock/media")
    )
    runtime.dataframe_source_mgr = app_test.DataframeSourceManager()
    runtime.cache_storage_manager = app_test.MemoryCacheStorageManager()
    components = app_test.BidiComponentManager()
    components.discover_and_register_components(start_file_watching=False)
    runtime.bidi_component_registry = components
    with (
        patch_config_options({"global.appTest": True}),
        mock.patch.object(Runtime, "_instance", runtime),
        mock.patch.object(app_test, "Runtime", types.SimpleNamespace(_instance=None)),
        mock.patch.object(app_test, "patch_config_options", lambda _: contextlib.nullcontext()),
    ):
        yield


def map_page(
    workspace: Path, territory: str | None, start: threading.Barrier | None = None
) -> AppTest:
    """The Carte page of one session with ``territory`` chosen, run twice (page, rerun)."""
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state[Keys.WORKSPACE] = str(workspace)
    at.session_state[Keys.TERRITORY] = territory
    if start is not None:
        start.wait()
    at.run()
    at.switch_page("app_pages/carte.py")
    at.run()
    assert not at.exception, at.exception
    return at.run()  # a rerun shows the cached map again


@pytest.fixture(scope="module")
def territories(demo_workspace: Path) -> dict[str, set[str]]:
    """The demo's first two territories (the town's EPCI, the rural belt) and their communes."""
    ws = Workspace.open(demo_workspace)
    names = [t.name for t in list_territories(ws)][:2]
    assert names == ["Agglomération de l'Ardoise", "Communes rurales"]
    return {name: set(resolve(ws, name)) for name in names}


def test_two_sessions_render_two_territories_at_once(
    demo_workspace: Path, territories: dict[str, set[str]]
) -> None:
    names = list(territories)
    assert territories[names[0]] != territories[names[1]]
    start = threading.Barrier(len(names))
    with one_server(), ThreadPoolExecutor(len(names)) as pool:
        pages = list(pool.map(lambda name: map_page(demo_workspace, name, start), names))
    for name, at in zip(names, pages, strict=True):
        assert not at.exception, at.exception
        assert at.session_state[Keys.TERRITORY] == name
        captions = [c.value for c in at.caption]
        assert f"Territoire : **{name}**" in captions, captions
        assert set(COMMUNE_CODE.findall(map_text(at))) == territories[name], name


def test_rendering_leaves_the_cached_map_unchanged(
    demo_workspace: Path, territories: dict[str, set[str]]
) -> None:
    """What the map cache hands out is the same before and after sessions showed it.

    Sessions one after the other and two at once.
    """
    from territory.cachekeys import data_key
    from territory.ui.loaders import cached_map, settings

    name = next(iter(territories))
    ws = Workspace.open(demo_workspace)
    arguments = (data_key(ws, None), settings().k, False, "", name)
    before = pickle.dumps(cached_map(*arguments))
    first = map_page(demo_workspace, name)
    with one_server(), ThreadPoolExecutor(2) as pool:  # two sessions on one map at once
        pages = list(pool.map(lambda _: map_page(demo_workspace, name), range(2)))
    assert pickle.dumps(cached_map(*arguments)) == before
    sent = [json.dumps(map_args(at), sort_keys=True) for at in (first, *pages)]
    assert len(set(sent)) == 1  # every session got the same map


def _both_ways(path: str, territory: str | None) -> None:
    """A map shown by st_folium, or rendered once then shown by show_map (AppTest script)."""
    import pickle

    import streamlit as st
    from streamlit_folium import st_folium

    from territory.cachekeys import data_key
    from territory.map import RETURNED_OBJECTS
    from territory.map.build import territory_map
    from territory.store import Workspace
    from territory.ui.loaders import cached_layers
    from territory.ui.mapview import render_map, show_map

    ws = Workspace.open(path)
    built = territory_map(cached_layers(data_key(ws, None), 11, territory))
    copy = pickle.loads(pickle.dumps(built))  # the same map, names included
    if st.session_state.get("way") == "st_folium":
        st_folium(
            built,
            key="m",
            height=500,
            use_container_width=True,
            returned_objects=list(RETURNED_OBJECTS),
        )
    else:
        show_map(render_map(copy), key="m", height=500, returned_objects=RETURNED_OBJECTS)


@pytest.mark.parametrize("territory", [None, "Communes rurales"])
def test_show_map_sends_what_st_folium_sends(demo_workspace: Path, territory: str | None) -> None:
    """The rendered map reaches the browser exactly as ``st_folium`` would send it.

    A streamlit-folium upgrade that changes the component's arguments fails here.
    """
    sent = {}
    for way in ("st_folium", "show_map"):
        at = AppTest.from_function(
            _both_ways, args=(str(demo_workspace), territory), default_timeout=120
        )
        at.session_state["way"] = way
        at.run()
        assert not at.exception, at.exception
        element = map_element(at)
        sent[way] = (element.key, element.proto.json_args, element.proto.special_args)
    assert sent["show_map"] == sent["st_folium"]
