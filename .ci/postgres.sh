#!/usr/bin/env bash
# Start a local PostgreSQL for the warehouse tests and print the line that points them at it:
#   eval "$(.ci/postgres.sh)"   ->   export GTMCHECK_TEST_POSTGRES_URL=postgresql+psycopg://gtm:gtm@127.0.0.1:5432/gtm
# Idempotent: an already running cluster, role or database is reused. Progress goes to stderr, so only the
# export line reaches stdout. Installs the postgresql package through apt-get when it is missing and we are root.
set -euo pipefail

PGVERSION="${PGVERSION:-15}"
PGPORT="${PGPORT:-5432}"
DB_USER=gtm
DB_PASS=gtm
DB_NAME=gtm

log() { echo "postgres.sh: $*" >&2; }

as_postgres() {
  if [ "$(id -u)" = "0" ]; then
    su postgres -s /bin/sh -c "$*"
  else
    sudo -n -u postgres sh -c "$*"
  fi
}

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    log "installing postgresql"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2
  else
    log "PostgreSQL is not installed and cannot be installed here (need root and apt-get)"
    exit 1
  fi
fi

cluster="$(pg_lsclusters --no-header | awk -v v="$PGVERSION" '$1 == v {print $2; exit}')"
if [ -z "$cluster" ]; then
  cluster="$(pg_lsclusters --no-header | awk '{print $1 " " $2; exit}')"
  if [ -z "$cluster" ]; then
    log "creating cluster $PGVERSION main"
    pg_createcluster "$PGVERSION" main --port "$PGPORT" >&2
    cluster=main
  else
    PGVERSION="${cluster%% *}"
    cluster="${cluster#* }"
  fi
fi
PGPORT="$(pg_lsclusters --no-header | awk -v v="$PGVERSION" -v c="$cluster" '$1 == v && $2 == c {print $3}')"

status="$(pg_lsclusters --no-header | awk -v v="$PGVERSION" -v c="$cluster" '$1 == v && $2 == c {print $4}')"
if [ "$status" != "online" ]; then
  log "starting cluster $PGVERSION $cluster on port $PGPORT"
  pg_ctlcluster --skip-systemctl-redirect "$PGVERSION" "$cluster" start >&2
fi

for _ in $(seq 1 30); do
  if as_postgres "pg_isready -q -h 127.0.0.1 -p $PGPORT"; then break; fi
  sleep 1
done
as_postgres "pg_isready -q -h 127.0.0.1 -p $PGPORT" || { log "PostgreSQL did not become ready"; exit 1; }

psql_admin() { as_postgres "psql -v ON_ERROR_STOP=1 -q -p $PGPORT -d postgres -tAc \"$1\""; }

if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'")" != "1" ]; then
  log "creating role $DB_USER"
  psql_admin "CREATE ROLE $DB_USER LOGIN PASSWORD '$DB_PASS'"
fi
if [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != "1" ]; then
  log "creating database $DB_NAME"
  psql_admin "CREATE DATABASE $DB_NAME OWNER $DB_USER"
fi

echo "export GTMCHECK_TEST_POSTGRES_URL=postgresql+psycopg://$DB_USER:$DB_PASS@127.0.0.1:$PGPORT/$DB_NAME"
