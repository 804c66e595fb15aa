#!/usr/bin/env bash
# Install territory with its test extras into .venv (and, as root, Debian's Chromium for the
# browser tests, QGIS for the evaluation package's, PostgreSQL + PostGIS for the server's),
# then run the whole test suite. CI runs exactly this (see .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] && [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# QGIS itself opens the evaluation package (tests/evaluation/test_evaluation_qgis.py).
if [ "$(id -u)" = 0 ] && ! /usr/bin/python3 -c "import qgis.core" 2>/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    python3-qgis qgis-providers >/dev/null
fi
# deploy/ (tests/test_deploy.py): nginx -t on its site file (only the binary is used) and
# shellcheck on its scripts.
if [ "$(id -u)" = 0 ] && { [ ! -x /usr/sbin/nginx ] || ! command -v shellcheck >/dev/null; }; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light shellcheck >/dev/null
fi
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -c constraints.txt -e '.[test]'
.venv/bin/ruff check src bench tests app.py app_pages serve.py
.venv/bin/ruff format --check src bench tests app.py app_pages serve.py
.venv/bin/mypy
# A local PostgreSQL + PostGIS for the server tests (#24); they skip with their reason without it.
if [ -z "${TERRITORY_TEST_DATABASE_URL:-}" ]; then
  TERRITORY_TEST_DATABASE_URL="$(./scripts/postgres.sh || true)"
  export TERRITORY_TEST_DATABASE_URL
fi
status=0
.venv/bin/python -m pytest "$@" || status=$?
# The same store on the server (#24): with a server and on a whole run, a second pass puts
# every workspace of these tests on PostgreSQL (TERRITORY_TEST_BACKEND=postgres; the tests
# that read the GeoPackage file itself are marked file_only and skip): 177 tests, 4.5 min on
# the 2 shared cores (11 min when three other sessions loaded them).
if [ -n "${TERRITORY_TEST_DATABASE_URL:-}" ] && [ "$#" -eq 0 ]; then
  TERRITORY_TEST_BACKEND=postgres .venv/bin/python -m pytest \
    tests/test_store.py tests/test_batches.py tests/test_pgstore.py tests/test_views.py \
    tests/io/test_contacts.py tests/io/test_partners.py tests/map/test_maps.py \
    tests/rounds/test_plan_edits.py || status=$?
fi
exit "$status"
