"""Every page of the demo in French: no internal name, no English number (issue #21).

Each page is run in an ``AppTest`` and everything it shows as text is read: titles,
paragraphs, captions, messages, metrics, widget labels and options, every cell and column
of its tables. Internal names (``stop_hours``, ``transit_links``: any ``snake_case`` word,
English partner type codes) and English number formats (« 1,020 », « 1.00 ») fail.
A browser test (``test_browser_french_text.py``) reads what only a browser shows (the
sliders' values, the map's tooltips and legend).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from territory.ui.state import LAZY_PANELS, Keys
from territory.vocab import PARTNER_TYPES

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGES = (
    "accueil",
    "carte",
    "contacts",
    "ou_et_quand",
    "tournees",
    "comparer",
    "donnees",
    "methodes",
)

INTERNAL = re.compile(
    r"\b[a-z]+_[a-z0-9_]+\b"  # snake_case: stop_hours, transit_links, opening_hours…
    r"|\b(?:" + "|".join(k for k in PARTNER_TYPES if len(k) > 3) + r")\b"  # PIJ_BIJ, AUTRE…
    r"|\b(?:privacy|analysis|rounds|views|territory)\.[a-z_]+"  # module names
)
ENGLISH_NUMBER = re.compile(r"(?<![\d,.])\d{1,3}(?:,\d{3})+(?![\d,])|(?<![\w.])\d+\.\d+\b")
ALLOWED = re.compile(
    r"https?://\S+|\b[\w.-]+\.(?:gpkg|csv|geojson|zip|json|pdf|ics|txt)\b"  # addresses, files
    r"|\bterritory [a-z-]+(?: [a-z-]+)*|--[a-z-]+|\bTERRITORY_[A-Z_]+\b|\bEPSG:\d+\b"  # commands
    r"|\bCRS3035RES\w+"  # INSEE cell ids
)


def bad_words(text: str) -> list[str]:
    """Internal names and English numbers in a text shown to people.

    Examples
    --------
    >>> bad_words("Table stop_hours : 1,020 départs, 1.00 en moyenne ; 1 020 et 1,5")
    ['stop_hours', '1,020', '1.00']
    """
    kept = ALLOWED.sub(" ", text)
    return [m.group(0) for m in re.finditer(f"{INTERNAL.pattern}|{ENGLISH_NUMBER.pattern}", kept)]


def texts(at: AppTest) -> Iterator[tuple[str, str]]:
    """(where, text) of everything a page shows as text."""
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "info",
        "warning",
        "success",
        "error",
        "exception",
        "latex",
        "code",
    ):
        for element in getattr(at, kind, []):
            yield kind, str(element.value)
    for metric in at.metric:
        yield "metric", f"{metric.label} {metric.value}"
    for kind in (
        "button",
        "checkbox",
        "toggle",
        "radio",
        "selectbox",
        "multiselect",
        "select_slider",
        "slider",
        "text_input",
        "number_input",
        "date_input",
        "text_area",
        "time_input",
        "tabs",
        "expander",
    ):
        for widget in getattr(at, kind, []):
            yield kind, str(getattr(widget, "label", ""))
            for option in getattr(widget, "options", []) or []:
                yield f"{kind} option", str(option)
    for kind in ("table", "dataframe"):
        for element in getattr(at, kind):
            frame = element.value
            if not isinstance(frame, pd.DataFrame):
                continue
            labels = _column_labels(element)
            shown = [c for c in frame.columns if labels.get(str(c), "") is not None]
            yield f"{kind} columns", " ; ".join(labels.get(str(c)) or str(c) for c in shown)
            for column in shown:
                values = frame[column]
                if values.dtype == object or pd.api.types.is_string_dtype(values):
                    yield f"{kind} {column}", " ; ".join(map(str, values.dropna().unique()))


def _column_labels(element: Any) -> dict[str, str | None]:
    """A table's column headers as shown: its column config's labels (None: hidden)."""
    proto = getattr(element, "proto", None)
    config = json.loads(getattr(proto, "columns", "") or "{}")
    return {
        name: None if c.get("hidden") else c.get("label")
        for name, c in config.items()
        if isinstance(c, dict)
    }


def walk(workspace: Path) -> Iterator[tuple[str, str, str]]:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[Keys.WORKSPACE] = str(workspace)
    for panel in LAZY_PANELS:  # every panel open: its text read too
        at.session_state[panel] = True
    at.run()
    for page in PAGES:
        if page != "accueil":
            at.switch_page(f"app_pages/{page}.py")
        at.run()
        assert not at.exception, (page, at.exception)
        for where, text in texts(at):
            yield page, where, text


@pytest.fixture(scope="module")
def shown(demo_workspace: Path) -> list[tuple[str, str, str]]:
    return list(walk(demo_workspace))


def test_the_walk_reads_every_page(shown: list[tuple[str, str, str]]) -> None:
    pages = {page for page, _, _ in shown}
    assert pages == set(PAGES)
    assert any("dataframe" in where or "table" in where for _, where, _ in shown)


def test_no_internal_name_nor_english_number_on_any_page(
    shown: list[tuple[str, str, str]],
) -> None:
    found = [(page, where, bad_words(text)) for page, where, text in shown if bad_words(text)]
    assert not found, found


def test_the_check_fails_on_what_the_issue_saw() -> None:
    """The walk's rules catch the issue's examples (a check that cannot fail is none)."""
    assert bad_words("Couche stop_hours") == ["stop_hours"]
    assert bad_words("transit_links") == ["transit_links"]
    assert bad_words("1,020 contacts") == ["1,020"] and bad_words("poids 1.00") == ["1.00"]
    assert bad_words("type PREVENTION") == ["PREVENTION"]
    assert bad_words("protégé par privacy.protect") == ["privacy.protect"]
    assert not bad_words("1\u202f020 contacts, 1,00 ; demo.gpkg ; territory demo --workspace")
