"""Workbooks with several sheets: which sheet a reader reads, and the report line saying so.

Teams keep notes, legends and pivot tables beside their data. A reader of spreadsheets
(``.xlsx``, ``.xlsm``, ``.xls``, ``.ods``) asks :func:`pick_sheet` which sheet to read:

* the sheet the user named (``sheet=``; an unknown name is refused, listing the sheets);
* else the only sheet that is not empty;
* else the only sheet whose first rows hold a header the reader recognises;
* else (none or several) the file is refused with the list of sheets and how to choose
  (:class:`~territory.SheetChoiceError`, whose ``sheets`` the page offers in a selectbox).

The report always says which sheet was read (:meth:`SheetPick.note`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import python_calamine

from territory._errors import InputFileError, SheetChoiceError

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
"""File extensions read as workbooks."""
HEADER_ROWS = 30
"""Rows of a sheet searched for a header (official workbooks open on titles)."""
_ERRORS = (ValueError, OSError, python_calamine.CalamineError)


@dataclass(frozen=True)
class SheetPick:
    """The sheet a reader reads, and the other non-empty sheets (ignored)."""

    name: str
    ignored: tuple[str, ...] = ()
    chosen: bool = False  # named by the user
    titles: int = 0  # rows above the header (an export's title lines), skipped

    def note(self) -> str:
        """The report line: the sheet read and the sheets ignored.

        Examples
        --------
        >>> SheetPick("Contacts", ("Notes", "Légende")).note()
        'feuille « Contacts » lue ; feuilles ignorées : « Notes », « Légende »'
        """
        text = f"feuille « {self.name} » lue"
        if self.titles:
            line = self.titles + 1
            text += f" (en-tête à la ligne {line}, ligne(s) de titre au-dessus ignorée(s))"
        if self.ignored:
            names = ", ".join(f"« {n} »" for n in self.ignored)
            text += f" ; feuille{'s' if len(self.ignored) > 1 else ''} ignorée"
            text += f"{'s' if len(self.ignored) > 1 else ''} : {names}"
        return text


def is_spreadsheet(path: Path) -> bool:
    """Whether ``path`` is read as a workbook (by its extension)."""
    return Path(path).suffix.lower() in SPREADSHEET_SUFFIXES


def sheet_names(path: Path) -> list[str]:
    """The names of the workbook's non-empty sheets, in order (French error if unreadable)."""
    return [name for name, _ in _heads(Path(path))]


def pick_sheet(
    path: Path,
    sheet: str | None = None,
    *,
    is_header: Callable[[Sequence[object]], bool],
    first_match: bool = False,
) -> SheetPick:
    """The sheet of ``path`` to read (see the module's docstring for the rules).

    Parameters
    ----------
    path
        The workbook.
    sheet
        The sheet the user chose, or None.
    is_header
        Whether a row (its cells) is a header the reader recognises.
    first_match
        With several sheets, take the first recognisable one (else the first) instead of
        refusing: official workbooks, whose data sheet is known to come first.

    Raises
    ------
    InputFileError
        Unreadable workbook, or every sheet empty.
    SheetChoiceError
        Unknown ``sheet``, or several (or no) candidate sheets and no choice.
    """
    path = Path(path)
    heads = _heads(path)
    names = [name for name, _ in heads]
    if not heads:
        raise InputFileError(f"{path.name} : toutes les feuilles du classeur sont vides")
    listed = ", ".join(f"« {n} »" for n in names)
    if sheet is not None:
        wanted = sheet.strip()
        match = [n for n in names if n == wanted] or [
            n for n in names if n.strip().casefold() == wanted.casefold()
        ]
        if not match:
            raise SheetChoiceError(
                f"{path.name} : pas de feuille « {wanted} » non vide (feuilles : {listed})", names
            )
        return _picked(heads, match[0], is_header, chosen=True)
    if len(names) == 1:
        return _picked(heads, names[0], is_header)
    with_header = [name for name, rows in heads if any(is_header(r) for r in rows)]
    if len(with_header) == 1 or first_match:
        name = (with_header or names)[0]  # first_match: no header → the caller names columns
        return _picked(heads, name, is_header)
    why = (
        "plusieurs feuilles ressemblent au tableau attendu"
        if with_header
        else "aucune feuille n'a les colonnes attendues"
    )
    raise SheetChoiceError(
        f"{path.name} : classeur de {len(names)} feuilles ({listed}) et {why} : choisissez "
        "la feuille à importer (--feuille NOM en ligne de commande, « Feuille à importer » "
        "dans l'application)",
        names,
    )


def _picked(
    heads: list[tuple[str, list[list[object]]]],
    name: str,
    is_header: Callable[[Sequence[object]], bool],
    *,
    chosen: bool = False,
) -> SheetPick:
    """The pick of sheet ``name``, with the title rows above its recognised header."""
    rows = dict(heads)[name]
    titles = next((i for i, row in enumerate(rows) if is_header(row)), 0)
    return SheetPick(name, tuple(n for n, _ in heads if n != name), chosen=chosen, titles=titles)


def read_sheet(path: Path, pick: SheetPick, *, header: bool = True) -> pd.DataFrame:
    """The picked sheet as text cells (``""`` when empty), under its header row, or all rows.

    With a header, the title rows above it are skipped and counted in
    ``table.attrs["titles"]`` (so that readers number the lines as in the file).
    """
    try:
        table = pd.read_excel(
            path,
            sheet_name=pick.name,
            header=pick.titles if header else None,
            dtype=str,
            keep_default_na=False,
            engine="calamine",
        )
    except _ERRORS as exc:
        raise InputFileError(f"{Path(path).name} illisible : {str(exc).splitlines()[0]}") from exc
    table.attrs["titles"] = pick.titles if header else 0
    return table


def _heads(path: Path) -> list[tuple[str, list[list[object]]]]:
    """Each non-empty sheet's name and first :data:`HEADER_ROWS` rows."""
    if not path.is_file():
        raise InputFileError(f"fichier introuvable : {path}")
    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        try:
            heads = []
            for name in book.sheet_names:
                sheet = book.get_sheet_by_name(name)
                rows: list[list[object]] = list(map(list, sheet.to_python(nrows=HEADER_ROWS)))
                # blank first rows: the whole sheet is looked at (rare)
                if _filled(rows) or (sheet.height > HEADER_ROWS and _filled(sheet.to_python())):
                    heads.append((str(name), rows))
        finally:
            book.close()
    except _ERRORS as exc:
        raise InputFileError(
            f"{path.name} n'est pas un tableur lisible : {str(exc).splitlines()[0]}"
        ) from exc
    return heads


def _filled(rows: Sequence[Sequence[object]]) -> bool:
    return any(str(c).strip() for row in rows for c in row)
