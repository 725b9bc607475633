#!/usr/bin/env bash
# Make sure the PostgreSQL server binaries (initdb, pg_ctl) are installed for the tests.
# Idempotent, non-interactive (CI has no stdin). The tests start their own throwaway
# cluster (tests/postgres.py), so no Debian system cluster is created or started here.
set -euo pipefail

find_bindir() {
    local initdb
    initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$initdb" ]; then
        initdb=$(command -v initdb || true)
    fi
    [ -n "$initdb" ] && dirname "$initdb"
}

report() {
    echo "PostgreSQL server: $("$1/postgres" --version | sed 's/^postgres (PostgreSQL) //') in $1"
}

if bindir=$(find_bindir); then
    report "$bindir"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "no PostgreSQL server found and no apt-get: install the PostgreSQL server" \
        "(initdb, pg_ctl) with your package manager, or put its bin directory on PATH" >&2
    exit 1
fi

PACKAGE=postgresql
# shellcheck source=scripts/as-root.sh
source "$(dirname "$0")/as-root.sh"

echo "installing the PostgreSQL server (apt-get install postgresql)..."
"${as_root[@]}" apt-get update
# postgresql-common first, so that the server package does not create and start the
# Debian 'main' cluster (the same switch the official postgres container images use).
apt_install postgresql-common
conf=/etc/postgresql-common/createcluster.conf
if [ -f "$conf" ]; then
    "${as_root[@]}" sed -ri 's/^#?\s*create_main_cluster\s*=.*$/create_main_cluster = false/' "$conf"
fi
apt_install postgresql

if ! bindir=$(find_bindir); then
    echo "postgresql installed but no initdb under /usr/lib/postgresql/*/bin" >&2
    exit 1
fi
report "$bindir"
