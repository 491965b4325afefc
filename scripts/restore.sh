#!/usr/bin/env bash
# Restore a careline backup (scripts/backup.sh) into an EMPTY database.
#
#   createdb careline_restored
#   scripts/restore.sh postgresql://user@host:5432/careline_restored careline.dump
#
# With TimescaleDB, the documented way for hypertables: create the extension, call
# timescaledb_pre_restore() (which stops background jobs and lets chunks be restored as
# they were), pg_restore, then timescaledb_post_restore(). The server needs the same
# TimescaleDB version as the one the dump was taken from. Without TimescaleDB in the dump
# it is a plain pg_restore.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 EMPTY_DATABASE_URL DUMP_FILE" >&2
  exit 2
fi
url=$1
dump=$2
timescale=0
if pg_restore --list "$dump" | grep -q 'EXTENSION - timescaledb'; then
  timescale=1
  psql --quiet --no-psqlrc -v ON_ERROR_STOP=1 -d "$url" \
    -c 'CREATE EXTENSION IF NOT EXISTS timescaledb' \
    -c 'SELECT timescaledb_pre_restore()' >/dev/null
fi
status=0
pg_restore --no-owner --exit-on-error --dbname "$url" "$dump" || status=$?
if [ "$timescale" = 1 ]; then
  # whatever pg_restore did, TimescaleDB leaves restore mode (or the database stays in it)
  psql --quiet --no-psqlrc -v ON_ERROR_STOP=1 -d "$url" \
    -c 'SELECT timescaledb_post_restore()' >/dev/null
fi
if [ "$status" != 0 ]; then
  echo "pg_restore failed (exit $status): the database is incomplete; drop it and retry" >&2
  exit "$status"
fi
psql --quiet --no-psqlrc -v ON_ERROR_STOP=1 -d "$url" -c 'ANALYZE' >/dev/null
echo "restored $dump into the database"
