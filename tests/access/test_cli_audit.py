"""The command line's actions on a server's workspace are in the audit log (issue #24).

The pages write an audit line for each import, undo, purge, plan change and export; the
same actions made with ``territory …`` on the command line — in a user's session
(``TERRITORY_SESSION_TOKEN``) or as the operator (the owner's URL) — write theirs, once
the command succeeded. A failed command, a read-only command and a workspace file write
none.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from test_workspace_rls import ARDOISE, Programmes, programmes  # noqa: F401 - the fixture

from territory import _pg
from territory.access import audit
from territory.cli import main
from territory.settings import Settings

Run = Callable[..., tuple[int, str]]


@pytest.fixture
def territory(
    programmes: Programmes,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Run:
    """``territory ARGS`` as ``user`` (their session) or, with ``user=None``, the operator."""

    def run(*args: str, user: str | None) -> tuple[int, str]:
        monkeypatch.setenv("TERRITORY_DATABASE_URL", programmes.server.owner)
        monkeypatch.setenv("TERRITORY_APP_DATABASE_URL", programmes.server.app)
        if user is None:
            monkeypatch.delenv("TERRITORY_SESSION_TOKEN", raising=False)
        else:
            monkeypatch.setenv("TERRITORY_SESSION_TOKEN", programmes.tokens[user])
        code = main(list(args))
        return code, capsys.readouterr().err

    return run


def log(programmes: Programmes) -> list[audit.Entry]:  # noqa: F811
    with _pg.connect(programmes.server.owner) as con:
        return audit.entries(con)


def new_lines(before: list[audit.Entry], programmes: Programmes) -> list[audit.Entry]:  # noqa: F811
    return log(programmes)[: len(log(programmes)) - len(before)]


def test_a_chef_s_import_export_and_undo_from_the_command_line_are_logged(
    programmes: Programmes,  # noqa: F811
    territory: Run,
    tmp_path: Path,
) -> None:
    from territory.demo.sources import write_demo_sources

    sources = write_demo_sources(tmp_path / "sources")
    before = log(programmes)
    code, err = territory(
        "import", "contacts", str(sources.contacts), "--workspace", "demo",
        user="ardoise",
    )  # fmt: skip
    assert code == 0, err
    (line,) = new_lines(before, programmes)
    assert (line.who, line.action, line.workspace) == ("ardoise@prog.fr", "import", "demo")
    assert line.target == sources.contacts.name
    assert line.details == {"commande": "territory import"}

    before = log(programmes)
    out = tmp_path / "classement.csv"
    code, err = territory(
        "priorities", "--workspace", "demo", "--territory", ARDOISE, "--out", str(out),
        user="ardoise",
    )  # fmt: skip
    assert code == 0 and out.exists(), err
    (line,) = new_lines(before, programmes)
    assert (line.who, line.action, line.target) == ("ardoise@prog.fr", "export", out.name)

    # read only: the same ranking printed, no file handed out — no line
    before = log(programmes)
    code, err = territory(
        "priorities", "--workspace", "demo", "--territory", ARDOISE, user="ardoise"
    )
    assert code == 0, err
    assert new_lines(before, programmes) == []

    # the operator undoes the chef's batch: logged as the operator
    with _pg.connect(programmes.server.owner) as con:
        (batch,) = con.execute(
            "SELECT max(id) FROM demo.territory_batches WHERE author = 'ardoise@prog.fr'"
        ).fetchone()
    before = log(programmes)
    code, err = territory("batches", "undo", str(batch), "--workspace", "demo", user=None)
    assert code == 0, err
    (line,) = new_lines(before, programmes)
    assert (line.who, line.action, line.target) == ("operateur", "undo", f"lot {batch}")
    assert line.details == {"commande": "territory batches undo"}


def test_a_chef_s_week_planned_from_the_command_line_names_her_territory(
    programmes: Programmes,  # noqa: F811
    territory: Run,
) -> None:
    """Her session sees one territory: the week is planned there, and the line says so."""
    before = log(programmes)
    code, err = territory(
        "plan", "--workspace", "demo", "--week", "2026-W49", "--time-limit", "1",
        user="ardoise",
    )  # fmt: skip
    assert code == 0, err
    (line,) = new_lines(before, programmes)
    assert (line.who, line.action) == ("ardoise@prog.fr", "plan_change")
    assert line.details == {
        "commande": "territory plan",
        "semaine": "2026-W49",
        "territoire": ARDOISE,
    }


def test_a_failed_command_writes_no_line(
    programmes: Programmes,  # noqa: F811
    territory: Run,
    tmp_path: Path,
) -> None:
    broken = tmp_path / "contacts.csv"
    broken.write_bytes(b"\x00\x01 pas un CSV")
    before = log(programmes)
    code, err = territory(
        "import", "contacts", str(broken), "--workspace", "demo",
        user="ardoise",
    )  # fmt: skip
    assert code == 2 and "Traceback" not in err
    assert new_lines(before, programmes) == []
    # nor a command refused by the policies: the comité writes nothing
    code, err = territory("batches", "undo", "1", "--workspace", "demo", user="comite")
    assert code == 2
    assert new_lines(before, programmes) == []


def test_a_workspace_file_has_no_log_to_write(
    programmes: Programmes,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    demo_workspace: Path,
    tmp_path: Path,
    settings: Settings,
) -> None:
    monkeypatch.delenv("TERRITORY_DATABASE_URL", raising=False)
    monkeypatch.delenv("TERRITORY_SESSION_TOKEN", raising=False)
    before = log(programmes)
    out = tmp_path / "communes.geojson"
    code = main(["export", "communes", "--workspace", str(demo_workspace), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert out.exists() and new_lines(before, programmes) == []
