#!/usr/bin/env bash
# Restore a dump made by backup.sh into a database.
#
#   restore.sh DUMP DATABASE            into a database that does not exist yet
#   restore.sh --replace DUMP DATABASE  replace an existing one (kept as DATABASE_avant_<time>)
#
# Connection: libpq's environment (PGHOST, PGPORT, PGUSER, password by peer authentication,
# ~/.pgpass or PGPASSWORD), as a role allowed to create databases; PGDATABASE is ignored
# (the maintenance database "postgres" is used to create and rename). Objects keep their
# owners and grants: restore as a superuser (sudo -u postgres) on a server whose roles
# exist (postgres/setup.sh makes them); TERRITORY_DB_OWNER sets the database's owner.
# The dump's .sha256 is checked when present. The dump is restored into a temporary
# database in one transaction; only when that worked is it renamed: a failed restore leaves
# the server as it was. Stop the app (systemctl stop 'territory@*') before --replace.
# Exit codes: 0 done; 2 one French line on stderr.
set -euo pipefail

fail() { echo "restauration : $*" >&2; exit 2; }

replace=0
if [ "${1:-}" = "--replace" ]; then replace=1; shift; fi
[ $# -eq 2 ] || fail "usage : restore.sh [--replace] SAUVEGARDE.dump BASE"
dump="$1"
target="$2"
[[ "$target" =~ ^[a-z_][a-z0-9_]{0,40}$ ]] \
  || fail "nom de base invalide « $target » (minuscules, chiffres, _)"
[ -f "$dump" ] || fail "sauvegarde introuvable : $dump"
if [ -f "$dump.sha256" ]; then
  (cd "$(dirname "$dump")" && sha256sum --check --status "$(basename "$dump").sha256") \
    || fail "empreinte SHA-256 différente : la sauvegarde $dump est altérée"
fi
pg_restore --list "$dump" >/dev/null 2>&1 || fail "$dump n'est pas une sauvegarde pg_dump lisible"

export PGDATABASE=postgres
psql_q() { psql --no-psqlrc --no-password -v ON_ERROR_STOP=1 -qtAX "$@"; }
exists() { [ "$(psql_q -c "SELECT 1 FROM pg_database WHERE datname = '$1'")" = "1" ]; }

if exists "$target" && [ "$replace" -eq 0 ]; then
  fail "la base « $target » existe déjà : --replace pour la remplacer (l'ancienne est gardée)"
fi
stamp="$(date -u +%Y%m%d%H%M%S)"
work="${target}_restauration_$stamp"
owner=()
if [ -n "${TERRITORY_DB_OWNER:-}" ]; then owner=(--owner="$TERRITORY_DB_OWNER"); fi
createdb --no-password --template=template0 "${owner[@]}" "$work" \
  || fail "impossible de créer la base $work"
if ! err="$(pg_restore --no-password --exit-on-error --single-transaction \
    --dbname="$work" "$dump" 2>&1)"; then
  dropdb --no-password --if-exists "$work" >/dev/null 2>&1 || true
  fail "pg_restore a échoué, rien n'a changé : $(head -1 <<<"$err")"
fi
if exists "$target"; then
  old="${target}_avant_$stamp"
  psql_q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$target' AND pid <> pg_backend_pid()" >/dev/null
  psql_q -c "ALTER DATABASE \"$target\" RENAME TO \"$old\"" \
    || { dropdb --no-password --if-exists "$work" >/dev/null 2>&1 || true; fail "impossible de renommer « $target » (encore utilisée ?)"; }
  echo "ancienne base gardée sous le nom $old (dropdb $old une fois vérifiée)" >&2
fi
psql_q -c "ALTER DATABASE \"$work\" RENAME TO \"$target\"" || fail "impossible de renommer $work en $target"
echo "$target"
