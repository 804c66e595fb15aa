"""The package's import rules, read from the code (ARCHITECTURE.md explains them).

Each rule is checked on the real tree, and once on a small tree that breaks it on purpose,
so that a rule which no longer catches anything fails too.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

# Floors of the pipeline, lowest first: a module imports from its own floor or below.
FLOORS: tuple[tuple[str, ...], ...] = (
    (
        "territory",
        "territory._errors",
        "territory.settings",
        "territory.vocab",
        "territory.crs",
        "territory._fr",
        "territory.hours",
        "territory.calendar",
        "territory.travel",
        "territory.roads",
        "territory.grid",
        "territory._gpkg",
        "territory._pg",
        "territory._layout",
        "territory.access",
        "territory.store",
        "territory._pgcopy",
        "territory._pgstore",
        "territory._pgrls",
        "territory._pgimport",
        "territory.batches",
        "territory.territories",
        "territory.cachekeys",
    ),
    ("territory.privacy",),
    ("territory.io",),
    ("territory.analysis",),
    ("territory.rounds",),
    ("territory.programme",),
    ("territory.map",),
    (
        "territory.views",
        "territory.cards",
        "territory.ingest",
        "territory.ingest_transit",
        "territory.ingest_roads",
        "territory.fetch",
        "territory.export",
        "territory.report",
        "territory.evaluation",
        "territory.api",
        "territory.runs",
    ),
    (
        "territory.demo",
        "territory.cli",
        "territory.cli_programme",
        "territory.cli_analysis",
        "territory.cli_oidc",
        "territory.cli_access",
        "territory.cli_db",
    ),
    ("territory.ui",),
)

# Folders that must not import others, whatever their floors (issue #17).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "territory.map": (
        "territory.analysis",
        "territory.io",
        "territory.rounds",
        "territory.privacy",
    ),
    "territory.analysis": ("territory.io", "territory.rounds", "territory.map", "territory.ui"),
    "territory.privacy": ("territory.io", "territory.analysis", "territory.rounds"),
}

# Arrows against the floors, each justified in ARCHITECTURE.md ("Exceptions").
ALLOWED_UPWARD: frozenset[tuple[str, str]] = frozenset()

RAW_READER = "territory.privacy.raw"
ENGINE = "territory.store"  # the storage engine: generic tables, triggers, counts
CONTACT_TABLES = ("contacts", "territory_counts_contacts")
_CONTACT_SQL = re.compile(
    r"\b(from|join|into|update|table)\s+\"?(territory_counts_)?contacts\b"
    r"|\bterritory_counts_contacts\b",
    re.IGNORECASE,
)
_ROW_METHODS = {
    "read_table",
    "read_layer",
    "group_counts",
    "delete_rows",
    "appending",
    "write_table",
    "query",
}
ONLY_IN = {"streamlit": ("territory.ui",), "streamlit_folium": ("territory.ui",), "playwright": ()}


@dataclass(frozen=True)
class Import:
    """One import statement: who imports what, at which line, at module level or not."""

    module: str
    target: str
    line: int
    top_level: bool


def module_name(path: Path, src: Path) -> str:
    """Dotted name of a source file under ``src``."""
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources(src: Path) -> dict[str, Path]:
    """Every module of the ``territory`` package under ``src``, by dotted name."""
    return {module_name(p, src): p for p in sorted((src / "territory").rglob("*.py"))}


def imports(name: str, path: Path, known: set[str]) -> Iterator[Import]:
    """The imports of one module, resolved (``from a import b``: ``a.b`` when it is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            subs = [f"{base}.{alias.name}" for alias in node.names]
            targets = [s for s in subs if s in known] or [base]
        else:
            continue
        for target in targets:
            yield Import(name, target, node.lineno, id(node) in top)


def graph(src: Path) -> list[Import]:
    """Every import of every module of the package."""
    mods = sources(src)
    return [imp for name, path in mods.items() for imp in imports(name, path, set(mods))]


def floor(name: str) -> int | None:
    """Index of the floor of a ``territory`` module (None outside the package)."""
    best: tuple[int, int] | None = None
    for index, members in enumerate(FLOORS):
        for prefix in members:
            if name == prefix or name.startswith(prefix + "."):
                if prefix == "territory" and name != "territory":
                    continue
                if best is None or len(prefix) > best[1]:
                    best = (index, len(prefix))
    return None if best is None else best[0]


def within(name: str, prefix: str) -> bool:
    """Whether module ``name`` is ``prefix`` or inside it."""
    return name == prefix or name.startswith(prefix + ".")


def upward_arrows(edges: list[Import]) -> list[str]:
    """Imports of a module from a higher floor, or from a folder it must not import."""
    problems = []
    for e in edges:
        if not e.target.startswith("territory"):
            continue
        here, there = floor(e.module), floor(e.target)
        if here is None or there is None:
            problems.append(f"{e.module}:{e.line} imports {e.target}: module outside every floor")
            continue
        if there > here and (e.module, e.target) not in ALLOWED_UPWARD:
            problems.append(f"{e.module}:{e.line} imports {e.target} (floor {there} > {here})")
        for folder, banned in FORBIDDEN.items():
            if within(e.module, folder):
                problems += [
                    f"{e.module}:{e.line} imports {e.target} ({folder} may not import {b})"
                    for b in banned
                    if within(e.target, b)
                ]
    return problems


def cycles(edges: list[Import]) -> list[list[str]]:
    """Strongly connected components of more than one module (lazy imports included)."""
    nodes = {e.module for e in edges} | {e.target for e in edges}
    succ: dict[str, set[str]] = {n: set() for n in nodes}
    for e in edges:
        # a package's __init__ is run by importing any of its modules: not an arrow back
        if e.target.startswith("territory") and not within(e.module, e.target):
            succ[e.module].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(succ[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return found


def contact_readers(src: Path) -> list[str]:
    """Places outside ``privacy/raw`` (and the storage engine) that touch the contact tables."""
    problems = []
    for name, path in sources(src).items():
        if name in (RAW_READER, ENGINE):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and _CONTACT_SQL.search(node.value)
            ):
                problems.append(f"{name}:{node.lineno} SQL on the contact tables")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _ROW_METHODS
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value in CONTACT_TABLES
            ):
                problems.append(f"{name}:{node.lineno} {node.func.attr}({node.args[0].value!r})")
    return problems


PARCOURS_OWNER = "territory.privacy.parcours"
_PARCOURS_SQL = re.compile(r"\b(from|join|into|update|table)\s+\"?parcours\b", re.IGNORECASE)


def parcours_readers(src: Path) -> list[str]:
    """Places outside ``privacy/parcours`` that touch the person-level ``parcours`` table."""
    problems = []
    for name, path in sources(src).items():
        if name in (PARCOURS_OWNER, ENGINE):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and _PARCOURS_SQL.search(node.value)
            ):
                problems.append(f"{name}:{node.lineno} SQL on the parcours table")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {*_ROW_METHODS, "read_arrow"}
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value == "parcours"
            ):
                problems.append(f"{name}:{node.lineno} {node.func.attr}('parcours')")
    return problems


