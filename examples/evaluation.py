# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Evaluating an outreach programme with `territory.api`
#
# A notebook in the jupytext *percent* format: open it in Jupyter with jupytext, or run it
# as a script (`python examples/evaluation.py`; the test suite does, on the demo
# workspace). Every figure below is a **published** value: the API calls the same
# disclosure-controlled functions as the app (k people, roll-up, perturbation, rounding).
#
# The workspace is `TERRITORY_WORKSPACE` (default: `workspaces/demo.gpkg`, built by
# `territory demo --workspace workspaces/demo.gpkg`); files go to `EVALUATION_OUT`
# (default: a temporary folder).

# %%
import os
import tempfile
from datetime import date
from pathlib import Path

import territory.api as tt

workspace = Path(os.environ.get("TERRITORY_WORKSPACE", "workspaces/demo.gpkg"))
out = Path(os.environ.get("EVALUATION_OUT") or tempfile.mkdtemp(prefix="evaluation-"))
ws = tt.open_workspace(workspace)
print(ws.name, "— seuil k =", ws.k)
ws.layers()

# %% [markdown]
# ## Where contacts are made: the protected density
# Zones are 200 m squares, 1 km squares or what is left of a commune; a hidden zone has
# no count (fewer than k people).

# %%
density = tt.density(ws)
print(len(density), "zones ;", int(density["count"].isna().sum()), "masquées")
shown = density["count"].dropna()
assert (shown.eq(0) | shown.ge(ws.k)).all()  # never a value between 1 and k - 1
density.groupby("level")["count"].sum()

# %% [markdown]
# ## Where to go first: indicators and the priority ranking
# Weights per group (need, coverage, access, mobility); the reasons are French phrases.

# %%
ranking = tt.ranking(ws, weights={"need": 2, "coverage": 1, "access": 1, "mobility": 1})
ranking[["rang", "code", "nom", "score", "pourquoi"]].head(5)

# %%
indicators = tt.indicators(ws, zones="commune")
indicators.drop(columns="geometry").describe().T.head(10)

# %% [markdown]
# ## When: the recommended slots of the first zone

# %%
first = str(ranking["code"].iloc[0])
slots = tt.when(ws, zone=first, week_start=date(2026, 11, 30), top=3)
for phrase in slots.slots["phrase"]:
    print(phrase)

# %% [markdown]
# ## Hot spots of the published density
# Getis-Ord Gi* with conditional permutations (seeded) and Benjamini-Hochberg q values:
# the classes say where the published density clusters, the false-discovery rate in
# force is in the parameters.

# %%
spots = tt.hot_spots(ws, permutations=499, seed=20261207)
print(spots.parameters["method"], spots.parameters["permutations"], "permutations")
spots.frame["classe"].value_counts()

# %% [markdown]
# ## Accessibility to the partners (E2SFCA, Gaussian decay, on foot)

# %%
access = tt.accessibility(ws, mode="marche", decay="gaussian", catchment_min=30)
access.drop(columns="geometry").sort_values("code").head(5)

# %% [markdown]
# ## A week's rounds (not saved)

# %%
plan, places = tt.plan_week(ws, week="2026-W49", time_limit=2)
print(len(plan.visits), "visites ;", len(places), "lieux candidats")

# %% [markdown]
# ## Hand the results over: the evaluation package (QGIS) and one layer

# %%
report = tt.export_package(ws, out=out / "evaluation.gpkg", day=date(2026, 12, 1))
print(report.to_text())
written = tt.export_layer(ws, name="density", out=out / "density.geojson")
print(written, "zones écrites dans", out / "density.geojson")
