#!/usr/bin/env bash
# A throw-away PostgreSQL server for tests and the local cluster (Debian's `postgresql` package).
#
#   scripts/pg-temp.sh start DIR     initdb in DIR/data (when new) and start; prints the DSN, which
#                                    is also written to DIR/dsn
#   scripts/pg-temp.sh stop DIR      fast shutdown (waits)
#   scripts/pg-temp.sh kill DIR      immediate shutdown: what a crash of the database looks like
#   scripts/pg-temp.sh run CMD...    start one in a new temporary directory, run CMD with
#                                    HV_TEST_PG_DSN set, stop it and remove the directory; CMD's
#                                    exit status
#
# The server listens on a unix socket in DIR only (no TCP port, so nothing to collide with), with
# `trust` authentication: only who can enter DIR (mode 0700) can connect. PostgreSQL refuses to run
# as root, so under root the server runs as `nobody` and DIR belongs to it (root still enters it).
# fsync stays on: durability tests rely on COMMIT meaning "on disk". Exit status 77 (and one line
# on stderr) when PostgreSQL is not installed: the caller skips.
set -euo pipefail

bindir=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then bindir=$d; break; fi
done
if [ -z "$bindir" ]; then
  echo "SKIP: PostgreSQL server binaries not found (install Debian's postgresql package: scripts/deps.sh)" >&2
  exit 77
fi

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

pg_start() {
  local dir=$1
  mkdir -p "$dir"
  chmod 700 "$dir"
  [ "$(id -u)" -eq 0 ] && chown nobody "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 \
      --locale=C >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
  fi
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses='' -k $dir -p 5432 -c shared_buffers=16MB -c max_connections=200" \
    start >/dev/null || { tail -n 20 "$dir/server.log" >&2; return 1; }
  local dsn="host=$dir port=5432 user=postgres dbname=postgres connect_timeout=5"
  echo "$dsn" >"$dir/dsn.tmp" && mv "$dir/dsn.tmp" "$dir/dsn"
  echo "$dsn"
}

pg_stop() {
  local dir=$1 mode=${2:-fast}
  [ -f "$dir/data/postmaster.pid" ] || return 0
  as_owner "$bindir/pg_ctl" -D "$dir/data" -m "$mode" -w -t 60 stop >/dev/null 2>&1 || true
}

case "${1:-}" in
  start) pg_start "$2" ;;
  stop) pg_stop "$2" fast ;;
  kill) pg_stop "$2" immediate ;;
  run)
    shift
    dir=$(mktemp -d /tmp/hv-pg-XXXXXX)
    cleanup() { pg_stop "$dir" fast; rm -rf "$dir"; }
    trap cleanup EXIT
    HV_TEST_PG_DSN=$(pg_start "$dir")
    export HV_TEST_PG_DSN HV_TEST_PG_DIR=$dir
    set +e
    "$@"
    rc=$?
    set -e
    exit $rc
    ;;
  *)
    echo "usage: $0 start DIR | stop DIR | kill DIR | run CMD..." >&2
    exit 2
    ;;
esac
