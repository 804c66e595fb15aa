"""Benchmark of the steering committee's outputs (issue #22): 12 territories, 1 M contacts.

On a workspace (in ``territory bench``: the département demo, 1 M contacts), the twelve
hubs and the programme of :mod:`bench.compare` (EPCIs dealt by size, targets per year).
Then, each in a freshly spawned Python process (imports done, nothing cached):

* **compare**: :func:`territory.programme.compare` over the whole programme;
* **the « Comparer » page**: its first load, then the median of reruns that change
  nothing (``AppTest``) — budget: a rerun ≤ 1 s after the first load;
* **the PDF pack**: :func:`territory.report.pdf.render_pdf` from the comparison (its first
  call, vl-convert's start included, then a second one, wall and CPU time) — budget
  ≤ 10 s; its page count and whether two renders gave the same bytes;
* **the XLSX**: :func:`territory.report.xlsx.render_xlsx`.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from bench._common import in_subprocess
from bench.compare import PROGRAMME

__all__ = ["PAGE_RERUN_BUDGET_S", "PDF_BUDGET_S", "pack_benchmark", "programme_of", "table"]

PAGE_RERUN_BUDGET_S = 1.0
PDF_BUDGET_S = 10.0
ROOT = Path(__file__).resolve().parents[1]


def programme_of(path: Path) -> list[str]:
    """The twelve hubs and their programme, as :mod:`bench.compare` defines them."""
    from bench.compare import prepare_programme

    return prepare_programme(path)


def _measure_compare_and_pack(path: str, secret: str) -> dict[str, Any]:
    from territory import Settings
    from territory.programme import compare
    from territory.report.pdf import render_pdf
    from territory.report.xlsx import render_xlsx
    from territory.store import Workspace

    settings = Settings(secret_path=Path(secret))
    ws = Workspace.open(path)
    start = time.perf_counter()
    comparison = compare(ws, PROGRAMME, settings=settings)
    compare_s = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    first = render_pdf(comparison, k=settings.k)
    pdf_first_s = time.perf_counter() - start
    pdf_first_cpu_s = time.process_time() - cpu
    start, cpu = time.perf_counter(), time.process_time()
    second = render_pdf(comparison, k=settings.k)
    pdf_s = time.perf_counter() - start
    pdf_cpu_s = time.process_time() - cpu  # what a busy shared machine inflates less
    start = time.perf_counter()
    render_xlsx(comparison, k=settings.k)
    xlsx_s = time.perf_counter() - start
    from io import BytesIO

    from pypdf import PdfReader

    return {
        "territories": len(comparison.programme.territories),
        "compare_s": compare_s,
        "pdf_first_s": pdf_first_s,
        "pdf_first_cpu_s": pdf_first_cpu_s,
        "pdf_s": pdf_s,
        "pdf_cpu_s": pdf_cpu_s,
        "pdf_pages": len(PdfReader(BytesIO(first)).pages),
        "pdf_bytes": len(first),
        "pdf_same_bytes": first == second,
        "xlsx_s": xlsx_s,
    }


def _measure_page(path: str, repeats: int) -> dict[str, Any]:
    import os

    from streamlit.testing.v1 import AppTest

    from territory.ui.state import Keys

    # the app opens only the workspaces of its folder: this one's (else the page measured
    # would be the error line « hors du dossier des espaces de travail »)
    os.environ["TERRITORY_WORKSPACES_DIR"] = str(Path(path).resolve().parent)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.session_state[Keys.WORKSPACE] = path
    at.session_state[Keys.W_COMPARE_PROGRAMME] = PROGRAMME  # not the demo's own programme
    at.run()
    start = time.perf_counter()
    at.switch_page("app_pages/comparer.py")
    at.run()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
    if at.exception:
        raise RuntimeError(f"comparer.py : {at.exception[0].message}")
    if at.error or not at.metric:  # a page that stopped on an error is not the page
        shown = at.error[0].value if at.error else "aucune carte affichée"
        raise RuntimeError(f"comparer.py : {shown}")
    return {"page_first_s": first, "page_rerun_s": statistics.median(times)}


def pack_benchmark(workspace: Path, *, secret: Path, repeats: int = 5) -> dict[str, Any]:
    """The figures of this module's docstring (``workspace`` gets the programme)."""
    programme_of(workspace)
    out: dict[str, Any] = {}
    figures = in_subprocess(_measure_compare_and_pack, (str(workspace), str(secret)), timeout=1800)
    out.update(figures or {"timeout": True})
    page = in_subprocess(_measure_page, (str(workspace), repeats), timeout=1800)
    out.update(page or {"page_timeout": True})
    out["pdf_budget_s"] = PDF_BUDGET_S
    out["page_rerun_budget_s"] = PAGE_RERUN_BUDGET_S
    return out


def table(figures: dict[str, Any]) -> str:
    """A Markdown table of the figures with their budgets."""

    def seconds(key: str, digits: int = 2) -> str:
        value = figures.get(key)
        return "—" if value is None else f"{value:.{digits}f}"

    same = "oui" if figures.get("pdf_same_bytes") else "non"
    rows = [
        ("territoires du programme", str(figures.get("territories", "—")), "—"),
        ("comparaison protégée (s)", seconds("compare_s"), "—"),
        ("page Comparer, premier chargement (s)", seconds("page_first_s"), "—"),
        (
            "page Comparer, réexécution (s)",
            seconds("page_rerun_s", 3),
            f"≤ {PAGE_RERUN_BUDGET_S:g}",
        ),
        ("dossier PDF, premier appel (s)", seconds("pdf_first_s"), f"≤ {PDF_BUDGET_S:g}"),
        ("dossier PDF, premier appel, temps CPU (s)", seconds("pdf_first_cpu_s"), "—"),
        ("dossier PDF, appel suivant (s)", seconds("pdf_s"), f"≤ {PDF_BUDGET_S:g}"),
        ("dossier PDF, appel suivant, temps CPU (s)", seconds("pdf_cpu_s"), "—"),
        ("pages du PDF, mêmes octets", f"{figures.get('pdf_pages', '—')}, {same}", "—"),
        ("classeur XLSX (s)", seconds("xlsx_s"), "—"),
    ]
    lines = ["| mesure | valeur | budget |", "|---|---:|---:|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)
