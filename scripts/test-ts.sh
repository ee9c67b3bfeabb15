#!/usr/bin/env bash
# Runs the TypeScript side of the repository from a clean clone: installs the npm packages from the
# committed lock files, builds the SDK (sdk-ts/) and the live page (web/), then runs
#   - the SDK's unit tests and client tests against the real server,
#   - the conformance scenarios (conformance/scenarios/*.json) with the TypeScript runner,
#   - the page tests in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core),
#   - the size budget of the core SDK (8 KB minified + gzipped).
# Every test starts the real server binary on loopback with a fresh SQLite file: $CYBERHUB_BIN,
# default target/debug/cyberhub (scripts/test.sh builds it first).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CYBERHUB_BIN="${CYBERHUB_BIN:-$root/target/debug/cyberhub}"
export SMARTSHELL_STUB_BIN="${SMARTSHELL_STUB_BIN:-$root/target/debug/cyberhub-smartshell-stub}"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "missing $tool (Node 20+)" >&2; exit 1; }
done
[ -x "$CYBERHUB_BIN" ] || { echo "no server binary at $CYBERHUB_BIN: cargo build -p cyberhub-server, or set CYBERHUB_BIN" >&2; exit 1; }
[ -x "$CHROMIUM_PATH" ] || { echo "no Chromium at $CHROMIUM_PATH: apt-get install -y chromium" >&2; exit 1; }

started=$(date +%s)
step() { echo "== $* ($(( $(date +%s) - started )) s)"; }

step "npm ci: sdk-ts"
(cd sdk-ts && npm ci --no-audit --no-fund --loglevel=error)
step "build the SDK and its tests"
(cd sdk-ts && npm run --silent build && npm run --silent build:test)
step "npm ci: web"
(cd web && npm ci --no-audit --no-fund --loglevel=error)
step "build the page"
(cd web && npm run --silent build >/dev/null)

step "SDK unit and client tests"
(cd sdk-ts && node --test --test-concurrency=1 build/test/hooks.test.js build/test/backoff.test.js build/test/dispatcher.test.js build/test/client.test.js build/test/fairness.test.js)
step "conformance scenarios, TypeScript runner"
(cd sdk-ts && node --test --test-concurrency=1 build/test/conformance.test.js)
step "the page in Chromium"
(cd web && node --test --test-concurrency=1 test/page.test.mjs test/i18n.test.mjs test/security.test.mjs test/billing.test.mjs test/fairness.test.mjs)
step "core SDK size"
(cd sdk-ts && node bench/size.mjs --check)
step "TypeScript tests passed"