def third_party_rules(edges: list[Import]) -> list[str]:
    """Streamlit only in ``territory.ui``; playwright nowhere in the package."""
    problems = []
    for e in edges:
        root = e.target.split(".")[0]
        if root in ONLY_IN and not any(within(e.module, ok) for ok in ONLY_IN[root]):
            problems.append(f"{e.module}:{e.line} imports {e.target}")
    return problems


def shared_paths(src: Path) -> list[str]:
    """String constants in the package that lead to the ``../shared`` folder."""
    problems = []
    for name, path in sources(src).items():
        problems.extend(
            f"{name}:{node.lineno} {node.value!r}"
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and re.search(r"(^|[/\\])\.\./shared\b|^shared$", node.value)
        )
    return problems


def all_problems(src: Path) -> list[str]:
    """Every broken rule of the tree under ``src``."""
    edges = graph(src)
    return (
        upward_arrows(edges)
        + [f"import cycle: {' → '.join(c)}" for c in cycles(edges)]
        + contact_readers(src)
        + parcours_readers(src)
        + third_party_rules(edges)
        + shared_paths(src)
    )


# ------------------------------------------------------------------------------ the tree


def test_every_module_has_a_floor() -> None:
    assert [n for n in sources(SRC) if floor(n) is None] == []


def test_no_import_against_the_pipeline() -> None:
    assert upward_arrows(graph(SRC)) == []


