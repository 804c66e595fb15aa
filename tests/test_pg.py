"""The test server itself: a fresh database with PostGIS, and the one connection helper."""

from __future__ import annotations

import pytest

from territory import _pg
from territory._errors import WorkspaceError


def test_a_fresh_database_has_postgis(pg_database: str) -> None:
    with _pg.connect(pg_database) as con:
        (version,) = con.execute("SELECT postgis_lib_version()").fetchone() or ("",)
        (zone,) = con.execute("SHOW timezone").fetchone() or ("",)
    assert version.startswith("3.")
    assert zone == "UTC"


def test_an_unreachable_server_is_one_french_line_without_the_password() -> None:
    with pytest.raises(WorkspaceError) as info:
        _pg.connect("postgresql://u:s3cret@127.0.0.1:9/none", connect_timeout=2)
    assert "s3cret" not in str(info.value)
    assert "injoignable" in str(info.value)
