#!/bin/sh
# PostgreSQL for the Ketenpoort ledger. On first start (an empty PGDATA) it makes the cluster,
# the user POSTGRES_USER with POSTGRES_PASSWORD (password login, scram-sha-256) and the
# database POSTGRES_DB owned by it. Then it runs the server on POSTGRES_PORT (5432), listening
# on POSTGRES_LISTEN_ADDRESSES (*).
set -eu
: "${POSTGRES_USER:?set POSTGRES_USER}"
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
: "${POSTGRES_DB:?set POSTGRES_DB}"
bin=/usr/lib/postgresql/15/bin
mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  chown postgres "$pwfile"
  runuser -u postgres -- "$bin/initdb" -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" \
    --auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  printf 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n' \
    >> "$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    echo "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\";" \
      | runuser -u postgres -- "$bin/postgres" --single -D "$PGDATA" postgres >/dev/null
  fi
fi
unset POSTGRES_PASSWORD
exec runuser -u postgres -- "$bin/postgres" -D "$PGDATA" -p "${POSTGRES_PORT:-5432}" \
  -c listen_addresses="${POSTGRES_LISTEN_ADDRESSES:-*}" \
  -c unix_socket_directories=/var/run/postgresql
