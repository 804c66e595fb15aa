"""INSEE census population by age, by IRIS or by commune (the need's denominators).

Reads the files INSEE publishes from the census (« recensement de la population », RP):

* the **« Base infracommunale » by IRIS** (``base-ic-evol-struct-pop-2021``,
  ``base-ic-diplomes-formation-2021``, ``base-ic-activite-residents-2021``): columns
  ``IRIS``, ``COM`` and ``P21_…`` counts; IRIS rows are summed into their commune, and
  kept as they are (IRIS geometries are not imported, so sub-commune zones are still
  estimated from the commune figures by area);
* the **commune-level** bases (``base-cc-evol-struct-pop-2021``…): ``CODGEO`` and the
  same ``P21_…`` counts.

CSV separated by ``;`` (INSEE's own) or XLSX with title rows (the header is the row
holding ``P{yy}_POP``, see :func:`territory.io._validate.read_tabular`). Counts are
weighted census estimates: decimals are kept.

The bands read (``{yy}`` the census year, the latest one when a file holds several):

============ ================================================================
``pop``      ``P{yy}_POP``
``pop_1529`` ``P{yy}_POP1529`` (« évolution et structure de la population »), else
             ``P{yy}_POP1524 + P{yy}_POP2529``, else
             ``P{yy}_POP1517 + P{yy}_POP1824 + P{yy}_POP2529`` (« diplômes - formation »)
``pop_1524`` ``P{yy}_POP1524`` (« activité des résidents »), else
             ``P{yy}_POP1517 + P{yy}_POP1824``
``neet_1524`` young people aged 15-24 neither in employment nor in education: **not a
             column of the INSEE bases** (they give employment and schooling separately,
             and summing them would count working students twice). Read only from a
             column named ``P{yy}_NEET1524``, ``NEET1524``, ``NB_NEET_1524`` or
             ``JEUNES_NON_INSERES`` (a count, e.g. from the Observatoire des territoires
             indicator « part des jeunes non insérés » times its denominator).
============ ================================================================

The vintage is the census year of the columns: ``P21_`` → ``RP 2021``.

Examples
--------
>>> census_vintage(["IRIS", "COM", "P21_POP", "P21_POP1529", "P15_POP1529"])
'RP 2021'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from territory._errors import InputFileError
from territory.io._validate import clean_codes, normalise_name, read_tabular
from territory.io.report import ImportReport

__all__ = ["KIND", "AgeTables", "census_vintage", "read_population"]

KIND = "population"
"""Import kind (``territory import population FILE``)."""

COLUMNS = ["pop", "pop_1529", "pop_1524", "neet_1524"]
"""Figures kept per commune (and per IRIS), ``Float64``."""

_YEAR_COLUMN = re.compile(r"^P(\d{2})_(POP|NEET)", re.IGNORECASE)
_IRIS_CODE = re.compile(r"^(\d{5}|2[AB]\d{3})(\d{4})$")
_INSEE_CODE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
# The header is the row of variable codes: INSEE workbooks put a row of labels above it
# (« IRIS », « Commune »…), so the codes of the age bands mark it, not IRIS or CODGEO.
_MARKERS = [
    f"P{yy:02d}_{band}"
    for yy in range(6, 40)
    for band in ("POP", "POP1529", "POP1524", "POP1517", "POP1824", "POP2529")
]
# Municipal districts (arrondissements) of Paris, Lyon and Marseille → their commune.
_ARM = (
    (re.compile(r"^751(0[1-9]|1\d|20)$"), "75056"),
    (re.compile(r"^6938[1-9]$"), "69123"),
    (re.compile(r"^132(0[1-9]|1[0-6])$"), "13055"),
)
_NEET = ("NEET1524", "NB_NEET_1524", "NB_NEET1524", "JEUNES_NON_INSERES")
_EXPECTED = "population par âge de l'INSEE (IRIS ou CODGEO, P21_POP1529…)"


@dataclass(frozen=True)
class AgeTables:
    """What a population file gave: figures per commune (and per IRIS), their vintage.

    Attributes
    ----------
    communes
        ``code`` (commune) and :data:`COLUMNS`, one row per commune.
    iris
        ``iris``, ``code`` (its commune) and :data:`COLUMNS`; None for a commune-level file.
    vintage
        ``"RP 2021"``.
    bands
        How each figure was read, in French (``{"pop_1529": "P21_POP1529"}``).
    """

    communes: pd.DataFrame
    iris: pd.DataFrame | None
    vintage: str
    bands: dict[str, str]


def census_vintage(columns: Iterable[str]) -> str | None:
    """``RP 20yy`` of the latest ``P{yy}_POP…`` column, or None."""
    years = [int(m.group(1)) for c in columns if (m := _YEAR_COLUMN.match(str(c).strip()))]
    return f"RP {2000 + max(years)}" if years else None


def read_population(
    path: str | Path, *, sheet: str | None = None
) -> tuple[AgeTables, ImportReport]:
    """Read an INSEE census population file by IRIS or by commune.

    Parameters
    ----------
    path
        CSV or workbook in INSEE's layout (see the module docs).
    sheet
        The workbook's sheet (None: the first with a ``P{yy}_POP`` header).

    Returns
    -------
    tuple of AgeTables and ImportReport
        Rows refused: an invalid or missing code, a code given twice, a population that is
        not a number. ``read == accepted + refused``.

    Raises
    ------
    InputFileError
        Unreadable file, or no code / no 15-29 or 15-24 band (the message names what it
        expected and found).
    """
    path = Path(path)
    report = ImportReport(kind=KIND, source=path.name)
    raw = read_tabular(path, markers=_MARKERS, sheet=sheet, report=report)
    by_key = {normalise_name(c): c for c in raw.columns}
    iris_col = by_key.get("iris")
    code_col = by_key.get("com") if iris_col else (by_key.get("codgeo") or by_key.get("com"))
    vintage = census_vintage(raw.columns)
    if code_col is None or vintage is None:
        raise InputFileError(
            f"{path.name} ne ressemble pas à un fichier « {_EXPECTED} » : colonnes attendues "
            "IRIS et COM, ou CODGEO, et des effectifs P21_POP… ; colonnes trouvées : "
            f"{', '.join(map(str, raw.columns[:20]))}"
        )
    yy = vintage[-2:]
    blank = raw.apply(lambda col: col.str.strip() == "").all(axis=1)
    raw = raw[~blank]
    report.read = len(raw)

    def number(name: str) -> pd.Series | None:
        column = by_key.get(normalise_name(f"P{yy}_{name}"))
        if column is None:
            return None
        text = raw[column].astype("string").str.replace(r"[\s\u202f\u00a0]", "", regex=True)
        return pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")

    def band(*names: str) -> tuple[pd.Series | None, str]:
        parts = [number(n) for n in names]
        if any(p is None for p in parts):
            return None, ""
        total = parts[0]
        for p in parts[1:]:
            total = total + p  # type: ignore[operator]
        return total, " + ".join(f"P{yy}_{n}" for n in names)

    figures: dict[str, pd.Series] = {}
    bands: dict[str, str] = {}
    choices: dict[str, list[tuple[str, ...]]] = {
        "pop": [("POP",)],
        "pop_1529": [("POP1529",), ("POP1524", "POP2529"), ("POP1517", "POP1824", "POP2529")],
        "pop_1524": [("POP1524",), ("POP1517", "POP1824")],
    }
    for name, options in choices.items():
        for option in options:
            values, how = band(*option)
            if values is not None:
                figures[name], bands[name] = values, how
                break
    neet = next(
        (c for n in (f"P{yy}_NEET1524", *_NEET) if (c := by_key.get(normalise_name(n)))), None
    )
    if neet is not None:
        text = raw[neet].astype("string").str.replace(r"[\s\u202f\u00a0]", "", regex=True)
        figures["neet_1524"] = pd.to_numeric(text.str.replace(",", "."), errors="coerce")
        bands["neet_1524"] = str(neet)
    if "pop_1529" not in figures and "pop_1524" not in figures:
        raise InputFileError(
            f"{path.name} : aucune tranche 15-29 ou 15-24 ans (P{yy}_POP1529, P{yy}_POP1524 + "
            f"P{yy}_POP2529, P{yy}_POP1517 + P{yy}_POP1824…) ; colonnes trouvées : "
            f"{', '.join(map(str, raw.columns[:20]))}"
        )
    main = "pop_1529" if "pop_1529" in figures else "pop_1524"
    line = pd.Series(raw.index + 1, index=raw.index)
    codes = clean_codes(raw[code_col], report, what="code(s)")
    iris = None
    if iris_col:
        iris = raw[iris_col].astype("string").str.strip().str.upper()
        iris = iris.str.replace(r"\.0$", "", regex=True)
        short = iris.str.fullmatch(r"\d{8}").fillna(False)
        iris = iris.where(~short, iris.str.zfill(9))
    ok = codes.str.match(_INSEE_CODE).fillna(False)
    if iris is not None:
        ok &= iris.str.match(_IRIS_CODE).fillna(False)
    for idx in raw.index[~ok]:
        what = f"IRIS {iris[idx]!s} / commune {codes[idx]!s}" if iris is not None else codes[idx]
        report.refuse(int(line[idx]), f"code invalide ou manquant ({what})")
    key = iris if iris is not None else codes
    duplicated = ok & key.where(ok).duplicated(keep="first")
    for idx in raw.index[duplicated]:
        report.refuse(int(line[idx]), f"code {key[idx]} en double")
    ok &= ~duplicated
    unreadable = ok & (figures[main].isna() | (figures[main] < 0))
    for idx in raw.index[unreadable]:
        report.refuse(int(line[idx]), f"effectif {bands[main]} illisible (nombre attendu)")
    ok &= ~unreadable
    report.accept(int(ok.sum()))
    table = pd.DataFrame({"code": codes}, index=raw.index)
    for name in COLUMNS:
        values = figures.get(name, pd.Series(float("nan"), index=raw.index))
        table[name] = values.where(values >= 0).astype("Float64")
    table = table[ok]
    districts = table["code"].map(_commune_of_district)
    if districts.notna().any():
        report.fix(
            f"{int(districts.notna().sum())} ligne(s) d'arrondissement municipal rattachée(s) "
            "à leur commune (Paris, Lyon, Marseille)",
            int(districts.notna().sum()),
        )
        table["code"] = districts.fillna(table["code"])
    iris_table = None
    if iris is not None:
        iris_table = table.assign(iris=iris[ok]).reset_index(drop=True)
        iris_table = iris_table[["iris", "code", *COLUMNS]]
        communes = table.groupby("code", sort=True)[COLUMNS].sum(min_count=1).reset_index()
        report.note(
            f"{len(iris_table)} IRIS additionnés en {len(communes)} commune(s) ; les IRIS sont "
            "gardés, mais sans leurs contours les QPV et carreaux restent estimés à partir des "
            "communes (au prorata de la surface)"
        )
    else:
        communes = table.groupby("code", sort=True)[COLUMNS].sum(min_count=1).reset_index()
    report.note(
        f"millésime {vintage} (colonnes P{yy}_) ; "
        + " ; ".join(f"{_BAND_FR[n]} = {how}" for n, how in bands.items())
    )
    if "neet_1524" not in bands:
        report.note(
            "aucune colonne de jeunes « ni en emploi ni en études » (NEET1524) : les bases "
            "infracommunales de l'INSEE ne la publient pas, elle n'est pas calculée"
        )
    if "pop_1529" not in bands:
        report.note("tranche 15-29 ans absente : la tranche 15-24 ans sera la population cible")
    report.check()
    return AgeTables(communes=communes, iris=iris_table, vintage=vintage, bands=bands), report


_BAND_FR = {
    "pop": "population",
    "pop_1529": "15-29 ans",
    "pop_1524": "15-24 ans",
    "neet_1524": "15-24 ans ni en emploi ni en études",
}


def _commune_of_district(code: object) -> str | None:
    text = str(code)
    return next((commune for pattern, commune in _ARM if pattern.match(text)), None)
