"""The synthetic contact export of a street team, with a few deliberately malformed rows.

People are met several times, mostly in the QPV and at hot spots (station, park,
shopping centre), on a weekly rhythm over the months ending on :data:`CONTACTS_END`, and
follow pathways (first contact, repeated, entering a pathway, accompanied, positive exit).

The export holds a few malformed rows on purpose, about 0.1 % of the rows per kind (20
each at the default scale; exact counts in :attr:`territory.demo.sources.DemoSources.malformed`):

- ``date_impossible``: a date that does not exist, e.g. ``31/02/2026 14:00``;
- ``coordonnees_vides``: empty longitude and latitude;
- ``hors_territoire``: a valid point in western France, far outside the territory;
- ``lat_lon_inversees``: the latitude written in the longitude column and vice versa;
- ``statut_inconnu``: the status ``à recontacter``, which is not in the team's list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from territory.demo.geography import TO_WGS84, Floats, Ints, Objects, Territory
from territory.demo.scale import DemoScale
from territory.vocab import AGE_BANDS, STATUSES

__all__ = ["CONTACTS_END", "MALFORMED_KINDS", "STATUTS", "write_contacts"]

STATUTS = tuple(STATUSES)
"""The team's contact statuses, as the export writes them."""
MALFORMED_KINDS = (
    "date_impossible",
    "coordonnees_vides",
    "hors_territoire",
    "lat_lon_inversees",
    "statut_inconnu",
)
"""Kinds of deliberately malformed rows (see the module docs)."""
CONTACTS_END = pd.Timestamp("2026-10-31")
"""The last day of contacts."""

_PARTNERS = ("mission locale", "France Travail", "centre social", "E2C")
_COMMENTS = (
    "rencontré près du city stade",
    "revu au marché avec des amis",
    "cherche un stage",
    "besoin d'aide pour le permis",
    "orienté vers la mission locale",
    "rencontré à la gare",
    "présent au parc en fin d'après-midi",
    "à rappeler la semaine prochaine",
    "intéressé par une formation",
    "rencontré devant le centre commercial",
)
_DOW_WEIGHT = np.array([1.0, 1.0, 1.25, 1.0, 1.05, 1.1, 0.35])
_HOUR_WEIGHT = np.array(
    [
        0.05,
        0.02,
        0.01,
        0.01,
        0.01,
        0.02,
        0.05,
        0.15,
        0.35,
        0.55,
        0.7,
        0.75,
        0.6,
        0.65,
        1.0,
        1.15,
        1.3,
        1.4,
        1.35,
        1.2,
        0.95,
        0.55,
        0.25,
        0.12,
    ]
)
# Where people are met: QPV, hot spots (station, park, shopping centre), the rest of the
# towns, bourgs, and anywhere in dispersed rural communes.
_WHERE = {"qpv": 0.42, "hotspot": 0.24, "urban": 0.12, "bourg": 0.14, "rural": 0.08}


