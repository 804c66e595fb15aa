"""Feedback of a visit: numbers of contacts by status, recorded as anonymised contacts.

:func:`record_feedback` turns what a team saw at a visit into contact rows written by
the one contact writer (:func:`territory.privacy.raw.append_contacts`), fingerprinted by
the one scheme (:func:`territory.privacy.pseudonyms.feedback_fingerprints`), aggregated and
without names, so that every figure drawn from them goes through the disclosure control
like any imported contact. Each recording is a batch of the log (:mod:`territory.batches`,
kind ``feedback``): it can be undone like an import, and recording a visit again is a new
batch that replaces the earlier one (kept in the log as « remplacé par le lot N »).
"""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import datetime

import numpy as np
import pandas as pd

from territory import batches
from territory._errors import TerritoryError, ValidationError
from territory.grid import cell_ids_from_lonlat
from territory.privacy.pseudonyms import (
    feedback_fingerprints,
    legacy_feedback_fingerprints,
    load_secret,
)
from territory.privacy.raw import STORED_COLUMNS, append_contacts, delete_batches, stored_batches
from territory.rounds.week import TIMEZONE
from territory.settings import Settings
from territory.store import Workspace
from territory.vocab import STATUSES, UNKNOWN, WEEKDAYS_FR

__all__ = [
    "FEEDBACK_MAX",
    "feedback_history",
    "record_feedback",
    "recorded_feedback",
    "recorded_visits",
    "visit_label",
]

FEEDBACK_MAX = 500
"""Most contacts of one category recorded for one visit."""


def record_feedback(
    ws: Workspace,
    week: str,
    visit: pd.Series,
    counts: dict[str, int],
    *,
    settings: Settings,
    author: str | None = None,
    now: datetime | None = None,
) -> int:
    """Record what a visit gave: numbers of contacts by status, aggregated, no names.

    The numbers become anonymised contact rows at the place's 200 m cell, on the visit's
    date and starting hour, with the status and nothing else (age band and sex « non
    renseigné », no person key), appended to the ``contacts`` table: from there every
    figure goes through :mod:`territory.privacy.protect` like any imported contact, and the
    retention purge applies. The recording is a batch by ``author`` (default: the OS
    user). Recording the same visit again is a new batch that replaces the earlier one:
    its rows are deleted (the file compacted) and it shows as replaced. Returns the
    number of contacts now recorded for the visit.

    A visit that has not started yet at ``now`` (default: the current time, Europe/Paris)
    is refused: its feedback would be made up. Two recordings of one visit at the same
    moment: the one that settles second is refused and leaves nothing (it would replace
    a recording its author has not seen).
    """
    start = visit["start"]
    moment = _local(now if now is not None else datetime.now(TIMEZONE))
    if _local(start) > moment:
        raise ValidationError(
            f"la visite n'a pas encore commencé (début {WEEKDAYS_FR[start.weekday()]} "
            f"{start:%d/%m} à {start:%H:%M}) : le retour s'enregistre après la visite"
        )
    unknown = [s for s in counts if s not in STATUSES]
    wrong = [f"{s} : {n}" for s, n in counts.items() if not 0 <= int(n) <= FEEDBACK_MAX]
    if unknown or wrong:
        raise ValidationError(
            [f"statut inconnu : {s}" for s in unknown]
            + [f"nombre invalide (0 à {FEEDBACK_MAX}) : {w}" for w in wrong]
        )
    secret = load_secret(settings)
    key = f"{week}|{visit['team']}|{visit['place']}|{start.isoformat()}"
    # what was recorded before for this visit (also under the scheme used before)
    earlier, before_batches = stored_batches(
        ws,
        (
            fingerprint
            for status in STATUSES
            for recorded in (feedback_fingerprints, legacy_feedback_fingerprints)
            for fingerprint in recorded(secret, key, status, FEEDBACK_MAX)
        ),
    )
    cell = str(cell_ids_from_lonlat(np.array([visit["lon"]]), np.array([visit["lat"]]))[0])
    commune = _commune_at(ws, float(visit["lon"]), float(visit["lat"]))
    if commune is None:
        raise ValidationError(f"le lieu « {visit['place_name']} » n'est dans aucune commune")
    rows = [
        {
            "cell": cell,
            "commune": commune,
            "date": start.date().isoformat(),
            "hour": int(start.hour),
            "statut": status,
            "tranche_age": UNKNOWN,
            "sexe": UNKNOWN,
            "partenaire": "",
            "personne": "",
            "fingerprint": fingerprint,
        }
        for status, n in counts.items()
        for fingerprint in feedback_fingerprints(secret, key, status, int(n))
    ]
    what = _label(week, visit)
    listed = batches.list_batches(ws)
    earlier |= {  # a visit recorded with no contact has no row to be found by
        b.id
        for b in listed
        if b.kind == batches.FEEDBACK and b.state == "active" and b.file == what
    }
    # a recording still running when we looked: interrupted (replaced with the rest) or
    # another session's, about to settle — then it must not be replaced unseen
    unsettled = {b.id for b in listed if b.id in earlier and b.state == "running"}
    batch = batches.begin(ws, batches.FEEDBACK, file=what, author=author)
    recorded = {s: int(n) for s, n in counts.items() if int(n)}

    def replace(con: sqlite3.Connection, _deleted: int) -> None:
        # In the transaction that settles: a recording of the visit settled since we
        # looked (another session, the same moment) is not replaced unseen.
        meanwhile = con.execute(
            f"SELECT id, author FROM {batches.BATCHES} WHERE kind = ? AND file = ? "
            "AND state = 'active' AND id != ?",
            (batches.FEEDBACK, what, batch.id),
        ).fetchall()
        meanwhile = [r for r in meanwhile if int(r[0]) not in earlier or int(r[0]) in unsettled]
        if meanwhile:
            raise ValidationError(
                f"un autre retour pour cette visite vient d'être enregistré (lot "
                f"{meanwhile[-1][0]} par {meanwhile[-1][1]}) : rechargez la page et "
                "corrigez-le si besoin"
            )
        for earlier_batch in sorted(earlier):
            batches.mark_replaced(con, earlier_batch, by=batch.id)
        batches.settle(con, batch.id, counts={"contacts": len(rows), "statuts": recorded})

    try:
        if rows:
            append_contacts(
                ws,
                pd.DataFrame(rows, columns=STORED_COLUMNS),
                source="retours de tournée",
                vintage=week,
                licence="données de l'équipe (agrégées)",
                lot=batch.id,
            )
        delete_batches(ws, earlier, before_batches=before_batches, then=replace)
    except BaseException:
        with contextlib.suppress(TerritoryError, sqlite3.Error):  # its own error matters
            delete_batches(ws, [batch.id])
            batches.abort(ws, batch)
        raise
    return len(rows)


