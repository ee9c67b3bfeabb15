#!/usr/bin/env bash
# Writes docs/desktop.png, the README's picture of the desktop app: it builds the app and the
# server, starts the server with demo data (demo members open cases and chat every second), opens
# two cases and says hello in the chat as alice through the API, starts `cyberhub-desk` signed in
# as alice under Xvfb (Mesa's software GL), posts an announcement, waits until the window shows
# live data (read from its state file), and takes the screenshot once the screen has settled.
#
#   scripts/desk-screenshot.sh [OUT.png]      (default docs/desktop.png; needs scripts/test-deps.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/desktop.png}
size=1100x700

for tool in Xvfb import identify curl python3; do
  command -v "$tool" >/dev/null || {
    echo "desk-screenshot: $tool is missing: run scripts/test-deps.sh" >&2
    exit 1
  }
done

# One package at a time: built together, their shared dependencies would get other features
# than the test command builds them with, and be compiled twice over.
cargo build -p cyberhub-server
cargo build -p cyberhub-desk

work=$(mktemp -d /tmp/cyberhub-desk-shot.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -CONT "$pid" 2>/dev/null; kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "desk-screenshot: $*" >&2
  tail -n 5 "$work/server.log" "$work/app.log" "$work/state.json" >&2 || true
  exit 1
}

target/debug/cyberhub serve --demo --demo-activity 1s --drop-reveal-ms 0 \
  --listen "127.0.0.1:$port" --database-url "sqlite://$work/cyberhub.db" >"$work/server.log" 2>&1 &
server=$!
pids+=("$server")
for _ in $(seq 100); do
  curl -fs "$url/health" >/dev/null && break
  sleep 0.1
done
curl -fs "$url/health" >/dev/null || fail "the server did not answer /health"

token_of() {
  curl -fs "$url/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$2\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
alice=$(token_of alice alice-demo-1)
for case in 2 1; do
  curl -fs -X POST "$url/v1/cases/$case/open" -H "authorization: Bearer $alice" >/dev/null
done
curl -fs "$url/v1/chat/messages" -H "authorization: Bearer $alice" -H 'content-type: application/json' \
  -d '{"text":"Всем привет! Я за седьмым ПК, кто со мной на CS?"}' >/dev/null

# Xvfb takes a free display and writes its number once it accepts clients.
Xvfb -displayfd 1 -nolisten tcp -screen 0 "${size}x24" >"$work/display" 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do
  [ -s "$work/display" ] && break
  sleep 0.1
done
[ -s "$work/display" ] || fail "Xvfb did not start"
display=":$(head -1 "$work/display")"

state="$work/state.json"
DISPLAY=$display LIBGL_ALWAYS_SOFTWARE=1 CYBERHUB_URL=$url CYBERHUB_USER=alice CYBERHUB_PASSWORD=alice-demo-1 \
  CYBERHUB_DESK_TOKEN_FILE="$work/token" CYBERHUB_DESK_STATE_FILE="$state" \
  target/debug/cyberhub-desk --lang ru >"$work/app.log" 2>&1 &
pids+=($!)

# Waits up to 60 s until a Python condition on the state file (`s`, its counts `c`) holds.
wait_for() {
  python3 - "$state" "$1" <<'EOF'
import json, sys, time
deadline = time.time() + 60
while time.time() < deadline:
    try:
        s = json.load(open(sys.argv[1]))
        c = s["counts"]
        if eval(sys.argv[2]):
            sys.exit(0)
    except (OSError, ValueError, KeyError):
        pass
    time.sleep(0.2)
sys.exit(1)
EOF
}
wait_for 's["user"] == "alice" and s["indicator"]["colour"] == "green" and c["inventory"] >= 2' \
  || fail "the window did not show alice connected within 60 s"
# Announcements are live only: posted once the window listens.
admin=$(token_of admin admin-demo-1)
curl -fs "$url/v1/admin/announcements" -H "authorization: Bearer $admin" -H 'content-type: application/json' \
  -d '{"text":"Турнир по CS2 в субботу в 18:00: призы из кейса «VIP-кейс»"}' >/dev/null
wait_for 'c["announcements"] >= 1 and c["drops"] >= 10 and c["chat"] >= 5' \
  || fail "the window did not show the announcement and a busy feed within 60 s"

# The demo members pause (the server is stopped, not killed: the stream stays up) so that the
# window holds still; then two screenshots in a row with the same pixels mean the X server has
# drawn all the app sent.
kill -STOP "$server"
shot="$work/shot.png"
last=
for _ in $(seq 50); do
  import -display "$display" -window root -strip "$shot"
  pixels=$(identify -format '%#' "$shot")
  [ "$pixels" = "$last" ] && break
  last=$pixels
  sleep 0.2
done
mkdir -p "$(dirname "$out")"
cp "$shot" "$out"
echo "wrote $out ($(identify -format '%wx%h' "$out"), $(($(stat -c %s "$out") / 1024)) KiB)"
