#!/usr/bin/env bash
# Create the territory database on Debian's PostgreSQL + PostGIS: two roles and a database.
#
#   sudo -u postgres env TERRITORY_APP_DB_PASSWORD='…' /opt/territory/deploy/postgres/setup.sh
#
# Connection: libpq's environment (as the postgres superuser by peer authentication).
#   TERRITORY_DB_NAME          the database                                 [territory]
#   TERRITORY_DB_OWNER         owns the schema, runs the migrations; NOLOGIN [territory_owner]
#   TERRITORY_DB_APP_ROLE      the app's login: no superuser, no BYPASSRLS   [territory_app]
#   TERRITORY_APP_DB_PASSWORD  its password (required; read from the environment, given to
#                              psql on stdin, never on a command line)
# Idempotent: run it again to change the password. The tables, their grants and the
# row-level security policies are made by the store's migrations, not here.
# Exit codes: 0 done; 2 one French line on stderr.
set -euo pipefail

fail() { echo "installation PostgreSQL : $*" >&2; exit 2; }

db="${TERRITORY_DB_NAME:-territory}"
owner="${TERRITORY_DB_OWNER:-territory_owner}"
app="${TERRITORY_DB_APP_ROLE:-territory_app}"
password="${TERRITORY_APP_DB_PASSWORD:-}"
for name in "$db" "$owner" "$app"; do
  [[ "$name" =~ ^[a-z_][a-z0-9_]{0,40}$ ]] || fail "nom invalide « $name » (minuscules, chiffres, _)"
done
[ "${#password}" -ge 16 ] || fail "TERRITORY_APP_DB_PASSWORD manquant ou trop court (16 caractères au moins : openssl rand -base64 24)"
quoted="'${password//\'/\'\'}'"

export PGDATABASE=postgres
psql_q() { psql --no-psqlrc --no-password -v ON_ERROR_STOP=1 -qtAX "$@"; }
psql_q -c "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'" | grep -qx 1 \
  || fail "PostGIS absent du serveur (apt-get install postgresql postgis)"

psql_q >/dev/null <<SQL || fail "création des rôles impossible"
SELECT format('CREATE ROLE %I NOLOGIN', '$owner')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$owner') \gexec
SELECT format('CREATE ROLE %I LOGIN', '$app')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$app') \gexec
ALTER ROLE "$app" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT
  CONNECTION LIMIT 100 PASSWORD $quoted;
SQL
if [ "$(psql_q -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != "1" ]; then
  createdb --no-password --owner="$owner" --encoding=UTF8 --template=template0 "$db" \
    || fail "création de la base $db impossible"
fi
PGDATABASE="$db" psql_q >/dev/null <<SQL || fail "préparation de la base $db impossible"
CREATE EXTENSION IF NOT EXISTS postgis;
REVOKE ALL ON DATABASE "$db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE "$db" TO "$app";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO "$owner";
GRANT USAGE ON SCHEMA public TO "$app";
SQL
echo "postgresql://$app:…@localhost:5432/$db"