def recorded_feedback(ws: Workspace, week: str, visit: pd.Series) -> dict[str, int] | None:
    """What is recorded for a visit now: contacts by status, or None when nothing is.

    ``{}`` when the visit was recorded with no contact; None when it was never recorded
    (or its recording was undone). Read from the batch log: the numbers the team gave,
    not the contact rows.
    """
    what = _label(week, visit)
    active = [
        b
        for b in batches.list_batches(ws)
        if b.kind == batches.FEEDBACK and b.state == "active" and b.file == what
    ]
    if not active:
        return None
    statuses = active[-1].counts.get("statuts", {})
    return {str(s): int(n) for s, n in statuses.items()} if isinstance(statuses, dict) else {}


def feedback_history(ws: Workspace, week: str, visit: pd.Series) -> list[batches.Batch]:
    """Every recording of a visit's feedback, oldest first (the batch log keeps them all).

    The one in force is ``active``, those it replaced ``replaced``, undone ones ``undone``.
    """
    what = _label(week, visit)
    return [
        b
        for b in batches.list_batches(ws)
        if b.kind == batches.FEEDBACK and b.file == what and b.state != "running"
    ]


def recorded_visits(ws: Workspace) -> set[str]:
    """The :func:`visit_label` of every visit whose feedback is in force (one log read)."""
    return {
        b.file
        for b in batches.list_batches(ws)
        if b.kind == batches.FEEDBACK and b.state == "active"
    }


def visit_label(week: str, visit: pd.Series) -> str:
    """Which visit a feedback batch records (its ``file``): week, team, place, start."""
    return _label(week, visit)


def _label(week: str, visit: pd.Series) -> str:
    """The batch's ``file``: which visit it records."""
    return f"{week}, {visit['team']}, {visit['place_name']}, {visit['start']:%d/%m %H:%M}"


def _local(moment: datetime) -> datetime:
    """An aware local time (a naive one is taken as Europe/Paris)."""
    return moment.replace(tzinfo=TIMEZONE) if moment.tzinfo is None else moment


def _commune_at(ws: Workspace, lon: float, lat: float) -> str | None:
    """INSEE code of the commune under a point (None outside every commune)."""
    import shapely

    communes = ws.read_layer("communes", columns=["code"])
    hit = communes[communes.geometry.intersects(shapely.Point(lon, lat))]
    return None if hit.empty else str(hit["code"].iloc[0])
