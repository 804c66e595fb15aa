"""« Méthodes »: how every published figure is made, with this workspace's parameters.

One French Markdown document, written from the code's own registries and the parameters
in force (never hard-coded numbers): the protection (k, roll-up, secondary suppression,
cell-key perturbation, rounding, retention), every indicator (the registry of
:mod:`territory.analysis.indicators`, with its sources' vintages), the priority score and
the weights saved for each territory, the slots of « Où et quand », the weekly planner
and the travel model. The « Méthodes » page shows it; the evaluation package
(:func:`territory.evaluation.export_package`) carries it as ``methodes.md`` and as an
entry of its ``gpkg_metadata`` table.

It states parameters, never a contact figure: only the months of contacts of at least k
people (:func:`territory.privacy.published.published_months`) are named.
"""

from __future__ import annotations

from collections.abc import Sequence

from territory import __version__
from territory._fr import format_number, format_short
from territory.analysis.indicators import indicator_sources
from territory.analysis.priority import GROUP_LABELS, GROUPS, load_weights
from territory.analysis.slots import PRIOR_PEOPLE, PROFILE_MONTHS
from territory.export import RULES_VERSION, disclosure_method
from territory.privacy.protect import MAX_NOISE
from territory.privacy.published import published_months
from territory.privacy.raw import CONTACTS, has_contacts
from territory.rounds.solver import STABILITY
from territory.rounds.value import SLOT_MINUTES
from territory.settings import Settings
from territory.store import Workspace
from territory.territories import WHOLE_WORKSPACE, list_territories
from territory.views import LAYER_LABELS

__all__ = ["METHODS_TITLE", "methods_markdown", "methods_parameters"]

METHODS_TITLE = "Méthodes"


def methods_parameters(
    ws: Workspace, *, settings: Settings, territories: Sequence[str] = ()
) -> dict[str, object]:
    """The parameters in force, as plain values (the package hashes them).

    Examples
    --------
    >>> from territory import Settings
    >>> from territory.store import Workspace
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     ws = Workspace.create(pathlib.Path(d) / "w.gpkg", name="Essai")
    ...     methods_parameters(ws, settings=Settings())["seuil_k"]
    11
    """
    scopes: list[str | None] = list(territories) or [
        None,
        *(t.name for t in list_territories(ws)),
    ]
    return {
        "regles_diffusion": RULES_VERSION,
        "seuil_k": settings.k,
        "arrondi": settings.rounding,
        "bruit_maximal": MAX_NOISE,
        "conservation_mois": settings.retention_months,
        "rayon_arret_m": settings.stop_buffer_m,
        "modele_deplacement": {
            "detour": settings.detour_factor,
            "marche_kmh": settings.walk_kmh,
            "velo_kmh": settings.bike_kmh,
            "voiture_kmh": settings.car_kmh,
            "transport_kmh": settings.transit_kmh,
            "velo_acces_min": settings.bike_access_min,
            "voiture_acces_min": settings.car_access_min,
            "transport_acces_min": settings.transit_access_min,
        },
        "profils_mois": PROFILE_MONTHS,
        "profils_n0": PRIOR_PEOPLE,
        "creneau_min": SLOT_MINUTES,
        "bonus_stabilite": STABILITY,
        "poids_priorite": {
            t or WHOLE_WORKSPACE: load_weights(ws, territory=t).to_dict() for t in scopes
        },
    }


def _number(value: float) -> str:
    """Shortest French number (``1,3``, ``15``, ``2\u202f000``)."""
    return format_number(value) if float(value).is_integer() else format_short(value)


