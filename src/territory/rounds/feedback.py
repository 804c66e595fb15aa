"""Feedback of a visit: numbers of contacts by status, recorded as anonymised contacts.

:func:`record_feedback` turns what a team saw at a visit into contact rows of the
``contacts`` table (aggregated, no names), so that every figure drawn from them goes
through the disclosure control like any imported contact.
"""

from __future__ import annotations

import hmac

import numpy as np
import pandas as pd

from territory._errors import ValidationError
from territory.settings import Settings
from territory.store import Workspace

__all__ = ["FEEDBACK_MAX", "record_feedback"]

FEEDBACK_MAX = 500
"""Most contacts of one category recorded for one visit."""


def record_feedback(
    ws: Workspace,
    week: str,
    visit: pd.Series,
    counts: dict[str, int],
    *,
    settings: Settings,
) -> int:
    """Record what a visit gave: numbers of contacts by status, aggregated, no names.

    The numbers become anonymised contact rows at the place's 200 m cell, on the visit's
    date and starting hour, with the status and nothing else (age band and sex « non
    renseigné », no person key), appended to the ``contacts`` table: from there every
    figure goes through :mod:`territory.privacy.protect` like any imported contact, and the
    retention purge applies. Recording the same visit again replaces its numbers.
    Returns the number of contacts now recorded for the visit.
    """
    from territory.grid import cell_ids_from_lonlat
    from territory.io.contacts import STORED_COLUMNS, load_secret
    from territory.vocab import STATUSES, UNKNOWN

    unknown = [s for s in counts if s not in STATUSES]
    wrong = [f"{s} : {n}" for s, n in counts.items() if not 0 <= int(n) <= FEEDBACK_MAX]
    if unknown or wrong:
        raise ValidationError(
            [f"statut inconnu : {s}" for s in unknown]
            + [f"nombre invalide (0 à {FEEDBACK_MAX}) : {w}" for w in wrong]
        )
    secret = load_secret(settings)
    start = visit["start"]
    key = f"{week}|{visit['team']}|{visit['place']}|{start.isoformat()}"

    def prints(status: str, n: int) -> list[str]:
        return [_keyed(secret, f"retour|{key}|{status}|{i}") for i in range(n)]

    if ws.has("contacts"):  # replace what was recorded before for this visit
        old = [f for status in STATUSES for f in prints(status, FEEDBACK_MAX)]
        for chunk in range(0, len(old), 900):
            part = old[chunk : chunk + 900]
            ws.delete_rows("contacts", f"fingerprint IN ({','.join('?' * len(part))})", tuple(part))
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
        for fingerprint in prints(status, int(n))
    ]
    if rows:
        table = pd.DataFrame(rows, columns=STORED_COLUMNS).astype({"hour": "int64"})
        ws.write_table(
            "contacts",
            table,
            source="retours de tournée",
            vintage=week,
            licence="données de l'équipe (agrégées)",
            append=True,
        )
    return len(rows)


def _commune_at(ws: Workspace, lon: float, lat: float) -> str | None:
    """INSEE code of the commune under a point (None outside every commune)."""
    import shapely

    communes = ws.read_layer("communes", columns=["code"])
    hit = communes[communes.geometry.intersects(shapely.Point(lon, lat))]
    return None if hit.empty else str(hit["code"].iloc[0])


def _keyed(secret: bytes, text: str) -> str:
    """16 hex characters of HMAC-SHA256: the fingerprint of a contact from feedback."""
    return hmac.digest(secret, text.encode("utf-8"), "sha256")[:8].hex()
