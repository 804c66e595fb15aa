"""Addresses written by hand, normalised and geocoded on this machine against the BAN.

The contact exports of outreach teams give, for some rows, an address typed by a
person (« 10 r. de Bayeux 14000 Caen », « Caen, 1 pl St Pierre »). Privacy v2 says that
people's addresses never leave the machine by default: they are geocoded here, against
the addresses of the Base Adresse Nationale imported into the workspace
(:mod:`territory.io.ban`), with pure functions over frames and no network.

* :func:`fold` and :func:`normalise_street` give the comparable form of a text: lower
  case, no accents or punctuation, abbreviations written out (« av » → « avenue »,
  « bd » → « boulevard », « r » → « rue », « st » → « saint »…), articles dropped
  (« rue de la Paix » and « rue Paix » compare equal). The BAN's street names are stored
  in this form.
* :func:`parse_addresses` splits a free text into number, repetition index (« bis »,
  « ter », a letter), street, postcode and commune, wherever the postcode and the
  commune stand in the string.
* :class:`BanIndex` arranges the BAN's addresses once (streets, their numbers sorted,
  their centres) and :func:`geocode_locally` matches many addresses against it at once:
  street by exact normalised name within the commune (or postcode), else by fuzzy name
  (RapidFuzz); then the exact number, else the street's nearest number, else the
  street's centre, each with a lower score (:data:`MATCH_NUMBER`,
  :data:`MATCH_NEAREST`, :data:`MATCH_STREET`). Below ``min_score`` a row is not placed.

Scores (0 to 1) are the product of the street-name similarity (1 for the same
normalised name), of the kind of match (1 for the number with its index, 0.95 for the
number with another index, 0.8 down to 0.6 for the nearest number as it lies farther,
0.6 for the centre of a street shorter than :data:`SHORT_STREET_M`, 0.4 for a longer
one) and, when the address names neither commune nor postcode, of 0.9 (the street is
then accepted only if a single commune has it). With the default threshold of 0.5 the
centre of a long street is not used: its cell could be kilometres away.

Examples
--------
>>> normalise_street("Av. du Général de Gaulle")
'avenue general gaulle'
>>> parse_addresses(pd.Series(["10 bis, r. de Bayeux 14000 CAEN"])).iloc[0].astype(str).tolist()
['10', 'bis', 'rue bayeux', '14000', '']
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from territory._fr import format_number

__all__ = [
    "MATCH_NEAREST",
    "MATCH_NUMBER",
    "MATCH_STREET",
    "RESULT_COLUMNS",
    "SHORT_STREET_M",
    "BanIndex",
    "fold",
    "geocode_locally",
    "normalise_street",
    "parse_addresses",
]

MATCH_NUMBER = "numéro"
"""The address's number was found on the street (with its index or another one)."""
MATCH_NEAREST = "numéro voisin"
"""The number was not found: the street's nearest number was used."""
MATCH_STREET = "centre de la voie"
"""No number given, or the street has none: the centre of the street's addresses."""
RESULT_COLUMNS: tuple[str, ...] = ("longitude", "latitude", "score", "type", "label", "reason")
"""Columns of the frame returned by :func:`geocode_locally`."""
SHORT_STREET_M = 500.0
"""Half-length (metres, from its centre to its farthest address) of a "short" street."""
FUZZY_CUTOFF = 0.8
"""Lowest similarity (RapidFuzz ``ratio`` / 100) of two street names taken as the same."""

REASON_EMPTY = "adresse vide"
REASON_NO_STREET = "voie introuvable dans la BAN importée"
REASON_NO_PLACE = "commune ou code postal absent de la BAN importée"
REASON_AMBIGUOUS = "voie présente dans plusieurs communes : précisez la commune ou le code postal"

