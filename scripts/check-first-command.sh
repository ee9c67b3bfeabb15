#!/usr/bin/env bash
# The README's first command as a newcomer runs it: on a clean clone of this repository (its
# committed HEAD), `scripts/demo.sh` builds the live page and the server and serves both with demo
# data. This then fetches `/` and the script the page names, checks `/health`, and waits for a
# demo member's drop on an anonymous stream, so the one-command promise cannot silently break.
#
# The clone installs its own npm packages from the lock files; cargo's build directory is shared
# with this checkout (CARGO_TARGET_DIR) so the release build is made once per machine.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d /tmp/cyberhub-first.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
git clone --quiet --no-local "$root" "$work/cyberhub"

started=$(date +%s)
(cd "$work/cyberhub" && CARGO_TARGET_DIR="$root/target" exec setsid scripts/demo.sh --listen "127.0.0.1:$port") \
  >"$work/first-command.log" 2>&1 &
pid=$!
cleanup() {
  kill -TERM -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "the README's first command: $*" >&2
  tail -30 "$work/first-command.log" >&2
  exit 1
}

# The first run builds everything: allow for a cold release build on two cores.
until curl -sf "$url/health" >/dev/null; do
  kill -0 "$pid" 2>/dev/null || fail "exited before it served /health"
  [ $(( $(date +%s) - started )) -lt 1800 ] || fail "did not serve /health within 30 minutes"
  sleep 1
done
echo "served /health $(( $(date +%s) - started )) s after the command started"

page=$(curl -sf "$url/") || fail "GET / failed"
grep -q '<div id="root">' <<<"$page" || fail "GET / is not the live page"
script=$(grep -o 'src="/assets/[^"]*\.js"' <<<"$page" | head -1 | cut -d'"' -f2)
[ -n "$script" ] || fail "the page names no script"
curl -sf -o /dev/null "$url$script" || fail "GET $script failed"

# A demo member's drop reaches an anonymous stream with nobody acting.
drop=$( (curl -sN --max-time 30 "$url/v1/events" || true) | grep -m1 '^event: drop:new' || true)
[ -n "$drop" ] || fail "no drop:new on an anonymous stream within 30 s"
grep -q "The live page: $url/" "$work/first-command.log" || fail "the server did not print the page's address"
echo "the README's first command serves the live page and the demo plays ($(( $(date +%s) - started )) s)"
