#!/usr/bin/env bash
# Issue 17: fan-out and the per-user openings before (00e561f) and after the fault handling
# (heartbeat, bounded waits, the history check on every live event), alternating in one session.
set -uo pipefail
cd /work/main
out=bench/results/20261207-faults
# Each binary with the bench of its own commit: the bench seeds the database with its migrations.
for i in 1 2 3; do
  for which in old new; do
    echo "== fanout+idle $which $i"
    /tmp/bin/$which-bench run --full --only idle,fanout --bin /tmp/bin/$which-cyberhub --json "$out/fanout-$which-$i.json" 2>&1 | tee "$out/fanout-$which-$i.txt" | grep -E "^ +(idle|fanout|fan-out)"
  done
done
for i in 1 2; do
  for which in old new; do
    /tmp/bin/$which-bench run --full --only per-user --bin /tmp/bin/$which-cyberhub --json "$out/per-user-$which-$i.json" 2>&1 | tee "$out/per-user-$which-$i.txt" | grep "per-user x"
  done
done
