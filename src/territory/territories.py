"""Programme territories: named sets of communes, EPCI and QPV inside one workspace.

A programme often works on several territories at once (Dest1's "territorial hubs",
"Territoires partagés": the QPV of an agglomeration and a rural intercommunality). A
territory is defined by codes of three kinds, which may be mixed:

- ``communes``: INSEE codes of the ``communes`` layer;
- ``epci``: SIREN codes of the ``epci`` column of the ``communes`` layer (every commune
  of the EPCI belongs to the territory);
- ``qpv``: codes of the ``qpv`` layer (the communes linked to the QPV in its
  ``communes`` column belong to the territory).

Whatever its definition, a territory *resolves* to a set of INSEE commune codes
(:func:`resolve`), which is what the views restrict to. The whole workspace is the
implicit default territory, :data:`WHOLE_WORKSPACE`; ``None`` means the same.

Territories are stored in the workspace, in the attribute table ``territories`` (one
row per territory and kind: ``name``, ``kind``, ``codes`` joined by ``", "``), through
the public :class:`~territory.store.Workspace` API only. The definition is kept, not
the resolution: re-importing the communes of an EPCI updates its territories.

Examples
--------
>>> import tempfile, geopandas as gpd, shapely
>>> from pathlib import Path
>>> ws = Workspace.create(Path(tempfile.mkdtemp()) / "w.gpkg", name="Essai")
>>> communes = gpd.GeoDataFrame(
...     {"code": ["00001", "00002", "00003"], "epci": ["200000001", "200000001", "200000002"]},
...     geometry=[shapely.box(i, 46, i + 1, 47) for i in range(3)], crs="EPSG:4326")
>>> ws.write_layer("communes", communes, source="test", vintage="2026")
>>> define_territory(ws, "Nord", epci=["200000001"]).epci
('200000001',)
>>> sorted(resolve(ws, "Nord"))
['00001', '00002']
>>> try:
...     define_territory(ws, "Sud", communes=["00003", "99999", "99998"])
... except ValidationError as error:
...     print(error.problems[0].split(" (")[0])
communes inconnues dans w.gpkg : 99999, 99998
>>> [t.name for t in list_territories(ws)]
['Nord']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from territory._errors import ValidationError
from territory.store import Workspace

WHOLE_WORKSPACE = "Tout l'espace de travail"
TABLE = "territories"
KINDS = ("communes", "epci", "qpv")
SEPARATOR = ", "
_COLUMNS = ["name", "kind", "codes"]
_KIND_LABELS = {"communes": "communes", "epci": "EPCI", "qpv": "QPV"}
_KIND_TEXT = {
    "communes": ("communes inconnues", "codes INSEE de la couche communes"),
    "epci": ("EPCI inconnus", "SIREN de la colonne epci des communes"),
    "qpv": ("QPV inconnus", "codes de la couche qpv"),
}


@dataclass(frozen=True)
class Territory:
    """A named programme territory, as defined (not resolved).

    Attributes
    ----------
    name
        Display name, unique in the workspace.
    communes, epci, qpv
        Codes of each kind, in the order given, without duplicates.
    """

    name: str
    communes: tuple[str, ...] = ()
    epci: tuple[str, ...] = ()
    qpv: tuple[str, ...] = ()

    def codes(self, kind: str) -> tuple[str, ...]:
        """The codes of one kind (``communes``, ``epci`` or ``qpv``)."""
        if kind not in KINDS:
            raise ValidationError(f"type de code inconnu « {kind} » (attendu : {', '.join(KINDS)})")
        return tuple(getattr(self, kind))

    @property
    def description(self) -> str:
        """French summary of the definition, e.g. ``"2 EPCI, 1 QPV"``."""
        parts = [
            f"{len(self.communes)} commune(s)" if self.communes else "",
            f"{len(self.epci)} EPCI" if self.epci else "",
            f"{len(self.qpv)} QPV" if self.qpv else "",
        ]
        return ", ".join(p for p in parts if p)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (for ``territory territory list --json``)."""
        return {
            "name": self.name,
            "communes": list(self.communes),
            "epci": list(self.epci),
            "qpv": list(self.qpv),
        }


@dataclass(frozen=True)
class Choices:
    """What a territory can be made of in a workspace, with French display labels.

    Attributes
    ----------
    communes
        INSEE code → ``"Nom (code)"``, sorted by name.
    epci
        SIREN → ``"SIREN (n communes)"``, sorted by SIREN.
    qpv
        QPV code → ``"Nom (code)"``, sorted by name.
    """

    communes: dict[str, str] = field(default_factory=dict)
    epci: dict[str, str] = field(default_factory=dict)
    qpv: dict[str, str] = field(default_factory=dict)


