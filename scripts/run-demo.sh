#!/usr/bin/env bash
# Install territory into .venv, build the fictional demo workspace (once) and start the app.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -c constraints.txt -e .
WORKSPACE="${TERRITORY_WORKSPACE:-workspaces/demo.gpkg}"
.venv/bin/territory demo --workspace "$WORKSPACE" --if-missing
export TERRITORY_WORKSPACE="$WORKSPACE"
exec .venv/bin/streamlit run app.py "$@"
