#!/usr/bin/env bash
# The chaos run (BENCHMARKS.md, "Faults under play"): PostgreSQL with a synchronous replica, three
# nodes behind the deployment's nginx, members playing through the Rust SDK, faults at random; fails
# if anything was lost, duplicated or shown wrong. Needs PostgreSQL's server binaries and nginx
# (scripts/test-deps.sh installs both).
#   bench/chaos.sh              # 10 minutes; the report into bench/results/<timestamp>-chaos/
#   MINUTES=2 bench/chaos.sh
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${MINUTES:-10}

cargo build --release --locked -p cyberhub-server -p cyberhub-bench
out="bench/results/$(date -u +%Y%m%d-%H%M%S)-chaos"
mkdir -p "$out"
target/release/cyberhub-bench chaos --minutes "$minutes" --json "$out/report.json" 2>&1 \
  | tee "$out/report.txt"
