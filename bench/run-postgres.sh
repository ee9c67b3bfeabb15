#!/usr/bin/env bash
# PostgreSQL and several nodes, measured on this machine (BENCHMARKS.md): case openings on
# PostgreSQL side by side with SQLite, a broadcast to 10,000 streams over one node and over two, and
# 100,000 streams over six nodes, RUNS times (default 3), with the medians. PostgreSQL is a
# throwaway cluster with its durable defaults.
#   bench/run-postgres.sh                  # figures into bench/results/<timestamp>-postgres/
#   SCALE_CLIENTS=20000 bench/run-postgres.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${SCALE_CLIENTS:-100000}
rate=${PER_USER_RATE:-1000}
runs=${RUNS:-3}

cargo build --release --locked -p cyberhub-server -p cyberhub-bench
out="bench/results/$(date -u +%Y%m%d-%H%M%S)-postgres"
mkdir -p "$out"
for i in $(seq 1 "$runs"); do
  echo "== run $i of $runs"
  target/release/cyberhub-bench run --full --only per-user --per-user-rate "$rate" \
    --json "$out/sqlite-$i.json" | tee "$out/sqlite-$i.txt"
  PG_DURABLE=1 scripts/with-postgres.sh bash -c "target/release/cyberhub-bench run --full \
    --only per-user,nodes,scale --per-user-rate $rate --scale-clients $scale \
    --postgres \"\$TEST_DATABASE_URL\" --json $out/postgres-$i.json | tee $out/postgres-$i.txt"
done
# Medians; SQLite's per-user figures are the ones under "cyberhub" in the sqlite-* files.
echo "== SQLite" | tee "$out/summary.txt"
target/release/cyberhub-bench summarize "$out"/sqlite-*.json | tee -a "$out/summary.txt"
echo "== PostgreSQL" | tee -a "$out/summary.txt"
target/release/cyberhub-bench summarize "$out"/postgres-*.json | tee -a "$out/summary.txt"
