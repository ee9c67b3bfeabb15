#!/usr/bin/env bash
# The full benchmark of BENCHMARKS.md, side by side with nginx + Nchan and the floor (a bare
# broadcast SSE server) on this machine: installs
# nginx and the Nchan module from Debian's packages when missing, builds release binaries, runs
# every workload RUNS times (default 3) and prints the medians, with ratios taken within each run.
#   bench/run.sh                 # figures into bench/results/<timestamp>/
#   RUNS=5 bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}

if [ ! -e /usr/lib/nginx/modules/ngx_nchan_module.so ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light libnginx-mod-nchan
fi

cargo build --release --locked -p cyberhub-server -p cyberhub-bench -p cyberhub-smartshell-stub
out="bench/results/$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$out"
for i in $(seq 1 "$runs"); do
  echo "== run $i of $runs"
  target/release/cyberhub-bench run --full --nchan --floor --json "$out/run-$i.json" | tee "$out/run-$i.txt"
done
target/release/cyberhub-bench summarize "$out"/run-*.json | tee "$out/summary.txt"
