#!/usr/bin/env bash
# The attacks of SECURITY.md against the server from before the hardening and the current one,
# each with normal members streaming alongside: what each attack cost the server and the members.
# The before/after rows of BENCHMARKS.md come from here.
#   bench/run-attacks.sh [BEFORE_COMMIT]   # default: da25768, the last commit before the hardening
#   QUICK=1 bench/run-attacks.sh           # small counts, a minute or two
set -euo pipefail
cd "$(dirname "$0")/.."
before_commit=${1:-da25768}
mode=()
[ -n "${QUICK:-}" ] && mode=(--quick)

cargo build --release --locked -p cyberhub-server -p cyberhub-bench
before_dir=target/before-hardening
before_bin="$before_dir/target/release/cyberhub"
if [ ! -x "$before_bin" ] || [ "$(cat "$before_dir/commit" 2>/dev/null)" != "$before_commit" ]; then
  rm -rf "$before_dir/src"
  mkdir -p "$before_dir/src"
  git archive "$before_commit" | tar -x -C "$before_dir/src"
  (cd "$before_dir/src" && CARGO_TARGET_DIR="$PWD/../target" cargo build --release --locked -p cyberhub-server)
  echo "$before_commit" > "$before_dir/commit"
fi

out="bench/results/$(date -u +%Y%m%d-%H%M%S)-attacks"
mkdir -p "$out"
target/release/cyberhub-bench attacks "${mode[@]}" --bin "$before_bin" --label before --json "$out/before.json" | tee "$out/before.txt"
target/release/cyberhub-bench attacks "${mode[@]}" --bin target/release/cyberhub --label after --json "$out/after.json" | tee "$out/after.txt"
target/release/cyberhub-bench attack-table "$out/before.json" "$out/after.json" | tee "$out/summary.txt"
