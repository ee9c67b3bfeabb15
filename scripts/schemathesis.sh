#!/usr/bin/env bash
# Fuzzes the live API from its own OpenAPI document with schemathesis (PyPI), bounded in time:
# every operation but the SSE stream (its answer never ends) and logout (it would revoke the token
# the run uses). Fails on any 5xx, any answer the document does not describe, and any crash.
#
# Usage: scripts/schemathesis.sh [SECONDS]   (default 60; CYBERHUB_BIN picks the server binary)
set -euo pipefail
cd "$(dirname "$0")/.."
budget="${1:-60}"
bin="${CYBERHUB_BIN:-target/debug/cyberhub}"
command -v st >/dev/null || { echo "schemathesis is missing: pip install schemathesis" >&2; exit 1; }

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The limits for one client are lifted (the fuzzer is one client sending thousands of requests; the
# limits have tests of their own); long-polls answer within a second.
"$bin" serve --demo --demo-activity off --listen "127.0.0.1:$port" --database-url "sqlite://$work/cyberhub.db" \
  --login-rate-ip off --login-rate-user off --stream-rate-ip off --stream-rate-user off \
  --poll-rate-ip off --poll-rate-user off --write-rate-user off --chat-rate off \
  --poll-timeout-secs 1 --poll-max-timeout-secs 1 >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.1
done
token=$(curl -sf "http://127.0.0.1:$port/v1/auth/login" -H 'content-type: application/json' \
  -d '{"username":"admin","password":"admin-demo-1"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

# The coverage phase is left out: on this machine's Python 3.11 it crashes inside Hypothesis now and
# then (CPython's "AST constructor recursion depth mismatch" while describing a lambda), a failure of
# the tool, not of the server. The examples, fuzzing and stateful phases run.
# positive_data_acceptance and negative_data_rejection judge the document's input schemas against
# rules JSON Schema cannot state (text is trimmed before its length counts, a repeated chat message
# is refused); every check of what the server answers is on, but one:
# ensure_resource_availability ("Created resource not found") failed once in CI, on a PUT
# /v1/admin/cases/44 that answered 404 right after a POST /v1/admin/cases, and did not come back
# in seven local runs. The check takes the POST as the PUT's creator from its status alone: it never
# compares the id the POST returned with the id the PUT used, and the stateful phase feeds ids seen
# in earlier scenarios (where they may have been deleted) back into generation. The server's PUT
# answers 404 only when no row has that id, and only DELETE removes one. tests/api/cases.rs pins
# create, update and delete.
status=0
# From the scratch directory: schemathesis keeps a cache in its working directory.
(cd "$work" && st run "http://127.0.0.1:$port/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks all --exclude-checks positive_data_acceptance,negative_data_rejection,ensure_resource_availability \
  --exclude-path /v1/events --exclude-path /v1/auth/logout \
  --phases examples,fuzzing,stateful \
  --max-time "$budget" --workers 2 --request-timeout 10 \
  --seed "${SCHEMATHESIS_SEED:-20261201}") || status=$?
if ! kill -0 $server 2>/dev/null; then
  echo "the server died during the run:" >&2
  tail -20 "$work/server.log" >&2
  exit 1
fi
exit $status
