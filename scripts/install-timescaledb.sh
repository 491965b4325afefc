#!/usr/bin/env bash
# Install the TimescaleDB extension (Apache-licence build) into PostgreSQL 15 on Debian bookworm.
#
# Debian bookworm ships no TimescaleDB package and only PyPI, npm and Debian's mirrors are
# reachable, so we build Debian trixie's *source* package against bookworm's PostgreSQL 15:
#
#   1. PostgreSQL 15 itself (postgresql-15) when pg_lsclusters is missing; cluster 15/main online.
#   2. A deb-src-only entry for trixie (its own sources file, same mirror and keyring as the
#      machine's Debian entry). deb-src only: apt never sees a trixie *binary*, so it can never
#      upgrade bookworm packages to trixie ones.
#   3. apt-get source timescaledb/trixie; ./bootstrap -DAPACHE_ONLY=1 ...; make -C build install.
#   4. shared_preload_libraries gets 'timescaledb' (a conf.d drop-in, rewritten, never appended),
#      and the cluster restarts.
#
# Idempotent: the build is skipped when the control file and the library are already there,
# and the restart when the running server already preloads timescaledb.
set -euo pipefail

PG_MAJOR=15
PG_CLUSTER=main
PG_BINDIR=/usr/lib/postgresql/${PG_MAJOR}/bin
PG_CONFIG=${PG_BINDIR}/pg_config
CONTROL=/usr/share/postgresql/${PG_MAJOR}/extension/timescaledb.control
SRC_LIST=/etc/apt/sources.list.d/trixie-src.sources
DROPIN_DIR=/etc/postgresql/${PG_MAJOR}/${PG_CLUSTER}/conf.d
DROPIN=${DROPIN_DIR}/50-timescaledb.conf
export DEBIAN_FRONTEND=noninteractive

T0=$SECONDS
say() { printf '[install-timescaledb +%3ss] %s\n' "$((SECONDS - T0))" "$*"; }
die() { printf '[install-timescaledb] ERROR: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (it installs packages and writes /etc)"

APT_UPDATED=0
apt_update() {
    if [[ $APT_UPDATED -eq 0 ]]; then
        say "apt-get update"
        apt-get update -qq
        APT_UPDATED=1
    fi
}

# Install the packages that are not installed yet (a no-op, without apt, when all are).
apt_install() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' \
            || missing+=("$pkg")
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        # A fresh machine may have no package lists at all.
        compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || apt_update
        say "apt-get install ${missing[*]}"
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
            || { apt_update; apt-get install -y -qq --no-install-recommends "${missing[@]}"; }
    fi
}

# As the postgres OS user over the Unix socket (peer auth): works whatever pg_hba says for TCP.
psql_admin() { (cd / && runuser -u postgres -- psql -X -q -p "$PG_PORT" -d postgres -At "$@"); }

cluster_status() { pg_lsclusters -h 2>/dev/null | awk -v v="$PG_MAJOR" -v c="$PG_CLUSTER" '$1==v && $2==c {print $4}'; }

wait_ready() {
    local _
    for _ in $(seq 1 60); do
        pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && return 0
        sleep 0.5
    done
    die "PostgreSQL ${PG_MAJOR}/${PG_CLUSTER} does not accept connections on 127.0.0.1:${PG_PORT}"
}

# --- 1. PostgreSQL 15 and its cluster ---------------------------------------------------------
if ! command -v pg_lsclusters >/dev/null || [[ ! -x ${PG_BINDIR}/postgres ]]; then
    apt_install postgresql-${PG_MAJOR} postgresql-client-${PG_MAJOR}
fi
if [[ -z $(cluster_status) ]]; then
    say "creating cluster ${PG_MAJOR}/${PG_CLUSTER}"
    pg_createcluster "$PG_MAJOR" "$PG_CLUSTER"
fi
PG_PORT=$(pg_conftool -s "$PG_MAJOR" "$PG_CLUSTER" show port 2>/dev/null || echo 5432)
if [[ $(cluster_status) != online* ]]; then
    say "starting PostgreSQL ${PG_MAJOR}/${PG_CLUSTER}"
    pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" "$PG_CLUSTER" start
