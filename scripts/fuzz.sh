#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time each (stable toolchain, no sanitizer), outside the
# default test run. A crash leaves its input in fuzz/artifacts/TARGET/; turn it into a regression
# test (the regressions in server/src/fuzz_targets.rs) before fixing it.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cd fuzz
for target in request_head cursor json_bodies topup_signature; do
  echo "== fuzzing $target for ${seconds}s"
  mkdir -p "corpus/$target"
  cargo fuzz run --sanitizer none "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len=20000 -print_final_stats=1
done