def is_whole(name: str | None) -> bool:
    """Whether ``name`` designates the whole workspace (``None`` or :data:`WHOLE_WORKSPACE`)."""
    return name is None or name == WHOLE_WORKSPACE


def define_territory(
    ws: Workspace,
    name: str,
    *,
    communes: Iterable[str] = (),
    epci: Iterable[str] = (),
    qpv: Iterable[str] = (),
    replace: bool = False,
) -> Territory:
    """Define (store) a programme territory in ``ws``.

    Parameters
    ----------
    ws
        The workspace holding the layers the codes refer to.
    name
        Display name; surrounding spaces are removed. :data:`WHOLE_WORKSPACE` is
        reserved.
    communes, epci, qpv
        Codes of each kind; a single string is taken as one code. Surrounding spaces
        are removed and duplicates dropped.
    replace
        Replace a territory of the same name instead of refusing it.

    Returns
    -------
    Territory
        The stored definition.

    Raises
    ------
    ValidationError
        With every problem at once: empty or reserved name, name already used, no
        code, and the full list of unknown codes of each kind; or codes that cover no
        commune of the workspace.
    """
    name = (name or "").strip()
    territory = Territory(name=name, communes=_codes(communes), epci=_codes(epci), qpv=_codes(qpv))
    problems: list[str] = []
    if not name:
        problems.append("nom du territoire vide : donnez-lui un nom")
    elif name == WHOLE_WORKSPACE:
        problems.append(f"« {WHOLE_WORKSPACE} » est réservé : choisissez un autre nom")
    existing = list_territories(ws)
    if not replace and any(t.name == name for t in existing):
        problems.append(
            f"le territoire « {name} » existe déjà : "
            "choisissez un autre nom ou supprimez-le d'abord"
        )
    if not (territory.communes or territory.epci or territory.qpv):
        problems.append("aucune commune, aucun EPCI ni aucun QPV : choisissez au moins un code")
    known = _known_codes(ws)
    for kind in KINDS:
        unknown = [c for c in territory.codes(kind) if c not in known[kind]]
        if unknown:
            what, where = _KIND_TEXT[kind]
            problems.append(f"{what} dans {ws.label} : {', '.join(unknown)} ({where})")
    if not problems and not _resolve(ws, territory):
        problems.append(
            "ces codes ne couvrent aucune commune de l'espace de travail "
            "(QPV sans commune rattachée ?) : ajoutez des communes ou des EPCI"
        )
    if problems:
        raise ValidationError(problems)
    kept = [t for t in existing if t.name != name]
    _write(ws, [*kept, territory])
    return territory


def list_territories(ws: Workspace) -> list[Territory]:
    """The territories defined in ``ws``, in definition order (empty when none)."""
    if not ws.has(TABLE):
        return []
    rows = ws.read_table(TABLE, columns=_COLUMNS)
    found: dict[str, dict[str, tuple[str, ...]]] = {}
    for row in rows.itertuples(index=False):
        kinds = found.setdefault(str(row.name), {})
        if row.kind in KINDS:
            kinds[str(row.kind)] = _codes(str(row.codes or "").split(SEPARATOR))
    return [Territory(name=name, **kinds) for name, kinds in found.items()]


def get_territory(ws: Workspace, name: str) -> Territory:
    """The territory ``name``, or a French error listing the defined ones."""
    territories = list_territories(ws)
    for territory in territories:
        if territory.name == name:
            return territory
    names = ", ".join(f"« {t.name} »" for t in territories) or "aucun"
    raise ValidationError(
        f"territoire « {name} » inconnu dans {ws.label} (territoires définis : {names})"
    )


def delete_territory(ws: Workspace, name: str) -> None:
    """Delete the territory ``name`` (a French error if it is not defined)."""
    get_territory(ws, name)
    _write(ws, [t for t in list_territories(ws) if t.name != name])


def resolve(ws: Workspace, name: str | None) -> set[str]:
    """The INSEE codes of the communes of territory ``name``.

    Parameters
    ----------
    ws
        The workspace.
    name
        A defined territory, or ``None`` / :data:`WHOLE_WORKSPACE` for every commune.

    Returns
    -------
    set of str
        Codes of communes of the ``communes`` layer: an EPCI brings every commune whose
        ``epci`` is its SIREN, a QPV the communes of its ``communes`` links. Codes that
        are no longer in the layer (after a re-import) are left out.
    """
    if is_whole(name):
        return _known_codes(ws)["communes"]
    return _resolve(ws, get_territory(ws, str(name)))