def test_no_import_cycle() -> None:
    assert cycles(graph(SRC)) == []


def test_only_privacy_raw_reads_the_contact_tables() -> None:
    assert contact_readers(SRC) == []


def test_only_privacy_parcours_reads_the_parcours_table() -> None:
    assert parcours_readers(SRC) == []


def test_streamlit_only_in_ui_and_playwright_only_in_bench() -> None:
    assert third_party_rules(graph(SRC)) == []


def test_nothing_in_the_package_leads_to_shared() -> None:
    assert shared_paths(SRC) == []


def test_every_subpackage_says_what_it_holds_and_exports() -> None:
    for init in sorted((SRC / "territory").rglob("__init__.py")):
        tree = ast.parse(init.read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), f"{init} has no docstring"
        names = {
            t.id
            for node in tree.body
            if isinstance(node, ast.Assign | ast.AnnAssign)
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(t, ast.Name)
        }
        assert "__all__" in names, f"{init} has no __all__"


def test_no_module_over_1200_lines_and_no_javascript_in_python() -> None:
    long = {}
    for path in sorted((SRC / "territory").rglob("*.py")):
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines > 1200:
            long[str(path.relative_to(SRC))] = lines
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
            ):
                assert not re.search(
                    r"\bfunction\s*\w*\s*\(|=>\s*\{|\bvar\s+\w+\s*=", node.value
                ), f"JavaScript in {path.relative_to(SRC)}:{node.lineno}"
    assert long == {}


def test_light_imports_stay_light() -> None:
    """``import territory`` and the command line's ``--help`` load no heavy library."""
    code = (
        "import sys, territory, territory.cli\n"
        "heavy = {'geopandas', 'folium', 'streamlit', 'ortools', 'scipy', 'pandas'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------- the rules catch breakage


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    src = tmp_path / "src"
    for name, text in {"territory/__init__.py": '"""t."""\n__all__ = []\n', **files}.items():
        path = src / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for folder in {p.parent for p in src.rglob("*.py")}:
        (folder / "__init__.py").touch()
    return src


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"territory/map/build.py": "from territory.analysis import priority\n"}, "may not"),
        ({"territory/analysis/a.py": "from territory.io.contacts import X\n"}, "may not"),
        ({"territory/io/x.py": "def f():\n    import territory.rounds.week\n"}, "floor 4 > 2"),
        ({"territory/views.py": "import streamlit as st\n"}, "streamlit"),
        ({"territory/cli.py": "from playwright.sync_api import sync_playwright\n"}, "playwright"),
        (
            {
                "territory/analysis/s.py": (
                    'def f(ws):\n    return ws.query("SELECT * FROM contacts")\n'
                )
            },
            "SQL on the contact tables",
        ),
        (
            {"territory/views.py": 'def f(ws):\n    return ws.group_counts("contacts")\n'},
            "group_counts",
        ),
        (
            {
                "territory/io/a.py": "from territory.io import b\n",
                "territory/io/b.py": "def f():\n    from territory.io import a\n",
            },
            "import cycle",
        ),
        ({"territory/fetch.py": 'DATA = "../shared/data/real"\n'}, "../shared"),
        (
            {"territory/programme/c.py": 'def f(ws):\n    return ws.read_table("parcours")\n'},
            "read_table('parcours')",
        ),
    ],
)
def test_a_broken_rule_is_caught(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    problems = all_problems(_tree(tmp_path, files))
    assert any(expected in p for p in problems), problems


def test_the_tests_have_one_conftest_module() -> None:
    """A second ``conftest.py`` under tests/ shadows the first for ``from conftest import …``.

    Test modules import helpers from ``tests/conftest.py`` by module name; pytest imports a
    sub-folder's ``conftest.py`` under the same name, so every such import collected after
    it fails (it happened twice). Shared fixtures go in ``tests/conftest.py``, helpers in a
    module of their own (``tests/access_server.py``, ``tests/proconnect_mock.py``).
    """
    tests = Path(__file__).resolve().parent
    assert sorted(p.relative_to(tests) for p in tests.rglob("conftest.py")) == [Path("conftest.py")]