def methods_markdown(
    ws: Workspace,
    *,
    settings: Settings,
    territories: Sequence[str] = (),
    column_names: bool = True,
) -> str:
    """The « Méthodes » document of this workspace, in French Markdown.

    Parameters
    ----------
    ws
        The workspace (only read): its layers' vintages, saved weights, territories.
    settings
        The disclosure and travel parameters in force.
    territories
        Programme territories whose weights are stated (default: the whole workspace and
        every defined territory).
    column_names
        Name each indicator's column and each source layer by its table name, as the
        package's tables do (for the package); False: by their French labels only (the
        page, which shows no internal name).
    """
    p = methods_parameters(ws, settings=settings, territories=territories)
    months = published_months(ws, settings=settings) if has_contacts(ws) else []
    period = (
        f"de {months[0]} à {months[-1]} (mois d'au moins k personnes)"
        if months
        else "aucun mois publié"
    )
    # the page shows no version number (an English-looking "0.1.0"); the package does
    release = f" {__version__}" if column_names else ""
    lines = [
        f"# {METHODS_TITLE} — {ws.name}",
        "",
        (
            f"Document produit par territory{release} à partir des paramètres en vigueur "
            "dans cet espace de travail. Aucun chiffre de contact n'y figure : seulement les "
            "règles et leurs paramètres."
        ),
        "",
        "## Protection des données (règles de diffusion)",
        "",
        f"Règles de diffusion, version {RULES_VERSION}. Toute valeur issue des contacts "
        "passe par une seule étape de contrôle avant d'être montrée, exportée ou "
        "classée : " + disclosure_method(settings) + ".",
        "",
        f"- **Seuil k** : {settings.k} personnes distinctes (jamais moins de 5).",
        (
            f"- **Perturbation** : bruit de −{MAX_NOISE} à +{MAX_NOISE} tiré d'une table fixe "
            "et publique par la clé de cellule (somme des clés aléatoires des enregistrements, "
            "qui ne quittent jamais l'espace de travail) ; les mêmes enregistrements donnent "
            "toujours la même valeur publiée."
        ),
        (
            f"- **Arrondi** : au multiple de {settings.rounding} le plus proche, jamais sous le "
            "premier multiple atteignant k."
        ),
        (
            f"- **Conservation** : les contacts de plus de {settings.retention_months} mois "
            "sont purgés."
        ),
        f"- **Période des contacts publiés** : {period}.",
        "",
        "## Indicateurs",
        "",
        (
            "Chaque indicateur est calculé par zone (commune, QPV ou carreau de 1 km). Les "
            "comptes de contacts sont les comptes protégés ; les taux ne sont jamais calculés "
            "sur un dénominateur inférieur à k."
        ),
        "",
        "| Indicateur | Libellé | Unité | Méthode | Sources (millésime) |"
        if column_names
        else "| Indicateur | Unité | Méthode | Sources (millésime) |",
        "|---|---|---|---|---|" if column_names else "|---|---|---|---|",
    ]
    table = indicator_sources(ws, settings=settings)
    vintages = {name: meta.vintage for name, meta in ws.layers().items()}
    # months of k people, never the vintage text stored with the contact table
    vintages[CONTACTS] = f"{months[0]} → {months[-1]}" if months else "aucun mois publié"
    labels = {**LAYER_LABELS, CONTACTS: "Contacts"}
    for name, row in table.iterrows():
        used = [n for n in str(row["couches"]).split(", ") if n]
        shown = {n: n if column_names else labels.get(n, n) for n in used}
        cells = [
            *([f"`{name}`"] if column_names else []),
            row["libelle"],
            row["unite"],
            row["source"],
            ", ".join(f"{shown[n]} : {vintages[n]}" if vintages.get(n) else shown[n] for n in used),
        ]
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    lines += [
        "",
        "## Score de priorité",
        "",
        "Chaque indicateur devient une composante entre 0 et 1 (1 : plus prioritaire) par "
        "son rang centile parmi les zones (rangs moyens pour les ex æquo) ; une valeur "
        "manquante (compte sous le secret, taux sur un dénominateur sous k) vaut 0,5, "
        "neutre ; un compte publié « < k » entre dans le taux de couverture pour k / 2. "
        "Les composantes sont réunies en quatre groupes ("
        + ", ".join(GROUP_LABELS[g].lower() for g in GROUPS)
        + ") ; chaque groupe reçoit son poids, partagé également entre ses composantes "
        "disponibles ; le score est la somme pondérée divisée par la somme des poids des "
        "groupes disponibles, × 100. Classement par score, ex æquo départagés par le code "
        "de la zone. La colonne « pourquoi » nomme les composantes qui pèsent le plus.",
        "",
        "Poids en vigueur :",
        "",
        "| Territoire | " + " | ".join(GROUP_LABELS[g] for g in GROUPS) + " |",
        "|---|" + "---|" * len(GROUPS),
    ]
    weights = p["poids_priorite"]
    assert isinstance(weights, dict)
    for scope, values in weights.items():
        cells = [_number(values[g]) for g in GROUPS]
        lines.append(f"| {scope} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Créneaux (« Où et quand »)",
        "",
        (
            f"Un profil compte les contacts des {PROFILE_MONTHS} derniers mois complets par "
            "jour de la semaine et créneau de 2 heures, pour chaque niveau (zone, commune, "
            "EPCI, territoire), chacun protégé par la même étape. Les parts de chaque niveau "
            "sont rapprochées de celles du niveau supérieur : part = w × part propre + "
            f"(1 − w) × part du parent, w = N / (N + {PRIOR_PEOPLE}), N étant le nombre "
            "**publié** de personnes du niveau (w = 0 sous k). Un créneau est ensuite "
            "combiné avec les horaires des partenaires proches (ouverts tout le créneau, à la "
            "date réelle, jours fériés compris) et les départs à l'arrêt le mieux desservi à "
            f"moins de {_number(settings.stop_buffer_m)} m (semaine de référence GTFS) : "
            "score = part relative au créneau le plus fréquenté (0-100) + 5 par type de "
            "partenaire ouvert (au plus 10) + la moitié des départs par heure (au plus 3)."
        ),
        "",
        "## Planification des tournées",
        "",
        (
            "La valeur d'une visite est la priorité du lieu × le score de priorité de sa "
            "commune × le rendement en contacts du créneau dans sa zone (profil protégé "
            f"ci-dessus) ; les créneaux durent {SLOT_MINUTES} minutes. Le planificateur "
            "(OR-Tools) choisit les lieux, jours, créneaux et l'ordre de visite de chaque "
            "équipe pour maximiser la valeur totale dans les disponibilités des équipes et les "
            "temps de trajet ; les communes avec QPV sont couvertes chaque semaine, les "
            "communes rurales à tour de rôle une fois par mois ; une visite reprise du plan "
            f"précédent reçoit un bonus de stabilité de {_number(STABILITY)}."
        ),
        "",
        "## Modèle de déplacement",
        "",
        (
            "Un seul modèle pour toutes les distances et durées : distance à vol d'oiseau × "
            f"{_number(settings.detour_factor)} (détour), à {_number(settings.walk_kmh)} km/h "
            f"à pied, {_number(settings.bike_kmh)} km/h à vélo (+ "
            f"{_number(settings.bike_access_min)} min), {_number(settings.car_kmh)} km/h en "
            f"voiture (+ {_number(settings.car_access_min)} min), "
            f"{_number(settings.transit_kmh)} km/h en transport en commun (+ "
            f"{_number(settings.transit_access_min)} min) ; les horaires GTFS importés donnent "
            "les temps de porte à porte quand ils existent."
        ),
        "",
    ]
    return "\n".join(lines)
