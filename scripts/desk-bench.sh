#!/usr/bin/env bash
# The desktop app's figures for BENCHMARKS.md, on release builds: its CPU while connected and idle
# (30 s, from /proc/PID/stat), its memory (VmRSS, VmHWM), and the time from an opening's commit (the
# API call returning) to the repaint that shows the new balance (20 openings, from the app's state
# file). The window runs under Xvfb with Mesa's software GL, like the tests
# (desktop/tests/figures.rs; needs scripts/test-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p cyberhub-server
CYBERHUB_BIN="$PWD/target/release/cyberhub" \
  cargo test --release -p cyberhub-desk --test figures -- --ignored --nocapture
