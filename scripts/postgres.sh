#!/usr/bin/env bash
# Start a local PostgreSQL with PostGIS for the test suite (Debian's packages) and print the
# URL of its test administrator: TERRITORY_TEST_DATABASE_URL=postgresql://…
# Needs root (apt-get, pg_ctlcluster); without root, or if anything fails, prints nothing
# and the PostgreSQL tests skip with their reason.
set -euo pipefail
[ "$(id -u)" = 0 ] || exit 0
if ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgis >/dev/null
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk '{print $1"/"$2}' | grep -qx "$version/main"; then
  pg_createcluster -q "$version" main >/dev/null
fi
pg_ctlcluster "$version" main start >/dev/null 2>&1 || true
for _ in $(seq 30); do
  su postgres -c "pg_isready -q -p 5432" && break
  sleep 1
done
su postgres -c "psql -q -p 5432 -v ON_ERROR_STOP=1" >/dev/null <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'territory_test') THEN
    CREATE ROLE territory_test LOGIN SUPERUSER PASSWORD 'territory_test';
  END IF;
END $$;
SQL
echo "postgresql://territory_test:territory_test@127.0.0.1:5432/postgres"
