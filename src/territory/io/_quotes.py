r"""Unclosed quotes in CSV files: the broken line harms only itself.

A cell written ``"Centre social`` with no closing quote makes every CSV parser read on,
through the line breaks, up to the next quote of the file: the rows in between merge into
one cell and vanish without a word (or the file fails at its end). :func:`scan_quotes`
finds such lines before the file is parsed, and gives the text with each of them
unquoted and cut to the header's number of fields, one row each, so that the reader
refuses that row (« guillemet non fermé ») and reads the others as usual.

A record spanning several lines is judged broken when its number of fields is not the
header's or when a line it swallowed holds a whole row's separators; a record is broken
too when the file ends inside it. A quoted cell with line breaks in it (a comment on two
lines) is kept.

Examples
--------
>>> scan = scan_quotes('nom;ville\n"Centre social;Caen\nMJC;Vire\n"Gare";Bayeux\n', ";")
>>> scan.lines, scan.text.splitlines()[1:3]
({0: 2}, ['Centre social;Caen', 'MJC;Vire'])
"""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from territory._errors import InputFileError

REASON = "guillemet non fermé"
"""The refusal reason of a row whose quote is never closed."""


@dataclass(frozen=True)
class QuoteScan:
    """The text to parse, and the data rows with an unclosed quote.

    ``lines`` maps each broken row's 0-based number among the data rows (blank lines not
    counted, as parsers skip them) to its 1-based line in the file.
    """

    text: str
    lines: dict[int, int] = field(default_factory=dict)

    def mark(
        self, reasons: npt.NDArray[np.object_] | None, start: int, n: int
    ) -> npt.NDArray[np.object_] | None:
        """The refusal reasons of rows ``start`` … ``start + n - 1`` ("": none), these added."""
        hits = [r for r in self.lines if start <= r < start + n]
        if not hits:
            return reasons
        out = np.full(n, "", dtype=object) if reasons is None else reasons.copy()
        for record in hits:
            out[record - start] = self.reason(record)
        return out

    def reason(self, record: int) -> str:
        """The refusal reason of a broken row, naming its line in the file."""
        return f"{REASON} (ligne {self.lines[record]} du fichier)"


def scan_quotes(text: str, sep: str) -> QuoteScan:
    """Find the rows whose quote is never closed (see the module's docstring)."""
    if '"' not in text:
        return QuoteScan(text)
    out: list[str] = []
    lines = iter(text.splitlines(keepends=True))
    broken = unquote_lines(lines, sep, out.append)
    return QuoteScan("".join(out), broken) if broken else QuoteScan(text)


def refuse_unclosed_quotes(text: str, sep: str, *, name: str, offset: int = 0) -> None:
    """Refuse a file with an unclosed quote, naming its line (readers that refuse files).

    ``offset`` is the number of lines of the file before ``text`` (titles above the header).
    """
    scan = scan_quotes(text, sep)
    if scan.lines:
        lines = ", ".join(str(n + offset) for n in list(scan.lines.values())[:5])
        raise InputFileError(
            f"{name} : {REASON} à la ligne {lines} (la cellule avalerait les lignes "
            "suivantes) : fermez ou retirez ce guillemet, puis importez le fichier à nouveau"
        )


def unquoted_copy(path: Path, encoding: str, sep: str, folder: Path) -> tuple[Path, str, QuoteScan]:
    """``path`` itself, or a UTF-8 copy in ``folder`` without its unclosed quotes.

    Returns the file to parse, its encoding, and the broken rows (``text`` left empty).
    The file is read line by line (memory holds one record), and only when it holds a
    quote; an undecodable file is left to the reader, which says so.
    """
    with path.open("rb") as fh:
        if not any(b'"' in block for block in iter(lambda: fh.read(1 << 20), b"")):
            return path, encoding, QuoteScan("")
    copy = folder / path.name
    try:
        with (
            path.open(encoding=encoding, newline="") as source,
            copy.open("w", encoding="utf-8", newline="") as target,
        ):
            broken = unquote_lines(iter(source), sep, target.write)
    except UnicodeError:
        return path, encoding, QuoteScan("")
    return (copy, "utf-8", QuoteScan("", broken)) if broken else (path, encoding, QuoteScan(""))


def unquote_lines(lines: Iterator[str], sep: str, out: Callable[[str], object]) -> dict[int, int]:
    """Copy the header and rows to ``out``, each broken row unquoted; the broken rows.

    Memory holds the lines of one record (a broken one: up to the next quote).
    """
    header = next(lines, "")
    out(header)
    try:
        width = max(len(next(csv.reader([header], delimiter=sep))), 1)
    except (StopIteration, csv.Error):
        width = 1
    pending: deque[str] = deque()  # lines read again after a broken row
    current: list[str] = []  # the lines of the record being read

    def feed() -> Iterator[str]:
        while (line := pending.popleft() if pending else next(lines, None)) is not None:
            current.append(line)
            yield line

    broken: dict[int, int] = {}
    records, line_no = 0, 2  # data rows written; 1-based line of the current record
    while True:
        reader = csv.reader(feed(), delimiter=sep)
        try:
            for fields in reader:
                if _open_at_end(fields, current) or (
                    len(current) > 1 and _swallowed(fields, current[1:], sep, width)
                ):
                    raise csv.Error(REASON)
                out("".join(current))
                records += bool(fields)
                line_no += len(current)
                current.clear()
        except csv.Error:  # swallowed rows, or the file ends inside a quoted cell
            if not current:
                break
            broken[records] = line_no
            out(_unquoted(current[0], sep, width))
            records, line_no = records + 1, line_no + 1
            pending.extendleft(reversed(current[1:]))
            current.clear()
            continue
        return broken
    return broken


def _swallowed(fields: list[str], continuation: list[str], sep: str, width: int) -> bool:
    """Whether a record of several lines swallowed rows (rather than holding line breaks)."""
    return len(fields) != width or any(
        line.count(sep) >= max(width - 1, 1) for line in continuation
    )


def _open_at_end(fields: list[str], lines: list[str]) -> bool:
    """Whether the file ended inside the record's last cell (its line break kept in it)."""
    return (
        bool(fields)
        and fields[-1].endswith(("\n", "\r"))
        and not lines[-1].rstrip("\r\n").endswith('"')
    )


def _unquoted(line: str, sep: str, width: int) -> str:
    """The line without quotes, cut into exactly ``width`` fields, as one CSV row."""
    body = line.rstrip("\r\n")
    fields = body.replace('"', "").split(sep)
    fields = [*fields[: width - 1], sep.join(fields[width - 1 :])] if width > 1 else [body]
    fields += [""] * (width - len(fields))
    out = io.StringIO()
    csv.writer(out, delimiter=sep, lineterminator="\n").writerow(fields)
    return out.getvalue()
