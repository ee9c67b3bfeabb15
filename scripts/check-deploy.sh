#!/usr/bin/env bash
# Checks the deployment files without a Docker engine: docker-compose.yml parses and resolves (both
# the cluster and the SQLite profile), with placeholder secrets. The nginx site is checked by the
# topology test (server/tests/nginx), which runs `nginx -t` on it and then serves through it.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v docker-compose >/dev/null; then
  compose=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  echo "neither docker-compose nor the docker compose plugin: apt-get install docker-compose" >&2
  exit 1
fi
export POSTGRES_PASSWORD=placeholder CYBERHUB_TOPUP_SECRET=placeholder CYBERHUB_FAIRNESS_KEY=placeholder
"${compose[@]}" -f docker-compose.yml config -q
"${compose[@]}" -f docker-compose.yml --profile sqlite config -q
services=$("${compose[@]}" -f docker-compose.yml --profile sqlite config --services | sort | tr '\n' ' ')
[ "$services" = "cyberhub-sqlite nginx node1 node2 postgres " ] || { echo "unexpected services: $services" >&2; exit 1; }
echo "docker-compose.yml: valid ($services)"
