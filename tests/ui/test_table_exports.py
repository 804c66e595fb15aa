"""Tables: Streamlit's own CSV download is off, the pages offer French CSV downloads."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

CONFIG = Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml"


def test_the_tables_own_csv_download_is_switched_off() -> None:
    """``client.disableDataExport`` is set, and this Streamlit knows it (a rename fails here)."""
    from streamlit import config

    assert tomllib.loads(CONFIG.read_text(encoding="utf-8"))["client"]["disableDataExport"]
    option = config.get_config_options()["client.disableDataExport"]
    assert option.type is bool and option.scriptable


def _download(table: object) -> None:  # an AppTest script: no pandas name here
    from territory.ui.common import table_download

    table_download(
        "Tableau (CSV)", table, file_name="t.csv", key="k", workspace="w", headers={"n": "Nombre"}
    )


def test_table_download_writes_a_french_csv(monkeypatch) -> None:
    import streamlit as st

    sent: dict = {}
    monkeypatch.setattr(st, "download_button", lambda label, data, **kw: sent.update(kw, data=data))
    table = pd.DataFrame({"code": ["01004"], "n": [1.5]})
    at = AppTest.from_function(_download, args=(table,), default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    assert sent["data"]().decode("utf-8-sig") == "code;Nombre\r\n01004;1,5\r\n"
    assert (sent["file_name"], sent["mime"]) == ("t.csv", "text/csv")
