"""The steering committee's outputs (issue #22): the A4 PDF pack and the XLSX workbook.

What it holds:

- ``tables``: the French tables every output lays out (the « Comparer » page, the PDF,
  the XLSX), read from a :class:`~territory.programme.compare.Comparison`, and the hash
  of a comparison's inputs printed in the PDF's footer;
- ``charts``: the Altair charts (funnel, monthly small multiples, QPV / rural / other),
  shown natively by Streamlit and turned into SVG without a browser (vl-convert) for the
  PDF;
- ``pdf``: the A4 pack, HTML and CSS paged media rendered by WeasyPrint (a synthesis,
  then one page per territory), the same bytes for the same comparison;
- ``xlsx``: the same tables as a workbook in French office formats (one sheet a table,
  numbers as numbers, months as dates, hidden values as text with a legend, a sources
  sheet), the same bytes for the same comparison;
- :func:`write_report`: the file of ``territory report``, PDF or XLSX by its suffix.

Nothing here counts people: every count comes published (protected) from
:func:`territory.programme.compare.compare`; a share or a rate is computed only from
published values (``privacy.md`` rule 6) and only where ``compare`` gives both.

Floor: with :mod:`territory.views` and :mod:`territory.export` (the outputs); it imports
:mod:`territory.programme` and the ground floor, never streamlit.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from territory._errors import ValidationError

if TYPE_CHECKING:
    from territory.programme.compare import Comparison

__all__ = ["REPORT_SUFFIXES", "check_suffix", "write_report"]

REPORT_SUFFIXES = (".pdf", ".xlsx")


def check_suffix(out: str | Path) -> str:
    """``out``'s suffix (``.pdf`` or ``.xlsx``), or a French :class:`~territory.ValidationError`."""
    suffix = Path(out).suffix.lower()
    if suffix not in REPORT_SUFFIXES:
        raise ValidationError(
            f"--out : extension « {Path(out).suffix or '(aucune)'} » non prise en charge ; "
            "donnez un fichier .pdf (dossier A4) ou .xlsx (classeur)"
        )
    return suffix


def write_report(comparison: Comparison, out: str | Path, *, k: int | None = None) -> int:
    """Write the pack (``.pdf``) or the workbook (``.xlsx``) to ``out``; returns its size.

    Raises :class:`~territory.ValidationError` (French) for another suffix, before
    anything is written. ``k`` (the disclosure threshold) is quoted in the reading notes.
    """
    out = Path(out)
    if check_suffix(out) == ".pdf":
        from territory.report.pdf import render_pdf

        data = render_pdf(comparison, k=k)
    else:
        from territory.report.xlsx import render_xlsx

        data = render_xlsx(comparison, k=k)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(out)  # never a half-written pack under the asked name
    return len(data)
