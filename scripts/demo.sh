#!/usr/bin/env bash
# The README's first command: the CyberHub API and the club's live page at http://localhost:3000/,
# on the embedded SQLite database (./data/cyberhub.db) with demo data, and demo members who open
# cases, sell items and chat on their own, so the page moves from the first minute.
#
# It builds the page when its sources changed (scripts/build-web.sh, Node 20+ with npm; without
# them the server runs with the API only and says so), then runs the server in release mode.
# Arguments go to `cyberhub serve --demo`, e.g. `--listen 127.0.0.1:4000` or `--demo-activity off`.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! scripts/build-web.sh; then
  echo "the live page was not built (see above): the server runs with the API only" >&2
fi
exec cargo run --release --locked -p cyberhub-server -- serve --demo "$@"
