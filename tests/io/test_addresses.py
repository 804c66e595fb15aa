"""Free-text addresses: normalisation, parsing, and local geocoding against a BAN frame."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from ban_sample import CALVADOS

from territory.io.addresses import (
    MATCH_NEAREST,
    MATCH_NUMBER,
    MATCH_STREET,
    REASON_AMBIGUOUS,
    REASON_EMPTY,
    REASON_NO_PLACE,
    REASON_NO_STREET,
    BanIndex,
    fold,
    geocode_locally,
    normalise_street,
    parse_addresses,
)

COMMUNES = {"14118": "Caen", "14327": "Hérouville-Saint-Clair", "14257": "Évrecy"}


@pytest.fixture(scope="module")
def index() -> BanIndex:
    frame = pd.DataFrame(
        CALVADOS,
        columns=["numero", "rep", "nom_voie", "code_postal", "code_insee", "commune", "lon", "lat"],
    )
    frame["numero"] = pd.to_numeric(frame["numero"]).astype("Int64")
    frame["voie"] = frame["nom_voie"].map(normalise_street)
    return BanIndex.build(frame)


def geocode(texts: list[str], index: BanIndex, **options: object) -> pd.DataFrame:
    found, _ = geocode_locally(
        pd.DataFrame({"adresse": texts}), index, communes=COMMUNES, **options
    )
    return found


# ------------------------------------------------------------------ normalisation
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Rue de Bayeux", "rue bayeux"),
        ("RUE DE BAYEUX", "rue bayeux"),
        ("r. de Bayeux", "rue bayeux"),
        ("Av. du Général de Gaulle", "avenue general gaulle"),
        ("avenue Général-de-Gaulle", "avenue general gaulle"),
        ("Bd Maréchal Leclerc", "boulevard marechal leclerc"),
        ("bld du Mal Leclerc", "boulevard marechal leclerc"),
        ("Pl. St-Pierre", "place saint pierre"),
        ("Place Saint Pierre", "place saint pierre"),
        ("Place de l'Église", "place eglise"),
        ("Place de l’Église", "place eglise"),
        ("Chem. des Œillets", "chemin oeillets"),
        ("Lieu-dit Les Brandes", "brandes"),
        ("Les Brandes", "brandes"),
        ("Rue du 8 Mai 1945", "rue 8 mai 1945"),
        ("  rue   de  la   Paix  ", "rue paix"),
    ],
)
def test_street_names_compare_in_one_form(text: str, expected: str) -> None:
    assert normalise_street(text) == expected


def test_fold_keeps_commas_and_drops_accents_and_punctuation() -> None:
    assert fold("Caen, 1 Pl. St-Pierre !") == "caen , 1 pl st pierre"
    assert fold("ÉVRECY") == "evrecy"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10 Rue de Bayeux 14000 Caen", (10, "", "rue bayeux", "14000", "14118")),
        ("10 bis rue de Bayeux, 14000 CAEN", (10, "bis", "rue bayeux", "14000", "14118")),
        ("10bis r de bayeux caen", (10, "bis", "rue bayeux", "", "14118")),
        ("10 B, rue de Bayeux", (10, "b", "rue bayeux", "", "")),
        ("12 ter Rue de Bayeux", (12, "ter", "rue bayeux", "", "")),
        ("Caen, 1 pl St Pierre", (1, "", "place saint pierre", "", "14118")),
        ("14000 Caen 1 place Saint-Pierre", (1, "", "place saint pierre", "14000", "14118")),
        ("1 place Saint-Pierre 14000", (1, "", "place saint pierre", "14000", "")),
        ("2 rue de Caen Hérouville-Saint-Clair", (2, "", "rue caen", "", "14327")),
        ("2 rue de Caen, 14200 Herouville St Clair", (2, "", "rue caen", "14200", "14327")),
        ("5 rue de Caen", (5, "", "rue caen", "", "")),  # « de Caen » is the street's
        ("Rue de Bayeux 14000 CAEN CEDEX", (None, "", "rue bayeux", "14000", "14118")),
        ("10-12 rue de Bayeux", (10, "", "rue bayeux", "", "")),
        ("", (None, "", "", "", "")),
    ],
)
def test_addresses_are_split_wherever_postcode_and_commune_stand(
    text: str, expected: tuple[object, ...]
) -> None:
    row = parse_addresses(pd.Series([text]), communes=COMMUNES).iloc[0]
    number = None if pd.isna(row["numero"]) else int(row["numero"])
    assert (number, *row[["rep", "voie", "code_postal", "code_insee"]]) == expected


# -------------------------------------------------------------------- geocoding
def test_exact_number_gets_its_position_and_full_score(index: BanIndex) -> None:
    found = geocode(["1 place St Pierre 14000 Caen", "12 bis r. de Bayeux, Caen"], index)
    assert found["type"].tolist() == [MATCH_NUMBER, MATCH_NUMBER]
    assert found["score"].tolist() == [1.0, 1.0]
    assert (found.loc[0, "longitude"], found.loc[0, "latitude"]) == (-0.3632, 49.1838)
    assert (found.loc[1, "longitude"], found.loc[1, "latitude"]) == (-0.3787, 49.1865)
    assert found.loc[1, "label"] == "12 bis rue bayeux (14118)"
    assert found["reason"].isna().all()


def test_a_number_with_another_index_is_the_number(index: BanIndex) -> None:
    found = geocode(["10 ter rue de Bayeux 14000"], index).iloc[0]
    assert found["type"] == MATCH_NUMBER and found["score"] == pytest.approx(0.95)
    assert (found["longitude"], found["latitude"]) == (-0.3781, 49.1862)


def test_a_missing_number_takes_the_nearest_on_the_same_side(index: BanIndex) -> None:
    # 13 is odd: 15 (odd side) rather than 12, although both are 1 and 2 away
    found = geocode(["13 rue de Bayeux 14000 Caen", "14 rue de Bayeux 14000 Caen"], index)
    assert found["type"].tolist() == [MATCH_NEAREST, MATCH_NEAREST]
    assert found.loc[0, "label"] == "15 rue bayeux (14118)"
    assert found.loc[1, "label"] == "12 rue bayeux (14118)"
    assert found.loc[0, "score"] == pytest.approx(0.8 - 0.2 * 2 / 100)
    assert found.loc[1, "score"] == pytest.approx(0.8 - 0.2 * 2 / 100)


def test_a_street_without_number_is_its_centre_with_a_low_score(index: BanIndex) -> None:
    found = geocode(["Rue de Bayeux, Caen", "Les Brandes 14210 Évrecy"], index)
    assert found["type"].tolist() == [MATCH_STREET, MATCH_STREET]
    assert found["score"].tolist() == [0.6, 0.6]
    centre = [r for r in CALVADOS if r[2] == "Rue de Bayeux"]
    assert found.loc[0, "longitude"] == pytest.approx(sum(r[6] for r in centre) / len(centre))


def test_the_centre_of_a_long_street_is_below_the_threshold(index: BanIndex) -> None:
    found = geocode(["Boulevard Maréchal Leclerc 14000 Caen"], index).iloc[0]
    assert found["score"] == pytest.approx(0.4)
    assert math.isnan(found["longitude"])
    assert found["reason"] == f"score trop faible (0,40 < 0,50, {MATCH_STREET})"
    assert geocode(["Bd Maréchal Leclerc 14000 Caen"], index, min_score=0.3)["score"][0] == 0.4


def test_a_misspelt_street_is_found_by_its_close_name(index: BanIndex) -> None:
    found = geocode(["10 rue de Bayuex 14000 Caen", "1 Esplanade J-M Louvel Caen"], index)
    assert found["type"].tolist() == [MATCH_NUMBER, MATCH_NUMBER]
    assert found.loc[1, "label"] == "1 esplanade jean marie louvel (14118)"
    assert found["score"].between(0.8, 1.0, inclusive="left").all()
    assert geocode(["10 rue de Bayonne 14000"], index).loc[0, "reason"] == REASON_NO_STREET


def test_unknown_street_commune_or_postcode_stay_pending_with_their_reason(
    index: BanIndex,
) -> None:
    found = geocode(
        ["3 rue Inconnue 14000 Caen", "3 rue de Bayeux 75001 Paris", "", "5 rue de Caen"],
        index,
    )
    assert found["reason"].tolist() == [
        REASON_NO_STREET,
        REASON_NO_PLACE,
        REASON_EMPTY,
        REASON_AMBIGUOUS,  # Hérouville and Évrecy both have a « rue de Caen »
    ]
    assert found["longitude"].isna().all() and found["type"].isna().all()


def test_a_street_in_one_commune_only_needs_no_commune(index: BanIndex) -> None:
    found = geocode(["1 place de l'Europe"], index).iloc[0]
    assert found["type"] == MATCH_NUMBER and found["score"] == pytest.approx(0.9)


def test_citycode_column_wins_over_the_text(index: BanIndex) -> None:
    frame = pd.DataFrame(
        {"adresse": ["5 rue de Caen", "2 rue de Caen"], "code_insee": ["14257", ""]}
    )
    found, _ = geocode_locally(frame, index, citycode="code_insee")
    assert found.loc[0, "label"] == "5 rue caen (14257)"
    assert found.loc[1, "reason"] == REASON_AMBIGUOUS


def test_the_notes_count_by_kind_and_never_quote_an_address(index: BanIndex) -> None:
    texts = ["1 place St Pierre Caen", "13 rue de Bayeux Caen", "3 rue Inconnue 14000"]
    _, notes = geocode_locally(pd.DataFrame({"adresse": texts}), index, communes=COMMUNES)
    assert notes[0] == (
        "géocodage local (BAN importée, sans réseau) : 2 adresse(s) sur 3 placée(s) "
        f"({MATCH_NUMBER} : 1, {MATCH_NEAREST} : 1) ; score minimal 0,50"
    )
    assert notes[1] == f"1 adresse(s) non placée(s) : {REASON_NO_STREET} : 1"
    assert not any("inconnue" in n.lower() or "pierre" in n.lower() for n in notes)


def test_the_result_keeps_the_index_of_the_input(index: BanIndex) -> None:
    frame = pd.DataFrame({"adresse": ["1 place St Pierre Caen", ""]}, index=[40, 7])
    found, _ = geocode_locally(frame, index, communes=COMMUNES)
    assert found.index.tolist() == [40, 7]
    assert found.loc[40, "type"] == MATCH_NUMBER and found.loc[7, "reason"] == REASON_EMPTY


def test_ten_thousand_addresses_against_half_a_million_take_seconds() -> None:
    """Timing guard (generous): 10,000 addresses against 500,000 BAN rows."""
    import time

    import numpy as np

    rng = np.random.default_rng(7)
    n_communes, streets_per, numbers = 250, 100, 20
    insee = np.repeat([f"14{i:03d}" for i in range(n_communes)], streets_per * numbers)
    street = np.tile(np.repeat(np.arange(streets_per), numbers), n_communes)
    ban = pd.DataFrame(
        {
            "numero": np.tile(np.arange(1, numbers + 1), n_communes * streets_per),
            "rep": "",
            "voie": [f"rue numero {s} du lieu {s * 7 % 13}" for s in street],
            "code_postal": "14000",
            "code_insee": insee,
            "lon": rng.uniform(-0.5, 0.0, len(insee)),
            "lat": rng.uniform(49.0, 49.3, len(insee)),
        }
    )
    sample = ban.sample(10_000, random_state=1)
    communes = {f"14{i:03d}": f"Commune {i}" for i in range(n_communes)}
    texts = [
        f"{n + 1} r. numéro {v.split()[2]} du lieu {v.split()[-1]}, {communes[c]}"
        for n, v, c in zip(sample["numero"], sample["voie"], sample["code_insee"], strict=True)
    ]
    started = time.perf_counter()
    index = BanIndex.build(ban)
    found, _ = geocode_locally(pd.DataFrame({"adresse": texts}), index, communes=communes)
    elapsed = time.perf_counter() - started
    assert found["reason"].isna().mean() > 0.95
    assert elapsed < 20, elapsed