def write_contacts(
    rng: np.random.Generator,
    terr: Territory,
    qpv: list[shapely.Geometry],
    scale: DemoScale,
    path: Path,
    *,
    end: pd.Timestamp = CONTACTS_END,
    spoil: bool = True,
) -> dict[str, int]:
    """A street team's export: people met several times, hot spots, weekly rhythm, bad rows.

    ``scale.contacts`` rows over the ``scale.months`` months ending on ``end``; without
    ``spoil``, no malformed row (an export already cleaned).
    """
    n, n_people = scale.contacts, max(len(_WHERE), round(scale.contacts / 2.2))
    share = np.array(list(_WHERE.values()))
    if not qpv:
        share[2], share[0] = share[2] + share[0], 0.0
    ptype = rng.choice(len(share), n_people, p=share)
    ptype[: len(share)] = np.arange(len(share))  # someone of every kind
    ctype = rng.choice(len(share), n, p=share)
    activity = rng.lognormal(0, 0.7, n_people)
    person = np.zeros(n, dtype=np.int64)
    for t in range(len(share)):
        who, rows = np.flatnonzero(ptype == t), np.flatnonzero(ctype == t)
        person[rows] = rng.choice(who, len(rows), p=activity[who] / activity[who].sum())
    anchor, sigma = _anchors(rng, terr, qpv, ptype)
    xy = anchor[person] + rng.normal(size=(n, 2)) * sigma[person, None]
    for _ in range(6):  # pull strays back towards the anchor, which is inside
        out = np.flatnonzero(~shapely.contains_xy(terr.inner, xy[:, 0], xy[:, 1]))
        xy[out] = anchor[person[out]] + 0.5 * (xy[out] - anchor[person[out]]) * (_ < 5)
    # When: day x hour weights over the months ending on CONTACTS_END.
    days = pd.date_range(end - pd.DateOffset(months=scale.months) + pd.Timedelta(days=1), end)
    dow, month = days.day_of_week.to_numpy(), days.month.to_numpy()
    day_w = _DOW_WEIGHT[dow] * np.select([month == 8, np.isin(month, (7, 12))], [0.45, 0.85], 1.0)
    day_w *= np.linspace(0.85, 1.15, len(days))  # the programme ramps up
    busy = (np.arange(24) >= 13) & (np.arange(24) <= 19)
    hour_w = np.where(np.isin(dow, (2, 5))[:, None] & busy, 1.5, 1.0) * _HOUR_WEIGHT
    hour_w[dow == 6] *= np.where(busy, 1.3, 0.5)
    w = (day_w[:, None] * hour_w).ravel()
    minutes = rng.choice(w.size, n, p=w / w.sum()) * 60 + rng.integers(0, 60, n)
    statut, orient = _pathways(rng, person, minutes, n_people)
    age = np.array(AGE_BANDS, dtype=object)
    sex = np.array(["H", "F", ""], dtype=object)
    ids = np.array([f"P{v:06d}" for v in rng.permutation(n_people) + 1], dtype=object)
    comment = np.array(["", *_COMMENTS], dtype=object)
    said = np.where(rng.uniform(size=n) < 0.07, rng.integers(1, len(comment), n), 0)
    day = np.array(days.strftime("%d/%m/%Y").tolist(), dtype=object)
    hm = np.array([f" {m // 60:02d}:{m % 60:02d}" for m in range(1440)], dtype=object)
    lon, lat = TO_WGS84.transform(xy[:, 0], xy[:, 1])
    cols: dict[str, npt.NDArray[Any]] = {
        "date_contact": day[minutes // 1440] + hm[minutes % 1440],
        "longitude": lon,
        "latitude": lat,
        "statut": statut,
        "tranche_age": age[rng.choice(4, n_people, p=[0.12, 0.38, 0.32, 0.18])][person],
        "sexe": sex[rng.choice(3, n_people, p=[0.56, 0.4, 0.04])][person],
        "partenaire_orientation": orient,
        "id_personne": ids[person],
        "commentaire": comment[said],
    }
    chrono = np.argsort(minutes, kind="stable")
    cols = {k: v[chrono] for k, v in cols.items()}
    malformed = _spoil(rng, cols) if spoil else {}
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        fh.write(";".join(cols) + "\n")
        for start in range(0, n, 100_000):  # plain text: no field holds ";", '"' or a newline
            part = [v[start : start + 100_000].tolist() for v in cols.values()]
            for i in (1, 2):
                part[i] = ["" if v != v else f"{v:.6f}".replace(".", ",") for v in part[i]]
            fh.writelines(";".join(row) + "\n" for row in zip(*part, strict=True))
    return malformed


def _anchors(
    rng: np.random.Generator, terr: Territory, qpv: list[shapely.Geometry], ptype: Ints
) -> tuple[Floats, Floats]:
    """Where each person is usually met (inside the territory) and how far they roam (m)."""
    anchor, sigma = np.zeros((len(ptype), 2)), np.zeros(len(ptype))
    home = np.zeros(len(ptype), dtype=np.int64)
    area = shapely.area(terr.geoms)
    spots, spot_w = [], []  # station, park and shopping centre of each town
    for c, xy in enumerate(terr.cores):
        weight = terr.population[terr.core_host[c]] / terr.population[terr.core_host[0]]
        for dist, w in (
            (0.0, 0.4),
            (rng.uniform(600, 1000), 0.25),
            (rng.uniform(1200, 2400), 0.35),
        ):
            ang = rng.uniform(0, 2 * np.pi)
            p = xy + dist * (1 if c == 0 else 0.6) * np.array([np.cos(ang), np.sin(ang)])
            spots.append(p if shapely.contains_xy(terr.inner, *p) else xy)
            spot_w.append(w * weight)

    def pick(pool: Ints, w: npt.ArrayLike, size: int) -> Ints:
        w = np.asarray(w, dtype=float)
        return pool[rng.choice(len(pool), size, p=w / w.sum())]

    for t, kind in enumerate(_WHERE):
        rows = np.flatnonzero(ptype == t)
        k = len(rows)
        if kind == "qpv" and qpv:
            polys = np.asarray(qpv, dtype=object)
            q = pick(np.arange(len(polys)), shapely.area(polys), k)
            anchor[rows] = shapely.get_coordinates(shapely.point_on_surface(polys))[q]
            sigma[rows] = np.sqrt(shapely.area(polys) / np.pi)[q] / 1.6
        elif kind == "hotspot":
            anchor[rows], sigma[rows] = (
                np.array(spots)[pick(np.arange(len(spots)), spot_w, k)],
                130.0,
            )
        elif kind in ("urban", "qpv", "bourg"):
            pool = np.flatnonzero(
                terr.level <= 3 if kind != "bourg" else np.isin(terr.level, (2, 4, 5))
            )
            home[rows] = com = pick(pool, terr.population[pool], k)
            spread = 0.3 * np.sqrt(area[com]) if kind != "bourg" else np.full(k, 150.0)
            anchor[rows] = terr.centre[com] + rng.normal(size=(k, 2)) * spread[:, None]
            sigma[rows] = 250.0 if kind != "bourg" else 300.0
        else:  # rural: anywhere in a dispersed commune
            pool = np.flatnonzero(terr.level >= 6)
            home[rows] = com = pick(pool, terr.population[pool], k)
            anchor[rows] = terr.centre[com]
            box = np.asarray(shapely.bounds(terr.geoms[com]))
            todo = np.arange(k)
            for _ in range(30):
                cand = rng.uniform(box[todo, :2], box[todo, 2:])
                ok = shapely.contains_xy(terr.geoms[com[todo]], cand[:, 0], cand[:, 1])
                anchor[rows[todo[ok]]] = cand[ok]
                todo = todo[~ok]
            sigma[rows] = 400.0
    bad = ~shapely.contains_xy(terr.inner, anchor[:, 0], anchor[:, 1])
    anchor[bad] = terr.centre[home[bad]]
    return anchor, sigma


def _pathways(
    rng: np.random.Generator, person: Ints, minutes: Ints, n_people: int
) -> tuple[Objects, Objects]:
    """Status and orientation of each contact, following each person's sequence."""
    n = len(person)
    seq = np.lexsort((minutes, person))
    ps = person[seq]
    first = np.r_[True, ps[1:] != ps[:-1]]
    rank = np.arange(n) - np.maximum.accumulate(np.where(first, np.arange(n), 0))
    size = np.bincount(person, minlength=n_people)[ps]
    u = rng.uniform(size=(3, n_people))
    invisible, enters = u[0][ps] < 0.45, (u[1][ps] < 0.5) & (size >= 3)
    status = np.full(n, "contact répété", dtype=object)
    status[rank == 0] = np.where(invisible[rank == 0], "hors radars", "premier contact")
    status[(rank == 1) & invisible & (rng.uniform(size=n) < 0.5)] = "hors radars"
    status[enters & (rank == 2)] = "entrée en parcours"
    status[enters & (rank > 2) & (rng.uniform(size=n) < 0.6)] = "accompagné"
    status[enters & (u[2][ps] < 0.45) & (size >= 4) & (rank == size - 1)] = "sortie positive"
    partner = np.array(_PARTNERS, dtype=object)[
        rng.choice(4, n_people, p=[0.55, 0.15, 0.15, 0.15])
    ][ps]
    oriented = (enters & (rank >= 2)) | (rng.uniform(size=n) < 0.05)
    back = np.empty(n, dtype=np.int64)
    back[seq] = np.arange(n)  # row -> its place in the per-person order
    return status[back], np.where(oriented, partner, "")[back]


def _spoil(rng: np.random.Generator, cols: dict[str, npt.NDArray[Any]]) -> dict[str, int]:
    """Spoil about 0.1 % of the rows per kind, as real exports go wrong; count per kind."""
    n = len(cols["statut"])
    k = round(n * 0.001)
    if k == 0:
        return {}
    rows = rng.choice(n, (len(MALFORMED_KINDS), k), replace=False)
    bad_day = np.array(
        ["31/02", "30/02", "29/02", "31/04", "31/06", "31/09", "31/11"], dtype=object
    )
    year_time = np.array([d[5:] for d in cols["date_contact"][rows[0]]], dtype=object)
    cols["date_contact"][rows[0]] = bad_day[rng.integers(0, len(bad_day), k)] + year_time
    cols["longitude"][rows[1]] = cols["latitude"][rows[1]] = np.nan
    cols["longitude"][rows[2]] = rng.uniform(-1.2, 0.2, k)
    cols["latitude"][rows[2]] = rng.uniform(47.2, 48.3, k)
    lon = cols["longitude"][rows[3]].copy()
    cols["longitude"][rows[3]] = cols["latitude"][rows[3]]
    cols["latitude"][rows[3]] = lon
    cols["statut"][rows[4]] = "à recontacter"
    return dict.fromkeys(MALFORMED_KINDS, k)
