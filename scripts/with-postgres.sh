#!/usr/bin/env bash
# Runs a command with TEST_DATABASE_URL pointing at a PostgreSQL server: the one given in
# TEST_DATABASE_URL if set, else a throwaway cluster started here from the machine's binaries
# (initdb, pg_ctl) in a temporary directory on a free loopback port, removed afterwards. The tests
# that stop and start the server under running nodes get `$TEST_PG_CTL stop|start`; those that
# start servers of their own (a primary and its replica) get the binaries' directory, `$TEST_PG_BIN`.
#
# Usage: scripts/with-postgres.sh COMMAND [ARGS...]
#
# The throwaway cluster trades durability for speed (fsync off): it holds test data only; with
# PG_DURABLE=1 (the benchmarks) it keeps PostgreSQL's durable defaults. initdb refuses to run as
# root, so as root the cluster runs as the `postgres` account.
set -euo pipefail

if [ -n "${TEST_DATABASE_URL:-}" ]; then
  exec "$@"
fi

bin=""
if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
  # Through any symlink: the directory that holds the rest of the binaries too (pg_basebackup).
  bin=$(dirname "$(readlink -f "$(command -v initdb)")")
else
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && bin=$dir
  done
fi
if [ -z "$bin" ]; then
  echo "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's 'postgresql' package" \
       "(apt-get install -y postgresql), or set TEST_DATABASE_URL to a server the tests may create databases on" >&2
  exit 1
fi

dir=$(mktemp -d /tmp/cyberhub-pg.XXXXXX)
as_owner=()
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$dir"
  as_owner=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
settings="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=500"
if [ -z "${PG_DURABLE:-}" ]; then
  settings="$settings -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
fi
cat > "$dir/pg_ctl" <<CTL
#!/usr/bin/env bash
exec ${as_owner[*]} "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -m fast -o "$settings" "\$@"
CTL
chmod +x "$dir/pg_ctl"
cleanup() {
  "$dir/pg_ctl" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

"${as_owner[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 >/dev/null
"$dir/pg_ctl" start >/dev/null
export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
export TEST_PG_CTL="$dir/pg_ctl"
export TEST_PG_BIN="$bin"
echo "PostgreSQL for the tests at $TEST_DATABASE_URL" >&2
"$@"