fi
wait_ready

# --- 2.-3. build and install the extension ----------------------------------------------------
ext_installed() {
    [[ -f $CONTROL ]] || return 1
    local libdir
    libdir=$("$PG_CONFIG" --pkglibdir)
    compgen -G "${libdir}/timescaledb-*.so" >/dev/null && [[ -f ${libdir}/timescaledb.so ]]
}

# Mirror URI and keyring of the machine's own Debian entry (deb822 first, then one-line format).
debian_mirror() {
    local uri="" keyring="" f
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f $f && $f != "$SRC_LIST" ]] || continue
        # Per stanza: the first URI of a stanza whose Suites name bookworm (not -security).
        read -r uri keyring < <(awk '
            function flush() {
                if (suites ~ /(^|[ \t])bookworm([ \t]|$)/ && uris != "" && !done) {
                    split(uris, u, /[ \t]+/); print u[1], (signed == "" ? "-" : signed); done = 1
                }
                uris = ""; suites = ""; signed = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            tolower($1) == "uris:"      { $1 = ""; sub(/^[ \t]+/, ""); uris = $0 }
            tolower($1) == "suites:"    { $1 = ""; sub(/^[ \t]+/, ""); suites = $0 }
            tolower($1) == "signed-by:" { $1 = ""; sub(/^[ \t]+/, ""); signed = $0 }
            END { flush() }' "$f") || true
        [[ -n $uri ]] && break
    done
    if [[ -z $uri ]]; then
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [[ -f $f ]] || continue
            # deb [signed-by=/path arch=amd64] http://deb.debian.org/debian bookworm main
            read -r uri keyring < <(awk '
                /^[ \t]*deb[ \t]/ {
                    opts = ""; i = 2
                    if ($2 ~ /^\[/) { while (i <= NF) { opts = opts " " $i; if ($i ~ /\]$/) { i++; break }; i++ } }
                    if ($(i + 1) == "bookworm") {
                        k = "-"
                        if (match(opts, /signed-by=[^] \t]+/)) k = substr(opts, RSTART + 10, RLENGTH - 10)
                        print $i, k; exit
                    }
                }' "$f") || true
            [[ -n $uri ]] && break
        done
    fi
    [[ -n $uri ]] || uri=http://deb.debian.org/debian
    if [[ ! -f $keyring ]]; then # none given, an inline key or a fingerprint
        keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    fi
    printf '%s %s\n' "$uri" "$keyring"
}

if ext_installed; then
    say "TimescaleDB already installed ($(sed -n "s/^default_version = '\(.*\)'/\1/p" "$CONTROL")): build skipped"
else
    read -r MIRROR KEYRING < <(debian_mirror)
    [[ -f $KEYRING ]] || die "archive keyring $KEYRING not found"
    want=$(printf '%s\n' \
        "# Source packages only (deb-src): TimescaleDB is built from trixie's source package by" \
        "# scripts/install-timescaledb.sh. No binaries: bookworm packages are never upgraded." \
        "Types: deb-src" \
        "URIs: ${MIRROR}" \
        "Suites: trixie" \
        "Components: main" \
        "Signed-By: ${KEYRING}")
    if [[ ! -f $SRC_LIST || $(cat "$SRC_LIST") != "$want" ]]; then
        say "writing $SRC_LIST (deb-src trixie main from ${MIRROR})"
        printf '%s\n' "$want" >"$SRC_LIST"
        APT_UPDATED=0
        apt_update
    elif ! compgen -G '/var/lib/apt/lists/*_dists_trixie_main_source_Sources*' >/dev/null; then
        apt_update
    fi
    apt_install dpkg-dev build-essential cmake postgresql-server-dev-${PG_MAJOR}

    work=$(mktemp -d /tmp/timescaledb-build.XXXXXX)
    trap 'rm -rf "$work"' EXIT
    chmod 0755 "$work"
    chown _apt "$work" 2>/dev/null || true # lets apt download without its "unsandboxed" notice
    say "apt-get source timescaledb/trixie (in $work)"
    if ! (cd "$work" && apt-get source -qq timescaledb/trixie >/dev/null); then
        # A stale index names a .dsc the mirror no longer has: refresh once and retry.
        apt_update
        (cd "$work" && apt-get source -qq timescaledb/trixie >/dev/null)
    fi
    srcdir=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'timescaledb-*' | head -n1)
    [[ -n $srcdir && -x $srcdir/bootstrap ]] || die "no timescaledb source tree in $work"
    say "building $(basename "$srcdir") against $("$PG_CONFIG" --version) (Apache licence only)"
    (
        cd "$srcdir"
        ./bootstrap -DAPACHE_ONLY=1 -DREGRESS_CHECKS=OFF -DTAP_CHECKS=OFF \
            -DWARNINGS_AS_ERRORS=OFF -DPG_CONFIG="$PG_CONFIG" >"$work/bootstrap.log" 2>&1 \
            || { tail -n 40 "$work/bootstrap.log" >&2; exit 1; }
        make -C build -j2 install >"$work/make.log" 2>&1 \
            || { tail -n 60 "$work/make.log" >&2; exit 1; }
    )
    ext_installed || die "make install finished but $CONTROL or the library is missing"
    say "installed TimescaleDB $(sed -n "s/^default_version = '\(.*\)'/\1/p" "$CONTROL")"
