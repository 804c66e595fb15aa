"""A curious user against the demo workspace: every view the product offers, combined.

The user lays the filtered density maps (each quarter, each category) beside the
unfiltered one and beside each territory's, and subtracts: overlapping zones, adjacent
periods, a filter and its complement. Published values are perturbed (cell key) and
rounded; these tests check the suppression pattern, which must hold even for an attacker
who would know every true total.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from territory import Settings
from territory.store import Workspace
from territory.territories import list_territories
from territory.views import BREAKDOWNS, breakdown_choices, density_layer


@pytest.fixture(scope="module")
def exact(settings: Settings) -> Settings:
    return settings


@pytest.fixture(scope="module")
def whole(demo_workspace: Path, exact: Settings) -> pd.Series:
    return density_layer(Workspace.open(demo_workspace), settings=exact).set_index("zone")["count"]


def _views(ws: Workspace, exact: Settings, by: str) -> pd.DataFrame:
    """Zones × values of one filter, as the map shows them (NA: not shown)."""
    return pd.DataFrame(
        {
            value: density_layer(ws, settings=exact, breakdown=(by, value)).set_index("zone")[
                "count"
            ]
            for value in breakdown_choices(ws)[by]
        }
    )


@pytest.mark.parametrize("by", list(BREAKDOWNS))
def test_a_filter_beside_the_whole_and_its_complement_isolates_nothing(
    demo_workspace: Path, exact: Settings, whole: pd.Series, by: str
) -> None:
    ws = Workspace.open(demo_workspace)
    table = _views(ws, exact, by)
    k = exact.k
    assert list(table.index) == list(whole.index)  # a filter never changes the zones
    shown = table.stack().dropna()
    assert not ((shown >= 1) & (shown < k)).any()
    # The complement of the shown values of a zone is what is left of its total:
    # it must never be one hidden value, nor a small number.
    hidden = table.isna()
    published = whole.notna()
    some_hidden = hidden[published].any(axis=1)
    assert (hidden[published].sum(axis=1)[some_hidden] >= 2).all()
    # A zone hidden on the unfiltered map is hidden under every filter.
    assert hidden[~published].all(axis=None)


@pytest.mark.parametrize("by", list(BREAKDOWNS))
def test_no_hidden_value_follows_from_all_the_views_together(
    demo_workspace: Path, exact: Settings, whole: pd.Series, by: str
) -> None:
    """Linear algebra: zone totals, shown cells and the filters' true totals fix no hidden cell.

    The filters' true totals are not shown; the attacker is given them anyway.
    """
    ws = Workspace.open(demo_workspace)
    table = _views(ws, exact, by)
    hidden = table.isna().to_numpy()
    cells = np.argwhere(hidden)
    if not len(cells):
        return
    equations = [cells[:, 0] == row for row in np.flatnonzero(whole.notna().to_numpy())]
    equations += [cells[:, 1] == column for column in range(table.shape[1])]
    a = np.array(equations, dtype=float)
    # A hidden cell is determined iff its unit vector lies in the row space of ``a``,
    # i.e. iff it has no component in the null space of ``a``.
    _, singular, vt = np.linalg.svd(a, full_matrices=True)
    rank = int((singular > 1e-9).sum())
    null_space = vt[rank:]
    determined = np.linalg.norm(null_space, axis=0) < 1e-9
    assert not determined.any(), table.index[cells[determined, 0]].tolist()[:5]


def test_overlapping_territories_show_the_same_zone_values(
    demo_workspace: Path, exact: Settings, whole: pd.Series
) -> None:
    """A zone at a territory's border has one value in every view: nothing to subtract."""
    ws = Workspace.open(demo_workspace)
    territories = list_territories(ws)
    assert len(territories) >= 2
    for defined in territories:
        view = density_layer(ws, settings=exact, territory=defined.name).set_index("zone")
        assert view["count"].equals(whole.reindex(view.index))
        for by in ("periode", "statut"):
            value = breakdown_choices(ws)[by][0]
            part = density_layer(ws, settings=exact, territory=defined.name, breakdown=(by, value))
            same = density_layer(ws, settings=exact, breakdown=(by, value)).set_index("zone")
            assert part.set_index("zone")["count"].equals(same["count"].reindex(part["zone"]))


def test_adjacent_quarters_are_disjoint_calendar_windows(demo_workspace: Path) -> None:
    ws = Workspace.open(demo_workspace)
    quarters = breakdown_choices(ws)["periode"]
    assert quarters == sorted(quarters) and len(set(quarters)) == len(quarters)
    periods = pd.PeriodIndex([q.replace("-T", "Q") for q in quarters], freq="Q")
    assert (np.diff(periods.asi8) == 1).all()  # consecutive, non-overlapping
