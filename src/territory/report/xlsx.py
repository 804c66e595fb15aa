"""The comparison as an XLSX workbook in French office formats.

One sheet a table (entonnoir, cibles, taux, zones, tendances, sorties, tournées), then
the notes and the sources, after a « Lisez-moi » sheet with the legend. Numbers are
numbers with formats a French spreadsheet shows as ``1 230``, ``22 %``, ``58,6``; months
and estimated dates are dates; a hidden value is the text « secret » or « < k » in an
orange italic cell (never a number, never an empty cell that would read as zero).

The same comparison gives the same bytes: XlsxWriter writes fixed zip timestamps and the
document's properties are fixed (created at the programme's start, no author).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from territory._fr import MONTHS_FR
from territory.report.tables import inputs_hash, period_label

if TYPE_CHECKING:
    from territory.programme.compare import Comparison

__all__ = ["SHEETS", "month_date", "render_xlsx"]

SHEETS = (
    "Lisez-moi",
    "Entonnoir",
    "Cibles",
    "Taux",
    "Zones",
    "Tendances",
    "Sorties",
    "Tournées",
    "Notes",
    "Sources",
)

_MONTHS_FR = {name: i + 1 for i, name in enumerate(MONTHS_FR)}
_LEGEND = (
    "« secret » ou « < k » : valeur masquée pour protéger les personnes (moins de k "
    "personnes, ou masquage secondaire pour qu'aucune valeur masquée ne se déduise des "
    "autres) ; « — » : pas de valeur (dénominateur absent, pas de cible)."
)


def month_date(text: str) -> date | None:
    """``"2026-03"`` or ``"mars 2027"`` → the month's first day; None for anything else.

    Examples
    --------
    >>> month_date("2026-03"), month_date("mars 2027"), month_date("non atteinte")
    (datetime.date(2026, 3, 1), datetime.date(2027, 3, 1), None)
    """
    text = str(text).strip()
    year, _, month = text.partition("-")
    if year.isdigit() and month.isdigit() and len(year) == 4:
        return date(int(year), int(month), 1)
    words = text.lower().split()
    if len(words) == 2 and words[0] in _MONTHS_FR and words[1].isdigit():
        return date(int(words[1]), _MONTHS_FR[words[0]], 1)
    return None


class _Sheets:
    """The workbook's formats and a writer of one table a sheet."""

    def __init__(self, workbook: Any) -> None:
        self.book = workbook
        self.header = workbook.add_format(
            {"bold": True, "bg_color": "#EEF2F7", "bottom": 1, "text_wrap": True, "valign": "top"}
        )
        self.title = workbook.add_format({"bold": True, "font_size": 14, "font_color": "#1F4E79"})
        self.legend = workbook.add_format({"italic": True, "font_color": "#555555"})
        self.hidden = workbook.add_format(
            {"italic": True, "font_color": "#8A4B00", "align": "right"}
        )
        self.formats = {
            "int": workbook.add_format({"num_format": "#,##0"}),
            "dec": workbook.add_format({"num_format": "#,##0.0"}),
            "pct": workbook.add_format({"num_format": "0%"}),
            "month": workbook.add_format({"num_format": "mmmm yyyy", "align": "left"}),
            "text": workbook.add_format({"text_wrap": False}),
        }

    def table(
        self,
        name: str,
        title: str,
        frame: pd.DataFrame,
        kinds: dict[str, str],
        *,
        shown: dict[str, str] | None = None,
        widths: Sequence[int] = (),
    ) -> None:
        """Write ``frame`` under a title and the legend; ``kinds`` gives each column's format.

        ``shown`` maps a number column to the column holding its published text: where
        the number is missing, that text (« secret », « < k ») is written instead.
        """
        sheet = self.book.add_worksheet(name)
        sheet.write_string(0, 0, title, self.title)
        sheet.write_string(1, 0, _LEGEND, self.legend)
        columns = [c for c in frame.columns if c not in (shown or {}).values()]
        for j, column in enumerate(columns):
            sheet.write_string(3, j, str(column), self.header)
            width = widths[j] if j < len(widths) else max(12, min(40, len(str(column)) + 2))
            sheet.set_column(j, j, width)
        for i, row in enumerate(frame.to_dict("records")):
            for j, column in enumerate(columns):
                self._cell(
                    sheet, 4 + i, j, row[column], kinds.get(column, "text"), row, column, shown
                )
        if len(frame):
            sheet.autofilter(3, 0, 3 + len(frame), len(columns) - 1)
        sheet.freeze_panes(4, 1)

    def _cell(
        self,
        sheet: Any,
        i: int,
        j: int,
        value: Any,
        kind: str,
        row: dict[str, Any],
        column: str,
        shown: dict[str, str] | None,
    ) -> None:
        missing = value is None or (not isinstance(value, str) and pd.isna(value))
        if missing:
            text = str(row[shown[column]]) if shown and column in shown else "—"
            sheet.write_string(i, j, text, self.hidden)
        elif kind in ("int", "dec", "pct"):
            sheet.write_number(i, j, float(value), self.formats[kind])
        elif kind == "month":
            day = month_date(str(value))
            if day is None:
                sheet.write_string(i, j, str(value) or "—")
            else:
                sheet.write_datetime(i, j, datetime(day.year, day.month, 1), self.formats[kind])
        else:
            sheet.write_string(i, j, str(value))