fi

# --- 4. preload it ----------------------------------------------------------------------------
has_timescaledb() { tr ',' '\n' <<<"$1" | tr -d " \t\"'" | grep -qx timescaledb; }

running=$(psql_admin -c 'SHOW shared_preload_libraries')
if has_timescaledb "$running"; then
    say "shared_preload_libraries already has timescaledb ('$running'): no restart"
else
    # Keep whatever else is preloaded; this file is rewritten, never appended to.
    value=$(tr ',' '\n' <<<"$running" | tr -d " \t\"'" | { grep -v '^$' || true; echo timescaledb; } | paste -sd, -)
    if grep -Eq "^[[:space:]]*include_dir[[:space:]]*=?[[:space:]]*'conf\.d'" \
        "/etc/postgresql/${PG_MAJOR}/${PG_CLUSTER}/postgresql.conf"; then
        mkdir -p "$DROPIN_DIR"
        say "writing $DROPIN (shared_preload_libraries = '$value')"
        cat >"$DROPIN" <<EOF
# Written by careline's scripts/install-timescaledb.sh (rewritten on every change).
shared_preload_libraries = '$value'
# No telemetry: this machine reaches no host but the package mirrors.
timescaledb.telemetry_level = off
EOF
        chown postgres:postgres "$DROPIN" 2>/dev/null || true
    else
        say "ALTER SYSTEM SET shared_preload_libraries = '$value'"
        psql_admin -c "ALTER SYSTEM SET shared_preload_libraries = '$value'"
    fi
    say "restarting PostgreSQL ${PG_MAJOR}/${PG_CLUSTER}"
    pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" "$PG_CLUSTER" restart
    wait_ready
    running=$(psql_admin -c 'SHOW shared_preload_libraries')
    if ! has_timescaledb "$running"; then
        # Something later in the chain (postgresql.auto.conf) overrides the drop-in.
        say "still '$running' after restart: setting it with ALTER SYSTEM"
        psql_admin -c "ALTER SYSTEM SET shared_preload_libraries = '$value'"
        pg_ctlcluster --skip-systemctl-redirect "$PG_MAJOR" "$PG_CLUSTER" restart
        wait_ready
        running=$(psql_admin -c 'SHOW shared_preload_libraries')
        has_timescaledb "$running" || die "shared_preload_libraries is '$running' after restart"
    fi
fi
say "done: PostgreSQL ${PG_MAJOR}/${PG_CLUSTER} on port ${PG_PORT} preloads timescaledb"
