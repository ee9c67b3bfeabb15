#!/usr/bin/env bash
# Runs every test of the repository: formatting, lints, the Rust suites (unit tests, the API tests
# against the real server on loopback with a real SQLite file, the attacks against the real binary,
# the hub tests), the quick benchmark, the TypeScript SDK with the conformance scenarios and the web
# page in Chromium, schemathesis against the live API, and the checks that openapi.json and the
# TypeScript types generated from `protocol/` are committed and current.
#
# On a machine with Rust and Node 20, it first installs what else it needs (scripts/test-deps.sh:
# Debian's chromium, postgresql, nginx-light and docker-compose, schemathesis from PyPI), or says in
# one line what is missing and how to get it.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== what the tests need"
scripts/test-deps.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test (SQLite)"
cargo test --workspace --locked

# The whole server suite again on PostgreSQL (a throwaway cluster from the machine's binaries, or
# TEST_DATABASE_URL), with the tests that need it, which the SQLite run reports as ignored: several
# nodes on one database, the database restarting under them, nginx in front.
echo "== cargo test -p cyberhub-server (PostgreSQL)"
scripts/with-postgres.sh cargo test --locked -p cyberhub-server -- --include-ignored \
  --skip a_full_disk --skip a_file_system_turned_read_only

# SQLite's storage failing under the server (a full tmpfs, an ext4 image remounted read-only by an
# error): the tests mount file systems, so they need root.
echo "== the storage faults (SQLite on a full disk and on a read-only file system)"
if [ "$(id -u)" = 0 ]; then
  cargo test --locked -p cyberhub-server --test disk -- --include-ignored
else
  echo "SKIPPED: these tests mount file systems and need root (as in CI):" \
    "sudo cargo test -p cyberhub-server --test disk -- --include-ignored" >&2
fi

# The quick benchmark: the real binary under load clients in separate processes; fails if any event
# is lost or delivered twice (bench/run.sh runs the full one).
echo "== cyberhub-bench run --quick"
cargo build --locked -p cyberhub-server -p cyberhub-bench -p cyberhub-smartshell-stub
target/debug/cyberhub-bench run --quick

# The deployment files, checked without a Docker engine.
echo "== docker-compose.yml"
scripts/check-deploy.sh

# The TypeScript SDK, the conformance scenarios and the live page in Chromium, against the binary
# built above.
echo "== TypeScript SDK, conformance, web page"
CYBERHUB_BIN="$PWD/target/debug/cyberhub" scripts/test-ts.sh

# The API fuzzed from its own OpenAPI document (schemathesis, 60 s): no 5xx, no answer the document
# does not describe, no crash.
echo "== schemathesis"
CYBERHUB_BIN=target/debug/cyberhub scripts/schemathesis.sh 60

# The README's first command, run from a clean clone: it builds the page and the release server
# and serves both, and the demo members play.
echo "== the README's first command, from a clean clone"
scripts/check-first-command.sh

# The API test rewrites openapi.json from the code: a difference means the committed copy is stale.
echo "== openapi.json is current"
if ! git diff --quiet -- openapi.json; then
  git diff --stat -- openapi.json
  echo "openapi.json is stale: run 'cargo test -p cyberhub-server --test api openapi' and commit it" >&2
  exit 1
fi

# The protocol tests (ts-rs) rewrite sdk-ts/src/generated/: a difference means the committed types
# are stale.
echo "== generated TypeScript is current"
if ! git diff --quiet -- sdk-ts/src/generated; then
  git diff --stat -- sdk-ts/src/generated
  echo "sdk-ts/src/generated is stale: run 'cargo test -p cyberhub-protocol' and commit the result" >&2
  exit 1
fi
untracked=$(git ls-files --others --exclude-standard -- sdk-ts/src/generated)
if [ -n "$untracked" ]; then
  echo "generated TypeScript not committed: $untracked" >&2
  exit 1
fi
echo "all tests passed"
