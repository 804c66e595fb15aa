r"""A team's "parcours" export: who entered a pathway when, and how they left it.

One row per pathway: a pseudonymous person key (the team's own identifier of the young
person, the same as in its contact exports), the entry date, and optionally the exit
date and the exit situation. French headers in the usual spellings, CSV in French or
international conventions or a workbook (``.xlsx``, ``.ods``), header row anywhere in
the first 30 lines (:func:`territory.io._validate.read_tabular`).

What is kept is anonymised at once, as contacts are (``privacy.md``): the person key
becomes its keyed hash with the workspace secret, exactly as a contact's
(:func:`territory.privacy.pseudonyms.person_hashes`), so the same person joins across
files; dates are kept at **month** granularity (``"2026-03"``: outputs need no finer);
the exit situation becomes one of :data:`EXIT_CLASSES` (the funders' classes:
``emploi durable`` — CDI, or CDD / intérim of 6 months or more; ``emploi de
transition``; ``sortie positive`` — qualifying training, apprenticeship…; ``autre``),
and a situation read under another spelling or not recognised is counted in the report
without echoing its text. Raw keys and free text never leave this function.

Rows are refused with their reason (the report's invariant: read = accepted + refused):
no person key, an unreadable entry date, an entry in the future or beyond the retention
period, an unreadable exit date, an exit before the entry.

Examples
--------
>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "p.csv").write_text(
...     "Identifiant;Date d'entrée;Date de sortie;Motif de sortie\n"
...     "J1;03/02/2026;15/09/2026;CDI\nJ2;10/02/2026;;\n;01/03/2026;;\n", encoding="utf-8")
>>> rows, report = read_parcours(folder / "p.csv", secret=b"0" * 32,
...                              dates=(date(2024, 1, 1), date(2026, 12, 1)))
>>> rows[["entree", "sortie", "classe"]].values.tolist()
[['2026-02', '2026-09', 'emploi durable'], ['2026-02', '', '']]
>>> report.read, report.accepted, report.refused, len(rows["personne"][0])
(3, 2, 1, 16)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from territory.io._dates import parse_dates
from territory.io._validate import (
    find_columns,
    note_guessed,
    read_tabular,
    require_columns,
)
from territory.io.report import ImportReport
from territory.privacy import funnel
from territory.privacy.pseudonyms import person_hashes, person_key

__all__ = ["COLUMNS", "EXIT_CLASSES", "KIND", "SYNONYMS", "exit_class", "read_parcours"]

KIND = "parcours"
COLUMNS = ["personne", "entree", "sortie", "classe"]
"""The anonymised columns: person pseudonym, entry month, exit month (or ""), exit class."""
EXIT_CLASSES: tuple[str, ...] = funnel.EXIT_CLASSES
SYNONYMS: dict[str, list[str]] = {
    "personne": [
        "identifiant", "identifiant jeune", "id jeune", "id", "pseudonyme", "cle personne",
        "code jeune", "numero jeune", "identifiant de la personne", "jeune", "beneficiaire",
        "id beneficiaire",
    ],
    "entree": [
        "date d'entrée", "date entree", "date d'entree en parcours", "entree en parcours",
        "date de debut", "debut", "date debut parcours", "date d'entree dans le parcours",
    ],
    "sortie": ["date de sortie", "date sortie", "fin", "date de fin", "date fin parcours"],
    "classe": [
        "classe de sortie", "motif de sortie", "type de sortie", "situation de sortie",
        "situation a la sortie", "issue", "resultat",
    ],
}  # fmt: skip
"""Header spellings of each field (case, accents, spaces and hyphens ignored)."""

_DURABLE = re.compile(
    r"\bcdi\b|emploi durable|fonctionnaire|titularisation"
    r"|(cdd|interim|contrat)\D*(6|six|[7-9]|1[0-9]|2[0-9])\s*mois"
    r"|(cdd|interim)\s*(>|>=|≥|\+ de|plus de)\s*6"
)
_TRANSITION = re.compile(
    r"\bcdd\b|interim|emploi de transition|transition|contrat aide|\bpec\b|saisonnier"
    r"|\biae\b|insertion par l'activite|emploi"
)
_POSITIVE = re.compile(
    r"formation|apprentissage|alternance|qualifi|sortie positive|creation d'entreprise"
    r"|service civique|reprise d'etudes|retour en formation|\bepide\b|\bsma\b"
)


def exit_class(text: object) -> tuple[str, bool]:
    """The exit class of a written situation, and whether it was read as such verbatim.

    >>> exit_class("CDD de 8 mois"), exit_class("Intérim 2 mois"), exit_class("blabla")
    (('emploi durable', False), ('emploi de transition', False), ('autre', False))
    >>> exit_class("Sortie positive")
    ('sortie positive', True)
    """
    raw = str(text or "").strip()
    folded = _fold(raw)
    for name in EXIT_CLASSES:
        if folded == _fold(name):
            return name, True
    if _DURABLE.search(folded):
        return "emploi durable", False
    if _POSITIVE.search(folded):
        return "sortie positive", False
    if _TRANSITION.search(folded):
        return "emploi de transition", False
    return "autre", False


def read_parcours(
    path: Path,
    *,
    secret: bytes,
    dates: tuple[date, date],
    mapping: Mapping[str, str] | None = None,
    sheet: str | None = None,
) -> tuple[pd.DataFrame, ImportReport]:
    """Read a parcours export; return its anonymised rows (:data:`COLUMNS`) and the report.

    ``dates``: the first and last day an entry may be dated (retention, today).
    ``mapping``: explicit ``{field: file column}`` overriding the synonyms.
    """
    path = Path(path)
    report = ImportReport(kind=KIND, source=path.name)
    markers = [m for names in SYNONYMS.values() for m in names] + list(SYNONYMS)
    table = read_tabular(path, markers=markers, sheet=sheet, first_match=False, report=report)
    found = find_columns(table.columns, SYNONYMS)
    given = dict(mapping or {})
    for field, column in given.items():
        if column in table.columns:
            found[field] = column
    require_columns(found, ["personne", "entree"], file=path.name, columns=table.columns, kind=KIND)
    note_guessed(found, report, given=given)
    table = table.loc[table.apply(lambda r: any(str(v).strip() for v in r), axis=1)]
    report.read = len(table)
    keys = table[found["personne"]].astype(str).str.strip()
    entry = _months(table, found["entree"])
    exit_ = (
        _months(table, found["sortie"])
        if "sortie" in found
        else pd.Series("", index=table.index, dtype=object)
    )
    exit_text = table[found["sortie"]].astype(str).str.strip() if "sortie" in found else None
    first, last = (f"{d:%Y-%m}" for d in dates)
    reasons = pd.Series("", index=table.index, dtype=object)
    reasons[keys == ""] = "identifiant de la personne manquant"
    entry_text = entry.fillna("")
    reasons[(reasons == "") & (entry_text == "")] = "date d'entrée illisible ou manquante"
    reasons[(reasons == "") & (entry_text > last)] = "date d'entrée dans le futur"
    reasons[(reasons == "") & (entry_text < first)] = (
        "date d'entrée au-delà de la durée de conservation (elle serait purgée aussitôt)"
    )
    if exit_text is not None:
        reasons[(reasons == "") & (exit_text != "") & exit_.isna()] = "date de sortie illisible"
        out = exit_.fillna("")
        reasons[(reasons == "") & (out != "") & (out > last)] = "date de sortie dans le futur"
        early = (reasons == "") & (out != "") & (out < entry_text)
        reasons[early] = "date de sortie avant la date d'entrée"
    for line, reason in reasons[reasons != ""].items():
        report.refuse(int(str(line)) + 1, reason)
    ok = (reasons == "").to_numpy()
    exit_ = exit_.fillna("")
    classes = np.full(len(table), "", dtype=object)
    if "classe" in found:
        written = table[found["classe"]].astype(str).str.strip()
        read = [exit_class(t) if t else ("", True) for t in written]
        classes = np.array([c for c, _ in read], dtype=object)
        guessed = np.array([not exact for _, exact in read]) & ok
        unknown = (classes == "autre") & guessed
        if (guessed & ~unknown).any():
            report.fix(
                f"{int((guessed & ~unknown).sum())} situation(s) de sortie lue(s) dans une "
                "classe des financeurs (CDI, CDD ≥ 6 mois → emploi durable ; formation "
                "qualifiante → sortie positive…)",
                int((guessed & ~unknown).sum()),
            )
        if unknown.any():
            report.fix(
                f"{int(unknown.sum())} situation(s) de sortie non reconnue(s) : « autre »",
                int(unknown.sum()),
            )
    exited = (exit_ != "").to_numpy()
    missing_class = exited & (classes == "") & ok
    if missing_class.any():
        classes[missing_class] = "autre"
        report.fix(
            f"{int(missing_class.sum())} sortie(s) sans situation : classées « autre »",
            int(missing_class.sum()),
        )
    no_exit = ~exited & (classes != "") & ok
    if no_exit.any():
        classes[no_exit] = ""
        report.note(
            f"{int(no_exit.sum())} situation(s) de sortie sans date de sortie : ignorée(s), "
            "le parcours reste en cours"
        )
    rows = pd.DataFrame(
        {
            "personne": person_hashes(keys[ok], person_key(secret)),
            "entree": entry_text[ok].astype(str).to_numpy(dtype=object),
            "sortie": exit_[ok].astype(str).to_numpy(dtype=object),
            "classe": classes[ok],
        }
    )
    report.accept(int(ok.sum()))
    return rows.reset_index(drop=True), report.check()


def _months(table: pd.DataFrame, column: str) -> pd.Series:
    """``"2026-03"`` of each cell (NA unreadable, ``""`` empty)."""
    text = table[column].astype(str).str.strip()
    moments, _, day_read = parse_dates(pd.DataFrame({"d": text}), {"date": "d"})
    months = pd.Series(pd.DatetimeIndex(moments).strftime("%Y-%m"), index=table.index, dtype=object)
    months[~day_read | pd.isna(moments)] = pd.NA
    months[text == ""] = ""
    return months


def _fold(text: str) -> str:
    """Lower-case ASCII with single spaces (accents dropped), for the exit spellings."""
    text = str(text).replace("≥", ">=").replace("’", "'")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(ascii_text.lower().split())
