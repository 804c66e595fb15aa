"""The only code that reads or writes the stored "parcours" rows (pathways of people).

A parcours row is person-level (a pseudonym, an entry month, an exit month and class):
like the contacts, it is raw data, read and written here only and handed to the
protection step (:mod:`territory.privacy.funnel`), never shown. Each row carries a
random record key (``cle``, in ``[0, KEY_RANGE)``), drawn when it is first stored, for
the cell-key perturbation.

The identity of a row is its person and entry month: importing the same pathway again
adds nothing; with another exit (a later export of the team), the stored row is updated
and keeps its record key. The table is written whole through the public
:class:`~territory.store.Workspace` API, so the import batch that wrote it can put it back
as it was (:mod:`territory.batches`, layer undo).

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> ws = Workspace.create(Path(tempfile.mkdtemp()) / "w.gpkg", name="Essai")
>>> rows = pd.DataFrame({"personne": ["a", "b"], "entree": ["2026-01", "2026-02"],
...                      "sortie": ["", ""], "classe": ["", ""]})
>>> store_parcours(ws, rows, source="p.csv")
(2, 0, 0)
>>> rows.loc[0, ["sortie", "classe"]] = ["2026-06", "emploi durable"]
>>> store_parcours(ws, rows, source="p.csv")
(0, 1, 1)
>>> parcours_frame(ws)[["entree", "sortie"]].values.tolist()
[['2026-01', '2026-06'], ['2026-02', '']]
"""

from __future__ import annotations

import secrets

import numpy as np
import pandas as pd

from territory.privacy.protect import KEY_RANGE
from territory.store import Workspace

__all__ = [
    "PARCOURS",
    "STORED",
    "has_parcours",
    "parcours_frame",
    "purge_parcours",
    "store_parcours",
]

PARCOURS = "parcours"
"""The workspace table of the pseudonymised pathways."""
STORED = ["personne", "entree", "sortie", "classe", "cle"]


def has_parcours(ws: Workspace) -> bool:
    """Whether the workspace holds a parcours table."""
    return ws.has(PARCOURS)


def parcours_frame(ws: Workspace) -> pd.DataFrame:
    """Every stored parcours row (:data:`STORED`); raw, never leaves :mod:`territory.privacy`."""
    if not has_parcours(ws):
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "cle" else object) for c in STORED})
    table = ws.read_table(PARCOURS, columns=STORED)
    for column in STORED[:-1]:
        table[column] = table[column].fillna("").astype(str)
    table["cle"] = pd.to_numeric(table["cle"], errors="coerce").fillna(0).astype("int64")
    return table


def store_parcours(ws: Workspace, rows: pd.DataFrame, *, source: str) -> tuple[int, int, int]:
    """Merge anonymised parcours ``rows`` into the stored ones.

    Returns ``(added, updated, already)``: new pathways, stored ones whose exit changed,
    rows already stored as they are. Two rows of ``rows`` with the same person and
    entry month: the last one counts.
    """
    stored = parcours_frame(ws)
    rows = rows[["personne", "entree", "sortie", "classe"]].astype(str)
    rows = rows.drop_duplicates(["personne", "entree"], keep="last")
    merged = stored.merge(
        rows, on=["personne", "entree"], how="outer", suffixes=("_old", ""), indicator=True
    )
    new = (merged["_merge"] == "right_only").to_numpy()
    both = (merged["_merge"] == "both").to_numpy()
    old = (merged["_merge"] == "left_only").to_numpy()
    for column in ("sortie", "classe"):
        merged.loc[old, column] = merged.loc[old, f"{column}_old"]
    changed = (
        both
        & (
            (merged["sortie"] != merged["sortie_old"]) | (merged["classe"] != merged["classe_old"])
        ).to_numpy()
    )
    keys = merged["cle"].to_numpy(dtype=float, na_value=np.nan).copy()
    draw = np.array([secrets.randbelow(KEY_RANGE) for _ in range(int(new.sum()))], dtype=float)
    keys[new] = draw
    merged["cle"] = keys.astype("int64")
    if new.any() or changed.any() or not has_parcours(ws):
        table = merged[STORED].reset_index(drop=True)
        table = table.astype(dict.fromkeys(STORED[:-1], "str") | {"cle": "int64"})
        ws.write_table(
            PARCOURS, table, source=source, vintage=_span(table), licence="données de l'équipe"
        )
    return int(new.sum()), int(changed.sum()), int((both & ~changed).sum())


def purge_parcours(ws: Workspace, *, cutoff_month: str) -> int:
    """Delete the pathways whose last date (exit, else entry) is before ``cutoff_month``.

    Called by :func:`territory.privacy.raw.purge` (the retention period of every
    person-level row); the caller compacts the file. Returns how many were deleted (raw:
    never shown).
    """
    old = "(CASE WHEN sortie <> '' THEN sortie ELSE entree END) < ?"
    deleted = 0
    # the copy an import batch keeps of the table's previous state (to undo it) is purged
    # too: an undo must not bring back pathways beyond the retention period
    copies = [
        name
        for name in ws.table_names()
        if name.startswith("territory_before_") and name.endswith(f"_{PARCOURS}")
    ]
    with ws.transaction(what=PARCOURS) as con:
        for copy in copies:
            deleted += con.execute(f'DELETE FROM "{copy}" WHERE {old}', (cutoff_month,)).rowcount
    if has_parcours(ws):
        deleted += ws.delete_rows(PARCOURS, old, (cutoff_month,))
    return deleted


def _span(table: pd.DataFrame) -> str:
    months = table["entree"][table["entree"] != ""]
    return f"{months.min()} – {months.max()}" if len(months) else ""
