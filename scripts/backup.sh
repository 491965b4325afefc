#!/usr/bin/env bash
# Back up careline's database to one file (pg_dump's custom format, compressed).
#
#   scripts/backup.sh postgresql://user@host:5432/careline careline.dump
#
# Hypertables (readings) and continuous aggregates are dumped as TimescaleDB documents:
# a logical dump of the whole database, taken while careline runs (pg_dump reads one
# consistent snapshot). Restore with scripts/restore.sh into an empty database on a
# server with the same TimescaleDB version.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 DATABASE_URL DUMP_FILE" >&2
  exit 2
fi
# pg_dump warns about TimescaleDB's catalog tables' circular foreign keys: harmless for a
# full dump (the warning is about --data-only dumps), so it is filtered out.
pg_dump --format=custom --file "$2" "$1" 2> >(grep -v -e 'circular foreign-key' \
  -e 'detail: \(hypertable\|chunk\|continuous_agg\)' -e 'hint: \(You might\|Consider\)' >&2)
echo "backed up to $2 ($(du -h "$2" | cut -f1))"
