#!/usr/bin/env bash
# Issue 16: case openings before (7f8fd0c; the opening path is unchanged up to 1574c47) and after
# the provably fair draw, alternating in one session (the before runs use a cyberhub-bench built
# at 7f8fd0c too: the bench seeds its database with its own migrations; the per-user workload's
# code is the same in both); SQLite at 2,000/s, PostgreSQL at 1,000/s.
set -uo pipefail
cd /work/main
out=bench/results/20261207-fairness
B=target/release/cyberhub-bench
before=/tmp/bin/new-cyberhub
after=target/release/cyberhub
for i in 1 2 3; do
  for which in before after; do
    bin=${!which}; bench=$B; [ $which = before ] && bench=/tmp/bin/cyberhub-bench
    echo "== sqlite $which $i"
    $bench run --full --only per-user --bin "$bin" --json "$out/sqlite-$which-$i.json" 2>&1 | tee "$out/sqlite-$which-$i.txt" | grep per-user
  done
  echo "== sqlite after reveal0 $i"
  $B run --full --only per-user --bin "$after" --server-env CYBERHUB_DROP_REVEAL_MS=0 --json "$out/sqlite-after-reveal0-$i.json" 2>&1 | tee "$out/sqlite-after-reveal0-$i.txt" | grep per-user
done
for i in 1 2 3; do
  for rate in 1000 500; do
  for which in before after; do
    bin=${!which}; bench=$B; [ $which = before ] && bench=/tmp/bin/cyberhub-bench
    echo "== postgres $rate $which $i"
    PG_DURABLE=1 scripts/with-postgres.sh bash -c "$bench run --full --only per-user --per-user-rate $rate --bin $bin --postgres \"\$TEST_DATABASE_URL\" --json $out/postgres-$rate-$which-$i.json" 2>&1 | tee "$out/postgres-$rate-$which-$i.txt" | grep per-user
  done
  done
done