_ABBREVIATIONS = {
    "av": "avenue", "ave": "avenue", "avn": "avenue",
    "bd": "boulevard", "bld": "boulevard", "bvd": "boulevard", "boul": "boulevard",
    "r": "rue", "pl": "place", "ch": "chemin", "che": "chemin", "chem": "chemin",
    "rte": "route", "imp": "impasse", "all": "allee", "sq": "square", "crs": "cours",
    "fg": "faubourg", "fbg": "faubourg", "pass": "passage", "res": "residence",
    "resid": "residence", "lot": "lotissement", "ham": "hameau", "prom": "promenade",
    "esp": "esplanade", "sen": "sentier", "carr": "carrefour", "rpt": "rond point",
    "qu": "quai", "tsse": "terrasse", "trav": "traverse", "vla": "villa", "zi":
    "zone industrielle", "za": "zone artisanale", "rn": "route nationale",
    "rd": "route departementale", "vc": "voie communale", "cr": "chemin rural",
    "st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes",
    "gal": "general", "gen": "general", "mal": "marechal", "pdt": "president",
    "pres": "president", "dr": "docteur", "doct": "docteur", "cdt": "commandant",
    "cne": "capitaine", "lt": "lieutenant", "prof": "professeur", "mgr": "monseigneur",
    "nd": "notre dame",
}  # fmt: skip
_SAINTS = {k: v for k, v in _ABBREVIATIONS.items() if v.startswith("saint")}
_ARTICLES = frozenset({"de", "du", "des", "la", "le", "les", "l", "d", "a", "au", "aux", "et"})
_REPS = {
    "bis": "bis", "b": "b", "ter": "ter", "t": "t", "quater": "quater", "qua": "quater",
    "quinquies": "quinquies", "quin": "quinquies",
}  # fmt: skip
_STREET_WORDS = frozenset(
    {
        "rue", "avenue", "boulevard", "place", "lieudit", "chemin", "route", "impasse",
        "allee", "square", "cours", "faubourg", "passage", "residence", "lotissement", "hameau",
        "promenade", "esplanade", "sentier", "carrefour", "rond", "quai", "terrasse",
        "traverse", "villa", "zone", "voie", "cite", "clos", "parc", "lieu", "sente", "venelle",
        "ruelle", "domaine", "mail", "parvis", "quartier", "cour", "port", "pont", "rampe",
    }
)  # fmt: skip
_NOT_WORD = re.compile(r"[^a-z0-9,]+")
# Characters that separate words but that the ASCII fold would drop (or glue words with).
_SPACED = str.maketrans(dict.fromkeys("’‘`´ʼ–—‑«»…·•°", " ") | {"œ": "oe", "æ": "ae"})
_NUMBER = re.compile(r"^(\d{1,5})([a-z]*)$")
_POSTCODE = re.compile(r"^\d{5}$")
_NO_NUMBER = -1
_EARTH_M_PER_DEG = 111_320.0


# ------------------------------------------------------------------ normalisation
def fold(text: str) -> str:
    """Lower-case ASCII words separated by single spaces (commas kept as ``,``).

    Examples
    --------
    >>> fold("  Rue de l'Église-Saint-Étienne, CAEN ")
    'rue de l eglise saint etienne , caen'
    """
    text = unicodedata.normalize("NFKD", str(text).lower().translate(_SPACED))
    text = text.encode("ascii", "ignore").decode("ascii")  # accents: combining marks dropped
    return " ".join(_NOT_WORD.sub(" ", text.replace(",", " , ")).split())


def normalise_street(text: str) -> str:
    """The comparable form of a street name: folded, abbreviations out, no articles.

    Examples
    --------
    >>> normalise_street("Bd Maréchal-Leclerc")
    'boulevard marechal leclerc'
    >>> normalise_street("Place Saint-Pierre") == normalise_street("pl. St Pierre")
    True
    """
    return _street(fold(text).replace(",", " ").split())


def _street(tokens: list[str]) -> str:
    words: list[str] = []
    for token in tokens:
        words.extend(_ABBREVIATIONS.get(token, token).split())
    if words[:2] == ["lieu", "dit"]:  # « lieu-dit Les Brandes »: the BAN says « Les Brandes »
        words = words[2:]
    elif words[:1] in (["lieudit"], ["ld"]):
        words = words[1:]
    kept = [w for w in words if w not in _ARTICLES]
    return " ".join(kept or words)


def _commune_key(name: str) -> str:
    """Folded commune name with « st » / « ste » written out (« St-Lô » → « saint lo »)."""
    return " ".join(_SAINTS.get(t, t) for t in fold(name).replace(",", " ").split())