def resolve_many(ws: Workspace, names: Iterable[str]) -> dict[str, set[str]]:
    """:func:`resolve` of each of ``names`` (defined territories), the tables read once."""
    defined = {t.name: t for t in list_territories(ws)}
    if not ws.has("communes"):
        return {name: set() for name in names}
    communes = ws.read_table("communes", columns=["code", "epci"]).dropna(subset=["code"])
    qpv = ws.read_table("qpv", columns=["code", "communes"]) if ws.has("qpv") else None
    out = {}
    for name in names:
        if name not in defined:
            get_territory(ws, name)  # the French error listing the defined ones
        out[name] = _resolve(ws, defined[name], communes=communes, qpv=qpv)
    return out


def choices(ws: Workspace) -> Choices:
    """Communes, EPCI and QPV a territory can be made of, with French labels."""
    out = Choices()
    if ws.has("communes"):
        communes = ws.read_table("communes", columns=["code", "nom", "epci"])
        communes = communes.sort_values(["nom", "code"], kind="stable")
        labels = communes["nom"].fillna("").astype(str) + " (" + communes["code"] + ")"
        out.communes.update(zip(communes["code"], labels, strict=True))
        sizes = communes["epci"].dropna().value_counts().sort_index()
        out.epci.update((str(s), f"{s} ({n} commune(s))") for s, n in sizes.items())
    if ws.has("qpv"):
        qpv = ws.read_table("qpv", columns=["code", "nom"]).sort_values(["nom", "code"])
        labels = qpv["nom"].fillna("").astype(str) + " (" + qpv["code"] + ")"
        out.qpv.update(zip(qpv["code"], labels, strict=True))
    return out


def territories_table(ws: Workspace) -> pd.DataFrame:
    """The defined territories as a French table (name, definition, communes covered)."""
    rows = [
        {
            "Territoire": t.name,
            "Définition": t.description,
            "Communes couvertes": len(_resolve(ws, t)),
            "Codes": "; ".join(
                f"{_KIND_LABELS[kind]} : {SEPARATOR.join(t.codes(kind))}"
                for kind in KINDS
                if t.codes(kind)
            ),
        }
        for t in list_territories(ws)
    ]
    return pd.DataFrame(rows, columns=["Territoire", "Définition", "Communes couvertes", "Codes"])


# ------------------------------------------------------------------------------ private
def _codes(values: Iterable[str] | str) -> tuple[str, ...]:
    """Stripped, non-empty, de-duplicated codes in the order given."""
    if isinstance(values, str):
        values = [values]
    return tuple(dict.fromkeys(s for s in (str(v).strip() for v in values) if s))


def _known_codes(ws: Workspace) -> dict[str, set[str]]:
    known: dict[str, set[str]] = {kind: set() for kind in KINDS}
    if ws.has("communes"):
        communes = ws.read_table("communes", columns=["code", "epci"])
        known["communes"] = set(communes["code"].dropna().astype(str))
        known["epci"] = set(communes["epci"].dropna().astype(str))
    if ws.has("qpv"):
        known["qpv"] = set(ws.read_table("qpv", columns=["code"])["code"].dropna().astype(str))
    return known


def _resolve(
    ws: Workspace,
    territory: Territory,
    *,
    communes: pd.DataFrame | None = None,
    qpv: pd.DataFrame | None = None,
) -> set[str]:
    """The communes of ``territory`` (``communes`` and ``qpv``: the tables, if already read)."""
    if not ws.has("communes"):
        return set()
    if communes is None:
        communes = ws.read_table("communes", columns=["code", "epci"]).dropna(subset=["code"])
    codes = set(territory.communes)
    codes |= set(communes.loc[communes["epci"].isin(territory.epci), "code"])
    if territory.qpv and ws.has("qpv"):
        if qpv is None:
            qpv = ws.read_table("qpv", columns=["code", "communes"])
        links = qpv.loc[qpv["code"].isin(territory.qpv), "communes"].dropna()
        codes |= {c.strip() for text in links for c in str(text).split(",") if c.strip()}
    return codes & set(communes["code"].astype(str))


def _write(ws: Workspace, territories: list[Territory]) -> None:
    rows = [
        {"name": t.name, "kind": kind, "codes": SEPARATOR.join(t.codes(kind))}
        for t in territories
        for kind in KINDS
        if t.codes(kind)
    ]
    table = pd.DataFrame(rows, columns=_COLUMNS).astype("str")
    ws.write_table(
        TABLE,
        table,
        source="territoires du programme (définis par l'équipe)",
        vintage=date.today().isoformat(),
    )
