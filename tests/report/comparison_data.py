"""A hand-built :class:`~territory.programme.compare.Comparison`, shaped like ``compare``'s.

The renderers only lay out what ``compare`` returns: these tables hold values as
``compare`` publishes them (multiples of 5, ``<NA>`` with « secret » or « < k » where a
value is hidden), so that the tests see every case a real comparison has: a hidden step,
a rate whose denominator is missing, a target reached and one out of reach.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from territory.programme import EXIT_CLASSES, FUNNEL_STEPS, Comparison, Programme, Target

TERRITORIES = ("Roubaix-Tourcoing", "Lens-Liévin", "Avesnois rural")


def _shown(value: int | None, hidden: str = "secret") -> str:
    return hidden if value is None else f"{value:,}".replace(",", "\u202f")


def _int(values: list[int | None]) -> pd.Series:
    return pd.Series(values, dtype="Int64")


def hand_built_comparison(territories: tuple[str, ...] = TERRITORIES) -> Comparison:
    """A comparison of ``territories`` over 2026, with every kind of hidden value."""
    targets = tuple(
        Target(t, "entrée en parcours", "2026", 100 + 50 * i) for i, t in enumerate(territories)
    )
    programme = Programme(
        name="Dest1 — métropole et bassin minier",
        territories=territories,
        start=date(2025, 1, 1),
        end=date(2027, 12, 31),
        targets=targets,
    )
    funnel_rows = []
    for i, t in enumerate(territories):
        counts: list[int | None] = [1230 + 100 * i, 270 + 10 * i, 120 + 5 * i, 85, 40]
        if i == len(territories) - 1:
            counts[3:] = [None, None]  # hidden, with secondary suppression
        previous: int | None = None
        for step, n in zip(FUNNEL_STEPS, counts, strict=True):
            share = None if n is None or previous is None else n / previous
            funnel_rows.append((t, step, n, _shown(n), share))
            previous = n
    funnel = pd.DataFrame(
        funnel_rows,
        columns=["Territoire", "Étape", "Personnes", "Affiché", "Part de l'étape précédente"],
    )
    funnel["Personnes"] = funnel["Personnes"].astype("Int64")
    funnel["Part de l'étape précédente"] = funnel["Part de l'étape précédente"].astype("Float64")
    target_rows = []
    for i, t in enumerate(territories):
        done = 120 + 5 * i
        goal = 100 + 50 * i
        when = "" if done >= goal else ("mars 2027" if i == 1 else "non atteinte au rythme actuel")
        target_rows.append((t, "entrée en parcours", "2026", goal, done, done / goal, when))
    targets_df = pd.DataFrame(
        target_rows,
        columns=[
            "Territoire",
            "Étape",
            "Période",
            "Cible",
            "Réalisé",
            "Avancement",
            "Date d'atteinte estimée",
        ],
    )
    targets_df["Cible"] = targets_df["Cible"].astype("Int64")
    targets_df["Réalisé"] = targets_df["Réalisé"].astype("Int64")
    targets_df["Avancement"] = targets_df["Avancement"].astype("Float64")
    rate_rows = []
    for i, t in enumerate(territories):
        denominator = None if i == len(territories) - 1 else 21000 + 1000 * i
        numerator = 1230 + 100 * i
        per_1000 = None if denominator is None else 1000 * numerator / denominator
        rate_rows.append(
            (
                t,
                "Jeunes en contact pour 1 000 jeunes de 15-29 ans",
                numerator,
                denominator,
                "population de 15 à 29 ans",
                "INSEE, recensement de la population (IRIS)",
                "2021",
                per_1000,
            )
        )
    rates = pd.DataFrame(
        rate_rows,
        columns=[
            "Territoire",
            "Indicateur",
            "Numérateur",
            "Dénominateur",
            "Nom du dénominateur",
            "Source",
            "Millésime",
            "Pour 1 000",
        ],
    )
    for col in ("Numérateur", "Dénominateur"):
        rates[col] = rates[col].astype("Int64")
    rates["Pour 1 000"] = rates["Pour 1 000"].astype("Float64")
    zone_rows = []
    for i, t in enumerate(territories):
        for kind, n in (("QPV", 600 + 50 * i), ("rural", None if i == 0 else 300), ("autre", 430)):
            zone_rows.append((t, kind, "contact", n, _shown(n, "< k")))
    zones = pd.DataFrame(
        zone_rows, columns=["Territoire", "Type de zone", "Étape", "Personnes", "Affiché"]
    )
    zones["Personnes"] = zones["Personnes"].astype("Int64")
    trend_rows = []
    for i, t in enumerate(territories):
        for m in range(1, 13):
            for step, base in (("contact", 90 + 5 * i), ("entrée en parcours", 10)):
                n = base + 5 * (m % 4) if base > 10 or m % 3 else None
                trend_rows.append((t, f"2026-{m:02d}", step, n, _shown(n)))
    trends = pd.DataFrame(
        trend_rows, columns=["Territoire", "Mois", "Étape", "Personnes", "Affiché"]
    )
    trends["Personnes"] = trends["Personnes"].astype("Int64")
    exit_rows = []
    for i, t in enumerate(territories):
        for cls, n in zip(EXIT_CLASSES, (15, 10, None if i else 15, None if i else 0), strict=True):
            exit_rows.append((t, cls, n, _shown(n)))
    exits = pd.DataFrame(
        exit_rows, columns=["Territoire", "Classe de sortie", "Personnes", "Affiché"]
    )
    exits["Personnes"] = exits["Personnes"].astype("Int64")
    rounds = pd.DataFrame(
        [(t, 48 + i, 41 + i, 123.5 + i) for i, t in enumerate(territories)],
        columns=["Territoire", "Visites prévues", "Visites faites", "Heures de terrain"],
    )
    sources = pd.DataFrame(
        [
            ("Population de 15 à 29 ans", "INSEE, recensement de la population (IRIS)", "2021"),
            ("Quartiers prioritaires (QPV)", "ANCT, contours des QPV", "2024"),
            ("Communes rurales", "INSEE, grille communale de densité", "2025"),
            ("Contacts et parcours", "équipes du programme (protégés, k = 11)", "2026"),
        ],
        columns=["Donnée", "Source", "Millésime"],
    )
    notes = (
        f"{territories[-1]} : accompagnés et sorties masqués (moins de 11 personnes).",
        f"{territories[-1]} : population de 15 à 29 ans absente, taux non calculé.",
    )
    return Comparison(
        programme=programme,
        period="2026",
        funnel=funnel,
        targets=targets_df,
        rates=rates,
        zones=zones,
        trends=trends,
        exits=exits,
        rounds=rounds,
        notes=notes,
        sources=sources,
    )
