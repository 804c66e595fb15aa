"""Disclosure control: threshold, roll-up, secondary suppression, rounding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from territory import Settings, ValidationError
from territory.grid import cell_ids
from territory.privacy import protect, protect_density

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
