#!/usr/bin/env bash
# Dump the territory database (pg_dump, custom format) and keep the last days' dumps.
#
# Connection: libpq's environment (PGHOST, PGPORT, PGUSER, PGDATABASE; the password from
# peer authentication, ~/.pgpass or PGPASSWORD): never on the command line.
#   TERRITORY_BACKUP_DIR        folder of the dumps (created 0700)       [/var/backups/territory]
#   TERRITORY_BACKUP_KEEP_DAYS  dumps older than this many days removed  [30]
# Each dump is written under a temporary name, checked with pg_restore --list, then
# renamed: territory-<database>-<UTC time>.dump, beside its .sha256. The retention only
# runs after a good dump, and never removes the newest one.
# Exit codes: 0 done; 2 one French line on stderr (nothing half-written is left).
set -euo pipefail
umask 077

fail() { echo "sauvegarde : $*" >&2; exit 2; }

dir="${TERRITORY_BACKUP_DIR:-/var/backups/territory}"
keep_days="${TERRITORY_BACKUP_KEEP_DAYS:-30}"
database="${PGDATABASE:-territory}"
if ! [[ "$keep_days" =~ ^[0-9]+$ ]] || [ "$keep_days" -lt 1 ]; then
  fail "TERRITORY_BACKUP_KEEP_DAYS doit être un nombre de jours (au moins 1), reçu « $keep_days »"
fi
command -v pg_dump >/dev/null || fail "pg_dump introuvable (apt-get install postgresql-client)"
mkdir -p "$dir" || fail "impossible de créer le dossier $dir"
chmod 700 "$dir"

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
final="$dir/territory-$database-$stamp.dump"
tmp="$dir/.territory-$database-$stamp.dump.partial"
trap 'rm -f "$tmp"' EXIT

if ! err="$(PGDATABASE="$database" pg_dump --format=custom --compress=6 --no-password \
    --file="$tmp" 2>&1)"; then
  fail "pg_dump a échoué pour la base « $database » : $(head -1 <<<"$err")"
fi
pg_restore --list "$tmp" >/dev/null 2>&1 || fail "la sauvegarde écrite est illisible ($tmp)"
mv "$tmp" "$final"
(cd "$dir" && sha256sum "$(basename "$final")" >"$(basename "$final").sha256")
trap - EXIT

# retention: dumps of this database older than keep_days, except the one just made
find "$dir" -maxdepth 1 -type f -name "territory-$database-*.dump" -mtime "+$((keep_days - 1))" \
  ! -name "$(basename "$final")" -print0 |
  while IFS= read -r -d '' old; do
    rm -f "$old" "$old.sha256"
  done
echo "$final"