def parse_addresses(texts: pd.Series, *, communes: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Number, index, street, postcode and commune of free-text addresses.

    Parameters
    ----------
    texts
        One address per row, as typed (empty or missing: an empty street).
    communes
        INSEE code → commune name: a name found in the text (as a whole part between
        commas, right after the postcode, or at the end) gives ``code_insee`` and is
        taken out of the street.

    Returns
    -------
    DataFrame
        Indexed like ``texts``: ``numero`` (Int64, missing when none), ``rep`` (``""``
        when none), ``voie`` (:func:`normalise_street` form), ``code_postal`` and
        ``code_insee`` (``""`` when not found).

    Examples
    --------
    >>> found = parse_addresses(pd.Series(["Caen, 1 pl St Pierre"]), communes={"14118": "Caen"})
    >>> found.iloc[0].astype(str).tolist()
    ['1', '', 'place saint pierre', '', '14118']
    """
    names = _CommuneNames(communes or {})
    values = texts.fillna("").astype(str)
    distinct = pd.unique(values.to_numpy(dtype=object))
    parsed = {text: _parse_one(text, names) for text in distinct}
    rows = [parsed[text] for text in values]
    out = pd.DataFrame(
        rows, index=texts.index, columns=["numero", "rep", "voie", "code_postal", "code_insee"]
    )
    out["numero"] = pd.array([None if n == _NO_NUMBER else n for n in out["numero"]], dtype="Int64")
    return out


class _CommuneNames:
    """Commune names as token tuples, longest first, for matching inside a text."""

    def __init__(self, communes: Mapping[str, str]) -> None:
        keys: dict[tuple[str, ...], str] = {}
        for code, name in communes.items():
            tokens = tuple(_commune_key(str(name)).split())
            if tokens:
                keys.setdefault(tokens, str(code))
        self.codes = keys
        self.lengths = sorted({len(k) for k in keys}, reverse=True)

    def at(self, tokens: list[str], start: int) -> tuple[str, int] | None:
        """The longest commune name starting at ``tokens[start]``: (code, length)."""
        for n in self.lengths:
            code = self.codes.get(tuple(tokens[start : start + n]))
            if code is not None and start + n <= len(tokens):
                return code, n
        return None

    def ending(self, tokens: list[str]) -> tuple[str, int] | None:
        """The longest commune name ending the tokens: (code, length)."""
        for n in self.lengths:
            if n < len(tokens):
                code = self.codes.get(tuple(tokens[-n:]))
                if code is not None:
                    return code, n
        return None


def _parse_one(text: str, names: _CommuneNames) -> tuple[int, str, str, str, str]:
    tokens = [_SAINTS.get(t, t) for t in fold(text).split()]
    postcode, commune = "", ""
    # The postcode: the last five-digit word; « cedex » and its number go with it.
    at = [i for i, t in enumerate(tokens) if _POSTCODE.match(t)]
    if at:
        i = at[-1]
        postcode = tokens[i]
        drop = 1 + (i + 1 < len(tokens) and tokens[i + 1] == "cedex")
        tokens = [*tokens[:i], ",", *tokens[i + drop :]]
        if names.codes:  # « 14000 Caen »: the commune right after the postcode
            found = names.at(tokens, i + 1)
            if found is not None:
                commune = found[0]
                del tokens[i + 1 : i + 1 + found[1]]
    tokens = [t for j, t in enumerate(tokens) if t != "cedex" or j == 0]
    parts: list[list[str]] = [[]]
    for token in tokens:
        if token == ",":
            parts.append([])
        else:
            parts[-1].append(token)
    parts = [p for p in parts if p]
    if names.codes and not commune:
        for k, part in enumerate(parts):  # a part between commas that is a commune name
            whole = names.codes.get(tuple(part))
            if whole is not None and len(parts) > 1:
                commune = whole
                del parts[k]
                break
    if names.codes and not commune and parts:
        last = parts[-1]  # « … rue de Bayeux Caen »: a name ending the text
        found = names.ending(last)
        if found is not None and len(last) > found[1] + 1:
            before = _ABBREVIATIONS.get(last[-found[1] - 1], last[-found[1] - 1]).split()[-1]
            if before not in _ARTICLES and before not in _STREET_WORDS:  # not « rue de Caen »
                commune = found[0]
                parts[-1] = last[: -found[1]]
    numbered = [k for k, part in enumerate(parts) if _NUMBER.match(part[0])]
    if numbered:
        k = numbered[0]
        street = parts[k]
        if len(street) <= 2 and k + 1 < len(parts):  # « 10 bis, rue … »: joined again
            street = street + parts[k + 1]
        number, rep, rest = _number(street)
    else:  # no part starts with a number: the longest one is the street
        number, rep, rest = _NO_NUMBER, "", max(parts, key=len) if parts else []
    return number, rep, _street(rest), postcode, commune


def _number(tokens: list[str]) -> tuple[int, str, list[str]]:
    """Leading house number and repetition index of the street's words, and the rest."""
    if not tokens:
        return _NO_NUMBER, "", []
    match = _NUMBER.match(tokens[0])
    if match is None:
        return _NO_NUMBER, "", tokens
    number, suffix = int(match.group(1)), match.group(2)
    rest = tokens[1:]
    if suffix:
        return number, _REPS.get(suffix, suffix), rest
    if rest and rest[0] in _REPS and (len(rest[0]) > 1 or _starts_street(rest[1:])):
        return number, _REPS[rest[0]], rest[1:]
    if rest and len(rest[0]) == 1 and rest[0] not in _ABBREVIATIONS and _starts_street(rest[1:]):
        return number, rest[0], rest[1:]  # « 10 C rue … »
    if len(rest) > 1 and _NUMBER.match(rest[0]) and rest[0].isdigit():
        return number, "", rest[1:] if _starts_street(rest[1:]) else rest  # « 10 12 rue … »
    return number, "", rest


def _starts_street(tokens: list[str]) -> bool:
    first = _ABBREVIATIONS.get(tokens[0], tokens[0]).split()[0] if tokens else ""
    return first in _STREET_WORDS


# ----------------------------------------------------------------------- the index
@dataclass(frozen=True)
class BanIndex:
    """The BAN's addresses arranged for :func:`geocode_locally` (built once, read only).

    Attributes
    ----------
    streets
        One row per street of a commune (``street`` id = row position): ``code_insee``,
        ``voie``, the centre ``lon``/``lat`` of its addresses and ``half_length_m``.
    street_postcodes
        ``street`` and ``code_postal`` pairs (a street may span two postcodes).
    keys, lon, lat, rep
        The numbered addresses sorted by ``street`` then number: ``keys`` is
        ``street << 20 | numero`` (searched with :func:`numpy.searchsorted`).
    side_keys, side_order
        The same addresses sorted by street, side (parity) and number:
        ``street << 21 | parity << 20 | numero``, and their positions in ``keys``.
    """

    streets: pd.DataFrame
    street_postcodes: pd.DataFrame
    keys: npt.NDArray[np.int64]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    rep: npt.NDArray[np.object_]
    side_keys: npt.NDArray[np.int64]
    side_order: npt.NDArray[np.int64]
    street_voie: npt.NDArray[np.object_]
    scopes: Mapping[str, npt.NDArray[np.int64]]

    def scope_streets(self, scope: str) -> npt.NDArray[np.int64]:
        """Street ids of a scope: ``"i:<INSEE code>"``, ``"p:<postcode>"`` or ``""`` (all)."""
        if not scope:
            return np.arange(len(self.streets), dtype=np.int64)
        return self.scopes.get(scope, np.zeros(0, dtype=np.int64))

    @classmethod
    def build(cls, ban: pd.DataFrame) -> BanIndex:
        """Arrange a frame of BAN addresses (the workspace's ``ban_adresses`` table).

        ``ban`` has the columns ``numero`` (missing for a street without number),
        ``rep``, ``voie`` (normalised), ``code_postal``, ``code_insee``, ``lon``, ``lat``.
        """
        frame = ban[["numero", "rep", "voie", "code_postal", "code_insee", "lon", "lat"]]
        codes = frame["code_insee"].astype(str).to_numpy(dtype=object)
        voies = frame["voie"].astype(str).to_numpy(dtype=object)
        pairs = pd.MultiIndex.from_arrays([codes, voies])
        street_of, uniques = pd.factorize(pairs)
        lon = frame["lon"].to_numpy(dtype=float)
        lat = frame["lat"].to_numpy(dtype=float)
        n_streets = len(uniques)
        counts = np.bincount(street_of, minlength=n_streets)
        centre_lon = np.bincount(street_of, weights=lon, minlength=n_streets) / counts
        centre_lat = np.bincount(street_of, weights=lat, minlength=n_streets) / counts
        dx = (lon - centre_lon[street_of]) * np.cos(np.radians(centre_lat[street_of]))
        dy = lat - centre_lat[street_of]
        half = np.zeros(n_streets)
        np.maximum.at(half, street_of, np.hypot(dx, dy) * _EARTH_M_PER_DEG)
        streets = pd.DataFrame(
            {
                "code_insee": uniques.get_level_values(0).astype(str),
                "voie": uniques.get_level_values(1).astype(str),
                "lon": centre_lon,
                "lat": centre_lat,
                "half_length_m": half,
            }
        )
        postcodes = (
            pd.DataFrame({"street": street_of, "code_postal": frame["code_postal"].astype(str)})
            .query("code_postal != ''")
            .drop_duplicates()
            .reset_index(drop=True)
        )
        numero = pd.to_numeric(frame["numero"], errors="coerce").to_numpy(dtype=float)
        numbered = np.isfinite(numero) & (numero >= 0) & (numero < 1 << 20)
        keys = (street_of[numbered].astype(np.int64) << 20) | numero[numbered].astype(np.int64)
        reps = frame["rep"].fillna("").astype(str).str.lower().to_numpy(dtype=object)[numbered]
        # rep "" first among equal keys: the plain number is the one a bare number finds
        order = np.lexsort((reps != "", keys))
        keys = keys[order]
        numbers = keys & ((1 << 20) - 1)
        sides = ((keys >> 20) << 21) | ((numbers & 1) << 20) | numbers
        side_order = np.argsort(sides, kind="stable")
        scope_of = np.concatenate(
            [
                "i:" + streets["code_insee"].to_numpy(dtype=object),
                "p:" + postcodes["code_postal"].to_numpy(dtype=object),
            ]
        )
        street_ids = np.concatenate([np.arange(n_streets), postcodes["street"].to_numpy()])
        scopes = pd.Series(street_ids.astype(np.int64)).groupby(scope_of).indices
        return cls(
            streets=streets,
            street_postcodes=postcodes,
            keys=keys,
            lon=lon[numbered][order],
            lat=lat[numbered][order],
            rep=reps[order],
            side_keys=sides[side_order],
            side_order=side_order.astype(np.int64),
            street_voie=streets["voie"].to_numpy(dtype=object),
            scopes={key: street_ids[at].astype(np.int64) for key, at in scopes.items()},
        )

    def __len__(self) -> int:
        return len(self.streets)


# ---------------------------------------------------------------------- geocoding
def geocode_locally(
    frame: pd.DataFrame,
    index: BanIndex,
    *,
    address: str = "adresse",
    citycode: str | None = None,
    communes: Mapping[str, str] | None = None,
    min_score: float = 0.5,
) -> tuple[pd.DataFrame, list[str]]:
    """Geocode the addresses of ``frame`` against the BAN, on this machine.

    Parameters
    ----------
    frame
        One address per row; its index is kept in the result.
    index
        The BAN addresses (:meth:`BanIndex.build`).
    address
        Column holding the address as typed.
    citycode
        Column holding the INSEE code of the commune, when known (partners): it is
        used instead of a commune or postcode found in the text.
    communes
        INSEE code → commune name, to find commune names in the texts.
    min_score
        Lowest score (0 to 1) of a placed address; below it the row is not placed.

    Returns
    -------
    tuple of DataFrame and list of str
        For every row (same index), :data:`RESULT_COLUMNS`: ``longitude``/``latitude``
        (NaN when not placed), ``score`` (NaN when no street was found), ``type`` (one
        of :data:`MATCH_NUMBER`, :data:`MATCH_NEAREST`, :data:`MATCH_STREET`, or
        ``None``), ``label`` (the BAN address used: number, index, normalised street and
        INSEE code; ``""`` when none) and ``reason`` (French, ``None`` when placed).
        Then French notes for the import report; they never quote an address.
    """
    parsed = parse_addresses(frame[address], communes=communes)
    if citycode is not None:
        given = frame[citycode].fillna("").astype(str).str.strip()
        parsed["code_insee"] = given.where(given != "", parsed["code_insee"])
    matcher = _Matcher(index, parsed.reset_index(drop=True))
    result = matcher.run(min_score=min_score)
    result.index = frame.index
    return result, _notes(result, min_score=min_score)


class _Matcher:
    """One call of :func:`geocode_locally`: the parsed addresses and what was found."""

    def __init__(self, index: BanIndex, parsed: pd.DataFrame) -> None:
        self.index, self.parsed = index, parsed
        n = len(parsed)
        self.street = np.full(n, -1, dtype=np.int64)
        self.similarity = np.zeros(n)
        self.reason = np.full(n, None, dtype=object)

    def run(self, *, min_score: float) -> pd.DataFrame:
        p, streets = self.parsed, self.index.streets
        empty = (p["voie"] == "").to_numpy()
        self.reason[empty] = REASON_EMPTY
        scope, anywhere = self._scopes(~empty)
        self._exact(scope)
        self._fuzzy(scope)
        left = (self.street < 0) & (self.reason == None)  # noqa: E711 (element-wise)
        self.reason[left] = REASON_NO_STREET
        found = self.street >= 0
        lon, lat = np.full(len(p), np.nan), np.full(len(p), np.nan)
        kind = np.full(len(p), None, dtype=object)
        factor = np.zeros(len(p))
        label = np.full(len(p), "", dtype=object)
        rows = np.flatnonzero(found)
        if len(rows):
            sid = self.street[rows]
            lon[rows], lat[rows] = streets["lon"].to_numpy()[sid], streets["lat"].to_numpy()[sid]
            half = streets["half_length_m"].to_numpy()[sid]
            factor[rows] = np.where(half <= SHORT_STREET_M, 0.6, 0.4)
            kind[rows] = MATCH_STREET
            number = p["numero"].to_numpy(dtype=float, na_value=np.nan)[rows]
            self._numbers(rows, sid, number, lon, lat, kind, factor, label)
            voies = streets["voie"].to_numpy(dtype=object)[sid]
            codes = streets["code_insee"].to_numpy(dtype=object)[sid]
            label[rows] = [
                f"{lab}{v} ({c})" for lab, v, c in zip(label[rows], voies, codes, strict=True)
            ]
        score = np.where(found, self.similarity * factor * np.where(anywhere, 0.9, 1.0), np.nan)
        low = found & (score < min_score)
        for i in np.flatnonzero(low):
            self.reason[i] = (
                f"score trop faible ({format_number(score[i], decimals=2)} < "
                f"{format_number(min_score, decimals=2)}, {kind[i]})"
            )
        lon[low], lat[low] = np.nan, np.nan
        return pd.DataFrame(
            {
                "longitude": lon,
                "latitude": lat,
                "score": score,
                "type": pd.Series(kind, dtype=object),
                "label": pd.Series(label, dtype=object),
                "reason": pd.Series(self.reason, dtype=object),
            }
        )

    def _scopes(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where to look for each street: ``"i:<insee>"``, ``"p:<postcode>"`` or ``""``.

        Rows whose commune or postcode the BAN does not have get their reason here;
        ``anywhere`` marks the rows that name neither (the whole BAN is searched).
        """
        p, index = self.parsed, self.index
        insee = p["code_insee"].to_numpy(dtype=object)
        postcode = p["code_postal"].to_numpy(dtype=object)
        known_insee = set(index.streets["code_insee"])
        known_postcodes = set(index.street_postcodes["code_postal"])
        scope = np.full(len(p), "", dtype=object)
        has_insee = wanted & (insee != "")
        has_post = wanted & ~has_insee & (postcode != "")
        scope[has_insee] = "i:" + insee[has_insee]
        scope[has_post] = "p:" + postcode[has_post]
        unknown = (has_insee & ~np.isin(insee, list(known_insee))) | (
            has_post & ~np.isin(postcode, list(known_postcodes))
        )
        self.reason[unknown] = REASON_NO_PLACE
        anywhere = wanted & ~has_insee & ~has_post
        scope[~wanted | unknown] = None
        return scope, anywhere

    def _exact(self, scope: np.ndarray) -> None:
        """Streets of the same normalised name in the scope (one merge per kind of scope)."""
        p, index = self.parsed, self.index
        rows = pd.DataFrame(
            {"row": np.arange(len(p)), "scope": scope, "voie": p["voie"].to_numpy(dtype=object)}
        )
        streets = index.streets.assign(street=np.arange(len(index.streets)))
        by_insee = streets.assign(scope="i:" + streets["code_insee"])[["scope", "voie", "street"]]
        pc = index.street_postcodes.merge(streets[["street", "voie"]], on="street")
        by_post = pc.assign(scope="p:" + pc["code_postal"])[["scope", "voie", "street"]]
        anywhere_rows = streets.assign(scope="")[["scope", "voie", "street"]]
        keyed = pd.concat([by_insee, by_post, anywhere_rows], ignore_index=True)
        hits = rows[rows["scope"].notna()].merge(keyed, on=["scope", "voie"])
        per_row = hits.groupby("row")["street"].agg(["first", "nunique"])
        single = per_row[per_row["nunique"] == 1]
        self.street[single.index.to_numpy()] = single["first"].to_numpy()
        self.similarity[single.index.to_numpy()] = 1.0
        several = per_row.index[per_row["nunique"] > 1].to_numpy()
        self.reason[several] = REASON_AMBIGUOUS

    def _fuzzy(self, scope: np.ndarray) -> None:
        """Streets of a close name (RapidFuzz), for rows without an exact one.

        Each address is compared with every street of its scope (its commune, its
        postcode, or the whole BAN), :data:`_FUZZY_BLOCK` addresses at a time.
        """
        from rapidfuzz import fuzz, process

        todo = np.flatnonzero((self.street < 0) & (self.reason == None) & (scope != None))  # noqa: E711
        if not len(todo):
            return
        voies = self.parsed["voie"].to_numpy(dtype=object)
        cutoff = math.ceil(FUZZY_CUTOFF * 100)
        groups, keys = pd.factorize(scope[todo])
        for g, key in enumerate(keys):
            rows = todo[groups == g]
            ids = self.index.scope_streets(str(key))
            names, first, inverse = np.unique(
                self.index.street_voie[ids], return_index=True, return_inverse=True
            )
            if not len(names):
                continue
            owners = np.bincount(inverse, minlength=len(names))
            choices = list(names)
            for start in range(0, len(rows), _FUZZY_BLOCK):
                block = rows[start : start + _FUZZY_BLOCK]
                scores = process.cdist(
                    list(voies[block]), choices, scorer=fuzz.ratio,
                    score_cutoff=cutoff, dtype=np.uint8, workers=-1,
                )  # fmt: skip
                best = scores.argmax(axis=1)
                top = scores[np.arange(len(block)), best]
                hit = top >= cutoff
                ambiguous = hit & (owners[best] > 1)
                self.reason[block[ambiguous]] = REASON_AMBIGUOUS
                sure = hit & ~ambiguous
                self.street[block[sure]] = ids[first[best[sure]]]
                self.similarity[block[sure]] = top[sure] / 100.0

    def _numbers(
        self,
        rows: np.ndarray,
        sid: np.ndarray,
        number: np.ndarray,
        lon: np.ndarray,
        lat: np.ndarray,
        kind: np.ndarray,
        factor: np.ndarray,
        label: np.ndarray,
    ) -> None:
        """Exact number (and index), else the nearest number of the same street."""
        index = self.index
        if not len(index.keys):
            return
        has = np.isfinite(number) & (number < 1 << 20)
        rows, sid, number = rows[has], sid[has], number[has].astype(np.int64)
        wanted = (sid << 20) | number
        reps = self.parsed["rep"].to_numpy(dtype=object)[rows]
        at = np.searchsorted(index.keys, wanted)
        inside = at < len(index.keys)
        same = np.zeros(len(rows), dtype=bool)
        same[inside] = index.keys[at[inside]] == wanted[inside]
        pick = np.where(same, at, -1)
        f = np.where(same, 0.95, 0.0)
        # the number with the same index: scan the few addresses of that number
        for j in np.flatnonzero(same):
            k = at[j]
            while k < len(index.keys) and index.keys[k] == wanted[j]:
                if index.rep[k] == reps[j]:
                    pick[j], f[j] = k, 1.0
                    break
                k += 1
        # the nearest number on the same side of the street (same parity), else on any side
        side_wanted = (sid << 21) | ((number & 1) << 20) | number
        side_at, side_gap = _nearest(index.side_keys, side_wanted)
        any_at, any_gap = _nearest(index.keys, wanted)
        on_side = side_at >= 0
        nearest = np.where(on_side, index.side_order[np.maximum(side_at, 0)], any_at)
        gap = np.where(on_side, side_gap, any_gap)
        near = ~same & (nearest >= 0)
        pick = np.where(near, nearest, pick)
        f = np.where(near, 0.8 - 0.2 * np.minimum(gap, 100) / 100, f)
        chosen = pick >= 0
        target = rows[chosen]
        k = pick[chosen]
        lon[target], lat[target] = index.lon[k], index.lat[k]
        kind[target] = np.where(same[chosen], MATCH_NUMBER, MATCH_NEAREST)
        factor[target] = f[chosen]
        label[target] = [
            f"{n & ((1 << 20) - 1)}{' ' + r if r else ''} "
            for n, r in zip(index.keys[k], index.rep[k], strict=True)
        ]


_FUZZY_BLOCK = 256  # addresses compared at once with every street of their scope


def _nearest(
    keys: npt.NDArray[np.int64], wanted: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Position in ``keys`` (sorted) of the nearest key of the same group, and the gap.

    The group of a key is ``key >> 20`` (the street, or the street and side); ``-1``
    where the group has no key. Ties go to the lower number.
    """
    if not len(keys):
        return np.full(len(wanted), -1, dtype=np.int64), np.zeros(len(wanted), dtype=np.int64)
    at = np.searchsorted(keys, wanted)
    before = np.clip(at - 1, 0, len(keys) - 1)
    after = np.clip(at, 0, len(keys) - 1)
    group = wanted >> 20
    ok_before = (at > 0) & (keys[before] >> 20 == group)
    ok_after = (at < len(keys)) & (keys[after] >> 20 == group)
    far = np.iinfo(np.int64).max
    gap_before = np.where(ok_before, wanted - keys[before], far)
    gap_after = np.where(ok_after, keys[after] - wanted, far)
    # the first of equal keys: the plain number before its « bis », « ter »…
    position = np.where(gap_before <= gap_after, np.searchsorted(keys, keys[before]), after)
    position = np.where(ok_before | ok_after, position, -1)
    return position.astype(np.int64), np.minimum(gap_before, gap_after)


def _notes(result: pd.DataFrame, *, min_score: float) -> list[str]:
    """French summary: how many were placed, by kind of match, and why the others were not."""
    placed = result["reason"].isna()
    kinds = result.loc[placed, "type"].value_counts()
    detail = ", ".join(
        f"{kind} : {int(kinds[kind])}"
        for kind in (MATCH_NUMBER, MATCH_NEAREST, MATCH_STREET)
        if kind in kinds
    )
    notes = [
        f"géocodage local (BAN importée, sans réseau) : {int(placed.sum())} adresse(s) sur "
        f"{len(result)} placée(s)"
        + (f" ({detail})" if detail else "")
        + f" ; score minimal {format_number(min_score, decimals=2)}"
    ]
    reasons = result["reason"].dropna()
    if len(reasons):
        groups = reasons.where(~reasons.str.startswith("score trop faible"), "score trop faible")
        counts = groups.value_counts()
        notes.append(
            f"{len(reasons)} adresse(s) non placée(s) : "
            + ", ".join(f"{why} : {int(n)}" for why, n in counts.items())
        )
    return notes