def render_xlsx(comparison: Comparison, *, k: int | None = None) -> bytes:
    """The workbook's bytes; the same comparison gives the same bytes."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    start = comparison.programme.start
    book.set_properties(
        {
            "title": f"{comparison.programme.name} — comité de pilotage",
            "subject": period_label(comparison),
            "author": "",
            "company": "",
            "comments": f"Empreinte des données publiées : {inputs_hash(comparison)}",
            "created": datetime(start.year, start.month, start.day),
        }
    )
    sheets = _Sheets(book)
    _readme(book, sheets, comparison, k)
    sheets.table(
        "Entonnoir",
        "Parcours des jeunes par territoire (personnes, valeurs protégées)",
        comparison.funnel,
        {"Personnes": "int", "Part de l'étape précédente": "pct"},
        shown={"Personnes": "Affiché"},
        widths=(26, 20, 12, 16),
    )
    sheets.table(
        "Cibles",
        "Cibles et réalisé",
        comparison.targets,
        {
            "Cible": "int",
            "Réalisé": "int",
            "Avancement": "pct",
            "Date d'atteinte estimée": "month",
        },
        widths=(26, 20, 10, 10, 10, 12, 26),
    )
    sheets.table(
        "Taux",
        "Taux pour 1 000, avec leur dénominateur, sa source et son millésime",
        comparison.rates,
        {"Numérateur": "int", "Dénominateur": "int", "Pour 1 000": "dec"},
        widths=(26, 44, 12, 13, 30, 40, 10, 11),
    )
    sheets.table(
        "Zones",
        "QPV, communes rurales et autres zones",
        comparison.zones,
        {"Personnes": "int"},
        shown={"Personnes": "Affiché"},
        widths=(26, 14, 20, 12),
    )
    sheets.table(
        "Tendances",
        "Évolution mensuelle",
        comparison.trends,
        {"Mois": "month", "Personnes": "int"},
        shown={"Personnes": "Affiché"},
        widths=(26, 14, 20, 12),
    )
    sheets.table(
        "Sorties",
        "Sorties de parcours par classe",
        comparison.exits,
        {"Personnes": "int"},
        shown={"Personnes": "Affiché"},
        widths=(26, 22, 12),
    )
    from territory.report.tables import rounds_table

    sheets.table(
        "Tournées",
        "Tournées : visites prévues et faites, heures de terrain (plans, pas des personnes)",
        rounds_table(comparison),
        {
            "Visites prévues": "int",
            "Visites faites": "int",
            "Part des visites faites": "pct",
            "Heures de terrain": "dec",
        },
        widths=(26, 14, 14, 14, 14),
    )
    sheets.table(
        "Notes",
        "Notes : ce qui est masqué et pourquoi",
        pd.DataFrame({"Note": list(comparison.notes)}),
        {},
        widths=(120,),
    )
    sheets.table("Sources", "Sources et millésimes", comparison.sources, {}, widths=(34, 50, 12))
    book.close()
    return buffer.getvalue()


def _readme(book: Any, sheets: _Sheets, comparison: Comparison, k: int | None) -> None:
    sheet = book.add_worksheet("Lisez-moi")
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 90)
    sheet.write_string(0, 0, comparison.programme.name, sheets.title)
    lines = [
        ("Période", period_label(comparison)),
        ("Territoires", ", ".join(comparison.programme.territories)),
        ("Légende", _LEGEND),
        (
            "Protection",
            "Chaque nombre de personnes est publié après contrôle de divulgation "
            "(seuil sur les personnes distinctes"
            + (f", k = {k}" if k else "")
            + ", perturbation par clé de cellule, arrondi à 5, masquage secondaire).",
        ),
        ("Empreinte", inputs_hash(comparison)),
        ("Feuilles", ", ".join(SHEETS[1:])),
    ]
    for i, (label, text) in enumerate(lines, start=2):
        sheet.write_string(i, 0, label, sheets.header)
        sheet.write_string(i, 1, text)
