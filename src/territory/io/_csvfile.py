r"""CSV files as teams export them: encoding, separator, and title lines above the header.

Exports from case-management software often open with a title (« Extraction du
01/12/2026 ») and a blank line before the header. :func:`sniff` finds the header among the
first :data:`TITLE_LINES` lines (the first line holding a column the reader knows), and the
separator on that line; :func:`without_titles` gives the file from its header on, so the
parsers see an ordinary CSV. Readers add the title lines back to the line numbers they
report.

Examples
--------
>>> import tempfile
>>> from territory.io._validate import header_test
>>> with tempfile.TemporaryDirectory() as folder:
...     path = Path(folder) / "export.csv"
...     _ = path.write_text("Extraction du 01/12/2026\n\ndate;lieu\n01/11/2026;Caen\n")
...     sniff(path, is_header=header_test(["date"]))
CsvLayout(encoding='utf-8-sig', sep=';', titles=2)
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from territory._errors import InputFileError

__all__ = ["TITLE_LINES", "CsvLayout", "header", "numbered", "sniff", "without_titles"]

TITLE_LINES = 30
"""Lines looked at for the header (the lines above it are titles)."""
_HEAD_BYTES = 65536


@dataclass(frozen=True)
class CsvLayout:
    """How a CSV file is written: its encoding, separator, and lines above the header."""

    encoding: str
    sep: str
    titles: int = 0


def sniff(path: Path, *, is_header: Callable[[Sequence[object]], bool] | None = None) -> CsvLayout:
    """Encoding, separator and title lines, from the first 64 KB only (not the whole file).

    UTF-16 is recognised by its BOM (Excel's « Texte Unicode », tab-separated) or, without
    one, by the zero byte of every other byte; then UTF-8 (with or without BOM), else
    Windows-1252. The header is the first of the first :data:`TITLE_LINES` lines that
    ``is_header`` recognises (else the first line); the separator is the most frequent of
    ``;``, ``,`` and tab on it.
    """
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES)
    if not head.strip():
        raise InputFileError(f"{path.name} est vide")
    encoding = _utf16(head)
    if encoding is not None:
        text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head)
        if not text.strip():
            raise InputFileError(f"{path.name} est vide")
    else:
        try:
            # Not final: a character cut by the 64 KB limit is no reason to leave UTF-8.
            decoder = codecs.getincrementaldecoder("utf-8-sig")()
            text, encoding = decoder.decode(head, final=False), "utf-8-sig"
        except UnicodeDecodeError:
            text, encoding = head.decode("cp1252", errors="replace"), "cp1252"
    lines = io.StringIO(text).readlines()[:TITLE_LINES]
    titles = 0
    if is_header is not None:
        titles = next((i for i, ln in enumerate(lines) if is_header(re.split(r"[;,\t]", ln))), 0)
    first = lines[titles] if lines else ""
    return CsvLayout(encoding, max((";", ",", "\t"), key=first.count), titles)


def without_titles(path: Path, layout: CsvLayout, folder: Path) -> Path:
    """``path`` itself, or a copy (in a subfolder of ``folder``) that starts at the header line."""
    if not layout.titles:
        return path
    (folder / "sans-titres").mkdir(exist_ok=True)
    copy = folder / "sans-titres" / path.name
    with (
        path.open(encoding=layout.encoding, newline="") as source,
        copy.open("w", encoding=layout.encoding.replace("-sig", ""), newline="") as target,
    ):
        for _ in range(layout.titles):
            source.readline()
        shutil.copyfileobj(source, target)
    return copy


def header(path: Path, encoding: str, sep: str) -> list[str] | None:
    """Column names of the CSV's first line (None when it cannot be read here)."""
    with path.open(encoding=encoding, errors="strict", newline="") as fh:
        try:
            return next(csv.reader(fh, delimiter=sep))
        except (StopIteration, UnicodeError, csv.Error):
            return None


def _utf16(head: bytes) -> str | None:
    """``utf-16`` (BOM), ``utf-16-le`` / ``utf-16-be`` (no BOM, ASCII-rich text), or None."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    pairs = head[: len(head) // 2 * 2]
    if len(pairs) >= 4:
        even, odd = pairs[0::2], pairs[1::2]
        if odd.count(0) > 0.4 * len(odd) and not even.count(0):
            return "utf-16-le"
        if even.count(0) > 0.4 * len(even) and not odd.count(0):
            return "utf-16-be"
    return None


def numbered(chunks: Iterable[pd.DataFrame], titles: int) -> Iterator[pd.DataFrame]:
    """The chunks, the first one carrying ``attrs["titles"]`` (lines above the header)."""
    for index, chunk in enumerate(chunks):
        if index == 0 and titles:
            chunk.attrs["titles"] = titles
        yield chunk
