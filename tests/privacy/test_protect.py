"""Disclosure control: threshold on people, roll-up, secondary suppression, perturbation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from territory import Settings, ValidationError
from territory.grid import cell_ids, parent_ids
from territory.privacy.protect import (
    KEY_RANGE,
    MAX_NOISE,
    NOISE,
    partition,
    protect,
    protect_breakdown,
    protect_density,
    protect_density_by,
    protect_total,
    publish,
    tally,
)

SETTINGS = Settings()


def _cells(xs: list[int], ys: list[int]) -> np.ndarray:
    return cell_ids(np.array(xs) * 200 + 3_700_000, np.array(ys) * 200 + 2_800_000)


def _records(rows: list[tuple], columns: list[str], seed: int = 0) -> pd.DataFrame:
    """One record per contact, with a random record key (as drawn at import)."""
    df = pd.DataFrame(rows, columns=columns)
    df["cell"] = _cells(df["x"].tolist(), df["y"].tolist()) if len(df) else []
    df["n"] = 1
    df["key"] = np.random.default_rng(seed).integers(0, KEY_RANGE, len(df))
    return df


def test_the_perturbation_table_is_centred_and_bounded() -> None:
    assert len(NOISE) == KEY_RANGE
    assert NOISE.mean() == 0 and NOISE.min() == -MAX_NOISE and NOISE.max() == MAX_NOISE


def test_published_values_are_rounded_never_small_and_zero_stays_zero() -> None:
    n = np.arange(0, 400)
    for key in (0, 17, 255):
        out = publish(n, np.full(len(n), key), settings=SETTINGS)
        assert out[0] == 0
        assert (out[1:] >= 15).all() and (out % 5 == 0).all()
        assert (np.abs(out[12:] - n[12:]) <= MAX_NOISE + 2.5).all()


def test_the_same_records_always_publish_the_same_value() -> None:
    a = publish([120, 120], [33, 33], settings=SETTINGS)
    assert a[0] == a[1]
    # one record more changes the key as well as the count: the noise changes
    values = {int(publish([120 + d], [33 + 7 * d], settings=SETTINGS)[0]) - 120 for d in range(8)}
    assert len(values) > 1


def test_rounding_below_5_and_k_below_5_are_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(rounding=1)
    with pytest.raises(ValidationError):
        Settings(k=4)


def test_one_person_met_many_times_is_never_shown() -> None:
    """K counts people: 12 contacts of one person are hidden however many they are."""
    rows = [(0, 0, "00001", "p1")] * 12 + [(5, 5, "00001", f"q{i}") for i in range(30)]
    records = _records(rows, ["x", "y", "commune", "person"])
    out = protect_density(records, settings=SETTINGS)
    lonely = str(_cells([0], [0])[0])
    assert lonely not in set(out["zone"])  # merged, not shown on its own
    assert out.set_index("zone").loc["00001", "label"] == "< 11"  # the rest of its commune
    alone = protect_total(records[records["person"] == "p1"], settings=SETTINGS)
    assert alone.total is None and alone.total_label == "< 11"


def test_secondary_suppression_and_the_total() -> None:
    parts = pd.DataFrame(
        {"n": [40, 12, 3], "people": [30, 12, 2], "key": [1, 2, 3]}, index=["a", "b", "c"]
    )
    out = protect(parts, settings=SETTINGS)
    assert out.table["status"].tolist() == ["publié", "secret", "sous le seuil"]
    assert out.total is not None and abs(out.total - 55) <= MAX_NOISE + 2.5


def test_rollup_to_1km_then_commune_counts_people() -> None:
    # 12 people in one cell (200 m); 3+4+5 people in three cells of one km square (1 km);
    # 2 people far away alone (rest of their commune, under k).
    rows = [(0, 0, "00001", f"a{i}") for i in range(12)]
    rows += [(x, x, "00001", f"b{x}{i}") for x, m in ((2, 3), (3, 4), (4, 5)) for i in range(m)]
    rows += [(40, 40, "00002", "c1"), (40, 40, "00002", "c2")]
    out = protect_density(
        _records(rows, ["x", "y", "commune", "person"]), settings=SETTINGS
    ).set_index("level")
    assert set(out.index) == {"200m", "1km", "commune"}
    assert out.loc["1km", "zone"].startswith("CRS3035RES1000m")
    assert out.loc["commune", "label"] == "< 11"
    assert (out["status"] == "secret").sum() == 1  # one suppressed zone gets a second


contacts = st.lists(
    st.tuples(
        st.integers(0, 12),
        st.integers(0, 12),
        st.sampled_from(["00001", "00002", "00003"]),
        st.integers(0, 40),  # person
        st.sampled_from(["2026-T1", "2026-T2", "2026-T3"]),
    ),
    max_size=300,
)


def _people(records: pd.DataFrame, zones: pd.DataFrame) -> pd.Series:
    placed = records.merge(zones, on=["cell", "commune"])
    return placed.groupby("zone")["person"].nunique()


@hsettings(max_examples=150, deadline=None)
@given(contacts, st.sampled_from([5, 11]), st.integers(0, 10_000))
def test_random_contacts_no_value_from_fewer_than_k_people(rows, k, seed) -> None:
    settings = Settings(k=k)
    records = _records(rows, ["x", "y", "commune", "person", "part"], seed)
    zones = partition(records, k=k)
    out = protect_density(records, settings=settings, zones=zones)
    people = _people(records, zones)
    shown = out[out["count"].notna()]
    assert (people.reindex(shown["zone"]).fillna(0).to_numpy()[shown["count"] > 0] >= k).all()
    # a 200 m cell under k is never a zone of its own; a 1 km zone only holds small cells
    cells = out[out["level"] == "200m"]
    assert (people.reindex(cells["zone"]).to_numpy() >= k).all()
    # zones are disjoint parts of one territory: never exactly one suppressed part
    assert out["count"].isna().sum() != 1 or len(out) == 1
    by = protect_density_by(records, settings=settings, parts=["2026-T1", "2026-T2"], zones=zones)
    assert set(by["zone"]) == set(out["zone"])
    placed = records.merge(zones, on=["cell", "commune"])
    truth = placed.groupby(["zone", "part"])["person"].nunique()
    shown = by[by["count"].fillna(0) > 0]
    pairs = list(zip(shown["zone"], shown["part"], strict=True))
    assert (truth.reindex(pairs).to_numpy() >= k).all()
    for _, parts in by.pivot(index="zone", columns="part", values="count").iterrows():
        hidden = parts.isna()
        assert hidden.sum() != 1


@hsettings(max_examples=100, deadline=None)
@given(contacts, st.integers(0, 10_000))
def test_published_values_depend_only_on_the_records(rows, seed) -> None:
    """The same records give the same value in any view, whatever the order of the rows."""
    records = _records(rows, ["x", "y", "commune", "person", "part"], seed)
    assume(len(records) > 0)
    zones = partition(records, k=SETTINGS.k)
    a = protect_density(records, settings=SETTINGS, zones=zones).set_index("zone")["count"]
    shuffled = records.sample(frac=1, random_state=seed)
    b = protect_density(shuffled, settings=SETTINGS, zones=zones).set_index("zone")["count"]
    pd.testing.assert_series_equal(a.sort_index(), b.reindex(a.index).sort_index())
    commune = records[records["commune"] == "00001"]
    one = protect_total(commune, settings=SETTINGS)
    again = protect_total(shuffled[shuffled["commune"] == "00001"], settings=SETTINGS)
    assert one.total_label == again.total_label


# ----------------------------------------------------------- tables shown with both totals
def _determined(raw: np.ndarray, hidden: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> list:
    """Hidden cells that the shown row and column totals fix exactly (linear algebra)."""
    cells = list(zip(*np.nonzero(hidden), strict=True))
    if not cells:
        return []
    equations = [[1.0 if i == r else 0.0 for i, _ in cells] for r in np.flatnonzero(rows)]
    equations += [[1.0 if j == c else 0.0 for _, j in cells] for c in np.flatnonzero(cols)]
    a = np.array(equations) if equations else np.zeros((0, len(cells)))
    rank = np.linalg.matrix_rank(a) if len(a) else 0
    return [
        cell
        for n, cell in enumerate(cells)
        if np.linalg.matrix_rank(np.vstack([a, np.eye(len(cells))[n]])) == rank
    ]


small_counts = st.one_of(st.just(0), st.integers(1, 14), st.integers(0, 60))


@hsettings(max_examples=300, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda r: st.integers(1, 5).flatmap(
            lambda c: st.lists(
                st.lists(small_counts, min_size=c, max_size=c), min_size=r, max_size=r
            )
        )
    ),
    st.sampled_from([5, 11]),
)
def test_breakdown_hides_every_suppressed_cell_from_both_totals(values, k) -> None:
    """Rows (zones) and columns (quarters, categories) shown with their totals.

    Every contact is its own person here. No cell from fewer than k people, and no hidden
    cell recoverable by adding and subtracting what is shown.
    """
    raw = np.array(values, dtype="int64")
    assume((raw.sum(axis=1) > 0).all())  # a zone exists because it holds contacts
    settings = Settings(k=k)
    rows = [f"z{i}" for i in range(raw.shape[0])]
    columns = [f"c{j}" for j in range(raw.shape[1])]
    cells = [
        (r, c) for i, r in enumerate(rows) for j, c in enumerate(columns) for _ in range(raw[i, j])
    ]
    records = pd.DataFrame(cells, columns=["row", "column"])
    records["person"] = np.arange(len(records))
    records["n"] = 1
    records["key"] = np.random.default_rng(k).integers(0, KEY_RANGE, len(records))
    zone_tally = tally(records, "row").reindex(rows, fill_value=0)
    zones = protect(zone_tally, settings=settings, total_people=len(records)).table
    rows_open = (zones["status"] == "publié").to_numpy()
    out = protect_breakdown(
        records,
        rows=rows,
        columns=columns,
        shown_rows=pd.Series(rows_open, index=rows),
        settings=settings,
    )
    shown = out["count"].dropna()
    assert not ((shown >= 1) & (shown < k)).any()
    hidden = out["count"].isna().to_numpy().reshape(raw.shape)
    assert not (~hidden & (raw > 0) & (raw < k)).any()
    column_tally = tally(records, "column").reindex(columns, fill_value=0)
    cols_open = (
        protect(column_tally, settings=settings, total_people=len(records)).table["status"]
        == "publié"
    ).to_numpy()
    for line_raw, line_hidden, is_open in [
        *zip(raw, hidden, rows_open, strict=True),
        *zip(raw.T, hidden.T, cols_open, strict=True),
    ]:
        if is_open and line_raw.sum() > 0 and line_hidden.any():  # (a total 0 tells no one)
            assert line_hidden.sum() >= 2 and line_raw[line_hidden].sum() >= k
    assert _determined(raw, hidden, rows_open, cols_open) == []


def test_breakdown_of_the_density_keeps_its_zones() -> None:
    rows = [(0, 0, "00001", f"a{i}", "2026-T1") for i in range(20)]
    rows += [(0, 0, "00001", f"b{i}", "2026-T2") for i in range(15)]
    rows += [(1, 1, "00001", f"c{i}", "2026-T1") for i in range(6)]
    rows += [(2, 2, "00001", f"d{i}", "2026-T2") for i in range(7)]
    rows += [(40, 40, "00002", f"e{i}", "2026-T1") for i in range(30)]
    records = _records(rows, ["x", "y", "commune", "person", "part"])
    whole = protect_density(records, settings=SETTINGS)
    split = protect_density_by(records, settings=SETTINGS, parts=["2026-T1", "2026-T2", "2026-T3"])
    assert set(split["zone"]) == set(whole["zone"])
    assert split.groupby("zone").size().eq(3).all()
    empty_quarter = split[split["part"] == "2026-T3"]
    assert (empty_quarter["label"].isin(["0", "< 11"])).all()
    assert parent_ids(np.array([str(_cells([1], [1])[0])], dtype=object))[0] in set(whole["zone"])


def test_the_density_is_plain_text_and_integers_for_its_callers() -> None:
    rows = [(0, 0, "00001", f"a{i}") for i in range(12)] + [(9, 9, "00002", "b")]
    out = protect_density(_records(rows, ["x", "y", "commune", "person"]), settings=SETTINGS)
    for name in ("zone", "level"):
        assert not isinstance(out[name].dtype, pd.CategoricalDtype)
        assert pd.api.types.is_string_dtype(out[name])
    assert str(out["count"].dtype) == "Int64"
