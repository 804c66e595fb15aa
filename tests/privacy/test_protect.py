"""Disclosure control: threshold, roll-up, secondary suppression, rounding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from territory import Settings, ValidationError
from territory.grid import cell_ids
from territory.privacy.protect import (
    protect,
    protect_breakdown,
    protect_density,
    protect_density_by,
)

SETTINGS = Settings()


def test_threshold_and_rounding_never_show_small_numbers() -> None:
    out = protect(pd.Series({"a": 11, "b": 12, "c": 13, "d": 27, "e": 0}), settings=SETTINGS)
    # 11, 12 and 13 round to 10 or 15: raised to 15, the first multiple of 5 at or above k
    assert out.table["count"].tolist() == [15, 15, 15, 25, 0]
    assert out.table.loc["e", "label"] == "0"


def test_single_suppressed_part_triggers_secondary_suppression() -> None:
    out = protect(pd.Series({"a": 40, "b": 12, "c": 3}), settings=SETTINGS)
    assert out.table["status"].tolist() == ["publié", "secret", "sous le seuil"]
    assert out.total == 55


def test_total_under_k_is_not_shown() -> None:
    out = protect(pd.Series({"a": 4, "b": 3}), settings=SETTINGS)
    assert out.total is None and out.total_label == "< 11"
    assert out.table["count"].isna().all()


def test_k_can_be_raised_never_lowered_below_5() -> None:
    out = protect(pd.Series({"a": 14, "b": 30}), settings=Settings(k=15))
    assert out.table.loc["a", "label"] == "< 15"
    with pytest.raises(ValidationError):
        Settings(k=4)


def _cells(xs: list[int], ys: list[int]) -> np.ndarray:
    return cell_ids(np.array(xs) * 200 + 3_700_000, np.array(ys) * 200 + 2_800_000)


def test_rollup_to_1km_then_commune() -> None:
    # 12 contacts in one cell (published at 200 m); 3+4+5 in three cells of one km
    # square (published at 1 km); 2 contacts far away alone (suppressed, commune level).
    cells = _cells([0, 1, 2, 3, 40], [0, 1, 2, 3, 40])
    df = pd.DataFrame({"cell": cells, "commune": ["00001"] * 4 + ["00002"], "n": [12, 3, 4, 5, 2]})
    out = protect_density(df, settings=SETTINGS).set_index("level")
    assert set(out.index) == {"200m", "1km", "commune"}
    assert out.loc["1km", "zone"].startswith("CRS3035RES1000m")
    assert out.loc["commune", "label"] == "< 11"
    # exactly one suppressed zone: the smallest published one is suppressed too
    assert (out["status"] == "secret").sum() == 1


contact_sets = st.lists(
    st.tuples(
        st.integers(0, 30),
        st.integers(0, 30),
        st.sampled_from(["00001", "00002", "00003"]),
        st.integers(1, 40),
    ),
    min_size=0,
    max_size=60,
)


@hsettings(max_examples=300, deadline=None)
@given(contact_sets, st.sampled_from([5, 11, 15]), st.sampled_from([1, 5, 10]))
def test_no_value_between_1_and_k_minus_1_and_nothing_recoverable(rows, k, rounding) -> None:
    settings = Settings(k=k, rounding=rounding)
    df = pd.DataFrame(rows, columns=["x", "y", "commune", "n"])
    df["cell"] = _cells(df["x"].tolist(), df["y"].tolist()) if len(df) else []
    out = protect_density(df[["cell", "commune", "n"]], settings=settings)
    shown = out["count"].dropna()
    assert not ((shown >= 1) & (shown < k)).any()
    # zones are disjoint parts of one territory: never exactly one suppressed part
    suppressed = out["count"].isna().sum()
    assert suppressed != 1 or len(out) == 1
    # the total shown with them is protected too
    total = protect(df.groupby("commune")["n"].sum(), settings=settings)
    if total.total is not None:
        assert total.total == 0 or total.total >= k


@hsettings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=2, max_size=12), st.sampled_from([5, 11]))
def test_parts_with_their_total_hide_every_suppressed_value(parts, k) -> None:
    """Subtracting the published parts from the total gives only a sum of ≥ 2 hidden parts."""
    out = protect(pd.Series(parts), settings=Settings(k=k, rounding=1))
    hidden = out.table["count"].isna()
    if out.total is None:  # nothing at all is shown
        assert hidden.all()
        return
    assert hidden.sum() != 1
    if out.total is not None and hidden.sum() >= 2:
        # with rounding 1 the difference is exact: it is the sum of at least two parts,
        # one of which is ≥ k, so it never equals a single small value
        difference = out.total - int(out.table["count"].dropna().sum())
        assert difference >= k


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


@hsettings(max_examples=400, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda r: st.integers(1, 5).flatmap(
            lambda c: st.tuples(
                st.lists(st.lists(small_counts, min_size=c, max_size=c), min_size=r, max_size=r),
            )
        )
    ),
    st.sampled_from([5, 11]),
)
def test_breakdown_hides_every_suppressed_cell_from_both_totals(table, k) -> None:
    """Rows (zones) and columns (quarters, categories) shown with their totals.

    No cell in 1..k-1, and no hidden cell recoverable by adding and subtracting what is shown.
    """
    (values,) = table
    raw = np.array(values, dtype="int64")
    settings = Settings(k=k, rounding=1)
    totals = raw.sum(axis=1)  # a zone's total is shown unless under k (or secret)
    assume((totals > 0).all())  # a zone exists because it holds contacts
    zones = protect(pd.Series(totals), settings=settings).table  # the unfiltered map
    rows_open = (zones["status"] == "publié").to_numpy()
    frame = pd.DataFrame(raw, index=[f"z{i}" for i in range(len(raw))])
    out = protect_breakdown(
        frame, shown_rows=pd.Series(rows_open, index=frame.index), settings=settings
    )
    shown = out["count"].dropna()
    assert not ((shown >= 1) & (shown < k)).any()
    hidden = out["count"].isna().to_numpy().reshape(raw.shape)
    cols_open = (
        protect(pd.Series(raw.sum(axis=0)), settings=settings).table["status"] == "publié"
    ).to_numpy()
    for line_raw, line_hidden, is_open in [
        *zip(raw, hidden, rows_open, strict=True),
        *zip(raw.T, hidden.T, cols_open, strict=True),
    ]:
        if is_open and line_raw.sum() > 0 and line_hidden.any():  # (a total 0 tells no one)
            assert line_hidden.sum() >= 2 and line_raw[line_hidden].sum() >= k
    assert _determined(raw, hidden, rows_open, cols_open) == []
    # what is shown is exact with rounding 1
    assert (out.loc[out["count"].notna(), "count"].to_numpy() == raw.ravel()[~hidden.ravel()]).all()


def test_breakdown_of_the_density_keeps_its_zones() -> None:
    cells = _cells([0, 0, 1, 2, 40], [0, 0, 1, 2, 40])
    df = pd.DataFrame(
        {
            "cell": cells,
            "commune": ["00001"] * 4 + ["00002"],
            "part": ["2026-T1", "2026-T2", "2026-T1", "2026-T2", "2026-T1"],
            "n": [20, 15, 6, 7, 30],
        }
    )
    whole = protect_density(
        df.groupby(["cell", "commune"], as_index=False)["n"].sum(), settings=SETTINGS
    )
    split = protect_density_by(df, settings=SETTINGS, parts=["2026-T1", "2026-T2", "2026-T3"])
    assert set(split["zone"]) == set(whole["zone"])
    assert split.groupby("zone").size().eq(3).all()
    empty_quarter = split[split["part"] == "2026-T3"]
    assert (empty_quarter["label"].isin(["0", "< 11"])).all()


@hsettings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 12),
            st.integers(0, 12),
            st.sampled_from(["00001", "00002"]),
            st.sampled_from(["2026-T1", "2026-T2", "2026-T3"]),
            st.integers(1, 30),
        ),
        max_size=50,
    ),
    st.sampled_from([5, 11]),
)
def test_every_filter_value_of_random_contacts_is_protected(rows, k) -> None:
    """Random contact sets through the filtered density, every value the UI offers.

    No value in 1..k-1, and each zone's hidden parts are never one, never a small sum.
    """
    settings = Settings(k=k, rounding=1)
    df = pd.DataFrame(rows, columns=["x", "y", "commune", "part", "n"])
    df["cell"] = _cells(df["x"].tolist(), df["y"].tolist()) if len(df) else []
    df = df.groupby(["cell", "commune", "part"], as_index=False)["n"].sum()
    values = ["2026-T1", "2026-T2", "2026-T3", "2026-T4"]
    out = protect_density_by(df[["cell", "commune", "part", "n"]], settings=settings, parts=values)
    whole = protect_density(
        df.groupby(["cell", "commune"], as_index=False)["n"].sum(), settings=settings
    ).set_index("zone")
    shown = out["count"].dropna()
    assert not ((shown >= 1) & (shown < k)).any()
    table = out.pivot(index="zone", columns="part", values="count")
    for zone, parts in table.iterrows():
        total = whole.loc[zone, "count"]
        hidden = parts.isna()
        if pd.isna(total):
            assert hidden.all()
        elif hidden.any():
            assert hidden.sum() >= 2 and total - parts.dropna().sum() >= k
        else:
            assert parts.sum() == total
